/*
 * base_log.h: the daemons' logger (router and edge each create one in main and pass it down).
 *
 * Lines go to a FILE (stderr by default) as "<time> <name> <level>: message". A rate limiter lets
 * hot error paths (bad messages from the network) log at most a few lines a second and say how
 * many were suppressed, so a flood of bad input cannot flood the log.
 */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "base_limit.h"
#include "weft.h" /* the log levels: one set for the SDK and the daemons */

typedef struct base_log base_log_t;

/* Creates a logger named `name` (copied) writing to out (NULL: stderr) at `level` and above. */
base_log_t *base_log_new(const char *name, weft_log_level_t level, FILE *out);

/* Frees the logger and nulls *self_p. NULL-safe. */
void base_log_destroy(base_log_t **self_p);

/* Changes the threshold. */
void base_log_set_level(base_log_t *self, weft_log_level_t level);

/* The current threshold. */
weft_log_level_t base_log_level(const base_log_t *self);

/* Parses "error|warn|notice|info|debug"; returns -1 when unknown. */
int base_log_level_parse(const char *text);

/* Logs one line. A NULL logger is silent (lets tests pass NULL). */
void base_log(base_log_t *self, weft_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void base_logv(base_log_t *self, weft_log_level_t level, const char *fmt, va_list ap);

/* Logs through a limiter; returns 1 when the line was written, 0 when it was suppressed. */
int base_log_limited(base_log_t *self, base_limit_t *limit, weft_log_level_t level,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
