/*
 * edge_zmq.c: the SUB socket and its integration in the lws loop (see edge_zmq.h).
 */
#include "edge_zmq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEFAULT_BUDGET 256
#define S_RECONNECT_IVL_MS 100
#define S_RECONNECT_IVL_MAX_MS 1000

struct edge_zmq {
    lws_sorted_usec_list_t sul;      /* continues a drain that ran out of budget */
    void *ctx;                       /* ZeroMQ context, owned */
    void *sub;                       /* SUB socket, owned */
    struct lws_context *lws;         /* loop the socket is attached to; NULL when detached */
    void *mon;                       /* PAIR receiving the SUB's monitor events, owned */
    struct lws *wsi;                 /* raw-file wsi of the dup()ed ZMQ_FD; NULL when closed */
    struct lws *mon_wsi;             /* raw-file wsi of the monitor's dup()ed ZMQ_FD */
    unsigned budget;                 /* messages per drain pass */
    bool draining;                   /* a drain is running (guards re-entry from on_msg) */
    edge_zmq_msg_fn *on_msg;         /* message handler */
    edge_zmq_connect_fn *on_connect; /* connection handler, may be NULL */
    void *arg;                       /* for on_msg and on_connect */
    wire_log_t *log;                 /* not owned; may be NULL */
    wire_log_limit_t limit;          /* for errors that could repeat per message */
    uint64_t received;               /* messages handed to on_msg */
    uint64_t exhausted;              /* passes continued from the timer */
    uint64_t connects;               /* CONNECTED events */
    uint64_t disconnects;            /* DISCONNECTED events */
    char endpoint[1024];             /* the router endpoint, for logs */
};

/* Sets an int socket option; logs and returns -1 on failure. */
static int s_setopt(edge_zmq_t *self, int opt, int value, const char *name)
{
    if (zmq_setsockopt(self->sub, opt, &value, sizeof value) == 0)
        return 0;
    wire_log(self->log, WIRE_LOG_ERROR, "zmq: setting %s=%d failed: %s", name, value,
             zmq_strerror(errno));
    return -1;
}

edge_zmq_t *edge_zmq_new(const edge_zmq_opts_t *opts)
{
    edge_zmq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->budget = opts->budget ? opts->budget : S_DEFAULT_BUDGET;
    self->on_msg = opts->on_msg;
    self->on_connect = opts->on_connect;
    self->arg = opts->arg;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", opts->endpoint);
    self->log = opts->log;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: cannot create a context: %s",
                 zmq_strerror(errno));
        goto err;
    }
    self->sub = zmq_socket(self->ctx, ZMQ_SUB);
    if (!self->sub) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: cannot create a SUB socket: %s",
                 zmq_strerror(errno));
        goto err;
    }
    if (s_setopt(self, ZMQ_RCVHWM, opts->rcvhwm, "ZMQ_RCVHWM") < 0 ||
        s_setopt(self, ZMQ_SNDHWM, opts->sndhwm, "ZMQ_SNDHWM") < 0 ||
        s_setopt(self, ZMQ_RECONNECT_IVL, S_RECONNECT_IVL_MS, "ZMQ_RECONNECT_IVL") < 0 ||
        s_setopt(self, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_IVL_MAX_MS, "ZMQ_RECONNECT_IVL_MAX") <
            0 ||
        s_setopt(self, ZMQ_LINGER, 0, "ZMQ_LINGER") < 0)
        goto err;
    /* The monitor must exist before the connect, or the first CONNECTED could be missed. The
     * inproc name only has to be unique within this context. */
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://weft-edge-sub-monitor-%p", (void *)self);
    if (zmq_socket_monitor(self->sub, mon_ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) < 0) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: cannot monitor the SUB socket: %s",
                 zmq_strerror(errno));
        goto err;
    }
    self->mon = zmq_socket(self->ctx, ZMQ_PAIR);
    int zero = 0;
    if (!self->mon || zmq_setsockopt(self->mon, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_connect(self->mon, mon_ep) < 0) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: cannot read the SUB monitor: %s",
                 zmq_strerror(errno));
        goto err;
    }
    if (zmq_connect(self->sub, opts->endpoint) < 0) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: cannot connect to %s: %s", opts->endpoint,
                 zmq_strerror(errno));
        goto err;
    }
    return self;
