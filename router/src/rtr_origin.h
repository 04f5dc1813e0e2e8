/*
 * rtr_origin.h: messages the router originates on fan-out itself: room heads
 * (docs/protocol.md, "Room heads") and its own events (presence, rtr_presence.h).
 *
 * The router's events take the same path as an agent's: stamped with the room's next seq, kept in
 * the room's history, sent on fan-out as topic, header and payload frames. Their header names
 * publisher "router", session 1, a publisher seq counting the router's events from 1. Kept apart
 * from the loop (rtr_server.c) so that the loop only decides when to send them.
 *
 * Ownership: every pointer passed to rtr_origin_new() is borrowed and must outlive the object.
 * Not thread-safe: used from the router's loop thread only.
 */
#ifndef RTR_ORIGIN_H
#define RTR_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include "base_log.h"
#include "rtr_history.h"
#include "rtr_rooms.h"
#include "rtr_stats.h"

typedef struct rtr_origin rtr_origin_t;

/* Creates the sender over the fan-out socket (a ZeroMQ XPUB), the room table, the history store
 * and the counters (heads_sent, send_errors) of a router running epoch. NULL on OOM. */
rtr_origin_t *rtr_origin_new(void *fanout, rtr_rooms_t *rooms, rtr_history_t *history,
                             uint64_t epoch, rtr_stats_t *stats, base_log_t *log);

/* Frees the sender; nulls *self_p. NULL-safe. */
void rtr_origin_destroy(rtr_origin_t **self_p);

/* Sends a head for every room stamped within linger_ms before now_ms, walking the recency list
 * from its busy end: the cost is the number of recently active rooms, never the number of rooms. */
void rtr_origin_heads(rtr_origin_t *self, uint64_t now_ms, uint64_t linger_ms);

/* Publishes one event of type (a valid event type) with the JSON payload json (len bytes) into
 * room (room_len bytes, a valid room name) at now_ms. Returns 0, or -1 when it was not sent
 * (logged, counted in send_errors). */
int rtr_origin_event(rtr_origin_t *self, const char *room, size_t room_len, const char *type,
                     const char *json, size_t len, uint64_t now_ms);

#endif
