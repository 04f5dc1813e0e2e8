/*
 * edge_stream.c: the ordered stream with history repair (see edge_stream.h for the rules).
 *
 * Held events live in a ring that grows by doubling up to max_held slots, so a stream that
 * never holds anything costs no ring at all.
 */
#include "edge_stream.h"

#include <stdlib.h>

/* Replies in a row that leave the held events out of reach before the stream gives up. The
 * router stamps an event before any edge can hold it, so the second request after seeing it
 * normally covers it; the bound only guards against a history service that lies. */
#define S_MAX_STALE 3

#define S_INITIAL_SLOTS 8

struct edge_stream {
    const edge_stream_ops_t *ops; /* callbacks, borrowed */
    void *arg;                    /* for the callbacks */
    edge_stream_stats_t *stats;   /* counters, borrowed */
    size_t max_held;              /* bound on held events */
    bool known;                   /* epoch/last hold a position */
    uint64_t epoch;               /* epoch of the position */
    uint64_t last;                /* last seq delivered (or announced) in that epoch */
    bool fetching;                /* a history request is outstanding */
    uint64_t req_epoch;           /* its epoch */
    uint64_t req_after;           /* its after_seq */
    bool member;                  /* resumes a client's cursor (not a room stream) */
    bool replied;                 /* the resume's answer went out (always true for rooms) */
    bool gap;                     /* the current fetch repairs a jump seen on the live stream */
    bool unverified;              /* history failed at resume: check the next event's seq */
    bool dead;                    /* overflowed: ignores everything */
    bool seeding;                 /* the outstanding request asks for the head (edge_stream_seed) */
    unsigned stale;               /* replies in a row that did not reach the held events */
    edge_event_t *ring;           /* held events (each with a frame reference) */
    size_t cap;                   /* slots in ring (a power of two) */
    size_t head;                  /* index of the oldest held event */
    size_t count;                 /* held events */
};

static const char *const s_reason_names[EDGE_REASON__COUNT] = {
    [EDGE_REASON_NONE] = "",
    [EDGE_REASON_EPOCH_CHANGED] = "epoch_changed",
    [EDGE_REASON_TOO_OLD] = "too_old",
    [EDGE_REASON_UNAVAILABLE] = "history_unavailable",
};

const char *edge_reason_name(edge_reason_t reason)
{
    return (unsigned)reason < EDGE_REASON__COUNT ? s_reason_names[reason] : "unknown";
}

edge_stream_t *edge_stream_new(const edge_stream_ops_t *ops, void *arg, size_t max_held,
                               edge_stream_stats_t *stats)
{
    edge_stream_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ops = ops;
    self->arg = arg;
    self->stats = stats;
    self->max_held = max_held ? max_held : 1;
    self->replied = true;
    return self;
}

/* Drops every held event. */
static void s_release(edge_stream_t *self)
{
    while (self->count) {
        edge_frame_unref(&self->ring[self->head].frame);
        self->head = (self->head + 1) & (self->cap - 1);
        self->count--;
    }
    self->head = 0;
}

void edge_stream_destroy(edge_stream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_stream_t *self = *self_p;
    s_release(self);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

/* The oldest held event, or NULL. */
static edge_event_t *s_front(edge_stream_t *self)
{
    return self->count ? &self->ring[self->head] : NULL;
}

/* Removes the oldest held event. */
static void s_pop(edge_stream_t *self)
{
    edge_frame_unref(&self->ring[self->head].frame);
    self->head = (self->head + 1) & (self->cap - 1);
    self->count--;
}

/* Appends ev to the held events (taking a frame reference). Returns 0, -1 when full or OOM. */
static int s_hold(edge_stream_t *self, const edge_event_t *ev)
{
    if (self->count >= self->max_held)
        return -1;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : S_INITIAL_SLOTS;
        edge_event_t *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t i = 0; i < self->count; i++)
            ring[i] = self->ring[(self->head + i) & (self->cap - 1)];
        free(self->ring);
        self->ring = ring;
        self->cap = cap;
        self->head = 0;
    }
    edge_event_t *slot = &self->ring[(self->head + self->count) & (self->cap - 1)];
    *slot = *ev;
    slot->frame = edge_frame_ref(ev->frame);
    self->count++;
    self->stats->held++;
    return 0;
}

