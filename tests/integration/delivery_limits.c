/*
 * delivery_limits.c: the client limits of an edge.
 *
 * Edge 0 limits messages: 60 a minute, burst 5, close after 8 refusals. A burst over the limit
 * is answered message by message (pong while tokens last, then the shared rate_limited error),
 * the connection stays open and is served again once tokens come back; a client that keeps
 * hammering is closed with 1008 "rate limit exceeded"; other clients are not disturbed.
 * Edge 1 (no rate limit) caps subscriptions at 3 and connections at 3: a fourth room is refused
 * with too_many_subscriptions (the other three keep working, and leaving one makes room), and a
 * fourth connection gets a clean HTTP 503 before any WebSocket exists; once a connection closes
 * a new one is accepted.
 */
#include "delivery_util.h"
#include "it_fabric.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;    /* the private fabric */
    ts_wsc_t *wsc;       /* WebSocket client context */
    weft_pub_t *pub;     /* publishes events for the bystander */
    ts_wsc_conn_t *calm; /* a well-behaved client of edge 0 in room "calm" */
    int ready;           /* set up completed */
} test_ctx_t;

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* Starts the router and both edges; the calm client joins "calm" on edge 0. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    const char *rate[] = {"--rate-limit-per-min",
                          "60",
                          "--rate-limit-burst",
                          "5",
                          "--rate-limit-close-after",
                          "8",
                          NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-rate", rate), 0);
    const char *caps[] = {
        "--rate-limit-per-min", "0", "--max-subscriptions", "3", "--max-connections", "3", NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-caps", caps), 1);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->calm = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "calm");
    assert_non_null(ctx->calm);
    assert_int_equal(ts_wsc_wait_open(ctx->calm, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->calm, "calm", IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Connects a fresh client to edge idx. */
static ts_wsc_conn_t *s_open(test_ctx_t *ctx, int idx, const char *name)
{
    ts_wsc_conn_t *c = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, idx), name);
    assert_non_null(c);
    if (ts_wsc_wait_open(c, IT_WAIT_MS) != 0)
        fail_msg("%s did not open: %s", name, ts_wsc_describe(c));
    return c;
}

/* The calm client still gets a freshly published event. */
static void s_check_calm(test_ctx_t *ctx)
{
    size_t want = ts_wsc_count_op(ctx->calm, "event", "calm") + 1;
    assert_int_equal(it_publish(ctx->pub, "calm", "test.calm", "{}"), 0);
    if (ts_wsc_wait_count(ctx->calm, "event", "calm", want, IT_WAIT_MS) != 0)
        fail_msg("the calm client was disturbed: %s", ts_wsc_describe(ctx->calm));
}

/* Seven pings at once: five pongs, then rate_limited errors; the connection stays open and is
 * served again once a token has come back. */
static void test_rate_limited(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *c = s_open(ctx, 0, "bursty");
    size_t from = ts_wsc_frame_count(c);
    uint64_t t0 = base_clock_ms();
    for (int i = 0; i < 7; i++)
        assert_int_equal(ts_wsc_send_textf(c, "{\"op\":\"ping\",\"id\":%d}", i), 0);
    if (ts_wsc_wait_frames(c, from + 7, IT_WAIT_MS) != 0)
        fail_msg("not every message was answered: %s", ts_wsc_describe(c));
    uint64_t took = base_clock_ms() - t0;
    size_t pongs = 0, limited = 0;
    for (size_t i = from; i < from + 7; i++) {
        json_t *f = ts_wsc_frame(c, i);
        const char *op = json_string_value(json_object_get(f, "op"));
        if (strcmp(op, "pong") == 0) {
            /* Answers come in order: every pong before the first refusal... */
            assert_int_equal(limited, 0);
            assert_int_equal(json_integer_value(json_object_get(f, "id")), (json_int_t)pongs);
            pongs++;
            continue;
        }
        assert_string_equal(op, "error");
        assert_string_equal(json_string_value(json_object_get(f, "code")), "rate_limited");
        assert_non_null(json_string_value(json_object_get(f, "message")));
        limited++;
    }
    /* ...five of them, plus one per second the sending took (60 a minute). */
    if (pongs < 5 || pongs > 5 + took / 1000 + 1)
        fail_msg("%zu pongs in %" PRIu64 " ms, want 5", pongs, took);
    assert_int_equal(pongs + limited, 7);
    assert_true(ts_wsc_is_open(c));
    /* A token a second: after a pause it is served again. */
    ts_wsc_service(ctx->wsc, 1500);
    from = ts_wsc_frame_count(c);
    assert_int_equal(ts_wsc_send_text(c, "{\"op\":\"ping\",\"id\":\"later\"}"), 0);
    json_t *pong = ts_wsc_wait_op(c, "pong", NULL, &from, IT_WAIT_MS);
    if (!pong)
        fail_msg("no pong after the pause: %s", ts_wsc_describe(c));
    assert_string_equal(json_string_value(json_object_get(pong, "id")), "later");
    assert_true(ts_wsc_is_open(c));
    ts_wsc_close(c);
    s_check_calm(ctx);
}

/* A client that keeps sending over its limit is closed with 1008. */
static void test_abuse_closed(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *c = s_open(ctx, 0, "abusive");
    for (int i = 0; i < 40; i++)
        assert_int_equal(ts_wsc_send_textf(c, "{\"op\":\"ping\",\"id\":%d}", i), 0);
    if (ts_wsc_wait_closed(c, IT_WAIT_MS) != 0)
        fail_msg("the edge did not close the abusive client: %s", ts_wsc_describe(c));
    if (ts_wsc_close_code(c) != 1008)
        fail_msg("close code %d, want 1008: %s", ts_wsc_close_code(c), ts_wsc_describe(c));
    assert_string_equal(ts_wsc_close_reason(c), "rate limit exceeded");
    assert_true(ts_wsc_count_op(c, "pong", NULL) <= 6);
    s_check_calm(ctx);
}

/* Three rooms or patterns per connection; a fourth is refused until one is left. */
static void test_subscription_cap(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *c = s_open(ctx, 1, "subscriber");
    assert_int_equal(ts_wsc_subscribe(c, "cap:a", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c, "cap:b*", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c, "cap:c", IT_WAIT_MS), 0);
    size_t from = ts_wsc_frame_count(c);
    assert_int_equal(ts_wsc_send_text(c, "{\"op\":\"subscribe\",\"room\":\"cap:d\",\"id\":4}"), 0);
    json_t *err = ts_wsc_wait_op(c, "error", NULL, &from, IT_WAIT_MS);
    if (!err)
        fail_msg("no error for a fourth subscription: %s", ts_wsc_describe(c));
    assert_string_equal(json_string_value(json_object_get(err, "code")), "too_many_subscriptions");
    assert_string_equal(json_string_value(json_object_get(err, "for")), "subscribe");
    assert_string_equal(json_string_value(json_object_get(err, "room")), "cap:d");
    assert_int_equal(json_integer_value(json_object_get(err, "id")), 4);
    /* Subscribing again to a room it has is fine at the cap. */
    assert_int_equal(ts_wsc_subscribe(c, "cap:a", IT_WAIT_MS), 0);
    /* The three still deliver; cap:d does not. */
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    assert_int_equal(it_publish(ctx->pub, "cap:d", "test.cap", "{\"r\":\"d\"}"), 0);
    assert_int_equal(it_publish(ctx->pub, "cap:b1", "test.cap", "{\"r\":\"b1\"}"), 0);
    assert_int_equal(ts_wsc_wait_count(c, "event", "cap:b1", 1, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_count_op(c, "event", "cap:d"), 0);
    /* Leaving one makes room. */
    assert_int_equal(ts_wsc_unsubscribe(c, "cap:c", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c, "cap:d", IT_WAIT_MS), 0);
    assert_true(ts_wsc_is_open(c));
    ts_wsc_close(c);
    assert_int_equal(ts_wsc_wait_closed(c, IT_WAIT_MS), 0);
}

/* Three connections; a fourth is refused with HTTP 503; after a close, one fits again. */
static void test_connection_cap(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    int port = it_fabric_edge_port(ctx->fab, 1);
    /* Earlier cases' connections to this edge may still be closing there: wait for room. */
    ts_wsc_conn_t *c[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "capped %d", i);
        uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
        for (;;) {
            c[i] = ts_wsc_connect(ctx->wsc, port, name);
            assert_non_null(c[i]);
            if (ts_wsc_wait_open(c[i], IT_WAIT_MS) == 0)
                break;
            if (base_clock_ms() > deadline)
                fail_msg("%s could not connect: %s", name, ts_wsc_describe(c[i]));
            ts_wsc_service(ctx->wsc, 100);
        }
    }
    /* The fourth gets a plain HTTP answer, no WebSocket. */
    dl_raw_t *raw = dl_raw_connect(port, 0, IT_WAIT_MS);
    assert_non_null(raw);
    assert_int_equal(dl_raw_status(raw), 503);
    if (!strstr(dl_raw_body(raw), "connection limit"))
        fprintf(stderr, "[ cap ] 503 body: '%s'\n", dl_raw_body(raw));
    dl_raw_destroy(&raw);
    ts_wsc_conn_t *extra = ts_wsc_connect(ctx->wsc, port, "one too many");
    assert_non_null(extra);
    assert_int_not_equal(ts_wsc_wait_open(extra, IT_WAIT_MS), 0);
    assert_true(ts_wsc_is_closed(extra));
    /* The three are unaffected. */
    for (int i = 0; i < 3; i++) {
        size_t from = ts_wsc_frame_count(c[i]);
        assert_int_equal(ts_wsc_send_text(c[i], "{\"op\":\"ping\"}"), 0);
        assert_non_null(ts_wsc_wait_op(c[i], "pong", NULL, &from, IT_WAIT_MS));
    }
    /* One leaves; a newcomer fits (once the edge has seen the close). */
    ts_wsc_close(c[0]);
    assert_int_equal(ts_wsc_wait_closed(c[0], IT_WAIT_MS), 0);
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    for (;;) {
        raw = dl_raw_connect(port, 0, IT_WAIT_MS);
        assert_non_null(raw);
        int status = dl_raw_status(raw);
        dl_raw_destroy(&raw);
        if (status == 101)
            break;
        assert_int_equal(status, 503);
        if (base_clock_ms() > deadline)
            fail_msg("no room after a connection closed");
        ts_wsc_service(ctx->wsc, 100);
    }
    for (int i = 1; i < 3; i++)
        ts_wsc_close(c[i]);
}

/* Both edges counted what they did and stop cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    weft_pub_destroy(&ctx->pub);
    ts_proc_t *rate = it_fabric_edge(ctx->fab, 0), *caps = it_fabric_edge(ctx->fab, 1);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    assert_true(ts_proc_log_count(rate, "1008_rate_limit=1") > 0);
    assert_true(ts_proc_log_count(caps, "too_many_subscriptions=1") > 0);
    assert_true(ts_proc_log_count(caps, "refusing a WebSocket: max_connections (3)") > 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("delivery_limits");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_rate_limited, &ctx),
        cmocka_unit_test_prestate(test_abuse_closed, &ctx),
        cmocka_unit_test_prestate(test_subscription_cap, &ctx),
        cmocka_unit_test_prestate(test_connection_cap, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("delivery_limits", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
