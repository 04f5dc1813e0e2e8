/*
 * rtr_server.h: weft-router's core: sockets, the event loop, validation, dedup, acks, stamping
 * and fan-out (docs/protocol.md §1).
 *
 * rtr_server_new() binds the intake XSUB, the fan-out XPUB and the history service's ROUTER
 * (rtr_hsvc.h, docs/protocol.md §2) and picks the epoch;
 * rtr_server_run() serves until rtr_server_stop() is called (from any thread) or a signal
 * arrives on the caller's signalfd, then sends the final acks and returns. main() owns signals;
 * tests run the loop in a thread and stop it with rtr_server_stop(), so there is no global state.
 *
 * Thread safety: rtr_server_stop() may be called from any thread at any time while the server
 * exists. Every other call belongs to one thread; rtr_server_stats() and the table accessors
 * must not be used while rtr_server_run() is running on another thread.
 */
#ifndef RTR_SERVER_H
#define RTR_SERVER_H

#include <stdint.h>

#include "rtr_config.h"
#include "rtr_history.h"
#include "rtr_pubs.h"
#include "rtr_rooms.h"
#include "rtr_stats.h"
#include "base_log.h"

typedef struct rtr_server rtr_server_t;

/*
 * Creates the server: a ZeroMQ context, the intake XSUB (subscribed to everything) bound at
 * conf->intake, the fan-out XPUB bound at conf->fanout, the history ROUTER bound at
 * conf->history, the history store sized by conf->history_*, and a random epoch in [1, 2^53).
 * conf is copied; log is borrowed and must outlive the server (NULL: silent). Logs the "ready"
 * line at notice level. Returns NULL, after logging why (e.g. an endpoint in use), on failure.
 */
rtr_server_t *rtr_server_new(const rtr_config_t *conf, base_log_t *log);

/* Closes the sockets (short linger), the context and every table; nulls *self_p. NULL-safe. */
void rtr_server_destroy(rtr_server_t **self_p);

/*
 * Serves until stopped. signal_fd: a signalfd (SIGTERM/SIGINT) to watch, or -1. On stop it sends
 * the final acks and logs a summary of the counters. Returns 0 on a requested stop, -1 when the
 * loop failed (logged).
 */
int rtr_server_run(rtr_server_t *self, int signal_fd);

/* Asks a running (or about to run) loop to stop. Thread-safe and async-signal-safe.
 * Returns 0, or -1 when the wake-up could not be written. */
int rtr_server_stop(rtr_server_t *self);

/* The endpoint the intake is bound to, as ZeroMQ resolved it (e.g. "tcp://127.0.0.1:40123"). */
const char *rtr_server_intake_endpoint(const rtr_server_t *self);

/* The endpoint the fan-out is bound to, as ZeroMQ resolved it. */
const char *rtr_server_fanout_endpoint(const rtr_server_t *self);

/* The endpoint the history service is bound to, as ZeroMQ resolved it. */
const char *rtr_server_history_endpoint(const rtr_server_t *self);

/* The epoch stamped on every event of this run. */
uint64_t rtr_server_epoch(const rtr_server_t *self);

/* Copies the counters (gauges included) into out. */
void rtr_server_stats(const rtr_server_t *self, rtr_stats_t *out);

/* The publisher table (liveness, heartbeat payloads), for presence and tests. */
const rtr_pubs_t *rtr_server_pubs(const rtr_server_t *self);

/* The room table, for history and tests. */
const rtr_rooms_t *rtr_server_rooms(const rtr_server_t *self);

/* The history store, for tests. */
const rtr_history_t *rtr_server_history(const rtr_server_t *self);

#endif
