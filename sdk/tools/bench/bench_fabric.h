/*
 * bench_fabric.h: a private Weft fabric for weft-bench --spawn: one weft-router and K weft-edges.
 *
 * The router binds its three sockets on tcp://127.0.0.1:* (ZeroMQ picks free ports) and the edges
 * listen on port 0 of 127.0.0.1; the real endpoints are read back from each daemon's "ready:" log
 * line, so there is no race for ports. Each daemon logs into its own file in a directory that is
 * removed at the end unless it is kept (--keep-logs, or after a failure). The children get
 * SIGTERM if weft-bench dies (PR_SET_PDEATHSIG), so an aborted bench leaves no daemons behind.
 */
#ifndef BENCH_FABRIC_H
#define BENCH_FABRIC_H

#include <stdbool.h>
#include <sys/types.h>

#include "base_log.h"

typedef struct bench_fabric bench_fabric_t;

/* How to start the fabric. */
typedef struct bench_fabric_conf {
    const char *router_bin;  /* path of weft-router */
    const char *edge_bin;    /* path of weft-edge (unused when nedges is 0) */
    int nedges;              /* edges to start (0: router only) */
    const char *router_args; /* extra router flags, whitespace-separated (may be NULL) */
    const char *edge_args;   /* extra edge flags, whitespace-separated (may be NULL) */
    const char *log_dir;     /* directory for the logs; NULL: a fresh one under $TMPDIR */
    int start_timeout_ms;    /* how long each daemon may take to log "ready:" */
    const char *auth_secret; /* HS256 secret file: edges run --auth jwt with it (NULL: none) */
} bench_fabric_conf_t;

/* Starts the router and the edges and waits until all are ready. NULL on failure (logged, with
 * the failing daemon's log). */
bench_fabric_t *bench_fabric_start(const bench_fabric_conf_t *conf, base_log_t *log);

/* Stops every daemon (SIGTERM, then SIGKILL after 5 s), removes the log directory unless
 * keep_logs, frees and nulls *self_p. NULL-safe. */
void bench_fabric_stop(bench_fabric_t **self_p, bool keep_logs);

/* The router's intake endpoint (for publishers). */
const char *bench_fabric_intake(const bench_fabric_t *self);

/* The router's fan-out endpoint. */
const char *bench_fabric_fanout(const bench_fabric_t *self);

/* The router's process id. */
pid_t bench_fabric_router_pid(const bench_fabric_t *self);

/* Edge i's process id and WebSocket port. */
pid_t bench_fabric_edge_pid(const bench_fabric_t *self, int i);
int bench_fabric_edge_port(const bench_fabric_t *self, int i);

/* The log directory. */
const char *bench_fabric_log_dir(const bench_fabric_t *self);

/* Soak mode: SIGKILLs edge i, reaps it, and starts a new edge in its slot (a fresh port and log
 * file edge-<i>.<n>.log), waiting until it is ready. Returns 0, or -1 when the new edge did not
 * start (logged). */
int bench_fabric_restart_edge(bench_fabric_t *self, int i);

/* Returns 0 while every daemon runs; -1 (and logs which one ended, with its log's tail) once
 * one has exited. */
int bench_fabric_check(bench_fabric_t *self);

#endif
