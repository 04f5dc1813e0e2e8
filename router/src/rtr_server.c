/*
 * rtr_server.c: the router's event loop.
 *
 * One thread does everything: zmq_poll over the intake XSUB, the fan-out XPUB, the history ROUTER,
 * a stop eventfd, (from main) a signalfd and, with metrics_port, the epoll descriptor of the
 * /metrics listener (rtr_http.h), served only when it is ready. Intake is drained in batches so
 * one wake-up moves many events, then subscriptions, at most history_batch history requests and
 * timers get their turn, so a storm of history requests delays live fan-out by one bounded batch
 * at most. Per event, frames are received into zmq_msg_t slots the server keeps, the header frame
 * is stamped in place, a copy of header and payload goes into the room's history (one allocation),
 * and the same three frames are handed to the fan-out socket (zero copy) in bursts (see
 * s_drain_intake); the tables are hash lookups and O(1) list moves. jansson parses each payload
 * once, inside a per-message arena (rtr_jarena.h), so a typical parse costs no malloc.
 */
#include "rtr_server.h"

#include "base_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "rtr_curve.h"
#include "rtr_history.h"
#include "rtr_hsvc.h"
#include "rtr_http.h"
#include "rtr_ionice.h"
#include "rtr_jarena.h"
#include "rtr_origin.h"
#include "rtr_presence.h"
#include "rtr_rights.h"
#include "rtr_validate.h"
#include "weft/version.h"

#define RTR_BATCH 1024               /* intake messages per wake-up before serving the rest */
#define RTR_BURST 256                /* accepted events handed to fan-out together */
#define RTR_ACK_FRAME_MAX 65536      /* largest ack frame (docs/protocol.md) */
#define RTR_REFUSALS_MAX 256         /* final refusals reported per ack round (see s_refuse) */
#define RTR_LINGER_MS 200            /* how long close waits for queued messages */
#define RTR_SWEEP_MS 1000            /* publisher and history expiry sweep period */
#define RTR_ENDPOINT_MAX 256         /* resolved endpoint text */
#define RTR_EPOCH_LIMIT (1ULL << 53) /* epochs stay exact as JavaScript numbers */
#define RTR_JARENA_BYTES (64 * 1024) /* jansson arena: a 100-byte object takes about 1.1 KiB */

struct rtr_server {
    base_log_t *log;                                /* borrowed logger (NULL: silent) */
    void *ctx;                                      /* ZeroMQ context (owned unless curve) */
    rtr_curve_t *curve;                             /* CURVE server side, NULL when off */
    void *intake;                                   /* XSUB: events in, acks out */
    void *fanout;                                   /* XPUB: stamped events out, subscriptions in */
    int stop_fd;                                    /* eventfd written by rtr_server_stop() */
    uint64_t epoch;                                 /* random per start, in [1, 2^53) */
    size_t max_payload;                             /* conf: largest payload accepted */
    uint64_t ack_interval_ms;                       /* conf: minimum time between ack rounds */
    uint64_t stats_interval_ms;                     /* conf: summary period, 0 = off */
    rtr_rooms_t *rooms;                             /* room -> seq */
    rtr_pubs_t *pubs;                               /* (publisher, session) -> dedup, acks */
    rtr_history_t *history;                         /* recent events per room */
    rtr_hsvc_t *hsvc;                               /* history service (ROUTER socket) */
    rtr_jarena_t *jarena;                           /* arena for payload parses not kept */
    zmq_msg_t (*held)[RTR_FRAMES];                  /* RTR_BURST stamped events awaiting fan-out */
    rtr_stats_t stats;                              /* counters; gauges filled on read */
    base_limit_t reject_limit[WIRE_ERR__COUNT]; /* one log limiter per rejection reason */
    base_limit_t io_limit;                      /* limiter for socket errors */
    uint8_t *ack_buf;                               /* RTR_ACK_FRAME_MAX bytes for building acks */
    uint8_t *refuse_buf;                /* RTR_ACK_FRAME_MAX bytes: refusal frame being built */
    size_t refuse_len;                  /* bytes in refuse_buf (0: frame not begun) */
    size_t refuse_entries;              /* entries in refuse_buf */
    size_t refuse_round;                /* final refusals queued in this ack round */
    base_limit_t refuse_limit[WIRE_REFUSE__COUNT]; /* one log limiter per refusal reason */
    rtr_rights_t *rights;               /* loaded rights file, NULL when none configured */
    char *rights_path;                  /* conf rights_file, NULL when none */
    bool rights_default_allow;          /* conf rights_default == "allow" */
    bool check_identity;                /* read each event's User-Id (CURVE) and metadata */
    uint64_t last_ack_ms;                           /* when the last ack round ran */
    uint64_t next_sweep_ms;                         /* next publisher expiry sweep */
    uint64_t next_stats_ms;                         /* next periodic summary */
    uint64_t head_interval_ms;                      /* conf: room-head period, 0 = off */
    uint64_t head_linger_ms;                        /* conf: heads continue this long after */
    uint64_t next_head_ms;                          /* next round of room heads */
    char intake_ep[RTR_ENDPOINT_MAX];               /* resolved intake endpoint */
    char fanout_ep[RTR_ENDPOINT_MAX];               /* resolved fan-out endpoint */
    rtr_ops_t *ops;                     /* /metrics, /health, /ready answers; NULL when off */
    rtr_http_t *http;                   /* their listener (metrics_port); NULL when off */
    uint64_t http_due_ms;               /* when the listener's next timer is due (0: none) */
    bool stopping;                      /* a stop was requested: /ready says so */
    rtr_origin_t *origin;               /* heads and the router's own events on fan-out */
    rtr_presence_t *presence;           /* agent presence; NULL when presence_room is "" */
    char presence_room[WIRE_ROOM_MAX + 1]; /* conf presence_room */
};

