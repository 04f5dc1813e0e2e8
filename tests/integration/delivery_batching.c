/*
 * delivery_batching.c: batching and coalescing end to end, through a real router and edge.
 *
 * The edge runs two test classes with 10 s windows, so that nothing is flushed by time while a
 * case runs and every split is decided by what the case publishes:
 *   slow=slow.*:10000::agent_id   (coalesced by envelope key, else data.agent_id)
 *   tiny=tiny.*:10000:3           (at most 3 events a batch)
 * Clients of room dash:1: B (batched, the default), U ("batch": false) and P (pattern dash:*,
 * batched). The cases check: held events reach U at once and B not before the flush; the batch
 * B and P receive (the same frame) covers every seq with only the newest event per key; a
 * critical event flushes first and follows in order; max size flushes without waiting; a
 * client resuming from a batch's to_seq gets exactly what follows, recovered; and across all
 * cases no client saw a gap or a duplicate (the stream logs check every frame).
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

#define ROOM "dash:1"
#define CLASSES "slow=slow.*:10000::agent_id; tiny=tiny.*:10000:3"

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;    /* the private fabric */
    ts_wsc_t *wsc;       /* WebSocket client context */
    weft_pub_t *pub;     /* publishes every event */
    ts_wsc_conn_t *b;    /* batched client of ROOM */
    ts_wsc_conn_t *u;    /* unbatched client of ROOM */
    ts_wsc_conn_t *p;    /* batched client of dash:* */
    dl_log_t lb, lu, lp; /* their streams of ROOM */
    size_t fb, fu, fp;   /* frames of each already fed to its log */
    uint64_t epoch;      /* the room's epoch */
    uint64_t published;  /* events published to ROOM (= the last seq) */
    int ready;           /* set up completed */
} test_ctx_t;

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* Publishes one event to ROOM (key may be NULL) and counts it. */
static void s_pub(test_ctx_t *ctx, const char *type, const char *key, const char *json, int flags)
{
    int rc = weft_publish_key(ctx->pub, ROOM, type, key, json, flags);
    if (rc != 0)
        fail_msg("weft_publish_key(%s) failed: %s", type, weft_strerror(rc));
    ctx->published++;
}

/* Feeds the three clients' new frames to their logs and fails on any order violation. */
static void s_feed(test_ctx_t *ctx)
{
    dl_log_wsc(&ctx->lb, ctx->b, &ctx->fb);
    dl_log_wsc(&ctx->lu, ctx->u, &ctx->fu);
    dl_log_wsc(&ctx->lp, ctx->p, &ctx->fp);
    const dl_log_t *logs[] = {&ctx->lb, &ctx->lu, &ctx->lp};
    const char *names[] = {"B", "U", "P"};
    for (int i = 0; i < 3; i++)
        if (logs[i]->errors)
            fail_msg("client %s: %zu order violations, first: %s", names[i], logs[i]->errors,
                     logs[i]->err);
}

/* Context for s_positioned(). */
typedef struct wait_pos {
    test_ctx_t *ctx;
    dl_log_t *log;
    ts_wsc_conn_t *conn;
    size_t *from;
    uint64_t seq;
} wait_pos_t;

/* ts_wsc_wait_until callback: the client's log has accounted for seq. */
static int s_positioned(void *arg)
{
    wait_pos_t *w = arg;
    dl_log_wsc(w->log, w->conn, w->from);
    return w->log->positioned && w->log->pos >= w->seq;
}

/* Waits until a client's stream reached seq (its log's position). */
static void s_wait_pos(test_ctx_t *ctx, const char *name, ts_wsc_conn_t *conn, dl_log_t *log,
                       size_t *from, uint64_t seq)
{
    wait_pos_t w = {.ctx = ctx, .log = log, .conn = conn, .from = from, .seq = seq};
    if (ts_wsc_wait_until(ctx->wsc, s_positioned, &w, IT_WAIT_MS) != 0)
        fail_msg("client %s did not reach seq %" PRIu64 " (at %" PRIu64 "; seqs %s): %s", name, seq,
                 log->pos, dl_log_seqs(log), ts_wsc_describe(conn));
}

