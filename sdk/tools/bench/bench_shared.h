/*
 * bench_shared.h: the memory weft-bench's parent process shares with its client workers.
 *
 * The WebSocket clients run in worker processes, not threads, because one process may hold at
 * most RLIMIT_NOFILE descriptors (20,000 on many hosts whose hard limit cannot be raised) and the
 * bench must reach 50,000 connections. The parent and the workers talk through one anonymous
 * shared mapping, made before fork(): the parent writes the control fields (which phase, which
 * run, the measured window, the final seq of every room), each worker writes its gauges and, at
 * the end of a run, its results into its own slot. Fields that change while both sides run are
 * C11 atomics; a result block is only read by the parent after the worker published it with a
 * release store of done_run.
 *
 * These structs are public (not opaque like the other modules) because they ARE the interface
 * between the processes: both sides read and write them in place. They hold no pointers.
 */
#ifndef BENCH_SHARED_H
#define BENCH_SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_hist.h"
#include "bench_seq.h"

#define BENCH_MAX_WORKERS 16

/* What the workers should be doing. */
typedef enum bench_phase {
    BENCH_PHASE_CONNECT = 1, /* open (or reopen) the connections and subscribe them */
    BENCH_PHASE_EXIT,        /* close everything and exit */
} bench_phase_t;

/* What one worker measured during one run. */
typedef struct bench_result {
    bench_seq_tally_t seq;  /* deliveries, losses, duplicates, notices, epoch changes */
    uint64_t frames;        /* text frames received */
    uint64_t batch_frames;  /* of which "batch" frames */
    uint64_t window_events; /* deliveries received inside the measured window */
    uint64_t window_frames; /* frames received inside the measured window */
    uint64_t bytes;         /* bytes read from the sockets */
    uint64_t stray;         /* events of a room the client did not join */
    uint64_t bad_frames;    /* frames that did not scan, or binary frames */
    uint64_t errors;        /* "error" frames from the edge */
    uint64_t closed;        /* connections the edge closed (or that broke) during the run */
    uint64_t critical;      /* of seq.delivered: events flagged "critical":true */
    bench_hist_t latency;   /* publish -> receive in ns, events published inside the window */
    bench_hist_t critical_latency; /* the same, critical events only (also in latency) */
} bench_result_t;

/* One worker's slot. */
typedef struct bench_worker_slot {
    _Atomic uint64_t open;          /* connections with a completed handshake */
    _Atomic uint64_t subscribed;    /* connections whose subscribe was answered */
    _Atomic uint64_t failed;        /* connections given up on or closed since the connect round */
    _Atomic uint64_t primed;        /* subscribed streams that have received at least one event */
    _Atomic uint64_t pending;       /* open streams short of the final seq (valid when drained) */
    _Atomic int connect_round;      /* the connect round the gauges above describe */
    _Atomic int seen_run;           /* the latest run the worker has started accounting for */
    _Atomic int drained_run;        /* the run whose drain `pending` describes */
    _Atomic int done_run;           /* the run whose `result` is final */
    _Atomic int fatal;              /* nonzero when the worker stopped on an error (see error) */
    _Atomic uint64_t rss_start_kib; /* the worker's RSS before it allocated its connections */
    char error[256];                /* what stopped it */
    bench_result_t result;          /* valid once done_run equals the run */
} bench_worker_slot_t;

/* The whole shared mapping. */
typedef struct bench_ctl {
    _Atomic int phase;                /* bench_phase_t */
    _Atomic int connect_round;        /* bumped to make workers reconnect dead clients */
    _Atomic int run;                  /* the current run (1, 2, ...); 0 before the first */
    _Atomic int drain_run;            /* final_seq[] is valid for this run */
    _Atomic int finish_run;           /* the workers should publish this run's results */
    _Atomic uint64_t window_start_ns; /* measured window, CLOCK_REALTIME ns (MAX: none) */
    _Atomic uint64_t window_end_ns;   /* UINT64_MAX while the window is open */
    size_t nrooms;                    /* entries in final_seq */
    size_t nworkers;                  /* slots in use */
    bench_worker_slot_t workers[BENCH_MAX_WORKERS]; /* one per worker */
    _Atomic uint64_t final_seq[]; /* per room: its last seq once publishing stopped */
} bench_ctl_t;

/* Maps a zeroed shared control block for nrooms rooms and nworkers workers. NULL on failure. */
bench_ctl_t *bench_ctl_new(size_t nrooms, size_t nworkers);

/* Unmaps it and nulls *ctl_p. NULL-safe. */
void bench_ctl_destroy(bench_ctl_t **ctl_p);

#endif
