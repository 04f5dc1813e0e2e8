/*
 * bench_scan.c: allocation-free scanner for the edge's frames (see bench_scan.h).
 */
#include "bench_scan.h"

#include <stdbool.h>
#include <string.h>

/* Bits of bench_scan's "have" set: which fields were seen. */
enum { HAVE_OP = 1, HAVE_ROOM = 2, HAVE_EPOCH = 4, HAVE_SEQ = 8, HAVE_TS = 16, HAVE_EVENTS = 32 };

/* Skips JSON whitespace. */
static const char *s_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p is at '"': returns the byte after the closing quote and the raw contents (escapes are left
 * as they are: the bench compares only names that cannot contain any), or NULL if unterminated.
 * memchr finds each candidate quote; an odd run of backslashes before one escapes it. Event
 * payloads are skipped through here, so this is the scanner's inner loop. */
static const char *s_string(const char *p, const char *e, const char **s, size_t *len)
{
    const char *start = ++p;
    while (p < e) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q)
            return NULL;
        const char *b = q;
        while (b > start && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0) {
            *s = start;
            *len = (size_t)(q - start);
            return q + 1;
        }
        p = q + 1;
    }
    return NULL;
}

/* Reads the literal true or false into *v (1 or 0); NULL when it is neither. */
static const char *s_bool(const char *p, const char *e, int *v)
{
    if (e - p >= 4 && memcmp(p, "true", 4) == 0) {
        *v = 1;
        return p + 4;
    }
    if (e - p >= 5 && memcmp(p, "false", 5) == 0) {
        *v = 0;
        return p + 5;
    }
    return NULL;
}

/* Reads a non-negative integer; NULL when there is none or it overflows 64 bits. */
static const char *s_u64(const char *p, const char *e, uint64_t *v)
{
    uint64_t x = 0;
    const char *start = p;
    while (p < e && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return NULL;
        x = x * 10 + d;
        p++;
    }
    if (p == start || (p < e && (*p == '.' || *p == 'e' || *p == 'E')))
        return NULL;
    *v = x;
    return p;
}

/* Skips one JSON value of any kind; NULL when it is malformed or cut short. Objects and arrays
 * are skipped by counting brackets outside strings, without checking what is inside. */
static const char *s_skip(const char *p, const char *e)
{
    const char *s;
    size_t n;
    if (p >= e)
        return NULL;
    if (*p == '"')
        return s_string(p, e, &s, &n);
    if (*p == '{' || *p == '[') {
        unsigned depth = 0;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                p = s_string(p, e, &s, &n);
                if (!p)
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n' &&
           *p != '\r')
        p++;
    return p == start ? NULL : p;
}

/* True when the raw key (k, klen) is the literal lit. */
static bool s_is(const char *k, size_t klen, const char *lit, size_t litlen)
{
    return klen == litlen && memcmp(k, lit, litlen) == 0;
}
#define IS(k, klen, lit) s_is((k), (klen), (lit), sizeof(lit) - 1)

/* Maps an op name to its bench_op_t. */
static bench_op_t s_op(const char *s, size_t n)
{
    if (IS(s, n, "event"))
        return BENCH_OP_EVENT;
    if (IS(s, n, "batch"))
        return BENCH_OP_BATCH;
    if (IS(s, n, "subscribed"))
        return BENCH_OP_SUBSCRIBED;
    if (IS(s, n, "unsubscribed"))
        return BENCH_OP_UNSUBSCRIBED;
    if (IS(s, n, "welcome"))
        return BENCH_OP_WELCOME;
    if (IS(s, n, "pong"))
        return BENCH_OP_PONG;
    if (IS(s, n, "error"))
        return BENCH_OP_ERROR;
    if (IS(s, n, "position"))
        return BENCH_OP_POSITION;
    return BENCH_OP_OTHER;
}

/* The fields an event frame must have. */
#define EVENT_NEEDS (HAVE_ROOM | HAVE_EPOCH | HAVE_SEQ | HAVE_TS)

/* True when msg already holds everything its op needs, so the rest of the frame can be left.
 * Never for an event: its critical flag may come last, after "data". */
static bool s_complete(const bench_msg_t *msg, unsigned have)
{
    if (msg->op == BENCH_OP_BATCH)
        return (have & (HAVE_ROOM | HAVE_EPOCH | HAVE_EVENTS)) ==
               (HAVE_ROOM | HAVE_EPOCH | HAVE_EVENTS);
    return false;
}

