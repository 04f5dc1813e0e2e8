/*
 * edge_pipeline.c: the room pipeline (see edge_pipeline.h). An event travels, in calls:
 * edge_pipeline_route() (envelope checks, one frame encoded) -> edge_stream_live() of the room
 * -> s_room_deliver() -> edge_batch_add() -> s_room_emit() (or held) -> edge_rooms_visit() ->
 * s_visit_one() -> edge_writer_send() of each listener, or edge_sync_live() of a resuming one.
 * Callees come before their callers, so the file reads bottom-up in that order.
 */
#include "edge_pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "base_clock.h"
#include "base_limit.h"
#include "edge_batch.h"
#include "edge_frame.h"
#include "edge_proto.h"
#include "edge_stream.h"
#include "wire_envelope.h"

struct edge_pipeline {
    edge_writer_t *writer;         /* the clients' writer */
    edge_history_t history;        /* history */
    size_t max_held;               /* a stream's held events */
    edge_rooms_topic_fn *on_topic; /* owner's topic hook */
    edge_pipeline_arm_fn *arm;     /* owner's batch timer */
    void *arg;                     /* for both */
    int64_t (*now)(void);          /* the clock */
    edge_stats_t *stats;           /* counters */
    base_log_t *log;               /* borrowed */
    edge_rooms_t *rooms;           /* who listens to what; room state in the data slots */
    edge_classes_t *classes;       /* delivery classes */
    edge_batcher_t *batcher;       /* pending batches of every room */
    edge_syncs_t *syncs;           /* every resume under way */
    int64_t batch_at;              /* the deadline the batch timer is armed for */
    bool batch_armed;              /* the batch timer is armed */
    base_limit_t bad_event_limit;  /* logs about bad router messages */
    base_limit_t gap_limit;        /* logs about broken room streams */
};

/* A room's stream state, in the room's edge_rooms data slot. */
typedef struct s_room {
    edge_pipeline_t *pipe;        /* the pipeline */
    edge_stream_t *stream;        /* the room stream */
    edge_batch_t *batch;          /* its batch stage, after the stream */
    size_t nsyncs;                /* listeners of the room still merging a resume */
    edge_hist_wait_t *wait;       /* its outstanding history request, or NULL */
    size_t len;                   /* bytes in room */
    char room[WIRE_ROOM_MAX + 1]; /* the room, NUL-terminated */
} s_room_t;

/* What a visit hands to the listeners of a room. */
typedef enum s_visit_kind {
    S_VISIT_HELD = 0, /* an event held in the room's batch: unbatched listeners get it now */
    S_VISIT_EVENT,    /* an event never held: every listener */
    S_VISIT_FLUSH,    /* a flushed batch (or a one-event flush): batched listeners */
    S_VISIT_NOTICE,   /* a "subscribed" notice: every listener */
    S_VISIT_POSITION  /* a seeded room's position: listeners not resuming (they have a cursor) */
} s_visit_kind_t;

/* What a visit needs to hand one event, batch or notice to the listeners of a room. */
typedef struct s_visit {
    edge_pipeline_t *pipe;       /* the pipeline */
    const s_room_t *room;        /* the room */
    s_visit_kind_t kind;         /* what is handed out */
    const edge_event_t *ev;      /* the event, for HELD and EVENT */
    const edge_notice_t *notice; /* the notice, for NOTICE */
    edge_frame_t *frame;         /* what listeners without a resume under way get */
} s_visit_t;

/* The current monotonic time in microseconds. */
static int64_t s_now(const edge_pipeline_t *self)
{
    return self->now ? self->now() : (int64_t)base_clock_us();
}

/* The stream state of a room, or NULL when it has none (nobody listens, or no use yet). */
static s_room_t *s_room_find(edge_pipeline_t *self, const char *room, size_t len)
{
    void **slot = edge_rooms_data(self->rooms, room, len);
    return slot ? *slot : NULL;
}

/* ---- resumes: when a listener's sync has caught up with the room -------------------------- */