/* A random epoch in [1, 2^53), so clients can tell a restarted router from lost events. */
static uint64_t s_new_epoch(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) {
        /* getrandom only fails on ancient kernels; the clock still differs per start. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)getpid() << 20);
    }
    r &= RTR_EPOCH_LIMIT - 1;
    return r ? r : 1;
}

/* Sets an int socket option, logging the failure. */
static int s_setsockopt_int(rtr_server_t *self, void *sock, int opt, int value, const char *what)
{
    if (zmq_setsockopt(sock, opt, &value, sizeof value) == 0)
        return 0;
    base_log(self->log, WEFT_LOG_ERROR, "cannot set %s: %s", what, zmq_strerror(errno));
    return -1;
}

/* Binds sock at endpoint and stores the resolved endpoint; logs a clear error on failure. */
static int s_bind(rtr_server_t *self, void *sock, const char *name, const char *endpoint,
                  char *resolved)
{
    if (!endpoint || !*endpoint) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot bind %s: no endpoint configured", name);
        return -1;
    }
    if (zmq_bind(sock, endpoint) != 0) {
        int err = errno;
        base_log(self->log, WEFT_LOG_ERROR, "cannot bind %s endpoint %s: %s%s", name, endpoint,
                 zmq_strerror(err), err == EADDRINUSE ? " (is another router running?)" : "");
        return -1;
    }
    size_t len = RTR_ENDPOINT_MAX;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, resolved, &len) != 0)
        snprintf(resolved, RTR_ENDPOINT_MAX, "%s", endpoint);
    return 0;
}

