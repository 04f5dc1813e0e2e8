/*
 * resume_router_restart.c: the router dies under load and comes back; clients are told.
 *
 * Router + two edges; 80 resume clients (40 per edge, connected directly) over 10 rooms, and on
 * each edge one client of a room that goes quiet before the restart. A publisher thread sends
 * 6000 events at 1000/s. A third of the way through, the router is SIGKILLed and started again
 * on the same ports (a new epoch) while the publisher keeps publishing: libweft buffers and
 * resends, so nothing is refused and every event is acknowledged, without restarting the agent
 * or the edges. Every client must then get an unsolicited "subscribed" recovered:false with the
 * NEW epoch and reason epoch_changed, followed by that epoch's events, consecutive from the
 * announced seq + 1 up to the last one published. Events the old router acknowledged but had not
 * delivered are gone with the old epoch: that is what recovered:false announces. The quiet
 * room's clients must be told too, by the edges' check of every room after the reconnect.
 */
#include "it_resume.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_EDGES 2
#define PER_EDGE 40
#define N_ROOMS 10
#define N_EVENTS 6000
#define RATE 1000
#define QUIET "quiet:0"

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;              /* the private fabric */
    ts_wsc_t *wsc;                 /* WebSocket client context */
    weft_pub_t *fencer;            /* fences and the quiet room's events */
    it_pacer_t *pacer;             /* the publisher thread */
    it_crowd_t *crowds[N_EDGES];   /* PER_EDGE clients on each edge */
    ts_wsc_conn_t *quiet[N_EDGES]; /* a client of the quiet room on each edge */
    pid_t edge_pids[N_EDGES];      /* the edges' pids: they must not restart */
    uint64_t epoch1;               /* the first router's epoch */
    uint64_t epoch2;               /* the second router's epoch */
    int ready;                     /* the previous step completed */
} test_ctx_t;

/* Starts the fabric, connects the clients, publishes the quiet room's events, fences. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    ctx->epoch1 = it_router_epoch(ctx->fab);
    assert_true(ctx->epoch1 > 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->fencer = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->fencer);
    ctx->pacer = it_pacer_new(it_fabric_intake(ctx->fab), "rr", N_ROOMS, N_EVENTS, RATE);
    assert_non_null(ctx->pacer);
    for (int e = 0; e < N_EDGES; e++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "edge-%d", e + 1);
        assert_int_equal(it_fabric_start_edge(ctx->fab, id, NULL), e);
        ctx->edge_pids[e] = ts_proc_pid(it_fabric_edge(ctx->fab, e));
        int port = it_fabric_edge_port(ctx->fab, e);
        snprintf(name, sizeof name, "%s client", id);
        ctx->crowds[e] = it_crowd_new(ctx->wsc, ctx->pacer, name, PER_EDGE, port, 1, 0);
        assert_non_null(ctx->crowds[e]);
        snprintf(name, sizeof name, "%s quiet client", id);
        ctx->quiet[e] = ts_wsc_connect(ctx->wsc, port, name);
        assert_non_null(ctx->quiet[e]);
        ts_wsc_resume_enable(ctx->quiet[e], 0, 0, 0);
        assert_int_equal(ts_wsc_join(ctx->quiet[e], QUIET), 0);
    }
    for (int e = 0; e < N_EDGES; e++) {
        assert_int_equal(it_crowd_wait_joined(ctx->crowds[e], 60000), 0);
        assert_int_equal(ts_wsc_wait_open(ctx->quiet[e], IT_WAIT_MS), 0);
        assert_int_equal(ts_wsc_wait_count(ctx->quiet[e], "subscribed", QUIET, 1, IT_WAIT_MS), 0);
        assert_int_equal(ts_wsc_pending(ctx->quiet[e]), 0);
        assert_int_equal(it_fence(ctx->fab, e, ctx->wsc, ctx->fencer, IT_WAIT_MS), 0);
    }
    for (int n = 1; n <= 3; n++) {
        char json[64];
        snprintf(json, sizeof json, "{\"r\":\"%s\",\"n\":%d}", QUIET, n);
        assert_int_equal(it_publish(ctx->fencer, QUIET, "test.quiet", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->fencer, 30000), 0);
    for (int e = 0; e < N_EDGES; e++) {
        uint64_t epoch = 0, seq = 0;
        uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
        while (!(ts_wsc_cursor(ctx->quiet[e], QUIET, &epoch, &seq) && seq == 3) &&
               base_clock_ms() < deadline)
            ts_wsc_service(ctx->wsc, 20);
        assert_int_equal(seq, 3);
        assert_int_equal(epoch, ctx->epoch1);
    }
    ctx->ready = 1;
}

/* Publishes; a third of the way through the router is SIGKILLed and started again. */
static void test_restart(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    assert_int_equal(it_pacer_start(ctx->pacer), 0);
    uint64_t t_start = base_clock_ms();
    while (it_pacer_progress(ctx->pacer) < N_EVENTS / 3) {
        ts_wsc_service(ctx->wsc, 20);
        if (base_clock_ms() - t_start > 60000)
            fail_msg("publishing stalled before the restart");
    }
    assert_int_equal(it_fabric_signal_router(ctx->fab, SIGKILL), 128 + SIGKILL);
    /* Down for a moment while events keep coming: they wait in the publisher's buffer. */
    ts_wsc_service(ctx->wsc, 500);
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    ctx->epoch2 = it_router_epoch(ctx->fab);
    assert_true(ctx->epoch2 > 0);
    assert_true(ctx->epoch2 != ctx->epoch1);
    while (!it_pacer_done(ctx->pacer)) {
        ts_wsc_service(ctx->wsc, 20);
        if (base_clock_ms() - t_start > 120000)
            fail_msg("publishing took over 120 s (%d of %d)", it_pacer_progress(ctx->pacer),
                     N_EVENTS);
    }
    weft_pub_stats_t stats;
    assert_int_equal(it_pacer_finish(ctx->pacer, 60000, &stats), 0);
    printf("router_restart: publisher: published %" PRIu64 ", acked %" PRIu64 ", resent %" PRIu64
           ", refused %" PRIu64 ", lost %" PRIu64 ", buffered %" PRIu64 "\n",
           stats.published, stats.acked, stats.resent, stats.refused, stats.lost, stats.buffered);
    assert_int_equal(stats.published, N_EVENTS);
    assert_int_equal(stats.acked, N_EVENTS);
    assert_int_equal(stats.refused, 0);
    assert_int_equal(stats.lost, 0);
    assert_int_equal(stats.buffered, 0);
    for (int e = 0; e < N_EDGES; e++)
        assert_int_equal(it_crowd_wait_caught_up(ctx->crowds[e], 60000), 0);
    ctx->ready = 1;
}

