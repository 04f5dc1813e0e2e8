/*
 * test_rtr_validate.c: every rejection reason of an intake message, with crafted frames, and no
 * crash on garbage, empty or huge frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rtr_test_util.h"
#include "rtr_validate.h"

/* One message under test: three frames, each a buffer plus its length. */
typedef struct {
    const void *data[RTR_FRAMES];
    size_t len[RTR_FRAMES];
    uint8_t hdr[WIRE_HEADER_MAX + 16];
} msg_t;

/* A valid event on "project:1" from "agent-1" with payload {"pct":40}. */
static void s_valid_event(msg_t *m)
{
    memset(m, 0, sizeof *m);
    m->data[0] = "project:1 ";
    m->len[0] = 10;
    m->len[1] = rtr_test_event_header(m->hdr, sizeof m->hdr, "agent-1", 77, 5, "task.progress");
    assert_true(m->len[1] > 0);
    m->data[1] = m->hdr;
    m->data[2] = "{\"pct\":40}";
    m->len[2] = 10;
}

/* Envelope check of m with nframes. */
static wire_err_t s_env(const msg_t *m, size_t nframes, rtr_envelope_t *env)
{
    return rtr_validate_envelope(nframes, m->data, m->len, env);
}

/* A valid event passes both steps and the envelope points at the room and publisher. */
static void test_valid_event(void **state)
{
    (void)state;
    msg_t m;
    s_valid_event(&m);
    rtr_envelope_t env;
    assert_int_equal(s_env(&m, 3, &env), WIRE_OK);
    assert_false(env.heartbeat);
    assert_true(env.header_ok);
    assert_int_equal(env.room_len, 9);
    assert_memory_equal(env.room, "project:1", 9);
    assert_int_equal(env.hdr.kind, WIRE_KIND_EVENT);
    assert_int_equal(env.hdr.session, 77);
    assert_int_equal(env.hdr.pub_seq, 5);
    assert_memory_equal(env.hdr.pub_id, "agent-1", 7);
    assert_int_equal(rtr_validate_payload(m.data[2], m.len[2], 65536, NULL, NULL), WIRE_OK);
}

/* A valid heartbeat passes, and its payload object is handed to the caller. */
static void test_valid_heartbeat(void **state)
{
    (void)state;
    msg_t m;
    memset(&m, 0, sizeof m);
    m.data[0] = "$hb";
    m.len[0] = 3;
    m.len[1] = rtr_test_heartbeat_header(m.hdr, sizeof m.hdr, "agent-1", 77, 12);
    m.data[1] = m.hdr;
    m.data[2] = "{\"published\":12}";
    m.len[2] = strlen(m.data[2]);
    rtr_envelope_t env;
    assert_int_equal(s_env(&m, 3, &env), WIRE_OK);
    assert_true(env.heartbeat);
    assert_true(env.header_ok);
    assert_int_equal(env.hdr.kind, WIRE_KIND_HEARTBEAT);
    json_t *json = NULL;
    assert_int_equal(rtr_validate_payload(m.data[2], m.len[2], 65536, NULL, &json), WIRE_OK);
    assert_non_null(json);
    assert_int_equal(json_integer_value(json_object_get(json, "published")), 12);
    json_decref(json);
}

/* Anything but three frames is "frames", and nothing else is trusted. */
static void test_frames(void **state)
{
    (void)state;
    msg_t m;
    s_valid_event(&m);
    rtr_envelope_t env;
    size_t counts[] = {0, 1, 2, 4, 100};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        assert_int_equal(s_env(&m, counts[i], &env), WIRE_ERR_FRAMES);
        assert_false(env.header_ok);
    }
}

/* Bad topics are "topic"; a valid header on a bad topic is still decoded (to ack it). */
static void test_topic(void **state)
{
    (void)state;
    char long_room[WIRE_ROOM_MAX + 2];
    memset(long_room, 'a', WIRE_ROOM_MAX + 1);
    long_room[WIRE_ROOM_MAX + 1] = ' ';
    const struct {
        const char *t;
        size_t len;
    } bad[] = {
        {"", 0},
        {" ", 1},
        {"project:1", 9},
        {"bad room! ", 10},
        {"project:1  ", 11},
        {"$HB", 3},
        {"$hb ", 4},
        {"$h", 2},
        {"caf\xc3\xa9 ", 6},
        {"a\0b ", 4},
        {long_room, sizeof long_room},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg_t m;
        s_valid_event(&m);
        m.data[0] = bad[i].t;
        m.len[0] = bad[i].len;
        rtr_envelope_t env;
        assert_int_equal(s_env(&m, 3, &env), WIRE_ERR_TOPIC);
        assert_true(env.header_ok);
        assert_int_equal(env.hdr.pub_seq, 5);
    }
    /* The longest valid room is fine. */
    msg_t m;
    s_valid_event(&m);
    m.data[0] = long_room + 1;
    m.len[0] = WIRE_ROOM_MAX + 1;
    rtr_envelope_t env;
    assert_int_equal(s_env(&m, 3, &env), WIRE_OK);
    assert_int_equal(env.room_len, WIRE_ROOM_MAX);
}

