/*
 * test_wire_envelope.c: the wire envelope codec (docs/protocol.md section 1): header round trips,
 * every reason wire_header_decode() rejects a header for, topics and subscriptions, the name
 * validators at their limits, ack frames and the router's stamp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire_envelope.h"

/* A valid event header with a key. */
static wire_header_t s_event(void)
{
    wire_header_t h = {
        .kind = WIRE_KIND_EVENT,
        .flags = WIRE_FLAG_CRITICAL,
        .session = 0x0102030405060708ULL,
        .pub_seq = 42,
        .ts_ns = 1790000000123456789ULL,
        .epoch = 0,
        .seq = 0,
        .pub_id = "agent-7",
        .pub_id_len = 7,
        .type = "task.progress",
        .type_len = 13,
        .key = "task-9",
        .key_len = 6,
    };
    return h;
}

/* Encodes h into buf, asserting success; returns the length. */
static size_t s_encode(const wire_header_t *h, uint8_t *buf)
{
    size_t len = wire_header_encode(h, buf, WIRE_HEADER_MAX);
    assert_true(len > 0);
    return len;
}

/* Fills buf with len copies of c and a NUL. */
static char *s_fill(char *buf, char c, size_t len)
{
    memset(buf, c, len);
    buf[len] = '\0';
    return buf;
}

/* Encode then decode gives back every field, at the smallest and largest sizes. */
static void test_header_round_trip(void **state)
{
    (void)state;
    wire_header_t h = s_event();
    uint8_t buf[WIRE_HEADER_MAX];
    size_t len = s_encode(&h, buf);
    assert_int_equal(len, 48 + 7 + 13 + 6);
    assert_int_equal(wire_header_size(&h), len);
    /* The fixed layout, byte by byte where it matters. */
    assert_int_equal(buf[0], 1);
    assert_int_equal(buf[1], WIRE_KIND_EVENT);
    assert_int_equal(buf[2], WIRE_FLAG_CRITICAL);
    assert_int_equal(buf[3], 7);
    assert_int_equal(buf[4], 13);
    assert_int_equal(buf[5], 6);
    assert_int_equal(buf[6], 0);
    assert_int_equal(buf[7], 0);
    assert_int_equal(buf[8], 0x01);
    assert_int_equal(buf[15], 0x08);
    assert_int_equal(buf[23], 42);
    assert_memory_equal(buf + 48, "agent-7task.progresstask-9", 26);

    wire_header_t d;
    assert_int_equal(wire_header_decode(buf, len, &d), WIRE_OK);
    assert_int_equal(d.kind, h.kind);
    assert_int_equal(d.flags, h.flags);
    assert_int_equal(d.session, h.session);
    assert_int_equal(d.pub_seq, h.pub_seq);
    assert_int_equal(d.ts_ns, h.ts_ns);
    assert_int_equal(d.epoch, 0);
    assert_int_equal(d.seq, 0);
    assert_int_equal(d.pub_id_len, 7);
    assert_memory_equal(d.pub_id, "agent-7", 7);
    assert_int_equal(d.type_len, 13);
    assert_memory_equal(d.type, "task.progress", 13);
    assert_int_equal(d.key_len, 6);
    assert_memory_equal(d.key, "task-9", 6);
    assert_true(d.pub_id == (const char *)buf + 48); /* views into the buffer, no copies */

    /* No key, no flags. */
    h.key = NULL;
    h.key_len = 0;
    h.flags = 0;
    len = s_encode(&h, buf);
    assert_int_equal(len, 48 + 7 + 13);
    assert_int_equal(wire_header_decode(buf, len, &d), WIRE_OK);
    assert_int_equal(d.key_len, 0);
    assert_int_equal(d.flags, 0);

    /* A heartbeat: no type, no key, and pub_seq 0 (nothing sent yet) is fine. */
    wire_header_t hb = {
        .kind = WIRE_KIND_HEARTBEAT, .session = 9, .pub_seq = 0, .pub_id = "p", .pub_id_len = 1};
    len = s_encode(&hb, buf);
    assert_int_equal(len, 49);
    assert_int_equal(wire_header_decode(buf, len, &d), WIRE_OK);
    assert_int_equal(d.kind, WIRE_KIND_HEARTBEAT);
    assert_int_equal(d.type_len, 0);

    /* A room head from the router: no type, no key, the room's position stamped. */
    wire_header_t head = {.kind = WIRE_KIND_HEAD, .session = 1, .pub_id = "router",
                          .pub_id_len = 6, .epoch = 77, .seq = 1234};
    len = s_encode(&head, buf);
    assert_int_equal(len, 54);
    assert_int_equal(wire_header_decode(buf, len, &d), WIRE_OK);
    assert_int_equal(d.kind, WIRE_KIND_HEAD);
    assert_true(d.epoch == 77 && d.seq == 1234);

    /* The largest header. */
    char id[65], type[65], key[129];
    wire_header_t big = s_event();
    big.pub_id = s_fill(id, 'i', 64);
    big.pub_id_len = 64;
    big.type = s_fill(type, 't', 64);
    big.type_len = 64;
    big.key = s_fill(key, 'k', 128);
    big.key_len = 128;
    uint8_t bigbuf[WIRE_HEADER_MAX];
    assert_int_equal(wire_header_encode(&big, bigbuf, sizeof bigbuf), WIRE_HEADER_MAX);
    assert_int_equal(wire_header_decode(bigbuf, WIRE_HEADER_MAX, &d), WIRE_OK);
    assert_int_equal(wire_header_encode(&big, bigbuf, WIRE_HEADER_MAX - 1), 0); /* cap */
}

