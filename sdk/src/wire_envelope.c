/*
 * wire_envelope.c: encoding, decoding and validation of the ZeroMQ wire envelope.
 * The byte layout is specified in docs/protocol.md; keep the two in step.
 */
#include "wire_envelope.h"

#include <string.h>

#include "weft.h"
#include "weft/version.h"

/* The SDK checks names against weft.h's limits before the router checks them against these:
 * the two sets must be the same numbers. Lengths travel in one byte each. */
_Static_assert(WIRE_ROOM_MAX == WEFT_ROOM_MAX, "room limit differs between weft.h and the wire");
_Static_assert(WIRE_TYPE_MAX == WEFT_TYPE_MAX, "type limit differs between weft.h and the wire");
_Static_assert(WIRE_KEY_MAX == WEFT_KEY_MAX, "key limit differs between weft.h and the wire");
_Static_assert(WIRE_PUBID_MAX == WEFT_PUBID_MAX,
               "pub_id limit differs between weft.h and the wire");
_Static_assert(WIRE_PUBID_MAX <= 255 && WIRE_TYPE_MAX <= 255 && WIRE_KEY_MAX <= 255,
               "header string lengths are one byte each");
_Static_assert(WEFT_WIRE_VERSION >= 1 && WEFT_WIRE_VERSION <= 255, "the wire version is one byte");

static const char *const s_err_names[WIRE_ERR__COUNT] = {
    [WIRE_OK] = "ok",           [WIRE_ERR_SHORT] = "short",     [WIRE_ERR_VERSION] = "version",
    [WIRE_ERR_KIND] = "kind",   [WIRE_ERR_RESERVED] = "reserved", [WIRE_ERR_PUBID] = "pub_id",
    [WIRE_ERR_TYPE] = "type",   [WIRE_ERR_KEY] = "key",         [WIRE_ERR_TOPIC] = "topic",
    [WIRE_ERR_FRAMES] = "frames", [WIRE_ERR_SIZE] = "size",     [WIRE_ERR_JSON] = "json",
    [WIRE_ERR_SESSION] = "session",
};

const char *wire_err_name(wire_err_t err)
{
    if ((unsigned)err >= WIRE_ERR__COUNT)
        return "unknown";
    return s_err_names[err];
}

/* True for the room-name alphabet [A-Za-z0-9_.:-]. */
static inline bool s_room_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

static bool s_all_room_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!s_room_char((unsigned char)s[i]))
            return false;
    return true;
}

bool wire_room_valid(const char *name, size_t len)
{
    return name && len >= 1 && len <= WIRE_ROOM_MAX && s_all_room_chars(name, len);
}

bool wire_pattern_is_prefix(const char *pattern, size_t len)
{
    return pattern && len > 0 && pattern[len - 1] == '*';
}

bool wire_pattern_valid(const char *pattern, size_t len)
{
    if (wire_pattern_is_prefix(pattern, len))
        return len <= WIRE_ROOM_MAX && s_all_room_chars(pattern, len - 1);
    return wire_room_valid(pattern, len);
}

bool wire_pattern_match(const char *pattern, size_t plen, const char *room, size_t rlen)
{
    if (wire_pattern_is_prefix(pattern, plen))
        return rlen >= plen - 1 && memcmp(pattern, room, plen - 1) == 0;
    return plen == rlen && memcmp(pattern, room, plen) == 0;
}

