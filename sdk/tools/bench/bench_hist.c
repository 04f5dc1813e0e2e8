/*
 * bench_hist.c: log-linear latency histogram (see bench_hist.h).
 */
#include "bench_hist.h"

#include <math.h>
#include <string.h>

void bench_hist_reset(bench_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

size_t bench_hist_index(uint64_t value)
{
    if (value < BENCH_HIST_LINEAR)
        return (size_t)value;
    unsigned k = 63u - (unsigned)__builtin_clzll(value); /* 2^k <= value < 2^(k+1), k >= 7 */
    if (k >= BENCH_HIST_MAX_BIT)
        return BENCH_HIST_BUCKETS - 1;
    /* The top 7 bits of value (64..127) pick the sub-bucket within the power of two. */
    uint64_t sub = (value >> (k - 6)) - BENCH_HIST_SUB;
    return BENCH_HIST_LINEAR + (size_t)(k - 7) * BENCH_HIST_SUB + (size_t)sub;
}

uint64_t bench_hist_upper(size_t idx)
{
    if (idx < BENCH_HIST_LINEAR)
        return idx;
    size_t j = idx - BENCH_HIST_LINEAR;
    unsigned k = 7 + (unsigned)(j / BENCH_HIST_SUB);
    uint64_t lower = (uint64_t)(BENCH_HIST_SUB + j % BENCH_HIST_SUB) << (k - 6);
    return lower + ((uint64_t)1 << (k - 6)) - 1;
}

void bench_hist_record(bench_hist_t *h, uint64_t value)
{
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
    h->sum = (h->sum + value < h->sum) ? UINT64_MAX : h->sum + value;
    h->buckets[bench_hist_index(value)]++;
}

void bench_hist_merge(bench_hist_t *dst, const bench_hist_t *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum = (dst->sum + src->sum < dst->sum) ? UINT64_MAX : dst->sum + src->sum;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t bench_hist_quantile(const bench_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* The rank of the wanted value, 1-based: the smallest value is rank 1. */
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t up = bench_hist_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}
