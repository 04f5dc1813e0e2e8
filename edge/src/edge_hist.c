/*
 * edge_hist.c: the history DEALER, its request table and its place in the lws loop (see
 * edge_hist.h).
 *
 * Every request lives in two seeded hash maps (base_map.h): by id (to match replies) and by
 * (room, epoch, after_seq) (to coalesce identical asks; clients choose all three, so the seed
 * keeps them from picking colliding keys), and on one of two lists: the FIFO queue of requests
 * waiting for a slot, or the in-flight list. All attempts use the same timeout, so appending at
 * each send keeps the in-flight list sorted by deadline and one timer, set for its head, covers
 * them all.
 */
#include "edge_hist.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "base_clock.h"
#include "base_map.h"
#include "edge_zloop.h"

#define S_DEFAULT_BUDGET 64
#define S_RECONNECT_IVL_MS 100
#define S_RECONNECT_IVL_MAX_MS 1000
/* A reply's frames are bounded by the protocol, so a bad peer cannot grow the buffer further. */
#define S_MAX_PARTS WIRE_HIST_REPLY_FRAMES_MAX

typedef struct s_req s_req_t;

/* One ask: a caller waiting on a request. */
struct edge_hist_wait {
    edge_hist_wait_t *prev, *next; /* neighbours in req->waiters */
    s_req_t *req;                  /* the request it waits on */
    edge_hist_fn *fn;              /* its callback */
    void *arg;                     /* for fn */
};

/* One request: queued or in flight. */
struct s_req {
    base_map_node_t id_node;      /* in by_id, hashed from id */
    base_map_node_t key_node;     /* in by_key, hashed from (room, epoch, after) */
    s_req_t *prev, *next;         /* neighbours in the queue or the in-flight list */
    uint64_t id;                  /* request id, echoed by the router */
    uint64_t epoch;               /* asked epoch */
    uint64_t after;               /* asked after_seq */
    uint64_t deadline_us;         /* when the current attempt times out (in flight) */
    int attempts;                 /* sends so far */
    bool inflight;                /* on the in-flight list (else queued) */
    bool completing;              /* its callbacks are running: cancel must not free it */
    edge_hist_wait_t *waiters;    /* who waits for it, in the order they asked */
    edge_hist_wait_t *wtail;      /* the last of them */
    size_t room_len;              /* bytes in room */
    char room[WIRE_ROOM_MAX + 1]; /* the room, NUL-terminated */
};

/* A doubly linked list with a tail. */
typedef struct s_list {
    s_req_t *head, *tail; /* ends */
    size_t count;         /* length */
} s_list_t;

struct edge_hist {
    lws_sorted_usec_list_t timer_sul; /* the in-flight head's deadline */
    void *ctx;                        /* ZeroMQ context */
    bool own_ctx;                     /* ctx was created here */
    void *dealer;                     /* DEALER socket, owned */
    struct lws_context *lws;          /* loop it is attached to; NULL when detached */
    edge_zloop_t *zloop;              /* the DEALER in the lws loop */
    uint64_t timeout_us;              /* per attempt */
    int retries;                      /* further attempts */
    size_t max_inflight;              /* in-flight bound */
    uint32_t page;                    /* max_events per request */
    uint64_t next_id;                 /* last id given out */
    base_map_t *by_id;                /* every request, by id */
    base_map_t *by_key;               /* every request, by (room, epoch, after) */
    s_list_t queue;                   /* requests waiting for a slot, oldest first */
    s_list_t flight;                  /* requests in flight, earliest deadline first */
    zmq_msg_t *parts;                 /* receive buffer of message parts */
    size_t parts_cap;                 /* parts allocated */
    edge_event_t *events;             /* decode buffer of a page's events */
    size_t events_cap;                /* events allocated */
    base_log_t *log;                  /* not owned; may be NULL */
    base_limit_t limit;           /* for errors that could repeat per reply */
    edge_hist_stats_t own_stats;      /* counters when the caller keeps none */
    edge_hist_stats_t *stats;         /* counters: the caller's or own_stats */
    unsigned timeouts_in_a_row;       /* attempts timed out since the last reply (/ready) */
    uint64_t last_timeout_us;         /* when the last attempt timed out (0: never) */
};

