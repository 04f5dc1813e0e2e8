/*
 * edge_config.c: the weft-edge settings table and the derived defaults.
 *
 * Defaults live only in the table below; base_conf does the parsing, bounds checks, --help and
 * --print-config. What a table cannot express (edge_id from the host name) is done in
 * edge_config_finish().
 */
#include "edge_config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_auth.h"
#include "edge_classes.h"
#include "edge_ipcap.h"
#include "edge_origin.h"
#include "edge_tls.h"
#include "wire_curve.h"
#include "wire_envelope.h"

#ifndef WEFT_WWW_DEFAULT
#define WEFT_WWW_DEFAULT "/usr/local/share/weft/www"
#endif

/* The default delivery classes (docs/configuration.md): status changes wait up to 200 ms,
 * metrics 500 ms, log lines 1 s; status and metrics keep only the newest event per agent. */
#define EDGE_CONFIG_CLASSES_DEFAULT                                                                \
    "status=*.status_changed,agent.status.*:200::agent_id; metrics=metrics.*:500::agent_id; "      \
    "logs=log.*:1000"

#define F(field) offsetof(edge_config_t, field)

const base_conf_entry_t edge_config_table[] = {
    {"port", BASE_CONF_INT, F(port), "8080", 0, 65535,
     "HTTP/WebSocket listen port (0 = any free port, logged at start)"},
    {"bind", BASE_CONF_STR, F(bind), "0.0.0.0", 0, 255,
     "listen address or interface name (0.0.0.0 = all)"},
    {"router", BASE_CONF_STR, F(router), "tcp://127.0.0.1:5556", 0, 1024,
     "weft-router fan-out endpoint to connect the SUB socket to"},
    {"history", BASE_CONF_STR, F(history), "tcp://127.0.0.1:5557", 0, 1024,
     "weft-router history endpoint to connect the DEALER to (resume and gap repair)"},
    {"router_public_key", BASE_CONF_STR, F(router_public_key), "", 0, 4096,
     "CURVE: the router's public key, 40 Z85 characters or its public certificate file "
     "(with curve_secret_key; \"\" = plain TCP)"},
    {"curve_secret_key", BASE_CONF_STR, F(curve_secret_key), "", 0, 4096,
     "CURVE: this edge's secret certificate file (weft-keygen's NAME_secret, mode 0600); its "
     "public file must be in the router's curve_clients_dir"},
    {"history_timeout_ms", BASE_CONF_INT, F(history_timeout_ms), "2000", 10, 600000,
     "milliseconds a history request may go unanswered before it is sent again"},
    {"history_retries", BASE_CONF_INT, F(history_retries), "3", 0, 100,
     "further attempts before history counts as unavailable (recovered:false)"},
    {"history_inflight", BASE_CONF_INT, F(history_inflight), "256", 1, 100000,
     "history requests outstanding at once; more wait in FIFO order"},
    {"max_pending_events", BASE_CONF_INT, F(max_pending_events), "10000", 1, 10000000,
     "live events held per resuming client (over: close 4008) and per room under repair"},
    {"edge_id", BASE_CONF_STR, F(edge_id), "", 0, WIRE_PUBID_MAX,
     "edge id sent in welcome frames (empty = <hostname>-<pid>)"},
    {"www", BASE_CONF_STR, F(www), WEFT_WWW_DEFAULT, 0, 4096,
     "directory of static files served at /"},
    {"max_message", BASE_CONF_SIZE, F(max_message), "65536", 256, 64.0 * 1024 * 1024,
     "largest client message in bytes, across fragments (bigger: close 1009)"},
    {"max_queue_bytes", BASE_CONF_SIZE, F(max_queue_bytes), "4m", 256.0 * 1024,
     1024.0 * 1024 * 1024, "per-connection outbound queue bound in bytes (over: close 4008)"},
    {"max_queue_frames", BASE_CONF_INT, F(max_queue_frames), "4096", 16, 1000000,
     "per-connection outbound queue bound in frames (over: close 4008)"},
    /* Why: one send() on loopback or a LAN costs several microseconds whatever it carries, so
     * when clients receive many frames a second the edge writes to them in rounds at most
     * pace_interval_ms apart, and each send() carries everything queued meanwhile. The trigger
     * is a rate per connection, so it does not depend on how many connections an edge has. */
    {"pace_above", BASE_CONF_INT, F(pace_above), "250", 0, 1000000,
     "frames per second per connection above which writes are paced (0 = never)"},
    {"pace_interval_ms", BASE_CONF_INT, F(pace_interval_ms), "20", 0, 1000,
     "paced writes: at most one write round per this many milliseconds (0 = never pace)"},
    {"pace_hold_reads", BASE_CONF_BOOL, F(pace_hold_reads), "true", 0, 0,
     "paced: read the router feed only when the next write round is due (one wake-up per round; "
     "critical events then wait for the round too)"},
    {"ping_interval", BASE_CONF_INT, F(ping_interval), "20", 1, 3600,
     "seconds of silence before a WebSocket ping"},
    {"ping_timeout", BASE_CONF_INT, F(ping_timeout), "10", 1, 3600,
     "further seconds without a pong before the connection is closed"},
    {"sub_rcvhwm", BASE_CONF_INT, F(sub_rcvhwm), "100000", 0, 100000000,
     "ZMQ_RCVHWM of the SUB socket in messages (0 = unlimited)"},
    /* Why 0: a SUB resends all its subscriptions after each reconnect and silently drops the
     * ones beyond SNDHWM (libzmq#2258), so any finite bound can lose rooms. */
    {"sub_sndhwm", BASE_CONF_INT, F(sub_sndhwm), "0", 0, 100000000,
     "ZMQ_SNDHWM of the SUB socket (0 = unlimited; subscriptions must never be dropped)"},
    {"max_connections", BASE_CONF_INT, F(max_connections), "100000", 1, 10000000,
     "WebSocket connections served at once (more are refused with HTTP 503)"},
    {"max_subscriptions", BASE_CONF_INT, F(max_subscriptions), "256", 1, 1000000,
     "rooms and patterns one connection may join (more: error too_many_subscriptions)"},
    {"max_conns_per_ip", BASE_CONF_INT, F(max_conns_per_ip), "256", 0, 10000000,
     "WebSocket connections at once from one client address (more: HTTP 429; 0 = unlimited)"},
    {"conns_per_ip_exempt", BASE_CONF_STR, F(conns_per_ip_exempt), "127.0.0.1,::1", 0, 4096,
     "comma-separated addresses max_conns_per_ip does not apply to (a local proxy's)"},
    {"max_fragments", BASE_CONF_INT, F(max_fragments), "64", 1, 1000000,
     "frames (fragments) one client message may have (more: close 1008)"},
    {"idle_timeout_ms", BASE_CONF_INT, F(idle_timeout_ms), "30000", 0, 3600000,
     "auth = none: milliseconds a connection has to send its first valid op (then close 4002; "
     "0 = never)"},
    {"header_timeout", BASE_CONF_INT, F(header_timeout), "10", 1, 600,
     "seconds an HTTP request or upgrade has to send its complete headers (then dropped)"},
    {"classes", BASE_CONF_STR, F(classes), EDGE_CONFIG_CLASSES_DEFAULT, 0, 4096,
     "delivery classes: name=type patterns:window_ms[:max[:coalesce field]]; ... (\"\" = none)"},
    {"max_batch", BASE_CONF_INT, F(max_batch), "100", 1, 10000,
     "events in one batch frame, for classes that name no max"},
    {"max_batch_bytes", BASE_CONF_SIZE, F(max_batch_bytes), "256k", 1024, 64.0 * 1024 * 1024,
     "bytes of events in one batch frame (at most max_queue_bytes)"},
    {"rate_limit_per_min", BASE_CONF_INT, F(rate_limit_per_min), "100", 0, 1000000,
     "client messages per minute per connection (0 = unlimited; over: error rate_limited)"},
    {"rate_limit_burst", BASE_CONF_INT, F(rate_limit_burst), "10", 1, 1000000,
     "client messages a connection may send at once before the rate applies"},
    {"rate_limit_close_after", BASE_CONF_INT, F(rate_limit_close_after), "20", 0, 1000000,
     "refused messages, without a quiet spell that refills the burst, before close 1008 (0 = "
     "never)"},
    {"event_loop", BASE_CONF_STR, F(event_loop), "uv", 0, 16,
     "lws event loop: uv (libuv, epoll: cost per wake-up independent of idle connections) or "
     "poll (lws's built-in poll() over every descriptor)"},
    {"stats_interval", BASE_CONF_INT, F(stats_interval), "60", 0, 86400,
     "seconds between counter summaries at info level (0 = only at exit)"},
    {"drain_grace", BASE_CONF_DOUBLE, F(drain_grace), "5", 0, 3600,
     "seconds a draining edge (SIGTERM, POST /drain) keeps serving while /ready fails, so load "
     "balancers stop sending it clients"},
    {"drain_seconds", BASE_CONF_DOUBLE, F(drain_seconds), "10", 0, 3600,
     "seconds over which a draining edge closes its clients (1012 service restart), spread "
     "uniformly with jitter; then it exits"},
    {"allowed_origins", BASE_CONF_STR, F(allowed_origins), "", 0, 4096,
     "origins allowed to open WebSockets and read the HTTP files cross-origin: comma-separated "
     "scheme://host[:port], wildcard subdomains as https://*.example.com, or * (\"\" = any; "
     "set it in production)"},
    {"allow_missing_origin", BASE_CONF_BOOL, F(allow_missing_origin), "true", 0, 0,
     "accept WebSocket upgrades without an Origin header (non-browser clients)"},
    {"tls_cert", BASE_CONF_STR, F(tls_cert), "", 0, 4096,
     "PEM certificate (leaf first, may hold the chain): serve https/wss (\"\" = plain; TLS "
     "terminated by a proxy)"},
    {"tls_key", BASE_CONF_STR, F(tls_key), "", 0, 4096,
     "PEM private key of tls_cert, without a passphrase"},
    {"tls_chain", BASE_CONF_STR, F(tls_chain), "", 0, 4096,
     "optional PEM file of intermediate certificates sent after tls_cert (reloaded on SIGHUP)"},
    {"auth", BASE_CONF_STR, F(auth), "jwt", 0, 16,
     "jwt (clients present tokens) or none (anonymous: rooms limited by anonymous_rooms)"},
    {"jwt_secret_file", BASE_CONF_STR, F(jwt_secret_file), "", 0, 4096,
     "file holding the HS256/384/512 shared secret (at least 32 bytes)"},
    {"jwt_secret_env", BASE_CONF_STR, F(jwt_secret_env), "", 0, 255,
     "name of an environment variable holding the HS* shared secret"},
    {"jwt_public_key", BASE_CONF_STR, F(jwt_public_key), "", 0, 4096,
     "PEM public key file (RSA or EC) for RS/PS/ES tokens"},
    {"jwt_jwks", BASE_CONF_STR, F(jwt_jwks), "", 0, 4096,
     "JWKS file, keys chosen by the token's kid (reloaded on SIGHUP)"},
    {"jwt_algs", BASE_CONF_STR, F(jwt_algs), "", 0, 255,
     "allowed algorithms, e.g. RS256,ES256 (\"\" = every algorithm of the key's family)"},
    {"jwt_issuer", BASE_CONF_STR, F(jwt_issuer), "", 0, 1024, "required iss (\"\" = not checked)"},
    {"jwt_audience", BASE_CONF_STR, F(jwt_audience), "", 0, 1024,
     "required aud (\"\" = not checked)"},
    {"jwt_leeway", BASE_CONF_INT, F(jwt_leeway), "30", 0, 3600,
     "seconds of clock skew allowed on exp and nbf"},
    {"jwt_require_exp", BASE_CONF_BOOL, F(jwt_require_exp), "true", 0, 0,
     "refuse tokens without exp"},
    {"jwt_rooms_claim", BASE_CONF_STR, F(jwt_rooms_claim), "rooms", 1, 255,
     "claim listing the rooms and trailing-* patterns a token opens"},
    {"auth_timeout_ms", BASE_CONF_INT, F(auth_timeout_ms), "5000", 10, 600000,
     "milliseconds a connection without a token has to send {\"op\":\"auth\"} (then close 4001)"},
    {"autojoin", BASE_CONF_STR, F(autojoin), "user:{sub},global", 0, 4096,
     "rooms joined on authentication, comma-separated templates ({sub}: the token's subject)"},
    {"anonymous_rooms", BASE_CONF_STR, F(anonymous_rooms), "*", 0, 4096,
     "auth = none: comma-separated rooms and patterns anyone may read (never user: rooms)"},
    {"dev", BASE_CONF_BOOL, F(dev), "false", 0, 0,
     "development: auth = jwt without a key starts anyway in anonymous mode (anonymous_rooms)"},
    {"log_level", BASE_CONF_LEVEL, F(log_level), "notice", 0, 0,
     "error, warn, notice, info or debug"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

#undef F

base_conf_action_t edge_config_from_args(edge_config_t *conf, int argc, char **argv,
                                         const char *version, FILE *out, FILE *errout)
{
    memset(conf, 0, sizeof *conf);
    /* base_conf answers --check-config before the checks below could run; take the flag out
     * here so that a bad class list or edge_id fails the check too. */
    char **args = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof *args);
    if (!args) {
        fprintf(errout, "%s: out of memory\n", argc > 0 ? argv[0] : "weft-edge");
        return BASE_CONF_EXIT_ERR;
    }
    int nargs = 0;
    bool check = false;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--check-config") == 0) {
            check = true;
            continue;
        }
        args[nargs++] = argv[i];
    }
    base_conf_action_t action = base_conf_from_args(edge_config_table, conf, nargs, args,
                                                    EDGE_CONFIG_SUMMARY, version, out, errout);
    free(args);
    if (action != BASE_CONF_RUN)
        return action;
    char err[512];
    if (edge_config_finish(conf, err, sizeof err) < 0) {
        fprintf(errout, "%s: %s\n", argc > 0 ? argv[0] : "weft-edge", err);
        return BASE_CONF_EXIT_ERR;
    }
    if (check) {
        fprintf(out, "configuration OK\n");
        return BASE_CONF_EXIT_OK;
    }
    return BASE_CONF_RUN;
}

