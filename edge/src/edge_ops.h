/*
 * edge_ops.h: the edge's operations side: signals (read from a signalfd in the loop), the
 * loop's heartbeat, the state /health and /ready answer from (router feed connected, history
 * answering, draining), and the graceful drain (edge_drain.h's schedule run on lws timers). It
 * owns the plain-HTTP module (edge_http.h) whose endpoints report here, and reports up to the
 * server through hooks: close this many clients now, stop, reload.
 *
 * Signals: SIGHUP reloads (hook); the first SIGTERM starts a drain (unless the edge has no
 * clients, or drain_grace and drain_seconds are both 0: then it stops); SIGINT, or any stop
 * signal during a drain or a stop, stops (hook: the server's graceful stop, whose second call
 * ends the loop at once).
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_OPS_H
#define EDGE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_drain.h"
#include "edge_hist.h"
#include "edge_http.h"
#include "edge_stats.h"
#include "edge_zmq.h"

struct lws_context;
struct lws_protocols;
struct lws_vhost;

/* The server's hook: close up to n live clients with 1012 now. */
typedef void(edge_ops_close_fn)(void *arg, size_t n);

/* The server's hooks: stop (edge_server_stop()), reload keys and certificates (SIGHUP). */
typedef void(edge_ops_fn)(void *arg);

typedef struct edge_ops_opts {
    const char *www;             /* static files (edge_http_opts_t) */
    edge_upgrade_t *upgrade;     /* (edge_http_opts_t) */
    edge_zmq_t *zmq;             /* the router feed (borrowed): connected or not */
    edge_hist_t *hist;           /* history (borrowed): answering or not */
    const edge_stats_t *stats;   /* the server's counters (borrowed): clients now, /metrics */
    const bool *stopping;        /* the server's stopping flag (borrowed) */
    double drain_grace;          /* seconds */
    double drain_seconds;        /* seconds */
    edge_ops_close_fn *close;
    edge_ops_fn *stop;
    edge_ops_fn *reload;
    void *arg; /* for the hooks */
    base_log_t *log;
} edge_ops_opts_t;

typedef struct edge_ops edge_ops_t;

/* Creates it (and its edge_http). NULL on OOM. */
edge_ops_t *edge_ops_new(const edge_ops_opts_t *opts);

/* Cancels its timers, frees it, nulls *self_p. NULL-safe. */
void edge_ops_destroy(edge_ops_t **self_p);

/* The plain-HTTP module (its mounts and callback). */
edge_http_t *edge_ops_http(edge_ops_t *self);

/* The raw-file protocol that reads the signalfd; the server lists it in its vhost. */
const struct lws_protocols *edge_ops_signal_protocol(void);

/* Starts the heartbeat on ctx's loop and adopts signal_fd (-1: none; owned from here on, closed
 * on failure) into vhost. Returns 0, or -1 (logged). */
int edge_ops_attach(edge_ops_t *self, struct lws_context *ctx, struct lws_vhost *vhost,
                    int signal_fd);

/* Cancels the timers (before lws_context_destroy()). */
void edge_ops_detach(edge_ops_t *self);

/* Starts a graceful drain (SIGTERM, POST /drain); no-op when one is under way or stopping. */
void edge_ops_drain(edge_ops_t *self);

/* The drain's phase (upgrades are refused after the grace). */
edge_drain_phase_t edge_ops_drain_phase(const edge_ops_t *self);

#endif
