/*
 * edge_outq.c: bounded FIFO of frame references, a ring buffer that grows by doubling up to
 * max_frames slots so that idle connections cost a few pointers, not max_frames of them.
 */
#include "edge_outq.h"

#include <stdlib.h>

#define S_INITIAL_SLOTS 8

struct edge_outq {
    edge_frame_t **slots; /* ring of cap entries; NULL until the first push */
    size_t cap;           /* slots allocated (a power of two) */
    size_t head;          /* index of the oldest frame */
    size_t count;         /* frames queued */
    size_t bytes;         /* sum of queued frame lengths */
    size_t max_bytes;     /* bound on bytes */
    size_t max_frames;    /* bound on count */
};

edge_outq_t *edge_outq_new(size_t max_bytes, size_t max_frames)
{
    edge_outq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_bytes = max_bytes;
    self->max_frames = max_frames ? max_frames : 1;
    return self;
}

void edge_outq_destroy(edge_outq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_outq_t *self = *self_p;
    edge_outq_clear(self);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

/* Doubles the ring, unwrapping it so the oldest frame lands at index 0. */
static int s_grow(edge_outq_t *self)
{
    size_t cap = self->cap ? self->cap * 2 : S_INITIAL_SLOTS;
    edge_frame_t **slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->count; i++)
        slots[i] = self->slots[(self->head + i) & (self->cap - 1)];
    free(self->slots);
    self->slots = slots;
    self->cap = cap;
    self->head = 0;
    return 0;
}

int edge_outq_push(edge_outq_t *self, edge_frame_t *frame)
{
    size_t len = edge_frame_len(frame);
    if (self->count >= self->max_frames || len > self->max_bytes ||
        self->bytes > self->max_bytes - len)
        return EDGE_OUTQ_FULL;
    if (self->count == self->cap && s_grow(self) < 0)
        return EDGE_OUTQ_NOMEM;
    self->slots[(self->head + self->count) & (self->cap - 1)] = edge_frame_ref(frame);
    self->count++;
    self->bytes += len;
    return EDGE_OUTQ_OK;
}

edge_frame_t *edge_outq_peek(const edge_outq_t *self)
{
    return self->count ? self->slots[self->head] : NULL;
}

void edge_outq_pop(edge_outq_t *self)
{
    if (!self->count)
        return;
    edge_frame_t *frame = self->slots[self->head];
    self->slots[self->head] = NULL;
    self->head = (self->head + 1) & (self->cap - 1);
    self->count--;
    self->bytes -= edge_frame_len(frame);
    edge_frame_unref(&frame);
}

void edge_outq_clear(edge_outq_t *self)
{
    while (self->count)
        edge_outq_pop(self);
    self->head = 0;
}

size_t edge_outq_frames(const edge_outq_t *self)
{
    return self->count;
}

size_t edge_outq_bytes(const edge_outq_t *self)
{
    return self->bytes;
}
