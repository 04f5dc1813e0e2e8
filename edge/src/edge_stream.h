/*
 * edge_stream.h: one ordered event stream with history repair, the merge logic of resume and
 * gap repair (docs/protocol.md §3 "Resume"). Pure: no lws, no ZeroMQ, no clock.
 *
 * The edge runs two kinds of stream:
 *  - a room stream per room with listeners: it sees the room's live events from the router,
 *    detects seq jumps and epoch changes, and emits the repaired, in-order stream that every
 *    member of the room receives;
 *  - a member stream per client that subscribed with `since`, for as long as the client's
 *    position differs from the room's: it starts at the client's cursor, fetches what the client
 *    missed, holds the room's live events meanwhile, and merges the two, dropping duplicates.
 *
 * Both follow one rule. A stream has a position (epoch, last delivered seq). An event in the same
 * epoch with seq == last + 1 is delivered; seq <= last is a duplicate and dropped; a jump makes
 * the stream fetch (epoch, last) from history and hold every later event until the reply comes;
 * another epoch is announced (recovered:false, "epoch_changed", seq - 1) and delivered. A reply
 * delivers its page and, while the page is cut short (`more`) before reaching the held events,
 * or the held events still start beyond it, fetches again; then the held events are delivered
 * in order. When history cannot
 * serve (epoch_changed, too_old, no answer) the stream tells its listeners {recovered:false,
 * epoch, seq} where seq is the new position: the reply's head, or the seq just before the first
 * held event when that is lower (those events are here and are delivered, not thrown away).
 *
 * The stream acts through callbacks (ops): deliver an event, notify a position change, send a
 * history request. Callbacks must not call back into the same stream. One request at most is
 * outstanding; a reply that does not match it (epoch, after_seq) is ignored as stale.
 * Held events are bounded (max_held): a member stream that overflows dies and calls
 * ops->overflow (the client is a slow consumer); a room stream gives up the repair instead
 * (recovered:false, "history_unavailable") and delivers what it holds.
 *
 * Not thread-safe; events' frames are referenced while held (edge_frame_ref).
 */
#ifndef EDGE_STREAM_H
#define EDGE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_frame.h"
#include "edge_hist.h"

typedef struct edge_stream edge_stream_t;

/* Why a position was lost (the "reason" of recovered:false). */
typedef enum edge_reason {
    EDGE_REASON_NONE = 0,      /* nothing lost: recovered */
    EDGE_REASON_EPOCH_CHANGED, /* the router restarted; its sequence began again */
    EDGE_REASON_TOO_OLD,       /* the events were evicted from history */
    EDGE_REASON_UNAVAILABLE,   /* history did not answer ("history_unavailable") */
    EDGE_REASON__COUNT
} edge_reason_t;

/* A change of position to tell the listeners: a "subscribed" frame. */
typedef struct edge_notice {
    bool reply;           /* the answer to the client's subscribe-with-since (carries its id) */
    bool recovered;       /* true: every event after (epoch, seq) follows */
    uint64_t epoch;       /* the position's epoch */
    uint64_t seq;         /* the position's seq: events up to it are delivered or gone */
    edge_reason_t reason; /* EDGE_REASON_NONE when recovered */
} edge_notice_t;

/* What a stream does; arg is the one given to edge_stream_new(). */
typedef struct edge_stream_ops {
    /* Delivers one event (the stream keeps no reference to it afterwards). */
    void (*deliver)(void *arg, const edge_event_t *ev);
    /* Tells the listeners about a new position. */
    void (*notify)(void *arg, const edge_notice_t *notice);
    /* Asks history for the events after (epoch, after). Returns 0, or -1 when it cannot (the
     * stream then treats history as unavailable). The reply comes later: edge_stream_reply(). */
    int (*request)(void *arg, uint64_t epoch, uint64_t after);
    /* Member streams only (NULL for rooms): the held events overflowed; the stream is dead. */
    void (*overflow)(void *arg);
    /* Room streams (may be NULL): a seed (edge_stream_seed) gave the stream its position
     * (epoch, seq), before any event is delivered; every later event follows it. */
    void (*positioned)(void *arg, uint64_t epoch, uint64_t seq);
} edge_stream_ops_t;

