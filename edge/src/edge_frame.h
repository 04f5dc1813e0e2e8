/*
 * edge_frame.h: refcounted, ready-to-write WebSocket text frames.
 *
 * A frame is built once and shared: an event is encoded into one frame however many clients
 * receive it, and each client's outbound queue holds a reference (h2o's shared memory, Mosquitto's
 * message store refcount). The buffer keeps LWS_PRE bytes of headroom in front of the body
 * because lws_write() puts the WebSocket header there.
 *
 * Layout: {refcnt, len, event info, LWS_PRE headroom, body bytes, NUL, coalesce key}.
 * Per-connection write state never lives in the frame. Frames are used from the lws service
 * thread only (no atomics).
 *
 * An event frame also remembers where its parts are (edge_frame_info()): the type, the data, the
 * critical flag and the envelope's coalesce key (kept after the body, never sent). The batching
 * stage reads them from the frame instead of decoding the event again, and a batch frame
 * (edge_frame_batch()) is built by copying slices of event frames, so an event's JSON is
 * written once per edge whichever way it travels.
 */
#ifndef EDGE_FRAME_H
#define EDGE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_envelope.h"

typedef struct edge_frame edge_frame_t;

/* Bytes of writable headroom in front of every frame's body (lws's LWS_PRE), for modules that
 * prepare buffers for the transport without including lws. */
extern const size_t edge_frame_headroom;

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

/* Where the parts of an event frame are; pointers into the frame, valid while it lives. */
typedef struct edge_frame_info {
    const char *type; /* the event type (not NUL-terminated) */
    size_t type_len;  /* its length */
    const char *key;  /* the envelope's coalesce key, or NULL when it had none */
    size_t key_len;   /* its length (0 when none) */
    const char *data; /* the payload JSON object, verbatim */
    size_t data_len;  /* its length */
    const char *item; /* the body from "seq" to the end: with '{' in front, a batch entry */
    size_t item_len;  /* its length */
    bool critical;    /* the event was published with priority critical */
} edge_frame_info_t;

/* Fills *info for a frame built by edge_frame_event(). Returns false for any other frame. */
bool edge_frame_info(const edge_frame_t *frame, edge_frame_info_t *info);

/*
 * Builds a batch frame from n >= 1 event frames of one room and epoch, in seq order:
 *   {"op":"batch","room":R,"epoch":E,"from_seq":F,"to_seq":T,"events":[{"seq":S,"type":..,
 *    "ts":..,"data":..},...]}
 * Each entry is the event frame's body from "seq" on (edge_frame_info_t.item), copied, not
 * encoded again. from_seq..to_seq is the seq range the batch accounts for, which may hold more
 * seqs than entries (coalesced events). Returns NULL when a frame is not an event frame, the
 * room is invalid, or on OOM. The event frames are borrowed.
 */
edge_frame_t *edge_frame_batch(const char *room, size_t room_len, uint64_t epoch, uint64_t from_seq,
                               uint64_t to_seq, edge_frame_t *const *events, size_t n);

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
