/*
 * it_fabric.h: the shared harness of the fabric integration tests.
 *
 * An it_fabric_t is one private Weft fabric for one test program: a weft-router on three free
 * loopback ports (intake, fan-out, history) and any number of weft-edges (each connected to the
 * router's fan-out and history), optionally HAProxy in front of them, each a child process with
 * its own log file in a per-test directory. The binaries come from the environment that CTest sets
 * (WEFT_ROUTER_BIN, WEFT_EDGE_BIN, WEFT_PUB_BIN, WEFT_SIM_BIN, WEFT_EXAMPLE_BIN, WEFT_WWW_DIR).
 * When the test failed, it_fabric_destroy() prints every log; when it passed, it removes them.
 *
 * Also here: the "fence", which makes subscriptions deterministic. A client's "subscribed" reply
 * only means the edge has asked ZeroMQ for the room; the subscription reaches the router a moment
 * later, and events the router stamps before that are (correctly) never sent to that edge. The
 * fence subscribes one more client on the same edge to a fresh room and publishes probes into it
 * until one arrives. ZeroMQ carries one edge's subscriptions over one connection in order, so once
 * the router has the fence subscription it has every earlier one of that edge too.
 */
#ifndef IT_FABRIC_H
#define IT_FABRIC_H

#include "ts_proc.h"
#include "ts_wsc.h"

#include <stdint.h>
#include <weft.h>

#define IT_MAX_EDGES 4
#define IT_START_TIMEOUT_MS 20000 /* a daemon must be ready within this (ASan on 2 busy cores) */
#define IT_WAIT_MS 20000          /* default bound for waiting on deliveries */

typedef struct it_fabric it_fabric_t;

/* The path in environment variable var; aborts the test with a message when it is unset. */
const char *it_env(const char *var);

/* Creates the harness for the test named name (makes its log directory). Starts nothing. */
it_fabric_t *it_fabric_new(const char *name);

/*
 * Kills whatever still runs, prints every child's log to stderr when failed is nonzero (and keeps
 * the log directory), removes the logs otherwise, frees, nulls *self_p. NULL-safe.
 */
void it_fabric_destroy(it_fabric_t **self_p, int failed);

/* Starts the router (on the same ports as before when restarting) and waits for "ready:".
 * extra: NULL-terminated additional arguments, or NULL. Returns 0 or -1. */
int it_fabric_start_router(it_fabric_t *self, const char *const *extra);

/* Sends sig to the router and waits for it to exit. Returns its exit code, -1 if not running. */
int it_fabric_signal_router(it_fabric_t *self, int sig);

/* The router's process (NULL before start or after it was stopped by it_fabric_signal_router). */
ts_proc_t *it_fabric_router(it_fabric_t *self);

/* Starts an edge named edge_id and waits for "ready:" and its port. extra: as for the router.
 * Returns the edge's index (0, 1, ...) or -1. */
int it_fabric_start_edge(it_fabric_t *self, const char *edge_id, const char *const *extra);

/* Starts edge idx again, on the same port, after its process exited (SIGTERM or SIGKILL and
 * ts_proc_wait). The old process stays for the logs. Returns 0 or -1. */
int it_fabric_restart_edge(it_fabric_t *self, int idx, const char *edge_id,
                           const char *const *extra);

/*
 * Starts HAProxy (WEFT_HAPROXY_BIN) with the repository's deploy/haproxy.cfg (WEFT_HAPROXY_CFG)
 * in front of every edge started so far, changed only in its addresses: the file reads them
 * from the environment, and one "server" line is added per edge beyond the two it names.
 * Returns HAProxy's port once it listens, or -1.
 */
int it_fabric_start_haproxy(it_fabric_t *self);

/*
 * Starts nginx (WEFT_NGINX_BIN, one foreground process) with the repository's deploy/nginx.conf
 * (WEFT_NGINX_CFG) in front of every edge started so far, changed only in its addresses (the
 * listen port and one upstream server line per edge). Returns nginx's port or -1.
 */
int it_fabric_start_nginx(it_fabric_t *self);

/* The WebSocket port of edge idx. */
int it_fabric_edge_port(const it_fabric_t *self, int idx);

/* The edge's process. */
ts_proc_t *it_fabric_edge(it_fabric_t *self, int idx);

/* "tcp://127.0.0.1:<intake port>", for publishers. */
const char *it_fabric_intake(const it_fabric_t *self);

/* "tcp://127.0.0.1:<fan-out port>". */
const char *it_fabric_fanout(const it_fabric_t *self);

/* "tcp://127.0.0.1:<history port>": the router's history service (edges connect here). */
const char *it_fabric_history(const it_fabric_t *self);

/* The per-test directory for logs and scratch files. */
const char *it_fabric_dir(const it_fabric_t *self);

/* Starts an extra child (e.g. weft-pub, weft-sim) whose log lives with the others and is printed
 * on failure. The harness owns it. Returns it or NULL. */
ts_proc_t *it_fabric_spawn(it_fabric_t *self, const char *name, char *const argv[],
                           const char *stdin_path);

/* Stops every edge, then the router, with SIGTERM; returns 0 when all exited with code 0. */
int it_fabric_stop_all(it_fabric_t *self);

/*
 * Makes sure the router has every subscription edge idx has asked for so far (see the banner).
 * Connects a fence client to the edge through wsc, subscribes it to a fresh room, publishes a probe
 * every 100 ms through pub until one arrives, then closes the fence client. Returns 0 or -1.
 */
int it_fence(it_fabric_t *self, int idx, ts_wsc_t *wsc, weft_pub_t *pub, int timeout_ms);

/* Publishes one event and fails loudly (returns -1 with a message) if weft_publish refused it. */
int it_publish(weft_pub_t *pub, const char *room, const char *type, const char *json);

/*
 * Checks that frame is an event of room with type and a data object equal to data (compared as
 * JSON). Returns 0, or -1 with a message naming the difference.
 */
int it_check_event(json_t *frame, const char *room, const char *type, json_t *data);

/* The event's integer field (seq, epoch, ts), or 0 when absent. */
uint64_t it_event_u64(json_t *frame, const char *field);

#endif
