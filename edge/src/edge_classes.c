/*
 * edge_classes.c: parsing and matching delivery classes (see edge_classes.h).
 *
 * The list is small (a handful of classes, a few patterns each) and matched once per event per
 * room, so a linear scan with an iterative glob is all it needs.
 */
#include "edge_classes.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One class with its patterns. */
typedef struct s_class {
    edge_class_t pub;                            /* what users of the list read */
    size_t npatterns;                            /* patterns in use */
    char *patterns[EDGE_CLASS_PATTERNS_MAX];     /* NUL-terminated, owned */
    size_t pattern_len[EDGE_CLASS_PATTERNS_MAX]; /* their lengths */
} s_class_t;

struct edge_classes {
    size_t count;                      /* classes in use */
    s_class_t classes[EDGE_CLASS_MAX]; /* in the order given: the first match wins */
};

bool edge_class_glob(const char *pattern, size_t plen, const char *text, size_t tlen)
{
    /* Iterative glob with one backtrack point (the last '*'): linear in practice. */
    size_t p = 0, t = 0, star = (size_t)-1, mark = 0;
    while (t < tlen) {
        if (p < plen && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (p < plen && pattern[p] == text[t]) {
            p++;
            t++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < plen && pattern[p] == '*')
        p++;
    return p == plen;
}

/* Formats an error into err and returns NULL (for one-line error returns). */
static void *s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* Trims blanks at both ends of [*s, *s + *len). */
static void s_trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* True when every byte of s is in the alphabet of class names. */
static bool s_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > EDGE_CLASS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* True for a valid type pattern: event-type characters [a-z0-9_.] and '*', 1..64 bytes. */
static bool s_pattern_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_' || c == '.' ||
              c == '*'))
            return false;
    }
    return true;
}

/* True for a valid coalesce field name: [A-Za-z0-9_-], 1..64 bytes. */
static bool s_key_ok(const char *s, size_t len)
{
    if (len == 0 || len > EDGE_CLASS_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* Parses a decimal integer in [min, max] from [s, s + len). Returns 0, or -1. */
static int s_int(const char *s, size_t len, long min, long max, long *out)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)buf[i]))
            return -1;
    errno = 0;
    long v = strtol(buf, NULL, 10);
    if (errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses one class "name=patterns:window[:max[:key]]" (trimmed, non-empty) into c.
 * Returns 0, or -1 with err set. no is the class's 1-based position, for messages. */
static int s_parse_class(s_class_t *c, const char *s, size_t len, size_t default_max, size_t no,
                         char *err, size_t errlen)
{
    const char *eq = memchr(s, '=', len);
    if (!eq) {
        s_fail(err, errlen, "class %zu ('%.*s'): expected name=patterns:window_ms[:max[:key]]", no,
               (int)len, s);
        return -1;
    }
    const char *name = s;
    size_t name_len = (size_t)(eq - s);
    s_trim(&name, &name_len);
    if (!s_name_ok(name, name_len)) {
        s_fail(err, errlen, "class %zu: name '%.*s' must match [a-z0-9_]{1,%d}", no, (int)name_len,
               name, EDGE_CLASS_NAME_MAX);
        return -1;
    }
    memcpy(c->pub.name, name, name_len);
    c->pub.name[name_len] = '\0';

    /* The rest splits on ':' into patterns, window, max, key. */
    const char *fields[4] = {NULL};
    size_t flen[4] = {0};
    size_t nf = 0;
    const char *p = eq + 1, *end = s + len;
    while (p <= end) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *stop = colon ? colon : end;
        if (nf == 4) {
            s_fail(err, errlen, "class %zu ('%s'): too many ':' fields (patterns:window:max:key)",
                   no, c->pub.name);
            return -1;
        }
        fields[nf] = p;
        flen[nf] = (size_t)(stop - p);
        s_trim(&fields[nf], &flen[nf]);
        nf++;
        if (!colon)
            break;
        p = colon + 1;
    }
    if (nf < 2 || flen[1] == 0) {
        s_fail(err, errlen, "class %zu ('%s'): missing window_ms (name=patterns:window_ms)", no,
               c->pub.name);
        return -1;
    }

    /* Patterns. */
    const char *q = fields[0], *qend = fields[0] + flen[0];
    while (q <= qend) {
        const char *comma = memchr(q, ',', (size_t)(qend - q));
        const char *stop = comma ? comma : qend;
        const char *pat = q;
        size_t plen = (size_t)(stop - q);
        s_trim(&pat, &plen);
        if (!s_pattern_ok(pat, plen)) {
            s_fail(err, errlen,
                   "class %zu ('%s'): pattern '%.*s' must be 1..64 of [a-z0-9_.] and '*'", no,
                   c->pub.name, (int)plen, pat);
            return -1;
        }
        if (c->npatterns == EDGE_CLASS_PATTERNS_MAX) {
            s_fail(err, errlen, "class %zu ('%s'): more than %d patterns", no, c->pub.name,
                   EDGE_CLASS_PATTERNS_MAX);
            return -1;
        }
        char *copy = strndup(pat, plen);
        if (!copy) {
            s_fail(err, errlen, "out of memory");
            return -1;
        }
        c->patterns[c->npatterns] = copy;
        c->pattern_len[c->npatterns] = plen;
        c->npatterns++;
        if (!comma)
            break;
        q = comma + 1;
    }

    long v;
    if (s_int(fields[1], flen[1], 0, EDGE_CLASS_WINDOW_MAX, &v) < 0) {
        s_fail(err, errlen, "class %zu ('%s'): window '%.*s' must be milliseconds in 0..%d", no,
               c->pub.name, (int)flen[1], fields[1], EDGE_CLASS_WINDOW_MAX);
        return -1;
    }
    c->pub.window_ms = (int)v;
    c->pub.max = default_max;
    if (nf >= 3 && flen[2] > 0) {
        if (s_int(fields[2], flen[2], 1, EDGE_CLASS_BATCH_MAX, &v) < 0) {
            s_fail(err, errlen, "class %zu ('%s'): max '%.*s' must be an integer in 1..%d", no,
                   c->pub.name, (int)flen[2], fields[2], EDGE_CLASS_BATCH_MAX);
            return -1;
        }
        c->pub.max = (size_t)v;
    }
    if (nf >= 4 && flen[3] > 0) {
        if (!s_key_ok(fields[3], flen[3])) {
            s_fail(err, errlen, "class %zu ('%s'): key '%.*s' must match [A-Za-z0-9_-]{1,%d}", no,
                   c->pub.name, (int)flen[3], fields[3], EDGE_CLASS_KEY_MAX);
            return -1;
        }
        memcpy(c->pub.key, fields[3], flen[3]);
        c->pub.key[flen[3]] = '\0';
        c->pub.key_len = flen[3];
    }
    return 0;
}

