/*
 * rtr_history.h: the router's history store: recent events per room, for resume
 * (docs/protocol.md §2 "History service").
 *
 * Per room the store keeps a contiguous run of the room's latest events [first, head], at most
 * max_events of them, none older than max_age_ms, under one global cap of max_bytes for all rooms.
 * Each event is one allocation holding its stamped header and payload, exactly the bytes that
 * went out on fan-out (never a zmq_msg_t: libzmq's zero-copy receive can pin a whole 8 KiB
 * receive buffer per retained message). A room's ring of event pointers hangs off its rtr_room_t
 * slot and grows by doubling up to max_events, so a room with three events costs three events.
 *
 * Limits, and what each costs:
 *  - count: appending to a full ring drops its oldest event. O(1).
 *  - age: checked lazily for the room being appended to or queried, and by rtr_history_expire()
 *    (call it about once a second), which drops whole rooms whose newest event has expired,
 *    walking from the idlest; O(expired). A busy room's stale tail is trimmed on its next append
 *    or query, so stale events are never served and never outlive 2 x max_age.
 *  - bytes: after each append, while over max_bytes, the whole history of the least recently
 *    published room is dropped, then (when only the appended room is left) its oldest events.
 *    The store keeps its own list of rooms that hold history, in the order of their last append
 *    (the same order as the room table's recency list, without the rooms that hold nothing), so
 *    this never walks rooms without history. O(evicted).
 * When events are dropped, the room's first seq moves up; its head (the room's last seq, kept by
 * the room table) never moves back, so first = head + 1 when a room holds nothing.
 *
 * Memory accounting (rtr_history_bytes) counts every allocation the store makes for events and
 * rings, each rounded the way glibc's malloc rounds it (chunk header, 16-byte alignment, pages
 * for mmapped blocks), so the cap bounds what the process really holds. The store's own fixed
 * struct is not counted; the total is 0 when no room holds history.
 *
 * Ownership: the store owns events and rings; rooms belong to the room table, whose rooms must
 * outlive the store's use of them (the table never frees rooms before it is destroyed). Destroy
 * or clear the store before the table. Not thread-safe: owned by the router loop. Time is passed
 * in (milliseconds of a monotonic clock), so tests drive age expiry.
 */
#ifndef RTR_HISTORY_H
#define RTR_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtr_rooms.h"

typedef struct rtr_history rtr_history_t;

/* The store's limits. */
typedef struct rtr_history_limits {
    size_t max_events;   /* per room; 0 keeps no history at all */
    uint64_t max_age_ms; /* events older than this are dropped */
    size_t max_bytes;    /* cap on rtr_history_bytes() over all rooms */
} rtr_history_limits_t;

/* What the store did and holds. Totals count events; gauges are current values. */
typedef struct rtr_history_counters {
    uint64_t evicted_count; /* events dropped because their room held max_events */
    uint64_t evicted_age;   /* events dropped for being older than max_age */
    uint64_t evicted_cap;   /* events dropped to stay under max_bytes */
    uint64_t lost;          /* events not kept, or a room's history dropped, for lack of memory */
    uint64_t bytes;         /* gauge: accounted bytes (events, rings) */
    uint64_t events;        /* gauge: events held */
    uint64_t rooms;         /* gauge: rooms holding at least one event */
} rtr_history_counters_t;

/* One event of a page; pointers are into the store (see rtr_history_query). */
typedef struct rtr_history_event {
    uint64_t seq;        /* the room seq it was stamped with */
    const void *header;  /* the stamped header, as sent on fan-out */
    size_t header_len;   /* bytes in header */
    const void *payload; /* the JSON payload */
    size_t payload_len;  /* bytes in payload */
} rtr_history_event_t;

/* What rtr_history_query() found. */
typedef struct rtr_history_page {
    uint64_t head;  /* the room's last seq (0 when nothing was published) */
    uint64_t first; /* the oldest seq held (head + 1 when nothing is held) */
    bool too_old;   /* after_seq + 1 < first: needed events were dropped; count is 0 */
    bool more;      /* events after the page exist (the page was cut by count or bytes) */
    size_t count;   /* events written to the caller's array */
} rtr_history_page_t;

/* Creates an empty store with these limits, or NULL when out of memory. */
rtr_history_t *rtr_history_new(const rtr_history_limits_t *limits);

/* Drops every event (detaching rooms' rings) and frees the store; nulls *self_p. NULL-safe. */
void rtr_history_destroy(rtr_history_t **self_p);

/*
 * Keeps a copy of one stamped event of room: seq is the seq it was just stamped with (the room's
 * last seq), header and payload the frames as sent. Applies the count, age and byte limits.
 * Returns 0; -1 when out of memory, in which case the room's history is dropped (so it never has
 * a hole) and counted as lost.
 */
int rtr_history_append(rtr_history_t *self, rtr_room_t *room, uint64_t seq, const void *header,
                       size_t header_len, const void *payload, size_t payload_len, uint64_t now_ms);

/*
 * Pages through room's events with seq > after_seq, oldest first, after dropping its expired
 * ones. room may be NULL (a room never published: head 0, first 1). At most max_events events
 * go into out (which has room for them), and no more header + payload bytes than max_bytes,
 * except that a page holds at least one event when one is due. Fills *page. The pointers in out
 * stay valid until the next call that changes the store (append, expire, clear, destroy).
 */
void rtr_history_query(rtr_history_t *self, rtr_room_t *room, uint64_t after_seq, size_t max_events,
                       size_t max_bytes, uint64_t now_ms, rtr_history_event_t *out,
                       rtr_history_page_t *page);

/* Fills page with room's head and first only (count 0, more and too_old false), after dropping
 * its expired events. room may be NULL. */
void rtr_history_position(rtr_history_t *self, rtr_room_t *room, uint64_t now_ms,
                          rtr_history_page_t *page);

/* Drops expired events: whole rooms whose newest event is older than max_age, idlest first.
 * Returns the number of events dropped. */
size_t rtr_history_expire(rtr_history_t *self, uint64_t now_ms);

/* Drops all history of room. Returns the number of events dropped (not counted as evictions). */
size_t rtr_history_drop_room(rtr_history_t *self, rtr_room_t *room);

/* Drops every event of every room (not counted as evictions); bytes return to 0. */
void rtr_history_clear(rtr_history_t *self);

/* Accounted bytes held (see the banner). */
size_t rtr_history_bytes(const rtr_history_t *self);

/* Events held over all rooms. */
size_t rtr_history_events(const rtr_history_t *self);

/* Copies the counters (gauges included) into out. */
void rtr_history_counters(const rtr_history_t *self, rtr_history_counters_t *out);

/* What an allocation of n bytes costs in the accounting (glibc malloc's real footprint). */
size_t rtr_history_alloc_cost(size_t n);

/* What one stored event with these frame sizes costs in the accounting. */
size_t rtr_history_event_cost(size_t header_len, size_t payload_len);

#endif
