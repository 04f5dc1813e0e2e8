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

#include "edge_zloop.h"

#define S_RECONNECT_IVL_MS 100
#define S_RECONNECT_IVL_MAX_MS 1000

struct edge_zmq {
    void *ctx;                         /* ZeroMQ context, owned */
    void *sub;                         /* SUB socket, owned */
    void *mon;                         /* PAIR receiving the SUB's monitor events, owned */
    edge_zloop_t *sub_loop;            /* the SUB in the lws loop */
    edge_zloop_t *mon_loop;            /* the monitor in the lws loop */
    edge_zmq_msg_fn *on_msg;           /* message handler */
    edge_zmq_connect_fn *on_connect;   /* connection handler, may be NULL */
    edge_zmq_pass_end_fn *on_pass_end; /* end of a pass with messages, may be NULL */
    edge_zloop_holdoff_fn *holdoff;    /* pause reading after a pass, may be NULL */
    void *arg;                         /* for on_msg, on_connect and on_pass_end */
    base_log_t *log;                   /* not owned; may be NULL */
    base_limit_t limit;            /* for errors that could repeat per message */
    uint64_t connects;                 /* CONNECTED events */
    uint64_t disconnects;              /* DISCONNECTED events */
    bool curve;                        /* keys holds this edge's CURVE client keys */
    base_limit_t refused_limit;        /* for "the router refused the handshake" */
    wire_curve_keys_t keys;            /* CURVE keys (when curve) */
    char endpoint[1024];               /* the router endpoint, for logs */
};

/* Sets an int socket option; logs and returns -1 on failure. */
static int s_setopt(edge_zmq_t *self, int opt, int value, const char *name)
{
    if (zmq_setsockopt(self->sub, opt, &value, sizeof value) == 0)
        return 0;
    base_log(self->log, WEFT_LOG_ERROR, "zmq: setting %s=%d failed: %s", name, value,
             zmq_strerror(errno));
    return -1;
}

/* edge_zloop recv_one of the SUB: receives one whole message without blocking. Returns 1 when
 * one was handled, 0 when none was waiting, -1 on an error (logged). */
static int s_recv_one(void *arg)
{
    edge_zmq_t *self = arg;
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
                    base_log_limited(self->log, &self->limit, WEFT_LOG_ERROR,
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
    if (self->on_msg)
        self->on_msg(self->arg, &msg);
done:
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&parts[i]);
    zmq_msg_close(&extra);
    return rc;
}

/* edge_zloop recv_one of the monitor: reads one event and reports (re)connections. Monitor
 * messages are two frames: 6 bytes {u16 event, u32 value} in host order, then the endpoint. */
static int s_recv_monitor_one(void *arg)
{
    edge_zmq_t *self = arg;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, self->mon, ZMQ_DONTWAIT) < 0) {
        if (errno != EINTR) {
            zmq_msg_close(&m);
            return errno == EAGAIN ? 0 : -1;
        }
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
        base_log(self->log, self->connects > 1 ? WEFT_LOG_NOTICE : WEFT_LOG_INFO,
                 "zmq: connected to the router at %s", self->endpoint);
        if (self->on_connect)
            self->on_connect(self->arg, self->connects);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
               event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
               event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        base_log_limited(self->log, &self->refused_limit, WEFT_LOG_ERROR,
                         "zmq: the router at %s refused the handshake (%s): no events until it "
                         "is fixed (is this edge's public certificate in the router's "
                         "curve_clients_dir, and router_public_key the router's?)",
                         self->endpoint,
                         event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "key not allowed"
                                                                  : "CURVE mismatch");
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        self->disconnects++;
        base_log(self->log, WEFT_LOG_NOTICE, "zmq: lost the router at %s; reconnecting",
                 self->endpoint);
    }
    return 1;
}

/* edge_zloop pass hook of the SUB: every waiting monitor event first. */
static void s_read_monitor(void *arg)
{
    edge_zmq_t *self = arg;
    edge_zloop_drain(self->mon_loop);
}

/* edge_zloop end-of-pass hook of the SUB: tells the owner. */
static void s_pass_end(void *arg)
{
    edge_zmq_t *self = arg;
    if (self->on_pass_end)
        self->on_pass_end(self->arg);
}

/* edge_zloop holdoff hook of the SUB: asks the owner. */
static int64_t s_holdoff(void *arg)
{
    edge_zmq_t *self = arg;
    return self->holdoff ? self->holdoff(self->arg) : 0;
}