/* The index of the last frame of conn with op (and room), or -1. */
static long s_last(ts_wsc_conn_t *conn, const char *op)
{
    for (size_t i = ts_wsc_frame_count(conn); i-- > 0;) {
        json_t *f = ts_wsc_frame(conn, i);
        const char *o = json_string_value(json_object_get(f, "op"));
        if (o && strcmp(o, op) == 0)
            return (long)i;
    }
    return -1;
}

/* Starts router and edge, connects B, U and P, and fences their subscriptions. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    const char *edge_args[] = {"--classes", CLASSES, NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-batch", edge_args), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    int port = it_fabric_edge_port(ctx->fab, 0);
    ctx->b = ts_wsc_connect(ctx->wsc, port, "B batched");
    ctx->u = ts_wsc_connect(ctx->wsc, port, "U unbatched");
    ctx->p = ts_wsc_connect(ctx->wsc, port, "P pattern");
    assert_int_equal(ts_wsc_wait_all_open(ctx->wsc, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->b, ROOM, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->p, "dash:*", IT_WAIT_MS), 0);
    size_t from = ts_wsc_frame_count(ctx->u);
    assert_int_equal(ts_wsc_send_text(ctx->u, "{\"op\":\"subscribe\",\"room\":\"" ROOM
                                              "\",\"batch\":false,\"id\":\"u\"}"),
                     0);
    json_t *sub = ts_wsc_wait_op(ctx->u, "subscribed", ROOM, &from, IT_WAIT_MS);
    assert_non_null(sub);
    /* The edge confirms the unbatched subscription. */
    assert_true(json_is_false(json_object_get(sub, "batch")));
    assert_string_equal(json_string_value(json_object_get(sub, "id")), "u");
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    dl_log_init(&ctx->lb, ROOM);
    dl_log_init(&ctx->lu, ROOM);
    dl_log_init(&ctx->lp, ROOM);
    ctx->fb = ts_wsc_frame_count(ctx->b);
    ctx->fu = ts_wsc_frame_count(ctx->u);
    ctx->fp = ts_wsc_frame_count(ctx->p);
    ctx->ready = 1;
}

/* Held events reach U at once and B not yet; an immediate event flushes them to B and P as one
 * batch that covers every seq and carries only the newest event per (type, key). */