/* Ends a sync, keeping its room's count of resuming listeners. */
static void s_sync_end(edge_pipeline_t *self, edge_sync_t *sync)
{
    size_t len;
    const char *name = edge_sync_room(sync, &len);
    s_room_t *r = s_room_find(self, name, len);
    if (r && r->nsyncs)
        r->nsyncs--;
    edge_sync_destroy(&sync);
}

/* Ends a sync whose client has caught up with the room: from then on the room's own stream (in
 * order, repaired, with notices) is exactly what the client needs. */
static void s_sync_check(edge_pipeline_t *self, edge_sync_t *sync)
{
    uint64_t me, ml, re, rl;
    if (!edge_sync_position(sync, &me, &ml))
        return;
    size_t len;
    const char *name = edge_sync_room(sync, &len);
    const s_room_t *room = s_room_find(self, name, len);
    if (!room || !edge_stream_position(room->stream, &re, &rl) || re != me || rl != ml)
        return;
    /* Events held in the room's batch were given to this client by its own stream. */
    if (room->batch && edge_batch_pending(room->batch))
        return;
    s_sync_end(self, sync);
}

/* edge_syncs hook: a history reply reached a sync. */
static void s_on_sync_reply(void *arg, edge_sync_t *sync)
{
    s_sync_check(arg, sync);
}

/* ---- listeners ---------------------------------------------------------------------------- */

/* edge_rooms visit callback: one listener (once, however many of its subscriptions match).
 * flags tells whether any of those subscriptions asked for unbatched delivery. */
static void s_visit_one(void *arg, void *clientp, unsigned flags)
{
    s_visit_t *v = arg;
    edge_client_t *client = clientp;
    if (edge_wconn_closing(&client->out))
        return;
    edge_pipeline_t *self = v->pipe;
    bool unbatched = (flags & EDGE_ROOMS_F_UNBATCHED) != 0;
    edge_sync_t *sync = client->syncs ? edge_sync_find(client, v->room->room, v->room->len) : NULL;
    if (sync) {
        /* The client's own stream decides: it may hold, drop or announce instead. It saw every
         * event at delivery, one by one, so a flushed batch only lets it check whether it has
         * caught up with the room. */
        if (v->kind == S_VISIT_HELD || v->kind == S_VISIT_EVENT)
            edge_sync_live(sync, v->ev);
        else if (v->kind == S_VISIT_NOTICE)
            edge_sync_jump(sync, v->notice);
        else if (v->kind == S_VISIT_POSITION)
            return;
        s_sync_check(self, sync);
        return;
    }
    switch (v->kind) {
    case S_VISIT_HELD:
        if (!unbatched)
            return;
        self->stats->deliveries++;
        break;
    case S_VISIT_EVENT:
        self->stats->deliveries++;
        break;
    case S_VISIT_FLUSH:
        if (unbatched)
            return; /* it had every event of the batch one by one */
        self->stats->batch_deliveries++;
        break;
    case S_VISIT_NOTICE:
        self->stats->notices++;
        break;
    case S_VISIT_POSITION:
        break;
    }
    edge_writer_send(self->writer, &client->out, v->frame);
}

/* ---- the batch timer ---------------------------------------------------------------------- */

/* Arms the batch timer when the earliest deadline is earlier than the one it waits for. */
static void s_batch_arm(edge_pipeline_t *self)
{
    int64_t due = edge_batcher_deadline(self->batcher);
    if (due == INT64_MAX)
        return; /* nothing pending: an armed timer that fires for nothing just returns */
    if (self->batch_armed && self->batch_at <= due)
        return;
    int64_t now = s_now(self);
    if (self->arm(self->arg, due > now ? due - now : 0) < 0)
        return;
    self->batch_armed = true;
    self->batch_at = due;
}

void edge_pipeline_timer(edge_pipeline_t *self)
{
    self->batch_armed = false;
    edge_batcher_run(self->batcher, s_now(self));
    s_batch_arm(self);
}

