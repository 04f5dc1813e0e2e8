/*
 * edge_http.c: the edge's plain HTTP: static files, CORS, /health, /ready, /drain, /metrics
 * (edge_http.h). The pure routing and answers come first, then the lws adapter.
 */
#include "edge_http.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_metrics.h"

/* Indexes in the mount list: files last, as the fallback lws takes when nothing longer matches. */
enum {
    S_MOUNT_HEALTH = 0,
    S_MOUNT_READY,
    S_MOUNT_DRAIN,
    S_MOUNT_METRICS,
    S_MOUNT_FILES,
    S_MOUNT__COUNT
};

struct edge_http {
    edge_upgrade_t *upgrade;                      /* CORS, headers, TLS context (borrowed) */
    edge_http_state_fn *state;                    /* the server's state hook */
    edge_http_drain_fn *drain;                    /* the server's drain hook */
    void *arg;                                    /* for the hooks */
    edge_metrics_t *metrics;                      /* the /metrics text */
    unsigned char *out;                           /* LWS_PRE + a /metrics body, kept */
    size_t out_cap;                               /* its size */
    struct lws_http_mount mounts[S_MOUNT__COUNT]; /* linked through mount_next */
};

/* ---- pure ---------------------------------------------------------------------------------- */

edge_http_route_t edge_http_route(const char *path)
{
    if (!path)
        return EDGE_HTTP_FILES;
    if (strcmp(path, "/health") == 0)
        return EDGE_HTTP_HEALTH;
    if (strcmp(path, "/ready") == 0)
        return EDGE_HTTP_READY;
    if (strcmp(path, "/drain") == 0)
        return EDGE_HTTP_DRAIN;
    if (strcmp(path, "/metrics") == 0)
        return EDGE_HTTP_METRICS;
    return EDGE_HTTP_FILES;
}

bool edge_http_loopback(const char *addr)
{
    if (!addr)
        return false;
    if (strncmp(addr, "::ffff:", 7) == 0)
        addr += 7;
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

bool edge_http_history_ok(unsigned timeouts_in_a_row, int64_t since_last_ms)
{
    return timeouts_in_a_row < EDGE_HTTP_HIST_TIMEOUTS || since_last_ms > EDGE_HTTP_HIST_FORGET_MS;
}

/* Sets out's status and formats its body. */
static void s_reply(edge_http_reply_t *out, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_reply(edge_http_reply_t *out, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->body, sizeof out->body, fmt, ap);
    va_end(ap);
    out->status = status;
    /* Every format below fits; a cut body would still be sent as what fits. */
    out->len = n < 0 ? 0 : (size_t)n < sizeof out->body ? (size_t)n : sizeof out->body - 1;
}

/* /ready: ready, or 503 with each failing condition named. */
static void s_ready(const edge_http_state_t *st, edge_http_reply_t *out)
{
    char reasons[128] = "";
    size_t used = 0;
    const struct {
        bool failing;
        const char *name;
    } checks[] = {
        {!st->router, "router_disconnected"},
        {!st->history, "history_unanswered"},
        {st->draining, "draining"},
        {st->stopping && !st->draining, "stopping"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].failing)
            continue;
        int n = snprintf(reasons + used, sizeof reasons - used, "%s\"%s\"", used ? "," : "",
                         checks[i].name);
        if (n > 0 && (size_t)n < sizeof reasons - used)
            used += (size_t)n;
    }
    if (used == 0) {
        s_reply(out, 200,
                "{\"status\":\"ready\",\"router\":\"connected\",\"history\":\"ok\","
                "\"connections\":%llu}\n",
                (unsigned long long)st->connections);
        return;
    }
    s_reply(out, 503, "{\"status\":\"%s\",\"reasons\":[%s],\"connections\":%llu}\n",
            st->draining ? "draining" : "not_ready", reasons, (unsigned long long)st->connections);
}

void edge_http_answer(edge_http_route_t route, edge_http_method_t method, bool loopback,
                      const edge_http_state_t *st, edge_http_reply_t *out)
{
    memset(out, 0, sizeof *out);
    bool want_post = route == EDGE_HTTP_DRAIN;
    if (route == EDGE_HTTP_FILES) {
        s_reply(out, 404, "{\"error\":\"not_found\"}\n");
        return;
    }
    if (method != (want_post ? EDGE_HTTP_POST : EDGE_HTTP_GET)) {
        s_reply(out, 405, "{\"error\":\"method_not_allowed\",\"allow\":\"%s\"}\n",
                want_post ? "POST" : "GET");
        return;
    }
    switch (route) {
    case EDGE_HTTP_HEALTH:
        s_reply(out, st->loop_age_ms > EDGE_HTTP_STALL_MS ? 503 : 200,
                "{\"status\":\"%s\",\"loop_age_ms\":%lld}\n",
                st->loop_age_ms > EDGE_HTTP_STALL_MS ? "stalled" : "ok",
                (long long)st->loop_age_ms);
        return;
    case EDGE_HTTP_READY:
        s_ready(st, out);
        return;
    case EDGE_HTTP_DRAIN:
        if (!loopback) {
            s_reply(out, 403, "{\"error\":\"forbidden\",\"why\":\"/drain only from loopback\"}\n");
            return;
        }
        out->drain = true;
        s_reply(out, 202, "{\"status\":\"draining\"}\n");
        return;
    case EDGE_HTTP_METRICS: /* s_metrics() answers a GET */
    case EDGE_HTTP_FILES:
        break;
    }
}