/* The encoder refuses what the decoder would reject. */
static void test_header_encode_rejects(void **state)
{
    (void)state;
    uint8_t buf[WIRE_HEADER_MAX];
    wire_header_t h;

    h = s_event();
    h.kind = 4;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.kind = WIRE_KIND_HEAD; /* a head carries no type */
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.flags = 0x02;
    assert_int_equal(wire_header_size(&h), 0);
    h = s_event();
    h.session = 0;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.pub_seq = 0;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.pub_id_len = 0;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.type = "Bad";
    h.type_len = 3;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    h = s_event();
    h.key = "a b";
    h.key_len = 3;
    assert_int_equal(wire_header_encode(&h, buf, sizeof buf), 0);
    wire_header_t hb = {.kind = WIRE_KIND_HEARTBEAT,
                        .session = 9,
                        .pub_id = "p",
                        .pub_id_len = 1,
                        .type = "x",
                        .type_len = 1};
    assert_int_equal(wire_header_encode(&hb, buf, sizeof buf), 0);
    h = s_event();
    assert_int_equal(wire_header_encode(&h, buf, 47), 0);
}

/* Decodes a copy of the encoded s_event() after `mutate` changed it. */
static wire_err_t s_decode_mutated(void (*mutate)(uint8_t *buf, size_t *len))
{
    wire_header_t h = s_event();
    uint8_t buf[WIRE_HEADER_MAX + 8];
    size_t len = s_encode(&h, buf);
    mutate(buf, &len);
    wire_header_t d;
    return wire_header_decode(buf, len, &d);
}