/* ---- small helpers ----------------------------------------------------------------------------
 */

/* Seeded hash of a request key: the room, mixed with the hash of the two numbers. */
static uint64_t s_key_hash(const edge_hist_t *self, const char *room, size_t len, uint64_t epoch,
                           uint64_t after)
{
    const uint64_t nums[2] = {epoch, after};
    return base_map_hash(self->by_key, room, len,
                         base_map_hash(self->by_key, nums, sizeof nums, 0));
}

/* Seeded hash of a request id. */
static uint64_t s_id_hash(const edge_hist_t *self, uint64_t id)
{
    return base_map_hash(self->by_id, &id, sizeof id, 0);
}

/* The request a map node is embedded in, the node being the member at offset. */
static s_req_t *s_req_of(base_map_node_t *node, size_t offset)
{
    return (s_req_t *)((char *)node - offset);
}

/* The request with this id, or NULL. */
static s_req_t *s_find_id(const edge_hist_t *self, uint64_t id)
{
    uint64_t hash = s_id_hash(self, id);
    for (base_map_node_t *n = base_map_bucket(self->by_id, hash); n; n = n->next) {
        s_req_t *r = s_req_of(n, offsetof(s_req_t, id_node));
        if (n->hash == hash && r->id == id)
            return r;
    }
    return NULL;
}

/* The pending request for this key, or NULL. */
static s_req_t *s_find_key(const edge_hist_t *self, const char *room, size_t len, uint64_t epoch,
                           uint64_t after, uint64_t hash)
{
    for (base_map_node_t *n = base_map_bucket(self->by_key, hash); n; n = n->next) {
        s_req_t *r = s_req_of(n, offsetof(s_req_t, key_node));
        if (n->hash == hash && r->epoch == epoch && r->after == after && r->room_len == len &&
            memcmp(r->room, room, len) == 0)
            return r;
    }
    return NULL;
}

/* Appends r to a list. */
static void s_list_push(s_list_t *l, s_req_t *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->count++;
}

/* Unlinks r from a list. */
static void s_list_del(s_list_t *l, s_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->count--;
}

/* Takes r out of both maps. */
static void s_unmap(edge_hist_t *self, s_req_t *r)
{
    base_map_remove(self->by_id, &r->id_node);
    base_map_remove(self->by_key, &r->key_node);
}

/* Takes r out of both maps and its list. */
static void s_unfile(edge_hist_t *self, s_req_t *r)
{
    s_unmap(self, r);
    s_list_del(r->inflight ? &self->flight : &self->queue, r);
}

