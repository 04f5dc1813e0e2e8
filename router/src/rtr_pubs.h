/*
 * rtr_pubs.h: the router's publisher table: dedup state, pending acks and liveness per
 * (publisher id, session).
 *
 * For each session the table keeps the highest publisher seq received. An event at or below it
 * is a duplicate (libweft resends unacknowledged events after a reconnect): it is not published
 * again but is acknowledged again. Every publisher that sent something since the last ack round
 * sits on a dirty list; rtr_pubs_ack_frame() drains that list into ack frames (docs/protocol.md,
 * "Acknowledgements"), so idle publishers cost nothing. Sessions are kept on a recency list by
 * last traffic and forgotten after ttl without any (events and heartbeats both count), which
 * costs O(1) per message and O(expired) per sweep. The last heartbeat payload and time are kept
 * per session; presence (rtr_presence.h) keeps its announced state and the key identity in the
 * same entries, so it needs no table of its own.
 *
 * Ownership: the table owns its entries and their heartbeat payloads. Pointers returned by
 * rtr_pubs_find() stay valid until the next rtr_pubs_expire() or rtr_pubs_destroy().
 * Not thread-safe: owned by the router loop. Time is passed in (milliseconds of a monotonic
 * clock), never read from a hidden clock, so tests drive expiry.
 */
#ifndef RTR_PUBS_H
#define RTR_PUBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest key identity kept per session: a Z85 CURVE public key. */
#define RTR_PUB_KEY_MAX 40

typedef struct rtr_pubs rtr_pubs_t;
typedef struct rtr_pub rtr_pub_t;

/* What rtr_pubs_event() found. */
typedef enum rtr_pub_verdict {
    RTR_PUB_NEW = 0,   /* seq above the highest: publish it */
    RTR_PUB_DUPLICATE, /* seq at or below the highest: drop it (it is acked anyway) */
    RTR_PUB_UNTRACKED, /* out of memory for a new session: publish without dedup, no ack */
    RTR_PUB_THROTTLED  /* over the session's rate cap: not recorded, not acked; resent later */
} rtr_pub_verdict_t;

/* Creates an empty table whose sessions expire after ttl_ms without traffic. NULL on OOM. */
rtr_pubs_t *rtr_pubs_new(uint64_t ttl_ms);

/*
 * Sets the per-session rate cap: a token bucket of burst events refilled at rate events per
 * second (rate 0: no cap, the default). Why per session and a block: acks are cumulative, so
 * once event N of a session is throttled, every later event of that session is throttled too
 * until N itself comes back and finds a token; the session is "blocked at N". Only the event
 * that starts a block, and N each time it is throttled again, are to be reported (report_seq).
 */
void rtr_pubs_set_rate(rtr_pubs_t *self, uint64_t rate, uint64_t burst);

/* Frees every entry (and its heartbeat payload) and the table; nulls *self_p. NULL-safe. */
void rtr_pubs_destroy(rtr_pubs_t **self_p);

/*
 * Records an event header (id: id_len bytes, already validated; session and pub_seq nonzero) at
 * now_ms: refreshes the session's last traffic and marks it for the next ack round. A seq above
 * the highest raises the highest (gaps are allowed: the ack is cumulative for what arrived).
 */
rtr_pub_verdict_t rtr_pubs_event(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                                 uint64_t pub_seq, uint64_t now_ms);

/*
 * As rtr_pubs_event() under the rate cap (rtr_pubs_set_rate): may also return RTR_PUB_THROTTLED.
 * *report_seq gets the seq to report as rate-limited to the publisher, or 0 for nothing to
 * report (see rtr_pubs_set_rate).
 */
rtr_pub_verdict_t rtr_pubs_event_capped(rtr_pubs_t *self, const char *id, size_t id_len,
                                        uint64_t session, uint64_t pub_seq, uint64_t now_ms,
                                        uint64_t *report_seq);

/* Takes one token of the session's rate cap for a message that is not an event (a heartbeat):
 * true when there is no cap or a token was left. Creates the session like any traffic; false
 * when out of memory too (the message is not needed). */
