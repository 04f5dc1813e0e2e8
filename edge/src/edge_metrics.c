/*
 * edge_metrics.c: the edge's /metrics text (see edge_metrics.h).
 *
 * Plain counters and gauges come from one table of offsets into edge_stats_t (as rtr_ops.c), so
 * adding a stats field is adding one row; per-reason arrays are one family each with a label per
 * slot, every slot rendered even at zero so rate() sees a series' first increase.
 */
#include "edge_metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base_clock.h"
#include "base_prom.h"
#include "wire_hist.h"
#include "weft/version.h"

struct edge_metrics {
    const edge_stats_t *stats; /* the counters (borrowed) */
    base_prom_t *prom;         /* the text, reused between scrapes */
    double started_wall;       /* creation time, seconds since 1970 */
};

#define S_C(n, f, h)                                                                               \
    {                                                                                              \
        "weft_edge_" n, BASE_PROM_COUNTER, offsetof(edge_stats_t, f), h                            \
    }
#define S_G(n, f, h)                                                                               \
    {                                                                                              \
        "weft_edge_" n, BASE_PROM_GAUGE, offsetof(edge_stats_t, f), h                              \
    }
/* The plain counters and gauges: one unlabelled sample each. */
static const base_prom_field_t s_plain[] = {
    S_G("connections", conns_current, "Open WebSocket connections."),
    S_C("connections_total", conns_total, "WebSocket connections accepted."),
    S_C("http_incomplete_total", http_incomplete,
        "HTTP connections that ended before their headers were complete."),
    S_C("lws_closes_other_total", lws_closes_other,
        "Closes libwebsockets initiated with a code other than 1002 and 1007."),
    S_C("peer_closes_total", peer_closes, "Closes the client initiated."),
    S_C("messages_received_total", msgs_in, "Complete client messages received."),
    S_C("auth_ok_total", auth_ok, "Identities accepted (at the upgrade or by a first auth)."),
    S_C("auth_refreshes_total", auth_refreshes, "Tokens refreshed on live connections."),
    S_C("events_received_total", events_in, "Messages received from the router's fan-out."),
    S_C("events_unrouted_total", events_unrouted, "Valid events no local client listens to."),
    S_C("frames_sent_total", frames_out, "Frames written to clients (events and replies)."),
    S_C("sent_bytes_total", bytes_out, "Body bytes of the frames written to clients."),
    S_C("writes_total", writes, "Socket writes carrying those frames."),
    S_C("write_rounds_total", write_rounds, "Rounds writing every connection with frames."),
    S_C("paced_rounds_total", paced_rounds, "Write rounds followed by a pacing pause."),
    S_C("deliveries_total", deliveries, "Event frames queued to clients."),
    S_C("batch_deliveries_total", batch_deliveries, "Batch frames queued to clients."),
    S_C("notices_total", notices, "Unsolicited subscribed (recovered:false) frames queued."),
    S_C("slow_consumer_closes_total", slow_closes, "Connections closed as slow consumers."),
    S_C("router_subscriptions_added_total", subs_added, "ZeroMQ subscriptions added."),
    S_C("router_subscriptions_removed_total", subs_removed, "ZeroMQ subscriptions removed."),
    S_C("router_connects_total", router_connects, "Connections of the SUB to the router made."),
    S_C("room_probes_total", probes, "Rooms checked against history after a reconnect."),
    S_C("heads_received_total", heads_in, "Room-head messages from the router."),
    S_C("head_probes_total", head_probes, "Room heads that showed lost events (history asked)."),
    S_G("rooms", room_streams, "Rooms with stream state (rooms local clients listen to)."),
    S_G("resume_merging", syncs, "Clients' rooms still merging a resume with the live stream."),
    S_C("room_gaps_total", rooms.gaps, "Sequence jumps detected on the live stream."),
    S_C("room_gap_events_total", rooms.gap_events, "Sequence numbers missing across those jumps."),
    S_C("room_gaps_repaired_total", rooms.gaps_repaired, "Jumps filled from history."),
    S_C("room_gaps_unrepaired_total", rooms.gaps_unrepaired,
        "Jumps reported to clients with recovered:false."),
    S_C("epoch_changes_total", rooms.epoch_changes, "New router epochs announced to clients."),
    S_C("room_held_total", rooms.held, "Live events held while history was asked."),
    S_C("room_duplicates_total", rooms.duplicates,
        "Events at or below a room's position, dropped."),
    S_C("room_replayed_total", rooms.replayed, "Events delivered from history into rooms."),
    S_C("room_overflows_total", rooms.overflows, "Room held lists that overflowed."),
    S_C("stale_replies_total", rooms.stale_replies,
        "History replies that matched no outstanding request."),
    S_C("resumes_total", resume.resumes, "Resumes started (subscribe with since)."),
    S_C("resume_gaps_total", resume.gaps, "Sequence jumps seen while merging resumes."),
    S_C("resume_gap_events_total", resume.gap_events,
        "Sequence numbers missing across the jumps seen while merging resumes."),
    S_C("resume_gaps_repaired_total", resume.gaps_repaired, "Of those, filled from history."),
    S_C("resume_gaps_unrepaired_total", resume.gaps_unrepaired,
        "Of those, reported with recovered:false."),
    S_C("resume_epoch_changes_total", resume.epoch_changes,
        "New router epochs met while merging resumes."),
    S_C("resume_stale_replies_total", resume.stale_replies,
        "History replies for resumes that matched no outstanding request."),
    S_C("resume_held_total", resume.held, "Live events held while a resume was merging."),
    S_C("resume_duplicates_total", resume.duplicates,
        "Events at or below a resuming client's position, dropped."),
    S_C("resume_replayed_total", resume.replayed, "Events delivered from history to resumes."),
    S_C("resume_overflows_total", resume.overflows, "Resume held lists that overflowed."),
    S_C("history_asks_total", hist.asks, "History asks accepted."),
    S_C("history_coalesced_total", hist.coalesced, "Asks that joined an identical pending one."),
    S_C("history_queued_total", hist.queued, "History requests that waited for a slot."),
    S_C("history_sent_total", hist.sent, "History request messages sent, retries included."),
    S_C("history_send_errors_total", hist.send_errors, "History sends ZeroMQ refused."),
    S_C("history_timeouts_total", hist.timeouts, "History attempts unanswered in time."),
    S_C("history_retries_total", hist.retries, "History attempts sent again after a timeout."),
    S_C("history_given_up_total", hist.given_up,
        "History requests answered unavailable after every retry."),
    S_C("history_replies_unknown_total", hist.replies_unknown,
        "History replies with an unknown or expired id, dropped."),
    S_C("history_replies_bad_total", hist.replies_bad, "Malformed history replies, dropped."),
    S_C("history_busy_total", hist.busy, "Busy history replies (the router's rate cap)."),
    S_C("history_events_total", hist.events, "Events received in used history replies."),
    S_C("batch_immediate_total", batch.immediate, "Events emitted without being held."),
    S_C("batch_held_total", batch.held, "Events that joined a pending batch."),
    S_C("coalesced_total", batch.coalesced, "Held events replaced by a newer one (same key)."),
    S_C("batches_total", batch.batches, "Batch frames emitted."),
    S_C("batched_events_total", batch.batched_events, "Events carried in batch frames."),
    S_C("batch_singles_total", batch.singles, "Flushes of one event, sent as an event frame."),
    S_C("batch_keyless_total", batch.keyless, "Coalescing events without a usable key."),
    S_C("batch_nomem_total", batch.nomem, "Batches sent event by event for lack of memory."),
};
#undef S_C
#undef S_G

