/*
 * edge_upgrade.c: the vetting of upgrades and HTTP requests, and the vhost's TLS glue
 * (edge_upgrade.h). The parsing and the origin decision are pure; the functions taking a wsi
 * or an lws context only read headers, write headers, or hand lws the certificate files.
 */
#include "edge_upgrade.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "edge_jwt.h"
#include "edge_origin.h"
#include "edge_tls.h"

struct edge_upgrade {
    edge_upgrade_opts_t opts; /* the borrowed strings, stats, limit and log */
    edge_origin_t *origins;   /* allowed_origins, parsed */
    bool tls;                 /* the vhost serves https/wss */
    void *ssl_ctx; /* lws's server SSL_CTX (from LOAD_EXTRA_SERVER_VERIFY_CERTS), for the chain */
    edge_ipcap_t *ipcap; /* WebSocket connections per client address */
};

edge_upgrade_t *edge_upgrade_new(const edge_upgrade_opts_t *opts, char *err, size_t errlen)
{
    edge_upgrade_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = *opts;
    self->origins = edge_origin_new(opts->allowed_origins, err, errlen);
    if (self->origins)
        self->ipcap =
            edge_ipcap_new(opts->max_conns_per_ip, opts->conns_per_ip_exempt, err, errlen);
    if (!self->ipcap) {
        edge_upgrade_destroy(&self);
        return NULL;
    }
    self->tls = opts->tls_cert && opts->tls_cert[0];
    return self;
}

void edge_upgrade_destroy(edge_upgrade_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_origin_destroy(&(*self_p)->origins);
    edge_ipcap_destroy(&(*self_p)->ipcap);
    free(*self_p);
    *self_p = NULL;
}

bool edge_upgrade_origins_empty(const edge_upgrade_t *self)
{
    return edge_origin_empty(self->origins);
}

bool edge_upgrade_tls(const edge_upgrade_t *self)
{
    return self->tls;
}

/* ---- pure parsing and decisions ----------------------------------------------------------- */

/* Copies the NUL-terminated token t into out (cap bytes): its length, or TOO_BIG (out ""). */
static int s_copy_token(const char *t, char *out, size_t cap)
{
    size_t len = strlen(t);
    if (cap == 0)
        return EDGE_UPGRADE_TOO_BIG;
    if (len >= cap) {
        out[0] = '\0';
        return EDGE_UPGRADE_TOO_BIG;
    }
    memcpy(out, t, len + 1);
    return (int)len;
}

int edge_upgrade_bearer(const char *authorization, char *out, size_t cap)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return EDGE_UPGRADE_NONE;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    return s_copy_token(t, out, cap);
}

int edge_upgrade_query_token(const char *arg, char *out, size_t cap)
{
    if (!arg || strncmp(arg, "token=", 6) != 0)
        return EDGE_UPGRADE_NONE;
    return s_copy_token(arg + 6, out, cap);
}

/* Browsers always send Origin on a WebSocket upgrade, so only non-browser clients come without
 * one, and those can set headers: with tokens required they must bring theirs on the upgrade, so
 * that a page's script cannot pass as one (a forged-Origin-less request from a browser context
 * cannot carry an Authorization header). An origin too long to match is allowed only by an
 * any-list. */
edge_upgrade_origin_t edge_upgrade_origin(const edge_upgrade_t *self, const char *origin, int len,
                                          bool has_token)
{
    if (len == 0) {
        if (!self->opts.allow_missing_origin)
            return EDGE_UPGRADE_ORIGIN_MISSING;
        return self->opts.tokens && !has_token ? EDGE_UPGRADE_ORIGIN_NO_TOKEN
                                                             : EDGE_UPGRADE_ORIGIN_OK;
    }
    if (len > 0 && edge_origin_allowed(self->origins, origin, (size_t)len))
        return EDGE_UPGRADE_ORIGIN_OK;
    if (len < 0 && edge_origin_any(self->origins))
        return EDGE_UPGRADE_ORIGIN_OK;
    return EDGE_UPGRADE_ORIGIN_REFUSED;
}

/* ---- lws adapters ------------------------------------------------------------------------- */

/* The request's Origin header into buf (EDGE_ORIGIN_MAX + 1 bytes): its length, 0 when there
 * is none, -1 when it is longer than any origin we match. */
static int s_origin_of(struct lws *wsi, char *buf)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0)
        return 0;
    if (len > EDGE_ORIGIN_MAX)
        return -1;
    int n = lws_hdr_copy(wsi, buf, EDGE_ORIGIN_MAX + 1, WSI_TOKEN_ORIGIN);
    return n < 0 ? -1 : n;
}

