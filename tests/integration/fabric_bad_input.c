/*
 * fabric_bad_input.c: every kind of bad client input gets its documented answer, and nothing
 * else is disturbed.
 *
 * One test case per bad input, each on a fresh connection. Errors that keep the connection open
 * (bad_json, not_object, unknown_op, missing_field, bad_field, invalid_room) must be followed by
 * a working ping/pong on the same connection. Inputs that close it must close with the documented
 * code and reason: over max_message (one frame, or fragments adding up) 1009, binary 1003. After
 * every case a separate healthy client must still receive a freshly published event. Boundaries
 * are checked from both sides: exactly max_message bytes and a 128-character room are accepted.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_MESSAGE 65536

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;         /* the private fabric */
    ts_wsc_t *wsc;            /* WebSocket client context */
    weft_pub_t *pub;          /* publishes the healthy client's events */
    ts_wsc_conn_t *healthy;   /* subscribed to "healthy"; must never be disturbed */
    int healthy_sent;         /* events published to "healthy" so far */
    int conns;                /* names fresh connections */
    int ready;                /* set up completed */
} test_ctx_t;

/* Publishes one more event to "healthy" and waits for the healthy client to get it. */
static void s_check_healthy(test_ctx_t *ctx)
{
    char json[64];
    snprintf(json, sizeof json, "{\"n\":%d}", ctx->healthy_sent);
    assert_int_equal(it_publish(ctx->pub, "healthy", "test.healthy", json), 0);
    ctx->healthy_sent++;
    if (ts_wsc_wait_count(ctx->healthy, "event", "healthy", (size_t)ctx->healthy_sent,
                          IT_WAIT_MS) != 0)
        fail_msg("the healthy client stopped receiving: %s", ts_wsc_describe(ctx->healthy));
    size_t from = 0;
    json_t *last = NULL, *frame;
    while ((frame = ts_wsc_wait_op(ctx->healthy, "event", "healthy", &from, 0)) != NULL)
        last = frame;
    json_t *data = json_pack("{s:i}", "n", ctx->healthy_sent - 1);
    int rc = it_check_event(last, "healthy", "test.healthy", data);
    json_decref(data);
    assert_int_equal(rc, 0);
    assert_int_equal(it_event_u64(last, "seq"), (uint64_t)ctx->healthy_sent);
}

/* Opens a fresh connection to the edge. */
static ts_wsc_conn_t *s_connect(test_ctx_t *ctx, const char *what)
{
    char name[96];
    snprintf(name, sizeof name, "conn%d (%s)", ++ctx->conns, what);
    ts_wsc_conn_t *conn = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), name);
    assert_non_null(conn);
    assert_int_equal(ts_wsc_wait_open(conn, IT_WAIT_MS), 0);
    return conn;
}

/* Sends ping with an id and expects the matching pong. */
static void s_check_ping(ts_wsc_conn_t *conn)
{
    size_t from = ts_wsc_frame_count(conn);
    assert_int_equal(ts_wsc_send_text(conn, "{\"op\":\"ping\",\"id\":\"after\"}"), 0);
    json_t *pong = ts_wsc_wait_op(conn, "pong", NULL, &from, IT_WAIT_MS);
    if (!pong)
        fail_msg("no pong: %s", ts_wsc_describe(conn));
    assert_string_equal(json_string_value(json_object_get(pong, "id")), "after");
}

/* Sends text on a fresh connection and expects an error frame with code (and `for` when given),
 * then a working ping, then a healthy fabric. */
static void s_expect_error(test_ctx_t *ctx, const char *text, const char *code, const char *for_op)
{
    ts_wsc_conn_t *conn = s_connect(ctx, code);
    size_t from = ts_wsc_frame_count(conn);
    assert_int_equal(ts_wsc_send_text(conn, text), 0);
    json_t *err = ts_wsc_wait_op(conn, "error", NULL, &from, IT_WAIT_MS);
    if (!err)
        fail_msg("no error frame for %.80s: %s", text, ts_wsc_describe(conn));
    const char *got = json_string_value(json_object_get(err, "code"));
    if (!got || strcmp(got, code) != 0)
        fail_msg("for %.80s: error code %s, want %s", text, got ? got : "(none)", code);
    assert_non_null(json_string_value(json_object_get(err, "message")));
    if (for_op)
        assert_string_equal(json_string_value(json_object_get(err, "for")), for_op);
    /* Exactly one reply: nothing but the error arrived for the bad input. */
    assert_int_equal(ts_wsc_frame_count(conn), from);
    s_check_ping(conn);
    assert_true(ts_wsc_is_open(conn));
    ts_wsc_close(conn);
    s_check_healthy(ctx);
}