/* Loads the CURVE keys when configured and makes the SUB a CURVE client. Returns 0 or -1. */
static int s_curve(edge_zmq_t *self, const edge_zmq_opts_t *opts)
{
    char err[600];
    int rc = wire_curve_client_keys(opts->curve_server, NULL, NULL, opts->curve_cert, &self->keys,
                                    err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: CURVE keys: %s", err);
        return -1;
    }
    if (self->keys.loose_mode)
        base_log(self->log, WEFT_LOG_WARN,
                 "curve_secret_key: %s is readable or writable by group or others (chmod 600 it)",
                 opts->curve_cert);
    if (wire_curve_client_apply(self->sub, &self->keys) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot set the CURVE keys: %s",
                 zmq_strerror(errno));
        return -1;
    }
    self->curve = true;
    base_log(self->log, WEFT_LOG_INFO, "zmq: CURVE on, edge public key %s", self->keys.public_key);
    return 0;
}

/* Creates the SUB socket and its monitor (see edge_zmq.h). */
edge_zmq_t *edge_zmq_new(const edge_zmq_opts_t *opts)
{
    edge_zmq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->on_msg = opts->on_msg;
    self->on_connect = opts->on_connect;
    self->on_pass_end = opts->on_pass_end;
    self->holdoff = opts->holdoff;
    self->arg = opts->arg;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", opts->endpoint);
    self->log = opts->log;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot create a context: %s",
                 zmq_strerror(errno));
        goto err;
    }
    self->sub = zmq_socket(self->ctx, ZMQ_SUB);
    if (!self->sub) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot create a SUB socket: %s",
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
    if (s_curve(self, opts) < 0)
        goto err;
    /* The monitor must exist before the connect, or the first CONNECTED could be missed. The
     * inproc name only has to be unique within this context. */
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://weft-edge-sub-monitor-%p", (void *)self);
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(self->sub, mon_ep, events) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot monitor the SUB socket: %s",
                 zmq_strerror(errno));
        goto err;
    }
    self->mon = zmq_socket(self->ctx, ZMQ_PAIR);
    int zero = 0;
    if (!self->mon || zmq_setsockopt(self->mon, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_connect(self->mon, mon_ep) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot read the SUB monitor: %s",
                 zmq_strerror(errno));
        goto err;
    }
    if (zmq_connect(self->sub, opts->endpoint) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: cannot connect to %s: %s", opts->endpoint,
                 zmq_strerror(errno));
        goto err;
    }
    /* Monitor events are read at the start of every pass over the SUB too, so a reconnection
     * is known before the messages that follow it are handled. */
    self->sub_loop = edge_zloop_new(&(edge_zloop_opts_t){
        .zsock = self->sub,
        .what = "zmq",
        .budget = opts->budget,
        .recv_one = s_recv_one,
        .pass = s_read_monitor,
        .done = s_pass_end,
        .holdoff = s_holdoff,
        .arg = self,
        .log = self->log,
    });
    self->mon_loop = edge_zloop_new(&(edge_zloop_opts_t){
        .zsock = self->mon,
        .what = "zmq monitor",
        .recv_one = s_recv_monitor_one,
        .arg = self,
        .log = self->log,
    });
    if (!self->sub_loop || !self->mon_loop) {
        base_log(self->log, WEFT_LOG_ERROR, "zmq: out of memory");
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
    edge_zloop_destroy(&self->sub_loop);
    edge_zloop_destroy(&self->mon_loop);
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

int edge_zmq_attach(edge_zmq_t *self, struct lws_vhost *vhost)
{
    if (edge_zloop_attach(self->sub_loop, vhost) < 0 ||
        edge_zloop_attach(self->mon_loop, vhost) < 0)
        return -1;
    return 0;
}

void edge_zmq_detach(edge_zmq_t *self)
{
    if (!self)
        return;
    edge_zloop_detach(self->sub_loop);
    edge_zloop_detach(self->mon_loop);
}

/* Applies a (un)subscription, then looks for input whose edge the "send" may have consumed. */
static int s_subscription(edge_zmq_t *self, int opt, const void *topic, size_t len)
{
    while (zmq_setsockopt(self->sub, opt, topic, len) < 0) {
        if (errno == EINTR)
            continue;
        base_log(self->log, WEFT_LOG_ERROR, "zmq: %s '%.*s' failed: %s",
                 opt == ZMQ_SUBSCRIBE ? "subscribe" : "unsubscribe", (int)len, (const char *)topic,
                 zmq_strerror(errno));
        return -1;
    }
    edge_zloop_kick(self->sub_loop);
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
    return edge_zloop_received(self->sub_loop);
}

uint64_t edge_zmq_budget_exhausted(const edge_zmq_t *self)
{
    return edge_zloop_exhausted(self->sub_loop);
}

uint64_t edge_zmq_connects(const edge_zmq_t *self)
{
    return self->connects;
}

uint64_t edge_zmq_disconnects(const edge_zmq_t *self)
{
    return self->disconnects;
}

const wire_curve_keys_t *edge_zmq_curve(const edge_zmq_t *self)
{
    return self->curve ? &self->keys : NULL;
}

void *edge_zmq_context(const edge_zmq_t *self)
{
    return self->ctx;
}
