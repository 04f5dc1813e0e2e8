/*
 * delivery_slow_consumer.c: a client that stops reading is closed with 4008 "slow consumer"
 * while a fast client in the same room keeps receiving on time, and the stalled client then
 * resumes from its cursor without losing anything.
 *
 * The edge's queue bound is small (256 frames); the stalled client is a bare socket with a 4 KiB
 * receive buffer that subscribes and then reads nothing, so TCP pushes back and, once the
 * kernel's socket buffers are full, its queue fills. A publisher sends 4 KiB events in bursts of
 * ten with 5 ms pauses, until the close and AFTER_CLOSE events more. While it runs:
 *  - the fast client (ts_wsc) must receive every event in order, each within 3 s of being
 *    published (a bound for a loaded 2-core machine; the point is that it is not held up for
 *    the whole stall);
 *  - as soon as the edge logs the slow consumer, the stalled client reads what it has: the
 *    events before the close in order, then the close frame 4008 "slow consumer".
 * Then it reconnects (ts_wsc) with "since" at its last event and must get every later event
 * exactly once, in order, recovered:true.
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

#define ROOM "flood"
#define MAX_EVENTS                                                                                 \
    8000                    /* bound on events published (the kernel's socket buffers may take     \
                             * a few MiB before the edge's own queue starts to fill) */
#define AFTER_CLOSE 300     /* events published after the stalled client was closed */
#define PAD 4000            /* bytes of padding per event */
#define MAX_LATENCY_MS 3000 /* the fast client's bound from publish to receipt */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;             /* the private fabric */
    ts_wsc_t *wsc;                /* WebSocket client context */
    weft_pub_t *pub;              /* the publisher */
    ts_wsc_conn_t *fast;          /* reads everything */
    dl_raw_t *slow;               /* reads nothing until the edge gave up on it */
    dl_log_t lfast;               /* the fast client's stream */
    size_t ffast;                 /* its frames fed so far */
    uint64_t sent_ms[MAX_EVENTS]; /* when each event was published */
    int total;                    /* events to publish in all (known once the close happened) */
    uint64_t max_latency;         /* worst publish-to-receipt time seen by the fast client */
    int published;                /* events published */
    int ready;                    /* set up completed */
    int flooded;                  /* the flood case passed: there is something to resume */
} test_ctx_t;

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* dl_raw_read callback: the "subscribed" answer has arrived. */
static int s_has_subscribed(void *arg, dl_raw_t *raw)
{
    (void)arg;
    for (size_t i = 0; i < dl_raw_frame_count(raw); i++) {
        const char *op = json_string_value(json_object_get(dl_raw_frame(raw, i), "op"));
        if (op && strcmp(op, "subscribed") == 0)
            return 1;
    }
    return 0;
}

/* Starts router (with room for every event in history) and an edge with a small queue bound;
 * subscribes both clients. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    const char *router_args[] = {"--history-max-events", "100000", NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, router_args), 0);
    const char *edge_args[] = {"--max-queue-frames", "256", "--max-queue-bytes", "2m", NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-slow", edge_args), 0);
    int port = it_fabric_edge_port(ctx->fab, 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->fast = ts_wsc_connect(ctx->wsc, port, "fast");
    assert_non_null(ctx->fast);
    assert_int_equal(ts_wsc_wait_open(ctx->fast, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->fast, ROOM, IT_WAIT_MS), 0);
    ctx->slow = dl_raw_connect(port, 4096, IT_WAIT_MS);
    assert_non_null(ctx->slow);
    assert_int_equal(dl_raw_status(ctx->slow), 101);
    assert_int_equal(dl_raw_send_text(ctx->slow, "{\"op\":\"subscribe\",\"room\":\"" ROOM "\"}"),
                     0);
    assert_int_equal(dl_raw_read(ctx->slow, s_has_subscribed, NULL, IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    dl_log_init(&ctx->lfast, ROOM);
    ctx->ffast = ts_wsc_frame_count(ctx->fast);
    ctx->ready = 1;
}

/* Feeds the fast client's new frames to its log, noting how late each event arrived. */
static void s_feed_fast(test_ctx_t *ctx)
{
    size_t before = ctx->lfast.count;
    dl_log_wsc(&ctx->lfast, ctx->fast, &ctx->ffast);
    uint64_t now = base_clock_ms();
    for (size_t i = before; i < ctx->lfast.count; i++) {
        int64_t n = dl_ev_int(&ctx->lfast.evs[i], "n");
        if (n < 0 || n >= ctx->published)
            fail_msg("fast client: event with n=%" PRId64 " that was not published", n);
        uint64_t late = now - ctx->sent_ms[n];
        if (late > ctx->max_latency)
            ctx->max_latency = late;
    }
    if (ctx->lfast.errors)
        fail_msg("fast client: %s", ctx->lfast.err);
}

