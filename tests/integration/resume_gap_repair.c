/*
 * resume_gap_repair.c: events the router drops for a slow edge are repaired from history.
 *
 * The router queues at most 20 messages per edge (--fanout-hwm 20) and the edge's SUB at most 20
 * (--sub-rcvhwm 20). The edge is frozen (SIGSTOP) while 1500 events of 2 KiB per room go out, far
 * more than the queues and the loopback socket buffers hold, so the router drops most of them
 * for that edge. After SIGCONT the edge sees its rooms' seqs jump; it must fetch the missing
 * events from history and hold later ones meanwhile, so its clients (connected, subscribed
 * without "since") receive every event exactly once and in order, with no recovered:false. The
 * edge's exit statistics must show the gaps it repaired, or the test provoked nothing.
 *
 * A gap at the very end of the burst is invisible to the edge until the room's next event shows
 * the jump (nothing tells it the router dropped the last ones), so after the burst one more
 * event per room follows; the test prints how far the clients got before it.
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

#define N_CLIENTS 20
#define N_ROOMS 2
#define PER_ROOM 1501 /* 5 events, then a burst of 1496 that ends the test: no later event */
#define PAD 2048

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;  /* the private fabric */
    ts_wsc_t *wsc;     /* WebSocket client context */
    weft_pub_t *pub;   /* the publisher */
    it_pacer_t *names; /* only for its room names and totals (it never runs) */
    it_crowd_t *crowd; /* the clients */
    uint64_t epoch;    /* the router's epoch */
    int ready;         /* the previous step completed */
} test_ctx_t;

/* Starts the fabric with small queues and connects the clients. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    const char *router_args[] = {"--fanout-hwm", "20", "--history-max-events", "5000", NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, router_args), 0);
    ctx->epoch = it_router_epoch(ctx->fab);
    const char *edge_args[] = {"--sub-rcvhwm", "20", NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-1", edge_args), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    /* The pacer object names the rooms and their totals the crowd checks against; the events
     * themselves are published below, in one burst. */
    ctx->names = it_pacer_new(it_fabric_intake(ctx->fab), "gap", N_ROOMS, N_ROOMS * PER_ROOM, 1);
    assert_non_null(ctx->names);
    ctx->crowd = it_crowd_new(ctx->wsc, ctx->names, "client", N_CLIENTS,
                              it_fabric_edge_port(ctx->fab, 0), 1, 0);
    assert_non_null(ctx->crowd);
    assert_int_equal(it_crowd_wait_joined(ctx->crowd, 60000), 0);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Freezes the edge, publishes a burst, thaws it; every client must get everything. */
static void test_burst(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    char *json = malloc(PAD + 128);
    assert_non_null(json);
    /* A few events first, so every room stream has a position before the gap. */
    int n[N_ROOMS] = {0};
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            assert_int_equal(ts_proc_signal(edge, SIGSTOP), 0);
        int count = round == 0 ? 5 : PER_ROOM - 5;
        for (int i = 0; i < count; i++) {
            for (int r = 0; r < N_ROOMS; r++) {
                int len = snprintf(json, PAD + 128, "{\"r\":\"%s\",\"n\":%d,\"pad\":\"",
                                   it_pacer_room(ctx->names, r), ++n[r]);
                memset(json + len, 'x', PAD);
                snprintf(json + len + PAD, 128, "\"}");
                assert_int_equal(
                    it_publish(ctx->pub, it_pacer_room(ctx->names, r), "test.gap", json), 0);
            }
        }
        assert_int_equal(weft_pub_flush(ctx->pub, 60000), 0);
        if (round == 0)
            ts_wsc_service(ctx->wsc, 500);
    }
    /* The router has stamped (acked) everything; give its queue to the frozen edge time to
     * overflow, then let the edge run again and repair what it can see. */
    ts_wsc_service(ctx->wsc, 300);
    assert_int_equal(ts_proc_signal(edge, SIGCONT), 0);
    ts_wsc_service(ctx->wsc, 3000);
    int64_t lowest = PER_ROOM;
    for (int i = 0; i < N_CLIENTS; i++) {
        ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
        for (int r = 0; r < N_ROOMS; r++) {
            size_t count = 0;
            const ts_wsc_rec_t *recs = ts_wsc_records(c, it_pacer_room(ctx->names, r), &count);
            if (count > 0 && recs[count - 1].n < lowest)
                lowest = recs[count - 1].n;
        }
    }
    /* No event follows the burst: events lost at its tail are found through the router's room
     * heads (docs/protocol.md "Room heads"), not through a later seq jump. */
    printf("resume_gap_repair: 3 s after the burst the slowest client was at n=%" PRId64 " of %d\n",
           lowest, PER_ROOM);
    free(json);
    assert_int_equal(it_crowd_wait_caught_up(ctx->crowd, 60000), 0);
    ctx->ready = 1;
}

/* Every stream complete, in order, without recovered:false; the edge did repair gaps. */
static void test_streams(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_crowd_check(ctx->crowd, IT_EXPECT_GAPLESS, ctx->epoch, 0), 0);
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(ts_proc_stop(edge, 15000), 0);
    char *log = ts_proc_log_text(edge);
    assert_non_null(log);
    const char *rooms = strstr(log, "stats (exit): rooms:");
    const char *gaps = rooms ? strstr(rooms, " gaps=") : NULL;
    const char *repaired = rooms ? strstr(rooms, " repaired=") : NULL;
    const char *unrepaired = rooms ? strstr(rooms, " unrepaired=") : NULL;
    /* Show what the repair cost in history requests (retries mean lost or late replies). */
    const char *hist = strstr(log, "stats (exit): history:");
    if (hist)
        printf("resume_gap_repair: edge %.*s\n", (int)strcspn(hist, "\n"), hist);
    long g = gaps ? strtol(gaps + 6, NULL, 10) : -1;
    long rep = repaired ? strtol(repaired + 10, NULL, 10) : -1;
    long unrep = unrepaired ? strtol(unrepaired + 12, NULL, 10) : -1;
    free(log);
    printf("resume_gap_repair: the edge saw %ld gaps, repaired %ld, unrepaired %ld\n", g, rep,
           unrep);
    if (g < 1)
        fail_msg("the burst caused no gap at the edge: the test provoked nothing");
    assert_true(rep >= 1);
    assert_int_equal(unrep, 0);
}

/* Everything stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_scenario_end(ctx->fab, &ctx->pub, NULL), 0);
}

int main(void)
{
    static test_ctx_t ctx;
    ctx.fab = it_fabric_new("resume_gap_repair");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_burst, &ctx),
        cmocka_unit_test_prestate(test_streams, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("resume_gap_repair", tests, NULL, NULL);
    it_scenario_free(&ctx.fab, &ctx.wsc, &ctx.pub, &ctx.names, &ctx.crowd, 1, failed);
    return failed ? 1 : 0;
}
