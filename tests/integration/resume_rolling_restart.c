/*
 * resume_rolling_restart.c: every edge is restarted in turn under load, without a gap.
 *
 * The setup of resume_through_lb (router, three edges, HAProxy with the shipped configuration,
 * 300 resume clients over 30 rooms, a publisher thread at a steady rate). While events flow,
 * each edge in turn gets SIGTERM (its clients see 1001 and reconnect through HAProxy with their
 * cursors), exits 0, and is started again on the same port; once every client is back and
 * HAProxy had time to see the edge up again, the next one follows. Every client must end up
 * with every event of its rooms exactly once and in order, and every resume must say
 * recovered:true; every client must have been told 1001 at least once.
 *
 * WEFT_RESUME_RATE overrides the publishing rate (events per second) for experiments.
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

#define N_EDGES 3
#define N_CLIENTS 300
#define N_ROOMS 30
#define N_EVENTS 100000    /* 25 s at RATE: three restarts fit well inside, also under ASan */
#define RATE 4000          /* events/s, as resume_through_lb */
#define HAPROXY_UP_MS 1500 /* "inter 500ms rise 2" in deploy/haproxy.cfg, plus slack */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;   /* the private fabric */
    ts_wsc_t *wsc;      /* WebSocket client context */
    weft_pub_t *fencer; /* publishes the fences' probes */
    it_pacer_t *pacer;  /* the publisher thread */
    it_crowd_t *crowd;  /* the 300 clients */
    int lb_port;        /* HAProxy */
    uint64_t epoch;     /* the router's epoch */
    int ready;          /* the previous step completed */
} test_ctx_t;