/* Expects conn to be closed by the edge with code and reason, then a healthy fabric. */
static void s_expect_close(test_ctx_t *ctx, ts_wsc_conn_t *conn, int code, const char *reason)
{
    if (ts_wsc_wait_closed(conn, IT_WAIT_MS) != 0)
        fail_msg("edge did not close: %s", ts_wsc_describe(conn));
    if (ts_wsc_close_code(conn) != code)
        fail_msg("close code %d, want %d: %s", ts_wsc_close_code(conn), code,
                 ts_wsc_describe(conn));
    assert_string_equal(ts_wsc_close_reason(conn), reason);
    s_check_healthy(ctx);
}

/* Starts the fabric and the healthy client. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    /* Every bad message here must be answered on its own; the per-connection rate limit (10 at
     * once, 100 a minute by default) would turn the error burst into rate_limited answers and a
     * 1008 close, which delivery_limits tests. So it is off for this edge. */
    const char *edge_args[] = {"--rate-limit-per-min", "0", NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-bad", edge_args), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->healthy = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "healthy");
    assert_non_null(ctx->healthy);
    assert_int_equal(ts_wsc_wait_open(ctx->healthy, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->healthy, "healthy", IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
    s_check_healthy(ctx);
}

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* Not JSON at all. */
static void test_bad_json(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\": \"subscribe\", room", "bad_json", NULL);
}

/* Empty text frame: not JSON either. */
static void test_empty_frame(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "", "bad_json", NULL);
}

/* A JSON array. */
static void test_not_object(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "[\"subscribe\",\"room:1\"]", "not_object", NULL);
}

/* A JSON string. */
static void test_not_object_string(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "\"subscribe\"", "not_object", NULL);
}

/* An op nobody knows. */
static void test_unknown_op(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"dance\",\"room\":\"room:1\"}", "unknown_op", NULL);
}

/* No op. */
static void test_missing_op(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"room\":\"room:1\"}", "missing_field", NULL);
}

/* subscribe without room. */
static void test_missing_room(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"subscribe\"}", "missing_field", "subscribe");
}

/* unsubscribe without room. */
static void test_missing_room_unsubscribe(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"unsubscribe\"}", "missing_field", "unsubscribe");
}

/* room is a number. */
static void test_room_not_string(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"subscribe\",\"room\":5}", "bad_field", "subscribe");
}

/* op is a number. */
static void test_op_not_string(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":1,\"room\":\"room:1\"}", "bad_field", NULL);
}

/* A room with a space and a '!'. */
static void test_invalid_room_chars(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"subscribe\",\"room\":\"bad room!\"}", "invalid_room",
                   "subscribe");
}

/* Rooms of 129 characters are invalid; 128 are fine. */
static void test_room_length(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    char room[130], text[256];
    memset(room, 'r', 129);
    room[129] = '\0';
    snprintf(text, sizeof text, "{\"op\":\"subscribe\",\"room\":\"%s\"}", room);
    s_expect_error(ctx, text, "invalid_room", "subscribe");
    room[128] = '\0';
    ts_wsc_conn_t *conn = s_connect(ctx, "128-character room");
    assert_int_equal(ts_wsc_subscribe(conn, room, IT_WAIT_MS), 0);
    ts_wsc_close(conn);
}

/* A pattern with the '*' anywhere but at the end is invalid. */
static void test_invalid_pattern(void **state)
{
    NEED_READY((test_ctx_t *)*state);
    s_expect_error(*state, "{\"op\":\"subscribe\",\"room\":\"a*b\"}", "invalid_room",
                   "subscribe");
}

/* Exactly max_message bytes, in one frame and in fragments, is accepted. */
static void test_at_limit(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "exactly max_message");
    size_t from = ts_wsc_frame_count(conn);
    assert_int_equal(ts_wsc_send_sized(conn, MAX_MESSAGE), 0);
    if (!ts_wsc_wait_op(conn, "pong", NULL, &from, IT_WAIT_MS))
        fail_msg("a %d-byte ping got no pong: %s", MAX_MESSAGE, ts_wsc_describe(conn));
    const char *small = "{\"op\":\"ping\",\"id\":\"fragmented\"}";
    assert_int_equal(ts_wsc_send_fragmented(conn, small, strlen(small), 3), 0);
    json_t *pong = ts_wsc_wait_op(conn, "pong", NULL, &from, IT_WAIT_MS);
    if (!pong)
        fail_msg("a fragmented ping got no pong: %s", ts_wsc_describe(conn));
    assert_string_equal(json_string_value(json_object_get(pong, "id")), "fragmented");
    assert_true(ts_wsc_is_open(conn));
    ts_wsc_close(conn);
    s_check_healthy(ctx);
}

