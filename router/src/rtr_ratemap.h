/*
 * rtr_ratemap.h: rate caps keyed by a peer's ZeroMQ routing id (the history service's per-edge
 * request cap).
 *
 * One token bucket (rtr_bucket.h) per key, created on first use with a full bucket and forgotten
 * after idle_ms without use (O(1) per call, O(expired) per sweep, on a recency list), so peers
 * that come and go cannot grow it without bound for longer than idle_ms. Keys are hashed with the
 * tree's seeded map, so a peer cannot pick colliding ids. Not thread-safe: owned by the loop.
 */
#ifndef RTR_RATEMAP_H
#define RTR_RATEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtr_ratemap rtr_ratemap_t;

/* Creates an empty map: rate tokens a second per key (0: every take passes), burst >= 1. */
rtr_ratemap_t *rtr_ratemap_new(uint64_t rate, uint64_t burst, uint64_t idle_ms);

/* Frees the map and every entry; nulls *self_p. NULL-safe. */
void rtr_ratemap_destroy(rtr_ratemap_t **self_p);

/* Takes one token for key (len bytes, at most 255) at now_ms. True: under the cap. A key that
 * cannot be tracked (out of memory, too long) passes: the cap protects, it never blocks alone. */
bool rtr_ratemap_take(rtr_ratemap_t *self, const void *key, size_t len, uint64_t now_ms);

/* Forgets keys unused for more than idle_ms before now_ms. Returns how many. */
size_t rtr_ratemap_expire(rtr_ratemap_t *self, uint64_t now_ms);

/* Number of keys tracked. */
size_t rtr_ratemap_size(const rtr_ratemap_t *self);

#endif
