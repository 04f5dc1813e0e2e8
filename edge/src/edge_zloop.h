/*
 * edge_zloop.h: one ZeroMQ socket serviced from the lws event loop.
 *
 * The edge's ZeroMQ sockets (the SUB of edge_zmq.h, its monitor, the history DEALER of
 * edge_hist.h) join the lws loop the same way, and this module is that way, written once:
 *
 *  - A dup() of the socket's ZMQ_FD is adopted as an lws raw file (lws closes an adopted fd when
 *    its wsi closes, and the real ZMQ_FD belongs to libzmq). Every zloop uses the one raw-file
 *    protocol edge_zloop_protocol(); the wsi's opaque user data says which zloop it is.
 *  - ZMQ_FD is edge-triggered: after a wake-up the owner's recv_one() runs while ZMQ_EVENTS has
 *    ZMQ_POLLIN, at most `budget` times per pass so that clients keep being served; when the
 *    budget runs out the pass continues from an lws_sul timer at zero delay, because the fd may
 *    never fire again for messages already queued.
 *  - Any send on the socket (a SUBSCRIBE counts as one) can consume the fd's edge: the owner
 *    calls edge_zloop_kick() after sending, which looks at ZMQ_EVENTS and schedules a pass if
 *    input is waiting (never draining inline: the caller may be in the middle of its work).
 *
 * Used from the lws service thread only. The zloop never closes the ZeroMQ socket.
 */
#ifndef EDGE_ZLOOP_H
#define EDGE_ZLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "base_log.h"

typedef struct edge_zloop edge_zloop_t;

/* Receives and handles one message without blocking: 1 when one was handled, 0 when none was
 * waiting, -1 on an error (logged by the owner). A pass stops at anything but 1. */
typedef int(edge_zloop_recv_fn)(void *arg);

/* Runs at the start of every pass, before any recv_one() (may be NULL). */
typedef void(edge_zloop_pass_fn)(void *arg);

/* Asked after a pass that handled messages: microseconds to leave the socket unread (0: read
 * as soon as input comes). Meanwhile the loop does not watch the fd, so input wakes nobody. */
typedef int64_t(edge_zloop_holdoff_fn)(void *arg);

/* Settings for edge_zloop_new(). `done` runs at the end of every pass that handled at least one
 * message, also one cut short by the budget: the owner writes out what the pass produced there,
 * so output never waits behind a backlog of input. */
typedef struct edge_zloop_opts {
    void *zsock;                    /* the ZeroMQ socket (not owned) */
    const char *what;               /* its name in logs, e.g. "zmq" or "history" (static) */
    unsigned budget;                /* recv_one() calls per pass (0 = 256) */
    edge_zloop_recv_fn *recv_one;   /* message handler */
    edge_zloop_pass_fn *pass;       /* start-of-pass hook (may be NULL) */
    edge_zloop_pass_fn *done;       /* end-of-pass hook, after the last recv_one() (may be NULL) */
    edge_zloop_holdoff_fn *holdoff; /* pause after a pass (may be NULL: never) */
    void *arg;                      /* for recv_one, pass and done */
    base_log_t *log;                /* may be NULL */
} edge_zloop_opts_t;

/* Creates a detached zloop. NULL on OOM. */
edge_zloop_t *edge_zloop_new(const edge_zloop_opts_t *opts);

/* Detaches (see edge_zloop_detach) and frees; nulls *self_p. NULL-safe. */
void edge_zloop_destroy(edge_zloop_t **self_p);

/* The raw-file protocol every zloop's wsi uses: list it once in the vhost's protocols. */
const struct lws_protocols *edge_zloop_protocol(void);

/* Adopts a dup() of ZMQ_FD into vhost (which must list edge_zloop_protocol()) and schedules a
 * pass for whatever is already waiting. Returns 0, or -1 (logged). */
int edge_zloop_attach(edge_zloop_t *self, struct lws_vhost *vhost);

/* Stops using the lws loop: cancels a scheduled pass and forgets the context and the wsi (which
 * lws closes with its context). Call before lws_context_destroy(). NULL-safe. */
void edge_zloop_detach(edge_zloop_t *self);

/* Runs a pass now (no-op when one is running: recv_one() may cause a kick). */
void edge_zloop_drain(edge_zloop_t *self);

/* After a send on the socket: schedules a pass when input is waiting. */
void edge_zloop_kick(edge_zloop_t *self);

/* True when ZMQ_EVENTS reports input. Reading ZMQ_EVENTS also processes the socket's pending
 * commands, which is what re-arms ZMQ_FD. Errors are logged (rate-limited) and read as false. */
bool edge_zloop_has_input(edge_zloop_t *self);

/* The lws context it is attached to, or NULL when detached. */
struct lws_context *edge_zloop_context(const edge_zloop_t *self);

/* Messages handled (recv_one() returned 1) since creation. */
uint64_t edge_zloop_received(const edge_zloop_t *self);

/* Passes that ran out of budget and were continued from the timer. */
uint64_t edge_zloop_exhausted(const edge_zloop_t *self);

#endif
