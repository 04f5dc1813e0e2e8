/*
 * rtr_hsvc.c: the history service's ROUTER socket, request parsing and replies.
 */
#include "rtr_hsvc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "rtr_ratemap.h"
#include "rtr_stats.h"
#include "wire_hist.h"

#define RTR_HSVC_LINGER_MS 200    /* how long close waits for queued replies */
#define RTR_HSVC_ENDPOINT_MAX 256 /* resolved endpoint text */
#define RTR_HSVC_KEEP_FRAMES (WIRE_HIST_REQUEST_FRAMES + 1) /* + one to see excess frames */
#define RTR_HSVC_IDENTITY_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */
/* No request frame is longer than a room name; anything far larger is a broken or hostile
 * peer, and ZeroMQ drops its connection instead of buffering it. */
#define RTR_HSVC_MAXMSGSIZE 4096
#define RTR_HSVC_RATE_IDLE_MS 60000 /* an edge's request bucket is forgotten after this idle */

struct rtr_hsvc {
    base_log_t *log;                /* borrowed logger (NULL: silent) */
    void *sock;                     /* ROUTER: requests in, replies out */
    uint64_t epoch;                 /* the router's epoch */
    rtr_history_t *history;         /* borrowed store the replies come from */
    rtr_rooms_t *rooms;             /* borrowed room table: head seqs */
    rtr_stats_t *stats;             /* borrowed counters */
    size_t page_max;                /* conf history_page_max: events per reply at most */
    size_t batch;                   /* conf history_batch: requests per rtr_hsvc_serve() */
    rtr_history_event_t *page;      /* page_max slots for one reply's events */
    rtr_ratemap_t *rates;           /* per-edge request rate cap (history_rate) */
    base_limit_t busy_limit;        /* log limiter for requests over the rate cap */
    base_limit_t bad_limit;     /* log limiter for malformed requests */
    base_limit_t io_limit;      /* log limiter for socket errors */
    char ep[RTR_HSVC_ENDPOINT_MAX]; /* resolved endpoint */
};

/* Sets an int socket option, logging the failure. */
static int s_setsockopt_int(rtr_hsvc_t *self, int opt, int value, const char *what)
{
    if (zmq_setsockopt(self->sock, opt, &value, sizeof value) == 0)
        return 0;
    base_log(self->log, WEFT_LOG_ERROR, "cannot set %s: %s", what, zmq_strerror(errno));
    return -1;
}

/* Creates and binds the service; see rtr_hsvc.h. */
rtr_hsvc_t *rtr_hsvc_new(void *ctx, const rtr_config_t *conf, rtr_curve_t *curve, uint64_t epoch,
                         rtr_history_t *history, rtr_rooms_t *rooms, rtr_stats_t *stats,
                         base_log_t *log)
{
    rtr_hsvc_t *self = calloc(1, sizeof *self);
    if (!self) {
        base_log(log, WEFT_LOG_ERROR, "out of memory creating the history service");
        return NULL;
    }
    self->log = log;
    self->epoch = epoch;
    self->history = history;
    self->rooms = rooms;
    self->stats = stats;
    self->page_max = (size_t)conf->history_page_max;
    self->batch = (size_t)conf->history_batch;
    self->page = calloc(self->page_max, sizeof *self->page);
    self->rates = rtr_ratemap_new((uint64_t)conf->history_rate, (uint64_t)conf->history_burst,
                                  RTR_HSVC_RATE_IDLE_MS);
    if (!self->page || !self->rates) {
        base_log(log, WEFT_LOG_ERROR, "out of memory creating the history service");
        goto err;
    }
    self->sock = zmq_socket(ctx, ZMQ_ROUTER);
    if (!self->sock) {
        base_log(log, WEFT_LOG_ERROR, "cannot create history socket: %s", zmq_strerror(errno));
        goto err;
    }
    /* ROUTER_MANDATORY stays off (the default): a reply to a departed edge, or one over the
     * HWM, is dropped rather than blocking or failing the loop. */
    int64_t maxmsg = RTR_HSVC_MAXMSGSIZE;
    if (s_setsockopt_int(self, ZMQ_LINGER, RTR_HSVC_LINGER_MS, "history linger") < 0 ||
        s_setsockopt_int(self, ZMQ_SNDHWM, conf->history_hwm, "history_hwm") < 0 ||
        zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        goto err;
    if (curve && rtr_curve_serve(curve, self->sock, "history") < 0)
        goto err;
    if (!conf->history || !*conf->history) {
        base_log(log, WEFT_LOG_ERROR, "cannot bind history: no endpoint configured");
        goto err;
    }
    if (zmq_bind(self->sock, conf->history) != 0) {
        int e = errno;
        base_log(log, WEFT_LOG_ERROR, "cannot bind history endpoint %s: %s%s", conf->history,
                 zmq_strerror(e), e == EADDRINUSE ? " (is another router running?)" : "");
        goto err;
    }
    size_t len = sizeof self->ep;
    if (zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->ep, &len) != 0)
        snprintf(self->ep, sizeof self->ep, "%s", conf->history);
    return self;
err:
    rtr_hsvc_destroy(&self);
    return NULL;
}

