/*
 * rtr_stats.c: rendering of the router's counters for the log.
 */
#include "rtr_stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* Appends printf output at *off, never past len; keeps *off within the buffer. */
__attribute__((format(printf, 4, 5))) static void s_append(char *buf, size_t len, size_t *off,
                                                           const char *fmt, ...)
{
    if (*off >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *off = (size_t)n >= len - *off ? len - 1 : *off + (size_t)n;
}

/* The name of a CURVE refusal reason. */
const char *rtr_curve_deny_name(rtr_curve_deny_t reason)
{
    static const char *const names[RTR_CURVE_DENY__COUNT] = {"key", "mechanism", "handshake"};
    return (unsigned)reason < RTR_CURVE_DENY__COUNT ? names[reason] : "?";
}

/* Renders the summary line logged periodically and at exit. */
char *rtr_stats_format(const rtr_stats_t *s, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    size_t off = 0;
    s_append(buf, len, &off,
             "received=%" PRIu64 " accepted=%" PRIu64 " invalid=%" PRIu64 " duplicates=%" PRIu64
             " heartbeats=%" PRIu64 " acks=%" PRIu64 " ack_entries=%" PRIu64
             " subscriptions=%" PRIu64 " unsubscriptions=%" PRIu64 " rooms=%" PRIu64
             " publishers=%" PRIu64 " expired=%" PRIu64 " send_errors=%" PRIu64
             " untracked=%" PRIu64,
             s->received, s->accepted, s->invalid, s->duplicates, s->heartbeats, s->acks_sent,
             s->ack_entries, s->subscriptions, s->unsubscriptions, s->rooms, s->publishers,
             s->publishers_expired, s->send_errors, s->untracked);
    for (int e = 1; e < WIRE_ERR__COUNT; e++)
        if (s->invalid_by[e])
            s_append(buf, len, &off, " invalid_%s=%" PRIu64, wire_err_name((wire_err_t)e),
                     s->invalid_by[e]);
    s_append(buf, len, &off,
             " history_requests=%" PRIu64 " history_ok=%" PRIu64 " history_epoch_changed=%" PRIu64
             " history_too_old=%" PRIu64 " history_bad_request=%" PRIu64 " history_served=%" PRIu64
             " history_events=%" PRIu64 " history_bytes=%" PRIu64 " history_rooms=%" PRIu64
             " history_evicted_count=%" PRIu64 " history_evicted_age=%" PRIu64
             " history_evicted_cap=%" PRIu64 " history_lost=%" PRIu64,
             s->history_requests, s->history_replies[WIRE_HIST_OK],
             s->history_replies[WIRE_HIST_EPOCH_CHANGED], s->history_replies[WIRE_HIST_TOO_OLD],
             s->history_replies[WIRE_HIST_BAD_REQUEST], s->history_served, s->history_events,
             s->history_bytes, s->history_rooms, s->history_evicted_count, s->history_evicted_age,
             s->history_evicted_cap, s->history_lost);
    s_append(buf, len, &off, " heads_sent=%" PRIu64, s->heads_sent);
    for (int b = 1; b < WIRE_HIST_BAD__COUNT; b++)
        if (s->history_bad_by[b])
            s_append(buf, len, &off, " history_bad_%s=%" PRIu64,
                     wire_hist_bad_name((wire_hist_bad_t)b), s->history_bad_by[b]);
    s_append(buf, len, &off,
             " refused=%" PRIu64 " refusals_sent=%" PRIu64 " refusals_unreported=%" PRIu64
             " rights_reloads=%" PRIu64 " rights_reload_errors=%" PRIu64
             " history_throttled=%" PRIu64,
             s->refused, s->refusals_sent, s->refusals_unreported, s->rights_reloads,
             s->rights_reload_errors, s->history_throttled);
    for (int r = 1; r < WIRE_REFUSE__COUNT; r++)
        if (s->refused_by[r])
            s_append(buf, len, &off, " refused_%s=%" PRIu64, wire_refusal_name((unsigned)r),
                     s->refused_by[r]);
    if (s->curve_accepted || s->curve_denied || s->curve_reloads)
        s_append(buf, len, &off,
                 " curve_accepted=%" PRIu64 " curve_denied=%" PRIu64 " curve_reloads=%" PRIu64,
                 s->curve_accepted, s->curve_denied, s->curve_reloads);
    for (int r = 0; r < RTR_CURVE_DENY__COUNT; r++)
        if (s->curve_denied_by[r])
            s_append(buf, len, &off, " curve_denied_%s=%" PRIu64,
                     rtr_curve_deny_name((rtr_curve_deny_t)r), s->curve_denied_by[r]);
    return buf;
}
