/*
 * edge_writer.c: the connection writer (see edge_writer.h): per-connection queues, write rounds
 * with pacing, gathered writes, close frames and close codes.
 *
 * Why the writer encodes WebSocket frame headers itself instead of one lws_write() per frame:
 * a send() on a loopback or LAN socket costs several microseconds whatever its size, far more
 * than building the frames, so a client that has fallen behind gets its backlog in one write
 * (one send() per client per round) instead of one per event. The bytes on the wire are the
 * same frames a write per frame would produce: a server never masks, so a frame is a two-,
 * four- or ten-byte header and the payload. lws sends LWS_WRITE_RAW as it is and keeps what the
 * socket did not take, like any write. This is the only place of the edge that writes frame
 * headers by hand.
 *
 * Why sharing one frame buffer between connections is safe: lws_write() writes the WebSocket
 * header into the frame's headroom, in place. A server never masks, so every connection writes
 * the same header bytes there, and lws copies whatever the socket did not take into the wsi's
 * own buffer before lws_write() returns, so nothing keeps pointing into the shared frame. (With
 * permessage-deflate the payload would be rewritten per connection; no extension is enabled.)
 */
#include "edge_writer.h"

#include <stdlib.h>
#include <string.h>

#include "base_clock.h"
#include "base_limit.h"
#include "edge_pace.h"

#define S_GATHER_BYTES 65536 /* bytes of frames one write may carry */

struct edge_writer {
    const edge_writer_ops_t *ops;    /* the transport */
    void *arg;                       /* for ops->schedule and ops->cancel */
    size_t max_bytes;                /* a queue's bound in bytes */
    size_t max_frames;               /* and in frames */
    bool hold_reads;                 /* paced: the router feed waits for the round */
    int64_t (*now)(void);            /* the clock */
    edge_stats_t *stats;             /* counters (borrowed) */
    base_log_t *log;                 /* borrowed */
    edge_writer_drained_fn *drained; /* the drained hook, or NULL */
    void *drained_arg;               /* its argument */
    edge_wconn_t *dirty;             /* connections to write in the next round */
    bool armed;                      /* the round timer is scheduled */
    bool urgent;                     /* a critical event waits: no pacing pause */
    bool stopping;                   /* the edge is stopping */
    edge_pace_t pace;                /* when the next round may run */
    base_limit_t slow_limit;         /* logs about slow consumers */
    unsigned char *gather;           /* headroom + S_GATHER_BYTES: one write, or a close frame */
};

/* The current monotonic time in microseconds. */
static int64_t s_now(const edge_writer_t *self)
{
    return self->now ? self->now() : (int64_t)base_clock_us();
}

edge_writer_t *edge_writer_new(const edge_writer_opts_t *opts)
{
    edge_writer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->gather = malloc(edge_frame_headroom + S_GATHER_BYTES);
    if (!self->gather) {
        free(self);
        return NULL;
    }
    self->ops = opts->ops;
    self->arg = opts->arg;
    self->max_bytes = opts->max_queue_bytes;
    self->max_frames = opts->max_queue_frames;
    self->hold_reads = opts->hold_reads;
    self->now = opts->now;
    self->stats = opts->stats;
    self->log = opts->log;
    edge_pace_init(&self->pace, opts->pace_above, opts->pace_interval_ms);
    return self;
}

void edge_writer_destroy(edge_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_writer_t *self = *self_p;
    if (self->armed)
        self->ops->cancel(self->arg);
    free(self->gather);
    free(self);
    *self_p = NULL;
}

void edge_writer_set_drained(edge_writer_t *self, edge_writer_drained_fn *fn, void *arg)
{
    self->drained = fn;
    self->drained_arg = arg;
}

/* ---- the list of connections to write ---------------------------------------------------- */

/* Schedules the next write round: at the end of the current pass, or when pacing allows. */
static void s_arm(edge_writer_t *self)
{
    if (self->armed)
        return;
    int64_t wait = self->urgent ? 0 : edge_pace_wait(&self->pace, s_now(self));
    self->armed = self->ops->schedule(self->arg, wait) == 0;
}

/* Puts wc on the list of connections to write (its frames go out in the next round). */
static void s_mark_dirty(edge_writer_t *self, edge_wconn_t *wc)
{
    if (wc->dirty)
        return;
    wc->dirty = true;
    wc->dirty_prev = NULL;
    wc->dirty_next = self->dirty;
    if (self->dirty)
        self->dirty->dirty_prev = wc;
    self->dirty = wc;
    s_arm(self);
}