/* Replaces every character outside the id alphabet [A-Za-z0-9_.:-] with '_'. */
static void s_sanitize_id(char *id)
{
    for (char *p = id; *p; p++)
        if (!wire_pubid_valid(p, 1))
            *p = '_';
}

/* True when s is NULL or "". */
static bool s_unset(const char *s)
{
    return !s || s[0] == '\0';
}

/* TLS settings: both files or neither, a chain only with them, and files that load. */
static int s_check_tls(const edge_config_t *conf, char *err, size_t errlen)
{
    if (s_unset(conf->tls_cert) && s_unset(conf->tls_key)) {
        if (!s_unset(conf->tls_chain)) {
            snprintf(err, errlen, "tls_chain: set without tls_cert and tls_key");
            return -1;
        }
        return 0;
    }
    if (s_unset(conf->tls_cert) || s_unset(conf->tls_key)) {
        snprintf(err, errlen, "%s: required with %s",
                 s_unset(conf->tls_cert) ? "tls_cert" : "tls_key",
                 s_unset(conf->tls_cert) ? "tls_key" : "tls_cert");
        return -1;
    }
    return edge_tls_check(conf->tls_cert, conf->tls_key, conf->tls_chain, err, errlen);
}

/* Number of JWT key sources configured. */
static int s_key_sources(const edge_config_t *conf)
{
    return !s_unset(conf->jwt_secret_file) + !s_unset(conf->jwt_secret_env) +
           !s_unset(conf->jwt_public_key) + !s_unset(conf->jwt_jwks);
}

