/*
 * edge_histmsg.h: the history service's messages as the edge sees them (docs/protocol.md §2).
 *
 * A request is three frames: an 8-byte request id, the room name, and a 20-byte block
 * {u64 epoch, u64 after_seq, u32 max_events}. A reply is the id, a 26-byte status block
 * {u8 status, u8 more, u64 epoch, u64 head, u64 first}, then (stamped header, payload) per event.
 * All integers are big-endian. This module only encodes and decodes those blocks; it owns no
 * socket and allocates nothing, so the codec is tested on its own and the fake routers of the
 * tests use the same code the edge does. The encoders of the router's side (status block,
 * request decoding) exist for those tests.
 */
#ifndef EDGE_HISTMSG_H
#define EDGE_HISTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_frame.h"
#include "wire_envelope.h"

#define EDGE_HISTMSG_ID_LEN 8      /* request id frame */
#define EDGE_HISTMSG_REQ_LEN 20    /* request block: epoch, after_seq, max_events */
#define EDGE_HISTMSG_STATUS_LEN 26 /* reply status block */

/* Reply statuses. The first four are the router's (their values are the wire byte); the last is
 * the edge's own verdict when no reply came after every retry. */
typedef enum edge_hstatus {
    EDGE_HIST_OK = 0,            /* events after after_seq follow (maybe none) */
    EDGE_HIST_EPOCH_CHANGED = 1, /* the request's epoch is not the room's current one */
    EDGE_HIST_TOO_OLD = 2,       /* events the request needs were evicted */
    EDGE_HIST_BAD_REQUEST = 3,   /* the router could not parse the request */
    EDGE_HIST_UNAVAILABLE = 4,   /* local: no answer within the timeout, after every retry */
    EDGE_HIST__COUNT
} edge_hstatus_t;

/* A decoded status block. */
typedef struct edge_hist_status {
    edge_hstatus_t status; /* one of the router's four statuses */
    bool more;             /* the page was cut short: ask again from the last seq */
    uint64_t epoch;        /* the room's current epoch */
    uint64_t head;         /* the room's last stamped seq (0 when none in this epoch) */
    uint64_t first;        /* oldest seq still in history (head + 1 when it holds nothing) */
} edge_hist_status_t;

/* What a history request produced, as handed to whoever asked (see edge_hist.h). */
typedef struct edge_hist_result {
    uint64_t req_epoch;         /* the epoch that was asked for */
    uint64_t req_after;         /* the after_seq that was asked for */
    edge_hist_status_t st;      /* the reply's status block (status UNAVAILABLE: the rest is 0) */
    const edge_event_t *events; /* count events, oldest first, each with its encoded frame */
    size_t count;               /* events in the page (only with EDGE_HIST_OK) */
} edge_hist_result_t;

/* Stable name of a status ("ok", "epoch_changed", "too_old", "bad_request", "unavailable"). */
const char *edge_hstatus_name(edge_hstatus_t status);

/* Writes id as the 8-byte id frame. */
void edge_histmsg_put_id(uint8_t out[EDGE_HISTMSG_ID_LEN], uint64_t id);

/* Reads an id frame of len bytes into *id. Returns 0, or -1 when len is not 8. */
int edge_histmsg_get_id(const void *buf, size_t len, uint64_t *id);

/* Writes the request block. */
void edge_histmsg_put_request(uint8_t out[EDGE_HISTMSG_REQ_LEN], uint64_t epoch, uint64_t after,
                              uint32_t max_events);

/* Reads a request block (the router's side; used by tests). Returns 0, or -1 on a bad length. */
int edge_histmsg_get_request(const void *buf, size_t len, uint64_t *epoch, uint64_t *after,
                             uint32_t *max_events);

/* Writes a status block (the router's side; used by tests). */
void edge_histmsg_put_status(uint8_t out[EDGE_HISTMSG_STATUS_LEN], const edge_hist_status_t *st);

/* Reads a status block. Returns 0, or -1 when the length is not 26, the status is not one of
 * the router's four or `more` is neither 0 nor 1. */
int edge_histmsg_get_status(const void *buf, size_t len, edge_hist_status_t *st);

/*
 * Checks one (header, payload) pair of an ok reply and decodes the header into *h: a valid
 * event header (kind event, stamped), in epoch, with a seq above after, and a JSON-object
 * payload. Returns 0, or -1 with *why set to a short static reason.
 */
int edge_histmsg_check_event(const void *hdr, size_t hdr_len, const void *payload,
                             size_t payload_len, uint64_t epoch, uint64_t after, wire_header_t *h,
                             const char **why);

#endif
