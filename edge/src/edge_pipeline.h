/*
 * edge_pipeline.h: the room pipeline: from a router message to the clients that listen.
 *
 * A message from the router's fan-out (already split into frames by edge_zmq) goes through:
 *  1. the envelope checks (wire_envelope.h), counting and dropping what the edge cannot use;
 *     a room head (docs/protocol.md "Room heads") probes the room's stream instead;
 *  2. the room's stream (edge_stream.h): seq order, gap repair from history, new epochs;
 *  3. the room's batch stage (edge_batch.h): an immediate or critical event is emitted at once
 *     (after whatever batch was pending) to every listener; an event of a batching class is
 *     held, and only the listeners that asked for unbatched delivery get it now; the others get
 *     the batch frame when it is flushed;
 *  4. the room's listeners (edge_rooms.h visits): each gets the one shared frame through its
 *     writer (edge_writer.h), except a listener still resuming the room, whose sync
 *     (edge_sync.h) gets the event instead and decides.
 * The pipeline keeps each room's stream and batch state in the room's edge_rooms data slot,
 * creates and ends resumes (it counts the resuming listeners of each room, and ends a resume
 * when its position meets the room's and no batch of the room is pending: the sync gave the
 * client those events one by one, so it must not get the batch too), tells listeners the
 * positions of rooms new to the edge, and probes every room after a router reconnect.
 *
 * It reports upward through hooks: a topic to (un)subscribe on the router feed, and the batch
 * timer to arm. No lws, no ZeroMQ. Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_PIPELINE_H
#define EDGE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_classes.h"
#include "edge_rooms.h"
#include "edge_stats.h"
#include "edge_sync.h"
#include "edge_writer.h"
#include "edge_zmq.h"

typedef struct edge_pipeline edge_pipeline_t;

/* Arms the owner's batch timer: edge_pipeline_timer() in delay_us, replacing a pending one.
 * Returns 0, or -1 when there is no loop (nothing armed). */
typedef int(edge_pipeline_arm_fn)(void *arg, int64_t delay_us);

/* Settings for edge_pipeline_new(). */
typedef struct edge_pipeline_opts {
    edge_writer_t *writer;         /* the clients' writer (borrowed) */
    edge_history_t history;        /* history, for room streams and resumes */
    const char *classes;           /* delivery classes (edge_classes_parse(); "": none) */
    size_t max_batch;              /* events in a batch of a class that names no max (>= 1) */
    size_t max_batch_bytes;        /* a batch's bound in bytes (>= 1) */
    size_t max_held;               /* live events a stream may hold while it repairs (>= 1) */
    edge_rooms_topic_fn *on_topic; /* the first listener of a topic came or the last left */
    edge_pipeline_arm_fn *arm;     /* the batch timer (required) */
    void *arg;                     /* for on_topic and arm */
    int64_t (*now)(void);          /* monotonic microseconds; NULL = base_clock_us() */
    edge_stats_t *stats;           /* counters (borrowed) */
    base_log_t *log;               /* borrowed; may be NULL */
} edge_pipeline_opts_t;

/* Creates the pipeline with an empty room index. NULL when the classes are invalid or on OOM
 * (logged). */
edge_pipeline_t *edge_pipeline_new(const edge_pipeline_opts_t *opts);

/* Frees every room, resume and pending batch (emitting nothing), nulls *self_p. NULL-safe.
 * Members still alive are detached (edge_rooms_destroy()). */
void edge_pipeline_destroy(edge_pipeline_t **self_p);

/* The room index: the server creates each connection's member in it (edge_member_new() with the
 * connection's edge_client_t) and joins and leaves rooms through it. */
edge_rooms_t *edge_pipeline_rooms(const edge_pipeline_t *self);

/* One message from the router's fan-out: checked, then through the room's stream to its
 * listeners. */
void edge_pipeline_route(edge_pipeline_t *self, const edge_zmq_msg_t *msg);

/* The router feed (re)connected for the n-th time: events may have been missed while it was
 * away, and a restarted router has a new epoch that quiet rooms would never show, so from the
 * second time on every room with a position, and every settled resume, asks history. */
void edge_pipeline_reconnected(edge_pipeline_t *self, uint64_t n);

/* The batch timer fired: flushes what is due and arms the timer for the next deadline. */
void edge_pipeline_timer(edge_pipeline_t *self);

/*
 * The position of an exact room at this edge (the last event its stream handed on), for the
 * answer to a subscribe without since. False for a pattern, or a room the edge has no position
 * of yet: then its stream asks history for the head, and its listeners get a "position" frame
 * before the room's first event. The room must have been joined.
 */
bool edge_pipeline_position(edge_pipeline_t *self, const char *room, size_t len, uint64_t *epoch,
                            uint64_t *last);

/* Starts client's resume of room (already joined) after (epoch, seq), replacing one under way;
 * the resume sends the answer. Takes *id_p (see edge_sync_new()). Returns 0, or -1 on OOM. */
int edge_pipeline_resume(edge_pipeline_t *self, edge_client_t *client, const char *room, size_t len,
                         void **id_p, uint64_t epoch, uint64_t seq);

/* Ends client's resume of room, if any (before it leaves the room). */
void edge_pipeline_unresume(edge_pipeline_t *self, edge_client_t *client, const char *room,
                            size_t len);

/* Ends every resume of client (its connection is closing). */
void edge_pipeline_forget(edge_pipeline_t *self, edge_client_t *client);

#endif
