/*
 * test_edge_proto.c: parsing client messages into requests or error codes, and the exact reply
 * frames (welcome, subscribed, unsubscribed, pong, error) including the "id" echo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_proto.h"

/* Parses text and returns the request (the caller clears it). */
static edge_req_t s_parse(const char *text, int want_rc)
{
    edge_req_t req;
    assert_int_equal(edge_proto_parse(text, strlen(text), &req), want_rc);
    return req;
}

/* Asserts a frame's text and drops it. */
static void s_expect(edge_frame_t *f, const char *want)
{
    assert_non_null(f);
    assert_string_equal((const char *)edge_frame_data(f), want);
    assert_int_equal(edge_frame_len(f), strlen(want));
    edge_frame_unref(&f);
}

/* Parses text, expects error code err, and checks the whole error frame. */
static void s_expect_error(const char *text, edge_err_t err, const char *want_frame)
{
    edge_req_t req = s_parse(text, -1);
    assert_int_equal(req.err, err);
    s_expect(edge_proto_error(&req), want_frame);
    edge_req_clear(&req);
}

static void test_names(void **state)
{
    assert_string_equal(edge_err_name(EDGE_ERR_BAD_JSON), "bad_json");
    assert_string_equal(edge_err_name(EDGE_ERR_NOT_OBJECT), "not_object");
    assert_string_equal(edge_err_name(EDGE_ERR_MISSING_FIELD), "missing_field");
    assert_string_equal(edge_err_name(EDGE_ERR_BAD_FIELD), "bad_field");
    assert_string_equal(edge_err_name(EDGE_ERR_UNKNOWN_OP), "unknown_op");
    assert_string_equal(edge_err_name(EDGE_ERR_INVALID_ROOM), "invalid_room");
    assert_string_equal(edge_err_name(EDGE_ERR_NOT_SUBSCRIBED), "not_subscribed");
    assert_string_equal(edge_err_name(EDGE_ERR_BAD_SINCE), "bad_since");
    assert_string_equal(edge_err_name(EDGE_ERR_RATE_LIMITED), "rate_limited");
    assert_string_equal(edge_err_name(EDGE_ERR_TOO_MANY_SUBSCRIPTIONS), "too_many_subscriptions");
    assert_string_equal(edge_err_name(EDGE_ERR__COUNT), "unknown");
    assert_string_equal(edge_op_name(EDGE_OP_SUBSCRIBE), "subscribe");
    assert_string_equal(edge_op_name(EDGE_OP_UNSUBSCRIBE), "unsubscribe");
    assert_string_equal(edge_op_name(EDGE_OP_PING), "ping");
    assert_null(edge_op_name(EDGE_OP_NONE));
}

