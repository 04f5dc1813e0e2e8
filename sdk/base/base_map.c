/*
 * base_map.c: intrusive chained hash map with power-of-two buckets (see base_map.h).
 */
#include "base_map.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BASE_MAP_INITIAL 64 /* buckets in a new map; a power of two */

struct base_map {
    base_map_node_t **buckets; /* bucket heads, nbuckets of them */
    size_t nbuckets;          /* a power of two, so the index is hash & (nbuckets - 1) */
    size_t size;              /* nodes stored */
    uint64_t seed;            /* per-map random hash seed */
};

/* Final avalanche of a 64-bit value (MurmurHash3's fmix64). */
static inline uint64_t s_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Creates an empty map with a random seed. */
base_map_t *base_map_new(void)
{
    base_map_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->buckets = calloc(BASE_MAP_INITIAL, sizeof *self->buckets);
    if (!self->buckets) {
        free(self);
        return NULL;
    }
    self->nbuckets = BASE_MAP_INITIAL;
    if (getrandom(&self->seed, sizeof self->seed, GRND_NONBLOCK) != sizeof self->seed) {
        /* Early boot without entropy: a clock-based seed still varies per process. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        self->seed = s_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)self);
    }
    return self;
}

/* Frees the map's own memory; nodes belong to the caller. */
void base_map_destroy(base_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buckets);
    free(*self_p);
    *self_p = NULL;
}

/* Unaligned loads in host order (the hash is per process, so byte order does not matter). */
static inline uint64_t s_load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t s_load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Hashes 8 bytes at a time with a multiply-xorshift step, then avalanches. The last 1..8 bytes
 * are read with fixed-size loads (overlapping bytes already hashed, as wyhash does; the length is
 * mixed in first, so this stays injective) rather than a variable-length copy, which would cost
 * a memcpy call and mispredicted branches on every lookup of names of mixed lengths. Names are
 * short (rooms at most 128 bytes), so this is a few nanoseconds per message. */
uint64_t base_map_hash(const base_map_t *self, const void *key, size_t len, uint64_t extra)
{
    const unsigned char *p = key;
    uint64_t h = self->seed ^ (len * 0x9e3779b97f4a7c15ULL) ^ s_mix(extra + self->seed);
    uint64_t tail = 0;
    if (len > 8) {
        do {
            h = (h ^ s_mix(s_load64(p))) * 0x9e3779b97f4a7c15ULL;
            h ^= h >> 29;
            p += 8;
            len -= 8;
        } while (len > 8);
        tail = s_load64(p + len - 8); /* the last 8 bytes of the key */
    } else if (len >= 4) {
        tail = s_load32(p) << 32 | s_load32(p + len - 4);
    } else if (len > 0) {
        tail = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
    }
    h = (h ^ s_mix(tail)) * 0x9e3779b97f4a7c15ULL;
    return s_mix(h);
}

/* The chain a hash lives in. */
base_map_node_t *base_map_bucket(const base_map_t *self, uint64_t hash)
{
    return self->buckets[hash & (self->nbuckets - 1)];
}

/* Doubles the bucket array; on failure the map keeps working with longer chains. */
static int s_grow(base_map_t *self)
{
    size_t n = self->nbuckets * 2;
    base_map_node_t **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < self->nbuckets; i++) {
        base_map_node_t *node = self->buckets[i];
        while (node) {
            base_map_node_t *next = node->next;
            size_t j = node->hash & (n - 1);
            node->next = b[j];
            b[j] = node;
            node = next;
        }
    }
    free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
    return 0;
}

/* Links node at the head of its bucket, growing first when the load factor would pass 1. */
int base_map_insert(base_map_t *self, base_map_node_t *node)
{
    int rc = 0;
    if (self->size + 1 > self->nbuckets)
        rc = s_grow(self);
    size_t i = node->hash & (self->nbuckets - 1);
    node->next = self->buckets[i];
    self->buckets[i] = node;
    self->size++;
    return rc;
}

/* Unlinks node from its chain. */
void base_map_remove(base_map_t *self, base_map_node_t *node)
{
    base_map_node_t **pp = &self->buckets[node->hash & (self->nbuckets - 1)];
    while (*pp && *pp != node)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = node->next;
        node->next = NULL;
        self->size--;
    }
}

/* Number of nodes stored. */
size_t base_map_size(const base_map_t *self)
{
    return self->size;
}

/* The first node of the first non-empty bucket from i on, or NULL. */
static base_map_node_t *s_from_bucket(const base_map_t *self, size_t i)
{
    for (; i < self->nbuckets; i++)
        if (self->buckets[i])
            return self->buckets[i];
    return NULL;
}

/* Starts an iteration at the lowest non-empty bucket. */
base_map_node_t *base_map_first(const base_map_t *self)
{
    return s_from_bucket(self, 0);
}

/* The rest of node's chain, then the following buckets: reads only node's own fields, so the
 * caller may unlink node right after. */
base_map_node_t *base_map_next(const base_map_t *self, const base_map_node_t *node)
{
    if (node->next)
        return node->next;
    return s_from_bucket(self, (node->hash & (self->nbuckets - 1)) + 1);
}
