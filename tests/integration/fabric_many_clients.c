/*
 * fabric_many_clients.c: one edge serves 300 WebSocket clients at once.
 *
 * 300 clients connect to one edge: 150 join crowd:a, 100 join crowd:b and 50 join the pattern
 * crowd:*. 100 events go to each room. Every client must get exactly its events, complete and in
 * seq order, with the same content as everyone else in its room (the edge serializes each event
 * once and shares the bytes, so any corruption would show here). Then the edge stops and every
 * client sees 1001.
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

#define N_CLIENTS 300
#define N_EVENTS 100

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;                  /* the private fabric */
    ts_wsc_t *wsc;                     /* WebSocket client context */
    weft_pub_t *pub;                   /* the publisher */
    ts_wsc_conn_t *clients[N_CLIENTS]; /* all clients */
    int ready;                         /* set up completed */
} test_ctx_t;

/* What client i joins. */
static const char *s_sub(int i)
{
    return i < 150 ? "crowd:a" : i < 250 ? "crowd:b" : "crowd:*";
}

/* Connects and subscribes 300 clients. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-crowd", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    int port = it_fabric_edge_port(ctx->fab, 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "client %d (%s)", i, s_sub(i));
        ctx->clients[i] = ts_wsc_connect(ctx->wsc, port, name);
        assert_non_null(ctx->clients[i]);
    }
    assert_int_equal(ts_wsc_wait_all_open(ctx->wsc, 60000), 0);
    /* Send every subscribe first, then wait: 300 round trips one after another would be slow. */
    for (int i = 0; i < N_CLIENTS; i++)
        assert_int_equal(ts_wsc_send_textf(ctx->clients[i], "{\"op\":\"subscribe\",\"room\":\"%s\"}",
                                           s_sub(i)),
                         0);
    for (int i = 0; i < N_CLIENTS; i++)
        if (ts_wsc_wait_count(ctx->clients[i], "subscribed", s_sub(i), 1, IT_WAIT_MS) != 0)
            fail_msg("%s", ts_wsc_describe(ctx->clients[i]));
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Checks client i's events of room: n events, data.i 0..n-1, seq 1..n, equal to ref if given. */
static void s_check(ts_wsc_conn_t *conn, const char *room, json_t **ref)
{
    size_t from = 0;
    for (int k = 0; k < N_EVENTS; k++) {
        json_t *ev = ts_wsc_wait_op(conn, "event", room, &from, 0);
        if (!ev)
            fail_msg("%s: only %d events of %s", ts_wsc_name(conn), k, room);
        if (!ref[k]) {
            json_t *data = json_pack("{s:i, s:s}", "i", k, "room", room);
            int rc = it_check_event(ev, room, "test.crowd", data);
            json_decref(data);
            assert_int_equal(rc, 0);
            assert_int_equal(it_event_u64(ev, "seq"), (uint64_t)k + 1);
            ref[k] = ev;
        } else if (!json_equal(ev, ref[k])) {
            fail_msg("%s: event %d of %s differs from another client's", ts_wsc_name(conn), k,
                     room);
        }
    }
    assert_null(ts_wsc_wait_op(conn, "event", room, &from, 0));
}

/* Publishes to both rooms and checks all 300 streams. */
static void test_fanout(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int k = 0; k < N_EVENTS; k++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d,\"room\":\"crowd:a\"}", k);
        assert_int_equal(it_publish(ctx->pub, "crowd:a", "test.crowd", json), 0);
        snprintf(json, sizeof json, "{\"i\":%d,\"room\":\"crowd:b\"}", k);
        assert_int_equal(it_publish(ctx->pub, "crowd:b", "test.crowd", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        size_t want = i < 250 ? N_EVENTS : 2 * N_EVENTS;
        if (ts_wsc_wait_count(ctx->clients[i], "event", NULL, want, 60000) != 0)
            fail_msg("%zu of %zu events: %s", ts_wsc_count_op(ctx->clients[i], "event", NULL),
                     want, ts_wsc_describe(ctx->clients[i]));
    }
    ts_wsc_service(ctx->wsc, 500);
    json_t *ref_a[N_EVENTS] = {NULL}, *ref_b[N_EVENTS] = {NULL};
    for (int i = 0; i < N_CLIENTS; i++) {
        size_t want = i < 250 ? N_EVENTS : 2 * N_EVENTS;
        assert_int_equal(ts_wsc_count_op(ctx->clients[i], "event", NULL), want);
        if (i < 150 || i >= 250)
            s_check(ctx->clients[i], "crowd:a", ref_a);
        if (i >= 150)
            s_check(ctx->clients[i], "crowd:b", ref_b);
    }
}

/* SIGTERM on the edge closes all 300 with 1001; it exits 0. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(ts_proc_signal(edge, SIGTERM), 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        if (ts_wsc_wait_closed(ctx->clients[i], IT_WAIT_MS) != 0)
            fail_msg("not closed: %s", ts_wsc_describe(ctx->clients[i]));
        assert_int_equal(ts_wsc_close_code(ctx->clients[i]), 1001);
    }
    assert_int_equal(ts_proc_wait(edge, 15000), 0);
    assert_int_equal(ts_proc_exit_code(edge), 0);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("fabric_many_clients");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_fanout, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_many_clients", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
