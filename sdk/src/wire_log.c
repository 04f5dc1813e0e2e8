/*
 * wire_log.c: a small leveled logger with per-call-site rate limiting.
 */
#include "wire_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct wire_log {
    char name[32];      /* component name shown on every line */
    wire_level_t level; /* lines above this level are skipped */
    FILE *out;          /* destination, not owned */
};

static const char *const s_level_names[] = {"error", "warn", "notice", "info", "debug"};

wire_log_t *wire_log_new(const char *name, wire_level_t level, FILE *out)
{
    wire_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->name, sizeof self->name, "%s", name ? name : "weft");
    self->level = level;
    self->out = out ? out : stderr;
    return self;
}

void wire_log_destroy(wire_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void wire_log_set_level(wire_log_t *self, wire_level_t level)
{
    if (self)
        self->level = level;
}

wire_level_t wire_log_level(const wire_log_t *self)
{
    return self ? self->level : WIRE_LOG_ERROR;
}

int wire_log_level_parse(const char *text)
{
    for (int i = 0; i <= WIRE_LOG_DEBUG; i++)
        if (text && strcasecmp(text, s_level_names[i]) == 0)
            return i;
    return -1;
}

void wire_logv(wire_log_t *self, wire_level_t level, const char *fmt, va_list ap)
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

void wire_log(wire_log_t *self, wire_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wire_logv(self, level, fmt, ap);
    va_end(ap);
}

int wire_log_limited(wire_log_t *self, wire_log_limit_t *limit, wire_level_t level,
                     const char *fmt, ...)
{
    if (!self || level > self->level)
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
        wire_log(self, level, "(%u similar lines suppressed)", limit->suppressed);
        limit->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    wire_logv(self, level, fmt, ap);
    va_end(ap);
    return 1;
}
