/*
 * rtr_history.c: per-room rings of recent events under count, age and byte limits.
 *
 * Data structures: one rtr_hevent_t allocation per event (header and payload bytes inline), a
 * per-room rtr_hring_t holding a circular array of event pointers, and a doubly linked list of
 * rings in the order of their last append, least recent first, which is what byte-cap eviction
 * and the age sweep walk. A ring exists only while its room holds at least one event: emptying a
 * ring frees it, so evicted rooms cost nothing here (their seq lives on in the room table).
 */
#include "rtr_history.h"

#include <stdlib.h>
#include <string.h>

#include "rtr_lru.h"

#define RTR_HRING_MIN_CAP 8              /* first ring size; doubles up to max_events */
#define RTR_MALLOC_MMAP_MIN (128 * 1024) /* glibc's default threshold for mmapped blocks */
#define RTR_PAGE 4096                    /* mmapped blocks are whole pages */

/* One stored event: header and payload in one block, exactly as sent on fan-out. */
typedef struct rtr_hevent {
    uint64_t seq;         /* room seq the event was stamped with */
    uint64_t time_ms;     /* when the router stored it (age limit) */
    uint32_t header_len;  /* bytes of header at data[0] */
    uint32_t payload_len; /* bytes of payload right after the header */
    unsigned char data[]; /* header, then payload */
} rtr_hevent_t;

struct rtr_hring {
    rtr_room_t *room;     /* the room whose slot points here */
    rtr_lru_node_t lru;   /* place on the store's append-recency list */
    rtr_hevent_t **slots; /* circular array of cap event pointers */
    size_t cap;           /* slots allocated (<= max_events) */
    size_t start;         /* index of the oldest event */
    size_t count;         /* events held, >= 1 while the ring exists */
};

struct rtr_history {
    rtr_history_limits_t limits; /* count, age and byte limits */
    rtr_lru_t lru;               /* every ring, appended to least recently first */
    size_t bytes;                /* accounted bytes of all rings and events */
    size_t events;               /* events held */
    size_t rooms;                /* rings (rooms holding history) */
    rtr_history_counters_t ctr;  /* eviction totals (gauges filled on read) */
};

/* What glibc's malloc really reserves for n bytes: an 8-byte chunk header, 16-byte alignment,
 * 32 bytes at least; whole pages (plus the header) once a block may be mmapped. */
