/*
 * edge_frame.h: refcounted, ready-to-write WebSocket text frames.
 *
 * A frame is built once and shared: an event is encoded into one frame however many clients
 * receive it, and each client's outbound queue holds a reference (h2o's shared memory, Mosquitto's
 * message store refcount). The buffer keeps LWS_PRE bytes of headroom in front of the body
 * because lws_write() puts the WebSocket header there.
 *
 * Layout: {refcnt, len, LWS_PRE headroom, body bytes, NUL}. Per-connection write state never
 * lives in the frame. Frames are used from the lws service thread only (no atomics).
 */
#ifndef EDGE_FRAME_H
#define EDGE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_envelope.h"

typedef struct edge_frame edge_frame_t;

/* One event as the edge delivers it: its room position and its encoded frame. Whoever keeps an
 * edge_event_t beyond a call takes its own reference on frame. */
typedef struct edge_event {
    uint64_t epoch;      /* room epoch stamped by the router */
    uint64_t seq;        /* room seq stamped by the router */
    edge_frame_t *frame; /* the {"op":"event",...} frame */
} edge_event_t;

/* Creates a frame with room for len body bytes (uninitialised), refcount 1. NULL on OOM. */
edge_frame_t *edge_frame_new(size_t len);

/* Creates a frame holding a copy of len bytes of data, refcount 1. NULL on OOM. */
edge_frame_t *edge_frame_from(const void *data, size_t len);

/*
 * Encodes an event for clients, refcount 1:
 *   {"op":"event","room":R,"epoch":E,"seq":S,"type":T,"ts":TS,"data":<payload verbatim>}
 * with ,"critical":true before the closing brace when h->flags has WIRE_FLAG_CRITICAL.
 * The room and h->type must be valid names (their alphabets need no JSON escaping) and payload
 * a JSON object (the router validated it; see edge_frame_payload_is_object()). Returns NULL when
 * a name is invalid or on OOM. Nothing is retained from the arguments.
 */
edge_frame_t *edge_frame_event(const char *room, size_t room_len, const wire_header_t *h,
                               const void *payload, size_t payload_len);

/* Cheap shape check: first and last non-whitespace bytes are '{' and '}'. */
bool edge_frame_payload_is_object(const void *payload, size_t len);

/* Takes another reference; returns frame (NULL-safe). */
edge_frame_t *edge_frame_ref(edge_frame_t *frame);

/* Drops the caller's reference, frees at zero, and nulls *frame_p. NULL-safe. */
void edge_frame_unref(edge_frame_t **frame_p);

/* The body: len bytes, NUL-terminated, with LWS_PRE writable bytes in front for lws_write(). */
unsigned char *edge_frame_data(edge_frame_t *frame);

/* Body length in bytes. */
size_t edge_frame_len(const edge_frame_t *frame);

/* Current reference count (tests and assertions). */
uint32_t edge_frame_refcnt(const edge_frame_t *frame);

#endif
