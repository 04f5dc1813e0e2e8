/*
 * rtr_rooms.c: room table (hash map + recency list) that issues per-room sequence numbers.
 */
#include "rtr_rooms.h"

#include <stdlib.h>
#include <string.h>

#include "rtr_lru.h"
#include "base_map.h"

struct rtr_room {
    base_map_node_t node;   /* membership in the table's map; keyed by name */
    rtr_lru_node_t lru;    /* place on the table's recency list */
    uint64_t last_seq;     /* last seq issued; the next event gets last_seq + 1 */
    uint64_t last_used_ms; /* when the room was last stamped (or created) */
    rtr_hring_t *history;  /* recent events (rtr_history.c owns it), NULL when none */
    size_t name_len;       /* bytes in name, without the NUL */
    char name[];           /* the room name, NUL-terminated */
};

struct rtr_rooms {
    base_map_t *map;      /* name -> room */
    rtr_lru_t lru;       /* every room, least recently stamped first */
};

/* The room a recency-list node belongs to (NULL for NULL). */
static rtr_room_t *s_room(const rtr_lru_node_t *node)
{
    return RTR_LRU_ENTRY(node, rtr_room_t, lru);
}

/* Creates an empty table. */
rtr_rooms_t *rtr_rooms_new(void)
{
    rtr_rooms_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = base_map_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    return self;
}

/* Frees every room by walking the recency list, which holds them all. */
void rtr_rooms_destroy(rtr_rooms_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_rooms_t *self = *self_p;
    rtr_room_t *room = s_room(self->lru.oldest);
    while (room) {
        rtr_room_t *next = rtr_room_busier(room);
        free(room);
        room = next;
    }
    base_map_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

/* Finds a room by hash and name. */
static rtr_room_t *s_find(const rtr_rooms_t *self, uint64_t hash, const char *name, size_t len)
{
    for (base_map_node_t *n = base_map_bucket(self->map, hash); n; n = n->next) {
        rtr_room_t *room = (rtr_room_t *)n;
        if (n->hash == hash && room->name_len == len && memcmp(room->name, name, len) == 0)
            return room;
    }
    return NULL;
}

/* Looks a room up without creating it. */
rtr_room_t *rtr_rooms_lookup(const rtr_rooms_t *self, const char *name, size_t len)
{
    return s_find(self, base_map_hash(self->map, name, len, 0), name, len);
}


/* Finds or creates a room; one allocation per new room, none per event. */
rtr_room_t *rtr_rooms_ensure(rtr_rooms_t *self, const char *name, size_t len, uint64_t now_ms)
{
    uint64_t hash = base_map_hash(self->map, name, len, 0);
    rtr_room_t *room = s_find(self, hash, name, len);
    if (room)
        return room;
    room = calloc(1, sizeof *room + len + 1);
    if (!room)
        return NULL;
    memcpy(room->name, name, len);
    room->name[len] = '\0';
    room->name_len = len;
    room->last_used_ms = now_ms;
    room->node.hash = hash;
    /* A failed growth still inserts the node (longer chains), so it is not an error here. */
    (void)base_map_insert(self->map, &room->node);
    rtr_lru_push_newest(&self->lru, &room->lru);
    return room;
}

/* Issues the next seq and moves the room to the busy end. */
uint64_t rtr_rooms_stamp(rtr_rooms_t *self, rtr_room_t *room, uint64_t now_ms)
{
    room->last_used_ms = now_ms;
    rtr_lru_touch(&self->lru, &room->lru);
    return ++room->last_seq;
}

/* Number of rooms. */
size_t rtr_rooms_size(const rtr_rooms_t *self)
{
    return base_map_size(self->map);
}

/* Head of the recency list. */
rtr_room_t *rtr_rooms_idlest(const rtr_rooms_t *self)
{
    return s_room(self->lru.oldest);
}

/* Next room towards the busy end. */
rtr_room_t *rtr_room_busier(const rtr_room_t *room)
{
    return s_room(room->lru.newer);
}

/* The room's name. */
const char *rtr_room_name(const rtr_room_t *room, size_t *len)
{
    if (len)
        *len = room->name_len;
    return room->name;
}

/* Last seq issued. */
uint64_t rtr_room_last_seq(const rtr_room_t *room)
{
    return room->last_seq;
}

/* Last use time. */
uint64_t rtr_room_last_used(const rtr_room_t *room)
{
    return room->last_used_ms;
}

/* The room's history slot. */
rtr_hring_t *rtr_room_history(const rtr_room_t *room)
{
    return room->history;
}

/* Sets the room's history slot. */
void rtr_room_set_history(rtr_room_t *room, rtr_hring_t *ring)
{
    room->history = ring;
}

/* The tail of the recency list. */
rtr_room_t *rtr_rooms_busiest(const rtr_rooms_t *self)
{
    return s_room(self->lru.newest);
}

/* One step towards the idle end of the recency list. */
rtr_room_t *rtr_room_idler(const rtr_room_t *room)
{
    return s_room(room->lru.older);
}
