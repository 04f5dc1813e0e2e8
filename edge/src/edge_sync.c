/*
 * edge_sync.c: resumes, one member stream per client and room (see edge_sync.h).
 */
#include "edge_sync.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base_limit.h"
#include "edge_proto.h"
#include "wire_envelope.h"

struct edge_syncs {
    edge_writer_t *writer;     /* the clients' writer */
    edge_history_t history;    /* history */
    size_t max_held;           /* live events a sync may hold */
    edge_stats_t *stats;       /* counters */
    base_log_t *log;           /* borrowed */
    edge_sync_check_fn *check; /* the owner's check hook */
    void *arg;                 /* its argument */
    edge_sync_t *all;          /* every sync (probed on reconnect) */
    base_limit_t slow_limit;   /* logs about resuming clients closed as slow */
};

/* A client's resume of one room: a member stream, kept until its position meets the room's. */
struct edge_sync {
    edge_sync_t *next;                /* the client's other syncs */
    edge_sync_t *all_prev, *all_next; /* every sync of the set */
    edge_syncs_t *set;                /* the set */
    edge_client_t *client;            /* the client */
    edge_stream_t *stream;            /* the member stream */
    edge_hist_wait_t *wait;           /* its outstanding history request, or NULL */
    bool deferred;                    /* its request waits until the client's queue drained */
    uint64_t def_epoch;               /* the deferred request's epoch */
    uint64_t def_after;               /* and after_seq */
    void *id;                         /* the subscribe's "id", echoed in the answer; owned */
    size_t len;                       /* bytes in room */
    char room[WIRE_ROOM_MAX + 1];     /* the room, NUL-terminated */
};

/* ---- the member stream's operations ------------------------------------------------------- */

/* Member stream: one event for this client. */
static void s_deliver(void *arg, const edge_event_t *ev)
{
    edge_sync_t *self = arg;
    self->set->stats->deliveries++;
    edge_writer_send(self->set->writer, &self->client->out, ev->frame);
}

/* Member stream: the answer to the subscribe, or a notice for this client alone. */
static void s_notify(void *arg, const edge_notice_t *n)
{
    edge_sync_t *self = arg;
    edge_syncs_t *set = self->set;
    edge_frame_t *frame =
        edge_proto_subscribed(self->room, self->len, n->reply ? self->id : NULL, n->recovered,
                              n->epoch, n->seq, edge_reason_name(n->reason));
    if (n->reply)
        edge_proto_id_free(&self->id);
    else
        set->stats->notices++;
    base_log(set->log, WEFT_LOG_DEBUG, "resume of %s: %s recovered=%d epoch=%llu seq=%llu %s",
             self->room, n->reply ? "answer" : "notice", n->recovered, (unsigned long long)n->epoch,
             (unsigned long long)n->seq, edge_reason_name(n->reason));
    if (!frame) {
        edge_writer_close(set->writer, &self->client->out, EDGE_CLOSE_INTERNAL, "out of memory");
        return;
    }
    edge_writer_send(set->writer, &self->client->out, frame);
    edge_frame_unref(&frame);
}

/* History's answer to the member stream's request; the owner may then end the sync. */
static void s_on_hist(void *arg, const edge_hist_result_t *result)
{
    edge_sync_t *self = arg;
    self->wait = NULL;
    edge_stream_reply(self->stream, result);
    self->set->check(self->set->arg, self); /* may destroy self: last */
}

/* Sends the member stream's request to history now. Returns 0, or -1 when it cannot. */
static int s_send(edge_sync_t *self, uint64_t epoch, uint64_t after)
{
    const edge_history_t *h = &self->set->history;
    h->cancel(h->hist, &self->wait);
    self->wait = h->get(h->hist, self->room, self->len, epoch, after, s_on_hist, self);
    return self->wait ? 0 : -1;
}

/* Member stream: asks history, at once or when the client's queue has drained. */
static int s_request(void *arg, uint64_t epoch, uint64_t after)
{
    edge_sync_t *self = arg;
    edge_syncs_t *set = self->set;
    if (edge_writer_busy(set->writer, &self->client->out)) {
        set->history.cancel(set->history.hist, &self->wait);
        self->deferred = true;
        self->def_epoch = epoch;
        self->def_after = after;
        edge_writer_want_drain(&self->client->out);
        return 0; /* outstanding, as far as the stream knows */
    }
    return s_send(self, epoch, after);
}

/* Member stream: too many live events held while history was fetched. */
static void s_overflow(void *arg)
{
    edge_sync_t *self = arg;
    edge_syncs_t *set = self->set;
    base_log_limited(set->log, &set->slow_limit, WEFT_LOG_INFO,
                     "closing a resuming client of %s: over %zu live events held", self->room,
                     set->max_held);
    edge_writer_close(set->writer, &self->client->out, EDGE_CLOSE_SLOW, "slow consumer");
}