/* Creates a renderer; see edge_metrics.h. */
edge_metrics_t *edge_metrics_new(const edge_stats_t *stats)
{
    edge_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->prom = base_prom_new())) {
        free(self);
        return NULL;
    }
    self->stats = stats;
    self->started_wall = (double)base_clock_wall_ns() / 1e9;
    return self;
}

/* Frees it; see edge_metrics.h. */
void edge_metrics_destroy(edge_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    base_prom_destroy(&(*self_p)->prom);
    free(*self_p);
    *self_p = NULL;
}

/* The slot names of each per-reason array, with the unsigned index base_prom_counters() passes. */
static const char *s_close_name(unsigned i)
{
    return edge_close_label((edge_close_t)i);
}
static const char *s_err_name(unsigned i)
{
    return edge_err_name((edge_err_t)i);
}
static const char *s_refuse_name(unsigned i)
{
    return edge_auth_refusal_name((int)i);
}
static const char *s_wire_name(unsigned i)
{
    return wire_err_name((wire_err_t)i);
}
static const char *s_drop_name(unsigned i)
{
    return edge_drop_label((edge_drop_t)i);
}
static const char *s_outcome_name(unsigned i)
{
    return i == EDGE_REASON_NONE ? "recovered" : edge_reason_name((edge_reason_t)i);
}
static const char *s_hist_name(unsigned i)
{
    return i == EDGE_HIST_UNAVAILABLE ? "unavailable"
                                      : wire_hist_status_name((wire_hist_status_t)i);
}
static const char *s_flush_name(unsigned i)
{
    return edge_batch_why_name((edge_batch_why_t)i);
}
static const char *s_upgrade_name(unsigned i)
{
    static const char *const names[] = {"origin", "origin_missing", "per_ip", "other"};
    return names[i];
}