/* Mutates the valid header with fn and expects err with header_ok false. */
static void s_expect_header(void (*fn)(msg_t *m), wire_err_t err)
{
    msg_t m;
    s_valid_event(&m);
    fn(&m);
    rtr_envelope_t env;
    assert_int_equal(s_env(&m, 3, &env), err);
    assert_false(env.header_ok);
}

static void s_short_fixed(msg_t *m)
{
    m->len[1] = 20;
}
static void s_short_strings(msg_t *m)
{
    m->len[1] -= 1;
}
static void s_empty_header(msg_t *m)
{
    m->len[1] = 0;
}
static void s_version(msg_t *m)
{
    m->hdr[0] = 2;
}
static void s_kind(msg_t *m)
{
    m->hdr[1] = 3;
}
static void s_flags(msg_t *m)
{
    m->hdr[2] = 0x02;
}
static void s_reserved(msg_t *m)
{
    m->hdr[7] = 1;
}
static void s_trailing(msg_t *m)
{
    m->len[1] += 1;
}
static void s_pubid_char(msg_t *m)
{
    m->hdr[WIRE_HEADER_FIXED] = '/';
}
static void s_pubid_empty(msg_t *m)
{
    /* P = 0: the type bytes now start at 48 and the header is 7 bytes too long. */
    m->hdr[3] = 0;
    m->len[1] -= 7;
    memmove(m->hdr + WIRE_HEADER_FIXED, m->hdr + WIRE_HEADER_FIXED + 7, m->len[1] - 48);
}
static void s_type_upper(msg_t *m)
{
    m->hdr[WIRE_HEADER_FIXED + 7] = 'T';
}
static void s_key_space(msg_t *m)
{
    /* Append a 3-byte key "a b". */
    m->hdr[5] = 3;
    memcpy(m->hdr + m->len[1], "a b", 3);
    m->len[1] += 3;
}
static void s_session_zero(msg_t *m)
{
    wire_put_u64(m->hdr + 8, 0);
}
static void s_seq_zero(msg_t *m)
{
    wire_put_u64(m->hdr + 16, 0);
}

/* Each header check maps to its reason. */
static void test_header_reasons(void **state)
{
    (void)state;
    s_expect_header(s_short_fixed, WIRE_ERR_SHORT);
    s_expect_header(s_short_strings, WIRE_ERR_SHORT);
    s_expect_header(s_empty_header, WIRE_ERR_SHORT);
    s_expect_header(s_version, WIRE_ERR_VERSION);
    s_expect_header(s_kind, WIRE_ERR_KIND);
    s_expect_header(s_flags, WIRE_ERR_RESERVED);
    s_expect_header(s_reserved, WIRE_ERR_RESERVED);
    s_expect_header(s_trailing, WIRE_ERR_RESERVED);
    s_expect_header(s_pubid_char, WIRE_ERR_PUBID);
    s_expect_header(s_pubid_empty, WIRE_ERR_PUBID);
    s_expect_header(s_type_upper, WIRE_ERR_TYPE);
    s_expect_header(s_key_space, WIRE_ERR_KEY);
    s_expect_header(s_session_zero, WIRE_ERR_SESSION);
    s_expect_header(s_seq_zero, WIRE_ERR_SESSION);
}

/* A heartbeat header on a room, or an event header on "$hb", is "kind" (header still usable). */
static void test_kind_mismatch(void **state)
{
    (void)state;
    msg_t m;
    s_valid_event(&m);
    m.data[0] = "$hb";
    m.len[0] = 3;
    rtr_envelope_t env;
    assert_int_equal(s_env(&m, 3, &env), WIRE_ERR_KIND);
    assert_true(env.header_ok);
    assert_true(env.heartbeat);

    s_valid_event(&m);
    m.len[1] = rtr_test_heartbeat_header(m.hdr, sizeof m.hdr, "agent-1", 77, 0);
    assert_int_equal(s_env(&m, 3, &env), WIRE_ERR_KIND);
    assert_true(env.header_ok);
    assert_int_equal(env.hdr.kind, WIRE_KIND_HEARTBEAT);

    /* A well-formed room head (kind 3), which only the router sends, is refused from an agent
     * on a room topic and on "$hb" alike. */
    wire_header_t head = {.kind = WIRE_KIND_HEAD,
                          .session = 1,
                          .ts_ns = 1,
                          .epoch = 9,
                          .seq = 4,
                          .pub_id = "router",
                          .pub_id_len = 6};
    s_valid_event(&m);
    m.len[1] = wire_header_encode(&head, m.hdr, sizeof m.hdr);
    assert_true(m.len[1] > 0);
    assert_int_equal(s_env(&m, 3, &env), WIRE_ERR_KIND);
    assert_true(env.header_ok);
    assert_int_equal(env.hdr.kind, WIRE_KIND_HEAD);
    m.data[0] = "$hb";
    m.len[0] = 3;
    assert_int_equal(s_env(&m, 3, &env), WIRE_ERR_KIND);
}

