/*
 * rtr_lru.c: the intrusive recency list (see rtr_lru.h).
 */
#include "rtr_lru.h"

void rtr_lru_push_newest(rtr_lru_t *self, rtr_lru_node_t *node)
{
    node->newer = NULL;
    node->older = self->newest;
    if (self->newest)
        self->newest->newer = node;
    else
        self->oldest = node;
    self->newest = node;
}

void rtr_lru_remove(rtr_lru_t *self, rtr_lru_node_t *node)
{
    if (node->older)
        node->older->newer = node->newer;
    else
        self->oldest = node->newer;
    if (node->newer)
        node->newer->older = node->older;
    else
        self->newest = node->older;
    node->older = node->newer = NULL;
}

void rtr_lru_touch(rtr_lru_t *self, rtr_lru_node_t *node)
{
    if (self->newest == node)
        return;
    rtr_lru_remove(self, node);
    rtr_lru_push_newest(self, node);
}