static void test_valid_requests(void **state)
{
    edge_req_t req = s_parse("{\"op\":\"subscribe\",\"room\":\"project:1\"}", 0);
    assert_int_equal(req.op, EDGE_OP_SUBSCRIBE);
    assert_int_equal(req.err, EDGE_ERR_NONE);
    assert_string_equal(req.room, "project:1");
    assert_int_equal(req.room_len, 9);
    assert_null(req.id);
    s_expect(edge_proto_reply(&req), "{\"op\":\"subscribed\",\"room\":\"project:1\"}");
    edge_req_clear(&req);
    /* With the room's position at the edge (a subscribe without since); 2^53 stays exact. */
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"project:1\",\"id\":1}", 0);
    s_expect(edge_proto_reply_at(&req, true, 9007199254740992ULL, 41),
             "{\"op\":\"subscribed\",\"room\":\"project:1\",\"epoch\":9007199254740992,"
             "\"seq\":41,\"id\":1}");
    s_expect(edge_proto_reply_at(&req, false, 5, 6),
             "{\"op\":\"subscribed\",\"room\":\"project:1\",\"id\":1}");
    edge_req_clear(&req);
    s_expect(edge_proto_position("project:1", 9, 3, 0),
             "{\"op\":\"position\",\"room\":\"project:1\",\"epoch\":3,\"seq\":0}");
    req = s_parse("{\"op\":\"ping\"}", 0); /* only a subscribe answer carries a position */
    s_expect(edge_proto_reply_at(&req, true, 5, 6), "{\"op\":\"pong\"}");
    edge_req_clear(&req);

    req = s_parse(" {\"room\":\"agent:*\", \"op\":\"unsubscribe\", \"extra\":[1]} ", 0);
    assert_int_equal(req.op, EDGE_OP_UNSUBSCRIBE);
    s_expect(edge_proto_reply(&req), "{\"op\":\"unsubscribed\",\"room\":\"agent:*\"}");
    edge_req_clear(&req);

    req = s_parse("{\"op\":\"ping\",\"room\":42}", 0); /* ping ignores room */
    assert_int_equal(req.op, EDGE_OP_PING);
    s_expect(edge_proto_reply(&req), "{\"op\":\"pong\"}");
    edge_req_clear(&req);

    req = s_parse("{\"op\":\"subscribe\",\"room\":\"*\"}", 0);
    s_expect(edge_proto_reply(&req), "{\"op\":\"subscribed\",\"room\":\"*\"}");
    edge_req_clear(&req);
    edge_req_clear(&req); /* safe twice */
}

static void test_id_echo(void **state)
{
    edge_req_t req = s_parse("{\"id\":\"a\\\"b\",\"op\":\"ping\"}", 0);
    s_expect(edge_proto_reply(&req), "{\"op\":\"pong\",\"id\":\"a\\\"b\"}");
    edge_req_clear(&req);

    req = s_parse("{\"op\":\"subscribe\",\"room\":\"global\",\"id\":7}", 0);
    s_expect(edge_proto_reply(&req), "{\"op\":\"subscribed\",\"room\":\"global\",\"id\":7}");
    edge_req_clear(&req);

    req = s_parse("{\"op\":\"unsubscribe\",\"room\":\"global\",\"id\":-2.5}", 0);
    s_expect(edge_proto_reply(&req), "{\"op\":\"unsubscribed\",\"room\":\"global\",\"id\":-2.5}");
    edge_req_clear(&req);

    /* Errors echo the id too, whenever it could be read. */
    s_expect_error("{\"op\":\"dance\",\"id\":\"x1\"}", EDGE_ERR_UNKNOWN_OP,
                   "{\"op\":\"error\",\"code\":\"unknown_op\",\"message\":\"unknown op 'dance'\","
                   "\"id\":\"x1\"}");
    /* An id of the wrong type is itself the error, and is not echoed. */
    s_expect_error("{\"op\":\"ping\",\"id\":{\"a\":1}}", EDGE_ERR_BAD_FIELD,
                   "{\"op\":\"error\",\"code\":\"bad_field\",\"message\":\"'id' must be a string "
                   "or a number\"}");
    s_expect_error("{\"op\":\"ping\",\"id\":true}", EDGE_ERR_BAD_FIELD,
                   "{\"op\":\"error\",\"code\":\"bad_field\",\"message\":\"'id' must be a string "
                   "or a number\"}");
}

static void test_bad_json(void **state)
{
    const char *bad[] = {"", "{", "{\"op\":}", "nope", "{\"op\":\"ping\"} x", "\"\\u0000\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        edge_req_t req = s_parse(bad[i], -1);
        assert_int_equal(req.err, EDGE_ERR_BAD_JSON);
        assert_int_equal(req.op, EDGE_OP_NONE);
        assert_true(strncmp(req.message, "invalid JSON", 12) == 0);
        edge_frame_t *f = edge_proto_error(&req);
        assert_non_null(f);
        assert_true(strncmp((char *)edge_frame_data(f),
                            "{\"op\":\"error\",\"code\":\"bad_json\",\"message\":\"invalid JSON",
                            52) == 0);
        assert_null(strstr((char *)edge_frame_data(f), "\"for\""));
        edge_frame_unref(&f);
        edge_req_clear(&req);
    }
    /* Not NUL-terminated input: only len bytes count. */
    edge_req_t req;
    assert_int_equal(edge_proto_parse("{\"op\":\"ping\"}garbage", 13, &req), 0);
    assert_int_equal(req.op, EDGE_OP_PING);
    edge_req_clear(&req);
}