/* The flood: the stalled client is closed with 4008, the fast one keeps up throughout. */
static void test_stalled_client_closed(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    static char json[PAD + 128];
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    bool drained = false;
    ctx->total = MAX_EVENTS;
    while (ctx->published < ctx->total) {
        /* A burst of 10 events, then the clients get 5 ms. */
        for (int k = 0; k < 10 && ctx->published < ctx->total; k++) {
            int n = ctx->published;
            snprintf(json, sizeof json, "{\"n\":%d,\"pad\":\"%0*d\"}", n, PAD, 0);
            ctx->sent_ms[n] = base_clock_ms();
            assert_int_equal(it_publish(ctx->pub, ROOM, "test.flood", json), 0);
            ctx->published++;
        }
        ts_wsc_service(ctx->wsc, 5);
        s_feed_fast(ctx);
        if (!drained && ts_proc_log_count(edge, "closing a slow consumer") > 0) {
            /* The edge gave up on it: read what it has, then its close frame. The edge only
             * waits a few seconds for a doomed connection, so this happens right away, in
             * short reads between which the fast client is served as usual. */
            uint64_t until = base_clock_ms() + IT_WAIT_MS;
            while (dl_raw_read(ctx->slow, NULL, NULL, 10) != 0) {
                if (dl_raw_ended(ctx->slow) || base_clock_ms() > until)
                    fail_msg("stalled client: no close frame (close code %d)",
                             dl_raw_close_code(ctx->slow));
                ts_wsc_service(ctx->wsc, 1);
                s_feed_fast(ctx);
            }
            drained = true;
            if (ctx->published + AFTER_CLOSE < ctx->total)
                ctx->total = ctx->published + AFTER_CLOSE;
            fprintf(stderr, "[ slow ] closed after %d events published, %zu frames read\n",
                    ctx->published, dl_raw_frame_count(ctx->slow));
        }
    }
    if (!drained)
        fail_msg("the edge never closed the stalled client (%d events of %d bytes published)",
                 ctx->published, PAD);
    assert_int_equal(dl_raw_close_code(ctx->slow), 4008);
    assert_string_equal(dl_raw_close_reason(ctx->slow), "slow consumer");
    /* The fast client gets everything, in order, none of it held up by the stall. */
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    while (ctx->lfast.count < (size_t)ctx->total && base_clock_ms() < deadline) {
        ts_wsc_service(ctx->wsc, 20);
        s_feed_fast(ctx);
    }
    fprintf(stderr, "[ slow ] fast client: %zu events, worst latency %" PRIu64 " ms\n",
            ctx->lfast.count, ctx->max_latency);
    assert_int_equal(ctx->lfast.count, ctx->total);
    for (size_t i = 0; i < ctx->lfast.count; i++)
        assert_int_equal(dl_ev_int(&ctx->lfast.evs[i], "n"), (int64_t)i);
    if (ctx->max_latency > MAX_LATENCY_MS)
        fail_msg("the fast client waited %" PRIu64 " ms for an event", ctx->max_latency);
    assert_true(ts_wsc_is_open(ctx->fast));
    ctx->flooded = 1;
}

/* The stalled client's events before the close were in order; resuming from its cursor brings
 * every later event exactly once. */
static void test_resume_after_4008(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->flooded)
        skip();
    dl_log_t ls;
    dl_log_init(&ls, ROOM);
    size_t fs = 0;
    dl_log_raw(&ls, ctx->slow, &fs);
    if (ls.errors)
        fail_msg("stalled client: %s", ls.err);
    assert_true(ls.count > 0);
    assert_true(ls.count < (size_t)ctx->total); /* it really was cut off */
    for (size_t i = 0; i < ls.count; i++)
        assert_int_equal(dl_ev_int(&ls.evs[i], "n"), (int64_t)i);
    uint64_t epoch = ls.epoch, cursor = ls.pos;
    dl_log_free(&ls);

    ts_wsc_conn_t *again =
        ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "stalled client again");
    assert_non_null(again);
    assert_int_equal(ts_wsc_wait_open(again, IT_WAIT_MS), 0);
    size_t from = ts_wsc_frame_count(again);
    assert_int_equal(ts_wsc_send_textf(again,
                                       "{\"op\":\"subscribe\",\"room\":\"" ROOM
                                       "\",\"since\":{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64 "}}",
                                       epoch, cursor),
                     0);
    json_t *sub = ts_wsc_wait_op(again, "subscribed", ROOM, &from, IT_WAIT_MS);
    assert_non_null(sub);
    assert_true(json_is_true(json_object_get(sub, "recovered")));
    dl_log_t la;
    dl_log_init(&la, ROOM);
    dl_log_position(&la, epoch, cursor);
    uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
    uint64_t last = ctx->lfast.pos;
    while (la.pos < last && base_clock_ms() < deadline) {
        ts_wsc_service(ctx->wsc, 20);
        dl_log_wsc(&la, again, &from);
    }
    if (la.errors)
        fail_msg("resumed client: %s", la.err);
    assert_int_equal(la.pos, last);
    assert_true(la.count > 0);
    assert_int_equal(la.count, (size_t)(last - cursor));
    assert_int_equal(dl_ev_int(&la.evs[la.count - 1], "n"), ctx->total - 1);
    dl_log_free(&la);
    ts_wsc_close(again);
}

/* The edge counted the close and still stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    weft_pub_destroy(&ctx->pub);
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    assert_true(ts_proc_log_count(edge, "4008_slow_consumer=1") > 0);
}

int main(void)
{
    static test_ctx_t ctx;
    ctx.fab = it_fabric_new("delivery_slow_consumer");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_stalled_client_closed, &ctx),
        cmocka_unit_test_prestate(test_resume_after_4008, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("delivery_slow_consumer", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    dl_raw_destroy(&ctx.slow);
    dl_log_free(&ctx.lfast);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
