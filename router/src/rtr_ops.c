/*
 * rtr_ops.c: the router's /metrics, /health and /ready answers (see rtr_ops.h).
 *
 * The metric names follow Prometheus conventions: counters end in _total, sizes in _bytes, and a
 * counter kept per reason is one family with a reason (or status) label, never a family per
 * reason. Sums the stats struct keeps beside its per-reason arrays (invalid, refused, ...) are
 * not exported again: Prometheus sums the labelled series itself. Rates (intake and fan-out per
 * second) are Prometheus' rate() over the counters. Plain counters and gauges come from one
 * table of struct offsets, so adding a stats field is adding one row.
 */
#include "rtr_ops.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base_clock.h"
#include "base_prom.h"
#include "weft/version.h"

#define RTR_OPS_JSON_MAX 256 /* the longest /health or /ready body */

struct rtr_ops {
    rtr_ops_hooks_t hooks;       /* the server's reporting hooks */
    uint64_t epoch;              /* this run's epoch */
    uint64_t started_ms;         /* monotonic time of creation */
    double started_wall;         /* wall-clock time of creation, seconds since 1970 */
    uint64_t last_turn_ms;       /* monotonic time of the loop's last turn */
    base_prom_t *prom;           /* /metrics text, reused between scrapes */
    rtr_stats_t stats;           /* the snapshot being rendered (kept: 1 KiB off the stack) */
    char json[RTR_OPS_JSON_MAX]; /* /health and /ready bodies */
};

#define S_C(n, f, h)                                                                               \
    {                                                                                              \
        "weft_router_" n, BASE_PROM_COUNTER, offsetof(rtr_stats_t, f), h                           \
    }
#define S_G(n, f, h)                                                                               \
    {                                                                                              \
        "weft_router_" n, BASE_PROM_GAUGE, offsetof(rtr_stats_t, f), h                             \
    }
/* The plain counters and gauges: one unlabelled sample each. */
static const base_prom_field_t s_plain[] = {
    S_C("received_total", received, "Messages read from the intake, valid or not."),
    S_C("events_accepted_total", accepted, "Events stamped and published on the fan-out."),
    S_C("duplicates_total", duplicates,
        "Events dropped at or below their publisher's highest seq."),
    S_C("heartbeats_total", heartbeats, "Valid publisher heartbeats."),
    S_C("acks_sent_total", acks_sent, "Ack frames sent to publishers."),
    S_C("ack_entries_total", ack_entries, "Publisher sessions acknowledged in those frames."),
    S_C("subscriptions_total", subscriptions, "Subscribe messages from edges."),
    S_C("unsubscriptions_total", unsubscriptions, "Unsubscribe messages from edges."),
    S_C("send_errors_total", send_errors, "Fan-out, ack, refusal or head sends that failed."),
    S_C("untracked_total", untracked, "Events published without dedup state (out of memory)."),
    S_C("publishers_expired_total", publishers_expired,
        "Publisher sessions forgotten after publisher_ttl without traffic."),
    S_C("heads_sent_total", heads_sent, "Room-head messages sent on the fan-out."),
    S_G("rooms", rooms, "Rooms with a sequence."),
    S_G("publishers", publishers, "Publisher sessions tracked."),
    S_C("history_requests_total", history_requests, "History requests read, valid or not."),
    S_C("history_served_events_total", history_served, "Events sent in ok history replies."),
    S_C("history_lost_total", history_lost, "Events not kept in history for lack of memory."),
    S_C("history_throttled_total", history_throttled,
        "History requests answered busy by the per-edge rate cap."),
    S_G("history_events", history_events, "Events held in history."),
    S_G("history_bytes", history_bytes, "Bytes of memory accounted to history."),
    S_G("history_rooms", history_rooms, "Rooms holding history."),
    S_C("refusals_sent_total", refusals_sent, "Refusal entries sent to publishers."),
    S_C("refusals_unreported_total", refusals_unreported,
        "Refusals over the per-round report cap, not reported to their publisher."),
    S_C("rights_reloads_total", rights_reloads, "Rights file loads that succeeded."),
    S_C("rights_reload_errors_total", rights_reload_errors,
        "Rights file loads that failed (the previous rights stayed)."),
    S_C("curve_accepted_total", curve_accepted, "CURVE handshakes that passed."),
    S_C("curve_reloads_total", curve_reloads, "CURVE client allowlist reloads."),
};
#undef S_C
#undef S_G

/* Creates the endpoints; see rtr_ops.h. */
rtr_ops_t *rtr_ops_new(const rtr_ops_hooks_t *hooks, uint64_t epoch)
{
    rtr_ops_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->prom = base_prom_new();
    if (!self->prom) {
        free(self);
        return NULL;
    }
    self->hooks = *hooks;
    self->epoch = epoch;
    self->started_ms = self->last_turn_ms = base_clock_ms();
    self->started_wall = (double)base_clock_wall_ns() / 1e9;
    return self;
}

/* Frees everything; see rtr_ops.h. */
void rtr_ops_destroy(rtr_ops_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    base_prom_destroy(&(*self_p)->prom);
    free(*self_p);
    *self_p = NULL;
}

/* Records a loop turn; see rtr_ops.h. */
void rtr_ops_turned(rtr_ops_t *self, uint64_t now_ms)
{
    self->last_turn_ms = now_ms;
}

/* The reason names of each per-reason array, with the unsigned index base_prom_counters()
 * passes (slot 0 of some arrays is "no error" and is skipped by the caller). */
