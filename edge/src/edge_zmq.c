/*
 * edge_zmq.c: the SUB socket and its integration in the lws loop (see edge_zmq.h).
 */
#include "edge_zmq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEFAULT_BUDGET 256
#define S_RECONNECT_IVL_MS 100
#define S_RECONNECT_IVL_MAX_MS 1000

struct edge_zmq {
    lws_sorted_usec_list_t sul; /* continues a drain that ran out of budget */
    void *ctx;                  /* ZeroMQ context, owned */
    void *sub;                  /* SUB socket, owned */
    struct lws_context *lws;    /* loop the socket is attached to; NULL when detached */
    struct lws *wsi;            /* raw-file wsi of the dup()ed ZMQ_FD; NULL when closed */
    unsigned budget;            /* messages per drain pass */
    bool draining;              /* a drain is running (guards re-entry from on_msg) */
    edge_zmq_msg_fn *on_msg;    /* message handler */
    void *arg;                  /* for on_msg */
    wire_log_t *log;            /* not owned; may be NULL */
    wire_log_limit_t limit;     /* for errors that could repeat per message */
    uint64_t received;          /* messages handed to on_msg */
    uint64_t exhausted;         /* passes continued from the timer */
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
    self->arg = opts->arg;
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

/* True when ZMQ_EVENTS reports input. Reading ZMQ_EVENTS also processes pending commands,
 * which is what re-arms ZMQ_FD. */
static bool s_has_input(edge_zmq_t *self)
{
    for (;;) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(self->sub, ZMQ_EVENTS, &events, &size) == 0)
            return (events & ZMQ_POLLIN) != 0;
        if (errno != EINTR) {
            wire_log_limited(self->log, &self->limit, WIRE_LOG_ERROR,
                             "zmq: reading ZMQ_EVENTS failed: %s", zmq_strerror(errno));
            return false;
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

int edge_zmq_attach(edge_zmq_t *self, struct lws_vhost *vhost)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (zmq_getsockopt(self->sub, ZMQ_FD, &fd, &size) < 0) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: reading ZMQ_FD failed: %s", zmq_strerror(errno));
        return -1;
    }
    /* lws closes an adopted descriptor when its wsi closes; ZMQ_FD belongs to libzmq. */
    int copy = dup(fd);
    if (copy < 0) {
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: dup(ZMQ_FD) failed: %s", strerror(errno));
        return -1;
    }
    lws_adopt_desc_t desc = {
        .vh = vhost,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd.filefd = copy,
        .vh_prot_name = s_protocol.name,
        .opaque = self,
    };
    self->wsi = lws_adopt_descriptor_vhost_via_info(&desc);
    if (!self->wsi) {
        /* lws has closed the descriptor already. */
        wire_log(self->log, WIRE_LOG_ERROR, "zmq: lws could not adopt the ZMQ_FD");
        return -1;
    }
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
