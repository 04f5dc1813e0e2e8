/*
 * bench_soak.h: weft-bench --mode soak: a realistic mix held for a long time, with the memory and
 * descriptors of every process sampled over it (docs/performance.md "Soak").
 *
 * The soak spawns a private router and --edges edges (bench_fabric.h) and publishes at --rate
 * events per second round-robin over --rooms rooms (bench_pub.h) for --duration seconds, while
 * --clients WebSocket clients of five kinds run on one poll loop in the bench process:
 *   steady  stay subscribed to one room; when their connection breaks (an edge was killed) they
 *           reconnect to another edge (at random) and resume from their cursor ("since");
 *   resume  the same, but also leave every few seconds on their own and resume;
 *   churn   connect, subscribe, stay one to four seconds, disconnect, and start again afresh;
 *   subs    stay connected and every two to three seconds unsubscribe their room and subscribe
 *           the next one;
 *   slow    join up to 8 rooms and read 256 bytes every 200 ms through a small receive buffer
 *           for 8 to 20 s, then read everything for 3 s (a phone back from the background), and
 *           again; once the edge's queue (and the kernel's send buffer, up to 4 MiB) is full, the
 *           edge closes them as slow consumers (4008), which they see when they catch up; they
 *           resume from their cursors.
 * Every --soak-kill-every seconds one edge gets SIGKILL and is started again (edge 0 is never
 * killed when there are two or more, so one edge's memory covers the whole run). Steady and
 * resume clients check every room's seq (bench_seq.h): a gap, a duplicate or a recovered:false
 * notice is a loss, and after publishing stops each must reach the room's last seq.
 *
 * Every --soak-sample seconds the RSS and open descriptors of the router, each edge and the
 * bench itself are sampled (bench_trend.h) and printed as one row; the end prints per process the
 * RSS slope over the second half of the run (KiB/min), the descriptor range, and the totals, and
 * one machine-readable line "soak-summary {json}" (also under "soak" in --json).
 */
#ifndef BENCH_SOAK_H
#define BENCH_SOAK_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "base_log.h"
#include "bench_opts.h"

typedef struct bench_soak bench_soak_t;

/* Spawns the fabric, names the rooms and starts the publisher's connections (nothing is
 * published yet). stop is polled throughout (set by the caller's signal handler). NULL on
 * failure (logged). */
bench_soak_t *bench_soak_new(const bench_opts_t *opts, base_log_t *log,
                             volatile sig_atomic_t *stop);

/*
 * Runs the soak, printing the sample rows and the report on out. Sets *summary to the summary
 * object (the caller owns it; NULL when the run could not be made). Returns 0 when nothing was
 * lost and, with kills configured, at least one edge was killed; 1 when the run completed
 * without that; -1 when it could not be completed (a daemon died, a signal, setup failures).
 */
int bench_soak_run(bench_soak_t *self, FILE *out, json_t **summary);

/* Closes the clients, stops the publisher and the daemons (logs kept when failed or
 * --keep-logs), frees and nulls *self_p. NULL-safe. */
void bench_soak_destroy(bench_soak_t **self_p, bool failed);

#endif
