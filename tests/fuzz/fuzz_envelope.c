/*
 * fuzz_envelope.c: libFuzzer target for the agent envelope (sdk/src/wire_envelope.c) and the
 * router's intake validation (router/src/rtr_validate.c).
 *
 * Input: one mode byte, then frames (fuzz_frames.h). Modes:
 *   0  an intake message: rtr_validate_envelope() on the frames, rtr_validate_payload() on the
 *      third (in the arena and kept), the router's stamp; a header that decodes must encode back
 *      to the very same bytes (one encoding per header: nothing unchecked can ride along).
 *   1  an ack frame (the first frame): wire_ack_next() to the end; the entries of a well-formed
 *      frame must encode back to the same bytes.
 *   2  names: the first frame as room, pattern, type, publisher id, key and topic; the second
 *      as a room matched against the first as a pattern.
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_frames.h"
#include "rtr_jarena.h"
#include "rtr_validate.h"
#include "wire_envelope.h"

#define S_MAX_PAYLOAD (64 * 1024) /* the router's default max_payload */

static rtr_jarena_t *s_arena;

/* Decoded header -> bytes -> must equal the frame it came from. */
static void s_roundtrip_header(const void *frame, size_t len, const wire_header_t *h)
{
    uint8_t buf[WIRE_HEADER_MAX];
    FUZZ_CHECK(wire_header_size(h) == len);
    FUZZ_CHECK(wire_header_encode(h, buf, sizeof buf) == len);
    FUZZ_CHECK(memcmp(buf, frame, len) == 0);

    /* The router's stamp writes in place and must leave a header that still decodes. */
    uint8_t copy[WIRE_HEADER_MAX];
    memcpy(copy, frame, len);
    wire_header_stamp(copy, 7, 42);
    wire_header_t s;
    FUZZ_CHECK(wire_header_decode(copy, len, &s) == WIRE_OK);
    FUZZ_CHECK(s.epoch == 7 && s.seq == 42 && s.pub_seq == h->pub_seq);
}

/* Mode 0: one intake message. */
static void s_intake(const fuzz_frames_t *f)
{
    rtr_envelope_t env;
    wire_err_t err = rtr_validate_envelope(f->n, f->data, f->len, &env);
    FUZZ_CHECK(err < WIRE_ERR__COUNT);
    FUZZ_CHECK(strcmp(wire_err_name(err), "unknown") != 0);
    if (env.header_ok)
        s_roundtrip_header(f->data[1], f->len[1], &env.hdr);
    if (err != WIRE_OK)
        return;
    FUZZ_CHECK(f->n == RTR_FRAMES && env.header_ok);
    if (!env.heartbeat)
        FUZZ_CHECK(wire_room_valid(env.room, env.room_len));

    wire_err_t in_arena = rtr_validate_payload(f->data[2], f->len[2], S_MAX_PAYLOAD, s_arena, NULL);
    json_t *json = NULL;
    wire_err_t kept = rtr_validate_payload(f->data[2], f->len[2], S_MAX_PAYLOAD, NULL, &json);
    /* The arena is an allocator, not a different parser: both verdicts agree. */
    FUZZ_CHECK(in_arena == kept);
    FUZZ_CHECK((kept == WIRE_OK) == (json != NULL));
    FUZZ_CHECK(!json || json_is_object(json));
    json_decref(json);
}

/* Mode 1: an ack frame. */
static void s_ack(const fuzz_frames_t *f)
{
    if (f->n < 1)
        return;
    const void *buf = f->data[0];
    size_t len = f->len[0];
    uint8_t out[4096];
    size_t off = 0, olen = wire_ack_begin(out, sizeof out);
    bool malformed = false, fits = true;
    wire_ack_entry_t e;
    while (wire_ack_next(buf, len, &off, &e, &malformed)) {
        FUZZ_CHECK(off <= len);
        FUZZ_CHECK(e.pub_id_len >= 1 && e.pub_id_len <= WIRE_PUBID_MAX);
        size_t next = fits ? wire_ack_append(out, sizeof out, olen, &e) : 0;
        if (next == 0)
            fits = false;
        else
            olen = next;
    }
    if (!malformed && fits)
        FUZZ_CHECK(olen == len && memcmp(out, buf, len) == 0);
}

/* Mode 2: the name checks, and the subscription they give. */
static void s_names(const fuzz_frames_t *f)
{
    if (f->n < 1 || !f->data[0])
        return;
    const char *s = f->data[0];
    size_t n = f->len[0];
    bool room = wire_room_valid(s, n);
    bool pattern = wire_pattern_valid(s, n);
    FUZZ_CHECK(!room || pattern);
    (void)wire_type_valid(s, n);
    (void)wire_pubid_valid(s, n);
    (void)wire_key_valid(s, n);

    char topic[WIRE_TOPIC_MAX];
    size_t tlen = wire_topic_for_room(s, n, topic);
    FUZZ_CHECK((tlen != 0) == room);
    if (tlen) {
        const char *r;
        size_t rlen;
        FUZZ_CHECK(wire_topic_room(topic, tlen, &r, &rlen) == WIRE_OK);
        FUZZ_CHECK(rlen == n && memcmp(r, s, n) == 0);
    }
    const char *r;
    size_t rlen;
    if (wire_topic_room(s, n, &r, &rlen) == WIRE_OK)
        FUZZ_CHECK(wire_room_valid(r, rlen));

    char sub[WIRE_TOPIC_MAX];
    int slen = wire_subscription_for_pattern(s, n, sub);
    FUZZ_CHECK((slen >= 0) == pattern);
    /* A room the pattern matches is one the SUB subscription lets through (a prefix). */
    if (f->n >= 2 && f->data[1] && pattern && wire_room_valid(f->data[1], f->len[1]) &&
        wire_pattern_match(s, n, f->data[1], f->len[1])) {
        char t[WIRE_TOPIC_MAX];
        size_t tl = wire_topic_for_room(f->data[1], f->len[1], t);
        FUZZ_CHECK(tl >= (size_t)slen && memcmp(t, sub, (size_t)slen) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_arena) {
        rtr_jarena_install();
        s_arena = rtr_jarena_new(64 * 1024);
        if (!s_arena)
            abort();
    }
    if (size < 1)
        return 0;
    fuzz_frames_t f;
    fuzz_frames_split(data + 1, size - 1, &f);
    switch (data[0] % 3) {
    case 0: s_intake(&f); break;
    case 1: s_ack(&f); break;
    default: s_names(&f); break;
    }
    fuzz_frames_free(&f);
    return 0;
}
