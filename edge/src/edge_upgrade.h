/*
 * edge_upgrade.h: the vetting of what arrives at the edge's vhost before it is a connection:
 * an upgrade's Origin (against allowed_origins, edge_origin.h), the CORS headers of the HTTP
 * files, the token an upgrade carries (Authorization: Bearer or ?token=), and the vhost's TLS
 * context (the chain file, and the reload of the certificate files on SIGHUP).
 *
 * Two layers in one class: pure functions (edge_upgrade_bearer(), edge_upgrade_query_token(),
 * edge_upgrade_origin()) that parse and decide without lws, so that a unit test calls them
 * alone; and thin lws adapters (the wsi functions) that read the headers and call them, as
 * edge_zloop adapts ZeroMQ to lws. The server calls down into it from its lws callbacks; it
 * counts and logs origin refusals into the server's stats (a pointer given at construction),
 * token refusals stay with the server (they need its pending identity).
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_UPGRADE_H
#define EDGE_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "base_limit.h"
#include "base_log.h"
#include "edge_ipcap.h"
#include "edge_stats.h"

struct lws;
struct lws_context;
struct lws_context_creation_info;

#define EDGE_UPGRADE_NONE (-1)    /* not this kind of token (another source may have one) */
#define EDGE_UPGRADE_TOO_BIG (-2) /* a token longer than the buffer */

typedef struct edge_upgrade edge_upgrade_t;

typedef struct edge_upgrade_opts {
    const char *allowed_origins; /* the allowlist (edge_origin.h; NULL or "" = any origin) */
    bool allow_missing_origin;   /* accept upgrades without Origin (non-browser clients) */
    const char *tls_cert;        /* borrowed paths; tls_cert NULL or "" = no TLS */
    const char *tls_key;
    const char *tls_chain; /* NULL or "" = no chain file */
    edge_stats_t *stats;   /* origin_refused, origin_missing are counted here */
    base_limit_t *limit;   /* rate of the logs about refused upgrades (shared) */
    base_log_t *log;
    int max_conns_per_ip;            /* WebSocket connections per address (0 = unlimited) */
    const char *conns_per_ip_exempt; /* addresses never capped (edge_ipcap.h) */
    int header_timeout;              /* seconds from accept to complete request headers */
    bool tokens; /* auth = jwt: upgrades may carry tokens (room for them in headers), and one
                  * without Origin must (allow_missing_origin or not) */
    const char *ws_protocol;         /* the WebSocket protocol's name (static) */
} edge_upgrade_opts_t;

/* The decision about an upgrade's Origin. */
typedef enum edge_upgrade_origin {
    EDGE_UPGRADE_ORIGIN_OK = 0,  /* allowed */
    EDGE_UPGRADE_ORIGIN_MISSING, /* no Origin, and allow_missing_origin is off */
    EDGE_UPGRADE_ORIGIN_REFUSED, /* not in allowed_origins */
    EDGE_UPGRADE_ORIGIN_NO_TOKEN, /* no Origin and no token on the upgrade (tokens) */
} edge_upgrade_origin_t;

/* Creates the vetting from opts (copied; the strings and pointers are borrowed). Returns NULL
 * with "what is wrong" in err (a bad allowed_origins entry, out of memory). */
edge_upgrade_t *edge_upgrade_new(const edge_upgrade_opts_t *opts, char *err, size_t errlen);

/* Frees it and nulls *self_p. NULL-safe. */
void edge_upgrade_destroy(edge_upgrade_t **self_p);

/* True when allowed_origins is empty (any web page may open a WebSocket). */
bool edge_upgrade_origins_empty(const edge_upgrade_t *self);

/* True when the vhost serves https/wss (tls_cert is set). */
bool edge_upgrade_tls(const edge_upgrade_t *self);

/* ---- pure: no lws ---- */

/* The token of an Authorization header value: "Bearer" (any case), spaces, the token. Writes
 * it NUL-terminated into out (cap bytes). Returns its length (0: "Bearer " and nothing),
 * EDGE_UPGRADE_NONE when the value is not a Bearer credential, or EDGE_UPGRADE_TOO_BIG when it
 * does not fit (out then ""). */