/* One byte over max_message in one frame closes with 1009. */
static void test_over_limit(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "max_message + 1");
    assert_int_equal(ts_wsc_send_sized(conn, MAX_MESSAGE + 1), 0);
    s_expect_close(ctx, conn, 1009, "message too big");
}

/* A large frame (100 KiB) closes with 1009. */
static void test_far_over_limit(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "100 KiB frame");
    assert_int_equal(ts_wsc_send_sized(conn, 100 * 1024), 0);
    s_expect_close(ctx, conn, 1009, "message too big");
}

/* Fragments each under the limit but together over it close with 1009. */
static void test_fragments_over_limit(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "fragments over max_message");
    size_t len = 3 * 30000;
    char *text = malloc(len + 1);
    assert_non_null(text);
    static const char head[] = "{\"op\":\"ping\",\"pad\":\"";
    memcpy(text, head, sizeof head - 1);
    memset(text + sizeof head - 1, 'y', len - (sizeof head - 1) - 2);
    memcpy(text + len - 2, "\"}", 2);
    text[len] = '\0';
    int rc = ts_wsc_send_fragmented(conn, text, len, 3);
    free(text);
    assert_int_equal(rc, 0);
    s_expect_close(ctx, conn, 1009, "message too big");
}

/* A binary frame closes with 1003. */
static void test_binary(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "binary");
    static const unsigned char bytes[] = {0x7b, 0x00, 0xff, 0x7d};
    assert_int_equal(ts_wsc_send_binary(conn, bytes, sizeof bytes), 0);
    s_expect_close(ctx, conn, 1003, "binary frames are not supported");
}

/* Many errors in a row on one connection: still open, every one answered, in order. */
static void test_error_burst(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *conn = s_connect(ctx, "error burst");
    size_t from = ts_wsc_frame_count(conn);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ts_wsc_send_textf(conn, "{\"op\":\"nope\",\"id\":%d}", i), 0);
    if (ts_wsc_wait_count(conn, "error", NULL, 100, IT_WAIT_MS) != 0)
        fail_msg("%zu of 100 errors answered: %s", ts_wsc_count_op(conn, "error", NULL),
                 ts_wsc_describe(conn));
    for (int i = 0; i < 100; i++) {
        json_t *err = ts_wsc_wait_op(conn, "error", NULL, &from, 0);
        assert_non_null(err);
        assert_string_equal(json_string_value(json_object_get(err, "code")), "unknown_op");
        assert_int_equal(json_integer_value(json_object_get(err, "id")), i);
    }
    s_check_ping(conn);
    ts_wsc_close(conn);
    s_check_healthy(ctx);
}

/* The edge and the router still stop cleanly after all that. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    assert_int_equal(ts_wsc_bad_frames(ctx->healthy), 0);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("fabric_bad_input");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_bad_json, &ctx),
        cmocka_unit_test_prestate(test_empty_frame, &ctx),
        cmocka_unit_test_prestate(test_not_object, &ctx),
        cmocka_unit_test_prestate(test_not_object_string, &ctx),
        cmocka_unit_test_prestate(test_unknown_op, &ctx),
        cmocka_unit_test_prestate(test_missing_op, &ctx),
        cmocka_unit_test_prestate(test_missing_room, &ctx),
        cmocka_unit_test_prestate(test_missing_room_unsubscribe, &ctx),
        cmocka_unit_test_prestate(test_room_not_string, &ctx),
        cmocka_unit_test_prestate(test_op_not_string, &ctx),
        cmocka_unit_test_prestate(test_invalid_room_chars, &ctx),
        cmocka_unit_test_prestate(test_room_length, &ctx),
        cmocka_unit_test_prestate(test_invalid_pattern, &ctx),
        cmocka_unit_test_prestate(test_at_limit, &ctx),
        cmocka_unit_test_prestate(test_over_limit, &ctx),
        cmocka_unit_test_prestate(test_far_over_limit, &ctx),
        cmocka_unit_test_prestate(test_fragments_over_limit, &ctx),
        cmocka_unit_test_prestate(test_binary, &ctx),
        cmocka_unit_test_prestate(test_error_burst, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_bad_input", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