/* The mutations below each break one rule of an encoded s_event(); the names say which. */
static void m_short_fixed(uint8_t *b, size_t *len)
{
    (void)b;
    *len = 47;
}
static void m_short_strings(uint8_t *b, size_t *len)
{
    (void)b;
    *len -= 1;
}
static void m_trailing(uint8_t *b, size_t *len)
{
    b[*len] = 0;
    *len += 1;
}
static void m_version(uint8_t *b, size_t *len)
{
    (void)len;
    b[0] = 2;
}
static void m_version0(uint8_t *b, size_t *len)
{
    (void)len;
    b[0] = 0;
}
static void m_kind(uint8_t *b, size_t *len)
{
    (void)len;
    b[1] = 4;
}
static void m_kind0(uint8_t *b, size_t *len)
{
    (void)len;
    b[1] = 0;
}
static void m_flags(uint8_t *b, size_t *len)
{
    (void)len;
    b[2] = 0x81;
}
static void m_reserved6(uint8_t *b, size_t *len)
{
    (void)len;
    b[6] = 1;
}
static void m_reserved7(uint8_t *b, size_t *len)
{
    (void)len;
    b[7] = 0x80;
}
static void m_session(uint8_t *b, size_t *len)
{
    (void)len;
    memset(b + 8, 0, 8);
}
static void m_seq(uint8_t *b, size_t *len)
{
    (void)len;
    memset(b + 16, 0, 8);
}
static void m_pubid_char(uint8_t *b, size_t *len)
{
    (void)len;
    b[48] = ' ';
}
/* P = 65 (too long) while keeping the total length consistent. */
static void m_pubid_long(uint8_t *b, size_t *len)
{
    uint8_t tmp[WIRE_HEADER_MAX + 8];
    memcpy(tmp, b, *len);
    b[3] = 65;
    memset(b + 48, 'p', 65);
    memcpy(b + 48 + 65, tmp + 48 + 7, *len - 48 - 7);
    *len += 58;
}
/* P = 0: no publisher id. */
static void m_pubid_empty(uint8_t *b, size_t *len)
{
    memmove(b + 48, b + 48 + 7, *len - 48 - 7);
    b[3] = 0;
    *len -= 7;
}
static void m_type_char(uint8_t *b, size_t *len)
{
    (void)len;
    b[48 + 7] = 'T';
}
/* T = 0 in an event: no type. */
static void m_type_empty(uint8_t *b, size_t *len)
{
    memmove(b + 55, b + 55 + 13, *len - 55 - 13);
    b[4] = 0;
    *len -= 13;
}
static void m_key_char(uint8_t *b, size_t *len)
{
    (void)len;
    b[48 + 7 + 13] = '"';
}
static void m_hb_with_type(uint8_t *b, size_t *len)
{
    (void)len;
    b[1] = WIRE_KIND_HEARTBEAT;
}

/* Every rejection reason of wire_header_decode(). */
static void test_header_decode_rejects(void **state)
{
    (void)state;
    assert_int_equal(s_decode_mutated(m_short_fixed), WIRE_ERR_SHORT);
    assert_int_equal(s_decode_mutated(m_short_strings), WIRE_ERR_SHORT);
    assert_int_equal(s_decode_mutated(m_trailing), WIRE_ERR_RESERVED);
    assert_int_equal(s_decode_mutated(m_version), WIRE_ERR_VERSION);
    assert_int_equal(s_decode_mutated(m_version0), WIRE_ERR_VERSION);
    assert_int_equal(s_decode_mutated(m_kind), WIRE_ERR_KIND);
    assert_int_equal(s_decode_mutated(m_kind0), WIRE_ERR_KIND);
    assert_int_equal(s_decode_mutated(m_flags), WIRE_ERR_RESERVED);
    assert_int_equal(s_decode_mutated(m_reserved6), WIRE_ERR_RESERVED);
    assert_int_equal(s_decode_mutated(m_reserved7), WIRE_ERR_RESERVED);
    assert_int_equal(s_decode_mutated(m_session), WIRE_ERR_SESSION);
    assert_int_equal(s_decode_mutated(m_seq), WIRE_ERR_SESSION);
    assert_int_equal(s_decode_mutated(m_pubid_char), WIRE_ERR_PUBID);
    assert_int_equal(s_decode_mutated(m_pubid_long), WIRE_ERR_PUBID);
    assert_int_equal(s_decode_mutated(m_pubid_empty), WIRE_ERR_PUBID);
    assert_int_equal(s_decode_mutated(m_type_char), WIRE_ERR_TYPE);
    assert_int_equal(s_decode_mutated(m_type_empty), WIRE_ERR_TYPE);
    assert_int_equal(s_decode_mutated(m_key_char), WIRE_ERR_KEY);
    assert_int_equal(s_decode_mutated(m_hb_with_type), WIRE_ERR_RESERVED);

    wire_header_t d;
    assert_int_equal(wire_header_decode("", 0, &d), WIRE_ERR_SHORT);
}

