/*
 * rtr_rooms.h: the router's room table: room name -> next sequence number and last use.
 *
 * Every accepted event takes the next seq of its room (1, 2, 3 ... per room, within the router's
 * epoch). Rooms are kept on a recency list, least recently used first, updated in O(1) on each
 * stamp. Each room has one slot for its history (rtr_history.h): the table stores the pointer and
 * never looks inside it or frees it, so the history store must be cleared before the table is
 * destroyed. A room's seq itself is never forgotten within an epoch, even when its history is
 * evicted, so a client's cursor can never see a seq reused.
 *
 * Ownership: the table owns its rooms; rtr_room_t pointers stay valid until the table is destroyed.
 * Not thread-safe: owned by the router loop. Time is always passed in (milliseconds of any
 * monotonic clock), so tests control it.
 */
#ifndef RTR_ROOMS_H
#define RTR_ROOMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtr_rooms rtr_rooms_t;
typedef struct rtr_room rtr_room_t;

/* A room's history ring, defined and owned by rtr_history.c. */
typedef struct rtr_hring rtr_hring_t;

/* Creates an empty table, or NULL when out of memory. */
rtr_rooms_t *rtr_rooms_new(void);

/* Frees every room and the table; nulls *self_p. NULL-safe. */
void rtr_rooms_destroy(rtr_rooms_t **self_p);

/* The room named name (len bytes, not NUL-terminated), or NULL when the table has none. */
rtr_room_t *rtr_rooms_lookup(const rtr_rooms_t *self, const char *name, size_t len);

/* The room named name, created (last seq 0, last used now_ms) when absent. NULL when out of
 * memory. The caller has validated the name (wire_room_valid). */
rtr_room_t *rtr_rooms_ensure(rtr_rooms_t *self, const char *name, size_t len, uint64_t now_ms);

/* Issues the room's next seq (the first is 1), marks it used at now_ms and makes it the most
 * recently used room. Returns the seq. */
uint64_t rtr_rooms_stamp(rtr_rooms_t *self, rtr_room_t *room, uint64_t now_ms);

/* Number of rooms. */
size_t rtr_rooms_size(const rtr_rooms_t *self);

/* The least recently used room, or NULL when empty. */
rtr_room_t *rtr_rooms_idlest(const rtr_rooms_t *self);

/* The next more recently used room after room, or NULL at the end of the list. */
rtr_room_t *rtr_room_busier(const rtr_room_t *room);

/* The most recently stamped room, or NULL when the table is empty. */
rtr_room_t *rtr_rooms_busiest(const rtr_rooms_t *self);

/* The next less recently stamped room, or NULL. */
rtr_room_t *rtr_room_idler(const rtr_room_t *room);

/* The room's name (NUL-terminated); *len gets its length when len is not NULL. */
const char *rtr_room_name(const rtr_room_t *room, size_t *len);

/* The last seq issued in the room (0 when none yet). */
uint64_t rtr_room_last_seq(const rtr_room_t *room);

/* When the room was last stamped or created (milliseconds, caller's clock). */
uint64_t rtr_room_last_used(const rtr_room_t *room);

/* The room's history ring (NULL when it holds no history). */
rtr_hring_t *rtr_room_history(const rtr_room_t *room);

/* Attaches a history ring to the room (NULL detaches); the table never frees it. */
void rtr_room_set_history(rtr_room_t *room, rtr_hring_t *ring);

#endif