/* ---- room streams ------------------------------------------------------------------------- */

/* Room stream: one event, in order: through the batch stage to the listeners. */
static void s_room_deliver(void *arg, const edge_event_t *ev)
{
    s_room_t *r = arg;
    edge_pipeline_t *self = r->pipe;
    edge_frame_info_t info;
    if (edge_frame_info(ev->frame, &info) && info.critical)
        edge_writer_urgent(self->writer); /* the next write round does not wait for pacing */
    if (!edge_batch_add(r->batch, ev, s_now(self)))
        return; /* emitted to every listener already (s_room_emit) */
    /* Held: the listeners that take unbatched delivery, and clients still merging a resume
     * (they need every event in order), get it now; only they are walked. */
    s_visit_t v = {.pipe = self, .room = r, .kind = S_VISIT_HELD, .ev = ev, .frame = ev->frame};
    if (r->nsyncs)
        edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    else
        edge_rooms_visit_flagged(self->rooms, r->room, r->len, EDGE_ROOMS_F_UNBATCHED, s_visit_one,
                                 &v);
    s_batch_arm(self);
}

/* Batch stage: an event never held, or a flushed batch. */
static void s_room_emit(void *arg, const edge_batch_out_t *out)
{
    s_room_t *r = arg;
    edge_pipeline_t *self = r->pipe;
    edge_event_t ev = {.epoch = out->epoch, .seq = out->to_seq, .frame = out->frame};
    s_visit_t v = {
        .pipe = self,
        .room = r,
        .kind = out->kind == EDGE_BATCH_EVENT ? S_VISIT_EVENT : S_VISIT_FLUSH,
        .ev = &ev,
        .frame = out->frame,
    };
    size_t n = edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    if (n == 0 && out->kind == EDGE_BATCH_EVENT)
        self->stats->events_unrouted++;
}

/* Room stream: the room's stream broke (new epoch, or a jump history could not fill). */
static void s_room_notify(void *arg, const edge_notice_t *n)
{
    s_room_t *r = arg;
    edge_pipeline_t *self = r->pipe;
    base_log_limited(self->log, &self->gap_limit, WEFT_LOG_INFO,
                     "room %s: stream continues at epoch %llu seq %llu (%s)", r->room,
                     (unsigned long long)n->epoch, (unsigned long long)n->seq,
                     edge_reason_name(n->reason));
    /* What was batched before the break goes out before the notice. */
    edge_batch_flush(r->batch, EDGE_BATCH_WHY_FORCED);
    edge_frame_t *frame = edge_proto_subscribed(r->room, r->len, NULL, n->recovered, n->epoch,
                                                n->seq, edge_reason_name(n->reason));
    if (!frame) {
        base_log(self->log, WEFT_LOG_ERROR, "room %s: out of memory for a notice", r->room);
        return;
    }
    s_visit_t v = {.pipe = self, .room = r, .kind = S_VISIT_NOTICE, .notice = n, .frame = frame};
    edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    edge_frame_unref(&frame);
}

/* Room stream: a seed found the room's position; its listeners hear it before any event. */
static void s_room_positioned(void *arg, uint64_t epoch, uint64_t seq)
{
    s_room_t *r = arg;
    edge_pipeline_t *self = r->pipe;
    edge_frame_t *frame = edge_proto_position(r->room, r->len, epoch, seq);
    if (!frame) {
        base_log(self->log, WEFT_LOG_ERROR, "room %s: out of memory for a position", r->room);
        return;
    }
    s_visit_t v = {.pipe = self, .room = r, .kind = S_VISIT_POSITION, .frame = frame};
    edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    edge_frame_unref(&frame);
}

/* History's answer to a room stream's request. */
static void s_room_on_hist(void *arg, const edge_hist_result_t *result)
{
    s_room_t *r = arg;
    r->wait = NULL;
    edge_stream_reply(r->stream, result);
}