/* Creates and binds the intake XSUB, subscribed to everything. */
static int s_open_intake(rtr_server_t *self, const rtr_config_t *conf)
{
    self->intake = zmq_socket(self->ctx, ZMQ_XSUB);
    if (!self->intake) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot create intake socket: %s", zmq_strerror(errno));
        return -1;
    }
    /* A frame somewhat over max_payload is received, rejected as "size" and acked so the agent
     * frees it; one far over it can only come from a broken or hostile peer, and ZeroMQ drops
     * that connection rather than buffer it. */
    int64_t maxmsg = (int64_t)conf->max_payload * 2 + 65536;
    if (s_setsockopt_int(self, self->intake, ZMQ_LINGER, RTR_LINGER_MS, "intake linger") < 0 ||
        s_setsockopt_int(self, self->intake, ZMQ_RCVHWM, conf->intake_hwm, "intake_hwm") < 0 ||
        zmq_setsockopt(self->intake, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        return -1;
    if (self->curve && rtr_curve_serve(self->curve, self->intake, "intake") < 0)
        return -1;
    if (s_bind(self, self->intake, "intake", conf->intake, self->intake_ep) < 0)
        return -1;
    /* XSUB subscriptions are messages: \x01 + empty prefix = everything. XSUB replays it to
     * every agent that connects later, which is what agents wait for before sending. */
    if (zmq_send(self->intake, "\x01", 1, 0) != 1) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot subscribe intake: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates and binds the fan-out XPUB. Not NODROP: a slow edge loses messages (it sees the gap
 * in seq) instead of stalling the router; not VERBOSE: one subscribe per topic is enough. */
static int s_open_fanout(rtr_server_t *self, const rtr_config_t *conf)
{
    self->fanout = zmq_socket(self->ctx, ZMQ_XPUB);
    if (!self->fanout) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot create fanout socket: %s", zmq_strerror(errno));
        return -1;
    }
    if (s_setsockopt_int(self, self->fanout, ZMQ_LINGER, RTR_LINGER_MS, "fanout linger") < 0 ||
        s_setsockopt_int(self, self->fanout, ZMQ_SNDHWM, conf->fanout_hwm, "fanout_hwm") < 0)
        return -1;
    if (self->curve && rtr_curve_serve(self->curve, self->fanout, "fanout") < 0)
        return -1;
    return s_bind(self, self->fanout, "fanout", conf->fanout, self->fanout_ep);
}

/* (Re)loads the rights file. On failure the rights in force stay (none at start: fatal). */
static int s_rights_load(rtr_server_t *self)
{
    char err[512];
    rtr_rights_t *next = rtr_rights_load(self->rights_path, self->rights_default_allow, err,
                                         sizeof err);
    if (!next) {
        self->stats.rights_reload_errors++;
        base_log(self->log, WEFT_LOG_ERROR, "cannot load rights: %s%s", err,
                 self->rights ? " (the previous rights stay in force)" : "");
        return -1;
    }
    rtr_rights_destroy(&self->rights);
    self->rights = next;
    self->stats.rights_reloads++;
    base_log(self->log, WEFT_LOG_NOTICE, "rights: %zu publisher(s) from %s, others %s",
             rtr_rights_size(next), self->rights_path,
             self->rights_default_allow ? "allowed" : "denied");
    return 0;
}

/* Reads the rights settings and, when a rights file is configured, loads it. */
static int s_rights_open(rtr_server_t *self, const rtr_config_t *conf)
{
    const char *def = conf->rights_default ? conf->rights_default : "deny";
    if (strcmp(def, "allow") != 0 && strcmp(def, "deny") != 0) {
        base_log(self->log, WEFT_LOG_ERROR, "rights_default: '%s' is not allow or deny", def);
        return -1;
    }
    self->rights_default_allow = strcmp(def, "allow") == 0;
    if (!conf->rights_file || !*conf->rights_file)
        return 0;
    self->rights_path = strdup(conf->rights_file);
    if (!self->rights_path) {
        base_log(self->log, WEFT_LOG_ERROR, "out of memory reading rights_file");
        return -1;
    }
    /* Why only then: User-Id and certificate properties exist only under CURVE; reading them
     * costs a metadata lookup per event. (Also set when the intake is a CURVE server.) */
    self->check_identity = true;
    return s_rights_load(self);
}

/* The stats hook of /metrics: the counters with fresh gauges. */
static void s_ops_stats(void *arg, rtr_stats_t *out)
{
    rtr_server_stats(arg, out);
}

/* The readiness hook of /ready: the sockets are bound once the server exists, so only a
 * requested stop makes it not ready. */
static const char *s_ops_not_ready(void *arg)
{
    return ((const rtr_server_t *)arg)->stopping ? "stopping" : NULL;
}

/* Starts the metrics listener on metrics_bind:metrics_port. */
static int s_open_http(rtr_server_t *self, const rtr_config_t *conf)
{
    rtr_ops_hooks_t hooks = {.stats = s_ops_stats, .not_ready = s_ops_not_ready, .arg = self};
    self->ops = rtr_ops_new(&hooks, self->epoch);
    if (!self->ops) {
        base_log(self->log, WEFT_LOG_ERROR, "out of memory creating the metrics endpoints");
        return -1;
    }
    self->http = rtr_http_new(conf->metrics_bind, conf->metrics_port, self->ops, self->log);
    return self->http ? 0 : -1;
}

/* The presence hook: publishes one presence event into presence_room. */
static int s_presence_emit(void *arg, const char *type, const char *json, size_t len)
{
    rtr_server_t *self = arg;
    return rtr_origin_event(self->origin, self->presence_room, strlen(self->presence_room), type,
                            json, len, base_clock_ms());
}

/* Starts presence unless presence_room is empty. */
static int s_presence_open(rtr_server_t *self, const rtr_config_t *conf)
{
    const char *room = conf->presence_room ? conf->presence_room : "";
    if (!*room)
        return 0;
    if (!wire_room_valid(room, strlen(room)) || conf->presence_timeout >= conf->publisher_ttl) {
        base_log(self->log, WEFT_LOG_ERROR,
                 "presence_room '%s' is not a valid room or presence_timeout (%d) is not below "
                 "publisher_ttl (%d)", room, conf->presence_timeout, conf->publisher_ttl);
        return -1;
    }
    snprintf(self->presence_room, sizeof self->presence_room, "%s", room);
    self->presence = rtr_presence_new((uint64_t)conf->presence_timeout * 1000,
                                      (uint64_t)conf->presence_snapshot * 1000, base_clock_ms(),
                                      s_presence_emit, self);
    if (!self->presence)
        base_log(self->log, WEFT_LOG_ERROR, "out of memory creating presence");
    return self->presence ? 0 : -1;
}

/* Builds the server; see rtr_server.h. */
rtr_server_t *rtr_server_new(const rtr_config_t *conf, base_log_t *log)
{
    rtr_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        base_log(log, WEFT_LOG_ERROR, "out of memory creating the router");
        return NULL;
    }
    self->log = log;
    self->stop_fd = -1;
    self->max_payload = conf->max_payload;
    self->ack_interval_ms = (uint64_t)conf->ack_interval_ms;
    self->stats_interval_ms = (uint64_t)conf->stats_interval * 1000;
    self->epoch = s_new_epoch();

    self->rooms = rtr_rooms_new();
    self->pubs = rtr_pubs_new((uint64_t)conf->publisher_ttl * 1000);
    rtr_history_limits_t limits = {.max_events = (size_t)conf->history_max_events,
                                   .max_age_ms = (uint64_t)conf->history_max_age * 1000,
                                   .max_bytes = conf->history_max_bytes};
    self->history = rtr_history_new(&limits);
    self->ack_buf = malloc(RTR_ACK_FRAME_MAX);
    self->refuse_buf = malloc(RTR_ACK_FRAME_MAX);
    rtr_pubs_set_rate(self->pubs, (uint64_t)conf->max_publish_rate, (uint64_t)conf->publish_burst);
    /* Process-wide, and harmless to anything else using jansson (see rtr_jarena.h). */
    rtr_jarena_install();
    self->jarena = rtr_jarena_new(RTR_JARENA_BYTES);
    self->held = calloc(RTR_BURST, sizeof *self->held);
    if (!self->rooms || !self->pubs || !self->history || !self->ack_buf || !self->jarena ||
        !self->held || !self->refuse_buf) {
        base_log(log, WEFT_LOG_ERROR, "out of memory creating the router tables");
        goto err;
    }
    if (s_rights_open(self, conf) < 0)
        goto err;
    self->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->stop_fd < 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot create eventfd: %s", strerror(errno));
        goto err;
    }
    /* With CURVE the sockets live in czmq's context, where zauth answers ZAP (rtr_curve.h). */
    if (conf->curve_secret_key && *conf->curve_secret_key) {
        self->curve = rtr_curve_new(conf->curve_secret_key, conf->curve_clients_dir,
                                    conf->io_threads, &self->stats, log);
        if (!self->curve)
            goto err;
        self->ctx = rtr_curve_context(self->curve);
        /* Certificates may carry rooms/types metadata that restrict their holders, rights
         * file or not (one metadata lookup per event, only under CURVE). */
        self->check_identity = true;
    } else
        self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        base_log(log, WEFT_LOG_ERROR, "cannot create ZeroMQ context: %s", zmq_strerror(errno));
        goto err;
    }
    if (!self->curve && zmq_ctx_set(self->ctx, ZMQ_IO_THREADS, conf->io_threads) != 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot set io_threads=%d: %s", conf->io_threads,
                 zmq_strerror(errno));
        goto err;
    }
    if (s_open_intake(self, conf) < 0 || s_open_fanout(self, conf) < 0)
        goto err;
    self->hsvc = rtr_hsvc_new(self->ctx, conf, self->curve, self->epoch, self->history,
                              self->rooms, &self->stats, log);
    if (!self->hsvc)
        goto err;
    self->origin = rtr_origin_new(self->fanout, self->rooms, self->history, self->epoch,
                                  &self->stats, log);
    if (!self->origin || s_presence_open(self, conf) < 0)
        goto err;
    /* libzmq starts its I/O threads with the first socket, so they exist by now. */
    rtr_ionice_apply(log, conf->io_nice, conf->io_threads);
    if (conf->metrics_port > 0 && s_open_http(self, conf) < 0)
        goto err;

    uint64_t now = base_clock_ms();
    self->last_ack_ms = now;
    self->next_sweep_ms = now + RTR_SWEEP_MS;
    self->head_interval_ms = (uint64_t)conf->head_interval_ms;
    self->head_linger_ms = (uint64_t)conf->head_linger * 1000;
    self->next_head_ms = now + self->head_interval_ms;
    self->next_stats_ms = now + self->stats_interval_ms;
    base_log(log, WEFT_LOG_NOTICE,
             "weft-router %s ready: intake=%s fanout=%s history=%s epoch=%" PRIu64,
             WEFT_VERSION_STRING, self->intake_ep, self->fanout_ep, rtr_hsvc_endpoint(self->hsvc),
             self->epoch);
    return self;
