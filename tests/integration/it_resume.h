/*
 * it_resume.h: what the resume integration tests share (label "resume").
 *
 * A *pacer* is a publisher thread: it publishes `total` events at a steady rate, round robin over
 * `nrooms` rooms named "<prefix>:00", "<prefix>:01", ..., each with the payload
 * {"r":<room>,"n":<per-room counter, 1, 2, ...>,"k":<global index>}, and remembers when it
 * published each one. The counter n lets a client check content, not only seqs: with one
 * publisher and one router epoch the router stamps event n of a room with seq n.
 *
 * A *crowd* is a set of resume clients (tests/support/ts_wsc.h resume mode) connected to one
 * port (an edge or HAProxy), each joined to some of the pacer's rooms, optionally reconnecting to
 * that port by themselves after a randomized backoff. The crowd waits until every client has
 * caught up with the pacer, checks every client's stream of every room, and measures how long
 * clients took to recover after a moment (a killed edge).
 *
 * Used from the test's main thread, except the pacer's own thread.
 */
#ifndef IT_RESUME_H
#define IT_RESUME_H

#include "it_fabric.h"

#include <stddef.h>
#include <stdint.h>

typedef struct it_pacer it_pacer_t;
typedef struct it_crowd it_crowd_t;

/*
 * Creates the publisher (a weft_pub_t on endpoint) that will publish total events at rate per
 * second over nrooms rooms of prefix; it_pacer_start() starts the thread. weft_publish() may
 * block up to 10 s for buffer space, so a router restart slows it down instead of refusing
 * events. Returns NULL on failure.
 */
it_pacer_t *it_pacer_new(const char *endpoint, const char *prefix, int nrooms, int total, int rate);

/* Starts publishing (once). Returns 0 or -1. */
int it_pacer_start(it_pacer_t *self);

/* Events published so far (any thread). */
int it_pacer_progress(const it_pacer_t *self);

/* 1 once every event was handed to weft_publish(). */
int it_pacer_done(const it_pacer_t *self);

/* The name of room r ("<prefix>:%02d"). */
const char *it_pacer_room(const it_pacer_t *self, int r);

/* Number of rooms. */
int it_pacer_rooms(const it_pacer_t *self);

/* Events the pacer publishes into room r in total (its last n). */
int64_t it_pacer_room_total(const it_pacer_t *self, int r);

/* base_clock_ms() when event n (1-based) of room r was published; UINT64_MAX if not yet. */
uint64_t it_pacer_time(const it_pacer_t *self, int r, int64_t n);

/*
 * Joins the thread, closes the publisher after waiting up to flush_ms for every ack, copies its
 * final counters (lost included) to *stats (may be NULL) and returns the count of events
 * weft_publish() refused plus 1 when events were lost (0 is success).
 */
int it_pacer_finish(it_pacer_t *self, int flush_ms, weft_pub_stats_t *stats);

/* Destroys the publisher (after it_pacer_finish, or to abort), frees self, nulls *self_p. */
void it_pacer_destroy(it_pacer_t **self_p);

/*
 * Connects nclients resume clients to port, named "<name> <i>"; client i joins rooms_per_client
 * rooms of pacer (see it_resume.c for the spread). With reconnect nonzero, each client
 * reconnects to the same port 50..500 ms after any close it did not ask for (weft.js's first
 * backoff step). Returns NULL on failure.
 */
it_crowd_t *it_crowd_new(ts_wsc_t *wsc, const it_pacer_t *pacer, const char *name, int nclients,
                         int port, int rooms_per_client, int reconnect);

/* Frees the crowd (not the connections: they belong to wsc), nulls *self_p. NULL-safe. */
void it_crowd_destroy(it_crowd_t **self_p);

/* Waits until every client is open and every subscribe is answered. 0 or -1 (with a message). */
int it_crowd_wait_joined(it_crowd_t *self, int timeout_ms);

/* Number of clients. */
int it_crowd_size(const it_crowd_t *self);

/* Client i. */
ts_wsc_conn_t *it_crowd_client(const it_crowd_t *self, int i);

/* Services the client context for ms milliseconds (every client makes progress). */
void it_crowd_service(it_crowd_t *self, int ms);

/*
 * Waits until every client is open, has no unanswered subscribe, and has received the pacer's
 * last event (its n) of each of its rooms. 0, or -1 naming the first laggard.
 */
int it_crowd_wait_caught_up(it_crowd_t *self, int timeout_ms);

/* What it_crowd_check() demands of every stream. */
typedef enum it_expect {
    IT_EXPECT_GAPLESS,   /* one epoch: seq 1..total, n == seq, every resume recovered:true */
    IT_EXPECT_NEW_EPOCH, /* router restart: seq 1.. in the first epoch, then recovered:false
                            epoch_changed into new_epoch, then new_epoch's events to the end */
} it_expect_t;

/*
 * Checks every client's stream of every room (ts_wsc_check_room plus the expectation). For
 * IT_EXPECT_NEW_EPOCH, old_epoch and new_epoch are the two routers' epochs. Prints each failure
 * (the first 20) and returns their number.
 */
int it_crowd_check(it_crowd_t *self, it_expect_t expect, uint64_t old_epoch, uint64_t new_epoch);

/* How the crowd recovered from a moment (it_crowd_recovery). */
typedef struct it_recovery {
    int clients;           /* clients that lost their connection after the moment */
    int reconnects;        /* connection attempts of those clients beyond their first (in all) */
    uint64_t resubscribed; /* ms from the moment until the last of them had recovered:true */
    uint64_t settled;      /* ms from the moment until the last of them had caught up to live */
    uint64_t median;       /* median over those clients of their own caught-up time */
} it_recovery_t;

/*
 * Measures recovery from the moment t0_ms (ts_now_ms of the kill): for each client closed after
 * t0_ms, when every room's resume answer arrived, and when it then received an event published
 * after that answer ("caught up to live"). Call after it_crowd_wait_caught_up.
 */
void it_crowd_recovery(it_crowd_t *self, uint64_t t0_ms, it_recovery_t *out);

/* Reads the "epoch=" of the router's latest ready line, or 0. */
uint64_t it_router_epoch(it_fabric_t *fab);

/* Sends SIGKILL to edge idx and reaps it. Returns 0 or -1. */
int it_kill_edge(it_fabric_t *fab, int idx);

/* The first step of a scenario: starts the router (extra flags router_args, NULL-terminated, or
 * NULL) and nedges edges "edge-1", "edge-2", ..., reads the router's epoch, and creates the
 * client context and the publisher used for fences. Returns 0, or -1 (logged) on any failure. */
int it_scenario_start(it_fabric_t *fab, const char *const *router_args, int nedges, uint64_t *epoch,
                      ts_wsc_t **wsc, weft_pub_t **fencer);

/* The last step of a scenario: stops the publisher (*pub, and *pacer when not NULL), then every
 * daemon. Returns it_fabric_stop_all()'s result (0: all stopped cleanly). */
int it_scenario_end(it_fabric_t *fab, weft_pub_t **pub, it_pacer_t **pacer);

/* Frees what a scenario's main() holds, whatever step it reached (NULL-safe, nulls each):
 * ncrowds crowds, the pacer, the publisher, the client context and the fabric, which keeps its
 * logs when failed. */
void it_scenario_free(it_fabric_t **fab, ts_wsc_t **wsc, weft_pub_t **pub, it_pacer_t **pacer,
                      it_crowd_t **crowds, int ncrowds, int failed);

#endif