int edge_upgrade_bearer(const char *authorization, char *out, size_t cap);

/* The token of one query argument "token=<token>" (as lws splits and decodes them). Returns
 * like edge_upgrade_bearer(); EDGE_UPGRADE_NONE for any other argument. */
int edge_upgrade_query_token(const char *arg, char *out, size_t cap);

/* The decision about origin (len bytes, not NUL-terminated): len 0 means no Origin header,
 * len < 0 one longer than any origin matched (EDGE_ORIGIN_MAX); has_token: the upgrade carries a
 * token (header or query). Counts and logs nothing. */
edge_upgrade_origin_t edge_upgrade_origin(const edge_upgrade_t *self, const char *origin, int len,
                                          bool has_token);

/* ---- lws adapters ---- */

/* Fills the settings of info (the lws context's) that vet requests and serve TLS:
 * LWS_SERVER_OPTION_VALIDATE_UTF8, the header timeout and buffer size, the certificate files. */
void edge_upgrade_info(const edge_upgrade_t *self, struct lws_context_creation_info *info);

/* Why wsi's upgrade is refused for its Origin (NULL: accepted); counts and logs a refusal. */
const char *edge_upgrade_vet_origin(edge_upgrade_t *self, struct lws *wsi);

/* LWS_CALLBACK_ADD_HEADERS of an HTTP response (in: its lws_process_html_args): Vary and CORS
 * headers for an allowed origin. Returns 0, or 1 when the headers did not fit. */
int edge_upgrade_add_cors(edge_upgrade_t *self, struct lws *wsi, void *in);

/* wsi's upgrade token into buf (cap bytes): from Authorization: Bearer, else from the first
 * "token" query argument. Returns its length, 0 when there is none, or EDGE_UPGRADE_TOO_BIG
 * when it is longer than cap - 1 (buf then ""). */
int edge_upgrade_token(struct lws *wsi, char *buf, size_t cap);

/* Fills the settings of info (the lws context's) that vet requests and serve TLS:
 * LWS_SERVER_OPTION_VALIDATE_UTF8, the header timeout and buffer size, the certificate files. */
void edge_upgrade_info(const edge_upgrade_t *self, struct lws_context_creation_info *info);

/* Why wsi's upgrade is refused under max_conns_per_ip (HTTP 429), or NULL. Counts (ip_refused)
 * and logs a refusal. */
const char *edge_upgrade_vet_peer(edge_upgrade_t *self, struct lws *wsi);

/* ESTABLISHED: counts wsi's connection under its address; returns the entry for
 * edge_upgrade_uncount_peer(), or NULL when the address is not counted. */
edge_ipcap_entry_t *edge_upgrade_count_peer(edge_upgrade_t *self, struct lws *wsi);

/* CLOSED: uncounts a connection counted by edge_upgrade_count_peer(); nulls *entry_p. */
void edge_upgrade_uncount_peer(edge_upgrade_t *self, edge_ipcap_entry_t **entry_p);

/* Marks wsi's request headers complete (FILTER_HTTP_CONNECTION, CONFIRM_UPGRADE). */
void edge_upgrade_headers_done(edge_upgrade_t *self, struct lws *wsi);

/* LWS_CALLBACK_WSI_DESTROY: an HTTP connection whose headers never completed (lws dropped it
 * at header_timeout or over max_http_header_data, or the client left) is counted
 * (http_incomplete) and logged. Other descriptors (ZeroMQ, signalfd) are not. */
void edge_upgrade_wsi_destroyed(edge_upgrade_t *self, struct lws *wsi);

/* LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: keeps lws's SSL_CTX for reloads and
 * adds tls_chain to it. Returns 0, or 1 to fail the vhost. */
int edge_upgrade_ssl_ctx(edge_upgrade_t *self, void *ssl_ctx);

/* SIGHUP: checks the certificate files and loads them into ctx's vhost; a bad file keeps the
 * certificate in use. Logs what it did. */
void edge_upgrade_reload_tls(edge_upgrade_t *self, struct lws_context *ctx);

#endif
