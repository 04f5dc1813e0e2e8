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
 * The frames are parsed and encoded by wire_hist.h, the one definition of the protocol that the
 * edge uses too. Not thread-safe: owned by the router loop, like the history store, the room
 * table and the stats it borrows.
 */
#ifndef RTR_HSVC_H
#define RTR_HSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "rtr_config.h"
#include "rtr_curve.h"
#include "rtr_history.h"
#include "rtr_rooms.h"

typedef struct rtr_hsvc rtr_hsvc_t;
typedef struct rtr_stats rtr_stats_t;

/*
 * Creates the service: a ROUTER socket in ctx bound at conf->history with SNDHWM
 * conf->history_hwm, made a CURVE server by curve (rtr_curve.h) unless curve is NULL. history,
 * rooms and stats are borrowed (the service answers from the first two and counts into the
 * third) and must outlive it; log may be NULL. epoch is the router's.
 * Returns NULL, after logging why, on failure.
 */
rtr_hsvc_t *rtr_hsvc_new(void *ctx, const rtr_config_t *conf, rtr_curve_t *curve, uint64_t epoch,
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