bool wire_type_valid(const char *type, size_t len)
{
    if (!type || len < 1 || len > WIRE_TYPE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

bool wire_pubid_valid(const char *id, size_t len)
{
    return id && len >= 1 && len <= WIRE_PUBID_MAX && s_all_room_chars(id, len);
}

bool wire_key_valid(const char *key, size_t len)
{
    if (!key || len < 1 || len > WIRE_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        /* JSON-safe without escaping: the edge copies keys into frames verbatim. */
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

size_t wire_topic_for_room(const char *room, size_t len, char *buf)
{
    if (!wire_room_valid(room, len))
        return 0;
    memcpy(buf, room, len);
    buf[len] = WIRE_TOPIC_END;
    return len + 1;
}

int wire_subscription_for_pattern(const char *pattern, size_t len, char *buf)
{
    if (!wire_pattern_valid(pattern, len))
        return -1;
    if (wire_pattern_is_prefix(pattern, len)) {
        memcpy(buf, pattern, len - 1);
        return (int)(len - 1);
    }
    return (int)wire_topic_for_room(pattern, len, buf);
}

wire_err_t wire_topic_room(const void *topic, size_t len, const char **room, size_t *room_len)
{
    const char *t = topic;
    if (len < 2 || t[len - 1] != WIRE_TOPIC_END || !wire_room_valid(t, len - 1))
        return WIRE_ERR_TOPIC;
    *room = t;
    *room_len = len - 1;
    return WIRE_OK;
}

void wire_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t wire_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void wire_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t wire_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks the fields an encoder must not send; shared by encode and decode. */
static wire_err_t s_header_check(const wire_header_t *h)
{
    if (h->kind != WIRE_KIND_EVENT && h->kind != WIRE_KIND_HEARTBEAT && h->kind != WIRE_KIND_HEAD)
        return WIRE_ERR_KIND;
    if ((h->flags & ~WIRE_FLAG_CRITICAL) != 0)
        return WIRE_ERR_RESERVED;
    if (h->session == 0 || (h->kind == WIRE_KIND_EVENT && h->pub_seq == 0))
        return WIRE_ERR_SESSION;
    if (!wire_pubid_valid(h->pub_id, h->pub_id_len))
        return WIRE_ERR_PUBID;
    if (h->kind == WIRE_KIND_EVENT) {
        if (!wire_type_valid(h->type, h->type_len))
            return WIRE_ERR_TYPE;
        if (h->key_len && !wire_key_valid(h->key, h->key_len))
            return WIRE_ERR_KEY;
    } else if (h->type_len || h->key_len) {
        return WIRE_ERR_RESERVED;
    }
    return WIRE_OK;
}

size_t wire_header_size(const wire_header_t *h)
{
    if (s_header_check(h) != WIRE_OK)
        return 0;
    return WIRE_HEADER_FIXED + h->pub_id_len + h->type_len + h->key_len;
}

size_t wire_header_encode(const wire_header_t *h, void *buf, size_t cap)
{
    size_t size = wire_header_size(h);
    if (size == 0 || size > cap)
        return 0;
    uint8_t *p = buf;
    p[0] = WEFT_WIRE_VERSION;
    p[1] = h->kind;
    p[2] = h->flags;
    p[3] = h->pub_id_len;
    p[4] = h->type_len;
    p[5] = h->key_len;
    p[6] = 0;
    p[7] = 0;
    wire_put_u64(p + 8, h->session);
    wire_put_u64(p + 16, h->pub_seq);
    wire_put_u64(p + 24, h->ts_ns);
    wire_put_u64(p + 32, h->epoch);
    wire_put_u64(p + 40, h->seq);
    size_t off = WIRE_HEADER_FIXED;
    memcpy(p + off, h->pub_id, h->pub_id_len);
    off += h->pub_id_len;
    if (h->type_len)
        memcpy(p + off, h->type, h->type_len);
    off += h->type_len;
    if (h->key_len)
        memcpy(p + off, h->key, h->key_len);
    return size;
}

wire_err_t wire_header_decode(const void *buf, size_t len, wire_header_t *h)
{
    const uint8_t *p = buf;
    if (len < WIRE_HEADER_FIXED)
        return WIRE_ERR_SHORT;
    if (p[0] != WEFT_WIRE_VERSION)
        return WIRE_ERR_VERSION;
    if (p[6] || p[7])
        return WIRE_ERR_RESERVED;
    size_t need = (size_t)WIRE_HEADER_FIXED + p[3] + p[4] + p[5];
    if (len < need)
        return WIRE_ERR_SHORT;
    if (len > need)
        return WIRE_ERR_RESERVED;
    h->kind = p[1];
    h->flags = p[2];
    h->pub_id_len = p[3];
    h->type_len = p[4];
    h->key_len = p[5];
    h->session = wire_get_u64(p + 8);
    h->pub_seq = wire_get_u64(p + 16);
    h->ts_ns = wire_get_u64(p + 24);
    h->epoch = wire_get_u64(p + 32);
    h->seq = wire_get_u64(p + 40);
    h->pub_id = (const char *)p + WIRE_HEADER_FIXED;
    h->type = h->pub_id + h->pub_id_len;
    h->key = h->type + h->type_len;
    return s_header_check(h);
}

void wire_header_stamp(void *buf, uint64_t epoch, uint64_t seq)
{
    uint8_t *p = buf;
    wire_put_u64(p + 32, epoch);
    wire_put_u64(p + 40, seq);
}

size_t wire_ack_entry_size(const wire_ack_entry_t *e)
{
    return 1 + (size_t)e->pub_id_len + 16;
}

/* Writes the two-byte header of an ack or refusal frame. */
static size_t s_frame_begin(void *buf, size_t cap, uint8_t magic)
{
    if (cap < 2)
        return 0;
    uint8_t *p = buf;
    p[0] = magic;
    p[1] = WEFT_WIRE_VERSION;
    return 2;
}

size_t wire_ack_begin(void *buf, size_t cap)
{
    return s_frame_begin(buf, cap, WIRE_ACK_MAGIC);
}

/* Appends a position (and `extra` more bytes of room the caller fills) at off; 0 if no fit. */
static size_t s_entry_put(void *buf, size_t cap, size_t off, const wire_ack_entry_t *e,
                          size_t extra)
{
    size_t n = wire_ack_entry_size(e) + extra;
    if (off < 2 || off + n > cap || e->pub_id_len == 0 || e->pub_id_len > WIRE_PUBID_MAX)
        return 0;
    uint8_t *p = (uint8_t *)buf + off;
    p[0] = e->pub_id_len;
    memcpy(p + 1, e->pub_id, e->pub_id_len);
    wire_put_u64(p + 1 + e->pub_id_len, e->session);
    wire_put_u64(p + 9 + e->pub_id_len, e->pub_seq);
    return off + n;
}

size_t wire_ack_append(void *buf, size_t cap, size_t off, const wire_ack_entry_t *e)
{
    return s_entry_put(buf, cap, off, e, 0);
}

/* Reads the position at *off of a frame starting with magic, followed by `extra` bytes (left at
 * *extra_p); advances *off. The iteration contract of wire_ack_next(). */
static bool s_entry_get(const void *buf, size_t len, size_t *off, uint8_t magic, size_t extra,
                        wire_ack_entry_t *e, const uint8_t **extra_p, bool *malformed)
{
    const uint8_t *p = buf;
    *malformed = false;
    if (*off == 0) {
        if (len < 2 || p[0] != magic || p[1] != WEFT_WIRE_VERSION) {
            *malformed = true;
            return false;
        }
        *off = 2;
    }
    if (*off == len)
        return false;
    size_t idlen = p[*off];
    if (idlen == 0 || idlen > WIRE_PUBID_MAX || *off + 1 + idlen + 16 + extra > len) {
        *malformed = true;
        return false;
    }
    e->pub_id_len = (uint8_t)idlen;
    e->pub_id = (const char *)p + *off + 1;
    e->session = wire_get_u64(p + *off + 1 + idlen);
    e->pub_seq = wire_get_u64(p + *off + 9 + idlen);
    *extra_p = p + *off + 17 + idlen;
    *off += 1 + idlen + 16 + extra;
    return true;
}

bool wire_ack_next(const void *buf, size_t len, size_t *off, wire_ack_entry_t *e, bool *malformed)
{
    const uint8_t *extra;
    return s_entry_get(buf, len, off, WIRE_ACK_MAGIC, 0, e, &extra, malformed);
}

static const char *const s_refusal_names[WIRE_REFUSE__COUNT] = {
    [0] = "none",
    [WIRE_REFUSE_ROOM] = "room",
    [WIRE_REFUSE_TYPE] = "type",
    [WIRE_REFUSE_RATE] = "rate_limited",
    [WIRE_REFUSE_INVALID] = "invalid",
};

const char *wire_refusal_name(unsigned reason)
{
    return reason < WIRE_REFUSE__COUNT ? s_refusal_names[reason] : "unknown";
}

size_t wire_refusal_entry_size(const wire_refusal_entry_t *e)
{
    return wire_ack_entry_size(&e->at) + 1;
}

size_t wire_refusal_begin(void *buf, size_t cap)
{
    return s_frame_begin(buf, cap, WIRE_REFUSAL_MAGIC);
}

size_t wire_refusal_append(void *buf, size_t cap, size_t off, const wire_refusal_entry_t *e)
{
    if (e->reason == 0)
        return 0;
    size_t end = s_entry_put(buf, cap, off, &e->at, 1);
    if (end)
        ((uint8_t *)buf)[end - 1] = e->reason;
    return end;
}

bool wire_refusal_next(const void *buf, size_t len, size_t *off, wire_refusal_entry_t *e,
                       bool *malformed)
{
    const uint8_t *extra;
    if (!s_entry_get(buf, len, off, WIRE_REFUSAL_MAGIC, 1, &e->at, &extra, malformed))
        return false;
    e->reason = extra[0];
    if (e->reason == 0) {
        *malformed = true;
        return false;
    }
    return true;
}