int bench_scan(const char *buf, size_t len, bench_msg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    msg->recovered = -1;
    const char *e = buf + len, *p = s_ws(buf, e);
    msg->end = e;
    if (p >= e || *p != '{')
        return -1;
    p = s_ws(p + 1, e);
    if (p < e && *p == '}')
        return 0;
    unsigned have = 0;
    for (;;) {
        const char *k, *s;
        size_t klen, slen;
        if (p >= e || *p != '"' || !(p = s_string(p, e, &k, &klen)))
            return -1;
        p = s_ws(p, e);
        if (p >= e || *p != ':')
            return -1;
        p = s_ws(p + 1, e);
        if (p >= e)
            return -1;
        if (IS(k, klen, "op")) {
            if (*p != '"' || !(p = s_string(p, e, &s, &slen)))
                return -1;
            msg->op = s_op(s, slen);
            have |= HAVE_OP;
        } else if (IS(k, klen, "room")) {
            if (*p != '"' || !(p = s_string(p, e, &msg->room, &msg->room_len)))
                return -1;
            have |= HAVE_ROOM;
        } else if (IS(k, klen, "epoch")) {
            p = s_u64(p, e, &msg->epoch);
            have |= HAVE_EPOCH;
        } else if (IS(k, klen, "seq")) {
            p = s_u64(p, e, &msg->seq);
            have |= HAVE_SEQ;
        } else if (IS(k, klen, "ts")) {
            p = s_u64(p, e, &msg->ts);
            have |= HAVE_TS;
        } else if (IS(k, klen, "recovered")) {
            p = s_bool(p, e, &msg->recovered);
        } else if (IS(k, klen, "critical")) {
            p = s_bool(p, e, &msg->critical);
        } else if (IS(k, klen, "events")) {
            if (*p != '[')
                return -1;
            msg->events = p;
            have |= HAVE_EVENTS;
            if (s_complete(msg, have))
                return 0;
            p = s_skip(p, e);
        } else {
            p = s_skip(p, e);
        }
        if (!p)
            return -1;
        if (s_complete(msg, have))
            return 0;
        p = s_ws(p, e);
        if (p < e && *p == ',') {
            p = s_ws(p + 1, e);
            continue;
        }
        if (p < e && *p == '}')
            break;
        return -1;
    }
    /* The whole object was read: an event needs its fields; a batch would have completed. */
    if (msg->op == BENCH_OP_EVENT)
        return (have & EVENT_NEEDS) == EVENT_NEEDS ? 0 : -1;
    if (msg->op == BENCH_OP_BATCH)
        return -1;
    return 0;
}

void bench_batch_begin(bench_batch_it_t *it, const bench_msg_t *msg)
{
    it->p = msg->events ? msg->events + 1 : msg->end;
    it->end = msg->end;
    it->started = 0;
}

int bench_batch_next(bench_batch_it_t *it, uint64_t *seq, uint64_t *ts, int *critical)
{
    int crit = 0;
    const char *e = it->end, *p = s_ws(it->p, e);
    if (p >= e)
        return -1;
    if (*p == ']') {
        it->p = p;
        return 0;
    }
    if (it->started) {
        if (*p != ',')
            return -1;
        p = s_ws(p + 1, e);
    }
    if (p >= e || *p != '{')
        return -1;
    p = s_ws(p + 1, e);
    unsigned have = 0;
    while (p < e && *p != '}') {
        const char *k;
        size_t klen;
        if (*p != '"' || !(p = s_string(p, e, &k, &klen)))
            return -1;
        p = s_ws(p, e);
        if (p >= e || *p != ':')
            return -1;
        p = s_ws(p + 1, e);
        if (IS(k, klen, "seq")) {
            p = s_u64(p, e, seq);
            have |= HAVE_SEQ;
        } else if (IS(k, klen, "ts")) {
            p = s_u64(p, e, ts);
            have |= HAVE_TS;
        } else if (IS(k, klen, "critical")) {
            p = s_bool(p, e, &crit);
        } else {
            p = s_skip(p, e);
        }
        if (!p)
            return -1;
        p = s_ws(p, e);
        if (p < e && *p == ',')
            p = s_ws(p + 1, e);
        else if (p >= e || *p != '}')
            return -1;
    }
    if (p >= e || (have & (HAVE_SEQ | HAVE_TS)) != (HAVE_SEQ | HAVE_TS))
        return -1;
    it->p = p + 1;
    it->started = 1;
    if (critical)
        *critical = crit;
    return 1;
}