err:
    rtr_server_destroy(&self);
    return NULL;
}

/* Releases everything; sockets close with a short linger so shutdown is prompt. */
void rtr_server_destroy(rtr_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rtr_server_t *self = *self_p;
    rtr_http_destroy(&self->http);
    rtr_presence_destroy(&self->presence);
    rtr_origin_destroy(&self->origin);
    rtr_ops_destroy(&self->ops);
    if (self->intake)
        zmq_close(self->intake);
    if (self->fanout)
        zmq_close(self->fanout);
    rtr_hsvc_destroy(&self->hsvc);
    if (self->ctx && !self->curve)
        zmq_ctx_term(self->ctx);
    rtr_curve_destroy(&self->curve); /* after its sockets closed; czmq ends its context at exit */
    if (self->stop_fd >= 0)
        close(self->stop_fd);
    /* History first: it detaches its rings from rooms the table is about to free. */
    rtr_history_destroy(&self->history);
    rtr_rooms_destroy(&self->rooms);
    rtr_pubs_destroy(&self->pubs);
    rtr_jarena_destroy(&self->jarena);
    rtr_rights_destroy(&self->rights);
    free(self->rights_path);
    free(self->held);
    free(self->ack_buf);
    free(self->refuse_buf);
    free(self);
    *self_p = NULL;
}

/* Copies bytes for a log line, escaping anything unprintable as \xNN. */
static const char *s_printable(const void *data, size_t len, char *out, size_t cap)
{
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
    return out;
}

/* Counts and logs (rate-limited per reason) one dropped message. */
static void s_reject(rtr_server_t *self, wire_err_t err, const rtr_envelope_t *env, size_t nframes,
                     size_t payload_len)
{
    self->stats.invalid++;
    self->stats.invalid_by[err]++;
    char detail[160] = "";
    if (err == WIRE_ERR_FRAMES)
        snprintf(detail, sizeof detail, ": %zu frames instead of 3", nframes);
    else if (err == WIRE_ERR_SIZE)
        snprintf(detail, sizeof detail, ": payload of %zu bytes, max_payload is %zu", payload_len,
                 self->max_payload);
    if (env->header_ok)
        base_log_limited(self->log, &self->reject_limit[err], WEFT_LOG_WARN,
                         "dropped invalid message (%s%s) from publisher %.*s session %016" PRIx64
                         " seq %" PRIu64,
                         wire_err_name(err), detail, (int)env->hdr.pub_id_len, env->hdr.pub_id,
                         env->hdr.session, env->hdr.pub_seq);
    else
        base_log_limited(self->log, &self->reject_limit[err], WEFT_LOG_WARN,
                         "dropped invalid message (%s%s)", wire_err_name(err), detail);
}

/* Sends the refusal frame built so far upstream (with the acks: XSUB passes it to every agent,
 * each picks its own entries). A lost frame is repaired for rate_limited by the publisher's next
 * heartbeat; a lost rights refusal is only a missed callback, the ack still frees the event. */
static void s_flush_refusals(rtr_server_t *self)
{
    if (self->refuse_entries == 0)
        return;
    if (zmq_send(self->intake, self->refuse_buf, self->refuse_len, ZMQ_DONTWAIT) < 0) {
        self->stats.send_errors++;
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR, "refusal send failed: %s",
                         zmq_strerror(errno));
    } else {
        self->stats.refusals_sent += self->refuse_entries;
    }
    self->refuse_len = 0;
    self->refuse_entries = 0;
}

