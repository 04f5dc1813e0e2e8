/*
 * edge_outq.h: a connection's bounded outbound queue of shared frames.
 *
 * Each WebSocket connection owns one. It holds references to edge_frame_t (never copies) in
 * FIFO order and refuses a push that would take it over either bound (bytes or frames): the
 * caller then applies the slow-consumer policy (today: close 4008). The bounds are what keep
 * one stalled browser from holding an unbounded share of the edge's memory.
 */
#ifndef EDGE_OUTQ_H
#define EDGE_OUTQ_H

#include <stddef.h>

#include "edge_frame.h"

typedef struct edge_outq edge_outq_t;

/* Results of edge_outq_push(). */
enum {
    EDGE_OUTQ_OK = 0,    /* queued; the queue took its own reference */
    EDGE_OUTQ_FULL = -1, /* over max_bytes or max_frames: nothing changed */
    EDGE_OUTQ_NOMEM = -2 /* could not grow: nothing changed */
};

/* Creates an empty queue bounded by max_bytes (sum of frame lengths) and max_frames. */
edge_outq_t *edge_outq_new(size_t max_bytes, size_t max_frames);

/* Drops every queued reference, frees the queue and nulls *self_p. NULL-safe. */
void edge_outq_destroy(edge_outq_t **self_p);

/* Appends frame, taking a new reference on success (the caller keeps its own). */
int edge_outq_push(edge_outq_t *self, edge_frame_t *frame);

/* The oldest frame, still owned by the queue, or NULL when empty. */
edge_frame_t *edge_outq_peek(const edge_outq_t *self);

/* Removes the oldest frame and drops the queue's reference. No-op when empty. */
void edge_outq_pop(edge_outq_t *self);

/* Drops every queued frame. */
void edge_outq_clear(edge_outq_t *self);

/* Queued frames. */
size_t edge_outq_frames(const edge_outq_t *self);

/* Queued body bytes. */
size_t edge_outq_bytes(const edge_outq_t *self);

#endif