static void test_not_object(void **state)
{
    const char *texts[] = {"[]", "42", "\"ping\"", "null", "true"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        s_expect_error(texts[i], EDGE_ERR_NOT_OBJECT,
                       "{\"op\":\"error\",\"code\":\"not_object\","
                       "\"message\":\"a message must be a JSON object\"}");
}

static void test_missing_and_bad_fields(void **state)
{
    s_expect_error("{}", EDGE_ERR_MISSING_FIELD,
                   "{\"op\":\"error\",\"code\":\"missing_field\",\"message\":\"missing field "
                   "'op'\"}");
    s_expect_error("{\"op\":1,\"id\":3}", EDGE_ERR_BAD_FIELD,
                   "{\"op\":\"error\",\"code\":\"bad_field\",\"message\":\"'op' must be a "
                   "string\",\"id\":3}");
    s_expect_error("{\"op\":\"subscribe\",\"id\":\"s\"}", EDGE_ERR_MISSING_FIELD,
                   "{\"op\":\"error\",\"code\":\"missing_field\",\"message\":\"missing field "
                   "'room'\",\"for\":\"subscribe\",\"id\":\"s\"}");
    s_expect_error("{\"op\":\"unsubscribe\",\"room\":[\"a\"]}", EDGE_ERR_BAD_FIELD,
                   "{\"op\":\"error\",\"code\":\"bad_field\",\"message\":\"'room' must be a "
                   "string\",\"for\":\"unsubscribe\"}");
}

static void test_batch_field(void **state)
{
    /* Absent or true: batched (the default, not echoed); false: unbatched, confirmed. */
    edge_req_t req = s_parse("{\"op\":\"subscribe\",\"room\":\"a\",\"batch\":true}", 0);
    assert_false(req.unbatched);
    s_expect(edge_proto_reply(&req), "{\"op\":\"subscribed\",\"room\":\"a\"}");
    edge_req_clear(&req);
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"a*\",\"batch\":false,\"id\":2}", 0);
    assert_true(req.unbatched);
    s_expect(edge_proto_reply(&req),
             "{\"op\":\"subscribed\",\"room\":\"a*\",\"batch\":false,\"id\":2}");
    edge_req_clear(&req);
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"a\",\"batch\":false,"
                  "\"since\":{\"epoch\":1,\"seq\":2}}",
                  0);
    assert_true(req.unbatched);
    assert_true(req.has_since);
    edge_req_clear(&req);
    /* Only subscribe reads it. */
    req = s_parse("{\"op\":\"unsubscribe\",\"room\":\"a\",\"batch\":false}", 0);
    assert_false(req.unbatched);
    edge_req_clear(&req);
    s_expect_error("{\"op\":\"subscribe\",\"room\":\"a\",\"batch\":0}", EDGE_ERR_BAD_FIELD,
                   "{\"op\":\"error\",\"code\":\"bad_field\",\"message\":\"'batch' must be "
                   "true or false\",\"for\":\"subscribe\",\"room\":\"a\"}");
}