const char *edge_upgrade_vet_origin(edge_upgrade_t *self, struct lws *wsi)
{
    char origin[EDGE_ORIGIN_MAX + 1];
    int n = s_origin_of(wsi, origin);
    bool has_token = false;
    if (n == 0 && self->opts.tokens) {
        char token[EDGE_JWT_TOKEN_MAX + 1];
        has_token = edge_upgrade_token(wsi, token, sizeof token) != 0;
    }
    switch (edge_upgrade_origin(self, origin, n, has_token)) {
    case EDGE_UPGRADE_ORIGIN_OK:
        return NULL;
    case EDGE_UPGRADE_ORIGIN_NO_TOKEN:
        self->opts.stats->origin_missing++;
        base_log_limited(self->opts.log, self->opts.limit, WEFT_LOG_INFO,
                         "refusing a WebSocket without Origin and without a token on the upgrade");
        return "an Origin header or a token on the upgrade is required";
    case EDGE_UPGRADE_ORIGIN_MISSING:
        self->opts.stats->origin_missing++;
        base_log_limited(self->opts.log, self->opts.limit, WEFT_LOG_INFO,
                         "refusing a WebSocket without Origin (allow_missing_origin = false)");
        return "an Origin header is required";
    case EDGE_UPGRADE_ORIGIN_REFUSED:
    default:
        self->opts.stats->origin_refused++;
        base_log_limited(self->opts.log, self->opts.limit, WEFT_LOG_INFO,
                         "refusing a WebSocket from origin '%.*s' (not in allowed_origins)",
                         n > 0 ? (n < 100 ? n : 100) : 0, origin);
        return "origin not allowed";
    }
}

/* With an allowlist configured, "Vary: Origin" (the answer depends on it, caches must know)
 * and, for an allowed origin, the CORS header naming it. "null" is never named: any page in a
 * sandbox could claim it. */
int edge_upgrade_add_cors(edge_upgrade_t *self, struct lws *wsi, void *in)
{
    if (!in || edge_origin_empty(self->origins))
        return 0;
    struct lws_process_html_args *args = in;
    unsigned char **p = (unsigned char **)&args->p;
    unsigned char *end = (unsigned char *)args->p + args->max_len;
    if (lws_add_http_header_by_name(
            wsi, (const unsigned char *)"vary:", (const unsigned char *)"Origin", 6, p, end))
        return 1;
    char origin[EDGE_ORIGIN_MAX + 1];
    int n = s_origin_of(wsi, origin);
    if (n <= 0 || (n == 4 && memcmp(origin, "null", 4) == 0) ||
        !edge_origin_allowed(self->origins, origin, (size_t)n))
        return 0;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
                                    (const unsigned char *)origin, n, p, end))
        return 1;
    return 0;
}

/* An Authorization header that is not a Bearer credential falls through to the query; one
 * that is ("Bearer " and nothing included) decides. A header or query argument too long for
 * text can only hold a token too big. */