bool edge_config_tokens(const edge_config_t *conf)
{
    return conf->auth && strcmp(conf->auth, "jwt") == 0 && s_key_sources(conf) > 0;
}

/* Authentication settings: a known mode, one key source with auth = jwt (none only under dev),
 * usable auto-join templates and anonymous rooms. The keys themselves load at start. */
static int s_check_auth(const edge_config_t *conf, char *err, size_t errlen)
{
    bool jwt = conf->auth && strcmp(conf->auth, "jwt") == 0;
    if (!jwt && (!conf->auth || strcmp(conf->auth, "none") != 0)) {
        snprintf(err, errlen, "auth: '%s' is neither jwt nor none", conf->auth ? conf->auth : "");
        return -1;
    }
    int keys = s_key_sources(conf);
    if (jwt && keys == 0 && !conf->dev) {
        snprintf(err, errlen, "%s", EDGE_CONFIG_NO_KEY);
        return -1;
    }
    if (jwt && keys > 1) {
        snprintf(err, errlen, "auth: set one of jwt_secret_file, jwt_secret_env, jwt_public_key "
                              "and jwt_jwks, not %d",
                 keys);
        return -1;
    }
    size_t n;
    char **items = edge_auth_split(conf->autojoin, &n);
    if (!items) {
        snprintf(err, errlen, "autojoin: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!edge_perm_template_valid(items[i])) {
            snprintf(err, errlen, "autojoin: '%s' is not a room name template", items[i]);
            free(items);
            return -1;
        }
    }
    free(items);
    if (!(items = edge_auth_split(conf->anonymous_rooms, &n))) {
        snprintf(err, errlen, "anonymous_rooms: out of memory");
        return -1;
    }
    edge_perm_t *anon = edge_perm_new(NULL, (const char *const *)items, n);
    free(items);
    if (!anon) {
        snprintf(err, errlen, "anonymous_rooms: '%s' is not a list of rooms and patterns",
                 conf->anonymous_rooms);
        return -1;
    }
    edge_perm_destroy(&anon);
    return 0;
}