err:
    edge_zmq_destroy(&self);
    return NULL;
}

void edge_zmq_destroy(edge_zmq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_zmq_t *self = *self_p;
    if (self->sub)
        zmq_socket_monitor(self->sub, NULL, 0);
    if (self->mon)
        zmq_close(self->mon);
    if (self->sub)
        zmq_close(self->sub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

/* Receives one whole message without blocking. Returns 1 when one was handled, 0 when none
 * was waiting, -1 on an error (logged). */
static int s_recv_one(edge_zmq_t *self)
{
    zmq_msg_t parts[3], extra;
    for (int i = 0; i < 3; i++)
        zmq_msg_init(&parts[i]);
    zmq_msg_init(&extra);
    edge_zmq_msg_t msg = {.nparts = 0};
    int rc = 1;
    for (;;) {
        zmq_msg_t *m = msg.nparts < 3 ? &parts[msg.nparts] : &extra;
        if (zmq_msg_recv(m, self->sub, ZMQ_DONTWAIT) < 0) {
            if (errno == EINTR)
                continue;
            if (msg.nparts == 0) {
                if (errno != EAGAIN) {
                    wire_log_limited(self->log, &self->limit, WIRE_LOG_ERROR,
                                     "zmq: receive failed: %s", zmq_strerror(errno));
                    rc = -1;
                } else {
                    rc = 0;
                }
                goto done;
            }
            /* Parts of a multipart message arrive together, so this cannot happen; hand over
             * what came so that the handler counts it as malformed. */
            break;
        }
        if (msg.nparts < 3) {
            msg.part[msg.nparts] = zmq_msg_data(m);
            msg.len[msg.nparts] = zmq_msg_size(m);
        }
        msg.nparts++;
        if (!zmq_msg_more(m))
            break;
    }
    self->received++;
    if (self->on_msg)
        self->on_msg(self->arg, &msg);
done:
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&parts[i]);
    zmq_msg_close(&extra);
    return rc;
}

static void s_sul_cb(lws_sorted_usec_list_t *sul);

/* Asks the loop to run a drain pass as soon as possible. */
static void s_schedule(edge_zmq_t *self)
{
    if (self->lws)
        lws_sul_schedule(self->lws, 0, &self->sul, s_sul_cb, 0);
}

bool edge_zmq__has_input(void *zsock, wire_log_t *log, wire_log_limit_t *limit)
{
    for (;;) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(zsock, ZMQ_EVENTS, &events, &size) == 0)
            return (events & ZMQ_POLLIN) != 0;
        if (errno != EINTR) {
            wire_log_limited(log, limit, WIRE_LOG_ERROR, "zmq: reading ZMQ_EVENTS failed: %s",
                             zmq_strerror(errno));
            return false;
        }
    }
}

/* True when the SUB has input waiting. */
static bool s_has_input(edge_zmq_t *self)
{
    return edge_zmq__has_input(self->sub, self->log, &self->limit);
}

/* Reads every waiting monitor event and reports (re)connections. Monitor messages are two
 * frames: 6 bytes {u16 event, u32 value} in host order, then the endpoint. */
static void s_read_monitor(edge_zmq_t *self)
{
    while (self->mon && edge_zmq__has_input(self->mon, self->log, &self->limit)) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR)
                continue;
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&m) >= sizeof event)
            memcpy(&event, zmq_msg_data(&m), sizeof event);
        bool more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, self->mon, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                if (errno == EINTR)
                    continue;
                break;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (event == ZMQ_EVENT_CONNECTED) {
            self->connects++;
            wire_log(self->log, self->connects > 1 ? WIRE_LOG_NOTICE : WIRE_LOG_INFO,
                     "zmq: connected to the router at %s", self->endpoint);
            if (self->on_connect)
                self->on_connect(self->arg, self->connects);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            self->disconnects++;
            wire_log(self->log, WIRE_LOG_NOTICE, "zmq: lost the router at %s; reconnecting",
                     self->endpoint);
        }
    }
}

/* Receives while input is waiting, at most budget messages; reschedules itself when more is
 * left, since the edge-triggered fd will not fire for messages already queued. */
