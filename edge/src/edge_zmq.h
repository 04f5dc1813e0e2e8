/*
 * edge_zmq.h: the edge's ZeroMQ SUB socket, serviced from the lws event loop.
 *
 * One SUB socket connects to the router's fan-out XPUB and joins the lws loop through
 * edge_zloop.h (a dup()ed ZMQ_FD adopted as a raw file, drained with a budget per pass, and
 * ZMQ_EVENTS checked again after every SUBSCRIBE/UNSUBSCRIBE, which count as sends).
 *
 * The connection to the router is watched with zmq_socket_monitor(): an inproc PAIR receives
 * the SUB's CONNECTED and DISCONNECTED events and joins the loop the same way (its events are
 * also read at the start of every pass over the SUB). Each CONNECTED calls on_connect, so the
 * owner can check what it missed while disconnected; the SUB resends its subscriptions itself.
 *
 * Used from the lws service thread only.
 */
#ifndef EDGE_ZMQ_H
#define EDGE_ZMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "edge_zloop.h"

#include "base_log.h"
#include "wire_curve.h"

typedef struct edge_zmq edge_zmq_t;

/* One received message: up to the first three frames, and how many frames it had. */
typedef struct edge_zmq_msg {
    const void *part[3]; /* frame data (valid during the callback only) */
    size_t len[3];       /* frame sizes */
    int nparts;          /* frames in the message (may exceed 3: then only 3 are shown) */
} edge_zmq_msg_t;

/* Called for every message received. */
typedef void(edge_zmq_msg_fn)(void *arg, const edge_zmq_msg_t *msg);

/* Called when the SUB (re)connected to the router (n: how many connects so far, from 1). */
typedef void(edge_zmq_connect_fn)(void *arg, uint64_t n);

/* Called at the end of a pass over the SUB that handled at least one message. */
typedef void(edge_zmq_pass_end_fn)(void *arg);

/* Settings for edge_zmq_new(). */
typedef struct edge_zmq_opts {
    const char *endpoint;              /* router fan-out endpoint, e.g. tcp://127.0.0.1:5556 */
    int rcvhwm;                        /* ZMQ_RCVHWM (0 = unlimited) */
    int sndhwm;                        /* ZMQ_SNDHWM (0 = unlimited; see edge_config.c for why) */
    unsigned budget;                   /* messages per drain pass (0 = 256) */
    edge_zmq_msg_fn *on_msg;           /* message handler */
    edge_zmq_connect_fn *on_connect;   /* connection handler (may be NULL) */
    edge_zmq_pass_end_fn *on_pass_end; /* end of a pass with messages (may be NULL) */
    edge_zloop_holdoff_fn *holdoff;    /* pause reading after a pass (may be NULL) */
    void *arg;                         /* for on_msg, on_connect and on_pass_end */
    base_log_t *log;                   /* may be NULL */
    const char *curve_server;          /* CURVE: router's public key or cert (NULL/"" = off) */
    const char *curve_cert;            /* CURVE: this edge's secret certificate file */
} edge_zmq_opts_t;

/* Creates a ZeroMQ context and a SUB socket connected to opts->endpoint, a CURVE client when
 * opts->curve_server and curve_cert are set (a loosely protected secret file is warned about).
 * NULL on error (logged). */
edge_zmq_t *edge_zmq_new(const edge_zmq_opts_t *opts);

/* Closes the socket and the ZeroMQ context; call edge_zmq_detach() first. Nulls *self_p. */
void edge_zmq_destroy(edge_zmq_t **self_p);

/* Joins the SUB and its monitor to vhost's loop (which must list edge_zloop_protocol()) and
 * drains whatever is already waiting. Returns 0, or -1 (logged). */
int edge_zmq_attach(edge_zmq_t *self, struct lws_vhost *vhost);

/* Stops using the lws loop: cancels a pending drain and forgets the context. Call before
 * lws_context_destroy(); later subscribe/unsubscribe calls still work but schedule nothing. */
void edge_zmq_detach(edge_zmq_t *self);

/* Adds a subscription (a topic prefix, len 0 = everything). Returns 0, or -1 (logged). */
int edge_zmq_subscribe(edge_zmq_t *self, const void *topic, size_t len);

/* Removes a subscription added with the same bytes. Returns 0, or -1 (logged). */
int edge_zmq_unsubscribe(edge_zmq_t *self, const void *topic, size_t len);

/* The ZeroMQ context (to create further sockets in; owned by self). */
void *edge_zmq_context(const edge_zmq_t *self);

/* The CURVE client keys, for the other sockets to the router (edge_hist); NULL when off. */
const wire_curve_keys_t *edge_zmq_curve(const edge_zmq_t *self);

/* Messages received since creation. */
uint64_t edge_zmq_received(const edge_zmq_t *self);

/* Drain passes that ran out of budget and were continued from a timer. */
uint64_t edge_zmq_budget_exhausted(const edge_zmq_t *self);

/* Connections and disconnections the monitor reported. */
uint64_t edge_zmq_connects(const edge_zmq_t *self);
uint64_t edge_zmq_disconnects(const edge_zmq_t *self);

#endif