/* Takes wc off the list of connections to write. */
static void s_unmark_dirty(edge_writer_t *self, edge_wconn_t *wc)
{
    if (!wc->dirty)
        return;
    if (wc->dirty_prev)
        wc->dirty_prev->dirty_next = wc->dirty_next;
    else
        self->dirty = wc->dirty_next;
    if (wc->dirty_next)
        wc->dirty_next->dirty_prev = wc->dirty_prev;
    wc->dirty = false;
    wc->dirty_prev = wc->dirty_next = NULL;
}

/* ---- connections -------------------------------------------------------------------------- */

int edge_writer_open(edge_writer_t *self, edge_wconn_t *wc, void *transport)
{
    memset(wc, 0, sizeof *wc);
    wc->outq = edge_outq_new(self->max_bytes, self->max_frames);
    if (!wc->outq)
        return -1;
    wc->transport = transport;
    wc->open = true;
    wc->opened_us = s_now(self);
    return 0;
}

bool edge_writer_closed(edge_writer_t *self, edge_wconn_t *wc)
{
    if (!wc->open)
        return false;
    wc->open = false;
    /* Every connection closes here exactly once: the one place for its duration. */
    int64_t life_us = s_now(self) - wc->opened_us;
    edge_histo_observe(&self->stats->conn_life, edge_life_bounds_ms, EDGE_LIFE_BUCKETS,
                       life_us > 0 ? (uint64_t)life_us / 1000 : 0);
    s_unmark_dirty(self, wc);
    edge_outq_destroy(&wc->outq);
    return true;
}

void edge_writer_close(edge_writer_t *self, edge_wconn_t *wc, edge_close_t kind, const char *reason)
{
    if (wc->closing)
        return;
    wc->closing = true;
    wc->close_kind = kind;
    wc->close_reason = reason;
    if (kind == EDGE_CLOSE_SLOW)
        self->stats->slow_closes++;
    /* Nothing queued will be written any more: give the memory back now. */
    edge_outq_clear(wc->outq);
    self->ops->want_writable(wc->transport);
    /* A slow consumer may never become writable: the transport drops it after a grace. */
    self->ops->expire(wc->transport, EDGE_EXPIRE_GRACE);
}

bool edge_writer_busy(const edge_writer_t *self, const edge_wconn_t *wc)
{
    return edge_outq_frames(wc->outq) * 2 > self->max_frames ||
           edge_outq_bytes(wc->outq) * 2 > self->max_bytes;
}

void edge_writer_want_drain(edge_wconn_t *wc)
{
    wc->drain_wanted = true;
}

/*
 * Why a frame is written at the end of the pass (a round) and not always from the writable
 * callback: asking lws for one costs two epoll_ctl() calls (POLLOUT on, then off), a wake-up and
 * a callback per frame, several times the send() itself. Writing outside the callback is safe
 * for a plain WebSocket over HTTP/1 as long as nothing of an earlier write is still buffered by
 * lws (ops->partial); when a socket takes only part of a write, lws keeps the rest and flushes
 * it before the next writable callback, and this connection's frames go through that callback
 * until its queue is empty again. The first frame (the welcome) always goes through the
 * callback (wc->direct is still false), so the handshake response is out before anything else.
 */
