/*
 * edge_writer.h: the connection writer: every client connection's output, from a queued frame
 * to the bytes handed to the socket.
 *
 * Each connection has a bounded queue of shared frames (edge_outq.h). Queued frames are written
 * in write rounds: at the end of the loop pass that queued them (or when pacing allows,
 * edge_pace.h) every connection with frames gets all of them in one write, encoded back to back
 * as WebSocket frames ("gathered"). A connection whose socket did not take a whole write gets
 * the rest from the transport's writable callback instead, until its queue is empty again. The
 * writer also owns the ends of a connection it decides: a queue that overflows closes the
 * client as a slow consumer (4008), and a close frame carries the code and a reason.
 *
 * The writer knows no socket and no lws: it talks to the transport through a small table of
 * operations (edge_writer_ops_t) that the server implements with lws_write() and friends, and
 * that unit tests fake. It reports one thing upward: a connection's queue drained below half
 * after a write (edge_writer_set_drained()), which is when a deferred resume asks history again.
 *
 * One edge_writer_t per edge (the shared gather buffer, the list of connections to write, the
 * pacing state); one edge_wconn_t per connection, embedded in the server's per-connection
 * struct (like edge_bucket_t), so a connection costs no allocation here beyond its queue.
 *
 * Not thread-safe: the lws service thread only.
 */
#ifndef EDGE_WRITER_H
#define EDGE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "edge_frame.h"
#include "edge_outq.h"
#include "edge_stats.h"

typedef struct edge_writer edge_writer_t;

/* One connection's output, embedded in the server's per-connection struct. Set up by
 * edge_writer_open(), torn down by edge_writer_closed(); the fields are private to the writer
 * (read them through the inline helpers below). */
typedef struct edge_wconn {
    void *transport;               /* the server's handle of the connection, for the ops */
    edge_outq_t *outq;             /* frames not written yet */
    struct edge_wconn *dirty_prev; /* previous on the writer's list of connections to write */
    struct edge_wconn *dirty_next; /* next on that list */
    const char *close_reason;      /* the close's reason text (static), when closing */
    int64_t opened_us;             /* when edge_writer_open() ran (the writer's clock) */
    edge_close_t close_kind;       /* which close, when closing */
    bool open;                     /* edge_writer_open() ran and edge_writer_closed() has not */
    bool closing;                  /* a close is pending: write nothing else, deliver nothing */
    bool close_sent;               /* the close frame went out (the peer's echo is awaited) */
    bool direct;                   /* a writable callback ran: rounds may write without one */
    bool dirty;                    /* on the writer's list of connections to write */
    bool drain_wanted;             /* someone waits for the queue to drain below half */
} edge_wconn_t;

/* How the transport writes a buffer (see edge_writer_ops_t.write). */
typedef enum edge_write_kind {
    EDGE_WRITE_TEXT = 0, /* one text frame: the transport adds the header in the headroom */
    EDGE_WRITE_RAW,      /* bytes already encoded as complete frames: sent as they are */
    EDGE_WRITE_CLOSE     /* a close frame whose payload is the buffer (code, reason) */
} edge_write_kind_t;

/* When the transport must give up on a connection (see edge_writer_ops_t.expire). */
typedef enum edge_expire {
    EDGE_EXPIRE_GRACE = 0, /* a close is pending: drop it if it takes longer than a grace */
    EDGE_EXPIRE_ACK,       /* the close frame went out: wait that grace for the peer's echo */
    EDGE_EXPIRE_NOW        /* broken: drop it as soon as possible */
} edge_expire_t;

/* The transport, implemented by the server (lws) or by a test. conn is edge_wconn_t.transport;
 * arg is edge_writer_opts_t.arg. */
typedef struct edge_writer_ops {
    /* Writes len bytes at data, which has edge_frame_headroom writable bytes in front, as kind.
     * Returns the bytes taken (the transport keeps what the socket did not take and flushes it
     * itself), or -1 when the connection is broken. */
    int (*write)(void *conn, unsigned char *data, size_t len, edge_write_kind_t kind);
    /* Asks for a call of edge_writer_writeable() when the connection can take more. */
    void (*want_writable)(void *conn);
    /* True while part of an earlier write is still buffered by the transport. */
    bool (*partial)(void *conn);
    /* Sets the connection's deadline (see edge_expire_t). */
    void (*expire)(void *conn, edge_expire_t how);
    /* Arms the round timer: edge_writer_timer() in delay_us (0: after the current loop pass),
     * replacing a pending one. Returns 0, or -1 when there is no loop (nothing armed). */
    int (*schedule)(void *arg, int64_t delay_us);
    /* Disarms the round timer. */
    void (*cancel)(void *arg);
} edge_writer_ops_t;

