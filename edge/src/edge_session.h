/*
 * edge_session.h: the client protocol of one WebSocket connection: its set-up and welcome, the
 * op dispatch of its messages (subscribe, unsubscribe, auth, ping) under its rate limit, its
 * authentication timer, and its end. No lws: the server (edge_server.c) hands it complete text
 * messages and timer ticks, and arms the connection's timer through the arm hook.
 *
 * The stack: edge_server above (lws, upgrades, callbacks); edge_pipeline, edge_writer and
 * edge_auth below. Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_SESSION_H
#define EDGE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_auth.h"
#include "edge_bucket.h"
#include "edge_config.h"
#include "edge_ipcap.h"
#include "edge_pipeline.h"
#include "edge_rooms.h"
#include "edge_rxbuf.h"
#include "edge_stats.h"
#include "edge_writer.h"

/* One WebSocket connection. The server embeds it in lws's per-session data of the "weft"
 * protocol, zeroed by lws; edge_session_open() sets it up and edge_session_closed() frees what
 * it holds. */
typedef struct edge_conn {
    edge_client_t client;   /* its output and resumes; client.out.transport is the transport */
    edge_member_t *member;  /* its rooms and patterns */
    edge_bucket_t bucket;   /* rate limit of the client's messages */
    edge_rxbuf_t rx;        /* the client message being reassembled (the server's) */
    edge_auth_conn_t auth;  /* who it is and until when */
    int64_t idle_until;     /* anonymous: monotonic µs by which a valid op must come; 0 = none */
    edge_ipcap_entry_t *ip; /* its count under max_conns_per_ip (the server's), or NULL */
} edge_conn_t;

/* Arms the connection's timer (transport: client.out.transport) to fire edge_session_timer()
 * in delay_us (> 0), replacing a pending one. */
typedef void(edge_session_arm_fn)(void *transport, int64_t delay_us);

/* Settings for edge_session_new(); everything is borrowed. */
typedef struct edge_session_opts {
    const edge_config_t *conf; /* limits, edge_id */
    base_log_t *log;           /* may be NULL */
    edge_writer_t *writer;     /* every connection's output */
    edge_pipeline_t *pipe;     /* rooms and resumes */
    edge_auth_t *auth;         /* keys and rules */
    edge_stats_t *stats;       /* counters */
    edge_session_arm_fn *arm;  /* the connection's timer (required) */
    int64_t (*now)(void);      /* monotonic microseconds for rate limits; NULL = base_clock_us() */
    int64_t (*wall)(void);     /* wall-clock microseconds for tokens; NULL = the system's */
} edge_session_opts_t;

typedef struct edge_session edge_session_t;

/* Builds the sessions' shared state (the welcome and rate_limited frames). NULL when out of
 * memory. */
edge_session_t *edge_session_new(const edge_session_opts_t *opts);

/* Frees it, nulls *self_p. NULL-safe. */
void edge_session_destroy(edge_session_t **self_p);

/* Sets up conn over transport (zeroing it first) with the identity verified at its upgrade, if
 * any (*id taken and emptied; NULL or empty: none), and queues its welcome (and auto-joins).
 * Returns 0, or -1 when out of memory (nothing held: the server refuses the connection). */
int edge_session_open(edge_session_t *self, edge_conn_t *conn, void *transport, edge_auth_id_t *id);

/* Handles one complete client message of len bytes. */
void edge_session_message(edge_session_t *self, edge_conn_t *conn, const char *text, size_t len);

/* The connection's timer fired: its auth deadline or its token's expiry (edge_auth.h), or, in
 * anonymous mode, its idle deadline (idle_timeout_ms without a valid op and without a room:
 * close 4002). */
void edge_session_timer(edge_session_t *self, edge_conn_t *conn);

/* Closes conn with kind and reason (static): only the close frame goes out from now on. */
void edge_session_close(edge_session_t *self, edge_conn_t *conn, edge_close_t kind,
                        const char *reason);

/* The connection ended: frees what it holds (leaving its rooms may unsubscribe). Returns true
 * when it was open, false when open failed or this is the second call. */
bool edge_session_closed(edge_session_t *self, edge_conn_t *conn);

/* conn is ending; reason (len bytes) is lws's own close reason, the code first, which lws sets
 * only when it closes a connection itself (a malformed frame: 1002, invalid UTF-8: 1007): counts
 * and logs such a close (len < 2, or a connection the edge was closing already: nothing). */
void edge_session_lws_closed(edge_session_t *self, edge_conn_t *conn, const unsigned char *reason,
                             size_t len);

/* Counts and logs a refusal (edge_auth_refusal_t or edge_jwt_err_t); returns its sentence. */
const char *edge_session_refuse(edge_session_t *self, int reason);

#endif