/* Room stream: asks history. */
static int s_room_request(void *arg, uint64_t epoch, uint64_t after)
{
    s_room_t *r = arg;
    edge_pipeline_t *self = r->pipe;
    const edge_history_t *h = &self->history;
    base_log(self->log, WEFT_LOG_DEBUG, "room %s: asking history after epoch %llu seq %llu",
             r->room, (unsigned long long)epoch, (unsigned long long)after);
    h->cancel(h->hist, &r->wait);
    r->wait = h->get(h->hist, r->room, r->len, epoch, after, s_room_on_hist, r);
    return r->wait ? 0 : -1;
}

static const edge_stream_ops_t s_room_ops = {
    .deliver = s_room_deliver,
    .notify = s_room_notify,
    .request = s_room_request,
    .overflow = NULL, /* a room gives up the repair instead */
    .positioned = s_room_positioned,
};

/* Creates the stream state of a room. NULL on OOM. */
static s_room_t *s_room_new(edge_pipeline_t *self, const char *room, size_t len)
{
    s_room_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pipe = self;
    memcpy(r->room, room, len);
    r->room[len] = '\0';
    r->len = len;
    r->stream = edge_stream_new(&s_room_ops, r, self->max_held, &self->stats->rooms);
    r->batch = edge_batch_new(self->batcher, room, len, s_room_emit, r);
    if (!r->stream || !r->batch) {
        edge_stream_destroy(&r->stream);
        edge_batch_destroy(&r->batch);
        free(r);
        return NULL;
    }
    self->stats->room_streams++;
    return r;
}

/* The stream state of a room someone listens to, created when missing (NULL when nobody
 * listens, or on OOM). */
static s_room_t *s_room_of(edge_pipeline_t *self, const char *room, size_t len)
{
    void **slot = edge_rooms_data(self->rooms, room, len);
    if (!slot)
        return NULL;
    if (!*slot)
        *slot = s_room_new(self, room, len);
    return *slot;
}

/* edge_rooms free callback: the room lost its last listener (or the index is destroyed). */
static void s_room_free(void *arg, void *data)
{
    edge_pipeline_t *self = arg;
    s_room_t *r = data;
    self->history.cancel(self->history.hist, &r->wait);
    edge_stream_destroy(&r->stream);
    edge_batch_destroy(&r->batch); /* nobody listens any more: a pending batch has no reader */
    self->stats->room_streams--;
    free(r);
}

/* edge_rooms callback: the first listener of a room/pattern arrived or the last one left. */
static void s_on_topic(void *arg, bool subscribe, const char *topic, size_t len)
{
    edge_pipeline_t *self = arg;
    if (self->on_topic)
        self->on_topic(self->arg, subscribe, topic, len);
}

/* ---- router messages ---------------------------------------------------------------------- */

/* Counts and logs (rate-limited) a router message the edge cannot use. */
static void s_drop(edge_pipeline_t *self, const char *what, const char *why)
{
    base_log_limited(self->log, &self->bad_event_limit, WEFT_LOG_WARN,
                     "dropping a router message: %s: %s", what, why);
}

/* A room head (docs/protocol.md "Room heads"): when it shows more of the room than this edge has
 * seen, the last events of a burst were dropped on the way (fan-out HWM) and no later event will
 * reveal the jump, so ask history now, exactly as after a router reconnect. */
static void s_on_head(edge_pipeline_t *self, const char *room, size_t len, const wire_header_t *h)
{
    self->stats->heads_in++;
    s_room_t *r = s_room_find(self, room, len);
    if (!r)
        return; /* nobody listens, or no event seen yet: there is no position to repair from */
    uint64_t epoch, last;
    if (!edge_stream_position(r->stream, &epoch, &last) || edge_stream_fetching(r->stream))
        return;
    if (epoch == h->epoch && h->seq <= last)
        return; /* up to date: the common case */
    edge_stream_probe(r->stream);
    if (edge_stream_fetching(r->stream))
        self->stats->head_probes++;
}

