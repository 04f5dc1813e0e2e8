/*
 * rtr_validate.h: checks one intake message against the wire envelope (docs/protocol.md §1).
 *
 * Validation is split in two so the server can dedup between the steps: the envelope (frame
 * count, topic, header, kind) is cheap and tells who sent the message, so even a rejected event
 * can be acknowledged; the payload (size, JSON object) costs a parse and is skipped for
 * duplicates. Neither step allocates except jansson's parse (in an arena when the parse is not
 * kept), asserts on input or keeps pointers beyond the frames it was given.
 */
#ifndef RTR_VALIDATE_H
#define RTR_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rtr_jarena.h"
#include "wire_envelope.h"

/* Frames the wire envelope has: topic, header, payload. */
#define RTR_FRAMES 3

/* What rtr_validate_envelope() learned; pointers point into the caller's frames. */
typedef struct rtr_envelope {
    bool heartbeat;    /* the topic frame was "$hb" */
    const char *room;  /* the room (events with a valid topic), not NUL-terminated */
    size_t room_len;   /* bytes in room */
    bool header_ok;    /* the header decoded: hdr's publisher fields are trustworthy */
    wire_header_t hdr; /* the decoded header (valid when header_ok) */
} rtr_envelope_t;

/*
 * Checks the envelope of a message of nframes frames; data[i] and len[i] describe the first
 * min(nframes, RTR_FRAMES) of them. Returns WIRE_OK, or the first failing check in this order:
 * frames (not exactly 3), topic (neither "$hb" nor "room "), kind when the header says room
 * head (kind 3: only the router sends those), the header's own errors (wire_header_decode), kind
 * ("$hb" not a heartbeat, or a room not an event). The header is
 * decoded whenever there are 3 frames, so env->header_ok may be true on a rejected message.
 */
wire_err_t rtr_validate_envelope(size_t nframes, const void *const data[], const size_t len[],
                                 rtr_envelope_t *env);

/*
 * Checks a payload: at most max_payload bytes (WIRE_ERR_SIZE) and a JSON object (WIRE_ERR_JSON).
 * When json_p is not NULL and the payload is valid, *json_p gets the parsed object (the caller
 * owns it, and it comes from the default allocator); otherwise the parse is freed here, and when
 * arena is not NULL it is parsed inside that arena (rtr_jarena.h: faster, nothing kept), which
 * needs rtr_jarena_install() to have run. *json_p is NULL on every error.
 */
wire_err_t rtr_validate_payload(const void *data, size_t len, size_t max_payload,
                                rtr_jarena_t *arena, json_t **json_p);

#endif
