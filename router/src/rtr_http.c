/*
 * rtr_http.c: the router's metrics listener: libwebsockets in a libuv loop embedded in the
 * router's zmq_poll loop (why and how: rtr_http.h).
 *
 * Each request is answered whole inside LWS_CALLBACK_HTTP: rtr_ops renders the body, the
 * headers and then the body go out with lws_write (lws keeps whatever the socket does not take
 * at once and sends it when writable), and the connection stays open for the next request
 * (HTTP/1.1 keep-alive, as Prometheus scrapes). The body is copied behind LWS_PRE bytes of
 * headroom into one buffer kept between requests, so a warm listener allocates nothing per
 * scrape.
 */
#include "rtr_http.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base_clock.h"

#define RTR_HTTP_HEADERS_MAX 512 /* room for the response headers */

struct rtr_http {
    base_log_t *log;                   /* borrowed logger */
    rtr_ops_t *ops;                    /* borrowed: the answers */
    uv_loop_t uv;                      /* the loop lws runs in, embedded in the router's */
    bool uv_live;                      /* uv was initialised (destroy must close it) */
    struct lws_context *ctx;           /* lws context, NULL until created */
    struct lws_protocols protocols[2]; /* the HTTP handler and the terminator */
    int port;                          /* bound port */
    unsigned char *out;                /* LWS_PRE + body of the response being sent */
    size_t out_cap;                    /* bytes allocated at out */
};

/* Sends reply on wsi: status line and headers, then the body. Returns 0 to keep the connection,
 * -1 to close it. */
static int s_send(rtr_http_t *self, struct lws *wsi, const rtr_ops_reply_t *reply)
{
    unsigned char head[LWS_PRE + RTR_HTTP_HEADERS_MAX];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)reply->status, reply->content_type, reply->len,
                                    &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (reply->len > 0) {
        if (LWS_PRE + reply->len > self->out_cap) {
            unsigned char *grown = realloc(self->out, LWS_PRE + reply->len);
            if (!grown) {
                base_log(self->log, WEFT_LOG_ERROR, "metrics: out of memory for a reply");
                return -1;
            }
            self->out = grown;
            self->out_cap = LWS_PRE + reply->len;
        }
        memcpy(self->out + LWS_PRE, reply->body, reply->len);
        if (lws_write(wsi, self->out + LWS_PRE, reply->len, LWS_WRITE_HTTP_FINAL) !=
            (int)reply->len)
            return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* lws's callback for the listener: answers each request through rtr_ops. */
static int s_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    (void)user;
    (void)len;
    if (reason != LWS_CALLBACK_HTTP)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    rtr_http_t *self = lws_context_user(lws_get_context(wsi));
    /* lws stores the path under the token named for the method (lws-http.h). */
    const char *method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ? "GET" : "OTHER";
    rtr_ops_reply_t reply;
    (void)rtr_ops_respond(self->ops, method, in ? (const char *)in : "", base_clock_ms(), &reply);
    return s_send(self, wsi, &reply);
}

/* Starts the listener; see rtr_http.h. */
rtr_http_t *rtr_http_new(const char *bind, int port, rtr_ops_t *ops, base_log_t *log)
{
    rtr_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        base_log(log, WEFT_LOG_ERROR, "out of memory creating the metrics listener");
        return NULL;
    }
    self->log = log;
    self->ops = ops;
    if (uv_loop_init(&self->uv) != 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot create the metrics listener's libuv loop");
        goto err;
    }
    self->uv_live = true;
    self->protocols[0] = (struct lws_protocols){.name = "http", .callback = s_callback};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {&self->uv};
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.port = port;
    info.protocols = self->protocols;
    info.vhost_name = "weft-router-metrics";
    info.user = self;
    /* "0.0.0.0" means every interface (dual-stack); another IPv4 literal binds IPv4 only. */
    struct in_addr a4;
    if (strcmp(bind, "0.0.0.0") != 0 && bind[0] != '\0') {
        info.iface = bind;
        if (inet_pton(AF_INET, bind, &a4) == 1)
            info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    }
    self->ctx = lws_create_context(&info);
    struct lws_vhost *vh = self->ctx ? lws_get_vhost_by_name(self->ctx, info.vhost_name) : NULL;
    if (!vh) {
        base_log(log, WEFT_LOG_ERROR, "cannot start the metrics listener on %s port %d", bind,
                 port);
        goto err;
    }
    self->port = lws_get_vhost_listen_port(vh);
    base_log(log, WEFT_LOG_NOTICE, "metrics listener on %s port %d (/metrics /health /ready)", bind,
             self->port);
    return self;
err:
    rtr_http_destroy(&self);
    return NULL;
}

/* Closes everything; see rtr_http.h. */
void rtr_http_destroy(rtr_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_http_t *self = *self_p;
    if (self->ctx) {
        /* In a foreign loop lws closes its handles asynchronously: let the loop finish them,
         * then the second call frees the context (lws 4.1 leaves that to a second call for a
         * loop it does not own; the edge does the same). */
        lws_context_destroy(self->ctx);
        while (uv_loop_alive(&self->uv))
            uv_run(&self->uv, UV_RUN_ONCE);
        lws_context_destroy(self->ctx);
    }
    if (self->uv_live)
        while (uv_loop_close(&self->uv) == UV_EBUSY)
            uv_run(&self->uv, UV_RUN_ONCE);
    free(self->out);
    free(self);
    *self_p = NULL;
}

/* The bound port. */
int rtr_http_port(const rtr_http_t *self)
{
    return self->port;
}

/* libuv's epoll descriptor: readable whenever a descriptor lws watches is ready. */
int rtr_http_fd(const rtr_http_t *self)
{
    return uv_backend_fd(&self->uv);
}

/* Until libuv's next timer (lws's timeouts), ms; -1 when none is armed. */
int rtr_http_timeout_ms(const rtr_http_t *self)
{
    return uv_backend_timeout(&self->uv);
}

/* One pass of libuv that never waits. */
void rtr_http_service(rtr_http_t *self)
{
    uv_run(&self->uv, UV_RUN_NOWAIT);
}