/* Counters a stream adds to (the caller keeps one set for rooms and one for members). */
typedef struct edge_stream_stats {
    uint64_t resumes;                     /* resumes started (subscribe with since) */
    uint64_t resumed[EDGE_REASON__COUNT]; /* resume answers: [NONE] recovered, else by reason */
    uint64_t notices[EDGE_REASON__COUNT]; /* unsolicited recovered:false notices, by reason */
    uint64_t gaps;                        /* seq jumps detected on the live stream */
    uint64_t gap_events;                  /* seqs missing across those jumps */
    uint64_t gaps_repaired;               /* jumps filled from history */
    uint64_t gaps_unrepaired;             /* jumps reported with recovered:false */
    uint64_t epoch_changes;               /* new epochs announced */
    uint64_t held;                        /* live events held while history was asked */
    uint64_t duplicates;                  /* events at or below the position, dropped */
    uint64_t replayed;                    /* events delivered from history */
    uint64_t overflows;                   /* held lists that overflowed */
    uint64_t stale_replies;               /* replies that matched no outstanding request */
} edge_stream_stats_t;

/* Stable wire name of a reason: "epoch_changed", "too_old", "history_unavailable" ("" for NONE). */
const char *edge_reason_name(edge_reason_t reason);

/*
 * Creates a stream with no position yet (a room stream: its first event is delivered as is).
 * ops and stats are borrowed and must outlive it; max_held >= 1 bounds the held events.
 * Returns NULL on OOM.
 */
edge_stream_t *edge_stream_new(const edge_stream_ops_t *ops, void *arg, size_t max_held,
                               edge_stream_stats_t *stats);

/* Drops held references and frees the stream; nulls *self_p. NULL-safe. Calls no callback. */
void edge_stream_destroy(edge_stream_t **self_p);

/*
 * Makes a fresh stream a member stream resuming after (epoch, seq): asks history at once. The
 * first notice it emits has reply = true (the answer to the subscribe), and nothing is
 * delivered before it.
 */
void edge_stream_resume(edge_stream_t *self, uint64_t epoch, uint64_t seq);

/* One live event, in arrival order. The stream references ev->frame when it holds it. */
void edge_stream_live(edge_stream_t *self, const edge_event_t *ev);

/* The reply to the stream's outstanding request (or UNAVAILABLE when none came). Events and
 * frames are borrowed for the call. Stale replies are counted and ignored. */
void edge_stream_reply(edge_stream_t *self, const edge_hist_result_t *result);

/*
 * A room stream without a position asks history for the room's head, so that the clients who
 * joined before its first event can be told where they are (ops->positioned). Live events are
 * held meanwhile. The position is the head, or the seq before the first held event when that
 * is lower; gaps after it are repaired as usual. When history does not answer, the held events
 * are delivered as a fresh stream would (the first one sets the position) and nobody is told.
 * Does nothing for a member stream, or one that has a position or a request outstanding.
 */
void edge_stream_seed(edge_stream_t *self);

/* Checks the position against history now (after the edge reconnected to the router): a fetch
 * of (epoch, last) answered like a jump. Does nothing without a position or while fetching. */
void edge_stream_probe(edge_stream_t *self);

/*
 * Applies a position change decided elsewhere (a room stream's unsolicited notice) to a settled
 * member stream: when it moves the position forward, the stream emits it as its own notice.
 * Returns true when it did.
 */
bool edge_stream_jump(edge_stream_t *self, const edge_notice_t *notice);

/* The position; false when the stream has none yet. */
bool edge_stream_position(const edge_stream_t *self, uint64_t *epoch, uint64_t *last);

/* True when the stream waits for nothing: answered, not fetching, nothing held, not dead. */
bool edge_stream_settled(const edge_stream_t *self);

/* True while a history request is outstanding. */
bool edge_stream_fetching(const edge_stream_t *self);

/* Events held now. */
size_t edge_stream_held(const edge_stream_t *self);

#endif