/* Starts the fabric, connects the crowd through HAProxy and fences every edge. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    /* A larger history window than the default, for the reason given in resume_through_lb. */
    const char *router_args[] = {"--history-max-events", "5000", NULL};
    assert_int_equal(
        it_scenario_start(ctx->fab, router_args, N_EDGES, &ctx->epoch, &ctx->wsc, &ctx->fencer), 0);
    ctx->lb_port = it_fabric_start_haproxy(ctx->fab);
    assert_true(ctx->lb_port > 0);
    const char *rate = getenv("WEFT_RESUME_RATE");
    ctx->pacer = it_pacer_new(it_fabric_intake(ctx->fab), "roll", N_ROOMS, N_EVENTS,
                              rate && atoi(rate) > 0 ? atoi(rate) : RATE);
    assert_non_null(ctx->pacer);
    ctx->crowd = it_crowd_new(ctx->wsc, ctx->pacer, "client", N_CLIENTS, ctx->lb_port, 1, 1);
    assert_non_null(ctx->crowd);
    assert_int_equal(it_crowd_wait_joined(ctx->crowd, 60000), 0);
    for (int e = 0; e < N_EDGES; e++)
        assert_int_equal(it_fence(ctx->fab, e, ctx->wsc, ctx->fencer, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Clients whose latest welcome came from edge_id. */
static int s_clients_on(it_crowd_t *crowd, const char *edge_id)
{
    int n = 0;
    for (int i = 0; i < it_crowd_size(crowd); i++)
        n += strcmp(ts_wsc_edge_id(it_crowd_client(crowd, i)), edge_id) == 0;
    return n;
}

/* What s_all_noticed waits for. */
typedef struct s_notice_wait {
    it_crowd_t *crowd;      /* the clients */
    const unsigned *before; /* closes of each client before the SIGTERM */
    const int *on_edge;     /* 1 for the clients of the stopped edge */
} s_notice_wait_t;

/* Done when every client of the stopped edge has seen its connection close. */
static int s_all_noticed(void *arg)
{
    s_notice_wait_t *w = arg;
    for (int i = 0; i < it_crowd_size(w->crowd); i++)
        if (w->on_edge[i] && ts_wsc_closes(it_crowd_client(w->crowd, i)) <= w->before[i])
            return 0;
    return 1;
}

/* Restarts each edge in turn while the publisher runs. */
static void test_rolling(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    assert_int_equal(it_pacer_start(ctx->pacer), 0);
    /* Let the stream get going first. */
    while (it_pacer_progress(ctx->pacer) < N_EVENTS / 10)
        it_crowd_service(ctx->crowd, 20);
    for (int e = 0; e < N_EDGES; e++) {
        char id[16];
        snprintf(id, sizeof id, "edge-%d", e + 1);
        unsigned before[N_CLIENTS];
        int on_edge[N_CLIENTS], moved = 0;
        for (int i = 0; i < N_CLIENTS; i++) {
            ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
            before[i] = ts_wsc_closes(c);
            on_edge[i] = strcmp(ts_wsc_edge_id(c), id) == 0;
            moved += on_edge[i];
        }
        int at = it_pacer_progress(ctx->pacer);
        uint64_t t0 = base_clock_ms();
        ts_proc_t *edge = it_fabric_edge(ctx->fab, e);
        assert_int_equal(ts_proc_signal(edge, SIGTERM), 0);
        uint64_t deadline = t0 + 15000;
        while (ts_proc_running(edge) && base_clock_ms() < deadline)
            it_crowd_service(ctx->crowd, 20);
        assert_int_equal(ts_proc_wait(edge, 1000), 0);
        assert_int_equal(ts_proc_exit_code(edge), 0);
        assert_int_equal(it_fabric_restart_edge(ctx->fab, e, id, NULL), 0);
        /* Every client of the old process must have seen the close (1001) ... */
        s_notice_wait_t w = {ctx->crowd, before, on_edge};
        if (ts_wsc_wait_until(ctx->wsc, s_all_noticed, &w, 30000) != 0)
            fail_msg("clients of %s did not see their connection close", id);
        /* ... and be back, resumed, on some edge. */
        assert_int_equal(it_crowd_wait_joined(ctx->crowd, 60000), 0);
        /* Clients that came back after the restart may have landed on the new process: HAProxy
         * had no time to mark it down, and that is fine. */
        printf("rolling_restart: %s restarted at event %d; its %d clients were all back "
               "%llu ms after SIGTERM (%d now on the new %s)\n",
               id, at, moved, (unsigned long long)(base_clock_ms() - t0), s_clients_on(ctx->crowd, id),
               id);
        it_crowd_service(ctx->crowd, HAPROXY_UP_MS);
    }
    int restarted_at = it_pacer_progress(ctx->pacer);
    if (it_pacer_done(ctx->pacer))
        printf("rolling_restart: warning: the publisher finished before the last restart "
               "completed\n");
    uint64_t t_start = base_clock_ms();
    while (!it_pacer_done(ctx->pacer)) {
        it_crowd_service(ctx->crowd, 20);
        if (base_clock_ms() - t_start > 180000)
            fail_msg("publishing took over 180 s");
    }
    weft_pub_stats_t stats;
    assert_int_equal(it_pacer_finish(ctx->pacer, 60000, &stats), 0);
    assert_int_equal(stats.acked, N_EVENTS);
    assert_int_equal(stats.lost, 0);
    assert_int_equal(stats.refused, 0);
    assert_int_equal(it_crowd_wait_caught_up(ctx->crowd, 120000), 0);
    printf("rolling_restart: all %d edges restarted by event %d of %d\n", N_EDGES, restarted_at,
           N_EVENTS);
    ctx->ready = 1;
}

/* Every stream complete and in order; clients of every edge moved at least once. */
static void test_streams(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_crowd_check(ctx->crowd, IT_EXPECT_GAPLESS, ctx->epoch, 0), 0);
    int moved = 0, attempts = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
        moved += ts_wsc_closes_with(c, 1001) > 0;
        attempts += (int)ts_wsc_connections(c) - 1;
    }
    printf("rolling_restart: %d of %d clients reconnected after 1001, %d reconnect attempts in "
           "all\n",
           moved, N_CLIENTS, attempts);
    /* Every client sat on some edge when that edge was stopped, and was told so with 1001
     * "edge shutting down" through HAProxy. */
    assert_int_equal(moved, N_CLIENTS);
}

/* Everything stops cleanly. */
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
    ctx.fab = it_fabric_new("rolling_restart");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_rolling, &ctx),
        cmocka_unit_test_prestate(test_streams, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("rolling_restart", tests, NULL, NULL);
    it_scenario_free(&ctx.fab, &ctx.wsc, &ctx.fencer, &ctx.pacer, &ctx.crowd, 1, failed);
    return failed ? 1 : 0;
}