bool rtr_pubs_take(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                   uint64_t now_ms);

/* The seq a session is blocked at by the rate cap, 0 when it is not blocked. A heartbeat of a
 * blocked session reports it again, which repairs a lost refusal frame. */
uint64_t rtr_pub_blocked_seq(const rtr_pub_t *pub);

/*
 * Records a valid heartbeat at now_ms and takes ownership of *payload_p (may point to NULL),
 * nulling it, also on failure. A session that has sent events is acked again (so a lost ack
 * frame is repaired within a heartbeat interval). Returns 0, or -1 when out of memory.
 */
int rtr_pubs_heartbeat(rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session,
                       json_t **payload_p, uint64_t now_ms);

/* The entry for (id, session), or NULL. */
rtr_pub_t *rtr_pubs_find(const rtr_pubs_t *self, const char *id, size_t id_len, uint64_t session);

/*
 * Writes one ack frame into buf (cap bytes, at least 2 + 81 for one entry) from the dirty list,
 * removing the entries it holds from that list. Returns the frame length, or 0 when no session
 * is waiting for an ack. *entries (when not NULL) gets the number of entries written. Call it
 * until it returns 0 to drain the list.
 */
size_t rtr_pubs_ack_frame(rtr_pubs_t *self, void *buf, size_t cap, size_t *entries);

/* Number of sessions waiting for an ack. */
size_t rtr_pubs_dirty_count(const rtr_pubs_t *self);

/* Forgets sessions whose last traffic is more than ttl before now_ms. Returns how many. */
size_t rtr_pubs_expire(rtr_pubs_t *self, uint64_t now_ms);

/* Number of sessions tracked. */
size_t rtr_pubs_size(const rtr_pubs_t *self);

/* Calls fn for every session, least recently active first. fn must not modify the table. */
void rtr_pubs_foreach(const rtr_pubs_t *self, void (*fn)(const rtr_pub_t *pub, void *arg),
                      void *arg);

/* The most recently active session, NULL when the table is empty; walk on with
 * rtr_pub_older(). The caller may change presence fields (rtr_pub_set_*) on the way. */
rtr_pub_t *rtr_pubs_newest(rtr_pubs_t *self);

/* The next less recently active session, NULL after the oldest. */
rtr_pub_t *rtr_pub_older(const rtr_pub_t *pub);

/* Whether presence (rtr_presence.h) announced the session connected and not yet disconnected. */
bool rtr_pub_present(const rtr_pub_t *pub);

/* Records what presence announced for the session. */
void rtr_pub_set_present(rtr_pub_t *pub, bool present);

/* The session's key identity (CURVE User-Id, Z85), "" when none was recorded. */
const char *rtr_pub_key(const rtr_pub_t *pub);

/* Records the key identity (NULL or longer than RTR_PUB_KEY_MAX: none). */
void rtr_pub_set_key(rtr_pub_t *pub, const char *key);

/* The publisher id (NUL-terminated); *len gets its length when len is not NULL. */
const char *rtr_pub_id(const rtr_pub_t *pub, size_t *len);

/* The publisher session. */
uint64_t rtr_pub_session(const rtr_pub_t *pub);

/* The highest publisher seq received in the session (0 when only heartbeats so far). */
uint64_t rtr_pub_highest_seq(const rtr_pub_t *pub);

/* When the session last sent anything (ms, caller's clock). */
uint64_t rtr_pub_last_seen(const rtr_pub_t *pub);

/* When the session last sent a valid heartbeat (0 when never). */
uint64_t rtr_pub_last_heartbeat(const rtr_pub_t *pub);

/* The last heartbeat payload (a JSON object owned by the table), or NULL when none yet. */
const json_t *rtr_pub_heartbeat(const rtr_pub_t *pub);

/* Events recorded in the session, duplicates included. */
uint64_t rtr_pub_events(const rtr_pub_t *pub);

/* Events of the session that were duplicates. */
uint64_t rtr_pub_duplicates(const rtr_pub_t *pub);

#endif