/* Delivers ev and moves the position to it. */
static void s_deliver(edge_stream_t *self, const edge_event_t *ev)
{
    self->known = true;
    self->epoch = ev->epoch;
    self->last = ev->seq;
    self->unverified = false;
    self->ops->deliver(self->arg, ev);
}

/* Moves the position to (epoch, seq) and tells the listeners: the resume's answer when it is
 * still due, an unsolicited notice otherwise. */
static void s_notice(edge_stream_t *self, bool recovered, uint64_t epoch, uint64_t seq,
                     edge_reason_t reason)
{
    edge_notice_t n = {
        .reply = !self->replied,
        .recovered = recovered,
        .epoch = epoch,
        .seq = seq,
        .reason = recovered ? EDGE_REASON_NONE : reason,
    };
    if (n.reply)
        self->stats->resumed[n.reason]++;
    else if (!recovered)
        self->stats->notices[n.reason]++;
    self->replied = true;
    self->known = true;
    self->epoch = epoch;
    self->last = seq;
    self->unverified = false;
    self->ops->notify(self->arg, &n);
}

/* Sends a request for the events after (epoch, after). Returns 0, or -1 when it could not be
 * sent (nothing is outstanding then). */
static int s_fetch(edge_stream_t *self, uint64_t epoch, uint64_t after)
{
    self->fetching = true;
    self->req_epoch = epoch;
    self->req_after = after;
    if (self->ops->request(self->arg, epoch, after) == 0)
        return 0;
    self->fetching = false;
    return -1;
}

/* What s_step() did with an event. */
enum { S_TAKEN, S_JUMP };

/* Applies the in-order rule to one event while nothing is outstanding: delivers it, drops it
 * as a duplicate, announces a new epoch, or reports a jump (S_JUMP: nothing done). */
static int s_step(edge_stream_t *self, const edge_event_t *ev)
{
    if (!self->known) {
        s_deliver(self, ev);
        return S_TAKEN;
    }
    if (ev->epoch != self->epoch) {
        self->stats->epoch_changes++;
        s_notice(self, false, ev->epoch, ev->seq - 1, EDGE_REASON_EPOCH_CHANGED);
        s_deliver(self, ev);
        return S_TAKEN;
    }
    if (ev->seq <= self->last) {
        self->stats->duplicates++;
        return S_TAKEN;
    }
    if (ev->seq == self->last + 1) {
        s_deliver(self, ev);
        return S_TAKEN;
    }
    if (self->unverified) {
        /* History already failed for this position: say what is lost instead of asking again. */
        s_notice(self, false, self->epoch, ev->seq - 1, EDGE_REASON_UNAVAILABLE);
        s_deliver(self, ev);
        return S_TAKEN;
    }
    if (!self->gap) {
        self->stats->gaps++;
        self->stats->gap_events += ev->seq - self->last - 1;
    }
    return S_JUMP;
}

static void s_unserved(edge_stream_t *self, edge_reason_t reason, bool have_head, uint64_t epoch,
                       uint64_t head);

/* Delivers held events in order until none is left, a jump needs history, or the stream died. */
static void s_flush(edge_stream_t *self)
{
    while (self->count && !self->fetching && !self->dead) {
        edge_event_t *ev = s_front(self);
        if (s_step(self, ev) == S_TAKEN) {
            s_pop(self);
            continue;
        }
        self->gap = true;
        if (s_fetch(self, self->epoch, self->last) == 0)
            return;
        /* History cannot even be asked: report the jump; the loop then delivers ev. */
        self->gap = false;
        self->stats->gaps_unrepaired++;
        s_notice(self, false, self->epoch, ev->seq - 1, EDGE_REASON_UNAVAILABLE);
    }
}

/*
 * Ends a fetch that history did not serve, then delivers what is held. reason says why; with
 * have_head, (epoch, head) is the room's current position from the reply. The new position is
 * the head, or the seq just before the first held event when that is lower (in the same epoch).
 */