/* The stable reason names used as metric labels. */
static void test_err_names(void **state)
{
    (void)state;
    const char *expect[] = {"ok",  "short", "version", "kind", "reserved", "pub_id", "type",
                            "key", "topic", "frames",  "size", "json",     "session"};
    assert_int_equal(sizeof expect / sizeof expect[0], WIRE_ERR__COUNT);
    for (int i = 0; i < WIRE_ERR__COUNT; i++)
        assert_string_equal(wire_err_name((wire_err_t)i), expect[i]);
    assert_string_equal(wire_err_name(WIRE_ERR__COUNT), "unknown");
    assert_string_equal(wire_err_name((wire_err_t)-1), "unknown");
}

/* Topic frames and subscriptions: exact rooms never match longer ones. */
static void test_topics_and_subscriptions(void **state)
{
    (void)state;
    char buf[WIRE_TOPIC_MAX];
    assert_int_equal(wire_topic_for_room("project:1", 9, buf), 10);
    assert_memory_equal(buf, "project:1 ", 10);
    assert_int_equal(wire_topic_for_room("bad room", 8, buf), 0);
    assert_int_equal(wire_topic_for_room("", 0, buf), 0);

    /* An exact subscription ends with the space, so project:1 never matches project:12. */
    char sub[WIRE_TOPIC_MAX];
    int n = wire_subscription_for_pattern("project:1", 9, sub);
    assert_int_equal(n, 10);
    assert_memory_equal(sub, "project:1 ", 10);
    size_t tlen = wire_topic_for_room("project:12", 10, buf);
    assert_false(tlen >= (size_t)n && memcmp(buf, sub, (size_t)n) == 0);
    tlen = wire_topic_for_room("project:1", 9, buf);
    assert_true(tlen >= (size_t)n && memcmp(buf, sub, (size_t)n) == 0);

    /* agent:* -> prefix "agent:" */
    n = wire_subscription_for_pattern("agent:*", 7, sub);
    assert_int_equal(n, 6);
    assert_memory_equal(sub, "agent:", 6);
    tlen = wire_topic_for_room("agent:77", 8, buf);
    assert_true(memcmp(buf, sub, 6) == 0);
    /* * -> the empty subscription */
    assert_int_equal(wire_subscription_for_pattern("*", 1, sub), 0);
    assert_int_equal(wire_subscription_for_pattern("a*b", 3, sub), -1);
    assert_int_equal(wire_subscription_for_pattern("**", 2, sub), -1);
    assert_int_equal(wire_subscription_for_pattern("", 0, sub), -1);
    assert_int_equal(wire_subscription_for_pattern("a b*", 4, sub), -1);

    /* Parsing a topic frame. */
    const char *room;
    size_t room_len;
    assert_int_equal(wire_topic_room("project:1 ", 10, &room, &room_len), WIRE_OK);
    assert_int_equal(room_len, 9);
    assert_memory_equal(room, "project:1", 9);
    assert_int_equal(wire_topic_room("project:1", 9, &room, &room_len), WIRE_ERR_TOPIC);
    assert_int_equal(wire_topic_room(" ", 1, &room, &room_len), WIRE_ERR_TOPIC);
    assert_int_equal(wire_topic_room("a b ", 4, &room, &room_len), WIRE_ERR_TOPIC);
    assert_int_equal(wire_topic_room("$hb", 3, &room, &room_len), WIRE_ERR_TOPIC);
    assert_int_equal(wire_topic_room("", 0, &room, &room_len), WIRE_ERR_TOPIC);
    char long_topic[131];
    s_fill(long_topic, 'r', 129);
    long_topic[128] = ' ';
    assert_int_equal(wire_topic_room(long_topic, 129, &room, &room_len), WIRE_OK);
    long_topic[128] = 'r';
    long_topic[129] = ' ';
    assert_int_equal(wire_topic_room(long_topic, 130, &room, &room_len), WIRE_ERR_TOPIC);
}