/* Frees r and any waiters left on it (no callbacks). */
static void s_free_req(s_req_t *r)
{
    while (r->waiters) {
        edge_hist_wait_t *w = r->waiters;
        r->waiters = w->next;
        free(w);
    }
    free(r);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void s_timer_cb(lws_sorted_usec_list_t *sul);

/* Sets the timer for the earliest in-flight deadline (or cancels it). */
static void s_arm_timer(edge_hist_t *self)
{
    if (!self->lws)
        return;
    if (!self->flight.head) {
        lws_sul_cancel(&self->timer_sul);
        return;
    }
    uint64_t now = base_clock_us();
    uint64_t due = self->flight.head->deadline_us;
    lws_usec_t in = due > now ? (lws_usec_t)(due - now) : 0;
    /* A millisecond of slack so the callback finds the deadline passed, not just reached. */
    lws_sul_schedule(self->lws, 0, &self->timer_sul, s_timer_cb, in + 1000);
}

/* Sends one attempt of r (which is on no list) and puts it at the tail of the in-flight list. */
static void s_send(edge_hist_t *self, s_req_t *r)
{
    uint8_t id[WIRE_HIST_ID_LEN], block[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_id(id, r->id);
    wire_hist_put_cursor(block, r->epoch, r->after, self->page);
    /* ZMQ_DONTWAIT: a DEALER queues while disconnected, up to its HWM; over it the attempt
     * simply times out and is retried, which is what a lost reply costs too. */
    if (zmq_send(self->dealer, id, sizeof id, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->dealer, r->room, r->room_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->dealer, block, sizeof block, ZMQ_DONTWAIT) < 0) {
        self->stats->send_errors++;
        base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                         "history: sending a request failed: %s", zmq_strerror(errno));
    } else {
        self->stats->sent++;
    }
    r->attempts++;
    r->inflight = true;
    r->deadline_us = base_clock_us() + self->timeout_us;
    bool was_empty = self->flight.head == NULL;
    s_list_push(&self->flight, r);
    if (was_empty)
        s_arm_timer(self);
    /* A send can consume the ZMQ_FD edge of replies already waiting. */
    edge_zloop_kick(self->zloop);
}

/* Sends queued requests while in-flight slots are free. */
static void s_pump(edge_hist_t *self)
{
    while (self->queue.head && self->flight.count < self->max_inflight) {
        s_req_t *r = self->queue.head;
        s_list_del(&self->queue, r);
        s_send(self, r);
    }
}

/* Ends r: takes it out of the tables, frees its slot, then runs every waiter's callback with
 * result (whose request fields are filled here) and frees r. */
static void s_complete(edge_hist_t *self, s_req_t *r, edge_hist_result_t *result)
{
    s_unfile(self, r);
    r->inflight = false;
    r->completing = true;
    if (!self->flight.head)
        s_arm_timer(self);
    /* Queued requests go first: callbacks may ask again (the next page), behind them. */
    s_pump(self);
    result->req_epoch = r->epoch;
    result->req_after = r->after;
    /* A callback may cancel other waiters of r (unlinking them) or ask for more: take the
     * first waiter each time, never a saved next pointer. */
    while (r->waiters) {
        edge_hist_wait_t *w = r->waiters;
        r->waiters = w->next;
        if (r->waiters)
            r->waiters->prev = NULL;
        else
            r->wtail = NULL;
        edge_hist_fn *fn = w->fn;
        void *arg = w->arg;
        free(w);
        fn(arg, result);
    }
    free(r);
}

/* The in-flight head's deadline passed: retry, give up, or drop what nobody waits for. */
static void s_timer_cb(lws_sorted_usec_list_t *sul)
{
    edge_hist_t *self = lws_container_of(sul, edge_hist_t, timer_sul);
    uint64_t now = base_clock_us();
    while (self->flight.head && self->flight.head->deadline_us <= now) {
        s_req_t *r = self->flight.head;
        s_list_del(&self->flight, r);
        self->stats->timeouts++;
        self->timeouts_in_a_row++;
        self->last_timeout_us = now;
        if (!r->waiters) {
            s_unmap(self, r);
            free(r);
            s_pump(self);
            continue;
        }
        if (r->attempts <= self->retries) {
            self->stats->retries++;
            base_log(self->log, WEFT_LOG_DEBUG, "history: retrying %.*s after %llu (attempt %d)",
                     (int)r->room_len, r->room, (unsigned long long)r->after, r->attempts + 1);
            s_send(self, r);
            continue;
        }
        self->stats->given_up++;
        base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                         "history: no answer for room %.*s after %d attempts", (int)r->room_len,
                         r->room, r->attempts);
        /* Put it back on the list s_complete() takes it from. */
        s_list_push(&self->flight, r);
        edge_hist_result_t res = {.st = {.status = EDGE_HIST_UNAVAILABLE}};
        s_complete(self, r, &res);
    }
    s_arm_timer(self);
}

/* Grows the receive buffer to hold n parts, of which the first `used` hold received messages
 * (moved with zmq_msg_move: a zmq_msg_t must not be copied bytewise). Returns 0, -1 on OOM. */
static int s_parts_reserve(edge_hist_t *self, size_t n, size_t used)
{
    if (n <= self->parts_cap)
        return 0;
    size_t cap = self->parts_cap ? self->parts_cap * 2 : 64;
    while (cap < n)
        cap *= 2;
    zmq_msg_t *p = malloc(cap * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = 0; i < used; i++) {
        zmq_msg_init(&p[i]);
        zmq_msg_move(&p[i], &self->parts[i]);
        zmq_msg_close(&self->parts[i]);
    }
    free(self->parts);
    self->parts = p;
    self->parts_cap = cap;
    return 0;
}

