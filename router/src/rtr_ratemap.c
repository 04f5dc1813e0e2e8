/*
 * rtr_ratemap.c: token buckets per routing id with idle expiry (see rtr_ratemap.h).
 */
#include "rtr_ratemap.h"

#include <stdlib.h>
#include <string.h>

#include "base_map.h"
#include "rtr_bucket.h"
#include "rtr_lru.h"

#define RTR_RATEMAP_KEY_MAX 255 /* ZeroMQ routing ids are 1..255 bytes */

typedef struct s_entry {
    base_map_node_t node; /* in the map, hashed on key */
    rtr_lru_node_t lru;   /* on the recency list, by last use */
    rtr_bucket_t bucket;  /* this key's tokens */
    uint64_t used_ms;     /* last take */
    size_t len;           /* bytes in key */
    unsigned char key[];  /* the routing id */
} s_entry_t;

struct rtr_ratemap {
    base_map_t *map;  /* key -> entry */
    rtr_lru_t lru;    /* every entry, least recently used first */
    uint64_t rate;    /* tokens a second per key, 0 = no cap */
    uint64_t burst;   /* bucket size */
    uint64_t idle_ms; /* forget a key after this long unused */
};

/* Creates an empty map. */
rtr_ratemap_t *rtr_ratemap_new(uint64_t rate, uint64_t burst, uint64_t idle_ms)
{
    rtr_ratemap_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = base_map_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    self->rate = rate;
    self->burst = burst ? burst : 1;
    self->idle_ms = idle_ms;
    return self;
}

/* Frees every entry through the recency list, which holds them all. */
void rtr_ratemap_destroy(rtr_ratemap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_ratemap_t *self = *self_p;
    s_entry_t *e = RTR_LRU_ENTRY(self->lru.oldest, s_entry_t, lru);
    while (e) {
        s_entry_t *next = RTR_LRU_ENTRY(e->lru.newer, s_entry_t, lru);
        free(e);
        e = next;
    }
    base_map_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

/* Finds or creates the entry of key; NULL when out of memory. */
static s_entry_t *s_entry(rtr_ratemap_t *self, const void *key, size_t len, uint64_t now_ms)
{
    uint64_t hash = base_map_hash(self->map, key, len, 0);
    for (base_map_node_t *n = base_map_bucket(self->map, hash); n; n = n->next) {
        s_entry_t *e = (s_entry_t *)n;
        if (n->hash == hash && e->len == len && memcmp(e->key, key, len) == 0) {
            rtr_lru_touch(&self->lru, &e->lru);
            return e;
        }
    }
    s_entry_t *e = calloc(1, sizeof *e + len);
    if (!e)
        return NULL;
    memcpy(e->key, key, len);
    e->len = len;
    e->node.hash = hash;
    rtr_bucket_init(&e->bucket, self->burst, now_ms);
    (void)base_map_insert(self->map, &e->node); /* a failed growth still inserts */
    rtr_lru_push_newest(&self->lru, &e->lru);
    return e;
}

/* Takes a token for key. */
bool rtr_ratemap_take(rtr_ratemap_t *self, const void *key, size_t len, uint64_t now_ms)
{
    if (self->rate == 0 || len == 0 || len > RTR_RATEMAP_KEY_MAX)
        return true;
    s_entry_t *e = s_entry(self, key, len, now_ms);
    if (!e)
        return true;
    e->used_ms = now_ms;
    return rtr_bucket_take(&e->bucket, self->rate, self->burst, now_ms);
}

/* Drops idle keys from the old end of the recency list. */
size_t rtr_ratemap_expire(rtr_ratemap_t *self, uint64_t now_ms)
{
    size_t n = 0;
    s_entry_t *e;
    while ((e = RTR_LRU_ENTRY(self->lru.oldest, s_entry_t, lru)) && now_ms > e->used_ms &&
           now_ms - e->used_ms > self->idle_ms) {
        rtr_lru_remove(&self->lru, &e->lru);
        base_map_remove(self->map, &e->node);
        free(e);
        n++;
    }
    return n;
}

/* Keys tracked. */
size_t rtr_ratemap_size(const rtr_ratemap_t *self)
{
    return base_map_size(self->map);
}
