/*
 * edge_server.c: the lws context, the client protocol handler and event delivery.
 *
 * Flow of an event: edge_zmq hands a router message to s_on_router_msg(), which validates the
 * envelope, encodes the frame once and passes it to the room's stream (edge_stream.h, kept in
 * the room's edge_rooms data slot). The stream delivers it in order, or holds it while a seq
 * jump is repaired from history (edge_hist.h), or announces a new epoch first. Each delivery
 * goes through the room's batch stage (edge_batch.h): an immediate or critical event is emitted
 * at once (after whatever batch was pending) to every listener; an event of a batching class is
 * held, and only the listeners that asked for unbatched delivery get its event frame now; the
 * others get the batch frame when it is flushed (window, size, or a later immediate event). Each
 * delivery visits the listeners and each listener's queue takes a reference to the one shared
 * frame. The frames are written when the current loop pass ends (s_flush_cb), every frame a
 * client has queued in one write; a client whose socket did not take everything is written to
 * from LWS_CALLBACK_SERVER_WRITEABLE instead, until its queue is empty (see s_send()).
 *
 * Event loop: libuv (event_loop = uv, the default) or lws's poll() loop. libuv's epoll makes a
 * wake-up cost what is ready; poll() walks every descriptor, which at tens of thousands of
 * idle connections costs more than the events themselves.
 *
 * Timers: one lws_sul for every pending batch of the edge (the batcher keeps the deadlines in a
 * heap); it is armed for the earliest deadline whenever that gets earlier.
 *
 * Client limits: each connection has a token bucket (edge_bucket.h) checked before a message is
 * even parsed, a cap on its subscriptions, and the edge a cap on connections (HTTP 503).
 *
 * Resume: a subscribe with "since" joins the room (so the SUB subscription goes out first) and
 * starts a member stream (an s_sync_t on the connection) at the client's cursor. While the
 * client has one for a room, the room's deliveries to it go through that stream, which holds
 * them until history has filled the gap, drops what the client already has, and sends the
 * "subscribed" answer. Once its position meets the room stream's, the member stream is dropped
 * and the client is an ordinary member again (and, in a room with a batch pending, not before
 * that batch went out: the member stream already gave it those events one by one, so it must
 * not get the batch too). History callbacks reach streams only through
 * handles that are cancelled when a stream goes away (a leave, a close), so a reply never
 * touches a closed connection.
 *
 * Why sharing one buffer between connections is safe: lws_write() writes the WebSocket header
 * into the LWS_PRE headroom, in place. A server never masks, so every connection writes the
 * same header bytes there, and lws copies whatever the socket did not take into the wsi's own
 * buffer before lws_write() returns, so nothing keeps pointing into the shared frame. (With
 * permessage-deflate the payload would be rewritten per connection; no extension is enabled.)
 */
#include "edge_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <uv.h>

#include "edge_batch.h"
#include "edge_classes.h"
#include "edge_frame.h"
#include "edge_hist.h"
#include "edge_bucket.h"
#include "edge_outq.h"
#include "edge_pace.h"
#include "edge_proto.h"
#include "edge_rooms.h"
#include "edge_stream.h"
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
#define S_GATHER_BYTES 65536                 /* bytes of frames one write may carry */
#define S_LWS_WRITE_CLOSE 4 /* lws's LWS_WRITE_CLOSE, which lws-write.h leaves out of the enum */

/* Indexes in the protocol list. */
enum { S_PROTO_HTTP = 0, S_PROTO_WS, S_PROTO_ZLOOP, S_PROTO_SIGNAL, S_PROTO__COUNT };

typedef struct s_sync s_sync_t;

/* One WebSocket connection: the lws per-session data of the "weft" protocol, zeroed by lws.
 * Everything here is freed in LWS_CALLBACK_CLOSED. */
typedef struct edge_conn {
    struct lws *wsi;       /* the connection */
    edge_member_t *member; /* its rooms and patterns */
    s_sync_t *syncs;       /* its rooms still merging a resume (usually none) */
    unsigned deferred;     /* of those, how many wait for the queue to drain to ask history */
    edge_outq_t *outq;     /* frames waiting for LWS_CALLBACK_SERVER_WRITEABLE */
    edge_bucket_t bucket;  /* rate limit of the client's messages */
    unsigned char *rx;     /* reassembly buffer for fragmented messages */
    size_t rx_len;         /* bytes of the current message in rx */
    size_t rx_cap;         /* bytes allocated for rx */
    bool open;             /* ESTABLISHED ran and CLOSED has not */
    bool closing;          /* a close is pending: write nothing else, deliver nothing */
    bool close_sent;       /* the close frame went out (lws now awaits the peer's echo) */
    bool direct;           /* a WRITEABLE ran: frames may be written without one (s_send) */
    bool dirty;            /* on the server's flush list */
    struct edge_conn *dirty_prev; /* previous on that list */
    struct edge_conn *dirty_next; /* next on that list */
    edge_close_t close_kind;      /* which close, when closing */
    const char *close_reason;     /* its reason text (static), when closing */
} edge_conn_t;

/* A client's resume of one room: a member stream, kept until its position meets the room's. */
struct s_sync {
    s_sync_t *next;                /* the connection's other syncs */
    s_sync_t *all_prev, *all_next; /* every sync of the server (probed on reconnect) */
    struct edge_server *server;    /* the server */
    edge_conn_t *conn;             /* the client */
    edge_stream_t *stream;         /* the member stream */
    edge_hist_wait_t *wait;        /* its outstanding history request, or NULL */
    bool deferred;                 /* its request waits until the client's queue has drained */
    uint64_t def_epoch;            /* the deferred request's epoch */
    uint64_t def_after;            /* and after_seq */
    void *id;                      /* the subscribe's "id", echoed in the answer; owned */
    size_t len;                    /* bytes in room */
    char room[WIRE_ROOM_MAX + 1];  /* the room, NUL-terminated */
};

/* A room's stream state, in the room's edge_rooms data slot. */
typedef struct s_room {
    struct edge_server *server;   /* the server */
    edge_stream_t *stream;        /* the room stream */
    edge_batch_t *batch;          /* its batch stage, after the stream */
    size_t nsyncs;                /* clients of the room still merging a resume */
    edge_hist_wait_t *wait;       /* its outstanding history request, or NULL */
    size_t len;                   /* bytes in room */
    char room[WIRE_ROOM_MAX + 1]; /* the room, NUL-terminated */
} s_room_t;

