/*
 * bench_trend.h: one process's resident memory and descriptor count over a soak run
 * (weft-bench --mode soak), and the straight line that fits its memory.
 *
 * The soak samples every process every few seconds into one trend each. Whether memory "stays
 * flat" is read from the least-squares slope of RSS against time over the second half of the run
 * (the first half is warm-up: caches, pools and history fill up to their bounds), in KiB per
 * minute. A process the soak kills and restarts (an edge) starts from scratch, so only the
 * samples of its latest incarnation (the pid of the last sample) count for the slope; the
 * descriptor range covers every sample.
 */
#ifndef BENCH_TREND_H
#define BENCH_TREND_H

#include <stddef.h>
#include <stdint.h>

/* One sample. */
typedef struct bench_trend_point {
    double t_s;       /* seconds since the start of the run */
    int pid;          /* the process sampled */
    uint64_t rss_kib; /* its VmRSS */
    int fds;          /* its open descriptors */
} bench_trend_point_t;

/* What a trend says. */
typedef struct bench_trend_summary {
    size_t points;        /* samples in all */
    size_t slope_points;  /* samples the slope was fitted to */
    double slope_kib_min; /* RSS slope over those, KiB per minute (NaN: fewer than 2 samples) */
    uint64_t rss_first;   /* RSS of the first sample, KiB */
    uint64_t rss_last;    /* ... of the last */
    uint64_t rss_max;     /* the highest */
    int fd_min;           /* fewest open descriptors seen (0 with no samples) */
    int fd_max;           /* most */
    int incarnations;     /* distinct pids in a row (1 + restarts seen) */
} bench_trend_summary_t;

typedef struct bench_trend bench_trend_t;

/* Creates an empty trend for the process called name (copied). NULL on OOM. */
bench_trend_t *bench_trend_new(const char *name);

/* Frees it and nulls *self_p. NULL-safe. */
void bench_trend_destroy(bench_trend_t **self_p);

/* The name given to bench_trend_new. */
const char *bench_trend_name(const bench_trend_t *self);

/* Appends a sample (times must not go backwards). Returns 0, or -1 on OOM. */
int bench_trend_add(bench_trend_t *self, double t_s, int pid, uint64_t rss_kib, int fds);

/* Samples so far, and sample i (0 <= i < count). */
size_t bench_trend_count(const bench_trend_t *self);
const bench_trend_point_t *bench_trend_at(const bench_trend_t *self, size_t i);

/* Summarises the trend: the slope over the samples at or after from_s whose pid is the last
 * sample's, the rest over every sample. */
void bench_trend_summary(const bench_trend_t *self, double from_s, bench_trend_summary_t *out);

/* The least-squares slope of y against x over n points (NaN when n < 2 or every x is equal). */
double bench_trend_slope(const double *x, const double *y, size_t n);

#endif
