/*
 * edge_server.c: the weft-edge server: the lws context and its protocols, the vetting of
 * WebSocket upgrades, the lws side of the connection lifecycle (the client protocol itself is
 * edge_session.c), signals and the graceful drain, the lws timers of the modules below, and
 * construction. It is the only module of the edge that calls lws for WebSocket connections (plain
 * HTTP is edge_http.c); the modules below report to it through hooks and it implements the
 * writer's transport with lws_write() and friends.
 *
 * The stack, top-down (each module calls only those below it):
 *   edge_server   this file: lws, upgrades, lifecycle, drain, timers, construction
 *   edge_ops      heartbeat, readiness, the drain (edge_ops.h), over edge_http: plain HTTP,
 *                 static files, CORS, /health, /ready, /drain (edge_http.h)
 *   edge_session  a connection's client protocol: welcome, op dispatch, auth timer (edge_session.h)
 *   edge_pipeline router message -> room stream -> batch -> listeners (edge_pipeline.h)
 *   edge_sync     a client's resume of one room: member stream, history, deferral (edge_sync.h)
 *   edge_writer   each connection's queue, write rounds, gathered writes, closes (edge_writer.h)
 * and beside them the pure modules they use: edge_rooms, edge_stream, edge_batch, edge_outq,
 * edge_pace, edge_frame, edge_proto, edge_bucket, edge_drain; edge_zmq and edge_hist for the
 * router.
 *
 * Flow of an event: edge_zmq reads a message from the router's fan-out and calls
 * s_on_router_msg() here, which hands it to edge_pipeline_route() (edge_pipeline.c): envelope
 * checks, one frame encoded for every client (edge_frame_event()), then edge_stream_live() of
 * the room's stream, which delivers it in order (or holds it while a gap is repaired from
 * history) to s_room_deliver(); edge_batch_add() emits it at once (s_room_emit()) or holds it
 * for a batch; edge_rooms_visit() calls s_visit_one() for each listener, which queues the shared
 * frame with edge_writer_send() (edge_writer.c; or hands it to the listener's resume,
 * edge_sync_live()). The writer lists the connection for the next write round; when the pass
 * over the router feed ends (edge_writer_pass_end(), or the round timer s_flush_cb()), s_round()
 * writes each listed connection's frames with s_flush_conn(), gathered into one buffer, through
 * the transport op s_tp_write() here, which is one lws_write() and so one send(). A connection
 * whose socket did not take everything is written from LWS_CALLBACK_SERVER_WRITEABLE instead
 * (edge_writer_writeable()).
 *
 * Event loop: libuv (event_loop = uv, the default) or lws's poll() loop. libuv's epoll makes a
 * wake-up cost what is ready; poll() walks every descriptor, which at tens of thousands of
 * idle connections costs more than the events themselves.
 *
 * Timers: lws_sul timers run what the modules below schedule through their hooks: one for the
 * writer's next round, one for the earliest pending batch of the edge (the batcher keeps the
 * deadlines in a heap), plus the periodic summary and the deadline of a graceful stop.
 *
 * Client limits: each connection has a token bucket and a cap on its subscriptions
 * (edge_session.c), the edge a cap on connections (HTTP 503) and on connections per address
 * (HTTP 429, edge_upgrade.c). The answer to each kind of hostile input: docs/security.md.
 *
 * Authentication (edge_auth.h): a token on the upgrade (Authorization: Bearer or ?token=) is
 * verified once in s_confirm_upgrade() (HTTP 401 with the reason) and its identity handed to
 * ESTABLISHED; without one the connection must send {"op":"auth"} first. Each connection has
 * one lws timer (LWS_CALLBACK_TIMER) for its auth deadline or its token's expiry, so nothing is
 * checked per event; a subscribe is checked against the identity's rules (edge_perm.h) once.
 *
 * Origins and TLS (edge_upgrade.h): an upgrade's Origin is checked once, in
 * s_confirm_upgrade(), against the allowlist (HTTP 403), and the HTTP files get CORS headers
 * for allowed origins. With tls_cert set the vhost serves https/wss; SIGHUP reloads the
 * certificate files into the running vhost after edge_tls.h has checked them.
 */
#include "edge_server.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "base_clock.h"
#include "edge_auth.h"
#include "edge_bucket.h"
#include "edge_frame.h"
#include "edge_hist.h"
#include "edge_ops.h"
#include "edge_pipeline.h"
#include "edge_proto.h"
#include "edge_rooms.h"
#include "edge_rxbuf.h"
#include "edge_session.h"
#include "edge_sync.h"
#include "edge_tls.h"
#include "edge_upgrade.h"
#include "edge_writer.h"
#include "edge_zloop.h"
#include "edge_zmq.h"
#include "weft/version.h"
#include "wire_envelope.h"