/* Queues a refusal entry for (h's publisher, session, seq) for the next ack round. */
static void s_refuse(rtr_server_t *self, const wire_header_t *h, uint64_t seq,
                     wire_refusal_t reason)
{
    /* Refusal frames go to every agent (XSUB sends upstream to all), so a flood of refused
     * events must not become a flood to everyone: at most RTR_REFUSALS_MAX final refusals a
     * round are reported (the rest are still acked and counted). rate_limited always goes: the
     * publisher resends only when told, and there is one per block. */
    if (reason != WIRE_REFUSE_RATE && self->refuse_round++ >= RTR_REFUSALS_MAX) {
        self->stats.refusals_unreported++;
        return;
    }
    wire_refusal_entry_t e = {
        {.pub_id = h->pub_id, .pub_id_len = h->pub_id_len, .session = h->session, .pub_seq = seq},
        (uint8_t)reason};
    if (self->refuse_len == 0)
        self->refuse_len = wire_refusal_begin(self->refuse_buf, RTR_ACK_FRAME_MAX);
    size_t next = wire_refusal_append(self->refuse_buf, RTR_ACK_FRAME_MAX, self->refuse_len, &e);
    if (next == 0) { /* frame full: send it now, start the next one */
        s_flush_refusals(self);
        self->refuse_len = wire_refusal_begin(self->refuse_buf, RTR_ACK_FRAME_MAX);
        next = wire_refusal_append(self->refuse_buf, RTR_ACK_FRAME_MAX, self->refuse_len, &e);
    }
    self->refuse_len = next;
    self->refuse_entries++;
}

/* Counts, logs (rate-limited per reason) and reports one refused event. */
static void s_refused(rtr_server_t *self, const rtr_envelope_t *env, uint64_t seq,
                      wire_refusal_t reason, bool report)
{
    const wire_header_t *h = &env->hdr;
    self->stats.refused++;
    self->stats.refused_by[reason]++;
    if (report)
        s_refuse(self, h, seq, reason);
    base_log_limited(self->log, &self->refuse_limit[reason], WEFT_LOG_WARN,
                     "refused event (%s) from publisher %.*s session %016" PRIx64 " seq %" PRIu64
                     ": room %.*s type %.*s",
                     wire_refusal_name(reason), (int)h->pub_id_len, h->pub_id, h->session, seq,
                     (int)env->room_len, env->room ? env->room : "", (int)h->type_len, h->type);
}

/* The rights verdict for an event: the publisher is known by its CURVE key (User-Id) when it has
 * one, else by the publisher id it claims (unauthenticated: for trusted networks only). */
static wire_refusal_t s_rights(rtr_server_t *self, zmq_msg_t *f, const rtr_envelope_t *env)
{
    const char *uid = zmq_msg_gets(&f[0], "User-Id");
    const char *meta_rooms = uid ? zmq_msg_gets(&f[0], "rooms") : NULL;
    const char *meta_types = uid ? zmq_msg_gets(&f[0], "types") : NULL;
    const wire_header_t *h = &env->hdr;
    rtr_rights_verdict_t v = rtr_rights_check(
        self->rights, uid ? uid : h->pub_id, uid ? strlen(uid) : h->pub_id_len, meta_rooms,
        meta_types, env->room, env->room_len, h->type, h->type_len);
    return v == RTR_RIGHTS_ROOM ? WIRE_REFUSE_ROOM : v == RTR_RIGHTS_TYPE ? WIRE_REFUSE_TYPE : 0;
}

