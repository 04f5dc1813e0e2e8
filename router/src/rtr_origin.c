/*
 * rtr_origin.c: room heads and the router's own events on fan-out (see rtr_origin.h).
 */
#include "rtr_origin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "base_clock.h"
#include "base_limit.h"
#include "wire_envelope.h"

#define RTR_ORIGIN_ID "router" /* the publisher id of everything the router originates */

struct rtr_origin {
    void *fanout;           /* borrowed XPUB */
    rtr_rooms_t *rooms;     /* borrowed room table */
    rtr_history_t *history; /* borrowed history store */
    uint64_t epoch;         /* the router's epoch */
    rtr_stats_t *stats;     /* borrowed counters */
    base_log_t *log;        /* borrowed logger */
    base_limit_t io_limit;  /* limiter for send errors */
    uint64_t pub_seq;       /* the router's last own event */
};

/* Creates the sender. */
rtr_origin_t *rtr_origin_new(void *fanout, rtr_rooms_t *rooms, rtr_history_t *history,
                             uint64_t epoch, rtr_stats_t *stats, base_log_t *log)
{
    rtr_origin_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    *self = (rtr_origin_t){.fanout = fanout,
                           .rooms = rooms,
                           .history = history,
                           .epoch = epoch,
                           .stats = stats,
                           .log = log};
    return self;
}

/* Frees the sender. */
void rtr_origin_destroy(rtr_origin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* Sends topic, header and payload frames on fan-out without blocking; counts a failure. */
static int s_send(rtr_origin_t *self, const char *what, const void *topic, size_t topic_len,
                  const void *hdr, size_t hdr_len, const void *payload, size_t payload_len)
{
    if (zmq_send(self->fanout, topic, topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->fanout, hdr, hdr_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->fanout, payload, payload_len, ZMQ_DONTWAIT) < 0) {
        self->stats->send_errors++;
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR, "%s send failed: %s", what,
                         zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Sends one room-head message: the room's current position, so an edge whose last events of a
 * burst were dropped at the fan-out HWM learns of the gap. */
static void s_send_head(rtr_origin_t *self, const rtr_room_t *room)
{
    size_t room_len;
    const char *name = rtr_room_name(room, &room_len);
    char topic[WIRE_TOPIC_MAX];
    size_t topic_len = wire_topic_for_room(name, room_len, topic);
    wire_header_t h = {.kind = WIRE_KIND_HEAD,
                       .session = 1,
                       .pub_id = RTR_ORIGIN_ID,
                       .pub_id_len = sizeof RTR_ORIGIN_ID - 1,
                       .epoch = self->epoch,
                       .seq = rtr_room_last_seq(room)};
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hdr_len = wire_header_encode(&h, hdr, sizeof hdr);
    if (topic_len == 0 || hdr_len == 0)
        return; /* cannot happen for a stamped room; nothing to announce */
    if (s_send(self, "head", topic, topic_len, hdr, hdr_len, "{}", 2) == 0)
        self->stats->heads_sent++;
}

/* Heads for the recently stamped rooms, busiest first. */
void rtr_origin_heads(rtr_origin_t *self, uint64_t now_ms, uint64_t linger_ms)
{
    for (const rtr_room_t *room = rtr_rooms_busiest(self->rooms); room;
         room = rtr_room_idler(room)) {
        if (rtr_room_last_used(room) + linger_ms < now_ms)
            break;
        if (rtr_room_last_seq(room) > 0)
            s_send_head(self, room);
    }
}

/* Stamps, keeps and sends one event of the router's own. */
int rtr_origin_event(rtr_origin_t *self, const char *room_name, size_t room_len, const char *type,
                     const char *json, size_t len, uint64_t now_ms)
{
    char topic[WIRE_TOPIC_MAX];
    size_t topic_len = wire_topic_for_room(room_name, room_len, topic);
    rtr_room_t *room =
        topic_len ? rtr_rooms_ensure(self->rooms, room_name, room_len, now_ms) : NULL;
    if (!room) {
        self->stats->send_errors++;
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                         "cannot publish %s into room %.*s: invalid room or out of memory", type,
                         (int)room_len, room_name);
        return -1;
    }
    wire_header_t h = {.kind = WIRE_KIND_EVENT,
                       .session = 1,
                       .pub_seq = ++self->pub_seq,
                       .ts_ns = base_clock_wall_ns(),
                       .pub_id = RTR_ORIGIN_ID,
                       .pub_id_len = sizeof RTR_ORIGIN_ID - 1,
                       .type = type,
                       .type_len = (uint8_t)strlen(type)};
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hdr_len = wire_header_encode(&h, hdr, sizeof hdr);
    if (hdr_len == 0)
        return -1; /* cannot happen with the router's own id and types */
    uint64_t seq = rtr_rooms_stamp(self->rooms, room, now_ms);
    wire_header_stamp(hdr, self->epoch, seq);
    /* As for agents' events: a failed history append costs the history, not the live event. */
    if (rtr_history_append(self->history, room, seq, hdr, hdr_len, json, len, now_ms) < 0)
        base_log_limited(self->log, &self->io_limit, WEFT_LOG_ERROR,
                         "out of memory keeping history of room %.*s", (int)room_len, room_name);
    return s_send(self, type, topic, topic_len, hdr, hdr_len, json, len);
}