static void test_limit_errors(void **state)
{
    /* The frames the edge sends for its limits. */
    edge_req_t req;
    memset(&req, 0, sizeof req);
    edge_req_fail(&req, EDGE_ERR_RATE_LIMITED, "over %d messages a minute", 100);
    s_expect(edge_proto_error(&req), "{\"op\":\"error\",\"code\":\"rate_limited\",\"message\":"
                                     "\"over 100 messages a minute\"}");
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"r\",\"id\":9}", 0);
    edge_req_fail(&req, EDGE_ERR_TOO_MANY_SUBSCRIPTIONS, "at most %d", 256);
    s_expect(edge_proto_error(&req),
             "{\"op\":\"error\",\"code\":\"too_many_subscriptions\",\"message\":\"at most "
             "256\",\"for\":\"subscribe\",\"room\":\"r\",\"id\":9}");
    edge_req_clear(&req);
}

static void test_unknown_op(void **state)
{
    s_expect_error("{\"op\":\"Subscribe\",\"room\":\"a\"}", EDGE_ERR_UNKNOWN_OP,
                   "{\"op\":\"error\",\"code\":\"unknown_op\",\"message\":\"unknown op "
                   "'Subscribe'\"}");
    s_expect_error("{\"op\":\"\"}", EDGE_ERR_UNKNOWN_OP,
                   "{\"op\":\"error\",\"code\":\"unknown_op\",\"message\":\"unknown op ''\"}");
}

/* An error message quoting the client's bytes is still valid UTF-8, so the error frame can be
 * built (fuzz_proto: these got no answer at all). */
static void test_error_message_utf8(void **state)
{
    /* An op name of 39 ASCII bytes and a two-byte character: %.40s cuts the character. */
    s_expect_error("{\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"}",
                   EDGE_ERR_UNKNOWN_OP,
                   "{\"op\":\"error\",\"code\":\"unknown_op\",\"message\":\"unknown op "
                   "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?'\"}");
    /* Invalid UTF-8 that jansson's error text quotes. */
    s_expect_error("{\"o\\\xd3\x8b\"}", EDGE_ERR_BAD_JSON,
                   "{\"op\":\"error\",\"code\":\"bad_json\",\"message\":\"invalid JSON at byte 5: "
                   "invalid escape near '\\\"o\\\\?'\"}");
    /* A character that fits is kept. */
    s_expect_error("{\"op\":\"caf\xc3\xa9\"}", EDGE_ERR_UNKNOWN_OP,
                   "{\"op\":\"error\",\"code\":\"unknown_op\",\"message\":\"unknown op "
                   "'caf\\u00E9'\"}");
}

static void test_invalid_room(void **state)
{
    s_expect_error("{\"op\":\"subscribe\",\"room\":\"a b\",\"id\":1}", EDGE_ERR_INVALID_ROOM,
                   "{\"op\":\"error\",\"code\":\"invalid_room\",\"message\":\"a room is "
                   "[A-Za-z0-9_.:-]{1,128}, optionally ending in '*'\",\"for\":\"subscribe\","
                   "\"room\":\"a b\",\"id\":1}");
    const char *bad[] = {"", "agent:*x", "**", "a*b", "caf\\u00e9", "x\\\"y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"op\":\"subscribe\",\"room\":\"%s\"}", bad[i]);
        edge_req_t req = s_parse(text, -1);
        assert_int_equal(req.err, EDGE_ERR_INVALID_ROOM);
        assert_int_equal(req.op, EDGE_OP_SUBSCRIBE);
        edge_req_clear(&req);
    }
    /* 128 characters is the longest room; 129 is too long and not echoed back. */
    char room[130];
    memset(room, 'r', 129);
    room[128] = '\0';
    char text[300];
    snprintf(text, sizeof text, "{\"op\":\"subscribe\",\"room\":\"%s\"}", room);
    edge_req_t req = s_parse(text, 0);
    assert_int_equal(req.room_len, 128);
    edge_req_clear(&req);
    room[128] = 'r';
    room[129] = '\0';
    snprintf(text, sizeof text, "{\"op\":\"subscribe\",\"room\":\"%s\"}", room);
    req = s_parse(text, -1);
    assert_int_equal(req.err, EDGE_ERR_INVALID_ROOM);
    edge_frame_t *f = edge_proto_error(&req);
    assert_null(strstr((char *)edge_frame_data(f), "\"room\""));
    edge_frame_unref(&f);
    edge_req_clear(&req);
}

