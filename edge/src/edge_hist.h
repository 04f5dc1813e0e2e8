/*
 * edge_hist.h: the edge's client of the router's history service (docs/protocol.md §2).
 *
 * One DEALER socket connects to the router's history ROUTER. It joins the lws loop like the SUB
 * socket, through edge_zloop.h: a dup() of its ZMQ_FD adopted as a raw file, drained while
 * ZMQ_EVENTS has ZMQ_POLLIN, a budget per pass continued from a zero-delay timer, and a fresh
 * look at ZMQ_EVENTS after every send.
 *
 * edge_hist_get() asks for a room's events after (epoch, after_seq) and returns a wait handle;
 * the callback runs once with the result, from the loop (never from inside edge_hist_get()).
 * Identical asks (same room, epoch, after_seq) pending at the same time share one request and
 * one decoded page (each event encoded once as an edge_frame_t). At most `inflight` requests are
 * outstanding; the rest wait in FIFO order. An attempt unanswered after `timeout_ms` is sent
 * again with the same id, `retries` times; then the callback gets EDGE_HIST_UNAVAILABLE. Replies
 * with an unknown or expired id, and malformed ones, are counted and dropped.
 *
 * A caller that goes away cancels its handle (edge_hist_cancel()), after which its callback
 * never runs: nothing here keeps pointers to callers beyond their handles.
 *
 * The frames are those of wire_hist.h, the one definition of the protocol, which the router
 * uses too. The result types below carry no lws type, so modules that only consume results
 * (edge_stream.h) include this header without libwebsockets.
 *
 * Used from the lws service thread only.
 */
#ifndef EDGE_HIST_H
#define EDGE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_frame.h"
#include "wire_curve.h"
#include "wire_hist.h"

struct lws_vhost;

typedef struct edge_hist edge_hist_t;
typedef struct edge_hist_wait edge_hist_wait_t;

/* How an ask ended: the router's four statuses (the same values as wire_hist_status_t), or the
 * edge's own verdict when no reply came after every retry. */
typedef enum edge_hstatus {
    EDGE_HIST_OK = WIRE_HIST_OK,                       /* events after after_seq (maybe none) */
    EDGE_HIST_EPOCH_CHANGED = WIRE_HIST_EPOCH_CHANGED, /* the asked epoch is not the current one */
    EDGE_HIST_TOO_OLD = WIRE_HIST_TOO_OLD,             /* needed events were evicted */
    EDGE_HIST_BAD_REQUEST = WIRE_HIST_BAD_REQUEST,     /* the router could not parse the request */
    EDGE_HIST_UNAVAILABLE = WIRE_HIST_STATUS__COUNT,   /* local: no answer after every retry */
    EDGE_HIST__COUNT
} edge_hstatus_t;

/* The reply's status block (wire_hist_block_t) as handed on, with the edge's status. */
typedef struct edge_hist_status {
    edge_hstatus_t status; /* the router's status, or EDGE_HIST_UNAVAILABLE */
    bool more;             /* the page was cut short: ask again from the last seq */
    uint64_t epoch;        /* the room's current epoch */
    uint64_t head;         /* the room's last stamped seq (0 when none in this epoch) */
    uint64_t first;        /* oldest seq still in history (head + 1 when it holds nothing) */
} edge_hist_status_t;

/* What an ask produced, as handed to whoever asked. */
typedef struct edge_hist_result {
    uint64_t req_epoch;         /* the epoch that was asked for */
    uint64_t req_after;         /* the after_seq that was asked for */
    edge_hist_status_t st;      /* the reply's status block (status UNAVAILABLE: the rest is 0) */
    const edge_event_t *events; /* count events, oldest first, each with its encoded frame */
    size_t count;               /* events in the page (only with EDGE_HIST_OK) */
} edge_hist_result_t;

/* Receives the result of an ask; result and its events are valid during the call only (take a
 * frame reference to keep one). The handle is already freed when this runs. */
typedef void(edge_hist_fn)(void *arg, const edge_hist_result_t *result);

