/*
 * edge_stats.c: counter labels and the log summary (see edge_stats.h).
 */
#include "edge_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const s_close_labels[EDGE_CLOSE__COUNT] = {
#define X(name, code, label) [EDGE_CLOSE_##name] = label,
    EDGE_CLOSES(X)
#undef X
};

static const int s_close_codes[EDGE_CLOSE__COUNT] = {
#define X(name, code, label) [EDGE_CLOSE_##name] = code,
    EDGE_CLOSES(X)
#undef X
};

static const char *const s_drop_labels[EDGE_DROP__COUNT] = {
    [EDGE_DROP_KIND] = "kind",
    [EDGE_DROP_UNSTAMPED] = "unstamped",
    [EDGE_DROP_PAYLOAD] = "payload",
    [EDGE_DROP_NOMEM] = "nomem",
};

const char *edge_close_label(edge_close_t c)
{
    return (unsigned)c < EDGE_CLOSE__COUNT ? s_close_labels[c] : "unknown";
}

int edge_close_code(edge_close_t c)
{
    return (unsigned)c < EDGE_CLOSE__COUNT ? s_close_codes[c] : 1011;
}

const char *edge_drop_label(edge_drop_t d)
{
    return (unsigned)d < EDGE_DROP__COUNT ? s_drop_labels[d] : "unknown";
}

/* Appends " label=value" for every nonzero counter of a table; "none" when all are zero. */
static void s_append(char *buf, size_t cap, const char *label, uint64_t value)
{
    size_t used = strlen(buf);
    if (used < cap)
        snprintf(buf + used, cap - used, " %s=%" PRIu64, label, value);
}

void edge_stats_log(const edge_stats_t *s, wire_log_t *log, wire_level_t level, const char *when)
{
    wire_log(log, level,
             "stats (%s): conns=%" PRIu64 " conns_total=%" PRIu64 " refused=%" PRIu64
             " msgs_in=%" PRIu64 " events_in=%" PRIu64 " unrouted=%" PRIu64 " deliveries=%" PRIu64
             " frames_out=%" PRIu64 " bytes_out=%" PRIu64 " gaps=%" PRIu64 " gap_events=%" PRIu64
             " seq_old=%" PRIu64 " new_epochs=%" PRIu64 " slow_closes=%" PRIu64
             " peer_closes=%" PRIu64 " subs=+%" PRIu64 "/-%" PRIu64,
             when, s->conns_current, s->conns_total, s->conns_refused, s->msgs_in, s->events_in,
             s->events_unrouted, s->deliveries, s->frames_out, s->bytes_out, s->gaps, s->gap_events,
             s->seq_old, s->new_epochs, s->slow_closes, s->peer_closes, s->subs_added,
             s->subs_removed);
    char buf[768] = "";
    for (int e = 1; e < EDGE_ERR__COUNT; e++)
        s_append(buf, sizeof buf, edge_err_name((edge_err_t)e), s->errors[e]);
    wire_log(log, level, "stats (%s): errors:%s", when, buf);
    buf[0] = '\0';
    for (int c = 0; c < EDGE_CLOSE__COUNT; c++)
        s_append(buf, sizeof buf, edge_close_label((edge_close_t)c), s->closes[c]);
    wire_log(log, level, "stats (%s): closes:%s", when, buf);
    buf[0] = '\0';
    for (int w = 1; w < WIRE_ERR__COUNT; w++)
        if (s->events_bad[w])
            s_append(buf, sizeof buf, wire_err_name((wire_err_t)w), s->events_bad[w]);
    for (int d = 0; d < EDGE_DROP__COUNT; d++)
        if (s->events_dropped[d])
            s_append(buf, sizeof buf, edge_drop_label((edge_drop_t)d), s->events_dropped[d]);
    wire_log(log, level, "stats (%s): dropped events:%s", when, buf[0] ? buf : " none");
}
