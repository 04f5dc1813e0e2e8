/*
 * sdk_log.h: libweft's internal logging: lines for the callback that weft_log_set() installs,
 * some through the rate limiter for log lines caused by network input (base_limit.h).
 *
 * Not installed. Internal names use the sdk_ prefix, never the public weft_.
 */
#ifndef SDK_LOG_H
#define SDK_LOG_H

#include <stdarg.h>

#include "weft.h"
#include "base_limit.h"

/* Formats a message and passes it to the log callback, if one is set. Never prints. */
void sdk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As sdk_log() with a va_list. */
void sdk_logv(int level, const char *fmt, va_list ap);

/*
 * Logs through a per-call-site limiter (at most limit->burst lines a second, then one line saying
 * how many were suppressed). The caller owns the limiter and serialises calls on it. Returns 1
 * when the line was passed on, 0 when it was suppressed or nobody listens.
 */
int sdk_log_limited(base_limit_t *limit, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when a log callback is set and would receive lines at all (saves formatting work). */
int sdk_log_enabled(void);

#endif
