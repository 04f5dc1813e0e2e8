/*
 * rtr_lru.h: an intrusive recency list, shared by the router's tables that evict or expire in
 * least-recently-used order (rooms, publisher sessions, history rings).
 *
 * A table embeds one rtr_lru_t and each entry one rtr_lru_node_t; the list never allocates.
 * RTR_LRU_ENTRY() turns a node pointer back into its entry.
 */
#ifndef RTR_LRU_H
#define RTR_LRU_H

#include <stddef.h>

/* Links of one entry. Both NULL while the entry is not on a list. */
typedef struct rtr_lru_node {
    struct rtr_lru_node *older; /* less recently used neighbour, or NULL at the old end */
    struct rtr_lru_node *newer; /* more recently used neighbour, or NULL at the new end */
} rtr_lru_node_t;

/* The list: both ends, NULL when empty. Zero-initialised means empty. */
typedef struct rtr_lru {
    rtr_lru_node_t *oldest; /* next to evict or expire */
    rtr_lru_node_t *newest; /* most recently used */
} rtr_lru_t;

/* The entry of type `type` whose rtr_lru_node_t field `member` is node (NULL stays NULL). */
#define RTR_LRU_ENTRY(node, type, member)                                                          \
    ((node) ? (type *)(void *)((char *)(node) - offsetof(type, member)) : (type *)NULL)

/* Appends a node that is not on the list at the newest end. */
void rtr_lru_push_newest(rtr_lru_t *self, rtr_lru_node_t *node);

/* Removes a node from the list and clears its links. */
void rtr_lru_remove(rtr_lru_t *self, rtr_lru_node_t *node);

/* Moves a node already on the list to the newest end (no-op when it is there). */
void rtr_lru_touch(rtr_lru_t *self, rtr_lru_node_t *node);

#endif