/* Pattern validation and matching. */
static void test_patterns(void **state)
{
    (void)state;
    assert_true(wire_pattern_valid("agent:*", 7));
    assert_true(wire_pattern_valid("*", 1));
    assert_true(wire_pattern_valid("project:1", 9));
    assert_false(wire_pattern_valid("*a", 2));
    assert_false(wire_pattern_valid("", 0));
    assert_true(wire_pattern_is_prefix("agent:*", 7));
    assert_false(wire_pattern_is_prefix("agent:", 6));
    assert_false(wire_pattern_is_prefix("", 0));

    assert_true(wire_pattern_match("agent:*", 7, "agent:7", 7));
    assert_true(wire_pattern_match("agent:*", 7, "agent:", 6));
    assert_false(wire_pattern_match("agent:*", 7, "agent", 5));
    assert_false(wire_pattern_match("agent:*", 7, "project:1", 9));
    assert_true(wire_pattern_match("*", 1, "anything", 8));
    assert_true(wire_pattern_match("project:1", 9, "project:1", 9));
    assert_false(wire_pattern_match("project:1", 9, "project:12", 10));
    assert_false(wire_pattern_match("project:12", 10, "project:1", 9));

    char p[131];
    s_fill(p, 'a', 127);
    p[127] = '*';
    assert_true(wire_pattern_valid(p, 128));
    s_fill(p, 'a', 128);
    p[128] = '*';
    assert_false(wire_pattern_valid(p, 129));
}

/* The name validators at and just past their limits. */
static void test_name_limits(void **state)
{
    (void)state;
    char b[200];
    /* Rooms: [A-Za-z0-9_.:-]{1,128} */
    assert_true(wire_room_valid(s_fill(b, 'r', 128), 128));
    assert_false(wire_room_valid(s_fill(b, 'r', 129), 129));
    assert_false(wire_room_valid("", 0));
    assert_false(wire_room_valid(NULL, 0));
    assert_true(wire_room_valid("AZaz09_.:-", 10));
    const char *bad_room_chars = " */\"\\$#@!+\t\x7f\xc3";
    for (const char *c = bad_room_chars; *c; c++) {
        char room[3] = {'a', *c, '\0'};
        assert_false(wire_room_valid(room, 2));
    }
    /* Types: [a-z0-9_.]{1,64} */
    assert_true(wire_type_valid(s_fill(b, 't', 64), 64));
    assert_false(wire_type_valid(s_fill(b, 't', 65), 65));
    assert_true(wire_type_valid("a.b_c.9", 7));
    assert_false(wire_type_valid("A", 1));
    assert_false(wire_type_valid("a-b", 3));
    assert_false(wire_type_valid("a:b", 3));
    assert_false(wire_type_valid("", 0));
    /* Publisher ids: [A-Za-z0-9_.:-]{1,64} */
    assert_true(wire_pubid_valid(s_fill(b, 'p', 64), 64));
    assert_false(wire_pubid_valid(s_fill(b, 'p', 65), 65));
    assert_true(wire_pubid_valid("host-1:Agent_2.x", 16));
    assert_false(wire_pubid_valid("a b", 3));
    assert_false(wire_pubid_valid("", 0));
    /* Keys: 1..128 bytes of 0x21..0x7e except '"' and '\' */
    assert_true(wire_key_valid(s_fill(b, 'k', 128), 128));
    assert_false(wire_key_valid(s_fill(b, 'k', 129), 129));
    assert_true(wire_key_valid("!~{}[]'", 7));
    assert_false(wire_key_valid("", 0));
    assert_false(wire_key_valid(NULL, 0));
    assert_false(wire_key_valid("a b", 3));
    assert_false(wire_key_valid("a\"", 2));
    assert_false(wire_key_valid("a\\", 2));
    assert_false(wire_key_valid("a\x7f", 2));
    assert_false(wire_key_valid("a\x80", 2));
    assert_false(wire_key_valid("a\t", 2));
}