/* Checks the CURVE keys: both or neither, and both readable and valid (edge_zmq loads them
 * again at start and warns about a loosely protected secret file). */
static int s_check_curve(const edge_config_t *conf, char *err, size_t errlen)
{
    if (s_unset(conf->router_public_key) != s_unset(conf->curve_secret_key)) {
        snprintf(err, errlen, "%s: set without %s (CURVE needs both, or neither for plain TCP)",
                 s_unset(conf->router_public_key) ? "curve_secret_key" : "router_public_key",
                 s_unset(conf->router_public_key) ? "router_public_key" : "curve_secret_key");
        return -1;
    }
    wire_curve_keys_t keys;
    char why[600];
    if (wire_curve_client_keys(conf->router_public_key, NULL, NULL, conf->curve_secret_key, &keys,
                               why, sizeof why) < 0) {
        const char *rest = strstr(why, ": "); /* drop wire_curve's own "what: " prefix */
        snprintf(err, errlen, "%s: %s",
                 strncmp(why, "server", 6) == 0 ? "router_public_key" : "curve_secret_key",
                 rest ? rest + 2 : why);
        return -1;
    }
    explicit_bzero(&keys, sizeof keys);
    return 0;
}

int edge_config_finish(edge_config_t *conf, char *err, size_t errlen)
{
    if (!conf->edge_id || conf->edge_id[0] == '\0') {
        char host[256] = "edge";
        if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
            snprintf(host, sizeof host, "edge");
        host[sizeof host - 1] = '\0';
        char id[WIRE_PUBID_MAX + 1];
        /* Keep the pid whole: truncate the host name, never the part that makes it unique. */
        char pid[24];
        int plen = snprintf(pid, sizeof pid, "-%ld", (long)getpid());
        int hmax = WIRE_PUBID_MAX - plen;
        snprintf(id, sizeof id, "%.*s%s", hmax, host, pid);
        s_sanitize_id(id);
        char *copy = strdup(id);
        if (!copy) {
            snprintf(err, errlen, "edge_id: out of memory");
            return -1;
        }
        free(conf->edge_id);
        conf->edge_id = copy;
    } else if (!wire_pubid_valid(conf->edge_id, strlen(conf->edge_id))) {
        snprintf(err, errlen, "edge_id: '%s' must match [A-Za-z0-9_.:-]{1,64}", conf->edge_id);
        return -1;
    }
    if (!conf->router || conf->router[0] == '\0') {
        snprintf(err, errlen, "router: an endpoint is required (e.g. tcp://127.0.0.1:5556)");
        return -1;
    }
    if (!conf->history || conf->history[0] == '\0') {
        snprintf(err, errlen, "history: an endpoint is required (e.g. tcp://127.0.0.1:5557)");
        return -1;
    }
    if (!conf->www || conf->www[0] == '\0') {
        snprintf(err, errlen, "www: a directory is required");
        return -1;
    }
    if (!conf->event_loop ||
        (strcmp(conf->event_loop, "uv") != 0 && strcmp(conf->event_loop, "poll") != 0)) {
        snprintf(err, errlen, "event_loop: '%s' is neither uv nor poll",
                 conf->event_loop ? conf->event_loop : "");
        return -1;
    }
    if (conf->max_batch_bytes > conf->max_queue_bytes) {
        snprintf(err, errlen, "max_batch_bytes: %zu is more than max_queue_bytes (%zu)",
                 conf->max_batch_bytes, conf->max_queue_bytes);
        return -1;
    }
    char why[400];
    edge_classes_t *classes =
        edge_classes_parse(conf->classes, (size_t)conf->max_batch, why, sizeof why);
    if (!classes) {
        snprintf(err, errlen, "classes: %s", why);
        return -1;
    }
    edge_classes_destroy(&classes);
    edge_origin_t *origins = edge_origin_new(conf->allowed_origins, why, sizeof why);
    if (!origins) {
        snprintf(err, errlen, "allowed_origins: %s", why);
        return -1;
    }
    edge_origin_destroy(&origins);
    if (edge_ipcap_check_list(conf->conns_per_ip_exempt, why, sizeof why) < 0) {
        snprintf(err, errlen, "conns_per_ip_exempt: %s", why);
        return -1;
    }
    if (s_check_auth(conf, err, errlen) < 0 || s_check_curve(conf, err, errlen) < 0)
        return -1;
    return s_check_tls(conf, err, errlen);
}

void edge_config_free(edge_config_t *conf)
{
    if (conf)
        base_conf_free(edge_config_table, conf);
}
