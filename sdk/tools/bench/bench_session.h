/*
 * bench_session.h: one weft-bench session: the fabric under test, the client workers, the
 * publisher, and the measured runs.
 *
 * A session resolves or spawns the fabric, names fresh rooms (bench-<tag>-<i>), forks the client
 * worker processes (bench_client.h, or one bench_zsub.h subscriber in router mode), connects and
 * subscribes every client, and "fences" the rooms: it publishes one bench.fence event into every
 * room every 100 ms until every client has received one, which proves every subscription has
 * reached the router. Runs then reuse the same connections: each publishes at a rate for warmup +
 * duration seconds, samples CPU and memory at both ends of the measured window, waits for the
 * last events (drain) and collects the workers' results into one bench_sample_t. Clients the edge
 * closed during a run are reconnected (and fenced again) before the next one.
 */
#ifndef BENCH_SESSION_H
#define BENCH_SESSION_H

#include <signal.h>
#include <stdbool.h>

#include "bench_opts.h"
#include "bench_report.h"
#include "base_log.h"

typedef struct bench_session bench_session_t;

/* Sets up everything up to the forked workers (no connection yet). stop is polled in every wait
 * (set by the caller's signal handler). NULL on failure (logged). */
bench_session_t *bench_session_new(const bench_opts_t *opts, base_log_t *log,
                                   volatile sig_atomic_t *stop);

/* Connects and subscribes every client, records the edges' idle memory, and (unless idle mode)
 * fences the rooms. Returns 0, or -1 when it could not (logged). */
int bench_session_prepare(bench_session_t *self);

/* Runs once at rate events per second and fills out. Returns 0, or -1 when the run could not be
 * completed (a daemon or worker died, a signal). */
int bench_session_run(bench_session_t *self, double rate, bench_sample_t *out);

/* Idle mode: waits --warmup seconds and fills out with the memory figures. 0 or -1. */
int bench_session_idle(bench_session_t *self, bench_sample_t *out);

/* Stops the workers, the publisher and any spawned daemons, frees, nulls *self_p. The daemons'
 * logs are kept when failed (or --keep-logs). NULL-safe. */
void bench_session_destroy(bench_session_t **self_p, bool failed);

#endif