/* Renders a histogram kept in integer units (per_second of them in a second) in seconds. A
 * division, not a multiplication by the inverse, so 2500000 ns prints as 0.0025 exactly. */
static void s_histo(base_prom_t *p, const char *name, const char *help, const edge_histo_t *h,
                    const uint64_t *bounds, unsigned n, double per_second)
{
    double secs[16];
    for (unsigned i = 0; i < n; i++)
        secs[i] = (double)bounds[i] / per_second;
    base_prom_family(p, name, BASE_PROM_HISTOGRAM, help);
    base_prom_histogram(p, name, NULL, 0, secs, h->counts, n, (double)h->sum / per_second);
}

/* Renders every family; see edge_metrics.h. */
const char *edge_metrics_render(edge_metrics_t *self, const edge_metrics_state_t *st, size_t *len)
{
    base_prom_t *p = self->prom;
    const edge_stats_t *s = self->stats;
    base_prom_reset(p);
    base_prom_label_t info = {"version", WEFT_VERSION_STRING};
    base_prom_family(p, "weft_edge_info", BASE_PROM_GAUGE,
                     "Always 1; the label names the version.");
    base_prom_u64(p, "weft_edge_info", &info, 1, 1);
    base_prom_family(p, "weft_edge_start_time_seconds", BASE_PROM_GAUGE,
                     "When the edge started, seconds since 1970.");
    base_prom_double(p, "weft_edge_start_time_seconds", NULL, 0, self->started_wall);
    base_prom_family(p, "weft_edge_router_connected", BASE_PROM_GAUGE,
                     "1 while the SUB is connected to the router's fan-out.");
    base_prom_u64(p, "weft_edge_router_connected", NULL, 0, st->router);
    base_prom_family(p, "weft_edge_draining", BASE_PROM_GAUGE, "1 while a drain is under way.");
    base_prom_u64(p, "weft_edge_draining", NULL, 0, st->draining);
    base_prom_family(p, "weft_edge_subscriptions", BASE_PROM_GAUGE,
                     "ZeroMQ subscriptions held at the router (rooms and patterns local clients "
                     "listen to).");
    base_prom_u64(p, "weft_edge_subscriptions", NULL, 0,
                  s->subs_added > s->subs_removed ? s->subs_added - s->subs_removed : 0);
    base_prom_fields(p, s_plain, sizeof s_plain / sizeof s_plain[0], s);
    /* conns_refused counts every refused upgrade; the three known reasons are among them. */
    uint64_t known = s->origin_refused + s->origin_missing + s->ip_refused;
    const uint64_t upgrades[] = {s->origin_refused, s->origin_missing, s->ip_refused,
                                 s->conns_refused > known ? s->conns_refused - known : 0};
    base_prom_counters(
        p, "weft_edge_upgrades_refused_total",
        "WebSocket upgrades refused, by reason: origin (not allowed, 403), origin_missing (403), "
        "per_ip (max_conns_per_ip, 429), other (connection cap, wrong path, draining, stopping).",
        "reason", upgrades, 0, 4, s_upgrade_name);
    base_prom_counters(p, "weft_edge_closes_total",
                       "Closes the edge initiated, by close code and reason.", "reason", s->closes,
                       0, EDGE_CLOSE__COUNT, s_close_name);
    base_prom_counters(p, "weft_edge_errors_total", "Error frames sent to clients, by code.",
                       "code", s->errors, EDGE_ERR_NONE + 1, EDGE_ERR__COUNT, s_err_name);
    base_prom_counters(p, "weft_edge_auth_refused_total",
                       "Authentication and authorization refusals, by reason.", "reason",
                       s->auth_refused, 1, EDGE_REFUSE__COUNT, s_refuse_name);
    base_prom_counters(p, "weft_edge_events_invalid_total",
                       "Router messages rejected by the wire codec, by reason.", "reason",
                       s->events_bad, WIRE_OK + 1, WIRE_ERR__COUNT, s_wire_name);
    base_prom_counters(p, "weft_edge_events_dropped_total",
                       "Valid envelopes the edge could not use, by reason.", "reason",
                       s->events_dropped, 0, EDGE_DROP__COUNT, s_drop_name);
    base_prom_counters(
        p, "weft_edge_resumes_answered_total",
        "Resume answers, by outcome: recovered, or the reason nothing could be recovered.",
        "outcome", s->resume.resumed, 0, EDGE_REASON__COUNT, s_outcome_name);
    base_prom_counters(p, "weft_edge_resume_notices_total",
                       "Unsolicited recovered:false notices to resuming clients, by reason.",
                       "reason", s->resume.notices, EDGE_REASON_NONE + 1, EDGE_REASON__COUNT,
                       s_outcome_name);
    /* A room stream has no client to answer: its first break counts as a "reply" in resumed[],
     * later ones in notices[]; both are the room's breaks announced to its listeners. Room
     * streams never resume, so rooms.resumes and rooms.resumed[NONE] stay 0 and are not shown. */
    uint64_t room_breaks[EDGE_REASON__COUNT];
    for (int r = 0; r < EDGE_REASON__COUNT; r++)
        room_breaks[r] = s->rooms.notices[r] + s->rooms.resumed[r];
    base_prom_counters(p, "weft_edge_room_notices_total",
                       "Room stream breaks announced to listeners with recovered:false, by reason.",
                       "reason", room_breaks, EDGE_REASON_NONE + 1, EDGE_REASON__COUNT,
                       s_outcome_name);
    base_prom_counters(p, "weft_edge_history_replies_total",
                       "History asks ended, by status (unavailable: no reply after every retry).",
                       "status", s->hist.replies, 0, EDGE_HIST__COUNT, s_hist_name);
    base_prom_counters(p, "weft_edge_batch_flushes_total", "Batch flushes, by reason.", "reason",
                       s->batch.flushes, 0, EDGE_BATCH_WHY__COUNT, s_flush_name);
    s_histo(p, "weft_edge_event_age_seconds",
            "Time from an event's publish timestamp (publisher clock) to its fan-out to this "
            "edge's clients, once per event with local listeners.",
            &s->event_age, edge_age_bounds_ns, EDGE_AGE_BUCKETS, 1e9);
    s_histo(p, "weft_edge_connection_duration_seconds",
            "How long WebSocket connections lasted, observed when they close.", &s->conn_life,
            edge_life_bounds_ms, EDGE_LIFE_BUCKETS, 1e3);
    return base_prom_text(p, len);
}