#define S_WS_PROTOCOL "weft"                 /* subprotocol name, also the default for none */
#define S_WS_PATH "/ws"                      /* the only path that upgrades */
#define S_STOP_GRACE_US (2 * LWS_US_PER_SEC) /* how long a stop waits for close handshakes */
#define S_CLOSE_GRACE_S 5                    /* how long a doomed connection may take to close */
#define S_RX_KEEP 16384                      /* larger reassembly buffers are freed after use */
#define S_RX_BUFFER 512                      /* lws's receive buffer per connection */
#define S_TX_PACKET (65536 + 16)             /* lws's send() size: a whole gathered write */
#define S_HTTP_TOO_MANY 429                  /* lws names no constant for it */
#define S_LWS_WRITE_CLOSE 4 /* lws's LWS_WRITE_CLOSE, which lws-write.h leaves out of the enum */

/* Indexes in the protocol list. */
enum { S_PROTO_HTTP = 0, S_PROTO_WS, S_PROTO_ZLOOP, S_PROTO_SIGNAL, S_PROTO__COUNT };

struct edge_server {
    const edge_config_t *conf;                          /* borrowed */
    base_log_t *log;                                    /* borrowed */
    struct lws_context *ctx;                            /* the lws context (one service thread) */
    uv_loop_t *uv;                                      /* libuv loop lws runs in, or NULL: poll */
    struct lws_vhost *vhost;                            /* its only vhost */
    struct lws_protocols protocols[S_PROTO__COUNT + 1]; /* http, ws, zloop, signalfd, end */
    struct lws_protocol_vhost_options pvo_ws;           /* options of the ws protocol ... */
    struct lws_protocol_vhost_options pvo_default; /* ... "default": used without subprotocol */
    lws_retry_bo_t retry;                          /* idle ping / hang-up policy */
    edge_zmq_t *zmq;                               /* the router feed */
    edge_hist_t *hist;                             /* the router's history service */
    edge_writer_t *writer;                         /* every connection's output */
    edge_pipeline_t *pipe;                         /* rooms, their streams, batches, resumes */
    lws_sorted_usec_list_t batch_sul;              /* fires at the earliest batch deadline */
    lws_sorted_usec_list_t flush_sul;              /* runs the writer's next round */
    edge_session_t *session;                       /* the client protocol of connections */
    edge_stats_t stats;                            /* counters */
    lws_sorted_usec_list_t stats_sul;              /* periodic summary */
    lws_sorted_usec_list_t stop_sul;               /* deadline of a graceful stop */
    edge_ops_t *ops;                               /* health, readiness, drain, plain HTTP */
    size_t drain_due;                              /* closes the current drain step owes */
    int signal_fd;                                 /* signalfd until lws adopts it, else -1 */
    int port;                                      /* the port actually listened on */
    bool stopping;                                 /* a graceful stop is under way */
    bool stopped;                                  /* the loop must end */
    base_limit_t refuse_limit;                     /* logs about refused upgrades */
    edge_upgrade_t *upgrade;                       /* origins, CORS, upgrade tokens, TLS */
    edge_auth_t *auth;         /* keys, anonymous rules, auto-join templates */
    struct lws *pending_wsi;   /* the upgrade whose token was verified last ... */
    edge_auth_id_t pending_id; /* ... and its identity, for its ESTABLISHED */
};

/* The server that owns a wsi (the context's user pointer). */
static edge_server_t *s_server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- the writer's transport (edge_writer_ops_t) over lws ---------------------------------- */

/* Writes a frame (TEXT: lws adds the header in the headroom), encoded frames (RAW: sent as they
 * are; see edge_writer.c for why the edge encodes gathered frames itself) or a close frame. */
static int s_tp_write(void *conn, unsigned char *data, size_t len, edge_write_kind_t kind)
{
    enum lws_write_protocol wp = kind == EDGE_WRITE_TEXT ? LWS_WRITE_TEXT
                                 : kind == EDGE_WRITE_RAW
                                     ? LWS_WRITE_RAW
                                     : (enum lws_write_protocol)S_LWS_WRITE_CLOSE;
    return lws_write(conn, data, len, wp);
}

/* Asks lws for LWS_CALLBACK_SERVER_WRITEABLE. */
static void s_tp_want_writable(void *conn)
{
    lws_callback_on_writable(conn);
}

/* True while lws still holds part of an earlier write. */
static bool s_tp_partial(void *conn)
{
    return lws_partial_buffered(conn) != 0;
}