void edge_pipeline_route(edge_pipeline_t *self, const edge_zmq_msg_t *msg)
{
    self->stats->events_in++;
    if (msg->nparts != 3) {
        self->stats->events_bad[WIRE_ERR_FRAMES]++;
        s_drop(self, wire_err_name(WIRE_ERR_FRAMES), "expected 3 frames");
        return;
    }
    const char *room = NULL;
    size_t room_len = 0;
    wire_err_t err = wire_topic_room(msg->part[0], msg->len[0], &room, &room_len);
    wire_header_t h;
    if (err == WIRE_OK)
        err = wire_header_decode(msg->part[1], msg->len[1], &h);
    if (err != WIRE_OK) {
        self->stats->events_bad[err]++;
        s_drop(self, wire_err_name(err), "invalid envelope");
        return;
    }
    if (h.kind == WIRE_KIND_HEAD) {
        s_on_head(self, room, room_len, &h);
        return;
    }
    edge_drop_t drop = EDGE_DROP__COUNT;
    if (h.kind != WIRE_KIND_EVENT)
        drop = EDGE_DROP_KIND;
    else if (h.epoch == 0 || h.seq == 0)
        drop = EDGE_DROP_UNSTAMPED;
    else if (!edge_frame_payload_is_object(msg->part[2], msg->len[2]))
        drop = EDGE_DROP_PAYLOAD;
    if (drop != EDGE_DROP__COUNT) {
        self->stats->events_dropped[drop]++;
        s_drop(self, edge_drop_label(drop), "unusable event");
        return;
    }
    void **slot = edge_rooms_data(self->rooms, room, room_len);
    if (!slot) {
        /* In flight while the last listener left: normal, not an error. */
        self->stats->events_unrouted++;
        return;
    }
    /* The event age, once per event that has listeners here (not per client: one clock read
     * and a few compares). It ends at the fan-out below, which queues the frame to every
     * listener; the write round follows in the same loop turn unless pacing or a slow client
     * holds it. A publisher clock ahead of ours counts as age 0. */
    uint64_t now_ns = base_clock_wall_ns();
    edge_histo_observe(&self->stats->event_age, edge_age_bounds_ns, EDGE_AGE_BUCKETS,
                       now_ns > h.ts_ns ? now_ns - h.ts_ns : 0);
    if (!*slot)
        *slot = s_room_new(self, room, room_len);
    s_room_t *r = *slot;
    edge_event_t ev = {.epoch = h.epoch, .seq = h.seq};
    if (r)
        ev.frame = edge_frame_event(room, room_len, &h, msg->part[2], msg->len[2]);
    if (!ev.frame) {
        self->stats->events_dropped[EDGE_DROP_NOMEM]++;
        s_drop(self, edge_drop_label(EDGE_DROP_NOMEM), "out of memory");
        return;
    }
    /* The stream delivers it now, or holds it while a jump is repaired (taking a reference). */
    edge_stream_live(r->stream, &ev);
    edge_frame_unref(&ev.frame);
}

/* edge_rooms_each callback: checks one room against history after a reconnect. */
static void s_probe_room(void *arg, const char *room, size_t len, void *data)
{
    (void)room;
    (void)len;
    edge_pipeline_t *self = arg;
    s_room_t *r = data;
    if (edge_stream_fetching(r->stream))
        return; /* a repair under way asks history anyway */
    edge_stream_probe(r->stream);
    if (edge_stream_fetching(r->stream))
        self->stats->probes++;
}

void edge_pipeline_reconnected(edge_pipeline_t *self, uint64_t n)
{
    if (n <= 1)
        return;
    edge_rooms_each(self->rooms, s_probe_room, self);
    edge_syncs_probe(self->syncs);
}

/* ---- clients ------------------------------------------------------------------------------ */