/* Closes the socket and frees the service. */
void rtr_hsvc_destroy(rtr_hsvc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_hsvc_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    free(self->page);
    rtr_ratemap_destroy(&self->rates);
    free(self);
    *self_p = NULL;
}

/* The socket to poll. */
void *rtr_hsvc_socket(const rtr_hsvc_t *self)
{
    return self->sock;
}

/* Resolved endpoint. */
const char *rtr_hsvc_endpoint(const rtr_hsvc_t *self)
{
    return self->ep;
}

/* Sends one reply frame (a copy of len bytes); logs and returns -1 on failure. */
static int s_send(rtr_hsvc_t *self, const void *data, size_t len, bool more)
{
    if (zmq_send(self->sock, data, len, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) >= 0)
        return 0;
    self->stats->send_errors++;
    base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR, "history reply failed: %s",
                     zmq_strerror(errno));
    return -1;
}

/* Sends identity, request id, status block and n events (header, payload) as one message. */
static void s_reply(rtr_hsvc_t *self, zmq_msg_t *identity, const wire_hist_request_t *req,
                    wire_hist_status_t status, const rtr_history_page_t *page, size_t n)
{
    uint8_t block[WIRE_HIST_STATUS_LEN];
    wire_hist_put_status(block, &(wire_hist_block_t){.status = status,
                                                     .more = page->more,
                                                     .epoch = self->epoch,
                                                     .head = page->head,
                                                     .first = page->first});
    /* With ROUTER_MANDATORY off ZeroMQ never fails these for an unknown or slow peer; a failure
     * here is the socket itself (e.g. the context ending), so the rest is not attempted. */
    if (s_send(self, zmq_msg_data(identity), zmq_msg_size(identity), true) < 0 ||
        s_send(self, req->id, WIRE_HIST_ID_LEN, true) < 0 ||
        s_send(self, block, sizeof block, n > 0) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const rtr_history_event_t *e = &self->page[i];
        if (s_send(self, e->header, e->header_len, true) < 0 ||
            s_send(self, e->payload, e->payload_len, i + 1 < n) < 0)
            return;
    }
    self->stats->history_replies[status]++;
    self->stats->history_served += n;
}

/* Counts, logs (rate-limited) and, when the request id was readable, answers bad_request. */
static void s_bad(rtr_hsvc_t *self, zmq_msg_t *identity, const wire_hist_request_t *req,
                  wire_hist_bad_t bad, size_t nframes, const size_t len[], uint64_t now_ms)
{
    self->stats->history_bad++;
    self->stats->history_bad_by[bad]++;
    char detail[96] = "";
    if (bad == WIRE_HIST_BAD_FRAMES)
        snprintf(detail, sizeof detail, ": %zu frames instead of %d", nframes,
                 WIRE_HIST_REQUEST_FRAMES);
    else if (bad == WIRE_HIST_BAD_REQUEST_ID)
        snprintf(detail, sizeof detail, ": first frame of %zu bytes, no reply possible",
                 nframes ? len[0] : 0);
    else if (bad == WIRE_HIST_BAD_CURSOR)
        snprintf(detail, sizeof detail, ": cursor of %zu bytes instead of %d", len[2],
                 WIRE_HIST_CURSOR_LEN);
    base_log_limited(self->log, &self->bad_limit, WEFT_LOG_WARN, "malformed history request (%s%s)",
                     wire_hist_bad_name(bad), detail);
    if (!req->has_id)
        return;
    /* The room's position when the room frame was readable, else that of an unknown room. */
    rtr_room_t *room = req->room ? rtr_rooms_lookup(self->rooms, req->room, req->room_len) : NULL;
    rtr_history_page_t page;
    rtr_history_position(self->history, room, now_ms, &page);
    s_reply(self, identity, req, WIRE_HIST_BAD_REQUEST, &page, 0);
}

/* Answers a request over the edge's rate cap with busy (the edge retries after a back-off),
 * or drops it when it has no request id to answer with. Counted and logged rate-limited. */