struct edge_server {
    const edge_config_t *conf;                          /* borrowed */
    base_log_t *log;                                    /* borrowed */
    struct lws_context *ctx;                            /* the lws context (one service thread) */
    uv_loop_t *uv;                                      /* libuv loop lws runs in, or NULL: poll */
    struct lws_vhost *vhost;                            /* its only vhost */
    struct lws_protocols protocols[S_PROTO__COUNT + 1]; /* http, ws, zloop, signalfd, end */
    struct lws_http_mount mount;                        /* static files at / */
    struct lws_protocol_vhost_options pvo_ws;           /* options of the ws protocol ... */
    struct lws_protocol_vhost_options pvo_default; /* ... "default": used without subprotocol */
    lws_retry_bo_t retry;                          /* idle ping / hang-up policy */
    edge_rooms_t *rooms;                           /* who listens to what */
    edge_zmq_t *zmq;                               /* the router feed */
    edge_hist_t *hist;                             /* the router's history service */
    s_sync_t *syncs;                               /* every resume still merging */
    edge_classes_t *classes;                       /* delivery classes (conf->classes) */
    edge_batcher_t *batcher;                       /* pending batches of every room */
    lws_sorted_usec_list_t batch_sul;              /* fires at the earliest batch deadline */
    struct edge_conn *dirty;                       /* connections to flush at the pass's end */
    lws_sorted_usec_list_t flush_sul;              /* runs the next write round */
    bool flush_armed;                              /* flush_sul is scheduled */
    edge_pace_t pace;                              /* when the next write round may run */
    bool urgent;                                   /* a critical event waits: no pacing pause */
    unsigned char *gather;                         /* LWS_PRE + S_GATHER_BYTES: one write */
    int64_t batch_at;                              /* that deadline, while batch_armed */
    bool batch_armed;                              /* batch_sul is scheduled */
    edge_frame_t *welcome;                         /* the welcome frame, shared by every client */
    edge_frame_t *rate_limited;                    /* the rate_limited error, shared likewise */
    edge_stats_t stats;                            /* counters */
    lws_sorted_usec_list_t stats_sul;              /* periodic summary */
    lws_sorted_usec_list_t stop_sul;               /* deadline of a graceful stop */
    int signal_fd;                                 /* signalfd until lws adopts it, else -1 */
    int port;                                      /* the port actually listened on */
    bool stopping;                                 /* a graceful stop is under way */
    bool stopped;                                  /* the loop must end */
    base_limit_t bad_event_limit;              /* logs about bad router messages */
    base_limit_t gap_limit;                    /* logs about broken room streams */
    base_limit_t refuse_limit;                 /* logs about refused upgrades */
    base_limit_t client_limit;                 /* logs about misbehaving clients */
};

/* The server that owns a wsi (the context's user pointer). */
static edge_server_t *s_server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- outbound path ---------------------------------------------------------------------- */

/* Marks conn for closing with kind and asks for the writable callback that sends the close.
 * A slow consumer may never become writable, so lws is also told to drop it after a grace. */
static void s_close_later(edge_server_t *self, edge_conn_t *conn, edge_close_t kind,
                          const char *reason)
{
    if (conn->closing)
        return;
    conn->closing = true;
    conn->close_kind = kind;
    conn->close_reason = reason;
    if (kind == EDGE_CLOSE_SLOW)
        self->stats.slow_closes++;
    /* Nothing queued will be written any more: give the memory back now. */
    edge_outq_clear(conn->outq);
    lws_callback_on_writable(conn->wsi);
    lws_set_timeout(conn->wsi, PENDING_TIMEOUT_USER_OK, S_CLOSE_GRACE_S);
}

/* Writes one frame to conn. Returns 0, or -1 when the connection is broken (logged). */
static int s_write_frame(edge_server_t *self, struct lws *wsi, edge_frame_t *frame)
{
    size_t len = edge_frame_len(frame);
    int n = lws_write(wsi, edge_frame_data(frame), len, LWS_WRITE_TEXT);
    self->stats.writes++;
    if (n < 0 || (size_t)n < len) {
        base_log(self->log, WEFT_LOG_DEBUG, "ws: write failed (%d of %zu bytes); closing", n, len);
        return -1;
    }
    self->stats.frames_out++;
    self->stats.bytes_out += len;
    return 0;
}

/* Writes as many of conn's queued frames as fit S_GATHER_BYTES, as complete WebSocket frames
 * back to back in one lws_write() (one send()). Returns 0, or -1 when the connection is broken.
 *
 * Why: a send() on a loopback or LAN socket costs several microseconds whatever its size, far
 * more than building the frames, so a client that has fallen behind gets its backlog in one
 * write instead of one per event. The bytes on the wire are the same frames a write per frame
 * would produce (a server never masks), so clients see no difference. lws sends LWS_WRITE_RAW
 * as it is, and keeps what the socket did not take, like any write. */
static int s_flush_conn(edge_server_t *self, edge_conn_t *conn, struct lws *wsi)
{
    unsigned char *out = self->gather + LWS_PRE;
    size_t used = 0;
    edge_frame_t *frame;
    if (edge_outq_frames(conn->outq) == 1) {
        /* One frame (the usual case below pacing, and with batching): from its own headroom,
         * without copying it into the gather buffer first. */
        frame = edge_outq_peek(conn->outq);
        if (s_write_frame(self, wsi, frame) < 0)
            return -1;
        edge_outq_pop(conn->outq);
        return 0;
    }
    while ((frame = edge_outq_peek(conn->outq)) != NULL) {
        size_t len = edge_frame_len(frame);
        size_t hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
        if (used + hdr + len > S_GATHER_BYTES) {
            if (used)
                break;
            /* Too big to gather: on its own, from its own headroom. */
            if (s_write_frame(self, wsi, frame) < 0)
                return -1;
            edge_outq_pop(conn->outq);
            return 0;
        }
        out[used] = 0x81; /* FIN, text */
        if (hdr == 2) {
            out[used + 1] = (unsigned char)len;
        } else if (hdr == 4) {
            out[used + 1] = 126;
            out[used + 2] = (unsigned char)(len >> 8);
            out[used + 3] = (unsigned char)len;
        } else {
            out[used + 1] = 127;
            for (int b = 0; b < 8; b++)
                out[used + 2 + b] = (unsigned char)((uint64_t)len >> (56 - 8 * b));
        }
        memcpy(out + used + hdr, edge_frame_data(frame), len);
        used += hdr + len;
        self->stats.frames_out++;
        self->stats.bytes_out += len;
        edge_outq_pop(conn->outq);
    }
    if (!used)
        return 0;
    int n = lws_write(wsi, out, used, LWS_WRITE_RAW);
    self->stats.writes++;
    if (n < 0 || (size_t)n < used) {
        base_log(self->log, WEFT_LOG_DEBUG, "ws: write failed (%d of %zu bytes); closing", n, used);
        return -1;
    }
    return 0;
}

static void s_flush_cb(lws_sorted_usec_list_t *sul);

/* Schedules the next write round: at the end of the current pass, or when pacing allows. */
static void s_arm_flush(edge_server_t *self)
{
    if (self->flush_armed || !self->ctx)
        return;
    int64_t wait = self->urgent ? 0 : edge_pace_wait(&self->pace, (int64_t)lws_now_usecs());
    lws_sul_schedule(self->ctx, 0, &self->flush_sul, s_flush_cb, wait);
    self->flush_armed = true;
}

/* Puts conn on the flush list (its queued frames go out in the next write round). */
static void s_mark_dirty(edge_server_t *self, edge_conn_t *conn)
{
    if (conn->dirty)
        return;
    conn->dirty = true;
    conn->dirty_prev = NULL;
    conn->dirty_next = self->dirty;
    if (self->dirty)
        self->dirty->dirty_prev = conn;
    self->dirty = conn;
    s_arm_flush(self);
}

/* Takes conn off the flush list. */
static void s_unmark_dirty(edge_server_t *self, edge_conn_t *conn)
{
    if (!conn->dirty)
        return;
    if (conn->dirty_prev)
        conn->dirty_prev->dirty_next = conn->dirty_next;
    else
        self->dirty = conn->dirty_next;
    if (conn->dirty_next)
        conn->dirty_next->dirty_prev = conn->dirty_prev;
    conn->dirty = false;
    conn->dirty_prev = conn->dirty_next = NULL;
}

static bool s_conn_busy(const edge_server_t *self, const edge_conn_t *conn);
static void s_sync_undefer(edge_conn_t *conn);

/* A write round: each dirty connection's frames in one write, leaving the rest (if any) to
 * WRITEABLE; then edge_pace decides when the next round may run (edge_pace.h). */