/* Sets the connection's lws timeout. */
static void s_tp_expire(void *conn, edge_expire_t how)
{
    if (how == EDGE_EXPIRE_NOW)
        lws_set_timeout(conn, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    else if (how == EDGE_EXPIRE_ACK)
        lws_set_timeout(conn, PENDING_TIMEOUT_CLOSE_ACK, S_CLOSE_GRACE_S);
    else
        lws_set_timeout(conn, PENDING_TIMEOUT_USER_OK, S_CLOSE_GRACE_S);
}

/* Schedules sul to run cb in delay_us (replacing a pending one). Returns 0, or -1 when there is
 * no lws context (yet, or any more): nothing is scheduled. */
static int s_arm_sul(edge_server_t *self, lws_sorted_usec_list_t *sul, sul_cb_t cb,
                     int64_t delay_us)
{
    if (!self->ctx)
        return -1;
    lws_sul_schedule(self->ctx, 0, sul, cb, (lws_usec_t)delay_us);
    return 0;
}

/* Timer: the pass that queued frames is over, or a pacing pause has passed. */
static void s_flush_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, flush_sul);
    edge_writer_timer(self->writer);
}

/* Arms the writer's round timer. */
static int s_tp_schedule(void *arg, int64_t delay_us)
{
    edge_server_t *self = arg;
    return s_arm_sul(self, &self->flush_sul, s_flush_cb, delay_us);
}

/* Disarms the writer's round timer. */
static void s_tp_cancel(void *arg)
{
    edge_server_t *self = arg;
    lws_sul_cancel(&self->flush_sul);
}

static const edge_writer_ops_t s_transport = {
    .write = s_tp_write,
    .want_writable = s_tp_want_writable,
    .partial = s_tp_partial,
    .expire = s_tp_expire,
    .schedule = s_tp_schedule,
    .cancel = s_tp_cancel,
};

/* ---- inbound client messages (edge_session.h) ------------------------------------------------ */

/* edge_session arm hook: the connection's lws timer (LWS_CALLBACK_TIMER) in delay_us. Never
 * cancels: lws 4.1 treats LWS_SET_TIMER_USEC_CANCEL on a wsi as a timer due at once (a busy
 * loop); a timer left armed finds nothing due (edge_auth_conn_due()) and is not re-armed. */
static void s_arm_conn(void *transport, int64_t delay_us)
{
    lws_set_timer_usecs(transport, (lws_usec_t)delay_us);
}

/* LWS_CALLBACK_RECEIVE: one piece of a client message (edge_rxbuf.h), under max_message. */
static int s_on_receive(edge_server_t *self, edge_conn_t *conn, struct lws *wsi, const void *in,
                        size_t len)
{
    if (!edge_wconn_live(&conn->client.out))
        return 0;
    if (lws_frame_is_binary(wsi)) {
        edge_session_close(self->session, conn, EDGE_CLOSE_UNSUPPORTED,
                           "binary frames are not supported");
        return 0;
    }
    size_t remaining = lws_remaining_packet_payload(wsi);
    edge_rxpiece_t piece = {
        .data = in,
        .len = len,
        .first = lws_is_first_fragment(wsi),
        .final = lws_is_final_fragment(wsi) && remaining == 0,
        .remaining = remaining,
    };
    const char *msg;
    size_t msg_len;
    switch (edge_rxbuf_add(&conn->rx, &piece, self->conf->max_message,
                           (unsigned)self->conf->max_fragments, &msg, &msg_len)) {
    case EDGE_RX_MORE:
        break;
    case EDGE_RX_MESSAGE:
        edge_session_message(self->session, conn, msg, msg_len);
        edge_rxbuf_done(&conn->rx, S_RX_KEEP);
        break;
    case EDGE_RX_TOO_BIG:
        edge_session_close(self->session, conn, EDGE_CLOSE_TOO_BIG, "message too big");
        break;
    case EDGE_RX_TOO_MANY:
        edge_session_close(self->session, conn, EDGE_CLOSE_FRAGMENTS, "too many fragments");
        break;
    case EDGE_RX_NOMEM:
        edge_session_close(self->session, conn, EDGE_CLOSE_INTERNAL, "out of memory");
        break;
    }
    return 0;
}

/* ---- connection lifecycle ----------------------------------------------------------------- */

/* Why an upgrade's token is refused (NULL: none, or a valid one, whose identity waits in the
 * pending slot for this wsi's ESTABLISHED). Counts and logs each refusal. */
static const char *s_vet_token(edge_server_t *self, struct lws *wsi)
{
    if (!edge_auth_tokens(self->auth))
        return NULL;
    char token[EDGE_JWT_TOKEN_MAX + 1];
    int len = edge_upgrade_token(wsi, token, sizeof token);
    if (len == 0)
        return NULL; /* the client sends {"op":"auth"} */
    if (len < 0)
        return edge_session_refuse(self->session, EDGE_JWT_TOO_BIG);
    /* Token times are wall-clock seconds. */
    int64_t now_us = (int64_t)(base_clock_wall_ns() / 1000);
    int rc = edge_auth_verify(self->auth, token, (size_t)len, now_us, &self->pending_id);
    if (rc < 0)
        return "out of memory";
    if (rc != EDGE_JWT_OK)
        return edge_session_refuse(self->session, rc);
    self->pending_wsi = wsi;
    return NULL;
}

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: only /ws upgrades, from allowed origins, and not beyond
 * max_connections, with a valid token when one is given. Returns 0 to allow, 1 after answering
 * with an HTTP error, -1 to hang up. */
