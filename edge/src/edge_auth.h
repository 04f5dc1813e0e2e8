/*
 * edge_auth.h: who a connection is, and until when (pure: no lws; the clock is passed in).
 *
 * One edge_auth_t per edge holds what every connection shares: the token verifier (edge_jwt.h)
 * when auth = jwt with a key, the anonymous rules (edge_perm.h, from anonymous_rooms) otherwise,
 * the auto-join templates and the timeouts. Each connection embeds an edge_auth_conn_t, its state
 * machine:
 *
 *   ANON     anonymous mode: the shared anonymous rules, no timer, no token ever needed. An
 *            anonymous_rooms of "*" (the default) opens every room and pattern, user: rooms
 *            included, as before the edge knew identities; any other list never opens a
 *            user: room (edge_perm.h).
 *   PENDING  tokens required, none on the upgrade: only {"op":"auth"} is accepted, until the
 *            deadline now + auth_timeout_ms (then close 4001 "authentication timed out").
 *   OK       a verified identity (its own edge_perm_t), until exp + leeway (then close 4001
 *            "token expired"); a later auth for the same sub refreshes it, another sub is
 *            refused ("subject changed").
 *
 * Deadlines are absolute (wall clock, microseconds: exp is wall-clock seconds). The server arms
 * one per-connection timer with the delay this module returns and asks edge_auth_conn_due() when
 * it fires, so nothing is checked per event or per message beyond one state comparison.
 *
 * Refusals are counted by reason: the edge_jwt_err_t values, then the reasons of this module.
 */
#ifndef EDGE_AUTH_H
#define EDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_config.h"
#include "edge_jwt.h"
#include "edge_perm.h"

/* Refusal reasons beyond the token's own (edge_jwt_err_t), for the counters. */
typedef enum edge_auth_refusal {
    EDGE_REFUSE_FORBIDDEN = EDGE_JWT__COUNT, /* subscribe to a room the identity may not read */
    EDGE_REFUSE_TIMEOUT,                     /* no auth within auth_timeout_ms */
    EDGE_REFUSE_REQUIRED,                    /* another op before auth */
    EDGE_REFUSE_SUB_CHANGED,                 /* a refresh for another sub */
    EDGE_REFUSE__COUNT
} edge_auth_refusal_t;

/* Stable name of a refusal reason: edge_jwt_err_name() below EDGE_JWT__COUNT, then
 * "forbidden", "auth_timeout", "auth_required", "sub_changed"; "unknown" out of range. */
const char *edge_auth_refusal_name(int reason);

/* The sentence of a refusal reason for clients (HTTP 401 bodies, error messages, close
 * reasons): edge_jwt_err_text() for the token's reasons, then "room not allowed",
 * EDGE_AUTH_TIMEOUT_TEXT, EDGE_AUTH_REQUIRED_TEXT, EDGE_AUTH_SUB_CHANGED_TEXT. Static. */
const char *edge_auth_refusal_text(int reason);

/* Close reasons (WebSocket close 4001) of this module. */
#define EDGE_AUTH_TIMEOUT_TEXT "authentication timed out"
#define EDGE_AUTH_REQUIRED_TEXT "authentication required"
#define EDGE_AUTH_SUB_CHANGED_TEXT "subject changed"

/* A connection's state (see the banner). */
typedef enum edge_auth_state {
    EDGE_AUTH_ANON = 0,
    EDGE_AUTH_PENDING,
    EDGE_AUTH_OK
} edge_auth_state_t;

/* A verified identity: the rules of its sub and rooms claim, and its expiry. */
typedef struct edge_auth_id {
    edge_perm_t *perm; /* owned */
    int64_t exp;       /* seconds since the epoch; 0 when the token has none */
} edge_auth_id_t;

/* One connection's authentication; zeroed memory is a valid ANON state with nothing owned. */
typedef struct edge_auth_conn {
    edge_auth_state_t state;
    edge_perm_t *perm;   /* OK: the identity's rules (owned) */
    int64_t exp;         /* OK: the token's exp (s), 0 when none */
    int64_t deadline_us; /* PENDING: auth deadline; OK: exp + leeway (0: none) */
} edge_auth_conn_t;

/* What a connection's timer found (edge_auth_conn_due()). */
typedef enum edge_auth_due {
    EDGE_AUTH_DUE_NONE = 0, /* nothing due: re-arm with *delay_us when it is > 0 */
    EDGE_AUTH_DUE_TIMEOUT,  /* PENDING past its deadline: close 4001 EDGE_AUTH_TIMEOUT_TEXT */
    EDGE_AUTH_DUE_EXPIRED   /* OK past exp + leeway: close 4001 "token expired" */
} edge_auth_due_t;

