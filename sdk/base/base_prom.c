/*
 * base_prom.c: the Prometheus text exposition renderer (see base_prom.h).
 *
 * Everything appends to one growable buffer that base_prom_reset() rewinds without freeing, so a
 * steady scrape costs no allocation. Numbers are formatted with snprintf straight into the
 * buffer's free space after reserving room for the longest form.
 */
#include "base_prom.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_PROM_INITIAL 4096 /* first buffer size: a small daemon's whole scrape */
#define BASE_PROM_NUM_MAX 32   /* longest formatted number ("%.17g" of a double, a uint64) */

struct base_prom {
    char *buf;   /* the text, NUL-terminated while not failed */
    size_t len;  /* bytes of text */
    size_t cap;  /* bytes allocated */
    bool failed; /* an append could not grow the buffer since the last reset */
};

/* Creates an empty renderer; see base_prom.h. */
base_prom_t *base_prom_new(void)
{
    base_prom_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->buf = malloc(BASE_PROM_INITIAL);
    if (!self->buf) {
        free(self);
        return NULL;
    }
    self->cap = BASE_PROM_INITIAL;
    self->buf[0] = '\0';
    return self;
}

/* Frees the renderer; see base_prom.h. */
void base_prom_destroy(base_prom_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

/* Rewinds the text, keeping the buffer; see base_prom.h. */
void base_prom_reset(base_prom_t *self)
{
    self->len = 0;
    self->failed = false;
    self->buf[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. Returns false (and marks the render failed) when
 * the buffer cannot grow. */
static bool s_reserve(base_prom_t *self, size_t n)
{
    if (self->failed)
        return false;
    if (self->len + n + 1 <= self->cap)
        return true;
    size_t cap = self->cap;
    while (cap < self->len + n + 1)
        cap *= 2;
    char *buf = realloc(self->buf, cap);
    if (!buf) {
        self->failed = true;
        return false;
    }
    self->buf = buf;
    self->cap = cap;
    return true;
}

/* Appends n bytes. */
static void s_put(base_prom_t *self, const char *s, size_t n)
{
    if (!s_reserve(self, n))
        return;
    memcpy(self->buf + self->len, s, n);
    self->len += n;
    self->buf[self->len] = '\0';
}

/* Appends a NUL-terminated string. */
static void s_puts(base_prom_t *self, const char *s)
{
    s_put(self, s, strlen(s));
}

/* Appends s escaped: backslash and newline always, double quote when quote is set (label values
 * escape all three, HELP text only the first two). */
static void s_escaped(base_prom_t *self, const char *s, bool quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if (*s == '"' && quote)
            esc = "\\\"";
        if (!esc)
            continue;
        s_put(self, run, (size_t)(s - run));
        s_put(self, esc, 2);
        run = s + 1;
    }
    s_put(self, run, (size_t)(s - run));
}

/* Appends an unsigned integer in decimal. */
static void s_u64(base_prom_t *self, uint64_t v)
{
    if (!s_reserve(self, BASE_PROM_NUM_MAX))
        return;
    self->len += (size_t)snprintf(self->buf + self->len, BASE_PROM_NUM_MAX, "%" PRIu64, v);
}

/* Appends a double in the shortest of %.15g/%.17g that reads back exactly, or +Inf/-Inf/NaN. */
static void s_double(base_prom_t *self, double v)
{
    if (isnan(v)) {
        s_puts(self, "NaN");
        return;
    }
    if (isinf(v)) {
        s_puts(self, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (!s_reserve(self, BASE_PROM_NUM_MAX))
        return;
    char *at = self->buf + self->len;
    int n = snprintf(at, BASE_PROM_NUM_MAX, "%.15g", v);
    if (strtod(at, NULL) != v)
        n = snprintf(at, BASE_PROM_NUM_MAX, "%.17g", v);
    self->len += (size_t)n;
}

/* Appends "name{a="x",b="y"" (without the closing brace) or just the name when there are no
 * labels, then the extra label le when le is not NULL, then "} ". */
static void s_series(base_prom_t *self, const char *name, const char *suffix,
                     const base_prom_label_t *labels, size_t nlabels, const char *le)
{
    assert(name && *name);
    s_puts(self, name);
    if (suffix)
        s_puts(self, suffix);
    if (nlabels == 0 && !le) {
        s_put(self, " ", 1);
        return;
    }
    s_put(self, "{", 1);
    for (size_t i = 0; i < nlabels; i++) {
        if (i > 0)
            s_put(self, ",", 1);
        s_puts(self, labels[i].name);
        s_put(self, "=\"", 2);
        s_escaped(self, labels[i].value ? labels[i].value : "", true);
        s_put(self, "\"", 1);
    }
    if (le) {
        if (nlabels > 0)
            s_put(self, ",", 1);
        s_put(self, "le=\"", 4);
        s_puts(self, le);
        s_put(self, "\"", 1);
    }
    s_put(self, "} ", 2);
}

/* Appends the HELP and TYPE lines; see base_prom.h. */
void base_prom_family(base_prom_t *self, const char *name, base_prom_type_t type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    assert((size_t)type < sizeof types / sizeof types[0]);
    s_put(self, "# HELP ", 7);
    s_puts(self, name);
    s_put(self, " ", 1);
    s_escaped(self, help, false);
    s_put(self, "\n# TYPE ", 8);
    s_puts(self, name);
    s_put(self, " ", 1);
    s_puts(self, types[type]);
    s_put(self, "\n", 1);
}

/* Appends an integer sample; see base_prom.h. */
void base_prom_u64(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                   size_t nlabels, uint64_t value)
{
    s_series(self, name, NULL, labels, nlabels, NULL);
    s_u64(self, value);
    s_put(self, "\n", 1);
}

/* Appends a floating-point sample; see base_prom.h. */
void base_prom_double(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                      size_t nlabels, double value)
{
    s_series(self, name, NULL, labels, nlabels, NULL);
    s_double(self, value);
    s_put(self, "\n", 1);
}

/* Appends a counter family with a series per array slot; see base_prom.h. */
void base_prom_fields(base_prom_t *self, const base_prom_field_t *table, size_t n,
                      const void *stats)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)stats + table[i].offset, sizeof v);
        base_prom_family(self, table[i].name, table[i].type, table[i].help);
        base_prom_u64(self, table[i].name, NULL, 0, v);
    }
}

