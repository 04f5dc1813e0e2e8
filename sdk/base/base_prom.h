/*
 * base_prom.h: a renderer of the Prometheus text exposition format 0.0.4.
 *
 * A daemon answers a scrape by resetting one base_prom_t, adding its families (a "# HELP" and
 * "# TYPE" line, then samples) and sending the text. The text lives in a buffer the renderer owns
 * and keeps between scrapes: reset only rewinds it, so once the buffer has grown to the size of a
 * scrape, later scrapes allocate nothing. The renderer knows nothing about where numbers come
 * from; callers pass values, label sets and, for histograms, fixed bucket arrays.
 *
 * Output follows https://prometheus.io/docs/instrumenting/exposition_formats/ : label values
 * escape backslash, double quote and newline; HELP text escapes backslash and newline; integers
 * print exactly; doubles print in the shortest form that reads back the same value, with +Inf,
 * -Inf and NaN spelled as the format asks.
 *
 * Errors are sticky: an append that cannot grow the buffer marks the render failed and later
 * appends do nothing, so a caller adds everything and checks once, at base_prom_text(). Names
 * and label names are the caller's constants (not checked beyond asserts); label values and
 * HELP text may hold anything.
 *
 * Not thread-safe: one renderer per thread (the daemons render on their loop thread).
 */
#ifndef BASE_PROM_H
#define BASE_PROM_H

#include <stddef.h>
#include <stdint.h>

/* The metric types this renderer writes in "# TYPE" lines. */
typedef enum base_prom_type {
    BASE_PROM_COUNTER = 0,  /* a total that only goes up; names end in _total */
    BASE_PROM_GAUGE = 1,    /* a value that goes up and down */
    BASE_PROM_HISTOGRAM = 2 /* _bucket{le=...}, _sum and _count samples */
} base_prom_type_t;

/* One label of a sample: name (a constant) and value (escaped on output). */
typedef struct base_prom_label {
    const char *name;  /* label name, [a-zA-Z_][a-zA-Z0-9_]* */
    const char *value; /* any text */
} base_prom_label_t;

typedef struct base_prom base_prom_t;

/* Creates an empty renderer. Returns NULL when out of memory. */
base_prom_t *base_prom_new(void);

/* Frees the renderer and its buffer and sets *self_p to NULL. NULL-safe, safe to call twice. */
void base_prom_destroy(base_prom_t **self_p);

/* Starts a new render: the text becomes empty and the failure flag clears; the buffer (and its
 * capacity) stays for reuse. */
void base_prom_reset(base_prom_t *self);

/* Appends "# HELP name help" and "# TYPE name type". For a histogram, name is the base name
 * (without _bucket/_sum/_count). */
void base_prom_family(base_prom_t *self, const char *name, base_prom_type_t type, const char *help);

/* Appends one sample line "name{labels} value" with an integer value. nlabels may be 0 (labels
 * then may be NULL). */
void base_prom_u64(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                   size_t nlabels, uint64_t value);

/* Appends one sample line with a floating-point value. */
void base_prom_double(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                      size_t nlabels, double value);

/* One unlabelled counter or gauge of a stats struct: a uint64_t at offset. */
typedef struct base_prom_field {
    const char *name;      /* family name */
    base_prom_type_t type; /* counter or gauge */
    size_t offset;         /* offsetof(<stats struct>, field) of a uint64_t */
    const char *help;      /* HELP text */
} base_prom_field_t;

/* Appends one family with one sample for each of the n fields of table, read from stats. */
void base_prom_fields(base_prom_t *self, const base_prom_field_t *table, size_t n,
                      const void *stats);

/* The name of slot i of a per-reason array (for base_prom_counters()). */
typedef const char *(base_prom_name_fn)(unsigned i);

/* Appends a counter family kept as an array, one series per slot from first to n - 1:
 * "# HELP"/"# TYPE", then name{label="names(i)"} counts[i]. Zero slots are rendered too, so
 * every series exists from the start and rate() sees its first increase. */
void base_prom_counters(base_prom_t *self, const char *name, const char *help, const char *label,
                        const uint64_t *counts, size_t first, size_t n, base_prom_name_fn *names);

/*
 * Appends a histogram's samples: one name_bucket line per bound plus le="+Inf", then name_sum and
 * name_count, each with the given labels (le is added last). bounds holds nbounds upper bounds in
 * increasing order; counts holds nbounds + 1 per-bucket (not cumulative) counts, where counts[i]
 * counts observations in (bounds[i-1], bounds[i]] and counts[nbounds] those above the last bound.
 * The renderer accumulates them, so buckets print cumulative as the format asks, and _count is
 * their total.
 */
void base_prom_histogram(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                         size_t nlabels, const double *bounds, const uint64_t *counts,
                         size_t nbounds, double sum);

/* The text rendered since the last reset (NUL-terminated; *len gets its length without the NUL,
 * len may be NULL), or NULL when an append failed for lack of memory. Valid until the next call
 * on this renderer. */
const char *base_prom_text(const base_prom_t *self, size_t *len);

/* Bytes the buffer can hold without growing (for tests and for sizing). */
size_t base_prom_capacity(const base_prom_t *self);

#endif
