/*
 * edge_batch.h: the batching stage of event delivery: windows, batch bounds and coalescing
 * (docs/protocol.md §3 "Batching, coalescing and limits").
 *
 * Pure: no lws, no ZeroMQ, no clock (the caller passes the time in microseconds of any monotonic
 * clock), so tests drive it with an injected clock.
 *
 * One edge_batcher_t per edge holds the delivery classes (edge_classes.h) and a min-heap of the
 * rooms that have a pending batch, ordered by deadline, so the edge needs a single timer:
 * edge_batcher_deadline() says when to wake, edge_batcher_run() flushes what is due.
 *
 * One edge_batch_t per room sits after the room's ordered stream (edge_stream.h) and sees every
 * event of the room once, in seq order. A room has at most one pending batch, so the room's
 * order is never changed:
 *  - an event of no class (or of a class with window 0), and any critical event, flushes the
 *    pending batch and is emitted at once, after it (EDGE_BATCH_EVENT);
 *  - an event of a batching class joins the pending batch; each event may wait at most its
 *    class's window, so the batch is due at the earliest arrival + window among its events;
 *  - a batch is flushed when it is due, when it holds max events (the smallest max among its
 *    events' classes), when its entries reach max_bytes, before an event that does not continue
 *    it (another epoch, a seq that is not the next one), and on edge_batch_flush() (the caller
 *    does that before a stream notice, so that the notice stays in order);
 *  - coalescing: a class with a key keeps only the newest pending event per (type, key); the
 *    key is the envelope's coalesce key when the publisher set one, else the value (a string or
 *    an integer) of the class's key field at the top level of the event's data. Events without
 *    a key are never coalesced.
 * A flush emits EDGE_BATCH_FLUSH: a batch frame whose from_seq..to_seq covers every seq the
 * batch saw, coalesced ones included (so a cursor set to to_seq moves past them and a resume
 * never mistakes them for loss), or, when the batch covers exactly one seq, that event's own
 * frame. Frames are built once per room (edge_frame_batch()) and shared by every listener.
 *
 * Not thread-safe. Callbacks must not add to, flush or destroy batches, nor destroy the batcher.
 */
#ifndef EDGE_BATCH_H
#define EDGE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_classes.h"
#include "edge_frame.h"

typedef struct edge_batcher edge_batcher_t;
typedef struct edge_batch edge_batch_t;

/* What an emitted frame is. */
typedef enum edge_batch_kind {
    EDGE_BATCH_EVENT = 0, /* an event never held (immediate or critical): for every listener */
    EDGE_BATCH_FLUSH      /* held events: for the listeners that take batched delivery only */
} edge_batch_kind_t;

/* Why a pending batch went out. */
typedef enum edge_batch_why {
    EDGE_BATCH_WHY_WINDOW = 0, /* its deadline passed */
    EDGE_BATCH_WHY_MAX,        /* it held max events */
    EDGE_BATCH_WHY_BYTES,      /* its entries reached max_bytes */
    EDGE_BATCH_WHY_IMMEDIATE,  /* an immediate event came */
    EDGE_BATCH_WHY_CRITICAL,   /* a critical event came */
    EDGE_BATCH_WHY_BREAK,      /* an event of another epoch or a non-contiguous seq came */
    EDGE_BATCH_WHY_FORCED,     /* edge_batch_flush() (a notice follows, or the room goes) */
    EDGE_BATCH_WHY__COUNT
} edge_batch_why_t;

/* One emitted frame. */
typedef struct edge_batch_out {
    edge_batch_kind_t kind; /* who gets it */
    uint64_t epoch;         /* the room epoch */
    uint64_t from_seq;      /* first seq it accounts for */
    uint64_t to_seq;        /* last seq it accounts for (a cursor moves here) */
    size_t events;          /* events in the frame */
    edge_frame_t *frame;    /* a batch frame, or an event frame; borrowed for the call */
} edge_batch_out_t;

/* Receives each emitted frame; arg is the one given to edge_batch_new(). */
typedef void(edge_batch_emit_fn)(void *arg, const edge_batch_out_t *out);

/* Counters the batcher adds to (borrowed; the caller keeps them). */
typedef struct edge_batch_stats {
    uint64_t immediate;                      /* events emitted without being held */
    uint64_t held;                           /* events that joined a pending batch */
    uint64_t coalesced;                      /* held events replaced by a newer one */
    uint64_t batches;                        /* batch frames emitted */
    uint64_t batched_events;                 /* events carried in those batch frames */
    uint64_t singles;                        /* flushes of one seq, sent as its event frame */
    uint64_t flushes[EDGE_BATCH_WHY__COUNT]; /* flushes by reason */
    uint64_t keyless;                        /* coalescing events without a usable key */
    uint64_t nomem;                          /* batches sent event by event for lack of memory */
} edge_batch_stats_t;

/* Stable label of a flush reason ("window", "max", ...). */
const char *edge_batch_why_name(edge_batch_why_t why);

/*
 * Creates the edge-wide batcher. classes and stats are borrowed and must outlive it (classes
 * may be NULL: every event immediate). max_bytes (>= 1) bounds a batch's entries in bytes.
 * Returns NULL on OOM.
 */
edge_batcher_t *edge_batcher_new(const edge_classes_t *classes, size_t max_bytes,
                                 edge_batch_stats_t *stats);

/* Frees the batcher, nulls *self_p. NULL-safe. Every batch must be destroyed before. */
void edge_batcher_destroy(edge_batcher_t **self_p);

/* The earliest deadline of a pending batch, or INT64_MAX when nothing is pending. */
int64_t edge_batcher_deadline(const edge_batcher_t *self);

/* Flushes every batch due at now_us, earliest first. Returns how many it flushed. */
size_t edge_batcher_run(edge_batcher_t *self, int64_t now_us);

/* Rooms with a pending batch. */
size_t edge_batcher_pending(const edge_batcher_t *self);

/*
 * Creates the batch stage of one room (len bytes, a valid room name, copied). emit receives
 * what it sends, with arg. Returns NULL on OOM or an invalid room.
 */
edge_batch_t *edge_batch_new(edge_batcher_t *batcher, const char *room, size_t len,
                             edge_batch_emit_fn *emit, void *arg);

/* Drops the pending batch without emitting it, frees, nulls *self_p. NULL-safe. */
void edge_batch_destroy(edge_batch_t **self_p);

/*
 * One event of the room, in seq order; ev->frame must come from edge_frame_event(). Returns true
 * when the event was held (the caller delivers it now to listeners that take unbatched
 * delivery), false when it was emitted as EDGE_BATCH_EVENT before returning (every listener
 * got it). The batch references ev->frame while it holds it.
 */
bool edge_batch_add(edge_batch_t *self, const edge_event_t *ev, int64_t now_us);

/* Emits the pending batch now (nothing when none). */
void edge_batch_flush(edge_batch_t *self, edge_batch_why_t why);

/* Seqs the pending batch accounts for (0 when nothing is pending). */
size_t edge_batch_pending(const edge_batch_t *self);

/* Events in the pending batch (coalesced ones not counted). */
size_t edge_batch_pending_events(const edge_batch_t *self);

#endif