static int s_confirm_upgrade(edge_server_t *self, struct lws *wsi, const char *upgrade)
{
    /* Whatever the last upgrade left is not this one's: a wsi may reuse a freed one's address. */
    self->pending_wsi = NULL;
    edge_auth_id_clear(&self->pending_id);
    edge_upgrade_headers_done(self->upgrade, wsi);
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return 0;
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    unsigned code = 0;
    const char *why = NULL;
    if (n < 0 || strcmp(uri, S_WS_PATH) != 0) {
        code = HTTP_STATUS_NOT_FOUND;
        why = "the WebSocket endpoint is " S_WS_PATH;
    } else if (self->stopping || edge_ops_drain_phase(self->ops) > EDGE_DRAIN_GRACE) {
        code = HTTP_STATUS_SERVICE_UNAVAILABLE;
        why = "edge shutting down";
    } else if ((why = edge_upgrade_vet_origin(self->upgrade, wsi)) != NULL) {
        code = HTTP_STATUS_FORBIDDEN;
    } else if (self->stats.conns_current >= (uint64_t)self->conf->max_connections) {
        code = HTTP_STATUS_SERVICE_UNAVAILABLE;
        why = "edge at its connection limit";
        base_log_limited(self->log, &self->refuse_limit, WEFT_LOG_WARN,
                         "refusing a WebSocket: max_connections (%d) reached",
                         self->conf->max_connections);
    } else if ((why = edge_upgrade_vet_peer(self->upgrade, wsi)) != NULL) {
        code = S_HTTP_TOO_MANY;
    } else if ((why = s_vet_token(self, wsi)) != NULL) {
        code = HTTP_STATUS_UNAUTHORIZED;
    }
    if (!code)
        return 0;
    self->stats.conns_refused++;
    if (lws_return_http_status(wsi, code, why))
        return -1;
    return 1;
}

/* LWS_CALLBACK_ESTABLISHED: sets up the connection with the identity verified at its upgrade,
 * if any, and queues the welcome (edge_session_open()). */
static int s_on_open(edge_server_t *self, edge_conn_t *conn, struct lws *wsi)
{
    edge_auth_id_t id = {0};
    if (self->pending_wsi == wsi) {
        id = self->pending_id;
        self->pending_id.perm = NULL;
        self->pending_wsi = NULL;
    }
    int rc = edge_session_open(self->session, conn, wsi, &id);
    edge_auth_id_clear(&id);
    if (rc == 0)
        conn->ip = edge_upgrade_count_peer(self->upgrade, wsi);
    return rc;
}

/* LWS_CALLBACK_CLOSED: counts a close lws made itself (its reason, which the edge never sets),
 * frees what the connection holds; the last one ends a graceful stop. */
static void s_on_closed(edge_server_t *self, edge_conn_t *conn, struct lws *wsi)
{
    edge_session_lws_closed(self->session, conn, lws_get_close_payload(wsi),
                            (size_t)lws_get_close_length(wsi));
    edge_upgrade_uncount_peer(self->upgrade, &conn->ip);
    if (!edge_session_closed(self->session, conn))
        return; /* ESTABLISHED failed, or CLOSED came twice */
    if (self->stopping && self->stats.conns_current == 0)
        self->stopped = true;
}

/* The "weft" WebSocket protocol. */
static int s_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    edge_server_t *self = s_server_of(wsi);
    edge_conn_t *conn = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return s_confirm_upgrade(self, wsi, in);
    case LWS_CALLBACK_ESTABLISHED:
        return s_on_open(self, conn, wsi);
    case LWS_CALLBACK_RECEIVE:
        return s_on_receive(self, conn, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return edge_writer_writeable(self->writer, &conn->client.out);
    case LWS_CALLBACK_TIMER:
        edge_session_timer(self->session, conn);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* Also fires for the peer's echo of a close we sent: that one ends the connection, with
         * nothing to echo back; lws answers a client's own close. */
        if (conn && edge_writer_peer_close(self->writer, &conn->client.out))
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED:
        s_on_closed(self, conn, wsi);
        return 0;
    case LWS_CALLBACK_USER: /* a drain step visits every connection (s_drain_cb) */
        if (self->drain_due && conn && edge_wconn_live(&conn->client.out)) {
            self->drain_due--;
            edge_session_close(self->session, conn, EDGE_CLOSE_RESTART, "service restart");
        }
        return 0;
    case LWS_CALLBACK_ADD_HEADERS: /* a plain HTTP request bound to this protocol */
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        return edge_http_callback(edge_ops_http(self->ops), wsi, reason, user, in, len,
                                  self->stopped);
    default:
        /* A plain HTTP connection may be bound to this protocol: keep lws's HTTP defaults. */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* protocols[0]: plain HTTP (edge_http.c); vets upgrades as the ws protocol does. */
static int s_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    edge_server_t *self = s_server_of(wsi);
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) /* as on the ws protocol, the default */
        return s_confirm_upgrade(self, wsi, in);
    return edge_http_callback(edge_ops_http(self->ops), wsi, reason, user, in, len, self->stopped);
}

