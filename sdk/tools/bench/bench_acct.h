/*
 * bench_acct.h: the accounting side of a weft-bench worker, shared by the WebSocket clients and
 * the router-only ZeroMQ subscriber.
 *
 * A worker receives events on streams (one stream per client connection, or per room for the
 * raw subscriber); each stream belongs to one room. This module keeps every stream's position
 * (bench_seq.h), counts deliveries, losses and duplicates, records latency for events published
 * inside the measured window, and speaks the worker's half of the protocol with the parent
 * through the shared control block (bench_shared.h): it starts a fresh result at each new run,
 * tracks how many streams still lack events while the parent drains, and publishes the result
 * when the parent finishes the run.
 *
 * Single-threaded: one worker, one accountant.
 */
#ifndef BENCH_ACCT_H
#define BENCH_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_shared.h"

typedef struct bench_acct bench_acct_t;

/* Creates the accountant of worker slot `worker` for nstreams streams; stream i belongs to room
 * stream_room[i] (copied). Every stream starts not alive. NULL on OOM. */
bench_acct_t *bench_acct_new(bench_ctl_t *ctl, int worker, size_t nstreams,
                             const uint32_t *stream_room);

/* Frees it and nulls *self_p. NULL-safe. */
void bench_acct_destroy(bench_acct_t **self_p);

/* The result being accumulated for the current run (the caller bumps frame and error
 * counters in it directly). */
bench_result_t *bench_acct_result(bench_acct_t *self);

/* Marks stream alive (its subscription was confirmed): it now counts as subscribed. */
void bench_acct_alive(bench_acct_t *self, size_t stream);

/* Marks stream dead (its connection closed). Its missing events count at the end of the run. */
void bench_acct_dead(bench_acct_t *self, size_t stream);

/* Forgets stream's position before it subscribes again on a new connection (without a cursor,
 * so its first event starts a new position). */
void bench_acct_restart(bench_acct_t *self, size_t stream);

/* Accounts one event of stream: now_ns is the receive time (CLOCK_REALTIME); critical: the
 * event was flagged critical (its latency also goes to the critical histogram). */
void bench_acct_event(bench_acct_t *self, size_t stream, uint64_t epoch, uint64_t seq,
                      uint64_t ts_ns, uint64_t now_ns, bool critical);

/* Accounts a recovered:false notice for stream. */
void bench_acct_notice(bench_acct_t *self, size_t stream, uint64_t epoch, uint64_t seq);

/* Accounts one received frame (batch: a "batch" frame) at now_ns. */
void bench_acct_frame(bench_acct_t *self, bool batch, uint64_t now_ns);

/*
 * Follows the parent: starts a new result when a new run begins, computes the pending count when
 * the parent starts draining, adds the missing events and publishes the result when the parent
 * finishes a run, and stores the gauges. Call it once per loop iteration. Cheap when nothing
 * changed (a few atomic loads).
 */
void bench_acct_tick(bench_acct_t *self);

#endif
