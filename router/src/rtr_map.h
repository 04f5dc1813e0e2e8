/*
 * rtr_map.h: an intrusive chained hash map shared by the router's tables (rooms, publishers).
 *
 * The map stores nodes embedded in the caller's entries, so an insert costs no allocation beyond
 * the occasional bucket-array growth, and a lookup costs one hash plus a short chain walk. The map
 * does not know keys: the caller hashes its key with rtr_map_hash(), walks the bucket from
 * rtr_map_bucket() comparing node->hash first and its own key second. The hash is seeded from
 * getrandom() per map, so which names collide differs per process.
 *
 * Ownership: the map never frees nodes; entries belong to the table that embeds them.
 * Not thread-safe: the router's loop thread owns every map.
 */
#ifndef RTR_MAP_H
#define RTR_MAP_H

#include <stddef.h>
#include <stdint.h>

/* Embed this in an entry. */
typedef struct rtr_map_node {
    struct rtr_map_node *next; /* next node in the same bucket */
    uint64_t hash;             /* full hash of the key: compared before keys, reused on growth */
} rtr_map_node_t;

typedef struct rtr_map rtr_map_t;

/* Creates an empty map, or NULL when out of memory. */
rtr_map_t *rtr_map_new(void);

/* Frees the bucket array (not the nodes) and nulls *self_p. NULL-safe. */
void rtr_map_destroy(rtr_map_t **self_p);

/* Seeded hash of len bytes of key, mixed with extra (e.g. a session id). */
uint64_t rtr_map_hash(const rtr_map_t *self, const void *key, size_t len, uint64_t extra);

/* First node of the bucket hash falls in (NULL when empty); walk it with node->next. */
rtr_map_node_t *rtr_map_bucket(const rtr_map_t *self, uint64_t hash);

/* Inserts node, whose hash the caller has set; the key must not be present yet.
 * Returns 0, or -1 when growing failed (the node is still inserted, the chains just get longer). */
int rtr_map_insert(rtr_map_t *self, rtr_map_node_t *node);

/* Removes a node that is in the map. */
void rtr_map_remove(rtr_map_t *self, rtr_map_node_t *node);

/* Number of nodes in the map. */
size_t rtr_map_size(const rtr_map_t *self);

#endif
