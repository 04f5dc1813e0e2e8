/*
 * base_map.h: the tree's one hash map: an intrusive chained hash map, seeded per map, for the
 * router's tables (rooms, publishers) and the edge's (rooms, history requests).
 *
 * The map stores nodes embedded in the caller's entries, so an insert costs no allocation beyond
 * the occasional bucket-array growth, and a lookup costs one hash plus a short chain walk. The map
 * does not know keys: the caller hashes its key with base_map_hash(), walks the bucket from
 * base_map_bucket() comparing node->hash first and its own key second. The hash is seeded from
 * getrandom() per map, so which names collide differs per process.
 *
 * Ownership: the map never frees nodes; entries belong to the table that embeds them.
 * Not thread-safe: each map belongs to one loop thread (the router's, or the edge's lws thread).
 */
#ifndef BASE_MAP_H
#define BASE_MAP_H

#include <stddef.h>
#include <stdint.h>

/* Embed this in an entry. */
typedef struct base_map_node {
    struct base_map_node *next; /* next node in the same bucket */
    uint64_t hash;             /* full hash of the key: compared before keys, reused on growth */
} base_map_node_t;

typedef struct base_map base_map_t;

/* Creates an empty map, or NULL when out of memory. */
base_map_t *base_map_new(void);

/* Frees the bucket array (not the nodes) and nulls *self_p. NULL-safe. */
void base_map_destroy(base_map_t **self_p);

/* Seeded hash of len bytes of key, mixed with extra (e.g. a session id). */
uint64_t base_map_hash(const base_map_t *self, const void *key, size_t len, uint64_t extra);

/* First node of the bucket hash falls in (NULL when empty); walk it with node->next. */
base_map_node_t *base_map_bucket(const base_map_t *self, uint64_t hash);

/* Inserts node, whose hash the caller has set; the key must not be present yet.
 * Returns 0, or -1 when growing failed (the node is still inserted, the chains just get longer). */
int base_map_insert(base_map_t *self, base_map_node_t *node);

/* Removes a node that is in the map. */
void base_map_remove(base_map_t *self, base_map_node_t *node);

/* Number of nodes in the map. */
size_t base_map_size(const base_map_t *self);

/*
 * Iteration over every node, in no particular order:
 *     for (base_map_node_t *n = base_map_first(m), *next; n; n = next) {
 *         next = base_map_next(m, n);
 *         ... (n may be removed, or freed once removed or when the map is being torn down)
 *     }
 * Taking next before using n lets the loop remove n. Removing other nodes, or inserting (which
 * may grow and reorder the map), during an iteration is not allowed.
 */

/* The first node, or NULL when the map is empty. */
base_map_node_t *base_map_first(const base_map_t *self);

/* The node after node (which must be in the map), or NULL after the last. */
base_map_node_t *base_map_next(const base_map_t *self, const base_map_node_t *node);

#endif