static const edge_stream_ops_t s_ops = {
    .deliver = s_deliver,
    .notify = s_notify,
    .request = s_request,
    .overflow = s_overflow,
};

/* Writer hook: a client's queue drained below half: sends the requests its syncs deferred. */
static void s_on_drained(void *arg, edge_wconn_t *wc)
{
    edge_syncs_t *set = arg;
    edge_client_t *client = (edge_client_t *)((char *)wc - offsetof(edge_client_t, out));
    for (edge_sync_t *y = client->syncs, *next; y; y = next) {
        next = y->next;
        if (!y->deferred)
            continue;
        y->deferred = false;
        if (s_send(y, y->def_epoch, y->def_after) == 0)
            continue;
        /* Out of memory: the stream treats history as unavailable, as for a refused ask. */
        edge_hist_result_t r = {
            .req_epoch = y->def_epoch,
            .req_after = y->def_after,
            .st = {.status = EDGE_HIST_UNAVAILABLE},
        };
        edge_stream_reply(y->stream, &r);
        set->check(set->arg, y); /* may destroy y; next stays valid */
    }
}

/* ---- the set ------------------------------------------------------------------------------ */

edge_syncs_t *edge_syncs_new(const edge_syncs_opts_t *opts)
{
    edge_syncs_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->writer = opts->writer;
    self->history = opts->history;
    self->max_held = opts->max_held;
    self->stats = opts->stats;
    self->log = opts->log;
    self->check = opts->check;
    self->arg = opts->arg;
    edge_writer_set_drained(self->writer, s_on_drained, self);
    return self;
}

void edge_syncs_destroy(edge_syncs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_syncs_t *self = *self_p;
    while (self->all) {
        edge_sync_t *y = self->all;
        edge_sync_destroy(&y);
    }
    edge_writer_set_drained(self->writer, NULL, NULL);
    free(self);
    *self_p = NULL;
}

void edge_syncs_probe(edge_syncs_t *self)
{
    for (edge_sync_t *y = self->all; y; y = y->all_next) {
        if (!edge_stream_settled(y->stream))
            continue; /* still resuming: its own requests will see the new state */
        edge_stream_probe(y->stream);
        if (edge_stream_fetching(y->stream))
            self->stats->probes++;
    }
}

/* ---- one sync ----------------------------------------------------------------------------- */

edge_sync_t *edge_sync_new(edge_syncs_t *set, edge_client_t *client, const char *room, size_t len,
                           void **id_p, uint64_t epoch, uint64_t seq)
{
    if (len > WIRE_ROOM_MAX)
        return NULL;
    edge_sync_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->set = set;
    self->client = client;
    memcpy(self->room, room, len);
    self->room[len] = '\0';
    self->len = len;
    self->stream = edge_stream_new(&s_ops, self, set->max_held, &set->stats->resume);
    if (!self->stream) {
        free(self);
        return NULL;
    }
    self->id = *id_p;
    *id_p = NULL;
    self->next = client->syncs;
    client->syncs = self;
    self->all_next = set->all;
    if (set->all)
        set->all->all_prev = self;
    set->all = self;
    set->stats->syncs++;
    edge_stream_resume(self->stream, epoch, seq);
    return self;
}

void edge_sync_destroy(edge_sync_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_sync_t *self = *self_p;
    edge_syncs_t *set = self->set;
    for (edge_sync_t **pp = &self->client->syncs; *pp; pp = &(*pp)->next) {
        if (*pp == self) {
            *pp = self->next;
            break;
        }
    }
    if (self->all_prev)
        self->all_prev->all_next = self->all_next;
    else
        set->all = self->all_next;
    if (self->all_next)
        self->all_next->all_prev = self->all_prev;
    set->history.cancel(set->history.hist, &self->wait);
    edge_stream_destroy(&self->stream);
    edge_proto_id_free(&self->id);
    set->stats->syncs--;
    free(self);
    *self_p = NULL;
}

edge_sync_t *edge_sync_find(const edge_client_t *client, const char *room, size_t len)
{
    for (edge_sync_t *y = client->syncs; y; y = y->next)
        if (y->len == len && memcmp(y->room, room, len) == 0)
            return y;
    return NULL;
}

void edge_sync_live(edge_sync_t *self, const edge_event_t *ev)
{
    edge_stream_live(self->stream, ev);
}

void edge_sync_jump(edge_sync_t *self, const edge_notice_t *notice)
{
    edge_stream_jump(self->stream, notice);
}

bool edge_sync_position(const edge_sync_t *self, uint64_t *epoch, uint64_t *last)
{
    return edge_stream_settled(self->stream) && edge_stream_position(self->stream, epoch, last);
}

const char *edge_sync_room(const edge_sync_t *self, size_t *len)
{
    *len = self->len;
    return self->room;
}

edge_client_t *edge_sync_client(const edge_sync_t *self)
{
    return self->client;
}
