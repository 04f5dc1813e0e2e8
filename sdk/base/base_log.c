/*
 * base_log.c: a small leveled logger with per-call-site rate limiting.
 */
#include "base_log.h"

#include "base_clock.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct base_log {
    char name[32];      /* component name shown on every line */
    weft_log_level_t level; /* lines above this level are skipped */
    FILE *out;          /* destination, not owned */
};

static const char *const s_level_names[] = {"error", "warn", "notice", "info", "debug"};

base_log_t *base_log_new(const char *name, weft_log_level_t level, FILE *out)
{
    base_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->name, sizeof self->name, "%s", name ? name : "weft");
    self->level = level;
    self->out = out ? out : stderr;
    return self;
}

void base_log_destroy(base_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void base_log_set_level(base_log_t *self, weft_log_level_t level)
{
    if (self)
        self->level = level;
}

weft_log_level_t base_log_level(const base_log_t *self)
{
    return self ? self->level : WEFT_LOG_ERROR;
}

int base_log_level_parse(const char *text)
{
    for (int i = 0; i <= WEFT_LOG_DEBUG; i++)
        if (text && strcasecmp(text, s_level_names[i]) == 0)
            return i;
    return -1;
}

void base_logv(base_log_t *self, weft_log_level_t level, const char *fmt, va_list ap)
{
    if (!self || level > self->level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, self->name, s_level_names[level]);
    if (n < 0)
        return;
    if ((size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    /* One fputs per line so concurrent writers (SDK threads, lws) do not interleave mid-line. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = '\0';
    } else {
        line[sizeof line - 2] = '\n'; /* truncated: still end the line */
    }
    fputs(line, self->out);
    fflush(self->out);
}

void base_log(base_log_t *self, weft_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    base_logv(self, level, fmt, ap);
    va_end(ap);
}

int base_log_limited(base_log_t *self, base_limit_t *limit, weft_log_level_t level,
                     const char *fmt, ...)
{
    if (!self || level > self->level)
        return 0;
    unsigned suppressed;
    if (!base_limit_pass(limit, (uint64_t)base_clock_ms(), &suppressed))
        return 0;
    if (suppressed)
        base_log(self, level, "(%u similar lines suppressed)", suppressed);
    va_list ap;
    va_start(ap, fmt);
    base_logv(self, level, fmt, ap);
    va_end(ap);
    return 1;
}