/* Sends the three frames on fan-out; they become empty messages as ZeroMQ takes them. */
static void s_forward(rtr_server_t *self, zmq_msg_t f[RTR_FRAMES])
{
    if (zmq_msg_send(&f[0], self->fanout, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send(&f[1], self->fanout, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send(&f[2], self->fanout, ZMQ_DONTWAIT) < 0) {
        self->stats.send_errors++;
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR, "fanout send failed: %s",
                         zmq_strerror(errno));
        return;
    }
    self->stats.accepted++;
}

/* Validates, dedups and stamps one received message of nframes frames (and keeps its history).
 * Returns true when its frames are to be forwarded on fan-out. */
static bool s_handle(rtr_server_t *self, zmq_msg_t f[RTR_FRAMES], size_t nframes, uint64_t now)
{
    self->stats.received++;
    const void *data[RTR_FRAMES] = {NULL, NULL, NULL};
    size_t len[RTR_FRAMES] = {0, 0, 0};
    for (size_t i = 0; i < RTR_FRAMES && i < nframes; i++) {
        data[i] = zmq_msg_data(&f[i]);
        len[i] = zmq_msg_size(&f[i]);
    }
    rtr_envelope_t env;
    wire_err_t err = rtr_validate_envelope(nframes, data, len, &env);
    const wire_header_t *h = &env.hdr;

    /* Any decodable event is recorded and acked, valid or not, so the agent frees it. */
    rtr_pub_verdict_t verdict = RTR_PUB_NEW;
    if (env.header_ok && h->kind == WIRE_KIND_EVENT) {
        uint64_t report_seq = 0;
        verdict = rtr_pubs_event_capped(self->pubs, h->pub_id, h->pub_id_len, h->session,
                                        h->pub_seq, now, &report_seq);
        if (verdict == RTR_PUB_THROTTLED) {
            /* Not recorded, not acked: the publisher keeps it and resends from report_seq. */
            s_refused(self, &env, h->pub_seq, WIRE_REFUSE_RATE, false);
            if (report_seq)
                s_refuse(self, h, report_seq, WIRE_REFUSE_RATE);
            return false;
        }
        if (verdict == RTR_PUB_UNTRACKED) {
            self->stats.untracked++;
            base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                             "out of memory tracking publisher %.*s: event published without "
                             "dedup",
                             (int)h->pub_id_len, h->pub_id);
        }
    }
    if (err != WIRE_OK) {
        s_reject(self, err, &env, nframes, 0);
        if (env.header_ok && h->kind == WIRE_KIND_EVENT && verdict != RTR_PUB_DUPLICATE)
            s_refuse(self, h, h->pub_seq, WIRE_REFUSE_INVALID);
        return false;
    }
    if (verdict == RTR_PUB_DUPLICATE) {
        self->stats.duplicates++;
        return false;
    }
    /* Rights before the payload parse: a refused flood costs no JSON work. Acked (recorded
     * above), so the agent frees the event, and reported so it knows why. */
    if (self->check_identity && !env.heartbeat) {
        wire_refusal_t why = s_rights(self, f, &env);
        if (why) {
            s_refused(self, &env, h->pub_seq, why, true);
            return false;
        }
    }

    /* A heartbeat flood is capped like events (before its parse); a dropped heartbeat costs
     * nothing, the next one carries fresher counters. */
    if (env.heartbeat &&
        !rtr_pubs_take(self->pubs, h->pub_id, h->pub_id_len, h->session, now)) {
        s_refused(self, &env, h->pub_seq, WIRE_REFUSE_RATE, false);
        return false;
    }
    json_t *payload = NULL;
    /* Heartbeat payloads are kept, so they are parsed outside the arena. */
    err = rtr_validate_payload(data[2], len[2], self->max_payload, self->jarena,
                               env.heartbeat ? &payload : NULL);
    if (err != WIRE_OK) {
        s_reject(self, err, &env, nframes, len[2]);
        if (!env.heartbeat)
            s_refuse(self, h, h->pub_seq, WIRE_REFUSE_INVALID);
        return false;
    }
    if (env.heartbeat) {
        self->stats.heartbeats++;
        if (rtr_pubs_heartbeat(self->pubs, h->pub_id, h->pub_id_len, h->session, &payload, now) < 0)
            base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                             "out of memory tracking publisher %.*s", (int)h->pub_id_len,
                             h->pub_id);
        /* A blocked session is told again, in case the refusal frame was lost. */
        rtr_pub_t *pub = rtr_pubs_find(self->pubs, h->pub_id, h->pub_id_len, h->session);
        /* The key identity presence reports: read once per session, from a heartbeat. */
        if (pub && self->curve && !*rtr_pub_key(pub))
            rtr_pub_set_key(pub, zmq_msg_gets(&f[0], "User-Id"));
        if (pub && rtr_pub_blocked_seq(pub))
            s_refuse(self, h, rtr_pub_blocked_seq(pub), WIRE_REFUSE_RATE);
        return false;
    }

    rtr_room_t *room = rtr_rooms_ensure(self->rooms, env.room, env.room_len, now);
    if (!room) {
        self->stats.send_errors++;
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                         "out of memory creating room %.*s: event dropped", (int)env.room_len,
                         env.room);
        return false;
    }
    /* The header frame was just received and belongs to this message only: stamp it in place. */
    uint64_t seq = rtr_rooms_stamp(self->rooms, room, now);
    wire_header_stamp(zmq_msg_data(&f[1]), self->epoch, seq);
    /* Stored before the send, which empties the frames; the store copies what it keeps. A
     * failure only costs this room's history (counted as lost), never the live event. */
    if (rtr_history_append(self->history, room, seq, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
                           data[2], len[2], now) < 0)
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                         "out of memory keeping history of room %.*s: its history was dropped",
                         (int)env.room_len, env.room);
    return true;
}

/* Receives the rest of a multipart message: up to RTR_FRAMES frames into f, any excess read and
 * discarded so a bad message never leaves parts behind. Returns the total number of frames. */
static size_t s_recv_rest(rtr_server_t *self, zmq_msg_t f[RTR_FRAMES])
{
    size_t n = 1;
    int more = zmq_msg_more(&f[0]);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *m = n < RTR_FRAMES ? &f[n] : &extra;
        if (m == &extra)
            zmq_msg_init(&extra);
        /* Parts of a message arrive together, so this does not wait. */
        if (zmq_msg_recv(m, self->intake, ZMQ_DONTWAIT) < 0) {
            base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                             "intake receive failed mid-message: %s", zmq_strerror(errno));
            if (m == &extra)
                zmq_msg_close(&extra);
            return 0; /* not 3: rejected as "frames" */
        }
        more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(&extra);
        n++;
    }
    return n;
}

/* Closes the frames of one message. */
static void s_close_frames(zmq_msg_t f[RTR_FRAMES])
{
    for (int k = 0; k < RTR_FRAMES; k++)
        zmq_msg_close(&f[k]);
}

/* Sends the held events on fan-out, in the order they were stamped, and closes their frames. */
static void s_flush_held(rtr_server_t *self, size_t held)
{
    for (size_t i = 0; i < held; i++) {
        s_forward(self, self->held[i]);
        s_close_frames(self->held[i]);
    }
}

/*
 * Handles up to RTR_BATCH intake messages, stopping early when none are waiting, and hands the
 * accepted ones to fan-out in bursts of up to RTR_BURST. Why bursts: ZeroMQ wakes its I/O thread
 * for the first message that lands in an empty fan-out pipe. Sent one at a time between parses,
 * each message tends to find the pipe drained again and pays for a wake-up, a context switch and
 * a socket write of its own; a burst costs one wake-up and a few large writes. An event waits
 * for at most RTR_BURST - 1 others to be parsed (about a millisecond under full load), and no
 * longer than the batch when traffic is light. Order is kept: bursts go out as stamped.
 */