static void s_unserved(edge_stream_t *self, edge_reason_t reason, bool have_head, uint64_t epoch,
                       uint64_t head)
{
    if (self->seeding) {
        /* No head: the held events go out as a fresh stream's would; nothing was lost. */
        self->seeding = false;
        self->fetching = false;
        s_flush(self);
        return;
    }
    self->fetching = false;
    self->stale = 0;
    bool was_gap = self->gap;
    self->gap = false;
    const edge_event_t *front = s_front(self);
    if (front && front->epoch == self->epoch && front->seq <= self->last + 1 &&
        (!have_head || epoch == self->epoch)) {
        /* The held live events continue the position: nothing is lost after all. */
        if (!self->replied)
            s_notice(self, true, self->epoch, self->last, EDGE_REASON_NONE);
        s_flush(self);
        return;
    }
    uint64_t to_epoch, to_seq;
    if (have_head) {
        to_epoch = epoch;
        to_seq = head;
        if (front && front->epoch == epoch && front->seq - 1 < to_seq)
            to_seq = front->seq - 1;
    } else if (front) {
        to_epoch = front->epoch;
        to_seq = front->seq - 1;
        if (front->epoch != self->epoch)
            reason = EDGE_REASON_EPOCH_CHANGED;
    } else {
        /* Nothing held and no head: nothing is known to be lost yet. A resume still owes its
         * answer; a member then checks the next event's seq instead of trusting it. */
        if (!self->replied)
            s_notice(self, false, self->epoch, self->last, reason);
        self->unverified = self->member;
        return;
    }
    if (was_gap)
        self->stats->gaps_unrepaired++;
    if (reason == EDGE_REASON_EPOCH_CHANGED)
        self->stats->epoch_changes++;
    s_notice(self, false, to_epoch, to_seq, reason);
    s_flush(self);
}

/* Delivers an ok page, then fetches again or flushes the held events. */
static void s_page(edge_stream_t *self, const edge_hist_result_t *r)
{
    self->fetching = false;
    if (!self->replied)
        s_notice(self, true, self->epoch, self->last, EDGE_REASON_NONE);
    bool progress = false;
    for (size_t i = 0; i < r->count && !self->dead; i++) {
        const edge_event_t *ev = &r->events[i];
        if (ev->epoch != self->epoch || ev->seq <= self->last)
            continue;
        if (ev->seq != self->last + 1) {
            /* The router keeps a contiguous run, so this cannot happen; never hide it. */
            s_notice(self, false, self->epoch, ev->seq - 1, EDGE_REASON_TOO_OLD);
        }
        self->stats->replayed++;
        s_deliver(self, ev);
        progress = true;
    }
    /* Held live events that continue the page make further pages unnecessary. */
    const edge_event_t *front = s_front(self);
    bool reached = front && front->epoch == self->epoch && front->seq <= self->last + 1;
    if (r->st.more && r->count > 0 && !reached) {
        if (s_fetch(self, self->epoch, self->last) < 0)
            s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
        return;
    }
    if (front && front->epoch == self->epoch && front->seq > self->last + 1) {
        /* The held events start later: they were stamped after this page was taken. */
        self->stale = progress ? 0 : self->stale + 1;
        if (self->stale < S_MAX_STALE && s_fetch(self, self->epoch, self->last) == 0)
            return;
        s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
        return;
    }
    self->stale = 0;
    if (self->gap) {
        self->gap = false;
        self->stats->gaps_repaired++;
    }
    s_flush(self);
}

/* The held list is full while ev must wait. */
static void s_overflow(edge_stream_t *self, const edge_event_t *ev)
{
    self->stats->overflows++;
    if (self->member) {
        self->dead = true;
        self->fetching = false;
        s_release(self);
        if (self->ops->overflow)
            self->ops->overflow(self->arg);
        return;
    }
    /* A room stops waiting for history: what it holds goes out after a notice, then ev. */
    s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
    if (!self->fetching) {
        if (s_step(self, ev) == S_TAKEN)
            return;
        self->gap = true;
        if (s_hold(self, ev) == 0 && s_fetch(self, self->epoch, self->last) == 0)
            return;
    } else if (s_hold(self, ev) == 0) {
        return;
    }
    /* Out of memory even for one event: deliver it with a notice rather than lose it silently. */
    s_release(self);
    self->fetching = false;
    self->gap = false;
    s_notice(self, false, ev->epoch, ev->seq - 1, EDGE_REASON_UNAVAILABLE);
    s_deliver(self, ev);
}

void edge_stream_resume(edge_stream_t *self, uint64_t epoch, uint64_t seq)
{
    self->member = true;
    self->replied = false;
    self->known = true;
    self->epoch = epoch;
    self->last = seq;
    self->stats->resumes++;
    if (s_fetch(self, epoch, seq) < 0)
        s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
}