edge_classes_t *edge_classes_parse(const char *spec, size_t default_max, char *err, size_t errlen)
{
    edge_classes_t *self = calloc(1, sizeof *self);
    if (!self)
        return s_fail(err, errlen, "out of memory");
    if (default_max == 0)
        default_max = 1;
    const char *p = spec ? spec : "";
    const char *end = p + strlen(p);
    size_t no = 0;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        const char *s = p;
        size_t len = (size_t)(stop - p);
        s_trim(&s, &len);
        if (len > 0) {
            no++;
            if (self->count == EDGE_CLASS_MAX) {
                s_fail(err, errlen, "more than %d classes", EDGE_CLASS_MAX);
                goto err;
            }
            s_class_t *c = &self->classes[self->count++];
            if (s_parse_class(c, s, len, default_max, no, err, errlen) < 0)
                goto err;
            for (size_t i = 0; i + 1 < self->count; i++) {
                if (strcmp(self->classes[i].pub.name, c->pub.name) == 0) {
                    s_fail(err, errlen, "class %zu: name '%s' is used twice", no, c->pub.name);
                    goto err;
                }
            }
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    return self;
err:
    edge_classes_destroy(&self);
    return NULL;
}

void edge_classes_destroy(edge_classes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_classes_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        for (size_t j = 0; j < self->classes[i].npatterns; j++)
            free(self->classes[i].patterns[j]);
    free(self);
    *self_p = NULL;
}

size_t edge_classes_count(const edge_classes_t *self)
{
    return self ? self->count : 0;
}

const edge_class_t *edge_classes_get(const edge_classes_t *self, size_t idx)
{
    return idx < self->count ? &self->classes[idx].pub : NULL;
}

int edge_classes_match(const edge_classes_t *self, const char *type, size_t len)
{
    if (!self)
        return -1;
    for (size_t i = 0; i < self->count; i++) {
        const s_class_t *c = &self->classes[i];
        for (size_t j = 0; j < c->npatterns; j++)
            if (edge_class_glob(c->patterns[j], c->pattern_len[j], type, len))
                return (int)i;
    }
    return -1;
}
