/*
 * fabric_unsubscribe.c: leaving a room stops its events for that client only.
 *
 * A and B share room:u, C is alone in room:v. After A's "unsubscribed" reply A receives nothing
 * more of room:u while B keeps receiving all of it. When C, the last subscriber of room:v, leaves
 * and joins again, it receives only what was published after it joined again. Unsubscribing a
 * room the connection never joined answers error not_subscribed (with the request's id echoed),
 * and the connection keeps working.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define EVENT_TYPE "test.unsub"

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;   /* the private fabric */
    ts_wsc_t *wsc;      /* WebSocket client context */
    weft_pub_t *pub;    /* the publisher */
    ts_wsc_conn_t *a;   /* in room:u, leaves it */
    ts_wsc_conn_t *b;   /* in room:u, stays */
    ts_wsc_conn_t *c;   /* alone in room:v, leaves and rejoins */
    int ready;          /* set up completed */
} test_ctx_t;

/* Publishes n events numbered from first into room and waits for the router's acks. */
static void s_publish(test_ctx_t *ctx, const char *room, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(it_publish(ctx->pub, room, EVENT_TYPE, json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
}

/* Waits until conn has want events of room; fails with a description otherwise. */
static void s_wait_events(ts_wsc_conn_t *conn, const char *room, size_t want)
{
    if (ts_wsc_wait_count(conn, "event", room, want, IT_WAIT_MS) != 0)
        fail_msg("%s: %zu of %zu events of %s: %s", ts_wsc_name(conn),
                 ts_wsc_count_op(conn, "event", room), want, room, ts_wsc_describe(conn));
}

/* Checks that the events of room received by conn carry data.i == first, first+1, ... */
static void s_check_numbers(ts_wsc_conn_t *conn, const char *room, const int *expect, size_t n)
{
    size_t k = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(conn); f++) {
        json_t *frame = ts_wsc_frame(conn, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        const char *froom = json_string_value(json_object_get(frame, "room"));
        if (!op || strcmp(op, "event") != 0 || !froom || strcmp(froom, room) != 0)
            continue;
        if (k >= n)
            fail_msg("%s: more than %zu events of %s", ts_wsc_name(conn), n, room);
        json_t *data = json_pack("{s:i}", "i", expect[k]);
        int rc = it_check_event(frame, room, EVENT_TYPE, data);
        json_decref(data);
        if (rc != 0)
            fail_msg("%s: event %zu of %s is not the one published", ts_wsc_name(conn), k, room);
        k++;
    }
    if (k != n)
        fail_msg("%s: %zu events of %s, want %zu", ts_wsc_name(conn), k, room, n);
}

/* Starts the fabric and joins A, B to room:u and C to room:v. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-u", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    int port = it_fabric_edge_port(ctx->fab, 0);
    ctx->a = ts_wsc_connect(ctx->wsc, port, "A");
    ctx->b = ts_wsc_connect(ctx->wsc, port, "B");
    ctx->c = ts_wsc_connect(ctx->wsc, port, "C");
    assert_int_equal(ts_wsc_wait_all_open(ctx->wsc, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->a, "room:u", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->b, "room:u", IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->c, "room:v", IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* A leaves room:u; B keeps getting it; A gets nothing more. */
static void test_unsubscribe_one_of_two(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_publish(ctx, "room:u", 0, 50);
    s_wait_events(ctx->a, "room:u", 50);
    s_wait_events(ctx->b, "room:u", 50);
    assert_int_equal(ts_wsc_unsubscribe(ctx->a, "room:u", IT_WAIT_MS), 0);
    s_publish(ctx, "room:u", 50, 50);
    s_wait_events(ctx->b, "room:u", 100);
    ts_wsc_service(ctx->wsc, 500);
    int expect[100];
    for (int i = 0; i < 100; i++)
        expect[i] = i;
    s_check_numbers(ctx->a, "room:u", expect, 50);
    s_check_numbers(ctx->b, "room:u", expect, 100);
    /* Nothing of room:u may follow A's "unsubscribed" reply. */
    size_t from = 0;
    assert_non_null(ts_wsc_wait_op(ctx->a, "unsubscribed", "room:u", &from, 0));
    for (size_t f = from; f < ts_wsc_frame_count(ctx->a); f++) {
        const char *op = json_string_value(json_object_get(ts_wsc_frame(ctx->a, f), "op"));
        assert_string_not_equal(op, "event");
    }
}

/* C, the last subscriber of room:v, leaves and rejoins: only later events arrive. */
static void test_last_leaves_and_rejoins(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_publish(ctx, "room:v", 0, 10);
    s_wait_events(ctx->c, "room:v", 10);
    assert_int_equal(ts_wsc_unsubscribe(ctx->c, "room:v", IT_WAIT_MS), 0);
    s_publish(ctx, "room:v", 10, 10);
    /* The fence's probe follows the 10 events on the router->edge link, so once it arrived the
     * edge has handled (and, with no subscriber, dropped) them. */
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->c, "room:v", IT_WAIT_MS), 0);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish(ctx, "room:v", 20, 10);
    s_wait_events(ctx->c, "room:v", 20);
    ts_wsc_service(ctx->wsc, 500);
    int expect[20];
    for (int i = 0; i < 10; i++) {
        expect[i] = i;
        expect[10 + i] = 20 + i;
    }
    s_check_numbers(ctx->c, "room:v", expect, 20);
    /* seq keeps counting at the router while nobody listens: 1..10, then 21..30. */
    size_t k = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(ctx->c); f++) {
        json_t *frame = ts_wsc_frame(ctx->c, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        if (!op || strcmp(op, "event") != 0)
            continue;
        uint64_t want = k < 10 ? k + 1 : k + 11;
        assert_int_equal(it_event_u64(frame, "seq"), want);
        k++;
    }
}

