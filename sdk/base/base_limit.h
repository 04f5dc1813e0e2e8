/*
 * base_limit.h: the rate limiter for log lines caused by network input, shared by the daemons'
 * logger (base_log.h) and libweft's log callback (sdk_log.h).
 *
 * A flood of bad input must not become a flood of log lines: each call site owns a limiter that
 * lets at most `burst` lines a second through and counts the rest, so the next line that passes
 * can say how many similar lines were suppressed.
 *
 * Header-only on purpose: libweft links none of the daemons' plumbing, and the limiter is a few
 * lines of arithmetic on the caller's struct with the time passed in (so tests need no clock).
 */
#ifndef BASE_LIMIT_H
#define BASE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* One call site's limiter. Zero-initialise it; set burst to change the default of 5. */
typedef struct base_limit {
    uint64_t window_start_ms; /* start of the current one-second window */
    unsigned in_window;       /* lines let through in this window */
    unsigned suppressed;      /* lines refused since the last one let through */
    unsigned burst;           /* allowed per second (0 means 5) */
} base_limit_t;

/* Decides whether a line at now_ms may pass. When it may and lines were refused before it,
 * *suppressed gets their count (to log first) and the count restarts; otherwise *suppressed
 * gets 0. */
static inline bool base_limit_pass(base_limit_t *limit, uint64_t now_ms, unsigned *suppressed)
{
    unsigned burst = limit->burst ? limit->burst : 5;
    *suppressed = 0;
    if (now_ms - limit->window_start_ms >= 1000) {
        limit->window_start_ms = now_ms;
        limit->in_window = 0;
    }
    if (limit->in_window >= burst) {
        limit->suppressed++;
        return false;
    }
    limit->in_window++;
    *suppressed = limit->suppressed;
    limit->suppressed = 0;
    return true;
}

#endif