static void test_not_subscribed(void **state)
{
    /* The parser accepts the request; the server finds the membership missing. */
    edge_req_t req = s_parse("{\"op\":\"unsubscribe\",\"room\":\"agent:9\",\"id\":\"u\"}", 0);
    edge_req_fail(&req, EDGE_ERR_NOT_SUBSCRIBED, "not subscribed to '%s'", req.room);
    s_expect(edge_proto_error(&req),
             "{\"op\":\"error\",\"code\":\"not_subscribed\",\"message\":\"not subscribed to "
             "'agent:9'\",\"for\":\"unsubscribe\",\"room\":\"agent:9\",\"id\":\"u\"}");
    edge_req_clear(&req);
}

static void test_welcome(void **state)
{
    s_expect(edge_proto_welcome("edge-1", 65536, "none", NULL, 0),
             "{\"op\":\"welcome\",\"edge\":\"edge-1\",\"protocol\":1,\"max_message\":65536,"
             "\"auth\":\"none\"}");
    s_expect(edge_proto_welcome("e", 1024, "ok", "42", 1790000000),
             "{\"op\":\"welcome\",\"edge\":\"e\",\"protocol\":1,\"max_message\":1024,"
             "\"auth\":\"ok\",\"sub\":\"42\",\"exp\":1790000000}");
}

static void test_auth(void **state)
{
    edge_req_t req = s_parse("{\"op\":\"auth\",\"token\":\"a.b.c\",\"id\":3}", 0);
    assert_int_equal(req.op, EDGE_OP_AUTH);
    assert_int_equal(req.token_len, 5);
    assert_string_equal(req.token, "a.b.c");
    s_expect(edge_proto_authenticated("42", 1790000000, req.id),
             "{\"op\":\"authenticated\",\"sub\":\"42\",\"exp\":1790000000,\"id\":3}");
    edge_req_fail(&req, EDGE_ERR_UNAUTHORIZED, "%s", "token expired");
    s_expect(edge_proto_error(&req), "{\"op\":\"error\",\"code\":\"unauthorized\",\"message\":"
                                     "\"token expired\",\"for\":\"auth\",\"id\":3}");
    edge_req_clear(&req);
    assert_null(req.token);
    req = s_parse("{\"op\":\"auth\"}", -1);
    assert_int_equal(req.err, EDGE_ERR_MISSING_FIELD);
    edge_req_clear(&req);
    req = s_parse("{\"op\":\"auth\",\"token\":\"\"}", -1);
    assert_int_equal(req.err, EDGE_ERR_BAD_FIELD);
    edge_req_clear(&req);
    req = s_parse("{\"op\":\"auth\",\"token\":7}", -1);
    assert_int_equal(req.err, EDGE_ERR_BAD_FIELD);
    edge_req_clear(&req);
    s_expect(edge_proto_unsubscribed("team:1", 6, "forbidden"),
             "{\"op\":\"unsubscribed\",\"room\":\"team:1\",\"reason\":\"forbidden\"}");
    assert_string_equal(edge_err_name(EDGE_ERR_FORBIDDEN), "forbidden");
    assert_string_equal(edge_err_name(EDGE_ERR_AUTH_REQUIRED), "auth_required");
}