/* What an accepted auth did (edge_auth_conn_auth()). */
typedef enum edge_auth_rc {
    EDGE_AUTH_FIRST = 0,  /* first identity of the connection: auto-join next */
    EDGE_AUTH_REFRESHED,  /* same sub, new token: re-check the subscriptions */
    EDGE_AUTH_SUB_CHANGED /* another sub: refused (the identity is freed) */
} edge_auth_rc_t;

typedef struct edge_auth edge_auth_t;

/*
 * Builds the edge's authentication from conf (edge_config_finish() has checked it): the
 * verifier when edge_config_tokens(conf), the anonymous rules otherwise, the auto-join templates.
 * NULL with why in err on failure (a key that does not load, OOM).
 */
edge_auth_t *edge_auth_new(const edge_config_t *conf, char *err, size_t errlen);

/* Frees it, nulls *self_p. NULL-safe. */
void edge_auth_destroy(edge_auth_t **self_p);

/* True when clients must present tokens (auth = jwt with a key). */
bool edge_auth_tokens(const edge_auth_t *self);

/* Loads the keys again (SIGHUP). 0 when done or when there is no verifier; -1 with why in err,
 * the old keys kept. */
int edge_auth_reload(edge_auth_t *self, char *err, size_t errlen);

/*
 * Verifies a token (len bytes) at now_us (wall clock) and builds its identity in *out (release
 * with edge_auth_id_clear()). Returns EDGE_JWT_OK, a refusal (nothing in *out; EDGE_JWT_NO_KEY
 * in anonymous mode), or -1 when out of memory.
 */
int edge_auth_verify(const edge_auth_t *self, const char *token, size_t len, int64_t now_us,
                     edge_auth_id_t *out);

/* Frees an identity's rules. NULL-safe, safe twice. */
void edge_auth_id_clear(edge_auth_id_t *id);

/*
 * Starts a connection at now_us: ANON in anonymous mode, OK with id (taken: *id is emptied)
 * when the upgrade carried a valid token, PENDING otherwise. Returns the delay in microseconds
 * for the connection's timer, or 0 for none.
 */
int64_t edge_auth_conn_open(const edge_auth_t *self, edge_auth_conn_t *st, edge_auth_id_t *id,
                            int64_t now_us);

/*
 * Applies a verified identity from an auth op (id taken: *id is emptied in every case). On
 * FIRST and REFRESHED sets *delay_us for the timer (0: none); on SUB_CHANGED the state is kept.
 */
edge_auth_rc_t edge_auth_conn_auth(const edge_auth_t *self, edge_auth_conn_t *st,
                                   edge_auth_id_t *id, int64_t now_us, int64_t *delay_us);

/* True when an op may run: anything but PENDING, or the auth op itself. */
static inline bool edge_auth_conn_gate(const edge_auth_conn_t *st, bool is_auth)
{
    return st->state != EDGE_AUTH_PENDING || is_auth;
}

/* The rules of the connection: the identity's, or the anonymous ones (NULL while PENDING, and
 * in anonymous mode with anonymous_rooms "*", where everything is allowed). */
const edge_perm_t *edge_auth_conn_perm(const edge_auth_t *self, const edge_auth_conn_t *st);

/* True when the connection may subscribe to name (len bytes), a room or pattern: never while
 * PENDING; always in anonymous mode with anonymous_rooms "*"; else edge_perm_allows(). */
bool edge_auth_conn_allows(const edge_auth_t *self, const edge_auth_conn_t *st, const char *name,
                           size_t len);

/* The connection's timer fired at now_us: what is due, or the delay to re-arm (*delay_us). */
edge_auth_due_t edge_auth_conn_due(const edge_auth_t *self, const edge_auth_conn_t *st,
                                   int64_t now_us, int64_t *delay_us);

/* Calls fn for each auto-join room of the connection's identity (edge_perm_autojoin()).
 * Returns how many. */
size_t edge_auth_autojoin(const edge_auth_t *self, const edge_auth_conn_t *st,
                          edge_perm_room_fn *fn, void *arg);

/* Frees what the connection's state owns; back to zeroed ANON. Safe twice. */
void edge_auth_conn_clear(edge_auth_conn_t *st);

/*
 * Splits a comma-separated list (spaces around items ignored, empty items skipped) into a NULL-
 * terminated array of n strings, one allocation (free() it). NULL on OOM.
 */
char **edge_auth_split(const char *list, size_t *n);

#endif
