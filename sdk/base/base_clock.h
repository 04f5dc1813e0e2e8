/*
 * base_clock.h: the one clock helper of the tree (SDK, router, edge, tools, tests): monotonic
 * time for timeouts and pacing, wall-clock time for event timestamps.
 *
 * Header-only on purpose: these are one clock_gettime() each, called on hot paths, and both
 * libweft (which must not link the daemons' plumbing) and the daemons use them. Inline
 * functions give one definition without one more library.
 */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline int64_t base_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Microseconds on CLOCK_MONOTONIC. */
static inline uint64_t base_clock_us(void)
{
    return (uint64_t)base_clock_ns() / 1000u;
}

/* Milliseconds on CLOCK_MONOTONIC. */
static inline uint64_t base_clock_ms(void)
{
    return (uint64_t)base_clock_ns() / 1000000u;
}

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): the clock of an event's ts, so that the
 * latency from publish to delivery is a difference of such times across processes. */
static inline uint64_t base_clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CLOCK_MONOTONIC time ms milliseconds from now, as a timespec (pthread_cond_timedwait with
 * a monotonic condattr, clock_nanosleep). */
static inline struct timespec base_clock_deadline(int64_t ms)
{
    int64_t at = base_clock_ns() + ms * 1000000;
    struct timespec ts = {.tv_sec = (time_t)(at / 1000000000), .tv_nsec = (long)(at % 1000000000)};
    return ts;
}

#endif
