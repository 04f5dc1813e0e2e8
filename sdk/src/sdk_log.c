/*
 * sdk_log.c: libweft's log sink: the process-wide callback weft_log_set() installs, and the
 * internal calls (sdk_log.h) that format a line for it, some through a rate limiter.
 *
 * The log callback is the one process-wide setting of libweft (weft.h says so). It is kept under
 * a read-write lock rather than two atomics because the callback and its argument must change
 * together: after weft_log_set() returns, the old callback is never called again and its argument
 * may be freed. The read lock is held while the callback runs, so a callback must not call
 * weft_log_set() itself.
 */
#include "sdk_log.h"

#include <pthread.h>
#include <stdio.h>

#include "base_clock.h"

/* The installed callback and its argument; the rwlock guards both. */
static pthread_rwlock_t s_log_lock = PTHREAD_RWLOCK_INITIALIZER;
static weft_log_fn *s_log_fn;
static void *s_log_arg;

/* Installs (or with NULL removes) the process-wide log callback. */
void weft_log_set(weft_log_fn *fn, void *arg)
{
    pthread_rwlock_wrlock(&s_log_lock);
    s_log_fn = fn;
    s_log_arg = fn ? arg : NULL;
    pthread_rwlock_unlock(&s_log_lock);
}

/* True when a callback is installed. */
int sdk_log_enabled(void)
{
    pthread_rwlock_rdlock(&s_log_lock);
    int enabled = s_log_fn != NULL;
    pthread_rwlock_unlock(&s_log_lock);
    return enabled;
}

/* Formats a message and calls the callback, under the read lock. */
void sdk_logv(int level, const char *fmt, va_list ap)
{
    pthread_rwlock_rdlock(&s_log_lock);
    if (s_log_fn) {
        char message[1024];
        vsnprintf(message, sizeof message, fmt, ap);
        s_log_fn(level, message, s_log_arg);
    }
    pthread_rwlock_unlock(&s_log_lock);
}

/* Variadic front end of sdk_logv(). */
void sdk_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sdk_logv(level, fmt, ap);
    va_end(ap);
}

/* As base_log_limited() (base_log.h), but through the callback. */
int sdk_log_limited(base_limit_t *limit, int level, const char *fmt, ...)
{
    if (!sdk_log_enabled())
        return 0;
    unsigned suppressed;
    if (!base_limit_pass(limit, (uint64_t)base_clock_ms(), &suppressed))
        return 0;
    if (suppressed)
        sdk_log(level, "(%u similar lines suppressed)", suppressed);
    va_list ap;
    va_start(ap, fmt);
    sdk_logv(level, fmt, ap);
    va_end(ap);
    return 1;
}