/* Every stream: old epoch from 1, then recovered:false epoch_changed, then the new epoch. */
static void test_streams(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int e = 0; e < N_EDGES; e++) {
        assert_int_equal(ts_proc_pid(it_fabric_edge(ctx->fab, e)), ctx->edge_pids[e]);
        assert_true(ts_proc_running(it_fabric_edge(ctx->fab, e)));
        assert_int_equal(
            it_crowd_check(ctx->crowds[e], IT_EXPECT_NEW_EPOCH, ctx->epoch1, ctx->epoch2), 0);
        for (int i = 0; i < it_crowd_size(ctx->crowds[e]); i++) {
            ts_wsc_conn_t *c = it_crowd_client(ctx->crowds[e], i);
            if (ts_wsc_closes(c) != 0)
                fail_msg("%s lost its connection: %s", ts_wsc_name(c), ts_wsc_describe(c));
        }
    }
}

/* Done when both quiet clients were told about the new epoch. */
static int s_quiet_told(void *arg)
{
    test_ctx_t *ctx = arg;
    for (int e = 0; e < N_EDGES; e++) {
        uint64_t epoch = 0, seq = 0;
        if (!ts_wsc_cursor(ctx->quiet[e], QUIET, &epoch, &seq) || epoch != ctx->epoch2)
            return 0;
    }
    return 1;
}

/* The quiet room got no event after the restart, yet its clients learn of the new epoch. */
static void test_quiet_room(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    if (ts_wsc_wait_until(ctx->wsc, s_quiet_told, ctx, 30000) != 0)
        fail_msg("the quiet room's clients were not told of epoch %" PRIu64, ctx->epoch2);
    for (int e = 0; e < N_EDGES; e++) {
        ts_wsc_summary_t sum;
        char err[400];
        if (ts_wsc_check_room(ctx->quiet[e], QUIET, &sum, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(sum.events, 3);
        assert_int_equal(sum.unsolicited, 1);
        assert_int_equal(sum.lost[TS_WSC_REASON_EPOCH_CHANGED], 1);
        size_t count = 0;
        const ts_wsc_rec_t *recs = ts_wsc_records(ctx->quiet[e], QUIET, &count);
        const ts_wsc_rec_t *last = &recs[count - 1];
        assert_int_equal(last->kind, TS_WSC_REC_SUBSCRIBED);
        assert_int_equal(last->epoch, ctx->epoch2);
        assert_int_equal(last->seq, 0); /* nothing was published there in the new epoch */
    }
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
    ctx.fab = it_fabric_new("router_restart");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_restart, &ctx),
        cmocka_unit_test_prestate(test_streams, &ctx),
        cmocka_unit_test_prestate(test_quiet_room, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("router_restart", tests, NULL, NULL);
    it_scenario_free(&ctx.fab, &ctx.wsc, &ctx.fencer, &ctx.pacer, ctx.crowds, N_EDGES, failed);
    return failed ? 1 : 0;
}
