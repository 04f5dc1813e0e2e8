/*
 * edge_zloop.c: one ZeroMQ socket serviced from the lws event loop (see edge_zloop.h).
 */
#include "edge_zloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEFAULT_BUDGET 256

struct edge_zloop {
    lws_sorted_usec_list_t sul;     /* continues a pass that ran out of budget */
    void *zsock;                    /* the socket (not owned) */
    const char *what;               /* its name in logs (static) */
    unsigned budget;                /* recv_one() calls per pass */
    edge_zloop_recv_fn *recv_one;   /* message handler */
    edge_zloop_pass_fn *pass;       /* start-of-pass hook, may be NULL */
    edge_zloop_pass_fn *done;       /* end-of-pass hook, may be NULL */
    edge_zloop_holdoff_fn *holdoff; /* pause after a pass, may be NULL */
    bool held;                      /* the fd is not watched until sul fires */
    void *arg;                      /* for recv_one, pass and done */
    struct lws_context *lws;        /* loop it is attached to; NULL when detached */
    struct lws *wsi;                /* raw-file wsi of the dup()ed ZMQ_FD; NULL when none */
    bool draining;                  /* a pass is running (guards re-entry from recv_one) */
    base_log_t *log;                /* not owned; may be NULL */
    base_limit_t limit;         /* for errors that could repeat per wake-up */
    uint64_t received;              /* messages handled */
    uint64_t exhausted;             /* passes continued from the timer */
};

edge_zloop_t *edge_zloop_new(const edge_zloop_opts_t *opts)
{
    edge_zloop_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->zsock = opts->zsock;
    self->what = opts->what ? opts->what : "zmq";
    self->budget = opts->budget ? opts->budget : S_DEFAULT_BUDGET;
    self->recv_one = opts->recv_one;
    self->pass = opts->pass;
    self->done = opts->done;
    self->holdoff = opts->holdoff;
    self->arg = opts->arg;
    self->log = opts->log;
    return self;
}

void edge_zloop_destroy(edge_zloop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_zloop_detach(*self_p);
    free(*self_p);
    *self_p = NULL;
}

static void s_sul_cb(lws_sorted_usec_list_t *sul);

/* Asks the loop to run a pass as soon as possible. */
static void s_schedule(edge_zloop_t *self)
{
    if (self->lws)
        lws_sul_schedule(self->lws, 0, &self->sul, s_sul_cb, 0);
}

bool edge_zloop_has_input(edge_zloop_t *self)
{
    for (;;) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(self->zsock, ZMQ_EVENTS, &events, &size) == 0)
            return (events & ZMQ_POLLIN) != 0;
        if (errno != EINTR) {
            base_log_limited(self->log, &self->limit, WEFT_LOG_ERROR,
                             "%s: reading ZMQ_EVENTS failed: %s", self->what, zmq_strerror(errno));
            return false;
        }
    }
}

void edge_zloop_drain(edge_zloop_t *self)
{
    if (self->draining)
        return;
    self->draining = true;
    if (self->pass)
        self->pass(self->arg);
    unsigned n = 0;
    while (edge_zloop_has_input(self)) {
        if (n == self->budget) {
            self->exhausted++;
            s_schedule(self);
            break;
        }
        if (self->recv_one(self->arg) <= 0)
            break;
        self->received++;
        n++;
    }
    if (n && self->done)
        self->done(self->arg);
    /* A pass cut by the budget continues at once; otherwise the owner may ask for a pause. */
    if (n && n < self->budget && self->holdoff && self->wsi && self->lws && !self->held) {
        int64_t us = self->holdoff(self->arg);
        if (us > 0) {
            lws_rx_flow_control(self->wsi, 0);
            self->held = true;
            lws_sul_schedule(self->lws, 0, &self->sul, s_sul_cb, us);
        }
    }
    self->draining = false;
}

void edge_zloop_kick(edge_zloop_t *self)
{
    if (!self->held && edge_zloop_has_input(self))
        s_schedule(self);
}

/* Timer: continues (or starts) a pass. */
static void s_sul_cb(lws_sorted_usec_list_t *sul)
{
    edge_zloop_t *self = lws_container_of(sul, edge_zloop_t, sul);
    if (self->held) {
        self->held = false;
        if (self->wsi)
            lws_rx_flow_control(self->wsi, 1);
    }
    edge_zloop_drain(self);
}

/* lws callback of every zloop's raw-file wsi. */
static int s_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    edge_zloop_t *self = lws_get_opaque_user_data(wsi);
    if (!self)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        edge_zloop_drain(self);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (self->wsi == wsi)
            self->wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols s_protocol = {
    .name = "weft-zloop",
    .callback = s_callback,
};

const struct lws_protocols *edge_zloop_protocol(void)
{
    return &s_protocol;
}

int edge_zloop_attach(edge_zloop_t *self, struct lws_vhost *vhost)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (zmq_getsockopt(self->zsock, ZMQ_FD, &fd, &size) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "%s: reading ZMQ_FD failed: %s", self->what,
                 zmq_strerror(errno));
        return -1;
    }
    /* lws closes an adopted descriptor when its wsi closes; ZMQ_FD belongs to libzmq. */
    int copy = dup(fd);
    if (copy < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "%s: dup(ZMQ_FD) failed: %s", self->what,
                 strerror(errno));
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
    if (!self->wsi) { /* lws has closed the descriptor already */
        base_log(self->log, WEFT_LOG_ERROR, "%s: lws could not adopt ZMQ_FD", self->what);
        return -1;
    }
    self->lws = lws_get_context(self->wsi);
    /* Messages may already be queued, and their edge may have fired before we listened. */
    s_schedule(self);
    return 0;
}

void edge_zloop_detach(edge_zloop_t *self)
{
    if (!self)
        return;
    if (self->lws)
        lws_sul_cancel(&self->sul);
    self->held = false;
    if (self->wsi) /* lws closes it with the context: its callback must not find us then */
        lws_set_opaque_user_data(self->wsi, NULL);
    self->wsi = NULL;
    self->lws = NULL;
}

struct lws_context *edge_zloop_context(const edge_zloop_t *self)
{
    return self->lws;
}

uint64_t edge_zloop_received(const edge_zloop_t *self)
{
    return self->received;
}

uint64_t edge_zloop_exhausted(const edge_zloop_t *self)
{
    return self->exhausted;
}
