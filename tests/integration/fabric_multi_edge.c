/*
 * fabric_multi_edge.c: two edges behind one router deliver the same stream.
 *
 * Router + two edges; on each edge one client joins multi:room and one joins the pattern multi:*.
 * 300 events go to multi:room and 100 to multi:other, interleaved. Every client must receive the
 * same (epoch, seq, ts, type, data) sequence for each room it joined, whichever edge it is on,
 * complete and in order.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_ROOM 300
#define N_OTHER 100

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;           /* the private fabric */
    ts_wsc_t *wsc;              /* WebSocket client context */
    weft_pub_t *pub;            /* the publisher */
    ts_wsc_conn_t *room[2];     /* per edge: joined multi:room */
    ts_wsc_conn_t *pattern[2];  /* per edge: joined multi:* */
    int ready;                  /* set up completed */
} test_ctx_t;

/* Starts router, two edges, four clients; fences both edges. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-1", NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-2", NULL), 1);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    for (int e = 0; e < 2; e++) {
        char name[64];
        snprintf(name, sizeof name, "edge-%d multi:room", e + 1);
        ctx->room[e] = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, e), name);
        snprintf(name, sizeof name, "edge-%d multi:*", e + 1);
        ctx->pattern[e] = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, e), name);
        assert_non_null(ctx->room[e]);
        assert_non_null(ctx->pattern[e]);
    }
    assert_int_equal(ts_wsc_wait_all_open(ctx->wsc, IT_WAIT_MS), 0);
    for (int e = 0; e < 2; e++) {
        json_t *w = ts_wsc_frame(ctx->room[e], 0);
        char want[16];
        snprintf(want, sizeof want, "edge-%d", e + 1);
        assert_string_equal(json_string_value(json_object_get(w, "edge")), want);
        assert_int_equal(ts_wsc_subscribe(ctx->room[e], "multi:room", IT_WAIT_MS), 0);
        assert_int_equal(ts_wsc_subscribe(ctx->pattern[e], "multi:*", IT_WAIT_MS), 0);
    }
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Collects conn's events of room, in arrival order, with their edge-independent fields. */
static json_t *s_stream(ts_wsc_conn_t *conn, const char *room)
{
    json_t *list = json_array();
    size_t from = 0;
    json_t *ev;
    while ((ev = ts_wsc_wait_op(conn, "event", room, &from, 0)) != NULL) {
        json_t *copy = json_deep_copy(ev);
        json_array_append_new(list, copy);
    }
    return list;
}

/* Asserts two streams are identical, naming the first difference. */
static void s_same(json_t *a, json_t *b, const char *what)
{
    if (json_array_size(a) != json_array_size(b))
        fail_msg("%s: %zu vs %zu events", what, json_array_size(a), json_array_size(b));
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_equal(json_array_get(a, i), json_array_get(b, i))) {
            char *x = json_dumps(json_array_get(a, i), JSON_COMPACT);
            char *y = json_dumps(json_array_get(b, i), JSON_COMPACT);
            fail_msg("%s: event %zu differs: %s vs %s", what, i, x ? x : "?", y ? y : "?");
        }
}

/* Checks a stream is complete: n events, data.i == 0..n-1, seq 1..n, one epoch. */
static void s_complete(json_t *list, const char *room, const char *type, int n)
{
    assert_int_equal(json_array_size(list), (size_t)n);
    uint64_t epoch = it_event_u64(json_array_get(list, 0), "epoch");
    for (int i = 0; i < n; i++) {
        json_t *ev = json_array_get(list, (size_t)i);
        json_t *data = json_pack("{s:i}", "i", i);
        int rc = it_check_event(ev, room, type, data);
        json_decref(data);
        assert_int_equal(rc, 0);
        assert_int_equal(it_event_u64(ev, "seq"), (uint64_t)i + 1);
        assert_int_equal(it_event_u64(ev, "epoch"), epoch);
    }
}

/* Publishes and compares all four clients' streams. */
static void test_same_stream(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int i = 0; i < N_ROOM; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(it_publish(ctx->pub, "multi:room", "test.multi", json), 0);
        if (i % 3 == 0) {
            snprintf(json, sizeof json, "{\"i\":%d}", i / 3);
            assert_int_equal(it_publish(ctx->pub, "multi:other", "test.other", json), 0);
        }
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    for (int e = 0; e < 2; e++) {
        if (ts_wsc_wait_count(ctx->room[e], "event", "multi:room", N_ROOM, IT_WAIT_MS) != 0)
            fail_msg("%s", ts_wsc_describe(ctx->room[e]));
        if (ts_wsc_wait_count(ctx->pattern[e], "event", NULL, N_ROOM + N_OTHER, IT_WAIT_MS) != 0)
            fail_msg("%s", ts_wsc_describe(ctx->pattern[e]));
    }
    ts_wsc_service(ctx->wsc, 500);
    json_t *room[2], *prooms[2], *pother[2];
    for (int e = 0; e < 2; e++) {
        assert_int_equal(ts_wsc_count_op(ctx->room[e], "event", NULL), N_ROOM);
        assert_int_equal(ts_wsc_count_op(ctx->pattern[e], "event", NULL), N_ROOM + N_OTHER);
        room[e] = s_stream(ctx->room[e], "multi:room");
        prooms[e] = s_stream(ctx->pattern[e], "multi:room");
        pother[e] = s_stream(ctx->pattern[e], "multi:other");
    }
    s_complete(room[0], "multi:room", "test.multi", N_ROOM);
    s_complete(pother[0], "multi:other", "test.other", N_OTHER);
    s_same(room[0], room[1], "multi:room, edge-1 vs edge-2");
    s_same(room[0], prooms[0], "multi:room vs multi:* on edge-1");
    s_same(room[0], prooms[1], "multi:room on edge-1 vs multi:* on edge-2");
    s_same(pother[0], pother[1], "multi:other, edge-1 vs edge-2");
    for (int e = 0; e < 2; e++) {
        json_decref(room[e]);
        json_decref(prooms[e]);
        json_decref(pother[e]);
    }
}

/* Both edges and the router stop cleanly. */
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
    ctx.fab = it_fabric_new("fabric_multi_edge");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_same_stream, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_multi_edge", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
