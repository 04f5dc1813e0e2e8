/*
 * wire_hist.h: the history protocol between weft-edge and weft-router (docs/protocol.md §2),
 * written once for both sides.
 *
 * A request is three ZeroMQ frames: an 8-byte request id (opaque to the router, echoed), the
 * room name, and a 20-byte cursor {u64 epoch, u64 after_seq, u32 max_events}. A reply is the
 * request id, a 26-byte status block {u8 status, u8 more, u64 epoch, u64 head, u64 first}, then
 * (stamped header, payload) frame pairs, oldest first, only with status ok. All integers are
 * big-endian. The history protocol has no version byte of its own: it changes together with the
 * envelope, whose headers its replies carry (WEFT_WIRE_VERSION).
 *
 * This module encodes and decodes those frames for both sides (the edge sends requests and
 * reads replies, the router parses requests and writes status blocks; tests play either side
 * with the same code). It owns no socket and never allocates: decoded views point into the
 * caller's frames. Part of the weft_wire object library, beside wire_envelope.
 */
#ifndef WIRE_HIST_H
#define WIRE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_envelope.h"

#define WIRE_HIST_ID_LEN 8             /* request id frame */
#define WIRE_HIST_CURSOR_LEN 20        /* u64 epoch, u64 after_seq, u32 max_events */
#define WIRE_HIST_STATUS_LEN 26        /* status, more, u64 epoch, u64 head, u64 first */
#define WIRE_HIST_REQUEST_FRAMES 3     /* request id, room, cursor */
#define WIRE_HIST_PAGE_MAX 100000      /* events in one reply at most (history_page_max's bound) */
#define WIRE_HIST_PAGE_BYTES (1 << 20) /* a page is cut once its events pass ~1 MiB */
/* Frames in one reply at most: id, status block, then a (header, payload) pair per event. */
#define WIRE_HIST_REPLY_FRAMES_MAX (2 + 2 * WIRE_HIST_PAGE_MAX)

/* Reply status (status block byte 0). */
typedef enum wire_hist_status {
    WIRE_HIST_OK = 0,            /* the events after after_seq follow (maybe none) */
    WIRE_HIST_EPOCH_CHANGED = 1, /* the request's epoch is not the room's current one */
    WIRE_HIST_TOO_OLD = 2,       /* events the request needs were evicted */
    WIRE_HIST_BAD_REQUEST = 3,   /* the router could not parse the request */
    WIRE_HIST_BUSY = 4,          /* over the edge's request rate cap: retry later (no events) */
    WIRE_HIST_STATUS__COUNT
} wire_hist_status_t;

/* Why a request is malformed, in the order they are checked; the names double as counter
 * labels. */
typedef enum wire_hist_bad {
    WIRE_HIST_BAD_NONE = 0,
    WIRE_HIST_BAD_REQUEST_ID, /* no 8-byte request id frame: no reply is possible */
    WIRE_HIST_BAD_FRAMES,     /* not exactly three frames */
    WIRE_HIST_BAD_ROOM,       /* the room frame is not a room name */
    WIRE_HIST_BAD_CURSOR,     /* the cursor frame is not 20 bytes */
    WIRE_HIST_BAD__COUNT
} wire_hist_bad_t;

/* A parsed request; room points into the caller's frame. */
typedef struct wire_hist_request {
    bool has_id;                  /* the request id was readable (a reply can be sent) */
    uint8_t id[WIRE_HIST_ID_LEN]; /* opaque request id, echoed */
    const char *room;             /* room name, not NUL-terminated (NULL unless it is valid) */
    size_t room_len;              /* bytes in room */
    uint64_t epoch;               /* the epoch the cursor is in */
    uint64_t after_seq;           /* wanted: seq > after_seq */
    uint32_t max_events;          /* page size asked for; 0 = the router's default */
} wire_hist_request_t;

/* A reply's status block. */
typedef struct wire_hist_block {
    wire_hist_status_t status; /* one of the four statuses */
    bool more;                 /* the page was cut short: ask again from its last seq */
    uint64_t epoch;            /* the router's current epoch */
    uint64_t head;             /* the room's last stamped seq (0 when none in this epoch) */
    uint64_t first;            /* oldest seq still in history (head + 1 when it holds nothing) */
} wire_hist_block_t;

/* Stable name of a status ("ok", "epoch_changed", "too_old", "bad_request", "busy"; else
 * "unknown"). */
const char *wire_hist_status_name(wire_hist_status_t status);

/* Stable name of a bad-request reason ("none", "request_id", "frames", "room", "cursor"; else
 * "unknown"). */
const char *wire_hist_bad_name(wire_hist_bad_t bad);

/* Writes id as the 8-byte id frame. */
void wire_hist_put_id(uint8_t out[WIRE_HIST_ID_LEN], uint64_t id);

/* Reads an id frame of len bytes into *id. Returns 0, or -1 when len is not 8. */
int wire_hist_get_id(const void *buf, size_t len, uint64_t *id);

/* Writes the 20-byte cursor frame. */
void wire_hist_put_cursor(uint8_t out[WIRE_HIST_CURSOR_LEN], uint64_t epoch, uint64_t after_seq,
                          uint32_t max_events);

/* Reads a cursor frame of len bytes. Returns 0, or -1 when len is not 20 (outputs untouched). */
int wire_hist_get_cursor(const void *buf, size_t len, uint64_t *epoch, uint64_t *after_seq,
                         uint32_t *max_events);

/*
 * Parses a request of nframes frames (a ROUTER's identity frame already removed); data[i] and
 * len[i] describe the first min(nframes, WIRE_HIST_REQUEST_FRAMES) of them. Fills req (has_id is
 * true whenever frame 0 is 8 bytes, even when a later check fails) and returns WIRE_HIST_BAD_NONE
 * or the first failing check: request_id, frames, room, cursor.
 */
wire_hist_bad_t wire_hist_parse_request(size_t nframes, const void *const data[],
                                        const size_t len[], wire_hist_request_t *req);

/* Writes the 26-byte status block. */
void wire_hist_put_status(uint8_t out[WIRE_HIST_STATUS_LEN], const wire_hist_block_t *block);

/* Reads a status block. Returns 0, or -1 when len is not 26, the status is not one of the four
 * or `more` is neither 0 nor 1. */
int wire_hist_get_status(const void *buf, size_t len, wire_hist_block_t *block);

/*
 * The number of events a reply of nframes frames (id and status block included) carries with
 * this status block: (nframes - 2) / 2. Returns 0, or -1 when the frames cannot be a reply: fewer
 * than 2, more than WIRE_HIST_REPLY_FRAMES_MAX, a header without its payload, or events with a
 * status other than ok.
 */
int wire_hist_reply_events(size_t nframes, const wire_hist_block_t *block, size_t *events);

/*
 * Checks the header of one event of an ok reply and decodes it into *h: a valid header of kind
 * event, stamped in epoch, with a seq above after (the previous event's seq, or the request's
 * after_seq for the first). Returns 0, or -1 with *why set to a short static reason (a
 * wire_err_name(), or "kind", "epoch", "seq"). The payload is the caller's to check.
 */
int wire_hist_check_event(const void *hdr, size_t len, uint64_t epoch, uint64_t after,
                          wire_header_t *h, const char **why);

#endif