/* Decodes the reply in parts[0..n) for r and completes r. Returns 0, or -1 when the reply is
 * malformed (then r keeps waiting: the attempt times out and is retried). */
static int s_use_reply(edge_hist_t *self, s_req_t *r, size_t n)
{
    wire_hist_block_t block;
    zmq_msg_t *status = &self->parts[1];
    if (wire_hist_get_status(zmq_msg_data(status), zmq_msg_size(status), &block) < 0) {
        base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                         "history: dropping a reply with a bad status block");
        return -1;
    }
    if (block.status == WIRE_HIST_BUSY) {
        /* The router's per-edge rate cap: not an answer. The request keeps waiting and is
         * sent again when this attempt times out, which is the back-off. */
        self->stats->busy++;
        base_log_limited(self->log, &self->limit, WEFT_LOG_INFO,
                         "history: router busy for room %.*s; retrying after %d ms",
                         (int)r->room_len, r->room, (int)(self->timeout_us / 1000));
        return 0;
    }
    size_t nev = 0;
    if (wire_hist_reply_events(n, &block, &nev) < 0) {
        base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                         "history: dropping a reply of %zu frames (status %s)", n,
                         wire_hist_status_name(block.status));
        return -1;
    }
    edge_hist_result_t res = {.st = {.status = (edge_hstatus_t)block.status,
                                     .more = block.more,
                                     .epoch = block.epoch,
                                     .head = block.head,
                                     .first = block.first}};
    if (nev > self->events_cap) {
        edge_event_t *ev = realloc(self->events, nev * sizeof *ev);
        if (!ev)
            return -1;
        self->events = ev;
        self->events_cap = nev;
    }
    size_t built = 0;
    uint64_t prev = r->after;
    int rc = 0;
    for (size_t i = 0; i < nev; i++) {
        zmq_msg_t *hdr = &self->parts[2 + 2 * i], *pay = &self->parts[3 + 2 * i];
        wire_header_t h;
        const char *why = NULL;
        if (wire_hist_check_event(zmq_msg_data(hdr), zmq_msg_size(hdr), res.st.epoch, prev, &h,
                                  &why) == 0 &&
            !edge_frame_payload_is_object(zmq_msg_data(pay), zmq_msg_size(pay)))
            why = "payload";
        if (why) {
            base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                             "history: dropping a reply for %.*s: event %zu: %s", (int)r->room_len,
                             r->room, i, why);
            rc = -1;
            break;
        }
        prev = h.seq;
        edge_frame_t *f =
            edge_frame_event(r->room, r->room_len, &h, zmq_msg_data(pay), zmq_msg_size(pay));
        if (!f) {
            rc = -1;
            break;
        }
        self->events[built++] = (edge_event_t){.epoch = h.epoch, .seq = h.seq, .frame = f};
    }
    if (rc == 0) {
        self->stats->replies[res.st.status]++;
        self->stats->events += built;
        res.events = self->events;
        res.count = built;
        s_complete(self, r, &res);
    }
    for (size_t i = 0; i < built; i++)
        edge_frame_unref(&self->events[i].frame);
    return rc;
}

/* edge_zloop recv_one: receives one whole reply and uses it. Returns 1 when a message was
 * handled, 0 when none was waiting, -1 on a receive error (logged). */