size_t rtr_history_alloc_cost(size_t n)
{
    if (n >= RTR_MALLOC_MMAP_MIN)
        return (n + 16 + RTR_PAGE - 1) & ~(size_t)(RTR_PAGE - 1);
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* Accounted cost of an event with these frame sizes. */
size_t rtr_history_event_cost(size_t header_len, size_t payload_len)
{
    return rtr_history_alloc_cost(sizeof(rtr_hevent_t) + header_len + payload_len);
}

/* Accounted cost of one stored event. */
static size_t s_event_cost(const rtr_hevent_t *e)
{
    return rtr_history_event_cost(e->header_len, e->payload_len);
}

/* Accounted cost of a ring with cap slots (the struct and its array). */
static size_t s_ring_cost(size_t cap)
{
    return rtr_history_alloc_cost(sizeof(rtr_hring_t)) +
           rtr_history_alloc_cost(cap * sizeof(rtr_hevent_t *));
}

/* Creates an empty store. */
rtr_history_t *rtr_history_new(const rtr_history_limits_t *limits)
{
    rtr_history_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = *limits;
    return self;
}

/* Frees every ring and the store. */
void rtr_history_destroy(rtr_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_history_clear(*self_p);
    free(*self_p);
    *self_p = NULL;
}

/* The i-th oldest event of a ring. */
static rtr_hevent_t *s_at(const rtr_hring_t *ring, size_t i)
{
    size_t idx = ring->start + i;
    if (idx >= ring->cap)
        idx -= ring->cap;
    return ring->slots[idx];
}

/* The newest event of a ring. */
static rtr_hevent_t *s_newest(const rtr_hring_t *ring)
{
    return s_at(ring, ring->count - 1);
}

/* The ring appended to least recently, or NULL. */
static rtr_hring_t *s_idlest(const rtr_history_t *self)
{
    return RTR_LRU_ENTRY(self->lru.oldest, rtr_hring_t, lru);
}

/* Frees an empty ring and detaches it from its room. */
static void s_free_ring(rtr_history_t *self, rtr_hring_t *ring)
{
    rtr_lru_remove(&self->lru, &ring->lru);
    rtr_room_set_history(ring->room, NULL);
    self->bytes -= s_ring_cost(ring->cap);
    self->rooms--;
    free(ring->slots);
    free(ring);
}

/* Frees the oldest event of a ring, and the ring when that was its last event.
 * Returns true when the ring is gone. */
static bool s_drop_oldest(rtr_history_t *self, rtr_hring_t *ring)
{
    rtr_hevent_t *e = ring->slots[ring->start];
    ring->slots[ring->start] = NULL;
    self->bytes -= s_event_cost(e);
    self->events--;
    free(e);
    ring->start = ring->start + 1 == ring->cap ? 0 : ring->start + 1;
    if (--ring->count == 0) {
        s_free_ring(self, ring);
        return true;
    }
    return false;
}

/* Frees every event of a ring and the ring. Returns how many events it held. */
static size_t s_drop_ring(rtr_history_t *self, rtr_hring_t *ring)
{
    size_t n = ring->count;
    while (!s_drop_oldest(self, ring))
        ;
    return n;
}

/* True when an event stored at time_ms has outlived max_age at now_ms. */
static bool s_expired(const rtr_history_t *self, uint64_t time_ms, uint64_t now_ms)
{
    return now_ms > time_ms && now_ms - time_ms > self->limits.max_age_ms;
}

/* Drops a ring's expired events, oldest first. Returns true when the ring is gone. */
static bool s_trim_age(rtr_history_t *self, rtr_hring_t *ring, uint64_t now_ms)
{
    while (s_expired(self, ring->slots[ring->start]->time_ms, now_ms)) {
        self->ctr.evicted_age++;
        if (s_drop_oldest(self, ring))
            return true;
    }
    return false;
}

/* Drops all of room's history. */
size_t rtr_history_drop_room(rtr_history_t *self, rtr_room_t *room)
{
    rtr_hring_t *ring = rtr_room_history(room);
    return ring ? s_drop_ring(self, ring) : 0;
}

/* Creates a ring for room with the first slots, linked at the busy end. NULL when out of memory. */
static rtr_hring_t *s_new_ring(rtr_history_t *self, rtr_room_t *room)
{
    size_t cap =
        self->limits.max_events < RTR_HRING_MIN_CAP ? self->limits.max_events : RTR_HRING_MIN_CAP;
    rtr_hring_t *ring = calloc(1, sizeof *ring);
    if (!ring)
        return NULL;
    ring->slots = calloc(cap, sizeof *ring->slots);
    if (!ring->slots) {
        free(ring);
        return NULL;
    }
    ring->room = room;
    ring->cap = cap;
    rtr_room_set_history(room, ring);
    rtr_lru_push_newest(&self->lru, &ring->lru);
    self->bytes += s_ring_cost(cap);
    self->rooms++;
    return ring;
}

/* Doubles a full ring's array (up to max_events), oldest event first. -1 when out of memory. */
static int s_grow(rtr_history_t *self, rtr_hring_t *ring)
{
    size_t cap = ring->cap * 2;
    if (cap > self->limits.max_events)
        cap = self->limits.max_events;
    rtr_hevent_t **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < ring->count; i++)
        slots[i] = s_at(ring, i);
    self->bytes = self->bytes - s_ring_cost(ring->cap) + s_ring_cost(cap);
    free(ring->slots);
    ring->slots = slots;
    ring->cap = cap;
    ring->start = 0;
    return 0;
}

/* Evicts until the store is within max_bytes: the idlest rooms' whole history first, then the
 * oldest events of keep (the room just appended to, always the busiest). */
static void s_enforce_bytes(rtr_history_t *self, rtr_hring_t *keep)
{
    rtr_hring_t *ring;
    while (self->bytes > self->limits.max_bytes && (ring = s_idlest(self))) {
        if (ring != keep) {
            self->ctr.evicted_cap += s_drop_ring(self, ring);
            continue;
        }
        self->ctr.evicted_cap++;
        if (s_drop_oldest(self, ring))
            return;
    }
}

/* Stores one event; see rtr_history.h. */
int rtr_history_append(rtr_history_t *self, rtr_room_t *room, uint64_t seq, const void *header,
                       size_t header_len, const void *payload, size_t payload_len, uint64_t now_ms)
{
    if (self->limits.max_events == 0)
        return 0;
    rtr_hring_t *ring = rtr_room_history(room);
    if (ring && s_trim_age(self, ring, now_ms))
        ring = NULL;
    /* The ring is a contiguous run of seqs; anything else (a stamp that was never stored) would
     * make a hole a client could not see, so the old run is dropped instead. */
    if (ring && s_newest(ring)->seq + 1 != seq) {
        self->ctr.lost += s_drop_ring(self, ring);
        ring = NULL;
    }
    /* An event that could never fit is not stored, rather than first evicting every other room
     * for nothing; the room's older events go too, or they would end before head. */
    if (rtr_history_event_cost(header_len, payload_len) + s_ring_cost(RTR_HRING_MIN_CAP) >
        self->limits.max_bytes) {
        self->ctr.evicted_cap += 1 + (ring ? s_drop_ring(self, ring) : 0);
        return 0;
    }
    rtr_hevent_t *e = NULL;
    if (header_len > UINT32_MAX || payload_len > UINT32_MAX ||
        !(e = malloc(sizeof *e + header_len + payload_len)))
        goto oom;
    e->seq = seq;
    e->time_ms = now_ms;
    e->header_len = (uint32_t)header_len;
    e->payload_len = (uint32_t)payload_len;
    memcpy(e->data, header, header_len);
    if (payload_len)
        memcpy(e->data + header_len, payload, payload_len);

    if (ring && ring->count == self->limits.max_events) {
        self->ctr.evicted_count++;
        if (s_drop_oldest(self, ring)) /* max_events is 1: the ring went with its event */
            ring = NULL;
    }
    if (!ring) {
        ring = s_new_ring(self, room);
        if (!ring)
            goto oom;
    } else {
        rtr_lru_touch(&self->lru, &ring->lru);
        /* No memory for more slots: keep the ring's size by letting the oldest go (the ring
         * holds at least 8 here, so it survives). */
        if (ring->count == ring->cap && s_grow(self, ring) < 0) {
            self->ctr.lost++;
            if (s_drop_oldest(self, ring))
                ring = NULL;
            if (!ring && !(ring = s_new_ring(self, room)))
                goto oom;
        }
    }
    size_t idx = ring->start + ring->count;
    if (idx >= ring->cap)
        idx -= ring->cap;
    ring->slots[idx] = e;
    ring->count++;
    self->events++;
    self->bytes += s_event_cost(e);
    s_enforce_bytes(self, ring);
    return 0;
oom:
    free(e);
    self->ctr.lost++;
    if (ring)
        self->ctr.lost += s_drop_ring(self, ring);
    return -1;
}

