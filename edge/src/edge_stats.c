/*
 * edge_stats.c: counter labels and the log summary (see edge_stats.h).
 */
#include "edge_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const uint64_t edge_age_bounds_ns[EDGE_AGE_BUCKETS] = {
    1000000,   2500000,   5000000,    10000000,   25000000,   50000000,    100000000,
    250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

const uint64_t edge_life_bounds_ms[EDGE_LIFE_BUCKETS] = {
    1000, 10000, 60000, 300000, 900000, 3600000, 14400000, 43200000, 86400000,
};

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

void edge_stats_log(const edge_stats_t *s, base_log_t *log, weft_log_level_t level, const char *when)
{
    base_log(log, level,
             "stats (%s): conns=%" PRIu64 " conns_total=%" PRIu64 " refused=%" PRIu64
             " msgs_in=%" PRIu64 " events_in=%" PRIu64 " unrouted=%" PRIu64 " deliveries=%" PRIu64
             " frames_out=%" PRIu64 " bytes_out=%" PRIu64 " writes=%" PRIu64
             " write_rounds=%" PRIu64 " paced_rounds=%" PRIu64 " notices=%" PRIu64
             " slow_closes=%" PRIu64 " peer_closes=%" PRIu64 " subs=+%" PRIu64 "/-%" PRIu64
             " router_connects=%" PRIu64 " router_disconnects=%" PRIu64,
             when, s->conns_current, s->conns_total, s->conns_refused, s->msgs_in, s->events_in,
             s->events_unrouted, s->deliveries, s->frames_out, s->bytes_out, s->writes,
             s->write_rounds, s->paced_rounds, s->notices, s->slow_closes, s->peer_closes,
             s->subs_added, s->subs_removed, s->router_connects, s->router_disconnects);
    base_log(log, level,
             "stats (%s): refused: origin=%" PRIu64 " origin_missing=%" PRIu64 " per_ip=%" PRIu64
             " http_incomplete=%" PRIu64 " lws_closes_other=%" PRIu64,
             when, s->origin_refused, s->origin_missing, s->ip_refused, s->http_incomplete,
             s->lws_closes_other);
    char auth[768] = "";
    for (int r = 1; r < EDGE_REFUSE__COUNT; r++)
        if (s->auth_refused[r])
            s_append(auth, sizeof auth, edge_auth_refusal_name(r), s->auth_refused[r]);
    base_log(log, level, "stats (%s): auth: ok=%" PRIu64 " refreshes=%" PRIu64 " refused:%s", when,
             s->auth_ok, s->auth_refreshes, auth[0] ? auth : " none");
    const edge_stream_stats_t *r = &s->rooms;
    base_log(log, level,
             "stats (%s): rooms: streams=%" PRIu64 " gaps=%" PRIu64 " gap_events=%" PRIu64
             " repaired=%" PRIu64 " unrepaired=%" PRIu64 " epoch_changes=%" PRIu64 " held=%" PRIu64
             " duplicates=%" PRIu64 " replayed=%" PRIu64 " overflows=%" PRIu64 " probes=%" PRIu64
             " stale_replies=%" PRIu64 " heads=%" PRIu64 " head_probes=%" PRIu64,
             when, s->room_streams, r->gaps, r->gap_events, r->gaps_repaired, r->gaps_unrepaired,
             r->epoch_changes, r->held, r->duplicates, r->replayed, r->overflows, s->probes,
             r->stale_replies, s->heads_in, s->head_probes);
    const edge_stream_stats_t *m = &s->resume;
    base_log(log, level,
             "stats (%s): resume: started=%" PRIu64 " recovered=%" PRIu64 " epoch_changed=%" PRIu64
             " too_old=%" PRIu64 " history_unavailable=%" PRIu64 " merging=%" PRIu64
             " gaps=%" PRIu64 " repaired=%" PRIu64 " unrepaired=%" PRIu64 " notices=%" PRIu64
             " held=%" PRIu64 " duplicates=%" PRIu64 " replayed=%" PRIu64 " overflows=%" PRIu64,
             when, m->resumes, m->resumed[EDGE_REASON_NONE], m->resumed[EDGE_REASON_EPOCH_CHANGED],
             m->resumed[EDGE_REASON_TOO_OLD], m->resumed[EDGE_REASON_UNAVAILABLE], s->syncs,
             m->gaps, m->gaps_repaired, m->gaps_unrepaired,
             m->notices[EDGE_REASON_EPOCH_CHANGED] + m->notices[EDGE_REASON_TOO_OLD] +
                 m->notices[EDGE_REASON_UNAVAILABLE],
             m->held, m->duplicates, m->replayed, m->overflows);
    const edge_hist_stats_t *h = &s->hist;
    base_log(log, level,
             "stats (%s): history: asks=%" PRIu64 " coalesced=%" PRIu64 " queued=%" PRIu64
             " sent=%" PRIu64 " ok=%" PRIu64 " epoch_changed=%" PRIu64 " too_old=%" PRIu64
             " bad_request=%" PRIu64 " events=%" PRIu64 " timeouts=%" PRIu64 " retries=%" PRIu64
             " given_up=%" PRIu64 " unknown_replies=%" PRIu64 " bad_replies=%" PRIu64
             " send_errors=%" PRIu64,
             when, h->asks, h->coalesced, h->queued, h->sent, h->replies[EDGE_HIST_OK],
             h->replies[EDGE_HIST_EPOCH_CHANGED], h->replies[EDGE_HIST_TOO_OLD],
             h->replies[EDGE_HIST_BAD_REQUEST], h->events, h->timeouts, h->retries, h->given_up,
             h->replies_unknown, h->replies_bad, h->send_errors);
    const edge_batch_stats_t *b = &s->batch;
    base_log(log, level,
             "stats (%s): batching: immediate=%" PRIu64 " held=%" PRIu64 " coalesced=%" PRIu64
             " batches=%" PRIu64 " batched_events=%" PRIu64 " singles=%" PRIu64
             " batch_deliveries=%" PRIu64 " keyless=%" PRIu64 " nomem=%" PRIu64
             " flushes: window=%" PRIu64 " max=%" PRIu64 " bytes=%" PRIu64 " immediate=%" PRIu64
             " critical=%" PRIu64 " break=%" PRIu64 " forced=%" PRIu64,
             when, b->immediate, b->held, b->coalesced, b->batches, b->batched_events, b->singles,
             s->batch_deliveries, b->keyless, b->nomem, b->flushes[EDGE_BATCH_WHY_WINDOW],
             b->flushes[EDGE_BATCH_WHY_MAX], b->flushes[EDGE_BATCH_WHY_BYTES],
             b->flushes[EDGE_BATCH_WHY_IMMEDIATE], b->flushes[EDGE_BATCH_WHY_CRITICAL],
             b->flushes[EDGE_BATCH_WHY_BREAK], b->flushes[EDGE_BATCH_WHY_FORCED]);
    char buf[768] = "";
    for (int e = 1; e < EDGE_ERR__COUNT; e++)
        s_append(buf, sizeof buf, edge_err_name((edge_err_t)e), s->errors[e]);
    base_log(log, level, "stats (%s): errors:%s", when, buf);
    buf[0] = '\0';
    for (int c = 0; c < EDGE_CLOSE__COUNT; c++)
        s_append(buf, sizeof buf, edge_close_label((edge_close_t)c), s->closes[c]);
    base_log(log, level, "stats (%s): closes:%s", when, buf);
    buf[0] = '\0';
    for (int w = 1; w < WIRE_ERR__COUNT; w++)
        if (s->events_bad[w])
            s_append(buf, sizeof buf, wire_err_name((wire_err_t)w), s->events_bad[w]);
    for (int d = 0; d < EDGE_DROP__COUNT; d++)
        if (s->events_dropped[d])
            s_append(buf, sizeof buf, edge_drop_label((edge_drop_t)d), s->events_dropped[d]);
    base_log(log, level, "stats (%s): dropped events:%s", when, buf[0] ? buf : " none");
}
