/*
 * edge_ops.c: heartbeat, readiness state and the graceful drain on lws timers (edge_ops.h).
 */
#include "edge_ops.h"

#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base_clock.h"

#define S_BEAT_US (LWS_US_PER_SEC / 2) /* heartbeat period */
#define S_STEP_MIN_US 20000 /* a drain step visits every connection: at most 50 steps/s */

struct edge_ops {
    edge_http_t *http;           /* plain HTTP (owned) */
    edge_zmq_t *zmq;             /* borrowed */
    edge_hist_t *hist;           /* borrowed */
    const uint64_t *connections; /* borrowed */
    const bool *stopping;        /* borrowed */
    edge_ops_close_fn *close;    /* hooks */
    edge_ops_fn *stop;
    edge_ops_fn *reload;
    void *arg;
    base_log_t *log;
    double grace_s, window_s;         /* for the log */
    struct lws_context *ctx;          /* when attached */
    lws_sorted_usec_list_t beat_sul;  /* the heartbeat */
    lws_sorted_usec_list_t drain_sul; /* the drain's next step */
    int64_t beat_us;                  /* when the heartbeat last ran */
    edge_drain_t drain;               /* the schedule */
};

/* The loop's heartbeat: /health reports how long ago it ran. */
static void s_beat_cb(lws_sorted_usec_list_t *sul)
{
    edge_ops_t *self = lws_container_of(sul, edge_ops_t, beat_sul);
    self->beat_us = (int64_t)base_clock_us();
    lws_sul_schedule(self->ctx, 0, &self->beat_sul, s_beat_cb, S_BEAT_US);
}

/* edge_http state hook: the snapshot /health and /ready answer from. */
static void s_state(void *arg, edge_http_state_t *st)
{
    edge_ops_t *self = arg;
    int64_t now = (int64_t)base_clock_us();
    uint64_t last_timeout;
    unsigned in_a_row = edge_hist_timeouts_in_a_row(self->hist, &last_timeout);
    *st = (edge_http_state_t){
        .loop_age_ms = (now - self->beat_us) / 1000,
        .router = edge_zmq_connects(self->zmq) > edge_zmq_disconnects(self->zmq),
        .history = edge_http_history_ok(in_a_row, (now - (int64_t)last_timeout) / 1000),
        .draining = edge_drain_active(&self->drain),
        .stopping = *self->stopping,
        .connections = *self->connections,
    };
}

/* A drain step: closes the clients whose slots passed; after the last, stops. */
static void s_drain_cb(lws_sorted_usec_list_t *sul)
{
    edge_ops_t *self = lws_container_of(sul, edge_ops_t, drain_sul);
    if (*self->stopping)
        return;
    size_t due;
    int64_t next =
        edge_drain_poll(&self->drain, (int64_t)base_clock_us(), (size_t)*self->connections, &due);
    if (due)
        self->close(self->arg, due);
    /* Every client gone (they left, or their closes completed): nothing left to spread. */
    if (edge_drain_phase(&self->drain) == EDGE_DRAIN_DONE ||
        (edge_drain_phase(&self->drain) == EDGE_DRAIN_MOVING && *self->connections == 0)) {
        base_log(self->log, WEFT_LOG_NOTICE, "drain: every client was moved off");
        self->stop(self->arg); /* closes still under way finish as in a stop */
        return;
    }
    lws_sul_schedule(self->ctx, 0, &self->drain_sul, s_drain_cb,
                     (lws_usec_t)(next > S_STEP_MIN_US ? next : S_STEP_MIN_US));
}

/* edge_http drain hook: POST /drain from loopback. */
static void s_http_drain(void *arg)
{
    edge_ops_drain(arg);
}