/* ---- the router feed ---------------------------------------------------------------------- */

/* edge_zmq callback: one message from the router's fan-out. */
static void s_on_router_msg(void *arg, const edge_zmq_msg_t *msg)
{
    edge_server_t *self = arg;
    edge_pipeline_route(self->pipe, msg);
}

/* edge_zmq callback: the SUB (re)connected to the router (the n-th time). */
static void s_on_router_connect(void *arg, uint64_t n)
{
    edge_server_t *self = arg;
    self->stats.router_connects++;
    edge_pipeline_reconnected(self->pipe, n);
}

/* edge_zmq callback: end of a pass over the router feed: the writer's round may run now. */
static void s_on_router_pass_end(void *arg)
{
    edge_server_t *self = arg;
    edge_writer_pass_end(self->writer);
}

/* edge_zmq holdoff: while write rounds are paced, the feed is read when the next round is due. */
static int64_t s_router_holdoff(void *arg)
{
    edge_server_t *self = arg;
    return edge_writer_holdoff(self->writer);
}

/* edge_pipeline hook: the first listener of a room/pattern arrived or the last one left. */
static void s_on_topic(void *arg, bool subscribe, const char *topic, size_t len)
{
    edge_server_t *self = arg;
    if (!self->zmq)
        return;
    int rc = subscribe ? edge_zmq_subscribe(self->zmq, topic, len)
                       : edge_zmq_unsubscribe(self->zmq, topic, len);
    if (rc == 0) {
        if (subscribe)
            self->stats.subs_added++;
        else
            self->stats.subs_removed++;
    }
    base_log(self->log, WEFT_LOG_DEBUG, "zmq: %s '%.*s'", subscribe ? "subscribe" : "unsubscribe",
             (int)len, topic);
}

/* ---- signals, timers ---------------------------------------------------------------------- */

/* edge_ops hook: SIGHUP reloads the JWT keys and the TLS certificate files. */
static void s_reload(void *arg)
{
    edge_server_t *self = arg;
    char err[600];
    if (edge_auth_reload(self->auth, err, sizeof err) < 0)
        base_log(self->log, WEFT_LOG_ERROR, "SIGHUP: keeping the JWT keys in use: %s", err);
    else if (edge_auth_tokens(self->auth))
        base_log(self->log, WEFT_LOG_NOTICE, "SIGHUP: reloaded the JWT keys");
    edge_upgrade_reload_tls(self->upgrade, self->ctx);
}

/* edge_ops hook: a drain step closes n clients (1012) in a visit of every connection. */
static void s_drain_close(void *arg, size_t n)
{
    edge_server_t *self = arg;
    self->drain_due = n;
    /* The vhost's copy of the protocol: lws matches connections by that pointer. */
    lws_callback_all_protocol_vhost_args(self->vhost,
                                         lws_vhost_name_to_protocol(self->vhost, S_WS_PROTOCOL),
                                         LWS_CALLBACK_USER, NULL, 0);
    self->drain_due = 0; /* clients that left by themselves owe nothing */
}

/* edge_ops hook: the drain is over. */
static void s_drain_stop(void *arg)
{
    edge_server_stop(arg);
}

/* Periodic counter summary. */
static void s_stats_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, stats_sul);
    edge_stats_log(edge_server_stats(self), self->log, WEFT_LOG_INFO, "periodic");
    lws_sul_schedule(self->ctx, 0, &self->stats_sul, s_stats_cb,
                     (lws_usec_t)self->conf->stats_interval * LWS_US_PER_SEC);
}

/* The earliest pending batch is due: the pipeline flushes what is due and re-arms. */
static void s_batch_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, batch_sul);
    edge_pipeline_timer(self->pipe);
}

/* edge_pipeline hook: arms the batch timer. */
static int s_batch_arm(void *arg, int64_t delay_us)
{
    edge_server_t *self = arg;
    return s_arm_sul(self, &self->batch_sul, s_batch_cb, delay_us);
}

/* The graceful stop took too long: end the loop; destroy closes what is left. */
static void s_stop_deadline_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, stop_sul);
    base_log(self->log, WEFT_LOG_NOTICE, "stop: %llu connections did not close in time",
             (unsigned long long)self->stats.conns_current);
    self->stopped = true;
}

/* ---- construction ------------------------------------------------------------------------- */

