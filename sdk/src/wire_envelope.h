/*
 * wire_envelope.h: the ZeroMQ wire envelope shared by libweft, weft-router and weft-edge.
 *
 * A message is three ZeroMQ frames: topic, header, payload (see docs/protocol.md). This module
 * encodes and decodes the topic and the binary header and validates names. It never allocates:
 * decoded views point into the caller's buffers. It is compiled once into the weft_wire object
 * library, which libweft, the router and the edge all link, so the protocol cannot drift.
 */
#ifndef WIRE_ENVELOPE_H
#define WIRE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The header's and ack frame's version byte is WEFT_WIRE_VERSION (weft/version.h). The name
 * limits equal weft.h's WEFT_*_MAX (asserted in wire_envelope.c). */
#define WIRE_HEADER_FIXED 48 /* bytes before the variable-length strings */
#define WIRE_ROOM_MAX 128
#define WIRE_TYPE_MAX 64
#define WIRE_KEY_MAX 128
#define WIRE_PUBID_MAX 64
#define WIRE_HEADER_MAX (WIRE_HEADER_FIXED + WIRE_PUBID_MAX + WIRE_TYPE_MAX + WIRE_KEY_MAX)
#define WIRE_TOPIC_MAX (WIRE_ROOM_MAX + 1)
#define WIRE_TOPIC_END ' ' /* terminates a room in a topic frame; not a room character */
#define WIRE_HEARTBEAT_TOPIC "$hb"
#define WIRE_ACK_MAGIC 'A' /* first byte of an ack frame; never 0 or 1 (XSUB sub/unsub) */
#define WIRE_REFUSAL_MAGIC 'R' /* first byte of a refusal frame; never 0 or 1 either */

/* Message kinds (header byte 1). */
enum wire_kind {
    WIRE_KIND_EVENT = 1,     /* an event: agent -> router -> edges */
    WIRE_KIND_HEARTBEAT = 2, /* agent liveness: agent -> router only */
    WIRE_KIND_HEAD = 3       /* a room's current (epoch, seq): router -> edges only */
};

/* Header flags (header byte 2). */
#define WIRE_FLAG_CRITICAL 0x01

/* A decoded header. String fields point into the decoded buffer and are NOT NUL-terminated. */
typedef struct wire_header {
    uint8_t kind;       /* enum wire_kind */
    uint8_t flags;      /* WIRE_FLAG_* */
    uint64_t session;   /* publisher session: random, nonzero, one per weft_pub instance */
    uint64_t pub_seq;   /* publisher sequence within the session, from 1 */
    uint64_t ts_ns;     /* publish time, ns since the Unix epoch, publisher clock */
    uint64_t epoch;     /* room epoch stamped by the router (0 from agents) */
    uint64_t seq;       /* room sequence stamped by the router (0 from agents) */
    const char *pub_id; /* publisher id */
    uint8_t pub_id_len;
    const char *type; /* event type (empty for heartbeats) */
    uint8_t type_len;
    const char *key; /* coalesce key (may be empty) */
    uint8_t key_len;
} wire_header_t;

/* Why a header or message was rejected: stable names double as metric labels. */
typedef enum wire_err {
    WIRE_OK = 0,
    WIRE_ERR_SHORT,     /* header shorter than its lengths say */
    WIRE_ERR_VERSION,   /* unknown header version */
    WIRE_ERR_KIND,      /* unknown message kind */
    WIRE_ERR_RESERVED,  /* reserved bytes not zero or trailing bytes */
    WIRE_ERR_PUBID,     /* invalid publisher id */
    WIRE_ERR_TYPE,      /* invalid event type */
    WIRE_ERR_KEY,       /* invalid coalesce key */
    WIRE_ERR_TOPIC,     /* invalid topic frame */
    WIRE_ERR_FRAMES,    /* wrong number of frames */
    WIRE_ERR_SIZE,      /* payload too large */
    WIRE_ERR_JSON,      /* payload not a JSON object */
    WIRE_ERR_SESSION,   /* session or publisher seq is zero */
    WIRE_ERR__COUNT
} wire_err_t;

/* Stable short name of a wire_err_t ("short", "version", ...). */
const char *wire_err_name(wire_err_t err);

/* True when name matches [A-Za-z0-9_.:-]{1,128}. */
bool wire_room_valid(const char *name, size_t len);

/* True when pattern is a room name, or a prefix [A-Za-z0-9_.:-]{0,127} followed by one '*'. */
bool wire_pattern_valid(const char *pattern, size_t len);

/* True when pattern ends in '*'. */
bool wire_pattern_is_prefix(const char *pattern, size_t len);

/* True when a room name matches a pattern (exact, or prefix pattern). */
bool wire_pattern_match(const char *pattern, size_t plen, const char *room, size_t rlen);

/* True when type matches [a-z0-9_.]{1,64}. */
bool wire_type_valid(const char *type, size_t len);

/* True when a publisher id matches [A-Za-z0-9_.:-]{1,64}. */
bool wire_pubid_valid(const char *id, size_t len);

