/*
 * weft_err.c: error texts and names (from the WEFT_ERRNO_MAP X-macro in weft.h), the version
 * string, and the log callback.
 *
 * The log callback is the one process-wide setting of libweft (weft.h says so). It is kept under
 * a read-write lock rather than two atomics because the callback and its argument must change
 * together: after weft_log_set() returns, the old callback is never called again and its argument
 * may be freed. The read lock is held while the callback runs, so a callback must not call
 * weft_log_set() itself.
 */
#include "weft_err.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

/* The installed callback and its argument; the rwlock guards both. */
static pthread_rwlock_t s_log_lock = PTHREAD_RWLOCK_INITIALIZER;
static weft_log_fn *s_log_fn;
static void *s_log_arg;

/* Text for an error code, from the WEFT_ERRNO_MAP table. */
const char *weft_strerror(int err)
{
    switch (err) {
    case WEFT_OK:
        return "success";
#define WEFT__ERR_TEXT(name, code, text)                                                           \
    case WEFT_##name:                                                                              \
        return text;
        WEFT_ERRNO_MAP(WEFT__ERR_TEXT)
#undef WEFT__ERR_TEXT
    default:
        return "unknown error";
    }
}

/* Name of an error code ("WEFT_EFULL"), from the same table. */
const char *weft_err_name(int err)
{
    switch (err) {
    case WEFT_OK:
        return "WEFT_OK";
#define WEFT__ERR_NAME(name, code, text)                                                           \
    case WEFT_##name:                                                                              \
        return "WEFT_" #name;
        WEFT_ERRNO_MAP(WEFT__ERR_NAME)
#undef WEFT__ERR_NAME
    default:
        return "unknown";
    }
}

/* The version set once in CMake's project(). */
const char *weft_version(void)
{
    return WEFT_VERSION_STRING;
}

/* Installs (or with NULL removes) the process-wide log callback. */
void weft_log_set(weft_log_fn *fn, void *arg)
{
    pthread_rwlock_wrlock(&s_log_lock);
    s_log_fn = fn;
    s_log_arg = fn ? arg : NULL;
    pthread_rwlock_unlock(&s_log_lock);
}

/* True when a callback is installed. */
int weft__log_enabled(void)
{
    pthread_rwlock_rdlock(&s_log_lock);
    int enabled = s_log_fn != NULL;
    pthread_rwlock_unlock(&s_log_lock);
    return enabled;
}

/* Formats a message and calls the callback, under the read lock. */
void weft__logv(int level, const char *fmt, va_list ap)
{
    pthread_rwlock_rdlock(&s_log_lock);
    if (s_log_fn) {
        char message[1024];
        vsnprintf(message, sizeof message, fmt, ap);
        s_log_fn(level, message, s_log_arg);
    }
    pthread_rwlock_unlock(&s_log_lock);
}

/* Variadic front end of weft__logv(). */
void weft__log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    weft__logv(level, fmt, ap);
    va_end(ap);
}

/* Like wire_log_limited(), but through the callback. */
int weft__log_limited(wire_log_limit_t *limit, int level, const char *fmt, ...)
{
    if (!weft__log_enabled())
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    unsigned burst = limit->burst ? limit->burst : 5;
    if (now_ms - limit->window_start_ms >= 1000) {
        limit->window_start_ms = now_ms;
        limit->in_window = 0;
    }
    if (limit->in_window >= burst) {
        limit->suppressed++;
        return 0;
    }
    limit->in_window++;
    if (limit->suppressed) {
        weft__log(level, "(%u similar lines suppressed)", limit->suppressed);
        limit->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    weft__logv(level, fmt, ap);
    va_end(ap);
    return 1;
}