/* A connection's queue drained below half after a write (asked for by edge_writer_want_drain). */
typedef void(edge_writer_drained_fn)(void *arg, edge_wconn_t *wc);

/* Settings for edge_writer_new(). */
typedef struct edge_writer_opts {
    const edge_writer_ops_t *ops; /* the transport (borrowed, must outlive the writer) */
    void *arg;                    /* for ops->schedule and ops->cancel */
    size_t max_queue_bytes;       /* a connection's queue bound in bytes (slow consumer beyond) */
    size_t max_queue_frames;      /* and in frames */
    int pace_above;               /* edge_pace_init(): frames/s per connection that pace rounds */
    int pace_interval_ms;         /* and the pause between paced rounds */
    bool hold_reads;              /* paced: the router feed waits for the round too */
    int64_t (*now)(void);         /* monotonic microseconds; NULL = base_clock_us() */
    edge_stats_t *stats;          /* counters to add to (borrowed) */
    base_log_t *log;              /* borrowed; may be NULL */
} edge_writer_opts_t;

/* Creates the writer. Returns NULL on OOM. */
edge_writer_t *edge_writer_new(const edge_writer_opts_t *opts);

/* Frees the writer, nulls *self_p. NULL-safe. Every connection must be closed before. */
void edge_writer_destroy(edge_writer_t **self_p);

/* Registers the hook called when a queue that someone waits on drained below half. */
void edge_writer_set_drained(edge_writer_t *self, edge_writer_drained_fn *fn, void *arg);

/* Sets up wc (any content) for a new connection of the transport. Returns 0, or -1 on OOM
 * (then wc holds nothing and needs no edge_writer_closed()). */
int edge_writer_open(edge_writer_t *self, edge_wconn_t *wc, void *transport);

/* The connection ended: drops its queue and takes it off the list of connections to write.
 * wc may be reused for edge_writer_open(). Returns false (doing nothing) when it was not open. */
bool edge_writer_closed(edge_writer_t *self, edge_wconn_t *wc);

/*
 * Queues frame for wc (taking a reference) and arranges for it to be written. A queue over its
 * bounds closes the connection as a slow consumer (4008); a closing connection takes nothing.
 */
void edge_writer_send(edge_writer_t *self, edge_wconn_t *wc, edge_frame_t *frame);

/* Closes wc with kind and reason (a static string): nothing more is written but the close
 * frame, which goes out from the next writable callback. No-op when a close is pending. */
void edge_writer_close(edge_writer_t *self, edge_wconn_t *wc, edge_close_t kind,
                       const char *reason);

/* As edge_writer_close(), but the frames already queued (the error that says why) are written
 * first, at once; what the socket does not take then is dropped as by any close. */
void edge_writer_close_after(edge_writer_t *self, edge_wconn_t *wc, edge_close_t kind,
                             const char *reason);

/* The transport's writable callback for wc: writes a pending close frame, or the queued frames.
 * Returns 0, or -1 when the connection is broken (the transport then hangs up). */
int edge_writer_writeable(edge_writer_t *self, edge_wconn_t *wc);

/* The peer sent a close frame. Returns true when it was the echo of the writer's own close (the
 * transport then hangs up); else counts it and writes nothing more to wc. */
bool edge_writer_peer_close(edge_writer_t *self, edge_wconn_t *wc);

/* True while wc's queue is more than half full (in frames or bytes). */
bool edge_writer_busy(const edge_writer_t *self, const edge_wconn_t *wc);

/* Asks for one call of the drained hook once wc's queue is at most half full after a write. */
void edge_writer_want_drain(edge_wconn_t *wc);

/* A critical event is queued: the next round does not wait for pacing. */
void edge_writer_urgent(edge_writer_t *self);

/* The round timer fired (ops->schedule): runs a write round. */
void edge_writer_timer(edge_writer_t *self);

/* End of a pass over the router feed: runs a write round now unless pacing says wait. */
void edge_writer_pass_end(edge_writer_t *self);

/* Microseconds the router feed should wait before its next read (0: read now). */
int64_t edge_writer_holdoff(const edge_writer_t *self);

/* Encodes at out the header of a final, unmasked text frame of len payload bytes, as gathered
 * writes do (RFC 6455 section 5.2). Returns its size: 2, 4 or 10 bytes. */
size_t edge_writer_header(unsigned char out[10], size_t len);

/* The edge is stopping: every connection's next writable callback closes it with 1001, and
 * rounds write nothing more. */
void edge_writer_stop(edge_writer_t *self);

/* True while wc is open and not closing: it may be given frames. */
static inline bool edge_wconn_live(const edge_wconn_t *wc)
{
    return wc->open && !wc->closing;
}

/* True while a close of wc is pending or done. */
static inline bool edge_wconn_closing(const edge_wconn_t *wc)
{
    return wc->closing;
}

#endif