/* ---- lws adapter --------------------------------------------------------------------------- */

edge_http_t *edge_http_new(const edge_http_opts_t *opts)
{
    edge_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->upgrade = opts->upgrade;
    self->state = opts->state;
    self->drain = opts->drain;
    self->arg = opts->arg;
    if (!(self->metrics = edge_metrics_new(opts->stats))) {
        free(self);
        return NULL;
    }
    static const char *const paths[] = {"/health", "/ready", "/drain", "/metrics"};
    for (int i = S_MOUNT_HEALTH; i <= S_MOUNT_METRICS; i++) {
        /* A callback mount: lws hands the request to protocols[0] as LWS_CALLBACK_HTTP. */
        self->mounts[i] = (struct lws_http_mount){
            .mount_next = &self->mounts[i + 1],
            .mountpoint = paths[i],
            .mountpoint_len = (unsigned char)strlen(paths[i]),
            .origin = "http",
            .origin_protocol = LWSMPRO_CALLBACK,
        };
    }
    self->mounts[S_MOUNT_FILES] = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = opts->www,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
        /* lws asks a mount's named protocol, and only that, for extra headers (CORS). */
        .protocol = "http",
    };
    return self;
}

void edge_http_destroy(edge_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_metrics_destroy(&(*self_p)->metrics);
    free((*self_p)->out);
    free(*self_p);
    *self_p = NULL;
}

const struct lws_http_mount *edge_http_mounts(edge_http_t *self)
{
    return self->mounts;
}

/* The request's method and path (into path, cap bytes; "" when absent). */
static edge_http_method_t s_request(struct lws *wsi, char *path, size_t cap)
{
    path[0] = '\0';
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0) {
        if (lws_hdr_copy(wsi, path, (int)cap, WSI_TOKEN_GET_URI) < 0)
            path[0] = '\0';
        return EDGE_HTTP_GET;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
        if (lws_hdr_copy(wsi, path, (int)cap, WSI_TOKEN_POST_URI) < 0)
            path[0] = '\0';
        return EDGE_HTTP_POST;
    }
    return EDGE_HTTP_OTHER;
}

/* Writes a whole answer: headers, then body (len bytes after LWS_PRE headroom at buf). Returns
 * 0, or 1 when the connection broke. */
static int s_write(struct lws *wsi, unsigned status, const char *type, unsigned char *buf,
                   size_t len)
{
    unsigned char head[LWS_PRE + 256];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    /* lws keeps what the socket does not take now and sends it before anything else. */
    if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) != (int)len)
        return 1;
    return 0;
}

/* GET /metrics: renders the counters into the kept buffer (lws needs headroom in front of the
 * body, which base_prom's text lacks: one copy, a few tens of KiB). Returns as s_write(). */
static int s_metrics(edge_http_t *self, struct lws *wsi, const edge_http_state_t *st)
{
    edge_metrics_state_t ms = {.router = st->router, .draining = st->draining};
    size_t len = 0;
    const char *text = edge_metrics_render(self->metrics, &ms, &len);
    if (text && LWS_PRE + len > self->out_cap) {
        size_t cap = (LWS_PRE + len) * 2;
        unsigned char *out = realloc(self->out, cap);
        if (out) {
            self->out = out;
            self->out_cap = cap;
        } else {
            text = NULL;
        }
    }
    if (!text) {
        unsigned char oom[LWS_PRE + 16];
        memcpy(oom + LWS_PRE, "out of memory\n", 14);
        return s_write(wsi, 500, "text/plain", oom, 14);
    }
    memcpy(self->out + LWS_PRE, text, len);
    return s_write(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", self->out, len);
}

/* LWS_CALLBACK_HTTP on an endpoint's mount: answers it. Returns as the lws callback. */
static int s_serve(edge_http_t *self, struct lws *wsi)
{
    char path[64];
    edge_http_method_t method = s_request(wsi, path, sizeof path);
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    edge_http_state_t st = {0};
    self->state(self->arg, &st);
    edge_http_route_t route = edge_http_route(path);
    if (route == EDGE_HTTP_METRICS && method == EDGE_HTTP_GET) {
        if (s_metrics(self, wsi, &st))
            return 1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    edge_http_reply_t reply;
    edge_http_answer(route, method, edge_http_loopback(peer), &st, &reply);
    unsigned char body[LWS_PRE + EDGE_HTTP_BODY_MAX];
    memcpy(body + LWS_PRE, reply.body, reply.len);
    if (s_write(wsi, reply.status, "application/json", body, reply.len))
        return 1;
    if (reply.drain && self->drain)
        self->drain(self->arg);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int edge_http_callback(edge_http_t *self, struct lws *wsi, int reason, void *user, void *in,
                       size_t len, bool stopped)
{
    switch ((enum lws_callback_reasons)reason) {
    case LWS_CALLBACK_HTTP: /* only the endpoints' mounts come here: lws serves the files */
        return s_serve(self, wsi);
    case LWS_CALLBACK_ADD_HEADERS:
        return edge_upgrade_add_cors(self->upgrade, wsi, in);
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION: /* its headers are complete (WSI_DESTROY) */
        edge_upgrade_headers_done(self->upgrade, wsi);
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return edge_upgrade_ssl_ctx(self->upgrade, user);
    case LWS_CALLBACK_WSI_DESTROY: /* counts HTTP connections whose headers never completed */
        if (!stopped)
            edge_upgrade_wsi_destroyed(self->upgrade, wsi);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, (enum lws_callback_reasons)reason, user, in, len);
    }
}