/* Fills the lws tables kept in the server (they must outlive the context). */
static void s_setup_tables(edge_server_t *self)
{
    const edge_config_t *conf = self->conf;
    self->protocols[S_PROTO_HTTP] = (struct lws_protocols){
        .name = "http",
        .callback = s_http_callback,
    };
    self->protocols[S_PROTO_WS] = (struct lws_protocols){
        .name = S_WS_PROTOCOL,
        .callback = s_ws_callback,
        .per_session_data_size = sizeof(edge_conn_t),
        /* lws allocates this per connection for the client's frames (default 4 KiB, most of
         * an idle connection's memory). Client messages are small; a bigger one arrives in
         * pieces that s_on_receive() reassembles. */
        .rx_buffer_size = S_RX_BUFFER,
        /* Without this lws cuts every send() to rx_buffer_size bytes and sends the rest of a
         * gathered write a few hundred bytes per POLLOUT: a send() per half-kilobyte instead of
         * per write, which made the small rx buffer cost several times the CPU under load
         * (docs/performance.md). */
        .tx_packet_size = S_TX_PACKET,
    };
    self->protocols[S_PROTO_ZLOOP] = *edge_zloop_protocol(); /* the SUB, its monitor, history */
    self->protocols[S_PROTO_SIGNAL] = *edge_ops_signal_protocol(); /* the signalfd */
    /* protocols[S_PROTO__COUNT] stays zeroed: the list terminator. */

    /* Connections without a subprotocol get the ws protocol ("default" vhost option). */
    self->pvo_default = (struct lws_protocol_vhost_options){.name = "default", .value = ""};
    self->pvo_ws = (struct lws_protocol_vhost_options){
        .options = &self->pvo_default,
        .name = S_WS_PROTOCOL,
        .value = "",
    };

    /* lws pings a connection silent for secs_since_valid_ping and hangs up after
     * secs_since_valid_hangup without proof of life (a pong or other traffic). */
    self->retry = (lws_retry_bo_t){
        .secs_since_valid_ping = (uint16_t)conf->ping_interval,
        .secs_since_valid_hangup = (uint16_t)(conf->ping_interval + conf->ping_timeout),
    };
}

/* True when text is an IPv4 address literal. */
static bool s_is_ipv4(const char *text)
{
    struct in_addr a;
    return inet_pton(AF_INET, text, &a) == 1;
}