bool edge_pipeline_position(edge_pipeline_t *self, const char *room, size_t len, uint64_t *epoch,
                            uint64_t *last)
{
    if (wire_pattern_is_prefix(room, len))
        return false;
    s_room_t *r = s_room_of(self, room, len);
    if (!r)
        return false;
    if (edge_stream_position(r->stream, epoch, last))
        return true;
    /* New to this edge: ask history for the head; a "position" frame follows (edge_stream_seed). */
    edge_stream_seed(r->stream);
    return false;
}

int edge_pipeline_resume(edge_pipeline_t *self, edge_client_t *client, const char *room, size_t len,
                         void **id_p, uint64_t epoch, uint64_t seq)
{
    edge_sync_t *old = edge_sync_find(client, room, len);
    if (old) /* a new cursor replaces a resume still under way */
        s_sync_end(self, old);
    edge_sync_t *sync = edge_sync_new(self->syncs, client, room, len, id_p, epoch, seq);
    if (!sync)
        return -1;
    s_room_t *r = s_room_of(self, room, len);
    if (r)
        r->nsyncs++;
    s_sync_check(self, sync);
    return 0;
}

void edge_pipeline_unresume(edge_pipeline_t *self, edge_client_t *client, const char *room,
                            size_t len)
{
    edge_sync_t *sync = edge_sync_find(client, room, len);
    if (sync)
        s_sync_end(self, sync);
}

void edge_pipeline_forget(edge_pipeline_t *self, edge_client_t *client)
{
    while (client->syncs)
        s_sync_end(self, client->syncs);
}

/* ---- construction ------------------------------------------------------------------------- */

edge_pipeline_t *edge_pipeline_new(const edge_pipeline_opts_t *opts)
{
    edge_pipeline_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->writer = opts->writer;
    self->history = opts->history;
    self->max_held = opts->max_held;
    self->on_topic = opts->on_topic;
    self->arm = opts->arm;
    self->arg = opts->arg;
    self->now = opts->now;
    self->stats = opts->stats;
    self->log = opts->log;
    char why[400];
    self->classes = edge_classes_parse(opts->classes, opts->max_batch, why, sizeof why);
    if (!self->classes) {
        base_log(self->log, WEFT_LOG_ERROR, "classes: %s", why);
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < edge_classes_count(self->classes); i++) {
        const edge_class_t *c = edge_classes_get(self->classes, i);
        base_log(self->log, WEFT_LOG_INFO, "class %s: window %d ms, at most %zu events, %s%s%s",
                 c->name, c->window_ms, c->max,
                 c->key_len ? "coalesced by the envelope key or data field '" : "",
                 c->key_len ? c->key : "not coalesced", c->key_len ? "'" : "");
    }
    self->rooms = edge_rooms_new(s_on_topic, self);
    if (self->rooms)
        edge_rooms_set_free(self->rooms, s_room_free);
    self->batcher = edge_batcher_new(self->classes, opts->max_batch_bytes, &self->stats->batch);
    edge_syncs_opts_t sopts = {
        .writer = self->writer,
        .history = self->history,
        .max_held = self->max_held,
        .stats = self->stats,
        .log = self->log,
        .check = s_on_sync_reply,
        .arg = self,
    };
    self->syncs = edge_syncs_new(&sopts);
    if (!self->rooms || !self->batcher || !self->syncs) {
        base_log(self->log, WEFT_LOG_ERROR, "out of memory");
        edge_pipeline_destroy(&self);
        return NULL;
    }
    return self;
}

void edge_pipeline_destroy(edge_pipeline_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_pipeline_t *self = *self_p;
    /* Syncs before the rooms (ending one looks its room up), rooms before the batcher (their
     * batches reference it), the batcher before the classes it reads. */
    edge_syncs_destroy(&self->syncs);
    edge_rooms_destroy(&self->rooms);
    edge_batcher_destroy(&self->batcher);
    edge_classes_destroy(&self->classes);
    free(self);
    *self_p = NULL;
}

edge_rooms_t *edge_pipeline_rooms(const edge_pipeline_t *self)
{
    return self->rooms;
}