static int s_recv_one(void *arg)
{
    edge_hist_t *self = arg;
    size_t n = 0;
    bool truncated = false;
    int rc = 1;
    for (;;) {
        zmq_msg_t scratch;
        zmq_msg_t *m = &scratch;
        if (!truncated && n < S_MAX_PARTS && s_parts_reserve(self, n + 1, n) == 0)
            m = &self->parts[n];
        else
            truncated = true;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, self->dealer, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            zmq_msg_close(m);
            if (err == EINTR)
                continue;
            if (n == 0) {
                if (err != EAGAIN) {
                    base_log_limited(self->log, &self->limit, WEFT_LOG_ERROR,
                                     "history: receive failed: %s", zmq_strerror(err));
                    rc = -1;
                } else {
                    rc = 0;
                }
                return rc;
            }
            break; /* parts of a message arrive together; use what came */
        }
        bool more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        else
            n++;
        if (!more)
            break;
    }
    uint64_t id = 0;
    s_req_t *r = NULL;
    self->timeouts_in_a_row = 0; /* the router answers, whatever the answer */
    if (truncated || n < 2 ||
        wire_hist_get_id(zmq_msg_data(&self->parts[0]), zmq_msg_size(&self->parts[0]), &id) < 0) {
        self->stats->replies_bad++;
        base_log_limited(self->log, &self->limit, WEFT_LOG_WARN,
                         "history: dropping a malformed reply (%zu frames)", n);
    } else if (!(r = s_find_id(self, id)) || !r->inflight) {
        self->stats->replies_unknown++;
        base_log(self->log, WEFT_LOG_DEBUG, "history: dropping a reply for unknown id %llu",
                 (unsigned long long)id);
    } else if (s_use_reply(self, r, n) < 0) {
        self->stats->replies_bad++;
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&self->parts[i]);
    return rc;
}

/* ---- API ------------------------------------------------------------------------------------ */

/* Sets an int socket option; logs and returns -1 on failure. */
static int s_setopt(edge_hist_t *self, int opt, int value, const char *name)
{
    if (zmq_setsockopt(self->dealer, opt, &value, sizeof value) == 0)
        return 0;
    base_log(self->log, WEFT_LOG_ERROR, "history: setting %s=%d failed: %s", name, value,
             zmq_strerror(errno));
    return -1;
}

edge_hist_t *edge_hist_new(const edge_hist_opts_t *opts)
{
    edge_hist_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->log = opts->log;
    self->stats = opts->stats ? opts->stats : &self->own_stats;
    self->timeout_us = (uint64_t)(opts->timeout_ms > 0 ? opts->timeout_ms : 1) * 1000u;
    self->retries = opts->retries > 0 ? opts->retries : 0;
    self->max_inflight = opts->inflight > 0 ? (size_t)opts->inflight : 1;
    self->page = opts->page;
    self->by_id = base_map_new();
    self->by_key = base_map_new();
    if (!self->by_id || !self->by_key)
        goto err;
    self->ctx = opts->zctx;
    if (!self->ctx) {
        self->ctx = zmq_ctx_new();
        self->own_ctx = true;
        if (!self->ctx) {
            base_log(self->log, WEFT_LOG_ERROR, "history: cannot create a context: %s",
                     zmq_strerror(errno));
            goto err;
        }
    }
    self->dealer = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->dealer) {
        base_log(self->log, WEFT_LOG_ERROR, "history: cannot create a DEALER socket: %s",
                 zmq_strerror(errno));
        goto err;
    }
    if (s_setopt(self, ZMQ_LINGER, 0, "ZMQ_LINGER") < 0 ||
        s_setopt(self, ZMQ_RECONNECT_IVL, S_RECONNECT_IVL_MS, "ZMQ_RECONNECT_IVL") < 0 ||
        s_setopt(self, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_IVL_MAX_MS, "ZMQ_RECONNECT_IVL_MAX") < 0)
        goto err;
    if (opts->curve && wire_curve_client_apply(self->dealer, opts->curve) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "history: cannot set the CURVE keys: %s",
                 zmq_strerror(errno));
        goto err;
    }
    if (zmq_connect(self->dealer, opts->endpoint) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "history: cannot connect to %s: %s", opts->endpoint,
                 zmq_strerror(errno));
        goto err;
    }
    self->zloop = edge_zloop_new(&(edge_zloop_opts_t){
        .zsock = self->dealer,
        .what = "history",
        .budget = opts->budget ? opts->budget : S_DEFAULT_BUDGET,
        .recv_one = s_recv_one,
        .arg = self,
        .log = self->log,
    });
    if (!self->zloop)
        goto err;
    return self;
