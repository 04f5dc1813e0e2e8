/*
 * bench_pub.h: the paced publisher of weft-bench, on libweft.
 *
 * A pacing thread publishes at a fixed rate: every millisecond (an absolute clock_nanosleep
 * deadline, so the time spent publishing does not slow the rate down) it publishes the events
 * that are due, in one burst, rooms round-robin, spread over one or several weft_pub_t. Event k
 * goes to room k % nrooms through publisher k % npubs. The payload is {"pad":"xxx..."} padded to
 * the requested size and built once; libweft stamps each event with the publish time ("ts"),
 * which the clients compare with their receive time.
 *
 * It counts the events each room has received: the bench names fresh rooms for every run, so
 * that count is also the room's last seq at the router once every event is acknowledged.
 */
#ifndef BENCH_PUB_H
#define BENCH_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "wire_log.h"

typedef struct bench_pub bench_pub_t;

/* Counters of the publisher. */
typedef struct bench_pub_counts {
    uint64_t published;  /* accepted by weft_publish (fence events included) */
    uint64_t refused;    /* refused with WEFT_EFULL: the router did not keep up */
    uint64_t errors;     /* refused for any other reason */
    uint64_t max_behind; /* most events that were due but not yet published at a tick */
} bench_pub_counts_t;

/* Creates npubs publishers connected to intake for rooms (copied pointers: the caller keeps the
 * names alive) with payloads of payload bytes. NULL on failure (logged). */
bench_pub_t *bench_pub_new(const char *intake, int npubs, char *const *rooms, size_t nrooms,
                           size_t payload, wire_log_t *log);

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

/* Copies the counters. */
void bench_pub_counts(const bench_pub_t *self, bench_pub_counts_t *out);

#endif
