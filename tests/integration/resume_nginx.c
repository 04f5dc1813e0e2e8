/*
 * resume_nginx.c: the shipped deploy/nginx.conf carries WebSockets and resumes, like HAProxy.
 *
 * Router + two edges + nginx (deploy/nginx.conf, addresses only). 40 resume clients connect
 * through nginx (round robin: both edges get clients) and join 10 rooms; a publisher thread
 * sends 2000 events at 500/s. Halfway, one edge is SIGKILLed: its clients reconnect through
 * nginx, which must pass the refused connection on to the live edge (proxy_next_upstream), and
 * resume with their cursors. Every client must end up with every event of its rooms exactly
 * once, in order, and every resume must say recovered:true.
 */
#include "it_resume.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_EDGES 2
#define N_CLIENTS 40
#define N_ROOMS 10
#define N_EVENTS 2000
#define RATE 500
#define KILLED 1 /* index of the edge that is killed */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;         /* the private fabric */
    ts_wsc_t *wsc;            /* WebSocket client context */
    weft_pub_t *fencer;       /* publishes the fences' probes */
    it_pacer_t *pacer;        /* the publisher thread */
    it_crowd_t *crowd;        /* the clients */
    uint64_t epoch;           /* the router's epoch */
    int on_killed[N_CLIENTS]; /* client i was on the killed edge */
    int ready;                /* the previous step completed */
} test_ctx_t;

/* Starts the fabric and nginx, connects the crowd through nginx, fences every edge. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(
        it_scenario_start(ctx->fab, NULL, N_EDGES, &ctx->epoch, &ctx->wsc, &ctx->fencer), 0);
    int port = it_fabric_start_nginx(ctx->fab);
    assert_true(port > 0);
    ctx->pacer = it_pacer_new(it_fabric_intake(ctx->fab), "ngx", N_ROOMS, N_EVENTS, RATE);
    assert_non_null(ctx->pacer);
    ctx->crowd = it_crowd_new(ctx->wsc, ctx->pacer, "client", N_CLIENTS, port, 1, 1);
    assert_non_null(ctx->crowd);
    assert_int_equal(it_crowd_wait_joined(ctx->crowd, 60000), 0);
    int on_second = 0;
    for (int i = 0; i < N_CLIENTS; i++)
        on_second += strcmp(ts_wsc_edge_id(it_crowd_client(ctx->crowd, i)), "edge-2") == 0;
    if (on_second < N_CLIENTS / 4 || on_second > N_CLIENTS * 3 / 4)
        fail_msg("%d of %d clients on edge-2: not round robin", on_second, N_CLIENTS);
    for (int e = 0; e < N_EDGES; e++)
        assert_int_equal(it_fence(ctx->fab, e, ctx->wsc, ctx->fencer, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Publishes; SIGKILLs one edge halfway; every client catches up. */
static void test_failover(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    assert_int_equal(it_pacer_start(ctx->pacer), 0);
    uint64_t t_start = base_clock_ms();
    int killed = 0;
    while (!it_pacer_done(ctx->pacer)) {
        it_crowd_service(ctx->crowd, 20);
        if (!killed && it_pacer_progress(ctx->pacer) >= N_EVENTS / 2) {
            for (int i = 0; i < N_CLIENTS; i++)
                ctx->on_killed[i] =
                    strcmp(ts_wsc_edge_id(it_crowd_client(ctx->crowd, i)), "edge-2") == 0;
            assert_int_equal(it_kill_edge(ctx->fab, KILLED), 0);
            killed = 1;
        }
        if (base_clock_ms() - t_start > 120000)
            fail_msg("publishing took over 120 s");
    }
    weft_pub_stats_t stats;
    assert_int_equal(it_pacer_finish(ctx->pacer, 60000, &stats), 0);
    assert_int_equal(stats.acked, N_EVENTS);
    assert_int_equal(stats.lost, 0);
    assert_int_equal(it_crowd_wait_caught_up(ctx->crowd, 60000), 0);
    ctx->ready = 1;
}

/* Every stream complete and in order; the killed edge's clients moved to the other one. */
static void test_streams(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_crowd_check(ctx->crowd, IT_EXPECT_GAPLESS, ctx->epoch, 0), 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
        if (ctx->on_killed[i]) {
            assert_true(ts_wsc_closes(c) >= 1);
            assert_string_equal(ts_wsc_edge_id(c), "edge-1");
        } else {
            assert_int_equal(ts_wsc_closes(c), 0);
        }
    }
}

/* Everything left stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_scenario_end(ctx->fab, &ctx->fencer, &ctx->pacer), 0);
}

int main(void)
{
    static test_ctx_t ctx;
    ctx.fab = it_fabric_new("resume_nginx");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_failover, &ctx),
        cmocka_unit_test_prestate(test_streams, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("resume_nginx", tests, NULL, NULL);
    it_scenario_free(&ctx.fab, &ctx.wsc, &ctx.fencer, &ctx.pacer, &ctx.crowd, 1, failed);
    return failed ? 1 : 0;
}