/* True when a coalesce key is 1..128 printable ASCII characters (0x21..0x7e). */
bool wire_key_valid(const char *key, size_t len);

/*
 * Writes the topic frame for a room ("room" + WIRE_TOPIC_END) into buf (at least
 * WIRE_TOPIC_MAX bytes). Returns its length, or 0 when the room is invalid.
 */
size_t wire_topic_for_room(const char *room, size_t len, char *buf);

/*
 * Writes the SUB subscription for a pattern into buf (at least WIRE_TOPIC_MAX bytes): a room
 * gives "room" + WIRE_TOPIC_END (exact match), a prefix pattern "agent:*" gives "agent:".
 * Returns the length (a bare "*" gives 0: subscribe to everything), or -1 when invalid.
 */
int wire_subscription_for_pattern(const char *pattern, size_t len, char *buf);

/* Extracts the room from a topic frame. Returns WIRE_OK and points room and room_len into topic. */
wire_err_t wire_topic_room(const void *topic, size_t len, const char **room, size_t *room_len);

/* Encoded size of a header, or 0 when a field is invalid. */
size_t wire_header_size(const wire_header_t *h);

/* Encodes h into buf (cap bytes). Returns the length, or 0 when invalid or cap is too small. */
size_t wire_header_encode(const wire_header_t *h, void *buf, size_t cap);

/* Decodes and validates a header frame. h's strings point into buf. */
wire_err_t wire_header_decode(const void *buf, size_t len, wire_header_t *h);

/* Writes the room epoch and seq into an encoded header in place (the router's stamp).
 * The buffer must hold a header that wire_header_decode() accepted. */
void wire_header_stamp(void *buf, uint64_t epoch, uint64_t seq);

/* Ack frames (router -> publishers, upstream through XSUB/XPUB). */

/* One acknowledged position. */
typedef struct wire_ack_entry {
    const char *pub_id; /* not NUL-terminated */
    uint8_t pub_id_len;
    uint64_t session;
    uint64_t pub_seq; /* every event up to and including this seq was received */
} wire_ack_entry_t;

/* Bytes one entry takes in an ack frame. */
size_t wire_ack_entry_size(const wire_ack_entry_t *e);

/* Starts an ack frame in buf: returns the header length (2). */
size_t wire_ack_begin(void *buf, size_t cap);

/* Appends one entry at offset off; returns the new length, or 0 if it does not fit. */
size_t wire_ack_append(void *buf, size_t cap, size_t off, const wire_ack_entry_t *e);

/* Iterates an ack frame. *off starts at 0; returns true and fills e while entries remain, false
 * at the end or when the frame is malformed (*malformed set). */
bool wire_ack_next(const void *buf, size_t len, size_t *off, wire_ack_entry_t *e, bool *malformed);

/* Refusal frames (router -> publishers, sent with the acks; docs/protocol.md "Refusals"). */

/* Why the router refused an event (one byte on the wire; stable, only ever appended). */
typedef enum wire_refusal {
    WIRE_REFUSE_ROOM = 1,    /* rights: the publisher may not publish to this room */
    WIRE_REFUSE_TYPE = 2,    /* rights: the publisher may not publish this event type */
    WIRE_REFUSE_RATE = 3,    /* over max_publish_rate: not kept, not acked; resend later */
    WIRE_REFUSE_INVALID = 4, /* the event failed the router's validation */
    WIRE_REFUSE__COUNT
} wire_refusal_t;

/* One refused event: the publisher position (as in an ack entry) and the reason. */
typedef struct wire_refusal_entry {
    wire_ack_entry_t at; /* pub_id, session and the refused event's pub_seq */
    uint8_t reason;      /* wire_refusal_t; a receiver treats unknown codes as final refusals */
} wire_refusal_entry_t;

/* Stable short name of a refusal reason ("room", "type", "rate_limited", "invalid"). */
const char *wire_refusal_name(unsigned reason);

/* Bytes one entry takes in a refusal frame. */
size_t wire_refusal_entry_size(const wire_refusal_entry_t *e);

/* Starts a refusal frame in buf: returns the header length (2), or 0 when cap < 2. */
size_t wire_refusal_begin(void *buf, size_t cap);

/* Appends one entry at offset off; returns the new length, or 0 if it does not fit or the entry
 * is invalid (empty or too long id, reason 0). */
size_t wire_refusal_append(void *buf, size_t cap, size_t off, const wire_refusal_entry_t *e);

/* Iterates a refusal frame like wire_ack_next(). */
bool wire_refusal_next(const void *buf, size_t len, size_t *off, wire_refusal_entry_t *e,
                       bool *malformed);

/* Big-endian helpers. */
void wire_put_u64(uint8_t *p, uint64_t v);
uint64_t wire_get_u64(const uint8_t *p);
void wire_put_u32(uint8_t *p, uint32_t v);
uint32_t wire_get_u32(const uint8_t *p);

#endif
