/*
 * edge_fakes.h: fakes shared by the unit tests of the edge's upper modules (edge_writer,
 * edge_sync, edge_pipeline): a transport that records what a connection received, a loop that
 * records the writer's timer, an injected clock, and a history that answers with scripted
 * replies.
 *
 * The fake transport behaves like lws for a server: a TEXT write gets a WebSocket header in
 * front of it, a RAW write goes out as it is, a CLOSE write becomes a close frame. It keeps the
 * bytes "on the wire" and decodes them back into frames (checking every header), so a test can
 * assert both the exact bytes and the frames a client would see.
 */
#ifndef EDGE_FAKES_H
#define EDGE_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_hist.h"
#include "edge_sync.h"
#include "edge_writer.h"

#define FAKE_FRAMES 256 /* frames one fake connection keeps */
#define FAKE_ASKS 64    /* history asks one fake history keeps */

/* One connection as the fake transport sees it (edge_wconn_t.transport points here). */
typedef struct fake_conn {
    unsigned char *wire;            /* every byte written, as on the wire */
    size_t wire_len;                /* its length */
    char *frames[FAKE_FRAMES];      /* text frames decoded from the wire, NUL-terminated */
    size_t nframes;                 /* their number */
    unsigned writes[3];             /* writes by edge_write_kind_t */
    const unsigned char *last_data; /* the last write's buffer */
    size_t last_len;                /* and length */
    edge_write_kind_t last_kind;    /* and kind */
    unsigned want_writable;         /* writable requests not served yet */
    bool partial;                   /* answer of ops->partial */
    int fail_writes;                /* writes to fail (return -1) */
    unsigned expires[3];            /* expire calls by edge_expire_t */
    int close_code;                 /* the close frame's code (0: none) */
    char close_reason[128];         /* and reason */
    size_t close_len;               /* payload bytes of the close frame */
    char log[4096];                 /* fake_log()'s text */
} fake_conn_t;

/* The writer's loop: the round timer. */
typedef struct fake_loop {
    bool armed;         /* the round timer is scheduled */
    int64_t delay;      /* its delay */
    unsigned schedules; /* schedule calls */
    unsigned cancels;   /* cancel calls */
} fake_loop_t;

/* The transport ops, over fake_conn_t and fake_loop_t (the writer's arg). */
extern const edge_writer_ops_t fake_transport;

/* The injected clock: fake_clock() returns fake_now. */
extern int64_t fake_now;
int64_t fake_clock(void);

/* A writer over the recording transport and the injected clock: queues of 1 MiB and max_frames
 * frames, no pacing. */
edge_writer_t *fake_writer(fake_loop_t *loop, edge_stats_t *stats, size_t max_frames);

/* Frees what conn recorded and zeroes it. */
void fake_conn_reset(fake_conn_t *conn);

/* Serves writable requests of wc like lws would (edge_writer_writeable) until none is left or
 * max calls were made. Returns the calls made. */
unsigned fake_serve(edge_writer_t *writer, edge_wconn_t *wc, unsigned max);

/* Runs the round timer if it is armed. Returns true when it ran. */
bool fake_fire(edge_writer_t *writer, fake_loop_t *loop);

/* Lets the writer write everything queued for wc: the round timer, then writable callbacks. */
void fake_pump(edge_writer_t *writer, fake_loop_t *loop, edge_wconn_t *wc);

/* Appends at out + used the WebSocket frame of a final, unmasked text message of len bytes, as
 * RFC 6455 encodes it (out must have room). Returns the new length of out. */
size_t fake_ws_frame(unsigned char *out, size_t used, const void *payload, size_t len);

/*
 * The frames conn received, as space-separated tokens (the text lives in conn until the next
 * call): E<epoch>.<seq> an event; B<epoch>.<from>-<to> a batch; A+<epoch>.<seq> / A-...:<reason>
 * a "subscribed" carrying an id (a resume's answer); N+/N- the same without an id (a notice);
 * P<epoch>.<seq> a position; any other frame by its op. Frames from first on.
 */
const char *fake_log(fake_conn_t *conn, size_t first);

/* One ask recorded by the fake history. */
typedef struct fake_ask {
    char room[WIRE_ROOM_MAX + 1]; /* the room */
    uint64_t epoch;               /* asked epoch */
    uint64_t after;               /* asked after_seq */
    edge_hist_fn *fn;             /* the callback */
    void *arg;                    /* its arg */
    bool live;                    /* not answered, not cancelled */
} fake_ask_t;

/* The scripted history. */
typedef struct fake_hist {
    fake_ask_t asks[FAKE_ASKS]; /* every ask, in order */
    size_t nasks;               /* their number */
    int fail_next;              /* asks to refuse (get returns NULL) */
    unsigned cancels;           /* cancels of live asks */
} fake_hist_t;

/* An edge_history_t over h. */
edge_history_t fake_history(fake_hist_t *h);

/* Live asks. */
size_t fake_hist_live(const fake_hist_t *h);

/* Answers ask i: status, the room's epoch and head, and the events from_seq..to_seq of the
 * ask's epoch (none when from_seq > to_seq), with `more` set when more is true. */
void fake_hist_reply(fake_hist_t *h, size_t i, edge_hstatus_t status, uint64_t epoch, uint64_t head,
                     uint64_t from_seq, uint64_t to_seq, bool more);

/* Fills *h as a router stamps an event (kind WIRE_KIND_EVENT) or a head: publisher "p",
 * session 1, pub_seq = seq (1 for seq 0), the type (a string literal or one that outlives h). */
void fake_header(wire_header_t *h, uint8_t kind, uint64_t epoch, uint64_t seq, const char *type,
                 uint8_t flags);

/* An event frame of room at (epoch, seq) of type "t" with data {"n":seq}; flags as the wire. */
edge_frame_t *fake_event(const char *room, uint64_t epoch, uint64_t seq, const char *type,
                         uint8_t flags);

#endif