static void s_drain_intake(rtr_server_t *self)
{
    uint64_t now = base_clock_ms();
    size_t held = 0;
    for (int i = 0; i < RTR_BATCH; i++) {
        zmq_msg_t *f = self->held[held];
        for (int k = 0; k < RTR_FRAMES; k++)
            zmq_msg_init(&f[k]);
        if (zmq_msg_recv(&f[0], self->intake, ZMQ_DONTWAIT) < 0) {
            if (errno != EAGAIN)
                base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                                 "intake receive failed: %s", zmq_strerror(errno));
            s_close_frames(f);
            break;
        }
        size_t n = s_recv_rest(self, f);
        if (!s_handle(self, f, n, now)) {
            s_close_frames(f);
            continue;
        }
        if (++held == RTR_BURST) {
            s_flush_held(self, held);
            held = 0;
        }
    }
    s_flush_held(self, held);
}

/* Reads subscription messages from edges so they never pile up; counts and logs them. */
static void s_drain_fanout(rtr_server_t *self)
{
    for (int i = 0; i < RTR_BATCH; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->fanout, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        const unsigned char *p = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        if (len >= 1 && (p[0] == 1 || p[0] == 0)) {
            if (p[0] == 1)
                self->stats.subscriptions++;
            else
                self->stats.unsubscriptions++;
            if (base_log_level(self->log) >= WEFT_LOG_DEBUG) {
                char topic[4 * WIRE_TOPIC_MAX + 8];
                base_log(self->log, WEFT_LOG_DEBUG, "edge %s '%s'",
                         p[0] == 1 ? "subscribed to" : "unsubscribed from",
                         s_printable(p + 1, len - 1, topic, sizeof topic));
            }
        }
        zmq_msg_close(&m);
    }
}

/* Sends one round of ack frames for every session that sent something since the last round. */
static void s_send_acks(rtr_server_t *self, uint64_t now)
{
    size_t entries = 0;
    size_t len;
    while ((len = rtr_pubs_ack_frame(self->pubs, self->ack_buf, RTR_ACK_FRAME_MAX, &entries)) > 0) {
        /* XSUB passes a message whose first byte is not 0 or 1 upstream to every agent. A lost
         * ack is repaired by the next heartbeat of that publisher. */
        if (zmq_send(self->intake, self->ack_buf, len, ZMQ_DONTWAIT) < 0) {
            self->stats.send_errors++;
            base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR, "ack send failed: %s",
                             zmq_strerror(errno));
            continue;
        }
        self->stats.acks_sent++;
        self->stats.ack_entries += entries;
    }
    /* After the acks of the same round, so an agent told "rate_limited from N" has already
     * freed what came before N and resends from N. */
    s_flush_refusals(self);
    self->refuse_round = 0;
    self->last_ack_ms = now;
}

/* Copies the table sizes and the history store's counters into stats. */
static void s_fill_gauges(const rtr_server_t *self, rtr_stats_t *st)
{
    st->rooms = rtr_rooms_size(self->rooms);
    st->publishers = rtr_pubs_size(self->pubs);
    rtr_history_counters_t hc;
    rtr_history_counters(self->history, &hc);
    st->history_evicted_count = hc.evicted_count;
    st->history_evicted_age = hc.evicted_age;
    st->history_evicted_cap = hc.evicted_cap;
    st->history_lost = hc.lost;
    st->history_events = hc.events;
    st->history_bytes = hc.bytes;
    st->history_rooms = hc.rooms;
}

/* Logs the counter summary at the given level. */
static void s_log_summary(rtr_server_t *self, weft_log_level_t level, const char *prefix)
{
    char line[2048];
    s_fill_gauges(self, &self->stats);
    base_log(self->log, level, "%s: %s", prefix, rtr_stats_format(&self->stats, line, sizeof line));
}

/* Runs whatever periodic work is due: acks, publisher expiry, the stats summary. */
static void s_timers(rtr_server_t *self, uint64_t now)
{
    if ((rtr_pubs_dirty_count(self->pubs) || self->refuse_entries) &&
        now >= self->last_ack_ms + self->ack_interval_ms)
        s_send_acks(self, now);
    if (now >= self->next_sweep_ms) {
        /* Before expiry, so a session is announced gone before it is forgotten. */
        if (self->presence)
            rtr_presence_tick(self->presence, self->pubs, now, base_clock_wall_ns() / 1000000);
        size_t expired = rtr_pubs_expire(self->pubs, now);
        if (expired) {
            self->stats.publishers_expired += expired;
            base_log(self->log, WEFT_LOG_INFO, "forgot %zu silent publisher session(s)", expired);
        }
        rtr_history_expire(self->history, now);
        if (self->curve)
            rtr_curve_tick(self->curve);
        self->next_sweep_ms = now + RTR_SWEEP_MS;
    }
    if (self->head_interval_ms && now >= self->next_head_ms) {
        rtr_origin_heads(self->origin, now, self->head_linger_ms);
        self->next_head_ms = now + self->head_interval_ms;
    }
    if (self->stats_interval_ms && now >= self->next_stats_ms) {
        s_log_summary(self, WEFT_LOG_INFO, "stats");
        self->next_stats_ms = now + self->stats_interval_ms;
    }
}

/* Milliseconds zmq_poll may sleep: until the next due timer, the listener's included (whose
 * due time it notes in http_due_ms). */
static long s_timeout(rtr_server_t *self, uint64_t now)
{
    uint64_t next = self->next_sweep_ms;
    if (self->stats_interval_ms && self->next_stats_ms < next)
        next = self->next_stats_ms;
    if (self->head_interval_ms && self->next_head_ms < next)
        next = self->next_head_ms;
    if ((rtr_pubs_dirty_count(self->pubs) || self->refuse_entries) &&
        self->last_ack_ms + self->ack_interval_ms < next)
        next = self->last_ack_ms + self->ack_interval_ms;
    int http_ms = self->http ? rtr_http_timeout_ms(self->http) : -1;
    self->http_due_ms = http_ms >= 0 ? now + (uint64_t)http_ms : 0;
    if (http_ms >= 0 && now + (uint64_t)http_ms < next)
        next = now + (uint64_t)http_ms;
    return next <= now ? 0 : (long)(next - now);
}

