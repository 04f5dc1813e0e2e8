/*
 * edge_origin.c: the Origin allowlist (edge_origin.h). Entries and candidate origins go through
 * the same parser into scheme, host and port, lowercased and with default ports dropped, so a
 * match is a comparison of normalized parts. A wildcard entry keeps its host without the "*.":
 * a candidate matches when its host ends in "." plus that suffix and the labels before it are
 * not empty. The list is a few entries, scanned once per upgrade: an array is enough.
 */
#include "edge_origin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One parsed origin or entry. */
typedef struct s_entry {
    char scheme[16];            /* lowercased, e.g. "https" */
    char host[EDGE_ORIGIN_MAX]; /* lowercased; for a wildcard, the part after "*." */
    int port;                   /* explicit non-default port, or -1 */
    bool wildcard;              /* host was "*.<host>" */
} s_entry_t;

struct edge_origin {
    s_entry_t *entries; /* the entries other than "*" */
    size_t count;       /* how many */
    bool any;           /* the list holds "*" */
};

/* The default port of a scheme, or -1 when it has none we know. */
static int s_default_port(const char *scheme)
{
    if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
        return 443;
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
        return 80;
    return -1;
}

/* True when host (lowercased) is dot-separated labels of [a-z0-9-], none empty, or an IPv6
 * literal in brackets. */
static bool s_host_valid(const char *host)
{
    size_t len = strlen(host);
    if (len == 0)
        return false;
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < len; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                return false;
        return true;
    }
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            label++;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* Parses text (len bytes) as scheme://host[:port] into *e; a leading "*." of the host is
 * accepted when allow_wild. Returns 0, or -1 with the reason in *why. */
static int s_parse(const char *text, size_t len, bool allow_wild, s_entry_t *e, const char **why)
{
    memset(e, 0, sizeof *e);
    e->port = -1;
    const char *sep = len >= 3 ? memchr(text, ':', len) : NULL;
    if (!sep || (size_t)(text + len - sep) < 3 || sep[1] != '/' || sep[2] != '/') {
        *why = "not scheme://host[:port]";
        return -1;
    }
    size_t slen = (size_t)(sep - text);
    if (slen == 0 || slen >= sizeof e->scheme || !isalpha((unsigned char)text[0])) {
        *why = "bad scheme";
        return -1;
    }
    for (size_t i = 0; i < slen; i++) {
        char c = (char)tolower((unsigned char)text[i]);
        if (!isalnum((unsigned char)c) && c != '+' && c != '-' && c != '.') {
            *why = "bad scheme";
            return -1;
        }
        e->scheme[i] = c;
    }
    const char *host = sep + 3;
    const char *end = text + len;
    /* The port starts at the last ':' after a closing bracket, if any. */
    const char *close = memchr(host, ']', (size_t)(end - host));
    const char *from = close ? close : host;
    const char *colon = memchr(from, ':', (size_t)(end - from));
    const char *hend = colon ? colon : end;
    if (colon) {
        if (colon + 1 == end || end - colon > 6) {
            *why = "bad port";
            return -1;
        }
        long port = 0;
        for (const char *p = colon + 1; p < end; p++) {
            if (*p < '0' || *p > '9') {
                *why = "bad port (no path or trailing slash allowed)";
                return -1;
            }
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) {
            *why = "port out of range";
            return -1;
        }
        e->port = (int)port;
    }
    if (allow_wild && hend - host >= 2 && host[0] == '*' && host[1] == '.') {
        e->wildcard = true;
        host += 2;
    }
    size_t hlen = (size_t)(hend - host);
    if (hlen >= sizeof e->host) {
        *why = "host too long";
        return -1;
    }
    for (size_t i = 0; i < hlen; i++)
        e->host[i] = (char)tolower((unsigned char)host[i]);
    e->host[hlen] = '\0';
    if (!s_host_valid(e->host) || (e->wildcard && e->host[0] == '[')) {
        *why = "bad host (a path or trailing slash is not part of an origin)";
        return -1;
    }
    if (e->port == s_default_port(e->scheme))
        e->port = -1;
    return 0;
}

edge_origin_t *edge_origin_new(const char *list, char *err, size_t errlen)
{
    edge_origin_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        p = comma ? comma + 1 : end;
        if (a == b) {
            snprintf(err, errlen, "empty entry in the list");
            goto err;
        }
        if (b - a == 1 && *a == '*') {
            self->any = true;
            continue;
        }
        s_entry_t e;
        const char *why = NULL;
        if (s_parse(a, (size_t)(b - a), true, &e, &why) < 0) {
            snprintf(err, errlen, "'%.*s': %s", (int)(b - a), a, why);
            goto err;
        }
        s_entry_t *grown = realloc(self->entries, (self->count + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
        self->entries = grown;
        self->entries[self->count++] = e;
    }
    return self;
err:
    edge_origin_destroy(&self);
    return NULL;
}

void edge_origin_destroy(edge_origin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

bool edge_origin_any(const edge_origin_t *self)
{
    return self->any || self->count == 0;
}

bool edge_origin_empty(const edge_origin_t *self)
{
    return !self->any && self->count == 0;
}

/* True when the candidate's host falls under entry e. */
static bool s_host_matches(const s_entry_t *e, const char *host)
{
    if (!e->wildcard)
        return strcmp(e->host, host) == 0;
    size_t hlen = strlen(host), slen = strlen(e->host);
    /* At least one label, then ".", then the suffix: "x.example.com" for "*.example.com". */
    if (hlen < slen + 2)
        return false;
    return host[hlen - slen - 1] == '.' && strcmp(host + hlen - slen, e->host) == 0;
}

bool edge_origin_allowed(const edge_origin_t *self, const char *origin, size_t len)
{
    if (edge_origin_any(self))
        return true;
    if (len == 0 || len > EDGE_ORIGIN_MAX)
        return false;
    s_entry_t c;
    const char *why;
    if (s_parse(origin, len, false, &c, &why) < 0)
        return false; /* "null" and anything malformed */
    for (size_t i = 0; i < self->count; i++) {
        const s_entry_t *e = &self->entries[i];
        if (e->port == c.port && strcmp(e->scheme, c.scheme) == 0 && s_host_matches(e, c.host))
            return true;
    }
    return false;
}