edge_server_t *edge_server_new(const edge_config_t *conf, base_log_t *log, int signal_fd)
{
    edge_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (signal_fd >= 0)
            close(signal_fd);
        return NULL;
    }
    self->conf = conf;
    self->log = log;
    self->signal_fd = signal_fd;
    char why[400];
    self->auth = edge_auth_new(conf, why, sizeof why);
    if (!self->auth) {
        base_log(log, WEFT_LOG_ERROR, "auth: %s", why);
        goto err;
    }
    edge_zmq_opts_t zopts = {
        .endpoint = conf->router,
        .rcvhwm = conf->sub_rcvhwm,
        .sndhwm = conf->sub_sndhwm,
        .on_msg = s_on_router_msg,
        .on_connect = s_on_router_connect,
        .on_pass_end = s_on_router_pass_end,
        .holdoff = s_router_holdoff,
        .arg = self,
        .log = log,
        .curve_server = conf->router_public_key,
        .curve_cert = conf->curve_secret_key,
    };
    self->zmq = edge_zmq_new(&zopts);
    if (!self->zmq)
        goto err;
    edge_hist_opts_t hopts = {
        .endpoint = conf->history,
        .zctx = edge_zmq_context(self->zmq),
        .timeout_ms = conf->history_timeout_ms,
        .retries = conf->history_retries,
        .inflight = conf->history_inflight,
        /* A page must fit easily in a client's queue (a quarter of it), whatever the router's
         * default page size: a resume delivers a whole page at once. */
        .page = (uint32_t)(conf->max_queue_frames / 4 < 500 ? conf->max_queue_frames / 4 : 500),
        .stats = &self->stats.hist,
        .log = log,
        .curve = edge_zmq_curve(self->zmq),
    };
    self->hist = edge_hist_new(&hopts);
    if (!self->hist)
        goto err;
    edge_writer_opts_t wopts = {
        .ops = &s_transport,
        .arg = self,
        .max_queue_bytes = conf->max_queue_bytes,
        .max_queue_frames = (size_t)conf->max_queue_frames,
        .pace_above = conf->pace_above,
        .pace_interval_ms = conf->pace_interval_ms,
        .hold_reads = conf->pace_hold_reads,
        .stats = &self->stats,
        .log = log,
    };
    self->writer = edge_writer_new(&wopts);
    edge_pipeline_opts_t popts = {
        .writer = self->writer,
        .history = {.get = edge_hist_get, .cancel = edge_hist_cancel, .hist = self->hist},
        .classes = conf->classes,
        .max_batch = (size_t)conf->max_batch,
        .max_batch_bytes = conf->max_batch_bytes,
        .max_held = (size_t)conf->max_pending_events,
        .on_topic = s_on_topic,
        .arm = s_batch_arm,
        .arg = self,
        .stats = &self->stats,
        .log = log,
    };
    if (!self->writer) {
        base_log(log, WEFT_LOG_ERROR, "out of memory");
        goto err;
    }
    self->pipe = edge_pipeline_new(&popts);
    if (!self->pipe)
        goto err; /* logged */
    edge_session_opts_t sopts = {
        .conf = conf,
        .log = log,
        .writer = self->writer,
        .pipe = self->pipe,
        .auth = self->auth,
        .stats = &self->stats,
        .arm = s_arm_conn,
    };
    self->session = edge_session_new(&sopts);
    if (!self->session) {
        base_log(log, WEFT_LOG_ERROR, "out of memory");
        goto err;
    }
    edge_upgrade_opts_t uopts = {
        .allowed_origins = conf->allowed_origins,
        .allow_missing_origin = conf->allow_missing_origin,
        .tls_cert = conf->tls_cert,
        .tls_key = conf->tls_key,
        .tls_chain = conf->tls_chain,
        .stats = &self->stats,
        .limit = &self->refuse_limit,
        .log = log,
        .max_conns_per_ip = conf->max_conns_per_ip,
        .conns_per_ip_exempt = conf->conns_per_ip_exempt,
        .header_timeout = conf->header_timeout,
        .tokens = edge_auth_tokens(self->auth),
        .ws_protocol = S_WS_PROTOCOL,
    };
    self->upgrade = edge_upgrade_new(&uopts, why, sizeof why);
    if (!self->upgrade) {
        base_log(log, WEFT_LOG_ERROR, "allowed_origins: %s", why);
        goto err;
    }

    edge_ops_opts_t oopts = {
        .www = conf->www,
        .upgrade = self->upgrade,
        .zmq = self->zmq,
        .hist = self->hist,
        .stats = &self->stats,
        .stopping = &self->stopping,
        .drain_grace = conf->drain_grace,
        .drain_seconds = conf->drain_seconds,
        .close = s_drain_close,
        .stop = s_drain_stop,
        .reload = s_reload,
        .arg = self,
        .log = log,
    };
    if (!(self->ops = edge_ops_new(&oopts)))
        goto err;
    s_setup_tables(self);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = conf->port;
    info.protocols = self->protocols;
    info.mounts = edge_http_mounts(edge_ops_http(self->ops));
    info.pvo = &self->pvo_ws;
    info.retry_and_idle_policy = &self->retry;
    info.vhost_name = "weft-edge";
    info.user = self;
    /* UTF-8 validation, the header timeout and size, TLS (edge_upgrade.h). */
    edge_upgrade_info(self->upgrade, &info);
    /* lws's own loop poll()s every descriptor at each wake-up: O(connections) per event. With
     * libuv (epoll) a wake-up costs what is ready. The loop is ours ("foreign" to lws) so that
     * edge_server_run() can end it between iterations. */
    void *loops[1] = {NULL};
    if (strcmp(conf->event_loop, "uv") == 0) {
        self->uv = malloc(sizeof *self->uv);
        if (!self->uv || uv_loop_init(self->uv) != 0) {
            free(self->uv);
            self->uv = NULL;
            base_log(log, WEFT_LOG_ERROR, "cannot create the libuv loop");
            goto err;
        }
        loops[0] = self->uv;
        info.foreign_loops = loops;
        info.options |= LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    }
    /* "0.0.0.0" means every interface: no iface, and lws listens dual-stack. Another IPv4
     * literal binds that address over IPv4 only. */
    if (strcmp(conf->bind, "0.0.0.0") != 0 && conf->bind[0] != '\0') {
        info.iface = conf->bind;
        if (s_is_ipv4(conf->bind))
            info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    }
    self->ctx = lws_create_context(&info);
    if (!self->ctx) {
        base_log(log, WEFT_LOG_ERROR, "cannot start the HTTP/WebSocket server on %s port %d",
                 conf->bind, conf->port);
        goto err;
    }
    self->vhost = lws_get_vhost_by_name(self->ctx, "weft-edge");
    if (!self->vhost) {
        base_log(log, WEFT_LOG_ERROR, "lws created no vhost");
        goto err;
    }
    self->port = lws_get_vhost_listen_port(self->vhost);
    if (edge_zmq_attach(self->zmq, self->vhost) < 0 ||
        edge_hist_attach(self->hist, self->vhost) < 0)
        goto err;
    int sfd = self->signal_fd;
    self->signal_fd = -1; /* edge_ops_attach() owns it now, even when it fails */
    if (edge_ops_attach(self->ops, self->ctx, self->vhost, sfd) < 0)
        goto err;
    if (conf->stats_interval > 0)
        lws_sul_schedule(self->ctx, 0, &self->stats_sul, s_stats_cb,
                         (lws_usec_t)conf->stats_interval * LWS_US_PER_SEC);
    if (edge_upgrade_tls(self->upgrade)) {
        char what[512];
        edge_tls_describe(conf->tls_cert, what, sizeof what);
        base_log(log, WEFT_LOG_NOTICE, "tls: serving https/wss with %s", what);
    }
    if (!edge_auth_tokens(self->auth) && strcmp(conf->auth, "jwt") == 0)
        base_log(log, WEFT_LOG_WARN,
                 "DEV MODE: auth = jwt but no key is configured: serving ANONYMOUS clients the "
                 "rooms '%s' (never run like this in production)",
                 conf->anonymous_rooms);
    else if (!edge_auth_tokens(self->auth))
        base_log(log, WEFT_LOG_NOTICE, "auth = none: anonymous clients may read '%s'",
                 conf->anonymous_rooms);
    if (edge_upgrade_origins_empty(self->upgrade))
        base_log(log, WEFT_LOG_NOTICE,
                 "allowed_origins is empty: WebSockets from any web page are accepted (set it in "
                 "production)");
    base_log(log, WEFT_LOG_NOTICE, "weft-edge %s ready: port=%d router=%s history=%s id=%s",
             WEFT_VERSION_STRING, self->port, conf->router, conf->history, conf->edge_id);
    return self;