void base_prom_counters(base_prom_t *self, const char *name, const char *help, const char *label,
                        const uint64_t *counts, size_t first, size_t n, base_prom_name_fn *names)
{
    base_prom_family(self, name, BASE_PROM_COUNTER, help);
    for (size_t i = first; i < n; i++) {
        base_prom_label_t l = {label, names((unsigned)i)};
        base_prom_u64(self, name, &l, 1, counts[i]);
    }
}

/* Appends a histogram's bucket, sum and count samples; see base_prom.h. */
void base_prom_histogram(base_prom_t *self, const char *name, const base_prom_label_t *labels,
                         size_t nlabels, const double *bounds, const uint64_t *counts,
                         size_t nbounds, double sum)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        total += counts[i];
        char le[BASE_PROM_NUM_MAX];
        if (i == nbounds) {
            snprintf(le, sizeof le, "+Inf");
        } else {
            /* The same shortest form as sample values, so le reads back as the bound. */
            int n = snprintf(le, sizeof le, "%.15g", bounds[i]);
            if (n > 0 && strtod(le, NULL) != bounds[i])
                snprintf(le, sizeof le, "%.17g", bounds[i]);
        }
        s_series(self, name, "_bucket", labels, nlabels, le);
        s_u64(self, total);
        s_put(self, "\n", 1);
    }
    s_series(self, name, "_sum", labels, nlabels, NULL);
    s_double(self, sum);
    s_put(self, "\n", 1);
    s_series(self, name, "_count", labels, nlabels, NULL);
    s_u64(self, total);
    s_put(self, "\n", 1);
}

/* The rendered text, or NULL after a failed append; see base_prom.h. */
const char *base_prom_text(const base_prom_t *self, size_t *len)
{
    if (self->failed)
        return NULL;
    if (len)
        *len = self->len;
    return self->buf;
}

/* The buffer's capacity; see base_prom.h. */
size_t base_prom_capacity(const base_prom_t *self)
{
    return self->cap;
}