static void test_coalescing(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    s_pub(ctx, "slow.cpu", "a1", "{\"v\":1}", 0);                        /* 1: replaced by 3 */
    s_pub(ctx, "slow.cpu", "a2", "{\"v\":2}", 0);                        /* 2 */
    s_pub(ctx, "slow.cpu", "a1", "{\"v\":3}", 0);                        /* 3 */
    s_pub(ctx, "slow.status", NULL, "{\"agent_id\":\"a1\",\"v\":4}", 0); /* 4: replaced by 5 */
    s_pub(ctx, "slow.status", NULL, "{\"v\":5,\"agent_id\":\"a1\"}", 0); /* 5 */
    s_pub(ctx, "slow.status", NULL, "{\"agent_id\":\"a2\",\"v\":6}", 0); /* 6 */
    /* U gets each event as it comes; the epoch is learned from its first one. */
    s_wait_pos(ctx, "U", ctx->u, &ctx->lu, &ctx->fu, 6);
    assert_string_equal(dl_log_seqs(&ctx->lu), "1,2,3,4,5,6");
    assert_int_equal(ctx->lu.batches, 0);
    ctx->epoch = ctx->lu.evs[0].epoch;
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(dl_ev_int(&ctx->lu.evs[i], "v"), (int64_t)i + 1);
    /* B and P wait for the flush (the window is 10 s). */
    ts_wsc_service(ctx->wsc, 300);
    s_feed(ctx);
    assert_int_equal(ctx->lb.count, 0);
    assert_int_equal(ctx->lp.count, 0);
    /* An immediate event flushes the batch, then goes out itself. */
    s_pub(ctx, "test.now", NULL, "{\"v\":7}", 0); /* 7 */
    s_wait_pos(ctx, "B", ctx->b, &ctx->lb, &ctx->fb, 7);
    s_wait_pos(ctx, "P", ctx->p, &ctx->lp, &ctx->fp, 7);
    s_wait_pos(ctx, "U", ctx->u, &ctx->lu, &ctx->fu, 7);
    s_feed(ctx);
    assert_string_equal(dl_log_seqs(&ctx->lb), "2,3,5,6,7");
    assert_int_equal(ctx->lb.batches, 1);
    assert_int_equal(ctx->lb.coalesced, 2);
    int64_t want_v[] = {2, 3, 5, 6, 7};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(dl_ev_int(&ctx->lb.evs[i], "v"), want_v[i]);
    assert_true(ctx->lb.evs[0].in_batch && !ctx->lb.evs[4].in_batch);
    assert_string_equal(ctx->lb.evs[2].type, "slow.status");
    /* The batch frame itself: the range, and the same frame for B and P. */
    long ib = s_last(ctx->b, "batch"), ip = s_last(ctx->p, "batch");
    assert_true(ib >= 0 && ip >= 0);
    json_t *batch = ts_wsc_frame(ctx->b, (size_t)ib);
    assert_int_equal(json_integer_value(json_object_get(batch, "from_seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(batch, "to_seq")), 6);
    assert_int_equal(json_integer_value(json_object_get(batch, "epoch")), (json_int_t)ctx->epoch);
    assert_true(json_equal(batch, ts_wsc_frame(ctx->p, (size_t)ip)));
    assert_string_equal(dl_log_seqs(&ctx->lu), "1,2,3,4,5,6,7");
    assert_string_equal(dl_log_seqs(&ctx->lp), "2,3,5,6,7");
}

/* A critical event flushes the pending batch first and follows at once, in order. A batch of
 * one seq is just that event's frame. */
static void test_critical_flush(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    size_t before = ctx->lb.count;
    s_pub(ctx, "slow.cpu", "a1", "{\"v\":8}", 0);             /* 8 */
    s_pub(ctx, "slow.cpu", "a1", "{\"v\":9}", WEFT_CRITICAL); /* 9 */
    s_wait_pos(ctx, "B", ctx->b, &ctx->lb, &ctx->fb, 9);
    s_wait_pos(ctx, "U", ctx->u, &ctx->lu, &ctx->fu, 9);
    s_feed(ctx);
    assert_int_equal(ctx->lb.count - before, 2);
    const dl_ev_t *e8 = &ctx->lb.evs[before], *e9 = &ctx->lb.evs[before + 1];
    assert_int_equal(e8->seq, 8);
    assert_false(e8->in_batch); /* one seq pending: sent as an event frame */
    assert_false(e8->critical);
    assert_int_equal(e9->seq, 9);
    assert_true(e9->critical);
    assert_int_equal(dl_ev_int(e9, "v"), 9);
}

/* A class's max flushes at once, without waiting for its window. */
static void test_max_size(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    uint64_t t0 = base_clock_ms();
    s_pub(ctx, "tiny.a", NULL, "{\"v\":10}", 0); /* 10 */
    s_pub(ctx, "tiny.b", NULL, "{\"v\":11}", 0); /* 11 */
    s_pub(ctx, "tiny.c", NULL, "{\"v\":12}", 0); /* 12: third of at most 3 */
    s_wait_pos(ctx, "B", ctx->b, &ctx->lb, &ctx->fb, 12);
    /* Well inside the 10 s window (a generous bound for a loaded machine). */
    uint64_t took = base_clock_ms() - t0;
    if (took > 8000)
        fail_msg("a full batch took %" PRIu64 " ms: it waited for its window", took);
    long ib = s_last(ctx->b, "batch");
    json_t *batch = ts_wsc_frame(ctx->b, (size_t)ib);
    assert_int_equal(json_integer_value(json_object_get(batch, "from_seq")), 10);
    assert_int_equal(json_integer_value(json_object_get(batch, "to_seq")), 12);
    assert_int_equal(json_array_size(json_object_get(batch, "events")), 3);
    s_wait_pos(ctx, "U", ctx->u, &ctx->lu, &ctx->fu, 12);
    s_wait_pos(ctx, "P", ctx->p, &ctx->lp, &ctx->fp, 12);
    s_feed(ctx);
}

/* A client that kept B's cursor (the batch's to_seq, 6, past the coalesced 4) resumes on a new
 * connection: recovered, then exactly 7.. in order, from history and then live batches. */
static void test_resume_from_batch_cursor(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    ts_wsc_conn_t *r =
        ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "R resumes from 6");
    assert_non_null(r);
    assert_int_equal(ts_wsc_wait_open(r, IT_WAIT_MS), 0);
    size_t from = ts_wsc_frame_count(r);
    assert_int_equal(ts_wsc_send_textf(r,
                                       "{\"op\":\"subscribe\",\"room\":\"" ROOM
                                       "\",\"since\":{\"epoch\":%" PRIu64 ",\"seq\":6}}",
                                       ctx->epoch),
                     0);
    json_t *sub = ts_wsc_wait_op(r, "subscribed", ROOM, &from, IT_WAIT_MS);
    assert_non_null(sub);
    assert_true(json_is_true(json_object_get(sub, "recovered")));
    assert_int_equal(json_integer_value(json_object_get(sub, "seq")), 6);
    dl_log_t lr;
    dl_log_init(&lr, ROOM);
    dl_log_position(&lr, ctx->epoch, 6);
    size_t fr = from;
    s_wait_pos(ctx, "R", r, &lr, &fr, ctx->published);
    if (lr.errors)
        fail_msg("R: %s", lr.err);
    assert_string_equal(dl_log_seqs(&lr), "7,8,9,10,11,12");
    /* Live events after the replay come batched like everyone else's. */
    s_pub(ctx, "slow.cpu", "a9", "{\"v\":13}", 0);
    s_pub(ctx, "slow.cpu", "a9", "{\"v\":14}", 0);
    s_pub(ctx, "test.now", NULL, "{\"v\":15}", 0);
    s_wait_pos(ctx, "R", r, &lr, &fr, 15);
    if (lr.errors)
        fail_msg("R: %s", lr.err);
    assert_string_equal(dl_log_seqs(&lr), "7,8,9,10,11,12,14,15");
    assert_true(lr.batches >= 1);
    dl_log_free(&lr);
    ts_wsc_close(r);
    s_wait_pos(ctx, "B", ctx->b, &ctx->lb, &ctx->fb, 15);
    s_wait_pos(ctx, "U", ctx->u, &ctx->lu, &ctx->fu, 15);
    s_wait_pos(ctx, "P", ctx->p, &ctx->lp, &ctx->fp, 15);
    s_feed(ctx);
}

/* Over the whole run: U got every seq one by one; B and P every seq accounted for. */
static void test_totals(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    s_feed(ctx);
    assert_int_equal(ctx->lu.count, ctx->published);
    assert_int_equal(ctx->lu.batches, 0);
    assert_int_equal(ctx->lb.pos, ctx->published);
    assert_int_equal(ctx->lb.count + ctx->lb.coalesced, ctx->published);
    assert_int_equal(ctx->lp.count, ctx->lb.count);
    assert_int_equal(ts_wsc_bad_frames(ctx->b) + ts_wsc_bad_frames(ctx->u), 0);
}

/* The daemons stop cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("delivery_batching");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_coalescing, &ctx),
        cmocka_unit_test_prestate(test_critical_flush, &ctx),
        cmocka_unit_test_prestate(test_max_size, &ctx),
        cmocka_unit_test_prestate(test_resume_from_batch_cursor, &ctx),
        cmocka_unit_test_prestate(test_totals, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("delivery_batching", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    dl_log_free(&ctx.lb);
    dl_log_free(&ctx.lu);
    dl_log_free(&ctx.lp);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
