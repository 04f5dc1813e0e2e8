/*
 * wire_log.h: the daemons' logger (router and edge each create one in main and pass it down).
 *
 * Lines go to a FILE (stderr by default) as "<time> <name> <level>: message". A rate limiter lets
 * hot error paths (bad messages from the network) log at most a few lines a second and say how
 * many were suppressed, so a flood of bad input cannot flood the log.
 */
#ifndef WIRE_LOG_H
#define WIRE_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

typedef enum wire_level {
    WIRE_LOG_ERROR = 0,
    WIRE_LOG_WARN,
    WIRE_LOG_NOTICE,
    WIRE_LOG_INFO,
    WIRE_LOG_DEBUG
} wire_level_t;

typedef struct wire_log wire_log_t;

/* Per call-site limiter: at most `burst` lines per second; the rest are counted. */
typedef struct wire_log_limit {
    uint64_t window_start_ms; /* start of the current one-second window */
    unsigned in_window;       /* lines logged in this window */
    unsigned suppressed;      /* lines dropped since the last logged one */
    unsigned burst;           /* allowed per second (0 means 5) */
} wire_log_limit_t;

/* Creates a logger named `name` (copied) writing to out (NULL: stderr) at `level` and above. */
wire_log_t *wire_log_new(const char *name, wire_level_t level, FILE *out);

/* Frees the logger and nulls *self_p. NULL-safe. */
void wire_log_destroy(wire_log_t **self_p);

/* Changes the threshold. */
void wire_log_set_level(wire_log_t *self, wire_level_t level);

/* The current threshold. */
wire_level_t wire_log_level(const wire_log_t *self);

/* Parses "error|warn|notice|info|debug"; returns -1 when unknown. */
int wire_log_level_parse(const char *text);

/* Logs one line. A NULL logger is silent (lets tests pass NULL). */
void wire_log(wire_log_t *self, wire_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void wire_logv(wire_log_t *self, wire_level_t level, const char *fmt, va_list ap);

/* Logs through a limiter; returns 1 when the line was written, 0 when it was suppressed. */
int wire_log_limited(wire_log_t *self, wire_log_limit_t *limit, wire_level_t level,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