/* Pages through a room's history; see rtr_history.h. */
void rtr_history_query(rtr_history_t *self, rtr_room_t *room, uint64_t after_seq, size_t max_events,
                       size_t max_bytes, uint64_t now_ms, rtr_history_event_t *out,
                       rtr_history_page_t *page)
{
    memset(page, 0, sizeof *page);
    page->head = room ? rtr_room_last_seq(room) : 0;
    rtr_hring_t *ring = room ? rtr_room_history(room) : NULL;
    if (ring && s_trim_age(self, ring, now_ms))
        ring = NULL;
    /* Defensive: a ring that does not end at head would hide events; treat it as evicted. */
    if (ring && s_newest(ring)->seq != page->head) {
        self->ctr.lost += s_drop_ring(self, ring);
        ring = NULL;
    }
    page->first = ring ? ring->slots[ring->start]->seq : page->head + 1;
    if (after_seq < page->first - 1) {
        page->too_old = true;
        return;
    }
    if (after_seq >= page->head)
        return;
    /* Here first - 1 <= after_seq < head, so the ring exists and holds after_seq + 1. */
    size_t i = (size_t)(after_seq + 1 - page->first);
    size_t bytes = 0;
    uint64_t last = after_seq;
    for (; i < ring->count && page->count < max_events; i++) {
        const rtr_hevent_t *e = s_at(ring, i);
        size_t sz = (size_t)e->header_len + e->payload_len;
        if (page->count > 0 && bytes + sz > max_bytes)
            break;
        bytes += sz;
        out[page->count++] = (rtr_history_event_t){
            .seq = e->seq,
            .header = e->data,
            .header_len = e->header_len,
            .payload = e->data + e->header_len,
            .payload_len = e->payload_len,
        };
        last = e->seq;
    }
    page->more = last < page->head;
}

/* A room's position: a query for nothing after everything. */
void rtr_history_position(rtr_history_t *self, rtr_room_t *room, uint64_t now_ms,
                          rtr_history_page_t *page)
{
    rtr_history_query(self, room, UINT64_MAX, 0, 0, now_ms, NULL, page);
    page->more = false;
}

/* The periodic sweep: whole rooms whose newest event expired, idlest first. */
size_t rtr_history_expire(rtr_history_t *self, uint64_t now_ms)
{
    size_t dropped = 0;
    while (s_idlest(self) && s_expired(self, s_newest(s_idlest(self))->time_ms, now_ms))
        dropped += s_drop_ring(self, s_idlest(self));
    self->ctr.evicted_age += dropped;
    /* The first room still fresh may have an expired tail; trimming it is cheap and keeps the
     * gauges honest for rooms that stopped publishing a little while ago. */
    if (s_idlest(self)) {
        size_t before = self->events;
        s_trim_age(self, s_idlest(self), now_ms);
        dropped += before - self->events;
    }
    return dropped;
}

/* Drops everything. */
void rtr_history_clear(rtr_history_t *self)
{
    while (s_idlest(self))
        s_drop_ring(self, s_idlest(self));
}

/* Accounted bytes. */
size_t rtr_history_bytes(const rtr_history_t *self)
{
    return self->bytes;
}

/* Events held. */
size_t rtr_history_events(const rtr_history_t *self)
{
    return self->events;
}

/* Counters with fresh gauges. */
void rtr_history_counters(const rtr_history_t *self, rtr_history_counters_t *out)
{
    *out = self->ctr;
    out->bytes = self->bytes;
    out->events = self->events;
    out->rooms = self->rooms;
}
