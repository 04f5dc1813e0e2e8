/*
 * edge_config.h: weft-edge settings.
 *
 * Every setting is described once, in the table in edge_config.c (name, type, default, bounds,
 * help); base_conf fills edge_config_t from the defaults, then --config FILE, then flags. The
 * struct is plain data on purpose: the table addresses its fields with offsetof().
 */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base_conf.h"

/* The edge's effective configuration. Strings are owned and freed by edge_config_free(). */
typedef struct edge_config {
    int port;               /* WebSocket/HTTP listen port; 0 picks a free one (logged at start) */
    char *bind;             /* listen address or interface; "0.0.0.0" means every interface */
    char *router;           /* the router's fan-out XPUB endpoint the SUB socket connects to */
    char *history;          /* the router's history ROUTER endpoint the DEALER connects to */
    int history_timeout_ms; /* how long one history request may go unanswered */
    int history_retries;    /* further attempts before history counts as unavailable */
    int history_inflight;   /* history requests outstanding at once; more wait in FIFO order */
    int max_pending_events; /* live events held per resuming client (and per room in repair) */
    char *edge_id;          /* this edge's id in welcome frames; "" becomes <hostname>-<pid> */
    char *www;              /* directory of static files served at / */
    size_t max_message;     /* largest client message in bytes, across fragments */
    size_t max_queue_bytes; /* per-connection outbound queue bound in bytes */
    int max_queue_frames;   /* per-connection outbound queue bound in frames */
    int pace_above;         /* frames/s per connection above which write rounds are paced */
    int pace_interval_ms;   /* paced: one write round per this many milliseconds at most */
    bool pace_hold_reads;   /* paced: read the router feed only when the next round is due */
    int ping_interval;      /* seconds of silence before the edge pings a client */
    int ping_timeout;       /* further seconds without an answer before it hangs up */
    int sub_rcvhwm;         /* ZMQ_RCVHWM of the SUB socket (0 = unlimited) */
    int sub_sndhwm;         /* ZMQ_SNDHWM of the SUB socket (0 = unlimited, see the table) */
    int max_connections;    /* WebSocket connections accepted at once; more get HTTP 503 */
    int max_subscriptions;  /* rooms and patterns one connection may join */
    int max_conns_per_ip;   /* WebSocket connections per client address (0 = unlimited) */
    char *conns_per_ip_exempt; /* addresses max_conns_per_ip never applies to (edge_ipcap.h) */
    int max_fragments;      /* frames (fragments) one client message may have; more: close 1008 */
    int idle_timeout_ms;    /* auth = none: time to send a first valid op (0 = never closed) */
    int header_timeout;     /* seconds an HTTP request's headers may take to arrive */
    char *classes;          /* delivery classes (edge_classes.h); "" = every event immediate */
    int max_batch;          /* events in one batch frame, for classes that name no max */
    size_t max_batch_bytes; /* bytes of events in one batch frame */
    int rate_limit_per_min; /* client messages a minute per connection (0 = unlimited) */
    int rate_limit_burst;   /* client messages allowed at once (the bucket's size) */
    int rate_limit_close_after; /* refused messages without a full refill before close 1008 */
    char *event_loop;           /* "uv" (libuv, epoll) or "poll" (lws's own poll() loop) */
    int stats_interval;         /* seconds between counter summaries at info level (0 = never) */
    double drain_grace;         /* seconds a drain keeps serving, not ready, before moving clients */
    double drain_seconds;       /* seconds a drain spreads its clients' closes (1012) over */
    char *allowed_origins;      /* Origin allowlist (edge_origin.h); "" = any */
    bool allow_missing_origin;  /* upgrades without an Origin header are accepted */
    char *tls_cert;             /* PEM certificate file; "" = plain HTTP/WebSocket */
    char *tls_key;              /* PEM private key file of tls_cert */
    char *tls_chain;            /* PEM intermediate certificates sent after tls_cert; "" = none */
    char *auth;                 /* "jwt" (tokens required) or "none" (anonymous, anonymous_rooms) */
    char *jwt_secret_file;      /* HS* shared secret in a file; "" = unset */
    char *jwt_secret_env;       /* name of an environment variable holding the HS* secret */
    char *jwt_public_key;       /* PEM public key file (RSA or EC) */
    char *jwt_jwks;             /* JWKS file (kid selection), reloaded on SIGHUP */
    char *jwt_algs;             /* allowed algorithms ("RS256,ES256"); "" = the key's family */
    char *jwt_issuer;           /* required iss; "" = not checked */
    char *jwt_audience;         /* required aud; "" = not checked */
    int jwt_leeway;             /* seconds of clock skew allowed on exp and nbf */
    bool jwt_require_exp;       /* refuse tokens without exp */
    char *jwt_rooms_claim;      /* claim listing extra rooms and patterns */
    int auth_timeout_ms;        /* time a connection without a token has to send auth */
    char *autojoin;             /* rooms joined on authentication (templates, comma-separated) */
    char *anonymous_rooms;      /* auth = none: rooms and patterns anyone may read */
    bool dev;                   /* auth = jwt without a key: start anonymous, loudly */
    int log_level;              /* weft_log_level_t threshold */
    char *router_public_key;    /* CURVE: the router's public key (Z85 or certificate file) */
    char *curve_secret_key;     /* CURVE: this edge's secret certificate file */
} edge_config_t;

/* The settings table (ends with a NULL name). */
extern const base_conf_entry_t edge_config_table[];

/* One-line description for --help. */
#define EDGE_CONFIG_SUMMARY "weft-edge: serves Weft events to browsers over WebSocket."

/*
 * Fills conf from defaults, --config FILE and flags, then derives what the table cannot say
 * (edge_id from the host name and pid). --help, --version, --check-config and --print-config
 * are handled here and print to out; errors go to errout. On anything but BASE_CONF_RUN the
 * caller still calls edge_config_free(conf).
 */
base_conf_action_t edge_config_from_args(edge_config_t *conf, int argc, char **argv,
                                         const char *version, FILE *out, FILE *errout);

/* Checks what the table cannot (edge_id alphabet, non-empty router and www, the class list,
 * max_batch_bytes within max_queue_bytes, the origin list, the TLS files, the auth settings: one
 * key source with auth = jwt unless dev, the room lists and templates, the CURVE keys: both or
 * neither, readable, valid) and fills derived values
 * (edge_id). Returns 0, or -1 with "key: what is wrong" in err. */
int edge_config_finish(edge_config_t *conf, char *err, size_t errlen);

/* True when auth = jwt and a key source is configured: clients must present tokens. False in
 * anonymous mode (auth = none, or auth = jwt without a key under dev). */
bool edge_config_tokens(const edge_config_t *conf);

/* The message of a refused start: auth = jwt, no key, no dev. */
#define EDGE_CONFIG_NO_KEY                                                                         \
    "auth = jwt but no key is configured (jwt_secret_file, jwt_secret_env, jwt_public_key or "     \
    "jwt_jwks); use auth = none for anonymous access"


/* Frees the owned strings. Safe to call twice. */
void edge_config_free(edge_config_t *conf);

#endif