int edge_upgrade_token(struct lws *wsi, char *buf, size_t cap)
{
    char text[EDGE_JWT_TOKEN_MAX + 16]; /* "Bearer " or "token=" and the token */
    buf[0] = '\0';
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) {
        if (n >= (int)sizeof text ||
            lws_hdr_copy(wsi, text, sizeof text, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
            return EDGE_UPGRADE_TOO_BIG;
        int len = edge_upgrade_bearer(text, buf, cap);
        if (len != EDGE_UPGRADE_NONE)
            return len;
    }
    for (int i = 0; (n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i)) > 0; i++) {
        if (n >= (int)sizeof text)
            return EDGE_UPGRADE_TOO_BIG; /* no argument is that long but a token too big */
        if (lws_hdr_copy_fragment(wsi, text, sizeof text, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
            continue;
        int len = edge_upgrade_query_token(text, buf, cap);
        if (len != EDGE_UPGRADE_NONE)
            return len;
    }
    return 0;
}

/* lws made the vhost's SSL_CTX (and loads tls_cert and tls_key into it next). */
int edge_upgrade_ssl_ctx(edge_upgrade_t *self, void *ssl_ctx)
{
    if (!self->tls || !ssl_ctx)
        return 0;
    self->ssl_ctx = ssl_ctx;
    char err[600];
    if (edge_tls_set_chain(ssl_ctx, self->opts.tls_chain, err, sizeof err) < 0) {
        base_log(self->opts.log, WEFT_LOG_ERROR, "%s", err);
        return 1;
    }
    return 0;
}

/* A renewed certificate is served to new connections without a restart (open ones keep their
 * session). The files are checked first: lws would log a bad one and leave the vhost without a
 * usable key. */
void edge_upgrade_reload_tls(edge_upgrade_t *self, struct lws_context *ctx)
{
    const edge_upgrade_opts_t *o = &self->opts;
    if (!self->tls) {
        base_log(o->log, WEFT_LOG_NOTICE, "received SIGHUP: nothing to reload (no tls_cert)");
        return;
    }
    char err[600];
    if (edge_tls_check(o->tls_cert, o->tls_key, o->tls_chain, err, sizeof err) < 0) {
        base_log(o->log, WEFT_LOG_ERROR, "SIGHUP: keeping the certificate in use: %s", err);
        return;
    }
    /* Reloads every vhost whose paths these are: ours. Its return value says nothing (lws
     * 4.1 returns 0 whatever happened), hence the check above. */
    lws_tls_cert_updated(ctx, o->tls_cert, o->tls_key, NULL, 0, NULL, 0);
    if (self->ssl_ctx && edge_tls_set_chain(self->ssl_ctx, o->tls_chain, err, sizeof err) < 0)
        base_log(o->log, WEFT_LOG_ERROR, "SIGHUP: %s (serving without a chain)", err);
    char what[512];
    edge_tls_describe(o->tls_cert, what, sizeof what);
    base_log(o->log, WEFT_LOG_NOTICE, "SIGHUP: reloaded the certificate: %s", what);
}

void edge_upgrade_info(const edge_upgrade_t *self, struct lws_context_creation_info *info)
{
    /* lws closes a text frame of invalid UTF-8 with 1007 (counted by the server in CLOSED). */
    info->options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
    /* From accept to complete headers: lws holds a header buffer for a connection that long at
     * most, then drops it (a client sending its headers a byte at a time: slowloris). */
    info->timeout_secs_ah_idle = (unsigned)self->opts.header_timeout;
    /* Room for a token of EDGE_JWT_TOKEN_MAX in a header or the query besides the other headers,
     * so that a longer one is refused with its reason (401 too_big) rather than by lws. The
     * header buffer is the handshake's only: lws lets it go once the WebSocket is up. Larger
     * headers (or more of them than lws has slots for) make lws drop the connection. */
    if (self->opts.tokens)
        info->max_http_header_data = EDGE_JWT_TOKEN_MAX + 8192;
    if (!self->tls)
        return;
    /* TLS: lws loads the certificate (with any chain in the same file) and the key, which
     * edge_config_finish() has checked; tls_chain goes in through edge_upgrade_ssl_ctx(). Not
     * ssl_ca_filepath: for an lws server that is the trust store for client certificates. */
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = self->opts.tls_cert;
    info->ssl_private_key_filepath = self->opts.tls_key;
    /* HTTP/1.1 only: over HTTP/2 a WebSocket would be an h2 stream (RFC 8441), which the
     * upgrade vetting and the writer's gathered RAW writes (edge_writer.c) do not handle.
     * Browsers then open wss:// over HTTP/1.1 as they do without TLS. */
    info->alpn = "http/1.1";
}

/* The client address of wsi's socket (getpeername()) into addr. Returns 0, or -1. */
static int s_peer(struct lws *wsi, edge_ipaddr_t *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = lws_get_socket_fd(wsi);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return edge_ipaddr_from_sockaddr((struct sockaddr *)&ss, len, addr);
}

const char *edge_upgrade_vet_peer(edge_upgrade_t *self, struct lws *wsi)
{
    edge_ipaddr_t peer;
    if (s_peer(wsi, &peer) < 0 || !edge_ipcap_full(self->ipcap, &peer))
        return NULL;
    self->opts.stats->ip_refused++;
    base_log_limited(self->opts.log, self->opts.limit, WEFT_LOG_WARN,
                     "refusing a WebSocket: max_conns_per_ip (%d) reached",
                     self->opts.max_conns_per_ip);
    return "too many connections from this address";
}

edge_ipcap_entry_t *edge_upgrade_count_peer(edge_upgrade_t *self, struct lws *wsi)
{
    edge_ipaddr_t peer;
    return s_peer(wsi, &peer) < 0 ? NULL : edge_ipcap_add(self->ipcap, &peer);
}

void edge_upgrade_uncount_peer(edge_upgrade_t *self, edge_ipcap_entry_t **entry_p)
{
    edge_ipcap_remove(self->ipcap, entry_p);
}

/* The mark is the wsi's opaque user pointer, which nothing else sets on HTTP connections. */
void edge_upgrade_headers_done(edge_upgrade_t *self, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, self);
}

/* Accepted connections are bound to the "http" or (as the vhost's default) the WebSocket
 * protocol from the start; the descriptors the edge adopts (ZeroMQ, signalfd) have their own. */
void edge_upgrade_wsi_destroyed(edge_upgrade_t *self, struct lws *wsi)
{
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    if (lws_get_opaque_user_data(wsi) || !proto || !proto->name ||
        (strcmp(proto->name, "http") != 0 && strcmp(proto->name, self->opts.ws_protocol) != 0))
        return;
    self->opts.stats->http_incomplete++;
    base_log_limited(self->opts.log, self->opts.limit, WEFT_LOG_INFO,
                     "http: a connection ended before its headers were complete "
                     "(header_timeout, header size, or the client left)");
}