/* Refusal frames: encode, iterate, reason names, and the malformations an agent must survive. */
static void test_refusal_frames(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t off = wire_refusal_begin(buf, sizeof buf);
    assert_int_equal(off, 2);
    assert_int_equal(buf[0], 'R');
    assert_int_equal(buf[1], 1);
    assert_int_equal(wire_refusal_begin(buf, 1), 0);

    wire_refusal_entry_t a = {{"agent-1", 7, 0xdeadbeefcafef00dULL, 17}, WIRE_REFUSE_ROOM};
    wire_refusal_entry_t b = {{"b", 1, 1, UINT64_MAX}, WIRE_REFUSE_RATE};
    assert_int_equal(wire_refusal_entry_size(&a), 1 + 7 + 16 + 1);
    off = wire_refusal_append(buf, sizeof buf, off, &a);
    assert_int_equal(off, 2 + 25);
    off = wire_refusal_append(buf, sizeof buf, off, &b);
    assert_int_equal(off, 2 + 25 + 19);
    assert_int_equal(buf[off - 1], WIRE_REFUSE_RATE);
    assert_int_equal(wire_refusal_append(buf, off + 18, off, &b), 0); /* does not fit */
    wire_refusal_entry_t none = {{"c", 1, 1, 1}, 0};
    assert_int_equal(wire_refusal_append(buf, sizeof buf, off, &none), 0);
    assert_int_equal(wire_refusal_append(buf, sizeof buf, 0, &a), 0); /* before begin */

    size_t pos = 0;
    bool malformed = true;
    wire_refusal_entry_t e;
    assert_true(wire_refusal_next(buf, off, &pos, &e, &malformed));
    assert_false(malformed);
    assert_memory_equal(e.at.pub_id, "agent-1", 7);
    assert_int_equal(e.at.session, a.at.session);
    assert_int_equal(e.at.pub_seq, 17);
    assert_int_equal(e.reason, WIRE_REFUSE_ROOM);
    assert_true(wire_refusal_next(buf, off, &pos, &e, &malformed));
    assert_int_equal(e.at.pub_seq, UINT64_MAX);
    assert_int_equal(e.reason, WIRE_REFUSE_RATE);
    assert_false(wire_refusal_next(buf, off, &pos, &e, &malformed));
    assert_false(malformed);

    /* An ack is not a refusal, and a refusal is not an ack. */
    pos = 0;
    assert_false(wire_ack_next(buf, off, &pos, &e.at, &malformed));
    assert_true(malformed);
    uint8_t ack[64];
    size_t alen = wire_ack_append(ack, sizeof ack, wire_ack_begin(ack, sizeof ack), &a.at);
    pos = 0;
    assert_false(wire_refusal_next(ack, alen, &pos, &e, &malformed));
    assert_true(malformed);
    /* Truncated by the reason byte, and a zero reason. */
    pos = 0;
    assert_false(wire_refusal_next(buf, 2 + 24, &pos, &e, &malformed));
    assert_true(malformed);
    uint8_t bad[64];
    memcpy(bad, buf, 2 + 25);
    bad[2 + 24] = 0;
    pos = 0;
    assert_false(wire_refusal_next(bad, 2 + 25, &pos, &e, &malformed));
    assert_true(malformed);

    assert_string_equal(wire_refusal_name(WIRE_REFUSE_ROOM), "room");
    assert_string_equal(wire_refusal_name(WIRE_REFUSE_TYPE), "type");
    assert_string_equal(wire_refusal_name(WIRE_REFUSE_RATE), "rate_limited");
    assert_string_equal(wire_refusal_name(WIRE_REFUSE_INVALID), "invalid");
    assert_string_equal(wire_refusal_name(200), "unknown");
}

