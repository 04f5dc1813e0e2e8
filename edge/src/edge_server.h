/*
 * edge_server.h: the weft-edge server: one lws context serving the browser page at / and the
 * client protocol at /ws, fed by the router through edge_zmq, fanning events out through
 * edge_rooms into each connection's bounded edge_outq.
 *
 * Everything runs on the thread that calls edge_server_run() (one lws service thread).
 */
#ifndef EDGE_SERVER_H
#define EDGE_SERVER_H

#include "edge_config.h"
#include "edge_stats.h"
#include "base_log.h"

typedef struct edge_server edge_server_t;

/*
 * Creates the server: ZeroMQ SUB and history DEALER sockets (connecting in the background), lws
 * context listening
 * on conf->port, static files from conf->www. conf and log are borrowed and must outlive the
 * server. signal_fd is -1 or a signalfd the server adopts (and closes, even on failure): when
 * it reports SIGHUP the server reloads its TLS certificate files, any other signal stops it
 * gracefully. The caller must block the signals it wants
 * read that way before this call, because ZeroMQ's I/O threads inherit the mask.
 * Returns NULL on failure (logged).
 */
edge_server_t *edge_server_new(const edge_config_t *conf, base_log_t *log, int signal_fd);

/* Serves until stopped. Returns 0 after a graceful stop, -1 when the loop failed. */
int edge_server_run(edge_server_t *self);

/*
 * Starts a graceful stop: every client is closed with 1001 "edge shutting down", then the loop
 * ends (at the latest after a short grace period). A second call ends the loop at once.
 * Service thread only (the signalfd is how other contexts ask for it).
 */
void edge_server_stop(edge_server_t *self);

/* The port actually listened on (useful with port 0). */
int edge_server_port(const edge_server_t *self);

/* The counters (refreshed from the modules that keep their own). */
const edge_stats_t *edge_server_stats(edge_server_t *self);

/* Closes every connection, frees everything and nulls *self_p. NULL-safe. */
void edge_server_destroy(edge_server_t **self_p);

#endif
