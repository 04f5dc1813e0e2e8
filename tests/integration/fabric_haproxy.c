/*
 * fabric_haproxy.c: deploy/haproxy.cfg really balances WebSockets over the edges.
 *
 * Router + two edges + HAProxy started with the repository's deploy/haproxy.cfg (addresses from
 * the environment, as deploy/demo.sh does). Clients connecting through HAProxy must be spread
 * over both edges (round robin, no stickiness), upgrade to WebSocket and receive the same
 * events. When one edge stops, its clients see 1001 "edge shutting down" through the proxy, and
 * clients connecting afterwards all land on the remaining edge and still receive events.
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

#define N_FIRST 6
#define N_SECOND 4

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;                /* the private fabric */
    ts_wsc_t *wsc;                   /* WebSocket client context */
    weft_pub_t *pub;                 /* the publisher */
    ts_proc_t *haproxy;              /* HAProxy in front of the edges */
    int http_port;                   /* HAProxy's port */
    ts_wsc_conn_t *first[N_FIRST];   /* connected while both edges run */
    ts_wsc_conn_t *second[N_SECOND]; /* connected after edge-1 stopped */
    int ready;                       /* set up completed */
} test_ctx_t;

/* The edge id in a connection's welcome frame. */
static const char *s_edge_of(ts_wsc_conn_t *conn)
{
    return json_string_value(json_object_get(ts_wsc_frame(conn, 0), "edge"));
}

/* Starts router, edges and HAProxy; connects the first clients through HAProxy. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-1", NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-2", NULL), 1);
    ctx->http_port = ts_free_port();
    char bind[64], e1[64], e2[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%d", ctx->http_port);
    snprintf(e1, sizeof e1, "127.0.0.1:%d", it_fabric_edge_port(ctx->fab, 0));
    snprintf(e2, sizeof e2, "127.0.0.1:%d", it_fabric_edge_port(ctx->fab, 1));
    /* haproxy.cfg reads its addresses from the environment; children inherit ours. */
    assert_int_equal(setenv("WEFT_HTTP_BIND", bind, 1), 0);
    assert_int_equal(setenv("WEFT_EDGE1", e1, 1), 0);
    assert_int_equal(setenv("WEFT_EDGE2", e2, 1), 0);
    char *argv[] = {(char *)it_env("WEFT_HAPROXY_BIN"), "-db", "-f",
                    (char *)it_env("WEFT_HAPROXY_CFG"), NULL};
    ctx->haproxy = it_fabric_spawn(ctx->fab, "haproxy", argv, NULL);
    assert_non_null(ctx->haproxy);
    if (ts_wait_port(ctx->http_port, IT_START_TIMEOUT_MS) != 0)
        fail_msg("HAProxy did not listen on %s", bind);

    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    for (int i = 0; i < N_FIRST; i++) {
        char name[32];
        snprintf(name, sizeof name, "via haproxy #%d", i);
        ctx->first[i] = ts_wsc_connect(ctx->wsc, ctx->http_port, name);
        assert_non_null(ctx->first[i]);
        /* One at a time, so round robin is observable. */
        assert_int_equal(ts_wsc_wait_open(ctx->first[i], IT_WAIT_MS), 0);
        assert_int_equal(ts_wsc_subscribe(ctx->first[i], "lb:room", IT_WAIT_MS), 0);
    }
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Round robin: both edges got clients, alternately. */
static void test_round_robin(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    int on1 = 0, on2 = 0;
    for (int i = 0; i < N_FIRST; i++) {
        const char *edge = s_edge_of(ctx->first[i]);
        assert_non_null(edge);
        on1 += strcmp(edge, "edge-1") == 0;
        on2 += strcmp(edge, "edge-2") == 0;
        if (i > 0 && strcmp(edge, s_edge_of(ctx->first[i - 1])) == 0)
            fail_msg("clients %d and %d both went to %s: not round robin", i - 1, i, edge);
    }
    assert_int_equal(on1 + on2, N_FIRST);
    assert_int_equal(on1, N_FIRST / 2);
}