static const char *s_err_name(unsigned i)
{
    return wire_err_name((wire_err_t)i);
}
static const char *s_hist_status_name(unsigned i)
{
    return wire_hist_status_name((wire_hist_status_t)i);
}
static const char *s_hist_bad_name(unsigned i)
{
    return wire_hist_bad_name((wire_hist_bad_t)i);
}
static const char *s_curve_name(unsigned i)
{
    return rtr_curve_deny_name((rtr_curve_deny_t)i);
}
static const char *s_evict_name(unsigned i)
{
    static const char *const names[] = {"count", "age", "bytes"};
    return names[i];
}

/* Renders every family of self->stats into self->prom. */
static void s_render(rtr_ops_t *self)
{
    base_prom_t *p = self->prom;
    const rtr_stats_t *st = &self->stats;
    base_prom_reset(p);
    char epoch[24];
    snprintf(epoch, sizeof epoch, "%" PRIu64, self->epoch);
    base_prom_label_t info[] = {{"version", WEFT_VERSION_STRING}, {"epoch", epoch}};
    base_prom_family(p, "weft_router_info", BASE_PROM_GAUGE,
                     "Always 1; the labels name the version and this run's epoch.");
    base_prom_u64(p, "weft_router_info", info, 2, 1);
    base_prom_family(p, "weft_router_start_time_seconds", BASE_PROM_GAUGE,
                     "When the router started, seconds since 1970.");
    base_prom_double(p, "weft_router_start_time_seconds", NULL, 0, self->started_wall);
    base_prom_fields(p, s_plain, sizeof s_plain / sizeof s_plain[0], st);
    base_prom_counters(p, "weft_router_invalid_total", "Messages dropped as invalid, by reason.",
                       "reason", st->invalid_by, WIRE_OK + 1, WIRE_ERR__COUNT, s_err_name);
    base_prom_counters(p, "weft_router_refused_total",
                       "Events refused by rights or rate cap, by reason.", "reason", st->refused_by,
                       WIRE_REFUSE_ROOM, WIRE_REFUSE__COUNT, wire_refusal_name);
    base_prom_counters(p, "weft_router_curve_denied_total", "CURVE handshakes refused, by reason.",
                       "reason", st->curve_denied_by, 0, RTR_CURVE_DENY__COUNT, s_curve_name);
    base_prom_counters(p, "weft_router_history_replies_total", "History replies sent, by status.",
                       "status", st->history_replies, WIRE_HIST_OK, WIRE_HIST_STATUS__COUNT,
                       s_hist_status_name);
    base_prom_counters(p, "weft_router_history_bad_requests_total",
                       "Malformed history requests, by reason.", "reason", st->history_bad_by,
                       WIRE_HIST_BAD_NONE + 1, WIRE_HIST_BAD__COUNT, s_hist_bad_name);
    const uint64_t evicted[] = {st->history_evicted_count, st->history_evicted_age,
                                st->history_evicted_cap};
    base_prom_counters(
        p, "weft_router_history_evicted_total",
        "Events dropped from history: count (room at max_events), age (older than max_age), "
        "bytes (over max_bytes).",
        "reason", evicted, 0, 3, s_evict_name);
}

/* Fills out with a JSON body. */
static void s_json(rtr_ops_t *self, rtr_ops_reply_t *out, int status)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = self->json;
    out->len = strlen(self->json);
}

/* Fills out with a plain-text body (a constant). */
static void s_text(rtr_ops_reply_t *out, int status, const char *body)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = body;
    out->len = strlen(body);
}

/* Answers one request; see rtr_ops.h. */
int rtr_ops_respond(rtr_ops_t *self, const char *method, const char *path, uint64_t now_ms,
                    rtr_ops_reply_t *out)
{
    size_t plen = strcspn(path, "?");
    bool metrics = plen == 8 && memcmp(path, "/metrics", 8) == 0;
    bool health = plen == 7 && memcmp(path, "/health", 7) == 0;
    bool ready = plen == 6 && memcmp(path, "/ready", 6) == 0;
    if (!metrics && !health && !ready) {
        s_text(out, 404, "not found\n");
        return 0;
    }
    if (strcmp(method, "GET") != 0) {
        s_text(out, 405, "method not allowed\n");
        return 0;
    }
    if (metrics) {
        self->hooks.stats(self->hooks.arg, &self->stats);
        s_render(self);
        size_t len;
        const char *text = base_prom_text(self->prom, &len);
        if (!text) {
            s_text(out, 500, "out of memory\n");
            return -1;
        }
        out->status = 200;
        out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        out->body = text;
        out->len = len;
        return 0;
    }
    if (health) {
        uint64_t age = now_ms > self->last_turn_ms ? now_ms - self->last_turn_ms : 0;
        bool ok = age <= RTR_OPS_STALL_MS;
        snprintf(self->json, sizeof self->json,
                 "{\"status\":\"%s\",\"loop_age_ms\":%" PRIu64 ",\"uptime_seconds\":%" PRIu64
                 ",\"epoch\":%" PRIu64 "}\n",
                 ok ? "ok" : "stalled", age,
                 now_ms > self->started_ms ? (now_ms - self->started_ms) / 1000 : 0, self->epoch);
        s_json(self, out, ok ? 200 : 503);
        return 0;
    }
    const char *why = self->hooks.not_ready(self->hooks.arg);
    if (why)
        snprintf(self->json, sizeof self->json, "{\"status\":\"not_ready\",\"reason\":\"%s\"}\n",
                 why);
    else
        snprintf(self->json, sizeof self->json, "{\"status\":\"ready\"}\n");
    s_json(self, out, why ? 503 : 200);
    return 0;
}