err:
    edge_server_destroy(&self);
    return NULL;
}

int edge_server_run(edge_server_t *self)
{
    if (self->uv) {
        /* One iteration at a time: whatever set stopped ran inside the last one. */
        while (!self->stopped)
            uv_run(self->uv, UV_RUN_ONCE);
        return 0;
    }
    while (!self->stopped) {
        if (lws_service(self->ctx, 0) < 0) {
            base_log(self->log, WEFT_LOG_ERROR, "lws service loop failed");
            return -1;
        }
    }
    return 0;
}

void edge_server_stop(edge_server_t *self)
{
    if (self->stopping) {
        self->stopped = true; /* asked twice: do not wait for the close handshakes */
        return;
    }
    self->stopping = true;
    edge_writer_stop(self->writer);
    base_log(self->log, WEFT_LOG_NOTICE, "stopping: closing %llu connections",
             (unsigned long long)self->stats.conns_current);
    if (self->stats.conns_current == 0) {
        self->stopped = true;
        return;
    }
    lws_callback_on_writable_all_protocol(self->ctx, &self->protocols[S_PROTO_WS]);
    lws_sul_schedule(self->ctx, 0, &self->stop_sul, s_stop_deadline_cb, S_STOP_GRACE_US);
}

int edge_server_port(const edge_server_t *self)
{
    return self->port;
}

const edge_stats_t *edge_server_stats(edge_server_t *self)
{
    if (self->zmq)
        self->stats.router_disconnects = edge_zmq_disconnects(self->zmq);
    return &self->stats;
}

void edge_server_destroy(edge_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_server_t *self = *self_p;
    if (self->ctx) {
        lws_sul_cancel(&self->stats_sul);
        lws_sul_cancel(&self->stop_sul);
        edge_ops_detach(self->ops);
        lws_sul_cancel(&self->batch_sul);
        lws_sul_cancel(&self->flush_sul);
        /* Detach first: closing connections below unsubscribes and cancels history requests,
         * which must schedule nothing on a context being destroyed. */
        edge_zmq_detach(self->zmq);
        edge_hist_detach(self->hist);
        lws_context_destroy(self->ctx);
        if (self->uv) {
            /* In a foreign libuv loop lws closes its handles asynchronously: let the loop
             * finish them, then a second call frees the context (lws 4.1 does not, for a loop
             * it does not own, when the last handle closes). */
            while (uv_loop_alive(self->uv))
                uv_run(self->uv, UV_RUN_ONCE);
            lws_context_destroy(self->ctx);
        }
        self->ctx = NULL;
    }
    if (self->uv) {
        while (uv_loop_close(self->uv) == UV_EBUSY)
            uv_run(self->uv, UV_RUN_ONCE);
        free(self->uv);
        self->uv = NULL;
    }
    /* The pipeline before history (its streams cancel requests), history before the SUB (its
     * DEALER lives in the SUB's ZeroMQ context, which edge_zmq_destroy terminates). */
    edge_session_destroy(&self->session);
    edge_pipeline_destroy(&self->pipe);
    edge_writer_destroy(&self->writer);
    edge_hist_destroy(&self->hist);
    edge_zmq_destroy(&self->zmq);
    edge_ops_destroy(&self->ops);
    edge_upgrade_destroy(&self->upgrade);
    edge_auth_id_clear(&self->pending_id);
    edge_auth_destroy(&self->auth);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}