static void s_flush_round(edge_server_t *self)
{
    if (self->flush_armed) {
        lws_sul_cancel(&self->flush_sul);
        self->flush_armed = false;
    }
    self->urgent = false;
    int64_t start = (int64_t)lws_now_usecs();
    uint64_t frames0 = self->stats.frames_out;
    uint64_t conns = 0;
    edge_conn_t *conn;
    while ((conn = self->dirty) != NULL) {
        s_unmark_dirty(self, conn);
        if (!conn->open || conn->closing || !edge_outq_frames(conn->outq))
            continue;
        if (self->stopping || lws_partial_buffered(conn->wsi)) {
            lws_callback_on_writable(conn->wsi);
            continue;
        }
        conns++;
        if (s_flush_conn(self, conn, conn->wsi) < 0) {
            /* Broken: nothing more can be written, not even a close frame. */
            edge_outq_clear(conn->outq);
            conn->closing = true;
            conn->close_sent = true;
            lws_set_timeout(conn->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            continue;
        }
        if (conn->deferred && !s_conn_busy(self, conn))
            s_sync_undefer(conn);
        if (edge_outq_frames(conn->outq))
            lws_callback_on_writable(conn->wsi);
    }
    if (!conns)
        return;
    self->stats.write_rounds++;
    if (edge_pace_round(&self->pace, start, self->stats.frames_out - frames0, conns))
        self->stats.paced_rounds++;
}

/* Timer: the pass that queued frames is over, or a pacing pause has passed. */
static void s_flush_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, flush_sul);
    self->flush_armed = false;
    s_flush_round(self);
}

/* End of a pass over the router feed: write what it queued now unless pacing says wait (then
 * flush_sul, armed when the first connection became dirty, runs the round). Writing here and
 * not from the zero-delay timer alone matters under load: a pass that ran out of budget
 * continues from its own timer, and those passes could follow one another before the write. */
/* edge_zmq holdoff: while write rounds are paced, the router feed is read only when the next
 * round is due, so an edge wakes once per round instead of once per event (pace_hold_reads).
 * Why: with several edges on one host each of them woke for every event, and those wake-ups
 * cost as much as their sends (four edges: +29 % CPU per delivery over one; with this, +12 %).
 * The price: while paced, a critical event waits for the round like any other, at most
 * pace_interval_ms. */
static int64_t s_router_holdoff(void *arg)
{
    edge_server_t *self = arg;
    if (self->stopping || !self->conf->pace_hold_reads || !self->pace.paced)
        return 0;
    return edge_pace_wait(&self->pace, (int64_t)lws_now_usecs());
}

static void s_on_router_pass_end(void *arg)
{
    edge_server_t *self = arg;
    if (self->dirty && !self->stopping &&
        edge_pace_due(&self->pace, (int64_t)lws_now_usecs(), self->urgent))
        s_flush_round(self);
}

/* Queues a frame for conn (taking a reference), applying the queue bounds, and arranges for
 * it to be written: at the end of the current loop pass for a connection whose socket took
 * everything so far (s_flush_cb), else from WRITEABLE.
 *
 * Why not always WRITEABLE: asking lws for it costs two epoll_ctl() calls (POLLOUT on, then
 * off), a wake-up and a callback per frame, several times the send() itself. Writing outside
 * WRITEABLE is safe for a plain WebSocket over HTTP/1 as long as nothing of an earlier write is
 * still buffered by lws (lws_partial_buffered()); when a socket takes only part of a write,
 * lws keeps the rest and flushes it before the next WRITEABLE, and this connection's frames
 * go through WRITEABLE until its queue is empty again. The first frame (the welcome) always
 * goes through WRITEABLE, so the handshake response is out before anything else. */