static void s_busy(rtr_hsvc_t *self, zmq_msg_t *identity, const wire_hist_request_t *req,
                   uint64_t now_ms)
{
    self->stats->history_throttled++;
    base_log_limited(self->log, &self->busy_limit, WEFT_LOG_WARN,
                     "history requests over history_rate from one edge: answered busy");
    if (!req->has_id)
        return;
    rtr_history_page_t page;
    rtr_history_position(self->history, NULL, now_ms, &page);
    s_reply(self, identity, req, WIRE_HIST_BUSY, &page, 0);
}

/* Answers one well-formed request. */
static void s_answer(rtr_hsvc_t *self, zmq_msg_t *identity, const wire_hist_request_t *req,
                     uint64_t now_ms)
{
    rtr_room_t *room = rtr_rooms_lookup(self->rooms, req->room, req->room_len);
    size_t max =
        req->max_events == 0 || req->max_events > self->page_max ? self->page_max : req->max_events;
    rtr_history_page_t page;
    if (req->epoch != self->epoch) {
        /* Position only: the client resumes from (epoch, head) and is told recovered:false. */
        rtr_history_position(self->history, room, now_ms, &page);
        s_reply(self, identity, req, WIRE_HIST_EPOCH_CHANGED, &page, 0);
        return;
    }
    rtr_history_query(self->history, room, req->after_seq, max, WIRE_HIST_PAGE_BYTES, now_ms,
                      self->page, &page);
    s_reply(self, identity, req, page.too_old ? WIRE_HIST_TOO_OLD : WIRE_HIST_OK, &page,
            page.count);
}

/* Receives the rest of a request after the identity: up to RTR_HSVC_KEEP_FRAMES frames into f,
 * any excess read and dropped. Returns the number of frames after the identity. */
static size_t s_recv_request(rtr_hsvc_t *self, zmq_msg_t *identity,
                             zmq_msg_t f[RTR_HSVC_KEEP_FRAMES])
{
    size_t n = 0;
    int more = zmq_msg_more(identity);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *m = n < RTR_HSVC_KEEP_FRAMES ? &f[n] : &extra;
        if (m == &extra)
            zmq_msg_init(&extra);
        /* Parts of a message arrive together, so this does not wait. */
        if (zmq_msg_recv(m, self->sock, ZMQ_DONTWAIT) < 0) {
            base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                             "history receive failed mid-message: %s", zmq_strerror(errno));
            if (m == &extra)
                zmq_msg_close(&extra);
            return n;
        }
        more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(&extra);
        n++;
    }
    return n;
}

/* Reads and answers up to batch requests. */
size_t rtr_hsvc_serve(rtr_hsvc_t *self, uint64_t now_ms)
{
    size_t handled = 0;
    rtr_ratemap_expire(self->rates, now_ms);
    for (; handled < self->batch; handled++) {
        zmq_msg_t identity;
        zmq_msg_t f[RTR_HSVC_KEEP_FRAMES];
        zmq_msg_init(&identity);
        if (zmq_msg_recv(&identity, self->sock, ZMQ_DONTWAIT) < 0) {
            if (errno != EAGAIN)
                base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                                 "history receive failed: %s", zmq_strerror(errno));
            zmq_msg_close(&identity);
            break;
        }
        for (int k = 0; k < RTR_HSVC_KEEP_FRAMES; k++)
            zmq_msg_init(&f[k]);
        size_t n = s_recv_request(self, &identity, f);
        self->stats->history_requests++;

        const void *data[WIRE_HIST_REQUEST_FRAMES] = {NULL, NULL, NULL};
        size_t len[WIRE_HIST_REQUEST_FRAMES] = {0, 0, 0};
        for (size_t i = 0; i < WIRE_HIST_REQUEST_FRAMES && i < n; i++) {
            data[i] = zmq_msg_data(&f[i]);
            len[i] = zmq_msg_size(&f[i]);
        }
        wire_hist_request_t req;
        wire_hist_bad_t bad = wire_hist_parse_request(n, data, len, &req);
        /* The cap counts malformed requests too: a flood of them costs as much to read. */
        if (!rtr_ratemap_take(self->rates, zmq_msg_data(&identity), zmq_msg_size(&identity),
                              now_ms))
            s_busy(self, &identity, &req, now_ms);
        else if (bad != WIRE_HIST_BAD_NONE)
            s_bad(self, &identity, &req, bad, n, len, now_ms);
        else
            s_answer(self, &identity, &req, now_ms);

        zmq_msg_close(&identity);
        for (int k = 0; k < RTR_HSVC_KEEP_FRAMES; k++)
            zmq_msg_close(&f[k]);
    }
    return handled;
}