/* Counters (plain data; the server's summary reads them). */
typedef struct edge_hist_stats {
    uint64_t asks;                      /* edge_hist_get() calls that were accepted */
    uint64_t coalesced;                 /* asks that joined an identical pending request */
    uint64_t queued;                    /* requests that waited for an in-flight slot */
    uint64_t sent;                      /* request messages sent, retries included */
    uint64_t send_errors;               /* sends ZeroMQ refused (the attempt then times out) */
    uint64_t timeouts;                  /* attempts unanswered within timeout_ms */
    uint64_t retries;                   /* attempts sent again after a timeout */
    uint64_t given_up;                  /* requests answered UNAVAILABLE after every retry */
    uint64_t replies[EDGE_HIST__COUNT]; /* replies used, by status */
    uint64_t replies_unknown;           /* replies with an unknown or expired id, dropped */
    uint64_t replies_bad;               /* malformed replies, dropped */
    uint64_t busy;                      /* busy replies (router's rate cap): retried on timeout */
    uint64_t events;                    /* history events received in used replies */
} edge_hist_stats_t;

/* Settings for edge_hist_new(). */
typedef struct edge_hist_opts {
    const char *endpoint; /* the router's history endpoint, e.g. tcp://127.0.0.1:5557 */
    void *zctx;           /* ZeroMQ context to create the socket in (borrowed; NULL = own one) */
    int timeout_ms;       /* per attempt */
    int retries;          /* further attempts after the first */
    int inflight;         /* requests outstanding at once (>= 1) */
    uint32_t page;        /* max_events per request (0 = the router's default) */
    unsigned budget;      /* replies per drain pass (0 = 64) */
    edge_hist_stats_t *stats; /* counters to add to (borrowed; NULL = kept inside) */
    base_log_t *log;          /* may be NULL */
    const wire_curve_keys_t *curve; /* CURVE client keys (borrowed; NULL = plain) */
} edge_hist_opts_t;

/* Stable name of a status: wire_hist_status_name() for the router's, "unavailable" for the
 * edge's own, "unknown" otherwise. */
const char *edge_hstatus_name(edge_hstatus_t status);

/* Creates the DEALER and connects it (in the background). NULL on error (logged). */
edge_hist_t *edge_hist_new(const edge_hist_opts_t *opts);

/* Frees every request and handle WITHOUT calling callbacks, closes the socket (and the context
 * when it is its own); call edge_hist_detach() first. Nulls *self_p. NULL-safe. */
void edge_hist_destroy(edge_hist_t **self_p);

/* Joins the DEALER to vhost's loop (which must list edge_zloop_protocol()). Timeouts and
 * drains need it. Returns 0, or -1 (logged). */
int edge_hist_attach(edge_hist_t *self, struct lws_vhost *vhost);

/* Stops using the lws loop (cancels timers). Call before lws_context_destroy(). */
void edge_hist_detach(edge_hist_t *self);

/*
 * Asks for room's events after (epoch, after). fn(arg, result) runs exactly once, later, unless
 * the handle is cancelled first. Returns the handle, or NULL when the room name is invalid or
 * memory ran out (then fn never runs).
 */
edge_hist_wait_t *edge_hist_get(edge_hist_t *self, const char *room, size_t len, uint64_t epoch,
                                uint64_t after, edge_hist_fn *fn, void *arg);

/* Withdraws an ask: its callback will not run. Nulls *wait_p; NULL-safe (also *wait_p NULL). */
void edge_hist_cancel(edge_hist_t *self, edge_hist_wait_t **wait_p);

/* The counters. */
const edge_hist_stats_t *edge_hist_stats(const edge_hist_t *self);

/* Requests sent and not yet answered. */
size_t edge_hist_inflight(const edge_hist_t *self);

/* Requests waiting for an in-flight slot. */
size_t edge_hist_queued(const edge_hist_t *self);

/* Attempts that timed out since the router's last reply (any reply resets it), and in *last_us
 * when the last one did (base_clock_us(); 0: never). For the edge's /ready. */
unsigned edge_hist_timeouts_in_a_row(const edge_hist_t *self, uint64_t *last_us);

#endif