static void s_send(edge_server_t *self, edge_conn_t *conn, edge_frame_t *frame)
{
    if (conn->closing || !conn->outq)
        return;
    int rc = edge_outq_push(conn->outq, frame);
    if (rc == EDGE_OUTQ_OK) {
        /* Only the first frame needs a request: WRITEABLE asks again while frames remain. */
        if (edge_outq_frames(conn->outq) == 1) {
            if (conn->direct && !self->stopping)
                s_mark_dirty(self, conn);
            else
                lws_callback_on_writable(conn->wsi);
        }
        return;
    }
    if (rc == EDGE_OUTQ_FULL) {
        base_log_limited(self->log, &self->client_limit, WEFT_LOG_INFO,
                         "closing a slow consumer: %zu frames, %zu bytes queued",
                         edge_outq_frames(conn->outq), edge_outq_bytes(conn->outq));
        s_close_later(self, conn, EDGE_CLOSE_SLOW, "slow consumer");
    } else {
        s_close_later(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
    }
}

/* Writes the close frame and waits for the client's echo (WS_PEER_INITIATED_CLOSE then ends
 * the connection), at most S_CLOSE_GRACE_S. Called from WRITEABLE, which then returns 0.
 * Why not lws_close_reason() and -1: lws 4.1 built with _DEBUG (as Debian ships it) closes a
 * libuv wsi a second time right after a callback returned -1 ("uv repeat test"), and that
 * second close kills the socket before the close frame lws_close_reason() prepared is written.
 * Waiting for the echo also reads what the client still had in flight (the rest of a message
 * too big), so the close ends with a FIN, not a reset that could destroy the close frame. */
static int s_close_now(edge_server_t *self, edge_conn_t *conn, struct lws *wsi, edge_close_t kind,
                       const char *reason)
{
    conn->closing = true;
    conn->close_sent = true;
    self->stats.closes[kind]++;
    unsigned char buf[LWS_PRE + 125];
    unsigned code = edge_close_code(kind);
    size_t len = strlen(reason);
    if (len > 123)
        len = 123; /* a control frame carries at most 125 bytes */
    buf[LWS_PRE] = (unsigned char)(code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    memcpy(buf + LWS_PRE + 2, reason, len);
    if (lws_write(wsi, buf + LWS_PRE, len + 2, (enum lws_write_protocol)S_LWS_WRITE_CLOSE) < 0)
        return -1;
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, S_CLOSE_GRACE_S);
    return 0;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: a pending close, or one frame. */
static int s_on_writeable(edge_server_t *self, edge_conn_t *conn, struct lws *wsi)
{
    if (!conn->open)
        return 0;
    if (self->stopping && !conn->closing) {
        conn->closing = true;
        conn->close_kind = EDGE_CLOSE_GOING_AWAY;
        conn->close_reason = "edge shutting down";
    }
    if (conn->close_sent)
        return 0; /* waiting for the client's echo of the close */
    if (conn->closing)
        return s_close_now(self, conn, wsi, conn->close_kind, conn->close_reason);
    conn->direct = true;
    s_unmark_dirty(self, conn); /* written here, not at the end of the pass */
    if (s_flush_conn(self, conn, wsi) < 0)
        return -1;
    if (conn->deferred && !s_conn_busy(self, conn))
        s_sync_undefer(conn);
    if (edge_outq_frames(conn->outq))
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- resumes (member streams) ------------------------------------------------------------- */

/* The connection's sync for a room, or NULL. */
static s_sync_t *s_sync_find(const edge_conn_t *conn, const char *room, size_t len)
{
    for (s_sync_t *y = conn->syncs; y; y = y->next)
        if (y->len == len && memcmp(y->room, room, len) == 0)
            return y;
    return NULL;
}

static s_room_t *s_room_new(edge_server_t *self, const char *room, size_t len);

/* The stream state of a room someone listens to, created when missing (NULL when nobody
 * listens, or on OOM). */
static s_room_t *s_room_of(edge_server_t *self, const char *room, size_t len)
{
    void **slot = edge_rooms_data(self->rooms, room, len);
    if (!slot)
        return NULL;
    if (!*slot)
        *slot = s_room_new(self, room, len);
    return *slot;
}

/* Unlinks a sync from its connection and frees it, cancelling its history request. */
static void s_sync_destroy(s_sync_t *sync)
{
    edge_server_t *self = sync->server;
    void **slot = edge_rooms_data(self->rooms, sync->room, sync->len);
    s_room_t *r = slot ? *slot : NULL;
    if (r && r->nsyncs)
        r->nsyncs--;
    for (s_sync_t **pp = &sync->conn->syncs; *pp; pp = &(*pp)->next) {
        if (*pp == sync) {
            *pp = sync->next;
            break;
        }
    }
    if (sync->all_prev)
        sync->all_prev->all_next = sync->all_next;
    else
        self->syncs = sync->all_next;
    if (sync->all_next)
        sync->all_next->all_prev = sync->all_prev;
    if (sync->deferred)
        sync->conn->deferred--;
    edge_hist_cancel(self->hist, &sync->wait);
    edge_stream_destroy(&sync->stream);
    edge_proto_id_free(&sync->id);
    self->stats.syncs--;
    free(sync);
}

/* Drops a sync whose client has caught up with the room: from then on the room's own stream
 * (in order, repaired, with notices) is exactly what the client needs. */
static void s_sync_check(s_sync_t *sync)
{
    uint64_t me, ml, re, rl;
    if (!edge_stream_settled(sync->stream) || !edge_stream_position(sync->stream, &me, &ml))
        return;
    void **slot = edge_rooms_data(sync->server->rooms, sync->room, sync->len);
    const s_room_t *room = slot ? *slot : NULL;
    if (!room || !edge_stream_position(room->stream, &re, &rl) || re != me || rl != ml)
        return;
    /* Events held in the room's batch were given to this client by its own stream. */
    if (room->batch && edge_batch_pending(room->batch))
        return;
    s_sync_destroy(sync);
}

/* Member stream: one event for this client. */
static void s_sync_deliver(void *arg, const edge_event_t *ev)
{
    s_sync_t *sync = arg;
    sync->server->stats.deliveries++;
    s_send(sync->server, sync->conn, ev->frame);
}

/* Member stream: the answer to the subscribe, or a notice for this client alone. */
static void s_sync_notify(void *arg, const edge_notice_t *n)
{
    s_sync_t *sync = arg;
    edge_server_t *self = sync->server;
    edge_frame_t *frame =
        edge_proto_subscribed(sync->room, sync->len, n->reply ? sync->id : NULL, n->recovered,
                              n->epoch, n->seq, edge_reason_name(n->reason));
    if (n->reply)
        edge_proto_id_free(&sync->id);
    else
        self->stats.notices++;
    base_log(self->log, WEFT_LOG_DEBUG, "resume of %s: %s recovered=%d epoch=%llu seq=%llu %s",
             sync->room, n->reply ? "answer" : "notice", n->recovered, (unsigned long long)n->epoch,
             (unsigned long long)n->seq, edge_reason_name(n->reason));
    if (!frame) {
        s_close_later(self, sync->conn, EDGE_CLOSE_INTERNAL, "out of memory");
        return;
    }
    s_send(self, sync->conn, frame);
    edge_frame_unref(&frame);
}

/* edge_hist callback of a member stream's request. */
static void s_sync_on_hist(void *arg, const edge_hist_result_t *result)
{
    s_sync_t *sync = arg;
    sync->wait = NULL;
    edge_stream_reply(sync->stream, result);
    s_sync_check(sync);
}

/* True while conn's queue is more than half full: a resume then waits before it asks history
 * for another page, so that replaying what a client missed never makes it a slow consumer. */
static bool s_conn_busy(const edge_server_t *self, const edge_conn_t *conn)
{
    return edge_outq_frames(conn->outq) * 2 > (size_t)self->conf->max_queue_frames ||
           edge_outq_bytes(conn->outq) * 2 > self->conf->max_queue_bytes;
}

/* Sends a member stream's request to history now. Returns 0, or -1 when it cannot. */
static int s_sync_send(s_sync_t *sync, uint64_t epoch, uint64_t after)
{
    edge_server_t *self = sync->server;
    edge_hist_cancel(self->hist, &sync->wait);
    sync->wait =
        edge_hist_get(self->hist, sync->room, sync->len, epoch, after, s_sync_on_hist, sync);
    return sync->wait ? 0 : -1;
}

/* Member stream: asks history, at once or when the client's queue has drained. */
static int s_sync_request(void *arg, uint64_t epoch, uint64_t after)
{
    s_sync_t *sync = arg;
    edge_server_t *self = sync->server;
    if (s_conn_busy(self, sync->conn)) {
        edge_hist_cancel(self->hist, &sync->wait);
        if (!sync->deferred)
            sync->conn->deferred++;
        sync->deferred = true;
        sync->def_epoch = epoch;
        sync->def_after = after;
        return 0; /* outstanding, as far as the stream knows */
    }
    return s_sync_send(sync, epoch, after);
}

/* The client's queue drained below half: sends the requests its resumes deferred. */
static void s_sync_undefer(edge_conn_t *conn)
{
    for (s_sync_t *y = conn->syncs, *next; y && conn->deferred; y = next) {
        next = y->next;
        if (!y->deferred)
            continue;
        y->deferred = false;
        conn->deferred--;
        if (s_sync_send(y, y->def_epoch, y->def_after) == 0)
            continue;
        /* Out of memory: the stream treats history as unavailable, as for a refused ask. */
        edge_hist_result_t r = {
            .req_epoch = y->def_epoch,
            .req_after = y->def_after,
            .st = {.status = EDGE_HIST_UNAVAILABLE},
        };
        edge_stream_reply(y->stream, &r);
        s_sync_check(y); /* may free y; next stays valid */
    }
}

/* Member stream: too many live events held while history was fetched. */
static void s_sync_overflow(void *arg)
{
    s_sync_t *sync = arg;
    edge_server_t *self = sync->server;
    base_log_limited(self->log, &self->client_limit, WEFT_LOG_INFO,
                     "closing a resuming client of %s: over %d live events held", sync->room,
                     self->conf->max_pending_events);
    s_close_later(self, sync->conn, EDGE_CLOSE_SLOW, "slow consumer");
}

static const edge_stream_ops_t s_sync_ops = {
    .deliver = s_sync_deliver,
    .notify = s_sync_notify,
    .request = s_sync_request,
    .overflow = s_sync_overflow,
};

/* Starts conn's resume of req's room (already joined) at req's cursor; the stream sends the
 * answer. Returns 0, or -1 when memory ran out. */
static int s_resume(edge_server_t *self, edge_conn_t *conn, edge_req_t *req)
{
    s_sync_t *old = s_sync_find(conn, req->room, req->room_len);
    if (old) /* a new cursor replaces a resume still under way */
        s_sync_destroy(old);
    s_sync_t *sync = calloc(1, sizeof *sync);
    if (!sync)
        return -1;
    sync->server = self;
    sync->conn = conn;
    memcpy(sync->room, req->room, req->room_len);
    sync->room[req->room_len] = '\0';
    sync->len = req->room_len;
    sync->stream = edge_stream_new(&s_sync_ops, sync, (size_t)self->conf->max_pending_events,
                                   &self->stats.resume);
    if (!sync->stream) {
        free(sync);
        return -1;
    }
    sync->id = edge_req_take_id(req);
    s_room_t *r = s_room_of(self, sync->room, sync->len);
    if (r)
        r->nsyncs++;
    sync->next = conn->syncs;
    conn->syncs = sync;
    sync->all_next = self->syncs;
    if (self->syncs)
        self->syncs->all_prev = sync;
    self->syncs = sync;
    self->stats.syncs++;
    edge_stream_resume(sync->stream, req->since_epoch, req->since_seq);
    s_sync_check(sync);
    return 0;
}

/* ---- room streams ------------------------------------------------------------------------- */

/* What a visit hands to the listeners of a room. */
typedef enum s_visit_kind {
    S_VISIT_HELD = 0, /* an event held in the room's batch: unbatched listeners get it now */
    S_VISIT_EVENT,    /* an event never held: every listener */
    S_VISIT_FLUSH,    /* a flushed batch (or a one-event flush): batched listeners */
    S_VISIT_NOTICE,   /* a "subscribed" notice: every listener */
    S_VISIT_POSITION  /* a seeded room's position: listeners not resuming (they have a cursor) */
} s_visit_kind_t;

/* What a visit needs to hand one event, batch or notice to the listeners of a room. */
typedef struct s_visit {
    edge_server_t *server;       /* the server */
    const s_room_t *room;        /* the room */
    s_visit_kind_t kind;         /* what is handed out */
    const edge_event_t *ev;      /* the event, for HELD and EVENT */
    const edge_notice_t *notice; /* the notice, for NOTICE */
    edge_frame_t *frame;         /* what listeners without a resume under way get */
} s_visit_t;

/* edge_rooms visit callback: one listener (once, however many of its subscriptions match).
 * flags tells whether any of those subscriptions asked for unbatched delivery. */
static void s_visit_one(void *arg, void *connp, unsigned flags)
{
    s_visit_t *v = arg;
    edge_conn_t *conn = connp;
    if (conn->closing)
        return;
    edge_server_t *self = v->server;
    bool unbatched = (flags & EDGE_ROOMS_F_UNBATCHED) != 0;
    s_sync_t *sync = conn->syncs ? s_sync_find(conn, v->room->room, v->room->len) : NULL;
    if (sync) {
        /* The client's own stream decides: it may hold, drop or announce instead. It saw every
         * event at delivery, one by one, so a flushed batch only lets it check whether it has
         * caught up with the room. */
        if (v->kind == S_VISIT_HELD || v->kind == S_VISIT_EVENT)
            edge_stream_live(sync->stream, v->ev);
        else if (v->kind == S_VISIT_NOTICE)
            edge_stream_jump(sync->stream, v->notice);
        else if (v->kind == S_VISIT_POSITION)
            return;
        s_sync_check(sync);
        return;
    }
    switch (v->kind) {
    case S_VISIT_HELD:
        if (!unbatched)
            return;
        self->stats.deliveries++;
        break;
    case S_VISIT_EVENT:
        self->stats.deliveries++;
        break;
    case S_VISIT_FLUSH:
        if (unbatched)
            return; /* it had every event of the batch one by one */
        self->stats.batch_deliveries++;
        break;
    case S_VISIT_NOTICE:
        self->stats.notices++;
        break;
    case S_VISIT_POSITION:
        break;
    }
    s_send(self, conn, v->frame);
}

/* Arms the batch timer when the earliest deadline is earlier than the one it waits for. */
static void s_batch_arm(edge_server_t *self);

/* Room stream: one event, in order: through the batch stage to the listeners. */
static void s_room_deliver(void *arg, const edge_event_t *ev)
{
    s_room_t *r = arg;
    edge_server_t *self = r->server;
    edge_frame_info_t info;
    if (edge_frame_info(ev->frame, &info) && info.critical)
        self->urgent = true; /* the next write round does not wait for pacing */
    if (!edge_batch_add(r->batch, ev, lws_now_usecs()))
        return; /* emitted to every listener already (s_room_emit) */
    /* Held: the listeners that take unbatched delivery, and clients still merging a resume
     * (they need every event in order), get it now; only they are walked. */
    s_visit_t v = {.server = self, .room = r, .kind = S_VISIT_HELD, .ev = ev, .frame = ev->frame};
    if (r->nsyncs)
        edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    else
        edge_rooms_visit_flagged(self->rooms, r->room, r->len, EDGE_ROOMS_F_UNBATCHED, s_visit_one,
                                 &v);
    s_batch_arm(self);
}

/* Batch stage: an event never held, or a flushed batch. */
static void s_room_emit(void *arg, const edge_batch_out_t *out)
{
    s_room_t *r = arg;
    edge_server_t *self = r->server;
    edge_event_t ev = {.epoch = out->epoch, .seq = out->to_seq, .frame = out->frame};
    s_visit_t v = {
        .server = self,
        .room = r,
        .kind = out->kind == EDGE_BATCH_EVENT ? S_VISIT_EVENT : S_VISIT_FLUSH,
        .ev = &ev,
        .frame = out->frame,
    };
    size_t n = edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    if (n == 0 && out->kind == EDGE_BATCH_EVENT)
        self->stats.events_unrouted++;
}

/* Room stream: the room's stream broke (new epoch, or a jump history could not fill). */
static void s_room_notify(void *arg, const edge_notice_t *n)
{
    s_room_t *r = arg;
    edge_server_t *self = r->server;
    base_log_limited(self->log, &self->gap_limit, WEFT_LOG_INFO,
                     "room %s: stream continues at epoch %llu seq %llu (%s)", r->room,
                     (unsigned long long)n->epoch, (unsigned long long)n->seq,
                     edge_reason_name(n->reason));
    /* What was batched before the break goes out before the notice. */
    edge_batch_flush(r->batch, EDGE_BATCH_WHY_FORCED);
    edge_frame_t *frame = edge_proto_subscribed(r->room, r->len, NULL, n->recovered, n->epoch,
                                                n->seq, edge_reason_name(n->reason));
    if (!frame) {
        base_log(self->log, WEFT_LOG_ERROR, "room %s: out of memory for a notice", r->room);
        return;
    }
    s_visit_t v = {.server = self, .room = r, .kind = S_VISIT_NOTICE, .notice = n, .frame = frame};
    edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    edge_frame_unref(&frame);
}

/* Room stream: a seed found the room's position; its listeners hear it before any event. */
static void s_room_positioned(void *arg, uint64_t epoch, uint64_t seq)
{
    s_room_t *r = arg;
    edge_server_t *self = r->server;
    edge_frame_t *frame = edge_proto_position(r->room, r->len, epoch, seq);
    if (!frame) {
        base_log(self->log, WEFT_LOG_ERROR, "room %s: out of memory for a position", r->room);
        return;
    }
    s_visit_t v = {.server = self, .room = r, .kind = S_VISIT_POSITION, .frame = frame};
    edge_rooms_visit(self->rooms, r->room, r->len, s_visit_one, &v);
    edge_frame_unref(&frame);
}

/* edge_hist callback of a room stream's request. */
static void s_room_on_hist(void *arg, const edge_hist_result_t *result)
{
    s_room_t *r = arg;
    r->wait = NULL;
    edge_stream_reply(r->stream, result);
}

/* Room stream: asks history. */
static int s_room_request(void *arg, uint64_t epoch, uint64_t after)
{
    s_room_t *r = arg;
    edge_server_t *self = r->server;
    base_log(self->log, WEFT_LOG_DEBUG, "room %s: asking history after epoch %llu seq %llu",
             r->room, (unsigned long long)epoch, (unsigned long long)after);
    edge_hist_cancel(self->hist, &r->wait);
    r->wait = edge_hist_get(self->hist, r->room, r->len, epoch, after, s_room_on_hist, r);
    return r->wait ? 0 : -1;
}

static const edge_stream_ops_t s_room_ops = {
    .deliver = s_room_deliver,
    .notify = s_room_notify,
    .request = s_room_request,
    .overflow = NULL, /* a room gives up the repair instead */
    .positioned = s_room_positioned,
};

/* Creates the stream state of a room. NULL on OOM. */
static s_room_t *s_room_new(edge_server_t *self, const char *room, size_t len)
{
    s_room_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->server = self;
    memcpy(r->room, room, len);
    r->room[len] = '\0';
    r->len = len;
    r->stream =
        edge_stream_new(&s_room_ops, r, (size_t)self->conf->max_pending_events, &self->stats.rooms);
    r->batch = edge_batch_new(self->batcher, room, len, s_room_emit, r);
    if (!r->stream || !r->batch) {
        edge_stream_destroy(&r->stream);
        edge_batch_destroy(&r->batch);
        free(r);
        return NULL;
    }
    self->stats.room_streams++;
    return r;
}

/* edge_rooms free callback: the room lost its last listener (or the index is destroyed). */
static void s_room_free(void *arg, void *data)
{
    edge_server_t *self = arg;
    s_room_t *r = data;
    edge_hist_cancel(self->hist, &r->wait);
    edge_stream_destroy(&r->stream);
    edge_batch_destroy(&r->batch); /* nobody listens any more: a pending batch has no reader */
    self->stats.room_streams--;
    free(r);
}

/* edge_rooms_each callback: checks one room against history after a reconnect. */
static void s_probe_room(void *arg, const char *room, size_t len, void *data)
{
    edge_server_t *self = arg;
    s_room_t *r = data;
    if (edge_stream_fetching(r->stream))
        return; /* a repair under way asks history anyway */
    edge_stream_probe(r->stream);
    if (edge_stream_fetching(r->stream))
        self->stats.probes++;
}

/* edge_zmq callback: the SUB (re)connected to the router. Events may have been missed while it
 * was away, and a restarted router has a new epoch that quiet rooms would never show: check
 * every room with a known position against history, and every client still merging a resume
 * (a quiet room's stream may know no position yet while its resumed clients do). */
static void s_on_router_connect(void *arg, uint64_t n)
{
    edge_server_t *self = arg;
    self->stats.router_connects++;
    if (n <= 1)
        return;
    edge_rooms_each(self->rooms, s_probe_room, self);
    for (s_sync_t *y = self->syncs; y; y = y->all_next) {
        if (!edge_stream_settled(y->stream))
            continue; /* still resuming: its own requests will see the new state */
        edge_stream_probe(y->stream);
        if (edge_stream_fetching(y->stream))
            self->stats.probes++;
    }
}

/* ---- inbound client messages -------------------------------------------------------------- */

/* The position of an exact room at this edge (the last event its stream handed on), for the
 * answer to a subscribe without since. False for a pattern, or a room the edge has no position
 * of yet: then its stream asks history for the head, and its listeners get a "position" frame
 * before the room's first event. */
static bool s_room_position(edge_server_t *self, const edge_req_t *req, uint64_t *epoch,
                            uint64_t *last)
{
    if (wire_pattern_is_prefix(req->room, req->room_len))
        return false;
    s_room_t *r = s_room_of(self, req->room, req->room_len);
    if (!r)
        return false;
    if (edge_stream_position(r->stream, epoch, last))
        return true;
    /* New to this edge: ask history for the head; a "position" frame follows (edge_stream_seed). */
    edge_stream_seed(r->stream);
    return false;
}

/* Handles one complete client message. */
static void s_on_message(edge_server_t *self, edge_conn_t *conn, const char *text, size_t len)
{
    self->stats.msgs_in++;
    /* The limit comes first: a flood costs one bucket check per message, not a parse. */
    edge_bucket_rc_t limit = edge_bucket_take(&conn->bucket, lws_now_usecs());
    if (limit != EDGE_BUCKET_OK) {
        self->stats.errors[EDGE_ERR_RATE_LIMITED]++;
        if (limit == EDGE_BUCKET_ABUSE) {
            base_log_limited(self->log, &self->client_limit, WEFT_LOG_INFO,
                             "closing a client that kept sending over its rate limit");
            s_close_later(self, conn, EDGE_CLOSE_POLICY, "rate limit exceeded");
        } else {
            s_send(self, conn, self->rate_limited);
        }
        return;
    }
    edge_req_t req;
    edge_frame_t *reply = NULL;
    if (edge_proto_parse(text, len, &req) == 0) {
        edge_rooms_rc_t rc;
        switch (req.op) {
        case EDGE_OP_SUBSCRIBE:
            rc = edge_rooms_join_flags(conn->member, req.room, req.room_len,
                                       req.unbatched ? EDGE_ROOMS_F_UNBATCHED : 0);
            if (rc == EDGE_ROOMS_NOMEM) {
                s_close_later(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
                goto done;
            }
            if (rc == EDGE_ROOMS_INVALID) /* parse already checked; keep the two in step */
                edge_req_fail(&req, EDGE_ERR_INVALID_ROOM, "not a room or pattern");
            else if (rc == EDGE_ROOMS_LIMIT)
                edge_req_fail(&req, EDGE_ERR_TOO_MANY_SUBSCRIPTIONS,
                              "at most %d rooms and patterns per connection",
                              self->conf->max_subscriptions);
            else if (req.has_since) {
                /* Joined first, so the live subscription is on its way before history is asked;
                 * the resume's stream sends the answer. */
                if (s_resume(self, conn, &req) < 0)
                    s_close_later(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
                goto done;
            }
            break;
        case EDGE_OP_UNSUBSCRIBE: {
            s_sync_t *sync = s_sync_find(conn, req.room, req.room_len);
            if (sync)
                s_sync_destroy(sync);
            rc = edge_rooms_leave(conn->member, req.room, req.room_len);
            if (rc == EDGE_ROOMS_NOT_MEMBER)
                edge_req_fail(&req, EDGE_ERR_NOT_SUBSCRIBED, "not subscribed to '%s'", req.room);
            else if (rc == EDGE_ROOMS_INVALID)
                edge_req_fail(&req, EDGE_ERR_INVALID_ROOM, "not a room or pattern");
            break;
        }
        case EDGE_OP_PING:
        case EDGE_OP_NONE:
            break;
        }
    }
    if (req.err != EDGE_ERR_NONE) {
        self->stats.errors[req.err]++;
        base_log(self->log, WEFT_LOG_DEBUG, "client error %s: %s", edge_err_name(req.err),
                 req.message);
        reply = edge_proto_error(&req);
    } else {
        uint64_t epoch = 0, last = 0;
        bool has_pos = req.op == EDGE_OP_SUBSCRIBE && s_room_position(self, &req, &epoch, &last);
        reply = edge_proto_reply_at(&req, has_pos, epoch, last);
    }
    if (reply)
        s_send(self, conn, reply);
    else
        s_close_later(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
    edge_frame_unref(&reply);
done:
    edge_req_clear(&req);
}

/* LWS_CALLBACK_RECEIVE: reassembles a message from fragments, enforcing max_message. */
static int s_on_receive(edge_server_t *self, edge_conn_t *conn, struct lws *wsi, const void *in,
                        size_t len)
{
    if (!conn->open || conn->closing)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        s_close_later(self, conn, EDGE_CLOSE_UNSUPPORTED, "binary frames are not supported");
        return 0;
    }
    bool first = lws_is_first_fragment(wsi);
    size_t remaining = lws_remaining_packet_payload(wsi);
    bool final = lws_is_final_fragment(wsi) && remaining == 0;
    if (first)
        conn->rx_len = 0;
    size_t max = self->conf->max_message;
    /* Counting the rest of the current frame lets a huge frame be refused at its first bytes. */
    if (len > max || conn->rx_len > max - len || remaining > max - conn->rx_len - len) {
        s_close_later(self, conn, EDGE_CLOSE_TOO_BIG, "message too big");
        return 0;
    }
    if (first && final) { /* the common case: no copy */
        s_on_message(self, conn, in, len);
        return 0;
    }
    if (conn->rx_len + len > conn->rx_cap) {
        size_t cap = conn->rx_cap ? conn->rx_cap : 4096;
        while (cap < conn->rx_len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        unsigned char *rx = realloc(conn->rx, cap);
        if (!rx) {
            s_close_later(self, conn, EDGE_CLOSE_INTERNAL, "out of memory");
            return 0;
        }
        conn->rx = rx;
        conn->rx_cap = cap;
    }
    if (len)
        memcpy(conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    if (final) {
        s_on_message(self, conn, (const char *)conn->rx, conn->rx_len);
        conn->rx_len = 0;
        if (conn->rx_cap > S_RX_KEEP) {
            free(conn->rx);
            conn->rx = NULL;
            conn->rx_cap = 0;
        }
    }
    return 0;
}

/* ---- connection lifecycle ----------------------------------------------------------------- */

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: only /ws upgrades, and not beyond max_connections.
 * Returns 0 to allow, 1 after answering with an HTTP error, -1 to hang up. */
static int s_confirm_upgrade(edge_server_t *self, struct lws *wsi, const char *upgrade)
{
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return 0;
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    unsigned code = 0;
    const char *why = NULL;
    if (n < 0 || strcmp(uri, S_WS_PATH) != 0) {
        code = HTTP_STATUS_NOT_FOUND;
        why = "the WebSocket endpoint is " S_WS_PATH;
    } else if (self->stopping) {
        code = HTTP_STATUS_SERVICE_UNAVAILABLE;
        why = "edge shutting down";
    } else if (self->stats.conns_current >= (uint64_t)self->conf->max_connections) {
        code = HTTP_STATUS_SERVICE_UNAVAILABLE;
        why = "edge at its connection limit";
        base_log_limited(self->log, &self->refuse_limit, WEFT_LOG_WARN,
                         "refusing a WebSocket: max_connections (%d) reached",
                         self->conf->max_connections);
    }
    if (!code)
        return 0;
    self->stats.conns_refused++;
    if (lws_return_http_status(wsi, code, why))
        return -1;
    return 1;
}

/* LWS_CALLBACK_ESTABLISHED: sets up the connection and queues the welcome. */
static int s_on_open(edge_server_t *self, edge_conn_t *conn, struct lws *wsi)
{
    memset(conn, 0, sizeof *conn);
    conn->wsi = wsi;
    conn->member = edge_member_new(self->rooms, conn);
    conn->outq = edge_outq_new(self->conf->max_queue_bytes, (size_t)self->conf->max_queue_frames);
    if (!conn->member || !conn->outq) {
        base_log(self->log, WEFT_LOG_ERROR, "ws: out of memory for a new connection");
        edge_member_destroy(&conn->member);
        edge_outq_destroy(&conn->outq);
        return -1;
    }
    edge_member_set_max(conn->member, (size_t)self->conf->max_subscriptions);
    edge_bucket_init(&conn->bucket, self->conf->rate_limit_per_min, self->conf->rate_limit_burst,
                     self->conf->rate_limit_close_after, lws_now_usecs());
    conn->open = true;
    self->stats.conns_current++;
    self->stats.conns_total++;
    s_send(self, conn, self->welcome);
    return 0;
}

/* LWS_CALLBACK_CLOSED: frees what the connection holds; leaving its rooms may unsubscribe. */
static void s_on_closed(edge_server_t *self, edge_conn_t *conn)
{
    if (!conn->open)
        return;
    conn->open = false;
    s_unmark_dirty(self, conn);
    while (conn->syncs)
        s_sync_destroy(conn->syncs);
    edge_member_destroy(&conn->member);
    edge_outq_destroy(&conn->outq);
    free(conn->rx);
    conn->rx = NULL;
    conn->rx_cap = conn->rx_len = 0;
    self->stats.conns_current--;
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
        return s_on_writeable(self, conn, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* Also fires for the peer's echo of a close we sent: count only the client's own. */
        if (conn && conn->close_sent)
            return -1; /* the echo of our close: done, and nothing to echo back */
        if (conn) {
            self->stats.peer_closes++;
            conn->closing = true; /* lws answers it; nothing else may be written */
            conn->close_sent = true;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        s_on_closed(self, conn);
        return 0;
    default:
        /* A plain HTTP connection may be bound to this protocol: keep lws's HTTP defaults. */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* protocols[0]: plain HTTP (the mount serves files); vets WebSocket upgrades. */
static int s_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
        return s_confirm_upgrade(s_server_of(wsi), wsi, in);
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- router events ------------------------------------------------------------------------ */

/* Counts and logs (rate-limited) a router message the edge cannot use. */
static void s_drop(edge_server_t *self, const char *what, const char *why)
{
    base_log_limited(self->log, &self->bad_event_limit, WEFT_LOG_WARN,
                     "dropping a router message: %s: %s", what, why);
}

/* A room head (docs/protocol.md "Room heads"): when it shows more of the room than this edge has
 * seen, the last events of a burst were dropped on the way (fan-out HWM) and no later event will
 * reveal the jump, so ask history now, exactly as after a router reconnect. */
static void s_on_head(edge_server_t *self, const char *room, size_t len, const wire_header_t *h)
{
    self->stats.heads_in++;
    void **slot = edge_rooms_data(self->rooms, room, len);
    if (!slot || !*slot)
        return; /* nobody listens, or no event seen yet: there is no position to repair from */
    s_room_t *r = *slot;
    uint64_t epoch, last;
    if (!edge_stream_position(r->stream, &epoch, &last) || edge_stream_fetching(r->stream))
        return;
    if (epoch == h->epoch && h->seq <= last)
        return; /* up to date: the common case */
    edge_stream_probe(r->stream);
    if (edge_stream_fetching(r->stream))
        self->stats.head_probes++;
}

/* edge_zmq callback: one message from the router's fan-out. */
static void s_on_router_msg(void *arg, const edge_zmq_msg_t *msg)
{
    edge_server_t *self = arg;
    self->stats.events_in++;
    if (msg->nparts != 3) {
        self->stats.events_bad[WIRE_ERR_FRAMES]++;
        s_drop(self, wire_err_name(WIRE_ERR_FRAMES), "expected 3 frames");
        return;
    }
    const char *room = NULL;
    size_t room_len = 0;
    wire_err_t err = wire_topic_room(msg->part[0], msg->len[0], &room, &room_len);
    wire_header_t h;
    if (err == WIRE_OK)
        err = wire_header_decode(msg->part[1], msg->len[1], &h);
    if (err != WIRE_OK) {
        self->stats.events_bad[err]++;
        s_drop(self, wire_err_name(err), "invalid envelope");
        return;
    }
    if (h.kind == WIRE_KIND_HEAD) {
        s_on_head(self, room, room_len, &h);
        return;
    }
    edge_drop_t drop = EDGE_DROP__COUNT;
    if (h.kind != WIRE_KIND_EVENT)
        drop = EDGE_DROP_KIND;
    else if (h.epoch == 0 || h.seq == 0)
        drop = EDGE_DROP_UNSTAMPED;
    else if (!edge_frame_payload_is_object(msg->part[2], msg->len[2]))
        drop = EDGE_DROP_PAYLOAD;
    if (drop != EDGE_DROP__COUNT) {
        self->stats.events_dropped[drop]++;
        s_drop(self, edge_drop_label(drop), "unusable event");
        return;
    }
    void **slot = edge_rooms_data(self->rooms, room, room_len);
    if (!slot) {
        /* In flight while the last listener left: normal, not an error. */
        self->stats.events_unrouted++;
        return;
    }
    if (!*slot)
        *slot = s_room_new(self, room, room_len);
    s_room_t *r = *slot;
    edge_event_t ev = {.epoch = h.epoch, .seq = h.seq};
    if (r)
        ev.frame = edge_frame_event(room, room_len, &h, msg->part[2], msg->len[2]);
    if (!ev.frame) {
        self->stats.events_dropped[EDGE_DROP_NOMEM]++;
        s_drop(self, edge_drop_label(EDGE_DROP_NOMEM), "out of memory");
        return;
    }
    /* The stream delivers it now, or holds it while a jump is repaired (taking a reference). */
    edge_stream_live(r->stream, &ev);
    edge_frame_unref(&ev.frame);
}

/* edge_rooms callback: the first listener of a room/pattern arrived or the last one left. */
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

/* Raw-file protocol for the signalfd. */
static int s_signal_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
    edge_server_t *self = lws_get_opaque_user_data(wsi);
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
    base_log(self->log, WEFT_LOG_NOTICE, "received %s: stopping", strsignal((int)si.ssi_signo));
    edge_server_stop(self);
    return 0;
}

/* Periodic counter summary. */
static void s_stats_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, stats_sul);
    edge_stats_log(edge_server_stats(self), self->log, WEFT_LOG_INFO, "periodic");
    lws_sul_schedule(self->ctx, 0, &self->stats_sul, s_stats_cb,
                     (lws_usec_t)self->conf->stats_interval * LWS_US_PER_SEC);
}

/* The earliest pending batch is due: flush what is due, wait for the next. */
static void s_batch_cb(lws_sorted_usec_list_t *sul)
{
    edge_server_t *self = lws_container_of(sul, edge_server_t, batch_sul);
    self->batch_armed = false;
    edge_batcher_run(self->batcher, lws_now_usecs());
    s_batch_arm(self);
}

static void s_batch_arm(edge_server_t *self)
{
    int64_t due = edge_batcher_deadline(self->batcher);
    if (due == INT64_MAX || !self->ctx)
        return; /* nothing pending: an armed timer that fires for nothing just returns */
    if (self->batch_armed && self->batch_at <= due)
        return;
    int64_t now = lws_now_usecs();
    lws_sul_schedule(self->ctx, 0, &self->batch_sul, s_batch_cb,
                     (lws_usec_t)(due > now ? due - now : 0));
    self->batch_armed = true;
    self->batch_at = due;
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
         * gathered write 532 bytes per POLLOUT: a send() per half-kilobyte instead of per
         * write, which made the small rx buffer cost 5-8x the CPU under load. */
        .tx_packet_size = S_GATHER_BYTES + 16,
    };
    self->protocols[S_PROTO_ZLOOP] = *edge_zloop_protocol(); /* the SUB, its monitor, history */
    self->protocols[S_PROTO_SIGNAL] = (struct lws_protocols){
        .name = "weft-signal",
        .callback = s_signal_callback,
    };
    /* protocols[S_PROTO__COUNT] stays zeroed: the list terminator. */

    /* Connections without a subprotocol get the ws protocol ("default" vhost option). */
    self->pvo_default = (struct lws_protocol_vhost_options){.name = "default", .value = ""};
    self->pvo_ws = (struct lws_protocol_vhost_options){
        .options = &self->pvo_default,
        .name = S_WS_PROTOCOL,
        .value = "",
    };

    self->mount = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = conf->www,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
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
    edge_pace_init(&self->pace, conf->pace_above, conf->pace_interval_ms);
    self->log = log;
    self->signal_fd = signal_fd;
    self->gather = malloc(LWS_PRE + S_GATHER_BYTES);
    self->rooms = edge_rooms_new(s_on_topic, self);
    if (self->rooms)
        edge_rooms_set_free(self->rooms, s_room_free);
    self->welcome = edge_proto_welcome(conf->edge_id, conf->max_message);
    edge_req_t limited;
    memset(&limited, 0, sizeof limited);
    edge_req_fail(&limited, EDGE_ERR_RATE_LIMITED,
                  "over %d messages a minute (burst %d): message ignored", conf->rate_limit_per_min,
                  conf->rate_limit_burst);
    self->rate_limited = edge_proto_error(&limited);
    if (!self->gather || !self->rooms || !self->welcome || !self->rate_limited) {
        base_log(log, WEFT_LOG_ERROR, "out of memory");
        goto err;
    }
    char why[400];
    self->classes = edge_classes_parse(conf->classes, (size_t)conf->max_batch, why, sizeof why);
    if (!self->classes) {
        base_log(log, WEFT_LOG_ERROR, "classes: %s", why);
        goto err;
    }
    self->batcher = edge_batcher_new(self->classes, conf->max_batch_bytes, &self->stats.batch);
    if (!self->batcher) {
        base_log(log, WEFT_LOG_ERROR, "out of memory");
        goto err;
    }
    for (size_t i = 0; i < edge_classes_count(self->classes); i++) {
        const edge_class_t *c = edge_classes_get(self->classes, i);
        base_log(log, WEFT_LOG_INFO, "class %s: window %d ms, at most %zu events, %s%s%s", c->name,
                 c->window_ms, c->max,
                 c->key_len ? "coalesced by the envelope key or data field '" : "",
                 c->key_len ? c->key : "not coalesced", c->key_len ? "'" : "");
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
    };
    self->hist = edge_hist_new(&hopts);
    if (!self->hist)
        goto err;

    s_setup_tables(self);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = conf->port;
    info.protocols = self->protocols;
    info.mounts = &self->mount;
    info.pvo = &self->pvo_ws;
    info.retry_and_idle_policy = &self->retry;
    info.vhost_name = "weft-edge";
    info.user = self;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
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
    if (signal_fd >= 0) {
        lws_adopt_desc_t desc = {
            .vh = self->vhost,
            .type = LWS_ADOPT_RAW_FILE_DESC,
            .fd.filefd = signal_fd,
            .vh_prot_name = "weft-signal",
            .opaque = self,
        };
        self->signal_fd = -1; /* lws owns it now, even when adoption fails */
        if (!lws_adopt_descriptor_vhost_via_info(&desc)) {
            base_log(log, WEFT_LOG_ERROR, "lws could not adopt the signalfd");
            goto err;
        }
    }
    if (conf->stats_interval > 0)
        lws_sul_schedule(self->ctx, 0, &self->stats_sul, s_stats_cb,
                         (lws_usec_t)conf->stats_interval * LWS_US_PER_SEC);
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
    /* Rooms before history (their streams cancel requests), history before the SUB (its
     * DEALER lives in the SUB's ZeroMQ context, which edge_zmq_destroy terminates). */
    edge_rooms_destroy(&self->rooms);
    edge_batcher_destroy(&self->batcher); /* after the rooms: their batches reference it */
    edge_classes_destroy(&self->classes);
    edge_hist_destroy(&self->hist);
    edge_zmq_destroy(&self->zmq);
    edge_frame_unref(&self->welcome);
    edge_frame_unref(&self->rate_limited);
    free(self->gather);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    free(self);
    *self_p = NULL;
}