/* Unsubscribing a room never joined is an error; the connection goes on. */
static void test_not_subscribed(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    size_t from = ts_wsc_frame_count(ctx->b);
    assert_int_equal(
        ts_wsc_send_text(ctx->b, "{\"op\":\"unsubscribe\",\"room\":\"room:never\",\"id\":\"x1\"}"),
        0);
    json_t *err = ts_wsc_wait_op(ctx->b, "error", NULL, &from, IT_WAIT_MS);
    if (!err)
        fail_msg("no error frame: %s", ts_wsc_describe(ctx->b));
    assert_string_equal(json_string_value(json_object_get(err, "code")), "not_subscribed");
    assert_string_equal(json_string_value(json_object_get(err, "for")), "unsubscribe");
    assert_string_equal(json_string_value(json_object_get(err, "room")), "room:never");
    assert_string_equal(json_string_value(json_object_get(err, "id")), "x1");
    assert_non_null(json_string_value(json_object_get(err, "message")));
    /* A, which left room:u, gets not_subscribed for it too. */
    from = ts_wsc_frame_count(ctx->a);
    assert_int_equal(ts_wsc_send_text(ctx->a, "{\"op\":\"unsubscribe\",\"room\":\"room:u\"}"), 0);
    err = ts_wsc_wait_op(ctx->a, "error", NULL, &from, IT_WAIT_MS);
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "code")), "not_subscribed");
    /* Still alive: ping answers pong with the id; subscribe echoes a numeric id. */
    from = ts_wsc_frame_count(ctx->b);
    assert_int_equal(ts_wsc_send_text(ctx->b, "{\"op\":\"ping\",\"id\":7}"), 0);
    json_t *pong = ts_wsc_wait_op(ctx->b, "pong", NULL, &from, IT_WAIT_MS);
    assert_non_null(pong);
    assert_int_equal(json_integer_value(json_object_get(pong, "id")), 7);
    assert_int_equal(ts_wsc_send_text(ctx->b, "{\"op\":\"subscribe\",\"room\":\"room:w\",\"id\":42}"),
                     0);
    json_t *sub = ts_wsc_wait_op(ctx->b, "subscribed", "room:w", &from, IT_WAIT_MS);
    assert_non_null(sub);
    assert_int_equal(json_integer_value(json_object_get(sub, "id")), 42);
    assert_true(ts_wsc_is_open(ctx->b));
}

/* Both daemons stop cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("fabric_unsubscribe");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_unsubscribe_one_of_two, &ctx),
        cmocka_unit_test_prestate(test_last_leaves_and_rejoins, &ctx),
        cmocka_unit_test_prestate(test_not_subscribed, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_unsubscribe", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