static void test_since(void **state)
{
    edge_req_t req = s_parse("{\"op\":\"subscribe\",\"room\":\"project:1\","
                             "\"since\":{\"epoch\":4518532211,\"seq\":17},\"id\":5}",
                             0);
    assert_true(req.has_since);
    assert_int_equal(req.since_epoch, 4518532211ull);
    assert_int_equal(req.since_seq, 17);
    /* The id can be taken for the answer that comes later. */
    void *id = edge_req_take_id(&req);
    assert_non_null(id);
    assert_null(req.id);
    edge_req_clear(&req);
    s_expect(edge_proto_subscribed("project:1", 9, id, true, 4518532211ull, 17, ""),
             "{\"op\":\"subscribed\",\"room\":\"project:1\",\"recovered\":true,"
             "\"epoch\":4518532211,\"seq\":17,\"id\":5}");
    edge_proto_id_free(&id);
    assert_null(id);
    edge_proto_id_free(&id); /* NULL-safe */
    /* The limits: 0 and 2^53 are fine. */
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"r\","
                  "\"since\":{\"epoch\":9007199254740992,\"seq\":0}}",
                  0);
    assert_true(req.has_since);
    assert_int_equal(req.since_epoch, 9007199254740992ull);
    edge_req_clear(&req);
    /* Without since: a plain subscribe. */
    req = s_parse("{\"op\":\"subscribe\",\"room\":\"r\"}", 0);
    assert_false(req.has_since);
    edge_req_clear(&req);
    /* Unsolicited notice: no id; the reason only when not recovered. */
    s_expect(edge_proto_subscribed("r", 1, NULL, false, 9, 3, "epoch_changed"),
             "{\"op\":\"subscribed\",\"room\":\"r\",\"recovered\":false,\"epoch\":9,"
             "\"seq\":3,\"reason\":\"epoch_changed\"}");
}

static void test_bad_since(void **state)
{
    const char *bad[] = {
        "\"since\":5",
        "\"since\":null",
        "\"since\":{}",
        "\"since\":{\"epoch\":1}",
        "\"since\":{\"seq\":1}",
        "\"since\":{\"epoch\":-1,\"seq\":1}",
        "\"since\":{\"epoch\":1,\"seq\":1.5}",
        "\"since\":{\"epoch\":1,\"seq\":\"2\"}",
        "\"since\":{\"epoch\":9007199254740993,\"seq\":1}",
        "\"since\":{\"epoch\":1,\"seq\":1e3}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"op\":\"subscribe\",\"room\":\"r\",%s,\"id\":1}", bad[i]);
        edge_req_t req = s_parse(text, -1);
        assert_int_equal(req.err, EDGE_ERR_BAD_SINCE);
        edge_req_clear(&req);
    }
    s_expect_error("{\"op\":\"subscribe\",\"room\":\"agent:*\","
                   "\"since\":{\"epoch\":1,\"seq\":2},\"id\":\"x\"}",
                   EDGE_ERR_BAD_SINCE,
                   "{\"op\":\"error\",\"code\":\"bad_since\",\"message\":\"'since' needs an "
                   "exact room, not a pattern\",\"for\":\"subscribe\",\"room\":\"agent:*\","
                   "\"id\":\"x\"}");
    /* An invalid room is reported as such, whatever since says. */
    edge_req_t req = s_parse("{\"op\":\"subscribe\",\"room\":\"a b\",\"since\":5}", -1);
    assert_int_equal(req.err, EDGE_ERR_INVALID_ROOM);
    edge_req_clear(&req);
    /* since means nothing to unsubscribe: ignored. */
    req = s_parse("{\"op\":\"unsubscribe\",\"room\":\"r\",\"since\":5}", 0);
    assert_false(req.has_since);
    edge_req_clear(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),          cmocka_unit_test(test_valid_requests),
        cmocka_unit_test(test_id_echo),        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_not_object),     cmocka_unit_test(test_missing_and_bad_fields),
        cmocka_unit_test(test_unknown_op),     cmocka_unit_test(test_invalid_room),
        cmocka_unit_test(test_not_subscribed), cmocka_unit_test(test_welcome),
        cmocka_unit_test(test_auth),           cmocka_unit_test(test_error_message_utf8),
        cmocka_unit_test(test_since),          cmocka_unit_test(test_bad_since),
        cmocka_unit_test(test_batch_field),    cmocka_unit_test(test_limit_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