void edge_stream_seed(edge_stream_t *self)
{
    if (self->dead || self->member || self->known || self->fetching)
        return;
    self->seeding = true;
    /* Epoch 0 is never a router's: the answer is epoch_changed with the epoch and head. */
    if (s_fetch(self, 0, 0) < 0)
        self->seeding = false;
}

/* The answer to a seed: the position is the head (or just before the first held event), then
 * the held events follow. */
static void s_seeded(edge_stream_t *self, const edge_hist_status_t *st)
{
    bool have = st->epoch != 0 && (st->status == EDGE_HIST_EPOCH_CHANGED ||
                                   st->status == EDGE_HIST_OK || st->status == EDGE_HIST_TOO_OLD);
    if (!have) {
        s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
        return;
    }
    self->seeding = false;
    self->fetching = false;
    uint64_t epoch = st->epoch, seq = st->head;
    const edge_event_t *front = s_front(self);
    if (front && (front->epoch != epoch || front->seq - 1 < seq)) {
        /* Held events the head does not cover (or of a newer epoch) are owed: start before. */
        epoch = front->epoch;
        seq = front->seq - 1;
    }
    self->known = true;
    self->epoch = epoch;
    self->last = seq;
    if (self->ops->positioned)
        self->ops->positioned(self->arg, epoch, seq);
    s_flush(self);
}

void edge_stream_live(edge_stream_t *self, const edge_event_t *ev)
{
    if (self->dead)
        return;
    if (self->fetching) {
        if (s_hold(self, ev) < 0)
            s_overflow(self, ev);
        return;
    }
    if (s_step(self, ev) == S_TAKEN)
        return;
    self->gap = true;
    if (s_hold(self, ev) < 0) {
        self->gap = false;
        s_overflow(self, ev);
        return;
    }
    if (s_fetch(self, self->epoch, self->last) < 0)
        s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
}

void edge_stream_reply(edge_stream_t *self, const edge_hist_result_t *r)
{
    if (self->dead || !self->fetching || r->req_epoch != self->req_epoch ||
        r->req_after != self->req_after) {
        self->stats->stale_replies++;
        return;
    }
    const edge_hist_status_t *st = &r->st;
    if (self->seeding) {
        s_seeded(self, st);
        return;
    }
    switch (st->status) {
    case EDGE_HIST_OK:
        if (st->epoch == self->req_epoch) {
            s_page(self, r);
            return;
        }
        /* An ok about another epoch contradicts the protocol: believe the epoch. */
        s_unserved(self, EDGE_REASON_EPOCH_CHANGED, true, st->epoch, st->head);
        return;
    case EDGE_HIST_EPOCH_CHANGED:
        if (st->epoch != self->epoch) {
            s_unserved(self, EDGE_REASON_EPOCH_CHANGED, true, st->epoch, st->head);
            return;
        }
        break; /* "changed" to the epoch asked for: contradictory, so no head to trust */
    case EDGE_HIST_TOO_OLD:
        s_unserved(self, st->epoch == self->epoch ? EDGE_REASON_TOO_OLD : EDGE_REASON_EPOCH_CHANGED,
                   true, st->epoch, st->head);
        return;
    case EDGE_HIST_BAD_REQUEST:
    case EDGE_HIST_UNAVAILABLE:
    case EDGE_HIST__COUNT:
        break;
    }
    s_unserved(self, EDGE_REASON_UNAVAILABLE, false, 0, 0);
}

void edge_stream_probe(edge_stream_t *self)
{
    if (self->dead || self->fetching || !self->known || !self->replied)
        return;
    /* A probe that cannot be sent changes nothing: the next jump will ask again. */
    (void)s_fetch(self, self->epoch, self->last);
}

bool edge_stream_jump(edge_stream_t *self, const edge_notice_t *n)
{
    if (!edge_stream_settled(self) || n->recovered)
        return false;
    if (self->known && n->epoch == self->epoch && n->seq <= self->last)
        return false;
    s_notice(self, false, n->epoch, n->seq, n->reason);
    return true;
}

bool edge_stream_position(const edge_stream_t *self, uint64_t *epoch, uint64_t *last)
{
    if (!self->known)
        return false;
    *epoch = self->epoch;
    *last = self->last;
    return true;
}

bool edge_stream_settled(const edge_stream_t *self)
{
    return !self->dead && !self->fetching && self->count == 0 && self->replied;
}

bool edge_stream_fetching(const edge_stream_t *self)
{
    return self->fetching;
}

size_t edge_stream_held(const edge_stream_t *self)
{
    return self->count;
}