/* Events reach every client through the proxy, identical on both edges. */
static void test_events_through_proxy(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int k = 0; k < 50; k++) {
        char json[32];
        snprintf(json, sizeof json, "{\"k\":%d}", k);
        assert_int_equal(it_publish(ctx->pub, "lb:room", "test.lb", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    for (int i = 0; i < N_FIRST; i++)
        if (ts_wsc_wait_count(ctx->first[i], "event", "lb:room", 50, IT_WAIT_MS) != 0)
            fail_msg("%s", ts_wsc_describe(ctx->first[i]));
    ts_wsc_service(ctx->wsc, 300);
    for (int i = 0; i < N_FIRST; i++) {
        assert_int_equal(ts_wsc_count_op(ctx->first[i], "event", "lb:room"), 50);
        size_t from = 0, ref = 0;
        for (int k = 0; k < 50; k++) {
            json_t *ev = ts_wsc_wait_op(ctx->first[i], "event", "lb:room", &from, 0);
            json_t *other = ts_wsc_wait_op(ctx->first[0], "event", "lb:room", &ref, 0);
            assert_true(json_equal(ev, other));
            assert_int_equal(it_event_u64(ev, "seq"), (uint64_t)k + 1);
        }
    }
}

/* edge-1 stops: its clients see 1001 through the proxy; new clients all go to edge-2. */
static void test_edge_down(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_proc_t *edge1 = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(ts_proc_signal(edge1, SIGTERM), 0);
    for (int i = 0; i < N_FIRST; i++) {
        if (strcmp(s_edge_of(ctx->first[i]), "edge-1") != 0)
            continue;
        if (ts_wsc_wait_closed(ctx->first[i], IT_WAIT_MS) != 0)
            fail_msg("not closed: %s", ts_wsc_describe(ctx->first[i]));
        assert_int_equal(ts_wsc_close_code(ctx->first[i]), 1001);
        assert_string_equal(ts_wsc_close_reason(ctx->first[i]), "edge shutting down");
    }
    assert_int_equal(ts_proc_wait(edge1, 15000), 0);
    assert_int_equal(ts_proc_exit_code(edge1), 0);
    /* HAProxy may not have noticed yet (health checks every 500 ms, down after 2), but
     * "option redispatch" retries a refused connection on the other server, so no new client
     * fails. */
    for (int i = 0; i < N_SECOND; i++) {
        char name[32];
        snprintf(name, sizeof name, "after edge-1 stopped #%d", i);
        ctx->second[i] = ts_wsc_connect(ctx->wsc, ctx->http_port, name);
        assert_non_null(ctx->second[i]);
        assert_int_equal(ts_wsc_wait_open(ctx->second[i], IT_WAIT_MS), 0);
        assert_string_equal(s_edge_of(ctx->second[i]), "edge-2");
        assert_int_equal(ts_wsc_subscribe(ctx->second[i], "lb:room", IT_WAIT_MS), 0);
    }
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    assert_int_equal(it_publish(ctx->pub, "lb:room", "test.lb", "{\"k\":50}"), 0);
    for (int i = 0; i < N_SECOND; i++) {
        size_t from = 0;
        json_t *ev = ts_wsc_wait_op(ctx->second[i], "event", "lb:room", &from, IT_WAIT_MS);
        if (!ev)
            fail_msg("%s", ts_wsc_describe(ctx->second[i]));
        assert_int_equal(it_event_u64(ev, "seq"), 51);
    }
}

/* Everything stops cleanly. */
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
    ctx.fab = it_fabric_new("fabric_haproxy");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_round_robin, &ctx),
        cmocka_unit_test_prestate(test_events_through_proxy, &ctx),
        cmocka_unit_test_prestate(test_edge_down, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_haproxy", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
