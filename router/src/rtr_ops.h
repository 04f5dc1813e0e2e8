/*
 * rtr_ops.h: the router's operational endpoints, without sockets: /metrics, /health, /ready.
 *
 * rtr_http (the listener) hands each request's method and path to rtr_ops_respond() and sends
 * back what it fills in; the server reports its state upward through the hooks below. Keeping
 * the answers here, apart from libwebsockets, lets the unit tests check every byte of every
 * answer without a socket.
 *
 * /metrics renders every rtr_stats_t field as a weft_router_* family in the Prometheus text
 * format 0.0.4 (base_prom.h; names and meanings in docs/operations.md), into a buffer kept from
 * one scrape to the next. /health answers 200 while the loop turns (its last turn is recent) and
 * /ready 200 while the server is ready for traffic, each with a JSON body giving the reason.
 *
 * Not thread-safe: used from the router's loop thread only.
 */
#ifndef RTR_OPS_H
#define RTR_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "rtr_stats.h"

/* How the server reports upward. Both hooks are required. */
typedef struct rtr_ops_hooks {
    /* Fills *out with the counters, gauges fresh. */
    void (*stats)(void *arg, rtr_stats_t *out);
    /* Returns NULL when ready for traffic, else a short reason ("stopping"). */
    const char *(*not_ready)(void *arg);
    void *arg; /* passed to both hooks */
} rtr_ops_hooks_t;

/* One answer. The body belongs to the rtr_ops_t and stays valid until its next call. */
typedef struct rtr_ops_reply {
    int status;               /* HTTP status: 200, 404, 405, 500 or 503 */
    const char *content_type; /* a constant string */
    const char *body;         /* the body bytes */
    size_t len;               /* the body's length */
} rtr_ops_reply_t;

typedef struct rtr_ops rtr_ops_t;

/* Longest a loop turn may be ago for /health to say ok, ms. The router's loop wakes at least
 * every second (its sweep timer), so anything past this is a stuck loop. */
#define RTR_OPS_STALL_MS 10000

/* Creates the endpoints; hooks is copied; epoch is this run's (shown by /health and in
 * weft_router_info). Returns NULL when out of memory. */
rtr_ops_t *rtr_ops_new(const rtr_ops_hooks_t *hooks, uint64_t epoch);

/* Frees everything and sets *self_p to NULL. NULL-safe, safe to call twice. */
void rtr_ops_destroy(rtr_ops_t **self_p);

/* Records that the loop turned at now_ms (monotonic, base_clock_ms()). */
void rtr_ops_turned(rtr_ops_t *self, uint64_t now_ms);

/* Answers one request (method and path as received; a query string is ignored) at now_ms:
 * GET /metrics, /health, /ready; 404 for any other path, 405 for any other method on those
 * paths. Fills *out. Returns 0, or -1 when the metrics could not be rendered (out of memory;
 * *out then holds a 500). */
int rtr_ops_respond(rtr_ops_t *self, const char *method, const char *path, uint64_t now_ms,
                    rtr_ops_reply_t *out);

#endif