err:
    edge_hist_destroy(&self);
    return NULL;
}

void edge_hist_destroy(edge_hist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_hist_t *self = *self_p;
    for (s_list_t *l = &self->queue; l; l = l == &self->queue ? &self->flight : NULL) {
        while (l->head) {
            s_req_t *r = l->head;
            s_list_del(l, r);
            s_free_req(r);
        }
    }
    edge_zloop_destroy(&self->zloop);
    base_map_destroy(&self->by_id);
    base_map_destroy(&self->by_key);
    free(self->parts);
    free(self->events);
    if (self->dealer)
        zmq_close(self->dealer);
    if (self->own_ctx && self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

int edge_hist_attach(edge_hist_t *self, struct lws_vhost *vhost)
{
    if (edge_zloop_attach(self->zloop, vhost) < 0)
        return -1;
    self->lws = edge_zloop_context(self->zloop);
    s_arm_timer(self);
    return 0;
}

void edge_hist_detach(edge_hist_t *self)
{
    if (!self || !self->lws)
        return;
    edge_zloop_detach(self->zloop);
    lws_sul_cancel(&self->timer_sul);
    self->lws = NULL;
}

edge_hist_wait_t *edge_hist_get(edge_hist_t *self, const char *room, size_t len, uint64_t epoch,
                                uint64_t after, edge_hist_fn *fn, void *arg)
{
    if (!wire_room_valid(room, len))
        return NULL;
    edge_hist_wait_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fn = fn;
    w->arg = arg;
    uint64_t hash = s_key_hash(self, room, len, epoch, after);
    s_req_t *r = s_find_key(self, room, len, epoch, after, hash);
    if (r) {
        self->stats->coalesced++;
    } else {
        r = calloc(1, sizeof *r);
        if (!r) {
            free(w);
            return NULL;
        }
        r->id = ++self->next_id;
        r->id_node.hash = s_id_hash(self, r->id);
        r->key_node.hash = hash;
        r->epoch = epoch;
        r->after = after;
        memcpy(r->room, room, len);
        r->room[len] = '\0';
        r->room_len = len;
        /* On a failed growth the node is still in: its chain is just longer. */
        (void)base_map_insert(self->by_id, &r->id_node);
        (void)base_map_insert(self->by_key, &r->key_node);
        if (self->flight.count < self->max_inflight && !self->queue.head) {
            s_send(self, r);
        } else {
            self->stats->queued++;
            s_list_push(&self->queue, r);
        }
    }
    self->stats->asks++;
    /* Append, so that coalesced callers are answered in the order they asked. */
    w->req = r;
    w->prev = r->wtail;
    if (r->wtail)
        r->wtail->next = w;
    else
        r->waiters = w;
    r->wtail = w;
    return w;
}

void edge_hist_cancel(edge_hist_t *self, edge_hist_wait_t **wait_p)
{
    if (!wait_p || !*wait_p)
        return;
    edge_hist_wait_t *w = *wait_p;
    *wait_p = NULL;
    s_req_t *r = w->req;
    if (w->prev)
        w->prev->next = w->next;
    else
        r->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        r->wtail = w->prev;
    free(w);
    /* A queued request nobody waits for is never sent; one in flight runs out (its reply, if
     * any, still frees the slot). */
    if (!r->waiters && !r->inflight && !r->completing) {
        s_unfile(self, r);
        free(r);
    }
}

const char *edge_hstatus_name(edge_hstatus_t status)
{
    if (status == EDGE_HIST_UNAVAILABLE)
        return "unavailable";
    return wire_hist_status_name((wire_hist_status_t)status);
}

const edge_hist_stats_t *edge_hist_stats(const edge_hist_t *self)
{
    return self->stats;
}

size_t edge_hist_inflight(const edge_hist_t *self)
{
    return self->flight.count;
}

size_t edge_hist_queued(const edge_hist_t *self)
{
    return self->queue.count;
}

unsigned edge_hist_timeouts_in_a_row(const edge_hist_t *self, uint64_t *last_us)
{
    *last_us = self->last_timeout_us;
    return self->timeouts_in_a_row;
}