/* Ack frames: encode, iterate, and every malformation. */
static void test_ack_frames(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t off = wire_ack_begin(buf, sizeof buf);
    assert_int_equal(off, 2);
    assert_int_equal(buf[0], 'A');
    assert_int_equal(buf[1], 1);
    assert_int_equal(wire_ack_begin(buf, 1), 0);

    wire_ack_entry_t a = {"agent-1", 7, 0xdeadbeefcafef00dULL, 17};
    wire_ack_entry_t b = {"b", 1, 1, UINT64_MAX};
    assert_int_equal(wire_ack_entry_size(&a), 1 + 7 + 16);
    off = wire_ack_append(buf, sizeof buf, off, &a);
    assert_int_equal(off, 2 + 24);
    off = wire_ack_append(buf, sizeof buf, off, &b);
    assert_int_equal(off, 2 + 24 + 18);
    assert_int_equal(wire_ack_append(buf, off + 17, off, &b), 0); /* does not fit */
    wire_ack_entry_t empty = {"", 0, 1, 1};
    assert_int_equal(wire_ack_append(buf, sizeof buf, off, &empty), 0);
    assert_int_equal(wire_ack_append(buf, sizeof buf, 0, &a), 0); /* before begin */

    size_t pos = 0;
    bool malformed = true;
    wire_ack_entry_t e;
    assert_true(wire_ack_next(buf, off, &pos, &e, &malformed));
    assert_false(malformed);
    assert_int_equal(e.pub_id_len, 7);
    assert_memory_equal(e.pub_id, "agent-1", 7);
    assert_int_equal(e.session, a.session);
    assert_int_equal(e.pub_seq, 17);
    assert_true(wire_ack_next(buf, off, &pos, &e, &malformed));
    assert_int_equal(e.pub_seq, UINT64_MAX);
    assert_false(wire_ack_next(buf, off, &pos, &e, &malformed));
    assert_false(malformed);

    /* An ack with no entries is well-formed. */
    pos = 0;
    assert_false(wire_ack_next(buf, 2, &pos, &e, &malformed));
    assert_false(malformed);

    /* Malformed frames: bad magic, bad version, too short, bad lengths, truncation. */
    uint8_t bad[64];
    memcpy(bad, buf, off);
    bad[0] = 'B';
    pos = 0;
    assert_false(wire_ack_next(bad, off, &pos, &e, &malformed));
    assert_true(malformed);
    memcpy(bad, buf, off);
    bad[1] = 2;
    pos = 0;
    assert_false(wire_ack_next(bad, off, &pos, &e, &malformed));
    assert_true(malformed);
    pos = 0;
    assert_false(wire_ack_next(buf, 1, &pos, &e, &malformed));
    assert_true(malformed);
    memcpy(bad, buf, off);
    bad[2] = 0; /* pub id length 0 */
    pos = 0;
    assert_false(wire_ack_next(bad, off, &pos, &e, &malformed));
    assert_true(malformed);
    memcpy(bad, buf, off);
    bad[2] = 65; /* longer than a publisher id may be */
    pos = 0;
    assert_false(wire_ack_next(bad, off, &pos, &e, &malformed));
    assert_true(malformed);
    for (size_t cut = 3; cut < off; cut++) {
        if (cut == 2 + 24)
            continue; /* a clean boundary between entries */
        pos = 0;
        malformed = false;
        while (wire_ack_next(buf, cut, &pos, &e, &malformed))
            ;
        assert_true(malformed);
    }
}

/* The router stamp and the big-endian helpers. */
static void test_stamp_and_u64(void **state)
{
    (void)state;
    wire_header_t h = s_event();
    uint8_t buf[WIRE_HEADER_MAX];
    size_t len = s_encode(&h, buf);
    wire_header_stamp(buf, (1ULL << 53) - 1, 12345);
    wire_header_t d;
    assert_int_equal(wire_header_decode(buf, len, &d), WIRE_OK);
    assert_int_equal(d.epoch, (1ULL << 53) - 1);
    assert_int_equal(d.seq, 12345);
    assert_int_equal(d.pub_seq, 42);
    assert_int_equal(d.session, h.session);
    assert_memory_equal(d.type, "task.progress", 13);

    uint8_t b8[8];
    wire_put_u64(b8, 0x0102030405060708ULL);
    const uint8_t expect[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b8, expect, 8);
    assert_int_equal(wire_get_u64(b8), 0x0102030405060708ULL);
    wire_put_u64(b8, UINT64_MAX);
    assert_int_equal(wire_get_u64(b8), UINT64_MAX);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_encode_rejects),
        cmocka_unit_test(test_header_decode_rejects),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_topics_and_subscriptions),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_ack_frames),
        cmocka_unit_test(test_refusal_frames),
        cmocka_unit_test(test_stamp_and_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
