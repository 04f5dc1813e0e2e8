/*
 * edge_sync.h: resumes: a client's member stream of one room, from its cursor up to the room's
 * live position (docs/protocol.md §3 "Resume").
 *
 * A subscribe with "since" starts a sync: a member stream (edge_stream.h) at the client's
 * cursor. It asks history for what the client missed, holds the room's live events meanwhile
 * (they are handed to it with edge_sync_live() instead of being written to the client), drops
 * what the client already has, and sends the "subscribed" answer. Its events and notices go to
 * the client's writer (edge_writer.h). When the client's queue is more than half full, a sync
 * waits until the writer reports it drained before it asks history for the next page, so that
 * replaying what a client missed never makes it a slow consumer.
 *
 * A sync knows nothing of the room stream. Whether the client has caught up with the room is
 * decided by the owner (the room pipeline, edge_pipeline.h), which compares edge_sync_position()
 * with the room's: after it handed the sync an event, and when the sync calls the owner's check
 * hook (after a history reply). The owner then destroys the sync, and the client is an ordinary
 * member of the room again.
 *
 * History is reached through edge_history_t (edge_hist_get/edge_hist_cancel in the edge,
 * scripted replies in tests). Replies reach a sync only through its wait handle, which is
 * cancelled when the sync is destroyed, so a reply never touches a closed connection.
 *
 * One edge_syncs_t per edge (every sync, for probing after a router reconnect); one edge_sync_t
 * per client and room being resumed. Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_SYNC_H
#define EDGE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_hist.h"
#include "edge_stats.h"
#include "edge_stream.h"
#include "edge_writer.h"

typedef struct edge_syncs edge_syncs_t;
typedef struct edge_sync edge_sync_t;

/* A client as rooms and resumes see it: its output and its resumes under way. Embedded in the
 * server's per-connection struct; edge_rooms hands it to visits (the member's conn pointer). */
typedef struct edge_client {
    edge_wconn_t out;   /* its output (edge_writer.h) */
    edge_sync_t *syncs; /* its rooms still merging a resume (usually none) */
} edge_client_t;

/* How resumes and room streams ask history: the functions of edge_hist.h and their object in
 * the edge; a test passes its own, with any object cast to edge_hist_t *. */
typedef struct edge_history {
    edge_hist_wait_t *(*get)(edge_hist_t *hist, const char *room, size_t len, uint64_t epoch,
                             uint64_t after, edge_hist_fn *fn, void *arg);
    void (*cancel)(edge_hist_t *hist, edge_hist_wait_t **wait_p);
    edge_hist_t *hist; /* borrowed */
} edge_history_t;

/* A history reply reached sync (it may have caught up): the owner compares its position with
 * the room's and may destroy it. */
typedef void(edge_sync_check_fn)(void *arg, edge_sync_t *sync);

/* Settings for edge_syncs_new(). */
typedef struct edge_syncs_opts {
    edge_writer_t *writer;     /* the clients' writer (borrowed) */
    edge_history_t history;    /* history */
    size_t max_held;           /* live events a sync may hold (edge_stream_new's max_held) */
    edge_stats_t *stats;       /* counters (borrowed): syncs, resume, deliveries, notices */
    base_log_t *log;           /* borrowed; may be NULL */
    edge_sync_check_fn *check; /* the owner's check hook (required) */
    void *arg;                 /* its argument */
} edge_syncs_opts_t;

/* Creates the set of syncs and registers its drained hook with the writer. NULL on OOM. */
edge_syncs_t *edge_syncs_new(const edge_syncs_opts_t *opts);

/* Frees the set, nulls *self_p. NULL-safe. Every sync must be destroyed before. */
void edge_syncs_destroy(edge_syncs_t **self_p);

/* The edge reconnected to the router: every settled sync checks its position against history
 * (a quiet room's stream may know no position yet while its resumed clients do). */
void edge_syncs_probe(edge_syncs_t *self);

/*
 * Starts client's resume of room (len bytes) after (epoch, seq). Takes the subscribe's id
 * (*id_p, echoed in the answer, may be NULL; nulled) on success. The sync asks history at once
 * (or when the client's queue has drained) and sends the answer itself. A sync the client
 * already had for the room must be destroyed first. Returns NULL on OOM (*id_p untouched).
 */
edge_sync_t *edge_sync_new(edge_syncs_t *set, edge_client_t *client, const char *room, size_t len,
                           void **id_p, uint64_t epoch, uint64_t seq);

/* Unlinks the sync from its client, cancels its history request, frees it and nulls *self_p.
 * NULL-safe. Calls no hook. */
void edge_sync_destroy(edge_sync_t **self_p);

/* The client's sync of room, or NULL. */
edge_sync_t *edge_sync_find(const edge_client_t *client, const char *room, size_t len);

/* One live event of the room for this client: the sync delivers, holds or drops it. */
void edge_sync_live(edge_sync_t *self, const edge_event_t *ev);

/* A position change of the room (an unsolicited notice): forwarded to the client when it moves
 * the client's position forward. */
void edge_sync_jump(edge_sync_t *self, const edge_notice_t *notice);

/* The client's position once the sync waits for nothing; false while it does (resuming,
 * fetching, holding) or has no position. */
bool edge_sync_position(const edge_sync_t *self, uint64_t *epoch, uint64_t *last);

/* The sync's room (NUL-terminated) and its length. */
const char *edge_sync_room(const edge_sync_t *self, size_t *len);

/* The sync's client. */
edge_client_t *edge_sync_client(const edge_sync_t *self);

#endif