/* Raw-file protocol for the signalfd (its opaque user data is the edge_ops_t). */
static int s_signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    edge_ops_t *self = lws_get_opaque_user_data(wsi);
    if (reason != LWS_CALLBACK_RAW_RX_FILE || !self)
        return 0;
    struct signalfd_siginfo si;
    ssize_t n = read(lws_get_socket_fd(wsi), &si, sizeof si);
    if (n != (ssize_t)sizeof si) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        base_log(self->log, WEFT_LOG_ERROR, "signalfd read failed: %s",
                 n < 0 ? strerror(errno) : "short read");
        return -1;
    }
    if (si.ssi_signo == SIGHUP) {
        self->reload(self->arg);
        return 0;
    }
    /* Nothing to drain without clients, or with drain_grace and drain_seconds both 0 (a stop
     * as before drains existed: every client told 1001 at once). */
    bool drain = si.ssi_signo == SIGTERM && !*self->stopping &&
                 edge_drain_phase(&self->drain) == EDGE_DRAIN_OFF && *self->connections > 0 &&
                 (self->grace_s > 0 || self->window_s > 0);
    base_log(self->log, WEFT_LOG_NOTICE, "received %s: %s", strsignal((int)si.ssi_signo),
             drain ? "draining" : "stopping");
    if (drain)
        edge_ops_drain(self);
    else
        self->stop(self->arg);
    return 0;
}

static const struct lws_protocols s_signal_protocol = {
    .name = "weft-signal",
    .callback = s_signal_callback,
};

const struct lws_protocols *edge_ops_signal_protocol(void)
{
    return &s_signal_protocol;
}

edge_ops_t *edge_ops_new(const edge_ops_opts_t *opts)
{
    edge_ops_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    *self = (edge_ops_t){
        .zmq = opts->zmq,
        .hist = opts->hist,
        .connections = &opts->stats->conns_current,
        .stopping = opts->stopping,
        .close = opts->close,
        .stop = opts->stop,
        .reload = opts->reload,
        .arg = opts->arg,
        .log = opts->log,
        .grace_s = opts->drain_grace,
        .window_s = opts->drain_seconds,
        .beat_us = (int64_t)base_clock_us(),
    };
    edge_http_opts_t hopts = {
        .www = opts->www,
        .upgrade = opts->upgrade,
        .state = s_state,
        .drain = s_http_drain,
        .stats = opts->stats,
        .arg = self,
    };
    self->http = edge_http_new(&hopts);
    if (!self->http) {
        free(self);
        return NULL;
    }
    /* A seed per process, so edges that drain together jitter differently. */
    edge_drain_init(&self->drain, (int64_t)(opts->drain_grace * 1e6),
                    (int64_t)(opts->drain_seconds * 1e6),
                    base_clock_wall_ns() ^ (uint64_t)getpid());
    return self;
}

void edge_ops_destroy(edge_ops_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_ops_detach(*self_p);
    edge_http_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}

edge_http_t *edge_ops_http(edge_ops_t *self)
{
    return self->http;
}

int edge_ops_attach(edge_ops_t *self, struct lws_context *ctx, struct lws_vhost *vhost,
                    int signal_fd)
{
    self->ctx = ctx;
    s_beat_cb(&self->beat_sul);
    if (signal_fd < 0)
        return 0;
    lws_adopt_desc_t desc = {
        .vh = vhost,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd.filefd = signal_fd,
        .vh_prot_name = s_signal_protocol.name,
        .opaque = self,
    };
    if (!lws_adopt_descriptor_vhost_via_info(&desc)) { /* lws closed it */
        base_log(self->log, WEFT_LOG_ERROR, "lws could not adopt the signalfd");
        return -1;
    }
    return 0;
}

void edge_ops_detach(edge_ops_t *self)
{
    if (!self->ctx)
        return;
    lws_sul_cancel(&self->beat_sul);
    lws_sul_cancel(&self->drain_sul);
    self->ctx = NULL;
}

void edge_ops_drain(edge_ops_t *self)
{
    if (*self->stopping || !self->ctx || !edge_drain_begin(&self->drain, (int64_t)base_clock_us()))
        return;
    base_log(self->log, WEFT_LOG_NOTICE,
             "draining: not ready; serving %llu clients for %g s, then moving them over %g s",
             (unsigned long long)*self->connections, self->grace_s, self->window_s);
    s_drain_cb(&self->drain_sul);
}

edge_drain_phase_t edge_ops_drain_phase(const edge_ops_t *self)
{
    return edge_drain_phase(&self->drain);
}
