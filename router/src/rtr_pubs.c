/*
 * rtr_pubs.c: per-(publisher, session) dedup, ack batching and expiry (see rtr_pubs.h).
 */
#include "rtr_pubs.h"

#include <stdlib.h>
#include <string.h>

#include "rtr_bucket.h"
#include "rtr_lru.h"
#include "base_map.h"
#include "wire_envelope.h"

struct rtr_pub {
    base_map_node_t node;         /* membership in the map; keyed by (id, session) */
    rtr_lru_node_t lru;          /* place on the recency list (by last traffic) */
    rtr_pub_t *dirty_prev;       /* previous on the dirty list (valid while dirty) */
    rtr_pub_t *dirty_next;       /* next on the dirty list (valid while dirty) */
    bool dirty;                  /* on the dirty list: sent something since the last ack */
    uint64_t session;            /* publisher session id */
    uint64_t highest_seq;        /* highest publisher seq received; acked cumulatively */
    uint64_t last_seen_ms;       /* last traffic of any kind */
    uint64_t last_heartbeat_ms;  /* last valid heartbeat, 0 when none */
    json_t *heartbeat;           /* last heartbeat payload (owned), NULL when none */
    uint64_t events;             /* events recorded, duplicates included */
    uint64_t duplicates;         /* events at or below highest_seq */
    rtr_bucket_t bucket;         /* rate cap: this session's tokens */
    uint64_t blocked_seq;        /* rate cap: first throttled seq still to come back, or 0 */
    bool present;                /* presence: announced connected, not yet disconnected */
    uint8_t id_len;              /* bytes in id */
    char id[WIRE_PUBID_MAX + 1]; /* publisher id, NUL-terminated */
    char key[RTR_PUB_KEY_MAX + 1]; /* CURVE User-Id (Z85), "" when none or not read yet */
};

struct rtr_pubs {
    base_map_t *map;        /* (id, session) -> entry */
    rtr_lru_t lru;         /* every session, least recent traffic (next to expire) first */
    rtr_pub_t *dirty_head; /* sessions to ack in the next round, in order of first traffic */
    rtr_pub_t *dirty_tail; /* last on the dirty list */
    size_t ndirty;         /* entries on the dirty list */
    uint64_t ttl_ms;       /* forget a session after this long without traffic */
    uint64_t rate;         /* rate cap: events per second per session, 0 = none */
    uint64_t burst;        /* rate cap: bucket size, events */
};

/* The session a recency-list node belongs to (NULL for NULL). */
static rtr_pub_t *s_pub(const rtr_lru_node_t *node)
{
    return RTR_LRU_ENTRY(node, rtr_pub_t, lru);
}

/* Creates an empty table. */
rtr_pubs_t *rtr_pubs_new(uint64_t ttl_ms)
{
    rtr_pubs_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = base_map_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    self->ttl_ms = ttl_ms;
    return self;
}

/* Sets the rate cap. */
void rtr_pubs_set_rate(rtr_pubs_t *self, uint64_t rate, uint64_t burst)
{
    self->rate = rate;
    self->burst = burst ? burst : 1;
}

/* Frees one entry and what it owns. */
static void s_free_pub(rtr_pub_t *pub)
{
    json_decref(pub->heartbeat);
    free(pub);
}

