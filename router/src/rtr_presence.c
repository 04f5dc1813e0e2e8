/*
 * rtr_presence.c: agent presence from the publisher table's traffic times (see rtr_presence.h).
 */
#include "rtr_presence.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rtr_presence {
    uint64_t timeout_ms;    /* silence after which a session is disconnected */
    uint64_t snapshot_ms;   /* agent.present period, 0 = none */
    uint64_t next_snapshot; /* when the next agent.present is due */
    uint64_t prev_cutoff;   /* the last tick's cutoff: older sessions are already announced */
    size_t count;           /* sessions present after the last tick */
    uint64_t failed;        /* events not published */
    rtr_presence_emit_fn emit;
    void *arg;
};

/* Creates the tracker. */
rtr_presence_t *rtr_presence_new(uint64_t timeout_ms, uint64_t snapshot_ms, uint64_t now_ms,
                                 rtr_presence_emit_fn emit, void *arg)
{
    rtr_presence_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->timeout_ms = timeout_ms;
    self->snapshot_ms = snapshot_ms;
    self->next_snapshot = now_ms + snapshot_ms;
    self->emit = emit;
    self->arg = arg;
    return self;
}

/* Frees the tracker. */
void rtr_presence_destroy(rtr_presence_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* The JSON object describing one session: publisher_id, key (null without CURVE), session (16
 * hex digits: a u64 is not exact as a JavaScript number). NULL on OOM. */
static json_t *s_describe(const rtr_pub_t *pub)
{
    size_t id_len;
    const char *id = rtr_pub_id(pub, &id_len);
    const char *key = rtr_pub_key(pub);
    char session[17];
    snprintf(session, sizeof session, "%016" PRIx64, rtr_pub_session(pub));
    return json_pack("{s:s%, s:o, s:s}", "publisher_id", id, id_len, "key",
                     *key ? json_string(key) : json_null(), "session", session);
}

/* Encodes obj (stolen) and hands it to the emit hook; counts a failure. */
static void s_emit(rtr_presence_t *self, const char *type, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!text || self->emit(self->arg, type, text, strlen(text)) < 0)
        self->failed++;
    free(text);
}

/* Announces one session's arrival or departure at wall_ms. */
static void s_change(rtr_presence_t *self, const rtr_pub_t *pub, bool connected, uint64_t wall_ms)
{
    json_t *obj = s_describe(pub);
    if (obj && (json_object_set_new(obj, "at", json_integer((json_int_t)wall_ms)) < 0 ||
                (!connected && json_object_set_new(obj, "reason", json_string("timeout")) < 0))) {
        json_decref(obj);
        obj = NULL; /* counted as a failure by s_emit */
    }
    s_emit(self, connected ? "agent.connected" : "agent.disconnected", obj);
}

/* Sends agent.present: the sessions with traffic at or after cutoff, newest first, in parts. */
static void s_snapshot(rtr_presence_t *self, rtr_pubs_t *pubs, uint64_t cutoff, uint64_t wall_ms)
{
    rtr_pub_t *pub = rtr_pubs_newest(pubs);
    for (int part = 0;; part++) {
        json_t *list = json_array();
        while (list && pub && rtr_pub_last_seen(pub) >= cutoff &&
               json_array_size(list) < RTR_PRESENCE_PART) {
            if (json_array_append_new(list, s_describe(pub)) < 0) {
                json_decref(list);
                list = NULL;
                break;
            }
            pub = rtr_pub_older(pub);
        }
        bool more = pub && rtr_pub_last_seen(pub) >= cutoff;
        json_t *obj = list ? json_pack("{s:I, s:I, s:i, s:b, s:o}", "at", (json_int_t)wall_ms,
                                       "count", (json_int_t)self->count, "part", part, "more", more,
                                       "publishers", list)
                           : NULL;
        s_emit(self, "agent.present", obj);
        if (!obj || !more)
            return; /* on OOM the rest waits for the next snapshot */
    }
}

/* One pass over the sessions that matter, newest traffic first. */
void rtr_presence_tick(rtr_presence_t *self, rtr_pubs_t *pubs, uint64_t now_ms, uint64_t wall_ms)
{
    uint64_t cutoff = now_ms > self->timeout_ms ? now_ms - self->timeout_ms : 0;
    size_t count = 0;
    for (rtr_pub_t *pub = rtr_pubs_newest(pubs); pub; pub = rtr_pub_older(pub)) {
        uint64_t seen = rtr_pub_last_seen(pub);
        if (seen >= cutoff) {
            count++;
            if (!rtr_pub_present(pub)) {
                rtr_pub_set_present(pub, true);
                s_change(self, pub, true, wall_ms);
            }
            continue;
        }
        /* Sessions silent before the last cutoff were announced then: stop here. */
        if (seen < self->prev_cutoff)
            break;
        if (rtr_pub_present(pub)) {
            rtr_pub_set_present(pub, false);
            s_change(self, pub, false, wall_ms);
        }
    }
    self->prev_cutoff = cutoff;
    self->count = count;
    if (self->snapshot_ms && now_ms >= self->next_snapshot) {
        s_snapshot(self, pubs, cutoff, wall_ms);
        self->next_snapshot = now_ms + self->snapshot_ms;
    }
}

/* Sessions present after the last tick. */
size_t rtr_presence_count(const rtr_presence_t *self)
{
    return self->count;
}

/* Presence events not published. */
uint64_t rtr_presence_failed(const rtr_presence_t *self)
{
    return self->failed;
}