void edge_writer_send(edge_writer_t *self, edge_wconn_t *wc, edge_frame_t *frame)
{
    if (wc->closing || !wc->outq)
        return;
    int rc = edge_outq_push(wc->outq, frame);
    if (rc == EDGE_OUTQ_OK) {
        /* Only the first frame needs a request: the callback asks again while frames remain. */
        if (edge_outq_frames(wc->outq) == 1) {
            if (wc->direct && !self->stopping)
                s_mark_dirty(self, wc);
            else
                self->ops->want_writable(wc->transport);
        }
        return;
    }
    if (rc == EDGE_OUTQ_FULL) {
        base_log_limited(self->log, &self->slow_limit, WEFT_LOG_INFO,
                         "closing a slow consumer: %zu frames, %zu bytes queued",
                         edge_outq_frames(wc->outq), edge_outq_bytes(wc->outq));
        edge_writer_close(self, wc, EDGE_CLOSE_SLOW, "slow consumer");
    } else {
        edge_writer_close(self, wc, EDGE_CLOSE_INTERNAL, "out of memory");
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Writes one frame from its own headroom. Returns 0, or -1 when the connection is broken. */
static int s_write_frame(edge_writer_t *self, edge_wconn_t *wc, edge_frame_t *frame)
{
    size_t len = edge_frame_len(frame);
    int n = self->ops->write(wc->transport, edge_frame_data(frame), len, EDGE_WRITE_TEXT);
    self->stats->writes++;
    if (n < 0 || (size_t)n < len) {
        base_log(self->log, WEFT_LOG_DEBUG, "ws: write failed (%d of %zu bytes); closing", n, len);
        return -1;
    }
    self->stats->frames_out++;
    self->stats->bytes_out += len;
    return 0;
}

size_t edge_writer_header(unsigned char out[10], size_t len)
{
    out[0] = 0x81; /* FIN, text */
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (int b = 0; b < 8; b++)
        out[2 + b] = (unsigned char)((uint64_t)len >> (56 - 8 * b));
    return 10;
}

/* Writes as many of wc's queued frames as fit S_GATHER_BYTES, as complete WebSocket frames
 * back to back in one write (see the banner for why). Returns 0, or -1 when the connection is
 * broken. */
static int s_flush_conn(edge_writer_t *self, edge_wconn_t *wc)
{
    unsigned char *out = self->gather + edge_frame_headroom;
    size_t used = 0;
    edge_frame_t *frame;
    if (edge_outq_frames(wc->outq) == 1) {
        /* One frame (the usual case below pacing, and with batching): from its own headroom,
         * without copying it into the gather buffer first. */
        frame = edge_outq_peek(wc->outq);
        if (s_write_frame(self, wc, frame) < 0)
            return -1;
        edge_outq_pop(wc->outq);
        return 0;
    }
    while ((frame = edge_outq_peek(wc->outq)) != NULL) {
        size_t len = edge_frame_len(frame);
        size_t hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
        if (used + hdr + len > S_GATHER_BYTES) {
            if (used)
                break;
            /* Too big to gather: on its own, from its own headroom. */
            if (s_write_frame(self, wc, frame) < 0)
                return -1;
            edge_outq_pop(wc->outq);
            return 0;
        }
        used += edge_writer_header(out + used, len);
        memcpy(out + used, edge_frame_data(frame), len);
        used += len;
        self->stats->frames_out++;
        self->stats->bytes_out += len;
        edge_outq_pop(wc->outq);
    }
    if (!used)
        return 0;
    int n = self->ops->write(wc->transport, out, used, EDGE_WRITE_RAW);
    self->stats->writes++;
    if (n < 0 || (size_t)n < used) {
        base_log(self->log, WEFT_LOG_DEBUG, "ws: write failed (%d of %zu bytes); closing", n, used);
        return -1;
    }
    return 0;
}

/* After a write to wc: reports a drained queue upward, and asks for the writable callback while
 * frames remain. */
static void s_after_write(edge_writer_t *self, edge_wconn_t *wc)
{
    if (wc->drain_wanted && !edge_writer_busy(self, wc) && self->drained) {
        wc->drain_wanted = false; /* one report per request; the hook may ask again */
        self->drained(self->drained_arg, wc);
    }
    if (edge_outq_frames(wc->outq))
        self->ops->want_writable(wc->transport);
}

/* A write round: each listed connection's frames in one write, leaving the rest (if any) to
 * the writable callback; then edge_pace decides when the next round may run (edge_pace.h). */
static void s_round(edge_writer_t *self)
{
    if (self->armed) {
        self->ops->cancel(self->arg);
        self->armed = false;
    }
    self->urgent = false;
    int64_t start = s_now(self);
    uint64_t frames0 = self->stats->frames_out;
    uint64_t conns = 0;
    edge_wconn_t *wc;
    while ((wc = self->dirty) != NULL) {
        s_unmark_dirty(self, wc);
        if (!wc->open || wc->closing || !edge_outq_frames(wc->outq))
            continue;
        if (self->stopping || self->ops->partial(wc->transport)) {
            self->ops->want_writable(wc->transport);
            continue;
        }
        conns++;
        if (s_flush_conn(self, wc) < 0) {
            /* Broken: nothing more can be written, not even a close frame. */
            edge_outq_clear(wc->outq);
            wc->closing = true;
            wc->close_sent = true;
            self->ops->expire(wc->transport, EDGE_EXPIRE_NOW);
            continue;
        }
        s_after_write(self, wc);
    }
    if (!conns)
        return;
    self->stats->write_rounds++;
    if (edge_pace_round(&self->pace, start, self->stats->frames_out - frames0, conns))
        self->stats->paced_rounds++;
}

void edge_writer_timer(edge_writer_t *self)
{
    self->armed = false;
    s_round(self);
}

/* Writing here and not from the zero-delay timer alone matters under load: a pass over the
 * router feed that ran out of budget continues from its own timer, and those passes could
 * follow one another before the write. While paced, the round timer (armed when the first
 * connection was listed) runs the round instead. */
void edge_writer_pass_end(edge_writer_t *self)
{
    if (self->dirty && !self->stopping && edge_pace_due(&self->pace, s_now(self), self->urgent))
        s_round(self);
}

/* Why the router feed waits while rounds are paced (pace_hold_reads): with several edges on one
 * host each of them woke for every event, and those wake-ups cost as much as their sends;
 * reading only when the next round is due makes an edge wake once per round instead of once per
 * event (docs/performance.md has the figures). The price: while paced, a critical event waits
 * for the round like any other, at most pace_interval_ms. */
int64_t edge_writer_holdoff(const edge_writer_t *self)
{
    if (self->stopping || !self->hold_reads || !self->pace.paced)
        return 0;
    return edge_pace_wait(&self->pace, s_now(self));
}

void edge_writer_urgent(edge_writer_t *self)
{
    self->urgent = true;
}

void edge_writer_stop(edge_writer_t *self)
{
    self->stopping = true;
}

/* ---- closes -------------------------------------------------------------------------------- */

/* Writes the close frame (code, then the reason cut to fit a control frame) and waits for the
 * client's echo (edge_writer_peer_close() then ends the connection), at most a grace.
 * Why not lws_close_reason() and -1: lws 4.1 built with _DEBUG (as Debian ships it) closes a
 * libuv wsi a second time right after a callback returned -1 ("uv repeat test"), and that
 * second close kills the socket before the close frame lws_close_reason() prepared is written.
 * Waiting for the echo also reads what the client still had in flight (the rest of a message
 * too big), so the close ends with a FIN, not a reset that could destroy the close frame. */
static int s_close_now(edge_writer_t *self, edge_wconn_t *wc)
{
    wc->closing = true;
    wc->close_sent = true;
    self->stats->closes[wc->close_kind]++;
    unsigned char *buf = self->gather + edge_frame_headroom; /* free between rounds */
    unsigned code = (unsigned)edge_close_code(wc->close_kind);
    size_t len = strlen(wc->close_reason);
    if (len > 123)
        len = 123; /* a control frame carries at most 125 bytes */
    buf[0] = (unsigned char)(code >> 8);
    buf[1] = (unsigned char)(code & 0xff);
    memcpy(buf + 2, wc->close_reason, len);
    if (self->ops->write(wc->transport, buf, len + 2, EDGE_WRITE_CLOSE) < 0)
        return -1;
    self->ops->expire(wc->transport, EDGE_EXPIRE_ACK);
    return 0;
}

void edge_writer_close_after(edge_writer_t *self, edge_wconn_t *wc, edge_close_t kind,
                             const char *reason)
{
    if (wc->closing)
        return;
    s_unmark_dirty(self, wc); /* written here, not in the round */
    while (edge_outq_frames(wc->outq) > 0 && !self->ops->partial(wc->transport))
        if (s_flush_conn(self, wc) < 0)
            break;
    edge_writer_close(self, wc, kind, reason);
}

int edge_writer_writeable(edge_writer_t *self, edge_wconn_t *wc)
{
    if (!wc->open)
        return 0;
    if (self->stopping && !wc->closing) {
        wc->closing = true;
        wc->close_kind = EDGE_CLOSE_GOING_AWAY;
        wc->close_reason = "edge shutting down";
    }
    if (wc->close_sent)
        return 0; /* waiting for the client's echo of the close */
    if (wc->closing)
        return s_close_now(self, wc);
    wc->direct = true;
    s_unmark_dirty(self, wc); /* written here, not in the round */
    if (s_flush_conn(self, wc) < 0)
        return -1;
    s_after_write(self, wc);
    return 0;
}

bool edge_writer_peer_close(edge_writer_t *self, edge_wconn_t *wc)
{
    if (wc->close_sent)
        return true; /* the echo of our close: done, and nothing to echo back */
    self->stats->peer_closes++;
    wc->closing = true; /* the transport answers it; nothing else may be written */
    wc->close_sent = true;
    return false;
}