/* Frees every entry through the recency list, which holds them all. */
void rtr_pubs_destroy(rtr_pubs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_pubs_t *self = *self_p;
    rtr_pub_t *pub = s_pub(self->lru.oldest);
    while (pub) {
        rtr_pub_t *next = s_pub(pub->lru.newer);
        s_free_pub(pub);
        pub = next;
    }
    base_map_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

/* Finds an entry by hash and key. */
static rtr_pub_t *s_find(const rtr_pubs_t *self, uint64_t hash, const char *id, size_t id_len,
                         uint64_t session)
{
    for (base_map_node_t *n = base_map_bucket(self->map, hash); n; n = n->next) {
        rtr_pub_t *pub = (rtr_pub_t *)n;
        if (n->hash == hash && pub->session == session && pub->id_len == id_len &&
            memcmp(pub->id, id, id_len) == 0)
            return pub;
    }
    return NULL;
}

/* Looks up (id, session) without creating it. */
rtr_pub_t *rtr_pubs_find(const rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session)
{
    if (id_len == 0 || id_len > WIRE_PUBID_MAX)
        return NULL;
    return s_find(self, base_map_hash(self->map, id, id_len, session), id, id_len, session);
}


/* Puts pub on the dirty list unless it is there already. */
static void s_mark_dirty(rtr_pubs_t *self, rtr_pub_t *pub)
{
    if (pub->dirty)
        return;
    pub->dirty = true;
    pub->dirty_next = NULL;
    pub->dirty_prev = self->dirty_tail;
    if (self->dirty_tail)
        self->dirty_tail->dirty_next = pub;
    else
        self->dirty_head = pub;
    self->dirty_tail = pub;
    self->ndirty++;
}

/* Takes pub off the dirty list if it is on it. */
static void s_clear_dirty(rtr_pubs_t *self, rtr_pub_t *pub)
{
    if (!pub->dirty)
        return;
    if (pub->dirty_prev)
        pub->dirty_prev->dirty_next = pub->dirty_next;
    else
        self->dirty_head = pub->dirty_next;
    if (pub->dirty_next)
        pub->dirty_next->dirty_prev = pub->dirty_prev;
    else
        self->dirty_tail = pub->dirty_prev;
    pub->dirty_prev = pub->dirty_next = NULL;
    pub->dirty = false;
    self->ndirty--;
}

/* Finds or creates (id, session) and records traffic at now_ms. NULL when out of memory. */
static rtr_pub_t *s_touch(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                          uint64_t now_ms)
{
    if (id_len == 0 || id_len > WIRE_PUBID_MAX)
        return NULL;
    uint64_t hash = base_map_hash(self->map, id, id_len, session);
    rtr_pub_t *pub = s_find(self, hash, id, id_len, session);
    if (!pub) {
        pub = calloc(1, sizeof *pub);
        if (!pub)
            return NULL;
        memcpy(pub->id, id, id_len);
        pub->id_len = (uint8_t)id_len;
        pub->session = session;
        pub->node.hash = hash;
        rtr_bucket_init(&pub->bucket, self->burst, now_ms); /* a new session starts full */
        /* A failed growth still inserts the node (longer chains), so it is not an error here. */
        (void)base_map_insert(self->map, &pub->node);
        rtr_lru_push_newest(&self->lru, &pub->lru);
    } else {
        rtr_lru_touch(&self->lru, &pub->lru);
    }
    pub->last_seen_ms = now_ms;
    return pub;
}

/* Dedups one event, under the rate cap when capped, and schedules its ack. */
static rtr_pub_verdict_t s_event(rtr_pubs_t *self, const char *id, size_t id_len,
                                 uint64_t session, uint64_t pub_seq, uint64_t now_ms, bool capped,
                                 uint64_t *report_seq)
{
    *report_seq = 0;
    rtr_pub_t *pub = s_touch(self, id, id_len, session, now_ms);
    if (!pub)
        return RTR_PUB_UNTRACKED;
    pub->events++;
    s_mark_dirty(self, pub);
    if (pub_seq <= pub->highest_seq) {
        pub->duplicates++;
        return RTR_PUB_DUPLICATE;
    }
    if (!capped) {
        pub->highest_seq = pub_seq;
        return RTR_PUB_NEW;
    }
    /* Blocked at N: everything after N waits for N (the publisher resends from N). */
    if (pub->blocked_seq && pub_seq > pub->blocked_seq)
        return RTR_PUB_THROTTLED;
    if (!rtr_bucket_take(&pub->bucket, self->rate, self->burst, now_ms)) {
        if (!pub->blocked_seq || pub_seq == pub->blocked_seq)
            *report_seq = pub_seq;
        pub->blocked_seq = pub_seq;
        return RTR_PUB_THROTTLED;
    }
    pub->blocked_seq = 0;
    pub->highest_seq = pub_seq;
    return RTR_PUB_NEW;
}

/* Dedups one event and schedules its ack (no rate cap). */
rtr_pub_verdict_t rtr_pubs_event(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                                 uint64_t pub_seq, uint64_t now_ms)
{
    uint64_t report;
    return s_event(self, id, id_len, session, pub_seq, now_ms, false, &report);
}

/* Dedups one event under the rate cap set with rtr_pubs_set_rate(). */
rtr_pub_verdict_t rtr_pubs_event_capped(rtr_pubs_t *self, const char *id, size_t id_len,
                                        uint64_t session, uint64_t pub_seq, uint64_t now_ms,
                                        uint64_t *report_seq)
{
    return s_event(self, id, id_len, session, pub_seq, now_ms, self->rate != 0, report_seq);
}

/* A token for a non-event message. */
bool rtr_pubs_take(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                   uint64_t now_ms)
{
    if (self->rate == 0)
        return true;
    rtr_pub_t *pub = s_touch(self, id, id_len, session, now_ms);
    return pub && rtr_bucket_take(&pub->bucket, self->rate, self->burst, now_ms);
}

/* Stores a heartbeat payload and refreshes liveness. */
int rtr_pubs_heartbeat(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                       json_t **payload_p, uint64_t now_ms)
{
    json_t *payload = payload_p ? *payload_p : NULL;
    if (payload_p)
        *payload_p = NULL;
    rtr_pub_t *pub = s_touch(self, id, id_len, session, now_ms);
    if (!pub) {
        json_decref(payload);
        return -1;
    }
    json_decref(pub->heartbeat);
    pub->heartbeat = payload;
    pub->last_heartbeat_ms = now_ms;
    /* Re-acking on heartbeats repairs a lost ack frame; a session without events has nothing
     * to acknowledge. */
    if (pub->highest_seq > 0)
        s_mark_dirty(self, pub);
    return 0;
}

/* Packs dirty sessions into one ack frame. */
size_t rtr_pubs_ack_frame(rtr_pubs_t *self, void *buf, size_t cap, size_t *entries)
{
    size_t count = 0;
    if (entries)
        *entries = 0;
    if (!self->dirty_head)
        return 0;
    size_t len = wire_ack_begin(buf, cap);
    if (len == 0)
        return 0;
    while (self->dirty_head) {
        rtr_pub_t *pub = self->dirty_head;
        wire_ack_entry_t e = {.pub_id = pub->id,
                              .pub_id_len = pub->id_len,
                              .session = pub->session,
                              .pub_seq = pub->highest_seq};
        size_t next = wire_ack_append(buf, cap, len, &e);
        if (next == 0)
            break; /* frame full: the rest go in the next frame */
        len = next;
        count++;
        s_clear_dirty(self, pub);
    }
    if (entries)
        *entries = count;
    return count ? len : 0;
}

/* Number of sessions waiting for an ack. */
size_t rtr_pubs_dirty_count(const rtr_pubs_t *self)
{
    return self->ndirty;
}

/* Drops silent sessions from the old end of the recency list. */
size_t rtr_pubs_expire(rtr_pubs_t *self, uint64_t now_ms)
{
    size_t n = 0;
    rtr_pub_t *pub;
    while ((pub = s_pub(self->lru.oldest)) && now_ms > pub->last_seen_ms &&
           now_ms - pub->last_seen_ms > self->ttl_ms) {
        rtr_lru_remove(&self->lru, &pub->lru);
        s_clear_dirty(self, pub);
        base_map_remove(self->map, &pub->node);
        s_free_pub(pub);
        n++;
    }
    return n;
}

/* Number of sessions tracked. */
size_t rtr_pubs_size(const rtr_pubs_t *self)
{
    return base_map_size(self->map);
}

/* The most recently active session. */
rtr_pub_t *rtr_pubs_newest(rtr_pubs_t *self)
{
    return s_pub(self->lru.newest);
}

/* The next less recently active session. */
rtr_pub_t *rtr_pub_older(const rtr_pub_t *pub)
{
    return s_pub(pub->lru.older);
}

/* Whether presence announced the session connected. */
bool rtr_pub_present(const rtr_pub_t *pub)
{
    return pub->present;
}

/* Records what presence announced. */
void rtr_pub_set_present(rtr_pub_t *pub, bool present)
{
    pub->present = present;
}

/* The CURVE key identity, "" when none. */
const char *rtr_pub_key(const rtr_pub_t *pub)
{
    return pub->key;
}

/* Keeps the key identity; one longer than a Z85 key is not one and is left out. */
void rtr_pub_set_key(rtr_pub_t *pub, const char *key)
{
    size_t len = key ? strlen(key) : 0;
    if (len > RTR_PUB_KEY_MAX)
        len = 0;
    memcpy(pub->key, key ? key : "", len);
    pub->key[len] = '\0';
}

/* Visits sessions, least recently active first. */
void rtr_pubs_foreach(const rtr_pubs_t *self, void (*fn)(const rtr_pub_t *pub, void *arg),
                      void *arg)
{
    for (const rtr_pub_t *pub = s_pub(self->lru.oldest); pub; pub = s_pub(pub->lru.newer))
        fn(pub, arg);
}

/* The publisher id and its length. */
const char *rtr_pub_id(const rtr_pub_t *pub, size_t *len)
{
    if (len)
        *len = pub->id_len;
    return pub->id;
}

/* The session id. */
uint64_t rtr_pub_session(const rtr_pub_t *pub)
{
    return pub->session;
}

/* Highest publisher seq received. */
uint64_t rtr_pub_highest_seq(const rtr_pub_t *pub)
{
    return pub->highest_seq;
}

/* Last traffic time. */
uint64_t rtr_pub_last_seen(const rtr_pub_t *pub)
{
    return pub->last_seen_ms;
}

/* Last valid heartbeat time. */
uint64_t rtr_pub_last_heartbeat(const rtr_pub_t *pub)
{
    return pub->last_heartbeat_ms;
}

/* Last heartbeat payload (borrowed). */
const json_t *rtr_pub_heartbeat(const rtr_pub_t *pub)
{
    return pub->heartbeat;
}

/* Events recorded, duplicates included. */
uint64_t rtr_pub_events(const rtr_pub_t *pub)
{
    return pub->events;
}

/* The seq the rate cap blocks the session at, 0 when not blocked. */
uint64_t rtr_pub_blocked_seq(const rtr_pub_t *pub)
{
    return pub->blocked_seq;
}

/* Duplicate events recorded. */
uint64_t rtr_pub_duplicates(const rtr_pub_t *pub)
{
    return pub->duplicates;
}
