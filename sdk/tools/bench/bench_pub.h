/*
 * bench_pub.h: the paced publisher of weft-bench, on libweft or on a raw ZeroMQ socket.
 *
 * A pacing thread publishes at a fixed rate: every millisecond (an absolute clock_nanosleep
 * deadline, so the time spent publishing does not slow the rate down) it publishes the events
 * that are due, in one burst, rooms round-robin, spread over one or several weft_pub_t. Event k
 * goes to room k % nrooms through publisher k % npubs. The payload is {"pad":"xxx..."} padded to
 * the requested size and built once; libweft stamps each event with the publish time ("ts"),
 * which the clients compare with their receive time.
 *
 * With critical_every N > 0, every Nth bench.ev event of each room is published with priority
 * critical (WEFT_CRITICAL: envelope flag bit 0), so the edge sends it at once, as its own event
 * frame, even when bench.ev is batched. Counting per room (event k is the (k / nrooms)-th of its
 * room) keeps every room at 1 in N; counting k itself would put all of them into one room
 * whenever N is a multiple of the number of rooms. With one room it is exactly every Nth event.
 *
 * It counts the events each room has received: the bench names fresh rooms for every run, so
 * that count is also the room's last seq at the router once every event is acknowledged.
 *
 * The raw publisher (--publisher raw) is a load generator for measuring the router alone: libweft
 * validates every payload with jansson, queues it under a mutex and hands it to its I/O thread,
 * which costs about as much CPU as the router spends on the event. The raw publisher speaks the
 * same protocol (docs/protocol.md) with none of that: for each weft_pub_t it would have made it
 * connects one XPUB to the intake with libweft's options (ZMQ_XPUB_NODROP, ZMQ_XPUB_VERBOSER,
 * ZMQ_IMMEDIATE), waits for the router's subscription (an XPUB drops messages nobody subscribed
 * to), and sends three-frame messages whose topics, payload and headers were encoded once with
 * the wire codec: per event only the publisher seq (1, 2, 3 ... per session, so that the router's
 * dedup accepts each once) and the timestamp are written into the header. Its id and random
 * session are its own. It reads the router's acks between bursts, and flushing waits until they
 * cover the last seq sent. There is no resend: a send that meets the high-water mark is refused
 * (counted like WEFT_EFULL), and a router that restarts loses what it had not acknowledged.
 */
#ifndef BENCH_PUB_H
#define BENCH_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "bench_opts.h"
#include "wire_curve.h"

typedef struct bench_pub bench_pub_t;

/* Counters of the publisher. */
typedef struct bench_pub_counts {
    uint64_t published;  /* accepted by weft_publish (fence events included) */
    uint64_t critical;   /* of those, published with priority critical */
    uint64_t refused;    /* refused with WEFT_EFULL: the router did not keep up */
    uint64_t errors;     /* refused for any other reason */
    uint64_t max_behind; /* most events that were due but not yet published at a tick */
} bench_pub_counts_t;

/* Which publisher. */
typedef enum bench_pub_kind {
    BENCH_PUB_LIBWEFT = 0, /* weft_pub_t */
    BENCH_PUB_RAW,         /* pre-encoded envelopes on a plain XPUB (see above) */
} bench_pub_kind_t;

/* How to publish. */
typedef struct bench_pub_conf {
    const char *intake;      /* the router's intake endpoint */
    int npubs;               /* publishers (sockets) taking turns, 1..16 */
    char *const *rooms;      /* room names (borrowed: the caller keeps them alive) */
    size_t nrooms;           /* at least 1 */
    size_t payload;          /* bytes of each event's JSON payload */
    bench_pub_kind_t kind;   /* libweft or raw */
    int connect_timeout_ms;  /* raw: how long to wait for the router's subscription */
    unsigned critical_every; /* every Nth bench.ev event of a room is critical (0: none) */
    const wire_curve_keys_t *curve; /* CURVE client keys (borrowed; NULL: plain) */
} bench_pub_conf_t;

/* Creates the publishers. NULL on failure (logged). */
bench_pub_t *bench_pub_new(const bench_pub_conf_t *conf, base_log_t *log);

/* Creates the publishers weft-bench's settings ask for (--publishers, --payload, --publisher,
 * --start-timeout, --critical-every) on intake for rooms, with CURVE keys (borrowed; NULL:
 * plain). NULL on failure (logged). */
bench_pub_t *bench_pub_from_opts(const bench_opts_t *o, const char *intake, char *const *rooms,
                                 size_t nrooms, const wire_curve_keys_t *curve, base_log_t *log);

/* Stops the pacing thread if it runs, destroys the publishers (waiting for acks up to their
 * linger) and nulls *self_p. NULL-safe. */
void bench_pub_destroy(bench_pub_t **self_p);

/* Publishes one "bench.fence" event into every room, at once. Returns 0 or -1. */
int bench_pub_fence(bench_pub_t *self);

/* Starts publishing "bench.ev" events at rate events per second. Returns 0 or -1. */
int bench_pub_start(bench_pub_t *self, double rate);

/* Stops the pacing thread (joins it). NULL-safe, harmless when not started. */
void bench_pub_stop(bench_pub_t *self);

/* Waits until every publisher's events are acknowledged, at most timeout_ms. 0 or -1. */
int bench_pub_flush(bench_pub_t *self, int timeout_ms);

/* Events accepted so far into room (cumulative). Call while the pacing thread is stopped. */
uint64_t bench_pub_room_total(const bench_pub_t *self, size_t room);

/* Events accepted so far, all rooms (readable while the pacing thread runs). */
uint64_t bench_pub_published(const bench_pub_t *self);

/* Events the router has acknowledged so far, all publishers together (libweft: their stats;
 * raw: the acks its pacing thread and flush read, so call it once the thread is stopped). */
uint64_t bench_pub_acked(bench_pub_t *self);

/* Copies the counters. */
void bench_pub_counts(const bench_pub_t *self, bench_pub_counts_t *out);

#endif