/* Reads the signalfd: SIGHUP reloads the rights file (returns false), any other signal is
 * logged as the reason to stop (returns true). */
static bool s_read_signal(rtr_server_t *self, int signal_fd)
{
    struct signalfd_siginfo si;
    ssize_t n = read(signal_fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si && si.ssi_signo == SIGHUP) {
        if (self->rights_path)
            (void)s_rights_load(self); /* logged either way; a failure keeps the old rights */
        else
            base_log(self->log, WEFT_LOG_NOTICE, "received SIGHUP: no rights_file to reload");
        return false;
    }
    if (n == (ssize_t)sizeof si) {
        const char *name = sigabbrev_np((int)si.ssi_signo);
        base_log(self->log, WEFT_LOG_NOTICE, "received SIG%s, shutting down", name ? name : "?");
    } else
        base_log(self->log, WEFT_LOG_NOTICE, "signal received, shutting down");
    return true;
}

/* The loop; see rtr_server.h. */
int rtr_server_run(rtr_server_t *self, int signal_fd)
{
    zmq_pollitem_t items[6] = {
        {self->intake, 0, ZMQ_POLLIN, 0},
        {self->fanout, 0, ZMQ_POLLIN, 0},
        {rtr_hsvc_socket(self->hsvc), 0, ZMQ_POLLIN, 0},
        {NULL, self->stop_fd, ZMQ_POLLIN, 0},
        {NULL, signal_fd, ZMQ_POLLIN, 0},
        {NULL, self->http ? rtr_http_fd(self->http) : -1, ZMQ_POLLIN, 0},
    };
    /* The metrics listener's epoll descriptor sits last (rtr_http.h); without a signalfd it
     * moves into slot 4. */
    int nitems = signal_fd >= 0 ? 5 : 4, sig_i = signal_fd >= 0 ? 4 : -1, http_i = -1;
    if (self->http) {
        items[nitems] = items[5];
        http_i = nitems++;
    }
    int rc = 0;
    for (;;) {
        uint64_t now = base_clock_ms();
        if (self->ops)
            rtr_ops_turned(self->ops, now);
        s_timers(self, now);
        if (zmq_poll(items, nitems, s_timeout(self, now)) < 0) {
            if (errno == EINTR)
                continue;
            base_log(self->log, WEFT_LOG_ERROR, "poll failed: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_drain_intake(self);
        if (items[1].revents & ZMQ_POLLIN)
            s_drain_fanout(self);
        /* At most history_batch requests; the rest wait for the next pass (zmq_poll reports
         * the socket readable again at once), after the next intake batch. */
        if (items[2].revents & ZMQ_POLLIN)
            rtr_hsvc_serve(self->hsvc, base_clock_ms());
        /* Only when it has input or a timer due: an idle listener costs no system call. */
        if (http_i >= 0 && ((items[http_i].revents & ZMQ_POLLIN) ||
                            (self->http_due_ms && base_clock_ms() >= self->http_due_ms)))
            rtr_http_service(self->http);
        if (items[3].revents & ZMQ_POLLIN) {
            uint64_t v;
            if (read(self->stop_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                base_log(self->log, WEFT_LOG_WARN, "stop eventfd read: %s", strerror(errno));
            base_log(self->log, WEFT_LOG_NOTICE, "stop requested, shutting down");
            break;
        }
        if (sig_i >= 0 && (items[sig_i].revents & ZMQ_POLLIN) && s_read_signal(self, signal_fd))
            break;
    }
    self->stopping = true;
    /* Whatever arrived before the stop is acknowledged, so agents do not resend it. */
    s_send_acks(self, base_clock_ms());
    s_log_summary(self, WEFT_LOG_NOTICE, "final stats");
    return rc;
}

/* Wakes the loop through the eventfd; safe from any thread or a signal handler. */
int rtr_server_stop(rtr_server_t *self)
{
    uint64_t one = 1;
    if (!self || self->stop_fd < 0)
        return -1;
    if (write(self->stop_fd, &one, sizeof one) == (ssize_t)sizeof one || errno == EAGAIN)
        return 0; /* EAGAIN: the counter is saturated, a stop is pending anyway */
    return -1;
}

/* Resolved intake endpoint. */
const char *rtr_server_intake_endpoint(const rtr_server_t *self)
{
    return self->intake_ep;
}

/* Resolved fan-out endpoint. */
const char *rtr_server_fanout_endpoint(const rtr_server_t *self)
{
    return self->fanout_ep;
}

/* This run's epoch. */
uint64_t rtr_server_epoch(const rtr_server_t *self)
{
    return self->epoch;
}

/* Snapshot of the counters with fresh gauges. */
void rtr_server_stats(const rtr_server_t *self, rtr_stats_t *out)
{
    *out = self->stats;
    s_fill_gauges(self, out);
}

/* Resolved history endpoint. */
const char *rtr_server_history_endpoint(const rtr_server_t *self)
{
    return rtr_hsvc_endpoint(self->hsvc);
}

/* The history store. */
const rtr_history_t *rtr_server_history(const rtr_server_t *self)
{
    return self->history;
}

/* The publisher table. */
const rtr_pubs_t *rtr_server_pubs(const rtr_server_t *self)
{
    return self->pubs;
}

/* The room table. */
const rtr_rooms_t *rtr_server_rooms(const rtr_server_t *self)
{
    return self->rooms;
}
