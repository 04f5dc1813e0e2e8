/*
 * delivery_util.h: helpers of the delivery-engine integration tests (label "delivery").
 *
 * Two things the shared harness (it_fabric.h, ts_wsc.h) does not do:
 *
 *  - dl_raw_t, a bare WebSocket client on a blocking socket, for what a well-behaved client
 *    cannot show: a client that stops reading (its receive buffer can be made tiny, so the edge's
 *    queue for it fills), and the HTTP status of a refused upgrade. It reads only when asked.
 *
 *  - dl_log_t, one room's stream as a client sees it, fed frame by frame: "event" frames and
 *    "batch" frames (unpacked into their events), checked as they come: every frame must start
 *    right after the position of the one before (a batch's from_seq, an event's seq), a batch's
 *    events must rise within from_seq..to_seq and end at to_seq, and the position moves to the
 *    frame's end. So coalesced events are accounted for and a gap or a duplicate is an error.
 */
#ifndef DELIVERY_UTIL_H
#define DELIVERY_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_wsc.h"

/* ---- a bare WebSocket client -------------------------------------------------------------- */

typedef struct dl_raw dl_raw_t;

/*
 * Connects to ws://127.0.0.1:port/ws and sends the upgrade request, with SO_RCVBUF set to
 * rcvbuf bytes first when rcvbuf > 0. Reads the HTTP answer (at most timeout_ms): dl_raw_status()
 * tells its status (101 when upgraded). Returns NULL when the TCP connection failed or no answer
 * came (reason on stderr).
 */
dl_raw_t *dl_raw_connect(int port, int rcvbuf, int timeout_ms);

/* Closes the socket and frees everything (frames included), nulls *self_p. NULL-safe. */
void dl_raw_destroy(dl_raw_t **self_p);

/* The HTTP status of the upgrade answer (101, 503, ...). */
int dl_raw_status(const dl_raw_t *self);

/* The body of a refused upgrade (what came after the headers, NUL-terminated; may be ""). */
const char *dl_raw_body(const dl_raw_t *self);

/* Sends one masked text frame. Returns 0, or -1. */
int dl_raw_send_text(dl_raw_t *self, const char *text);

/*
 * Reads and parses frames until done(arg, self) returns nonzero, the peer's close frame arrived,
 * the connection ended, or timeout_ms passed. Text frames are kept (parsed with jansson); pings
 * are answered. done may be NULL (read until close or timeout). Returns 0 when done returned
 * nonzero (with done NULL: when a close frame arrived), -1 otherwise.
 */
int dl_raw_read(dl_raw_t *self, int (*done)(void *arg, dl_raw_t *raw), void *arg, int timeout_ms);

/* Text frames received so far. */
size_t dl_raw_frame_count(const dl_raw_t *self);

/* The i-th text frame (borrowed), or NULL. */
json_t *dl_raw_frame(const dl_raw_t *self, size_t i);

/* The close code of the peer's close frame (0 while none arrived). */
int dl_raw_close_code(const dl_raw_t *self);

/* The close reason of the peer's close frame ("" while none). */
const char *dl_raw_close_reason(const dl_raw_t *self);

/* True once the peer closed (a close frame or the end of the connection). */
bool dl_raw_ended(const dl_raw_t *self);

/* ---- one room's stream -------------------------------------------------------------------- */

/* One event as received. */
typedef struct dl_ev {
    uint64_t epoch; /* its epoch */
    uint64_t seq;   /* its seq */
    json_t *data;   /* its data (a reference) */
    char type[65];  /* its type */
    bool in_batch;  /* it came inside a batch frame */
    bool critical;  /* it carried "critical": true */
} dl_ev_t;

/* A room's stream as one client received it. */
typedef struct dl_log {
    char room[129];   /* the room followed */
    dl_ev_t *evs;     /* events in arrival order */
    size_t count;     /* events received */
    size_t cap;       /* slots in evs */
    bool positioned;  /* epoch/pos hold a position */
    uint64_t epoch;   /* epoch of the position */
    uint64_t pos;     /* last seq accounted for (an event's seq, a batch's to_seq) */
    size_t batches;   /* batch frames received */
    size_t singles;   /* event frames received */
    size_t coalesced; /* seqs batches covered without carrying them */
    size_t errors;    /* order violations */
    char err[300];    /* the first one */
} dl_log_t;

/* Starts an empty log of room. */
void dl_log_init(dl_log_t *log, const char *room);

/* Sets the position (a cursor the client resumed from, or a recovered:false notice). */
void dl_log_position(dl_log_t *log, uint64_t epoch, uint64_t seq);

/* Feeds one frame: events and batches of the room are checked and recorded, others ignored. */
void dl_log_frame(dl_log_t *log, json_t *frame);

/* Feeds frames [*from, count) of a ts_wsc connection and moves *from to the end. */
void dl_log_wsc(dl_log_t *log, ts_wsc_conn_t *conn, size_t *from);

/* Feeds every frame of a raw connection from *from on and moves *from. */
void dl_log_raw(dl_log_t *log, const dl_raw_t *raw, size_t *from);

/* Releases the events. */
void dl_log_free(dl_log_t *log);

/* The integer field of an event's data, or -1. */
int64_t dl_ev_int(const dl_ev_t *ev, const char *field);

/* The seqs of the events received, as "1,2,5" (for messages and exact checks), in a static
 * buffer overwritten by the next call. */
const char *dl_log_seqs(dl_log_t *log);

#endif