static void s_drain(edge_zmq_t *self)
{
    if (self->draining)
        return;
    self->draining = true;
    s_read_monitor(self);
    unsigned n = 0;
    while (s_has_input(self)) {
        if (n == self->budget) {
            self->exhausted++;
            s_schedule(self);
            break;
        }
        if (s_recv_one(self) <= 0)
            break;
        n++;
    }
    self->draining = false;
}

static void s_sul_cb(lws_sorted_usec_list_t *sul)
{
    edge_zmq_t *self = lws_container_of(sul, edge_zmq_t, sul);
    s_drain(self);
}

/* lws callback of the raw-file wsi wrapping the dup()ed ZMQ_FD. */
static int s_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    edge_zmq_t *self = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (self)
            s_drain(self);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (self && self->wsi == wsi)
            self->wsi = NULL;
        if (self && self->mon_wsi == wsi)
            self->mon_wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols s_protocol = {
    .name = "weft-zmq",
    .callback = s_callback,
};

const struct lws_protocols *edge_zmq_protocol(void)
{
    return &s_protocol;
}

struct lws *edge_zmq__adopt(void *zsock, struct lws_vhost *vhost, const char *prot, void *opaque,
                            wire_log_t *log)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &size) < 0) {
        wire_log(log, WIRE_LOG_ERROR, "zmq: reading ZMQ_FD failed: %s", zmq_strerror(errno));
        return NULL;
    }
    /* lws closes an adopted descriptor when its wsi closes; ZMQ_FD belongs to libzmq. */
    int copy = dup(fd);
    if (copy < 0) {
        wire_log(log, WIRE_LOG_ERROR, "zmq: dup(ZMQ_FD) failed: %s", strerror(errno));
        return NULL;
    }
    lws_adopt_desc_t desc = {
        .vh = vhost,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd.filefd = copy,
        .vh_prot_name = prot,
        .opaque = opaque,
    };
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&desc);
    if (!wsi) /* lws has closed the descriptor already */
        wire_log(log, WIRE_LOG_ERROR, "zmq: lws could not adopt a ZMQ_FD (%s)", prot);
    return wsi;
}

int edge_zmq_attach(edge_zmq_t *self, struct lws_vhost *vhost)
{
    self->wsi = edge_zmq__adopt(self->sub, vhost, s_protocol.name, self, self->log);
    if (!self->wsi)
        return -1;
    self->mon_wsi = edge_zmq__adopt(self->mon, vhost, s_protocol.name, self, self->log);
    if (!self->mon_wsi)
        return -1;
    self->lws = lws_get_context(self->wsi);
    /* Messages may already be queued, and their edge may have fired before we listened. */
    s_schedule(self);
    return 0;
}

void edge_zmq_detach(edge_zmq_t *self)
{
    if (!self || !self->lws)
        return;
    lws_sul_cancel(&self->sul);
    self->lws = NULL;
}

/* Applies a (un)subscription, then looks for input whose edge the "send" may have consumed. */
static int s_subscription(edge_zmq_t *self, int opt, const void *topic, size_t len)
{
    while (zmq_setsockopt(self->sub, opt, topic, len) < 0) {
        if (errno == EINTR)
            continue;
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: %s '%.*s' failed: %s",
                 opt == ZMQ_SUBSCRIBE ? "subscribe" : "unsubscribe", (int)len, (const char *)topic,
                 zmq_strerror(errno));
        return -1;
    }
    /* Never drain here: the caller may be in the middle of handling a client message. */
    if (s_has_input(self))
        s_schedule(self);
    return 0;
}

int edge_zmq_subscribe(edge_zmq_t *self, const void *topic, size_t len)
{
    return s_subscription(self, ZMQ_SUBSCRIBE, topic, len);
}

int edge_zmq_unsubscribe(edge_zmq_t *self, const void *topic, size_t len)
{
    return s_subscription(self, ZMQ_UNSUBSCRIBE, topic, len);
}

uint64_t edge_zmq_received(const edge_zmq_t *self)
{
    return self->received;
}

uint64_t edge_zmq_budget_exhausted(const edge_zmq_t *self)
{
    return self->exhausted;
}

uint64_t edge_zmq_connects(const edge_zmq_t *self)
{
    return self->connects;
}

uint64_t edge_zmq_disconnects(const edge_zmq_t *self)
{
    return self->disconnects;
}

void *edge_zmq_context(const edge_zmq_t *self)
{
    return self->ctx;
}
