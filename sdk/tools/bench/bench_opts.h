/*
 * bench_opts.h: weft-bench's settings, described once in a table (base_conf.h).
 *
 * Every flag is "--key value" ('-' and '_' are interchangeable), and the same keys may come from a
 * file with --config; --print-config shows the effective values. --edge-arg and --router-arg may
 * be repeated: their values are joined with spaces and split into words again when the daemons
 * are started.
 */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base_conf.h"

/* What the bench measures. */
typedef enum bench_mode {
    BENCH_MODE_FABRIC = 0, /* publish through router and edges to WebSocket clients */
    BENCH_MODE_ROUTER,     /* publish to the router and count on a raw ZeroMQ SUB; no edge */
    BENCH_MODE_IDLE,       /* open connections, publish nothing, measure the edge's memory */
    BENCH_MODE_FLOOR,      /* no fabric: the bench's own bare epoll server (bench_floor.h) */
    BENCH_MODE_SOAK,       /* a realistic mix for a long time, memory sampled (bench_soak.h) */
} bench_mode_t;

typedef struct bench_opts {
    char *mode;             /* "fabric", "router", "idle" or "floor" */
    bool spawn;             /* start a private router and edges */
    char *router_bin;       /* weft-router to spawn ("" = look next to weft-bench) */
    char *edge_bin;         /* weft-edge to spawn ("" = look next to weft-bench) */
    char *router_arg;       /* extra flags for the spawned router */
    char *edge_arg;         /* extra flags for each spawned edge */
    bool curve;             /* --spawn with CURVE on every ZeroMQ link (bench_curve.h) */
    char *router_intake;    /* target fabric: the router's intake endpoint */
    char *router_fanout;    /* target fabric, router mode: the router's fan-out endpoint */
    char *edge;             /* target fabric: ws://host:port[/path] list, comma-separated */
    int router_pid;         /* target fabric: router process, for CPU figures (0: none) */
    char *edge_pid;         /* target fabric: edge processes, comma-separated, same order */
    int clients;            /* WebSocket clients */
    int rooms;              /* rooms; client i joins room i % rooms */
    int edges;              /* edges to spawn; client i uses edge i % edges */
    double rate;            /* events per second (search: the first rate tried) */
    double duration;        /* seconds measured per run */
    double warmup;          /* seconds published before measuring (idle: settle time) */
    size_t payload;         /* bytes of each event's JSON payload */
    bool batch;             /* expect batched delivery ("batch" frames) */
    int critical_every;     /* every Nth bench.ev event of a room is published critical (0: none) */
    bool search;            /* find the highest rate that holds */
    double search_max;      /* search: highest rate tried */
    int search_steps;       /* search: bisection steps after the first failure */
    double p99_limit_ms;    /* a rate holds when p99 stays below this (and nothing is lost) */
    int repeat;             /* runs per rate; the report shows medians */
    char *json;             /* write JSON here ("-" = stdout, "" = none) */
    int publishers;         /* weft_pub_t instances publishing in turn */
    char *publisher;        /* "libweft" or "raw" (pre-encoded envelopes on a plain XPUB) */
    int floor_pack;         /* floor mode: events per send() and client */
    int router_cpu;         /* pin the router to this CPU (-1: no pinning) */
    int bench_cpu;          /* pin weft-bench and its workers to this CPU (-1: no pinning) */
    int workers;            /* client worker processes (0 = as the descriptor limit requires) */
    int inflight;           /* connections being established at once, per worker */
    int coalesce_us;        /* client pause after a busy wake-up, microseconds */
    double connect_timeout; /* seconds all clients may take to connect and subscribe */
    double drain_timeout;   /* seconds to wait for the last events after publishing stops */
    double start_timeout;   /* seconds each spawned daemon may take to be ready */
    char *log_dir;          /* spawned daemons' logs ("" = a temporary directory) */
    bool keep_logs;         /* keep the daemons' logs */
    int log_level;          /* bench's own log level */
    double soak_sample;     /* soak: seconds between samples of every process */
    double soak_kill_every; /* soak: seconds between edge kills (0: none) */
    char *auth_secret;      /* HS256 secret file: edges run --auth jwt, clients send a JWT */
    bench_mode_t mode_id;   /* parsed mode (derived, not in the table) */
} bench_opts_t;

/* The settings table (ends with a NULL name). */
const base_conf_entry_t *bench_opts_table(void);

/*
 * Parses argv into opts (after merging repeated --edge-arg/--router-arg) and checks that the
 * settings fit together. Returns BASE_CONF_RUN, BASE_CONF_EXIT_OK (--help etc.) or
 * BASE_CONF_EXIT_ERR (message printed to err).
 */
base_conf_action_t bench_opts_parse(bench_opts_t *opts, int argc, char **argv, FILE *out,
                                    FILE *err);

/* Frees the strings in opts. */
void bench_opts_free(bench_opts_t *opts);

#endif
