/*
 * bench_report.h: the figures of one weft-bench run, their medians, and the two outputs: a table
 * for people and JSON for machines.
 *
 * Every figure is described once, in BENCH_METRICS (name in JSON, label in the table, unit,
 * decimals), so the table, the JSON and the medians cannot disagree. A figure that could not be
 * measured (no process id for CPU, nothing received for latency) is NaN: "-" in the table, null in
 * JSON, and left out of medians.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* X(id, json name, table label, unit, decimals) */
#define BENCH_METRICS(X)                                                                           \
    X(RATE_TARGET, "rate_target", "target rate", "ev/s", 0)                                        \
    X(RATE_PUBLISHED, "rate_published", "published rate (window)", "ev/s", 0)                      \
    X(WINDOW_S, "window_s", "measured window", "s", 2)                                             \
    X(CLIENTS, "clients", "clients subscribed", "", 0)                                             \
    X(DELIVERIES, "deliveries", "deliveries (window)", "", 0)                                      \
    X(DELIVERIES_PER_S, "deliveries_per_s", "deliveries per second", "/s", 0)                      \
    X(FRAMES_PER_S, "frames_per_s", "frames per second", "/s", 0)                                  \
    X(EVENTS_PER_FRAME, "events_per_frame", "events per frame", "", 2)                             \
    X(LAT_P50, "latency_p50_ms", "latency p50", "ms", 3)                                           \
    X(LAT_P99, "latency_p99_ms", "latency p99", "ms", 3)                                           \
    X(LAT_P999, "latency_p999_ms", "latency p99.9", "ms", 3)                                       \
    X(LAT_MAX, "latency_max_ms", "latency max", "ms", 3)                                           \
    X(LAT_SAMPLES, "latency_samples", "latency samples", "", 0)                                    \
    X(CRIT_PUBLISHED, "critical_published", "critical events published (run)", "", 0)              \
    X(CRIT_EVENTS, "critical_events", "critical events delivered (run)", "", 0)                    \
    X(CRIT_P50, "critical_latency_p50_ms", "critical latency p50", "ms", 3)                        \
    X(CRIT_P99, "critical_latency_p99_ms", "critical latency p99", "ms", 3)                        \
    X(CRIT_P999, "critical_latency_p999_ms", "critical latency p99.9", "ms", 3)                    \
    X(CRIT_MAX, "critical_latency_max_ms", "critical latency max", "ms", 3)                        \
    X(PUBLISHED, "published", "events published (run)", "", 0)                                     \
    X(DELIVERED, "delivered", "events delivered (run)", "", 0)                                     \
    X(LOST, "lost", "lost events", "", 0)                                                          \
    X(DUPLICATES, "duplicates", "duplicate events", "", 0)                                         \
    X(NOTICES, "notices", "recovered:false notices", "", 0)                                        \
    X(CLOSED, "closed", "connections closed by the edge", "", 0)                                   \
    X(STRAY, "stray", "events of other rooms", "", 0)                                              \
    X(BAD_FRAMES, "bad_frames", "unreadable frames", "", 0)                                        \
    X(ERROR_FRAMES, "error_frames", "error frames", "", 0)                                         \
    X(REFUSED, "refused", "publishes refused (EFULL)", "", 0)                                      \
    X(EPOCH_CHANGES, "epoch_changes", "epoch changes", "", 0)                                      \
    X(DRAINED, "drained", "every event arrived (1/0)", "", 0)                                      \
    X(HELD, "held", "held: no loss, p99 < limit (1/0)", "", 0)                                     \
    X(CPU_ROUTER, "cpu_router_s", "router CPU", "s", 2)                                            \
    X(CPU_EDGES, "cpu_edges_s", "edges CPU (sum)", "s", 2)                                         \
    X(CPU_CLIENTS, "cpu_clients_s", "bench clients CPU", "s", 2)                                   \
    X(CPU_PUBLISHER, "cpu_publisher_s", "bench publisher CPU", "s", 2)                             \
    X(US_PER_DELIVERY, "cpu_us_per_delivery", "router+edge CPU per delivery", "us", 3)             \
    X(EDGE_US_PER_DELIVERY, "edge_cpu_us_per_delivery", "edge CPU per delivery", "us", 3)          \
    X(ROUTER_US_PER_EVENT, "router_cpu_us_per_event", "router CPU per event", "us", 3)             \
    X(CLIENT_US_PER_DELIVERY, "client_cpu_us_per_delivery", "bench client CPU per delivery", "us", \
      3)                                                                                           \
    X(FLOOR_SENDS, "floor_sends", "floor: send() calls with events (run)", "", 0)                  \
    X(FLOOR_SHORT_WRITES, "floor_short_writes", "floor: sends not taken whole", "", 0)             \
    X(FLOOR_BACKLOGGED, "floor_backlogged", "floor: sends queued behind a backlog", "", 0)         \
    X(ROUTER_RSS, "router_rss_kib", "router RSS (end)", "KiB", 0)                                  \
    X(EDGE_RSS_BASE, "edge_rss_base_kib", "edge RSS before clients (sum)", "KiB", 0)               \
    X(EDGE_RSS_IDLE, "edge_rss_idle_kib", "edge RSS, clients idle (sum)", "KiB", 0)                \
    X(EDGE_RSS_BUSY, "edge_rss_busy_kib", "edge RSS under traffic (sum)", "KiB", 0)                \
    X(EDGE_KIB_IDLE_CONN, "edge_kib_per_idle_conn", "edge RSS per idle connection", "KiB", 2)      \
    X(EDGE_KIB_BUSY_CONN, "edge_kib_per_busy_conn", "edge RSS per busy connection", "KiB", 2)      \
    X(CLIENT_KIB_CONN, "client_kib_per_conn", "bench client RSS per connection", "KiB", 2)

/* Metric ids. */
typedef enum bench_metric {
#define BENCH__METRIC_ENUM(id, json, label, unit, dec) BENCH_M_##id,
    BENCH_METRICS(BENCH__METRIC_ENUM)
#undef BENCH__METRIC_ENUM
        BENCH_M__COUNT
} bench_metric_t;

/* The figures of one run (NaN: not measured). A plain value: runs are kept in arrays. */
typedef struct bench_sample {
    double v[BENCH_M__COUNT]; /* indexed by bench_metric_t */
} bench_sample_t;

/* Sets every figure to NaN. */
void bench_sample_init(bench_sample_t *s);

/* The median of the non-NaN values among v[0..n) (NaN when there are none); for an even count,
 * the mean of the two middle values. */
double bench_median(const double *v, size_t n);

/* Fills out with the median of every figure over runs[0..n). */
void bench_sample_median(const bench_sample_t *runs, size_t n, bench_sample_t *out);

/* Prints a table: one row per figure measured in any run, the median and (when n > 1) each run. */
void bench_report_table(FILE *out, const char *title, const bench_sample_t *runs, size_t n);

/* One sample as a JSON object {name: value or null}. NULL on OOM. */
json_t *bench_report_sample_json(const bench_sample_t *s);

/* {"median": {...}, "runs": [{...}, ...]}. NULL on OOM. */
json_t *bench_report_json(const bench_sample_t *runs, size_t n);

#endif
