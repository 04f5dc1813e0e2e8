/*
 * bench_clock.h: the two clocks weft-bench reads. Wall-clock time is what libweft stamps an
 * event's ts with (CLOCK_REALTIME), so latency is a difference of wall-clock times; everything
 * that paces or times out uses the monotonic clock. Header-only: called per received event.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock nanoseconds since the Unix epoch (the clock of an event's ts). */
static inline uint64_t bench_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Monotonic nanoseconds. */
static inline int64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Monotonic milliseconds. */
static inline int64_t bench_mono_ms(void)
{
    return bench_mono_ns() / 1000000;
}

#endif
