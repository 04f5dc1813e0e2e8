/*
 * weft_err.h: libweft internals shared across its files: the log callback that weft_log_set()
 * installs, and the rate limiter for log lines caused by network input.
 *
 * Not installed. Functions here are named weft__verb: internal, but shared across files.
 */
#ifndef WEFT_ERR_H
#define WEFT_ERR_H

#include <stdarg.h>

#include "weft.h"
#include "wire_log.h"

/* Formats a message and passes it to the log callback, if one is set. Never prints. */
void weft__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As weft__log() with a va_list. */
void weft__logv(int level, const char *fmt, va_list ap);

/*
 * Logs through a per-call-site limiter (at most limit->burst lines a second, then one line saying
 * how many were suppressed). The caller owns the limiter and serialises calls on it. Returns 1
 * when the line was passed on, 0 when it was suppressed or nobody listens.
 */
int weft__log_limited(wire_log_limit_t *limit, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when a log callback is set and would receive lines at all (saves formatting work). */
int weft__log_enabled(void);

#endif
