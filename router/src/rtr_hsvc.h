/*
 * rtr_hsvc.h: the history service: edges ask the router for a room's recent events
 * (docs/protocol.md §2 "History service").
 *
 * The service owns a ROUTER socket bound at the `history` endpoint; each edge connects one
 * DEALER. A request is three frames (request id, room, 20-byte cursor), a reply is the request
 * id, a 26-byte status block, then (stamped header, payload) frame pairs, oldest first. The loop
 * calls rtr_hsvc_serve() when the socket is readable; it handles at most `history_batch`
 * requests per call so a reconnect storm cannot stall live fan-out between intake batches.
 *
 * Replies copy each event into its ZeroMQ frames. Zero copy (zmq_msg_init_data) would need
 * refcounted events with an atomic release from ZeroMQ's I/O thread, because an event can be
 * evicted while its reply still waits in the socket; copying a page (<= ~1 MiB) costs far less
 * than the JSON parse every event already paid on intake.
 *
 * The socket has ZMQ_ROUTER_MANDATORY off: a reply to an edge that has gone, or over the
 * socket's SNDHWM (`history_hwm`), is dropped silently by ZeroMQ (edges retry after a timeout),
 * so those drops cannot be counted here.
 *
 * The parser and the status block encoder are exposed for tests. Not thread-safe: owned by the
 * router loop, like the history store, the room table and the stats it borrows.
 */
#ifndef RTR_HSVC_H
#define RTR_HSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtr_config.h"
#include "rtr_history.h"
#include "rtr_rooms.h"
#include "base_log.h"

#define RTR_HSVC_ID_LEN 8             /* request id frame */
#define RTR_HSVC_CURSOR_LEN 20        /* u64 epoch, u64 after_seq, u32 max_events */
#define RTR_HSVC_STATUS_LEN 26        /* status, more, u64 epoch, u64 head, u64 first */
#define RTR_HSVC_REQUEST_FRAMES 3     /* request id, room, cursor */
#define RTR_HSVC_PAGE_BYTES (1 << 20) /* a page is cut once its events pass ~1 MiB */

/* Reply status (status block byte 0). */
typedef enum rtr_hsvc_status {
    RTR_HSVC_OK = 0,
    RTR_HSVC_EPOCH_CHANGED = 1,
    RTR_HSVC_TOO_OLD = 2,
    RTR_HSVC_BAD_REQUEST = 3,
    RTR_HSVC_STATUS__COUNT
} rtr_hsvc_status_t;

/* Why a request was malformed; the names double as counter labels. */
typedef enum rtr_hsvc_bad {
    RTR_HSVC_BAD_NONE = 0,
    RTR_HSVC_BAD_REQUEST_ID, /* no 8-byte request id frame: no reply is possible */
    RTR_HSVC_BAD_FRAMES,     /* not exactly three frames after the edge's identity */
    RTR_HSVC_BAD_ROOM,       /* the room frame is not a room name */
    RTR_HSVC_BAD_CURSOR,     /* the cursor frame is not 20 bytes */
    RTR_HSVC_BAD__COUNT
} rtr_hsvc_bad_t;

/* A parsed request; room points into the caller's frame. */
typedef struct rtr_hsvc_request {
    bool has_id;                 /* the request id was readable (a reply can be sent) */
    uint8_t id[RTR_HSVC_ID_LEN]; /* opaque request id, echoed */
    const char *room;            /* room name, not NUL-terminated (valid when no error) */
    size_t room_len;             /* bytes in room */
    uint64_t epoch;              /* the epoch the edge's cursor is in */
    uint64_t after_seq;          /* wanted: seq > after_seq */
    uint32_t max_events;         /* page size asked for; 0 = the router's default */
} rtr_hsvc_request_t;

typedef struct rtr_hsvc rtr_hsvc_t;
typedef struct rtr_stats rtr_stats_t;

/* Stable name of a status ("ok", "epoch_changed", "too_old", "bad_request"). */
const char *rtr_hsvc_status_name(rtr_hsvc_status_t status);

/* Stable name of a bad-request reason ("request_id", "frames", "room", "cursor"). */
const char *rtr_hsvc_bad_name(rtr_hsvc_bad_t bad);

/*
 * Parses a request of nframes frames (the ROUTER's identity frame already removed); data[i] and
 * len[i] describe the first min(nframes, RTR_HSVC_REQUEST_FRAMES) of them. Fills req (has_id is
 * true whenever frame 0 is 8 bytes, even when another check fails) and returns RTR_HSVC_BAD_NONE
 * or the first failing check: request_id, frames, room, cursor.
 */
rtr_hsvc_bad_t rtr_hsvc_parse(size_t nframes, const void *const data[], const size_t len[],
                              rtr_hsvc_request_t *req);

/* Writes the 26-byte status block into out. */
void rtr_hsvc_status_encode(uint8_t out[RTR_HSVC_STATUS_LEN], rtr_hsvc_status_t status, bool more,
                            uint64_t epoch, uint64_t head, uint64_t first);

/*
 * Creates the service: a ROUTER socket in ctx bound at conf->history with SNDHWM
 * conf->history_hwm. history, rooms and stats are borrowed (the service answers from the first
 * two and counts into the third) and must outlive it; log may be NULL. epoch is the router's.
 * Returns NULL, after logging why, on failure.
 */
rtr_hsvc_t *rtr_hsvc_new(void *ctx, const rtr_config_t *conf, uint64_t epoch,
                         rtr_history_t *history, rtr_rooms_t *rooms, rtr_stats_t *stats,
                         base_log_t *log);

/* Closes the socket (short linger) and frees the service; nulls *self_p. NULL-safe. */
void rtr_hsvc_destroy(rtr_hsvc_t **self_p);

/* The ROUTER socket, for the loop's zmq_poll. */
void *rtr_hsvc_socket(const rtr_hsvc_t *self);

/* The endpoint the socket is bound to, as ZeroMQ resolved it. */
const char *rtr_hsvc_endpoint(const rtr_hsvc_t *self);

/* Answers up to history_batch waiting requests at now_ms. Returns how many were read. */
size_t rtr_hsvc_serve(rtr_hsvc_t *self, uint64_t now_ms);

#endif
