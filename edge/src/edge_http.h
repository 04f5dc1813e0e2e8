/*
 * edge_http.h: the edge's plain HTTP (everything on the port that is not a WebSocket): the
 * static files (an lws mount), their CORS headers, the operations endpoints GET /health,
 * GET /ready and POST /drain, and lws's HTTP chores (header completion, the TLS context's
 * set-up, requests whose headers never completed).
 *
 * Two layers in one class, as edge_upgrade.h: pure functions that route a request and write its
 * JSON answer from a snapshot of the edge's state (edge_http_route(), edge_http_answer()), which
 * a unit test calls alone; and the lws adapter (edge_http_callback()) that reads the request,
 * asks the server for the snapshot through a hook and writes the answer. The endpoints share
 * the WebSocket port, and its TLS.
 *
 *   GET /health  200 {"status":"ok","loop_age_ms":N}: the loop turns (N: time since the loop's
 *                heartbeat timer last ran); 503 "stalled" when N > EDGE_HTTP_STALL_MS.
 *   GET /ready   200 {"status":"ready",...} when connected to the router's fan-out, history
 *                answering (edge_http_history_ok()) and not draining or stopping; otherwise
 *                503 with "reasons" naming each failing condition.
 *   POST /drain  from a loopback address: starts a graceful drain (202); 403 otherwise.
 *   GET /metrics 200, the Prometheus text (edge_metrics.h), text/plain; version=0.0.4, from any
 *                address (operators restrict it at the proxy, docs/operations.md).
 *
 * Answers are written from a stack buffer, /metrics from buffers kept between scrapes: no
 * allocation per request once they have grown to a scrape's size.
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_stats.h"
#include "edge_upgrade.h"

struct lws;
struct lws_http_mount;

#define EDGE_HTTP_STALL_MS 5000        /* /health fails when the heartbeat is older than this */
#define EDGE_HTTP_HIST_TIMEOUTS 2      /* history attempts timed out in a row that mean down */
#define EDGE_HTTP_HIST_FORGET_MS 30000 /* ... unless the last was longer ago than this */
#define EDGE_HTTP_BODY_MAX 256         /* the longest answer body */

/* What a request asks for. */
typedef enum edge_http_route {
    EDGE_HTTP_FILES = 0, /* anything else: the static files */
    EDGE_HTTP_HEALTH,    /* /health */
    EDGE_HTTP_READY,     /* /ready */
    EDGE_HTTP_DRAIN,     /* /drain */
    EDGE_HTTP_METRICS,   /* /metrics (answered by edge_metrics, not edge_http_answer()) */
} edge_http_route_t;

/* The request methods the endpoints tell apart. */
typedef enum edge_http_method {
    EDGE_HTTP_GET = 0,
    EDGE_HTTP_POST,
    EDGE_HTTP_OTHER,
} edge_http_method_t;

/* A snapshot of the edge's state for one answer (filled by the server's hook). */
typedef struct edge_http_state {
    int64_t loop_age_ms;  /* time since the loop's heartbeat ran */
    bool router;          /* the SUB is connected to the router's fan-out */
    bool history;         /* history answering (edge_http_history_ok()) */
    bool draining;        /* a drain is under way */
    bool stopping;        /* a stop is under way */
    uint64_t connections; /* WebSocket clients now */
} edge_http_state_t;

/* An answer. */
typedef struct edge_http_reply {
    unsigned status;               /* HTTP status */
    bool drain;                    /* the request starts a drain */
    size_t len;                    /* body bytes */
    char body[EDGE_HTTP_BODY_MAX]; /* JSON, NUL-terminated */
} edge_http_reply_t;

/* The server's hook: fills st with the edge's state now. */
typedef void(edge_http_state_fn)(void *arg, edge_http_state_t *st);

/* The server's hook: POST /drain from loopback was accepted. */
typedef void(edge_http_drain_fn)(void *arg);

typedef struct edge_http_opts {
    const char *www;           /* the static files' directory (borrowed, must outlive) */
    edge_upgrade_t *upgrade;   /* CORS headers, header completion, TLS context (borrowed) */
    edge_http_state_fn *state; /* the state hook */
    edge_http_drain_fn *drain; /* the drain hook */
    const edge_stats_t *stats; /* the counters /metrics renders (borrowed) */
    void *arg;                 /* for the hooks */
} edge_http_opts_t;

typedef struct edge_http edge_http_t;

/* Creates the HTTP side. Returns NULL on OOM. */
edge_http_t *edge_http_new(const edge_http_opts_t *opts);

/* Frees it and nulls *self_p. NULL-safe. */
void edge_http_destroy(edge_http_t **self_p);

/* ---- pure: no lws ---- */

/* The route of a request path (the query string excluded). Exact match: /healthz is a file. */
edge_http_route_t edge_http_route(const char *path);

/* True when the address text is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z). */
bool edge_http_loopback(const char *addr);

/* The rule for "history answering": false when at least EDGE_HTTP_HIST_TIMEOUTS attempts in a
 * row timed out since the router's last reply and the last one is at most
 * EDGE_HTTP_HIST_FORGET_MS old (an edge whose clients stopped asking recovers by itself). */
bool edge_http_history_ok(unsigned timeouts_in_a_row, int64_t since_last_ms);

/* The answer to an endpoint request (route not EDGE_HTTP_FILES): method, whether the peer is
 * loopback, the state (read for /health and /ready). */
void edge_http_answer(edge_http_route_t route, edge_http_method_t method, bool loopback,
                      const edge_http_state_t *st, edge_http_reply_t *out);

/* ---- lws adapter ---- */

/* The mount list for the lws context (static files at /, the endpoints); lives in self. */
const struct lws_http_mount *edge_http_mounts(edge_http_t *self);

/* The callback of plain HTTP requests (protocols[0], and the ws protocol for a request bound to
 * it): answers the endpoints, adds CORS headers, marks headers complete, sets up the TLS context,
 * counts requests that never completed (unless stopped), and leaves the rest to lws's defaults.
 * Returns as an lws callback does. */
int edge_http_callback(edge_http_t *self, struct lws *wsi, int reason, void *user, void *in,
                       size_t len, bool stopped);

#endif
