/*
 * bench_hist.h: a fixed-size log-linear latency histogram for weft-bench.
 *
 * Values (nanoseconds) below 128 have a bucket each; every power of two above is split into 64
 * equal buckets, so a bucket is at most 1/64 (1.6 %) wide relative to its values, from 0 up to
 * about 2^40 ns (18 minutes; larger values land in the last bucket). This is the HdrHistogram
 * idea with its precision fixed at compile time.
 *
 * Unlike the other modules this struct is public and holds no pointers: the client workers are
 * separate processes that hand their histograms to the parent through shared memory, and a plain
 * value type can live there and be merged with a loop. Recording is one shift, one clz and one
 * increment; nothing allocates.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HIST_LINEAR 128 /* values with an exact bucket: 0..127 */
#define BENCH_HIST_SUB 64     /* buckets per power of two above the linear range */
#define BENCH_HIST_MAX_BIT 40 /* values >= 2^40 share the last bucket */
#define BENCH_HIST_BUCKETS (BENCH_HIST_LINEAR + (BENCH_HIST_MAX_BIT - 7) * BENCH_HIST_SUB)

/* A histogram; zero-initialised memory (or bench_hist_reset) is an empty one. */
typedef struct bench_hist {
    uint64_t count;                       /* values recorded */
    uint64_t max;                         /* largest value recorded, exact */
    uint64_t min;                         /* smallest value recorded, exact (valid when count) */
    uint64_t sum;                         /* sum of values, for the mean (saturates) */
    uint64_t buckets[BENCH_HIST_BUCKETS]; /* counts per bucket */
} bench_hist_t;

/* Empties h. */
void bench_hist_reset(bench_hist_t *h);

/* Records one value. */
void bench_hist_record(bench_hist_t *h, uint64_t value);

/* Adds every value of src to dst. */
void bench_hist_merge(bench_hist_t *dst, const bench_hist_t *src);

/*
 * The value at quantile q (0..1): the upper bound of the bucket holding the ceil(q*count)-th
 * smallest value, but never more than the exact maximum. 0 when the histogram is empty.
 */
uint64_t bench_hist_quantile(const bench_hist_t *h, double q);

/* The bucket index of a value (exposed for the tests). */
size_t bench_hist_index(uint64_t value);

/* The largest value that falls into bucket idx (exposed for the tests). */
uint64_t bench_hist_upper(size_t idx);

#endif