/* Payload size: up to max_payload is fine, one more byte is "size" (checked before parsing). */
static void test_size(void **state)
{
    (void)state;
    char buf[64] = "{\"a\":\"";
    size_t len = strlen(buf);
    memset(buf + len, 'x', 20);
    strcpy(buf + len + 20, "\"}");
    len = strlen(buf);
    assert_int_equal(rtr_validate_payload(buf, len, len, NULL, NULL), WIRE_OK);
    json_t *json = (json_t *)1;
    assert_int_equal(rtr_validate_payload(buf, len, len - 1, NULL, &json), WIRE_ERR_SIZE);
    assert_null(json);

    /* A huge frame is refused by its size alone. */
    size_t huge = 17u * 1024 * 1024;
    char *big = malloc(huge);
    assert_non_null(big);
    memset(big, '{', huge);
    assert_int_equal(rtr_validate_payload(big, huge, 16u * 1024 * 1024, NULL, NULL), WIRE_ERR_SIZE);
    /* ... and within the limit, deeply nested garbage is "json", not a crash. */
    assert_int_equal(rtr_validate_payload(big, huge, huge, NULL, NULL), WIRE_ERR_JSON);
    free(big);
}

/* Only a JSON object is accepted. */
static void test_json(void **state)
{
    (void)state;
    const struct {
        const char *p;
        size_t len;
    } bad[] = {
#define S(x) {x, sizeof(x) - 1}
        S(""),
        S("[1]"),
        S("1"),
        S("\"s\""),
        S("null"),
        S("{"),
        S("{} x"),
        S("{}{}"),
        S("{\"a\":}"),
        S("{\"a\":\"\xff\"}"),
        S("{\"a\":\"\\u0000\"}"),
        S("\0\0\0"),
        S("{\"a\":1,}"),
        S("{'a':1}"),
        S("{}\0"),
#undef S
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *json = (json_t *)1;
        if (rtr_validate_payload(bad[i].p, bad[i].len, 65536, NULL, &json) != WIRE_ERR_JSON)
            fail_msg("payload %zu accepted", i);
        assert_null(json);
    }
    assert_int_equal(rtr_validate_payload(NULL, 0, 65536, NULL, NULL), WIRE_ERR_JSON);
    const char *good[] = {"{}", " {\"a\":[1,2,{}]} \n", "{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(rtr_validate_payload(good[i], strlen(good[i]), 65536, NULL, NULL),
                         WIRE_OK);
}

/* A small deterministic PRNG (xorshift64*) so the garbage tests are reproducible. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Random frames and every single-byte corruption of a valid header never crash; a rejected
 * header never reports header_ok. */
static void test_garbage(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint8_t frames[RTR_FRAMES][300];
    /* Garbage payloads also go through a small arena, which they often overflow. */
    rtr_jarena_install();
    rtr_jarena_t *arena = rtr_jarena_new(128);
    assert_non_null(arena);
    for (int round = 0; round < 20000; round++) {
        msg_t m;
        memset(&m, 0, sizeof m);
        for (int f = 0; f < RTR_FRAMES; f++) {
            size_t len = s_rand(&seed) % sizeof frames[f];
            for (size_t i = 0; i < len; i++)
                frames[f][i] = (uint8_t)s_rand(&seed);
            if (f == 1 && len >= 8) {
                frames[f][0] = 1; /* get past the version check more often */
                frames[f][6] = frames[f][7] = 0;
            }
            m.data[f] = frames[f];
            m.len[f] = len;
        }
        rtr_envelope_t env;
        wire_err_t err = s_env(&m, 3, &env);
        assert_true(err >= WIRE_OK && err < WIRE_ERR__COUNT);
        wire_err_t plain = rtr_validate_payload(m.data[2], m.len[2], 200, NULL, NULL);
        assert_int_equal(rtr_validate_payload(m.data[2], m.len[2], 200, arena, NULL), plain);
    }
    rtr_jarena_destroy(&arena);
    msg_t base;
    s_valid_event(&base);
    for (size_t pos = 0; pos < base.len[1]; pos++) {
        for (int v = 0; v < 256; v++) {
            msg_t m = base;
            m.data[1] = m.hdr;
            m.hdr[pos] = (uint8_t)v;
            rtr_envelope_t env;
            wire_err_t err = s_env(&m, 3, &env);
            assert_true(err >= WIRE_OK && err < WIRE_ERR__COUNT);
            if (err != WIRE_OK && err != WIRE_ERR_KIND)
                assert_false(env.header_ok);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_event),    cmocka_unit_test(test_valid_heartbeat),
        cmocka_unit_test(test_frames),         cmocka_unit_test(test_topic),
        cmocka_unit_test(test_header_reasons), cmocka_unit_test(test_kind_mismatch),
        cmocka_unit_test(test_size),           cmocka_unit_test(test_json),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
