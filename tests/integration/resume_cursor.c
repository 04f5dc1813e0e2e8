/*
 * resume_cursor.c: subscribe with "since" on another edge, without a load balancer.
 *
 * Router with a history of 10 events per room (--history-max-events 10) and two edges. A resume
 * client on edge-1 receives a few events, disconnects, misses 7, and reconnects to edge-2 with
 * its cursor: it must get recovered:true, exactly those 7, then live events. Then the limits of
 * the guarantee: a cursor older than the history gives recovered:false "too_old" with the room's
 * head, a cursor of another epoch gives "epoch_changed" with the current epoch and head, and
 * "since" on a pattern (or malformed) is the error bad_since while the connection stays open.
 * Last, a subscribe without since: the answer carries the room's position at the edge when the
 * edge has one (else a "position" frame follows, from the router's history), and a client that
 * leaves before its first event resumes from it losing nothing.
 */
#include "it_resume.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ROOM "cur:a"
#define ROOM_B "cur:b"
#define ROOM_C "cur:c"
#define ROOM_D "cur:d"
#define HISTORY 10

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;      /* the private fabric */
    ts_wsc_t *wsc;         /* WebSocket client context */
    weft_pub_t *pub;       /* the publisher */
    ts_wsc_conn_t *client; /* the resume client */
    uint64_t epoch;        /* the router's epoch */
    int n;                 /* events published into ROOM so far (the last n) */
    int ready;             /* set up completed */
} test_ctx_t;

/* Publishes events first..last into room ({"r":room,"n":seq}) and waits for the acks. */
static void s_publish_room(test_ctx_t *ctx, const char *room, int first, int last)
{
    for (int n = first; n <= last; n++) {
        char json[64];
        snprintf(json, sizeof json, "{\"r\":\"%s\",\"n\":%d}", room, n);
        assert_int_equal(it_publish(ctx->pub, room, "test.cursor", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
}

/* Publishes count more events into ROOM ({"r":ROOM,"n":...}) and waits for the router's acks. */
static void s_publish(test_ctx_t *ctx, int count)
{
    s_publish_room(ctx, ROOM, ctx->n + 1, ctx->n + count);
    ctx->n += count;
}

/* What s_at_cursor waits for. */
typedef struct s_cursor_wait {
    ts_wsc_conn_t *conn; /* the client */
    const char *room;    /* the room */
    uint64_t epoch;      /* wanted epoch */
    uint64_t seq;        /* wanted seq */
} s_cursor_wait_t;

/* Done when the client's cursor of the room reached (epoch, seq). */
static int s_at_cursor(void *arg)
{
    s_cursor_wait_t *w = arg;
    uint64_t epoch = 0, seq = 0;
    return ts_wsc_cursor(w->conn, w->room, &epoch, &seq) && epoch == w->epoch && seq >= w->seq;
}

/* Waits until the resume client's cursor is (epoch, seq) and checks it is not beyond. */
static void s_wait_cursor(test_ctx_t *ctx, uint64_t seq)
{
    s_cursor_wait_t w = {ctx->client, ROOM, ctx->epoch, seq};
    if (ts_wsc_wait_until(ctx->wsc, s_at_cursor, &w, IT_WAIT_MS) != 0) {
        uint64_t e = 0, s = 0;
        ts_wsc_cursor(ctx->client, ROOM, &e, &s);
        fail_msg("cursor %" PRIu64 "/%" PRIu64 ", want %" PRIu64 "/%" PRIu64 ": %s", e, s,
                 ctx->epoch, seq, ts_wsc_describe(ctx->client));
    }
    ts_wsc_service(ctx->wsc, 200);
    uint64_t e = 0, s = 0;
    assert_true(ts_wsc_cursor(ctx->client, ROOM, &e, &s));
    assert_int_equal(s, seq);
}

/* Done when the client has no unanswered subscribe (or is closed). */
static int s_answered(void *arg)
{
    ts_wsc_conn_t *c = arg;
    return ts_wsc_is_closed(c) || (ts_wsc_is_open(c) && ts_wsc_pending(c) == 0);
}

/* Closes the resume client from our side and waits until it is closed. */
static void s_disconnect(test_ctx_t *ctx)
{
    ts_wsc_close(ctx->client);
    assert_int_equal(ts_wsc_wait_closed(ctx->client, IT_WAIT_MS), 0);
}

/* The last answer to a subscribe recorded for the room. */
static const ts_wsc_rec_t *s_last_answer(ts_wsc_conn_t *c, const char *room)
{
    size_t count = 0;
    const ts_wsc_rec_t *recs = ts_wsc_records(c, room, &count);
    for (size_t i = count; i-- > 0;)
        if (recs[i].kind == TS_WSC_REC_SUBSCRIBED && recs[i].reply)
            return &recs[i];
    fail_msg("no answer recorded for %s", room);
    return NULL;
}

/* Reconnects the resume client to edge idx and waits for the answer to its resume. */
static const ts_wsc_rec_t *s_resume(test_ctx_t *ctx, int idx)
{
    assert_int_equal(ts_wsc_reconnect(ctx->client, it_fabric_edge_port(ctx->fab, idx)), 0);
    assert_int_equal(ts_wsc_wait_open(ctx->client, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, ctx->client, IT_WAIT_MS), 0);
    assert_true(ts_wsc_is_open(ctx->client));
    return s_last_answer(ctx->client, ROOM);
}

/* Starts the fabric; the resume client joins ROOM on edge-1 and receives 3 events. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    char history[16];
    snprintf(history, sizeof history, "%d", HISTORY);
    const char *router_args[] = {"--history-max-events", history, NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, router_args), 0);
    ctx->epoch = it_router_epoch(ctx->fab);
    assert_true(ctx->epoch > 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-1", NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-2", NULL), 1);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    ctx->client = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "resume client");
    assert_non_null(ctx->client);
    ts_wsc_resume_enable(ctx->client, 0, 0, 0);
    assert_int_equal(ts_wsc_join(ctx->client, ROOM), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, ctx->client, IT_WAIT_MS), 0);
    assert_string_equal(ts_wsc_edge_id(ctx->client), "edge-1");
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish(ctx, 3);
    s_wait_cursor(ctx, 3);
    ctx->ready = 1;
}

/* Away for 7 events, back on edge-2: recovered:true, exactly those 7, then live ones. */
static void test_resume_other_edge(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_disconnect(ctx);
    s_publish(ctx, 7); /* seqs 4..10: all still in the history of 10 */
    const ts_wsc_rec_t *answer = s_resume(ctx, 1);
    assert_string_equal(ts_wsc_edge_id(ctx->client), "edge-2");
    assert_int_equal(answer->recovered, 1);
    assert_int_equal(answer->epoch, ctx->epoch);
    assert_int_equal(answer->seq, 3);
    s_wait_cursor(ctx, 10);
    /* edge-2 had no member of the room: make sure its new subscription reached the router
     * before publishing, or a live event could fall between history and live (the edge would
     * only repair that gap when a later event shows it). */
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish(ctx, 2); /* live: 11, 12 */
    s_wait_cursor(ctx, 12);

    ts_wsc_summary_t sum;
    char err[400];
    if (ts_wsc_check_room(ctx->client, ROOM, &sum, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sum.events, 12);
    assert_int_equal(sum.first_seq, 1);
    assert_int_equal(sum.last_seq, 12);
    assert_int_equal(sum.last_n, 12);
    assert_int_equal(sum.replies, 2);
    assert_int_equal(sum.resumed, 1);
    assert_int_equal(sum.unsolicited, 0);
    /* On the second connection: the answer, then 4..10 from history, then 11 and 12 live. */
    size_t count = 0;
    const ts_wsc_rec_t *recs = ts_wsc_records(ctx->client, ROOM, &count);
    size_t i = 0;
    while (i < count && recs[i].conn_no < 2)
        i++;
    assert_true(i < count);
    assert_int_equal(recs[i].kind, TS_WSC_REC_SUBSCRIBED);
    for (uint64_t seq = 4; seq <= 12; seq++) {
        i++;
        assert_true(i < count);
        assert_int_equal(recs[i].kind, TS_WSC_REC_EVENT);
        assert_int_equal(recs[i].seq, seq);
        assert_int_equal(recs[i].n, (int64_t)seq);
    }
    assert_int_equal(i + 1, count);
}

/* Away for 20 events with a history of 10: recovered:false "too_old" at the head, then live. */
static void test_too_old(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_disconnect(ctx);
    s_publish(ctx, 20); /* seqs 13..32; history keeps 23..32 */
    const ts_wsc_rec_t *answer = s_resume(ctx, 0);
    assert_int_equal(answer->recovered, 0);
    assert_int_equal(answer->reason, TS_WSC_REASON_TOO_OLD);
    assert_int_equal(answer->epoch, ctx->epoch);
    assert_int_equal(answer->seq, 32);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish(ctx, 1); /* 33 */
    s_wait_cursor(ctx, 33);
    ts_wsc_summary_t sum;
    char err[400];
    if (ts_wsc_check_room(ctx->client, ROOM, &sum, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sum.lost[TS_WSC_REASON_TOO_OLD], 1);
    assert_int_equal(sum.events, 13); /* 1..12, then 33: nothing of 13..32 */
    assert_int_equal(sum.last_n, 33);
}

/* Sends raw text on conn and returns the next frame with op (and room) after it. */
static json_t *s_ask(ts_wsc_conn_t *conn, const char *text, const char *op, const char *room)
{
    size_t from = ts_wsc_frame_count(conn);
    assert_int_equal(ts_wsc_send_text(conn, text), 0);
    json_t *frame = ts_wsc_wait_op(conn, op, room, &from, IT_WAIT_MS);
    if (!frame)
        fail_msg("no %s after %s: %s", op, text, ts_wsc_describe(conn));
    return frame;
}

/* A cursor of another epoch: recovered:false "epoch_changed" with the current epoch and head. */
static void test_wrong_epoch(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_conn_t *c = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 1), "wrong epoch");
    assert_non_null(c);
    assert_int_equal(ts_wsc_wait_open(c, IT_WAIT_MS), 0);
    uint64_t other = ctx->epoch > 1 ? ctx->epoch - 1 : 2;
    char text[200];
    snprintf(text, sizeof text,
             "{\"op\":\"subscribe\",\"room\":\"%s\",\"id\":7,\"since\":{\"epoch\":%" PRIu64
             ",\"seq\":5}}",
             ROOM, other);
    json_t *reply = s_ask(c, text, "subscribed", ROOM);
    assert_true(json_is_false(json_object_get(reply, "recovered")));
    assert_string_equal(json_string_value(json_object_get(reply, "reason")), "epoch_changed");
    assert_int_equal(it_event_u64(reply, "epoch"), ctx->epoch);
    assert_int_equal(it_event_u64(reply, "seq"), (uint64_t)ctx->n);
    assert_int_equal(json_integer_value(json_object_get(reply, "id")), 7);
    size_t from = ts_wsc_frame_count(c);
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish(ctx, 1);
    json_t *ev = ts_wsc_wait_op(c, "event", ROOM, &from, IT_WAIT_MS);
    assert_non_null(ev);
    assert_int_equal(it_event_u64(ev, "seq"), (uint64_t)ctx->n);
    ts_wsc_service(ctx->wsc, 200);
    assert_int_equal(ts_wsc_count_op(c, "event", ROOM), 1);
    ts_wsc_close(c);
}

/* since (E, 0) while the whole room is in history: every event from seq 1. */
static void test_since_zero(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int n = 1; n <= 5; n++) {
        char json[64];
        snprintf(json, sizeof json, "{\"r\":\"%s\",\"n\":%d}", ROOM_B, n);
        assert_int_equal(it_publish(ctx->pub, ROOM_B, "test.cursor", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    ts_wsc_conn_t *c = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "since 0");
    assert_non_null(c);
    assert_int_equal(ts_wsc_wait_open(c, IT_WAIT_MS), 0);
    char text[200];
    snprintf(text, sizeof text,
             "{\"op\":\"subscribe\",\"room\":\"%s\",\"since\":{\"epoch\":%" PRIu64 ",\"seq\":0}}",
             ROOM_B, ctx->epoch);
    size_t from = ts_wsc_frame_count(c);
    json_t *reply = s_ask(c, text, "subscribed", ROOM_B);
    assert_true(json_is_true(json_object_get(reply, "recovered")));
    assert_int_equal(it_event_u64(reply, "epoch"), ctx->epoch);
    assert_int_equal(it_event_u64(reply, "seq"), 0);
    for (int n = 1; n <= 5; n++) {
        json_t *ev = ts_wsc_wait_op(c, "event", ROOM_B, &from, IT_WAIT_MS);
        if (!ev)
            fail_msg("event %d of %s missing: %s", n, ROOM_B, ts_wsc_describe(c));
        json_t *data = json_pack("{s:s, s:i}", "r", ROOM_B, "n", n);
        int rc = it_check_event(ev, ROOM_B, "test.cursor", data);
        json_decref(data);
        assert_int_equal(rc, 0);
        assert_int_equal(it_event_u64(ev, "seq"), (uint64_t)n);
    }
    ts_wsc_service(ctx->wsc, 200);
    assert_int_equal(ts_wsc_count_op(c, "event", ROOM_B), 5);
    ts_wsc_close(c);
}

/* since with a pattern, or malformed: error bad_since; the connection stays usable. */
static void test_bad_since(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_conn_t *c = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "bad since");
    assert_non_null(c);
    assert_int_equal(ts_wsc_wait_open(c, IT_WAIT_MS), 0);
    char pattern[200];
    snprintf(pattern, sizeof pattern,
             "{\"op\":\"subscribe\",\"room\":\"cur:*\",\"since\":{\"epoch\":%" PRIu64
             ",\"seq\":1}}",
             ctx->epoch);
    const char *bad[] = {
        pattern,
        "{\"op\":\"subscribe\",\"room\":\"cur:a\",\"since\":\"yesterday\"}",
        "{\"op\":\"subscribe\",\"room\":\"cur:a\",\"since\":{\"epoch\":-1,\"seq\":0}}",
        "{\"op\":\"subscribe\",\"room\":\"cur:a\",\"since\":{\"epoch\":5}}",
        "{\"op\":\"subscribe\",\"room\":\"cur:a\",\"since\":{\"epoch\":5,\"seq\":1.5}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *err = s_ask(c, bad[i], "error", NULL);
        const char *code = json_string_value(json_object_get(err, "code"));
        if (!code || strcmp(code, "bad_since") != 0)
            fail_msg("%s answered code %s, want bad_since", bad[i], code ? code : "(none)");
        assert_string_equal(json_string_value(json_object_get(err, "for")), "subscribe");
    }
    assert_int_equal(ts_wsc_count_op(c, "subscribed", NULL), 0);
    s_ask(c, "{\"op\":\"ping\"}", "pong", NULL);
    assert_true(ts_wsc_is_open(c));
    ts_wsc_close(c);
}

/* c, whose cursor of room is (epoch, at) and which has had no event of it yet, leaves; events
 * first..last are published meanwhile; it comes back on edge-2: recovered:true at `at`, then
 * exactly those events. */
static void s_away_and_back(test_ctx_t *ctx, ts_wsc_conn_t *c, const char *room, uint64_t at,
                            int first, int last)
{
    ts_wsc_close(c);
    assert_int_equal(ts_wsc_wait_closed(c, IT_WAIT_MS), 0);
    s_publish_room(ctx, room, first, last);
    assert_int_equal(ts_wsc_reconnect(c, it_fabric_edge_port(ctx->fab, 1)), 0);
    assert_int_equal(ts_wsc_wait_open(c, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, c, IT_WAIT_MS), 0);
    const ts_wsc_rec_t *answer = s_last_answer(c, room);
    assert_int_equal(answer->recovered, 1);
    assert_int_equal(answer->seq, at);
    s_cursor_wait_t w = {c, room, ctx->epoch, (uint64_t)last};
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_at_cursor, &w, IT_WAIT_MS), 0);
    ts_wsc_summary_t sum;
    char err[400];
    if (ts_wsc_check_room(c, room, &sum, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sum.events, last - first + 1); /* nothing lost, nothing twice */
    assert_int_equal(sum.last_seq, (uint64_t)last);
}

/* A subscribe without since: no position for a room new to the edge; the room's position once
 * the edge has one, and a client that leaves before its first event resumes from it. */
static void test_position_without_since(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_conn_t *keeper = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "keeper");
    assert_non_null(keeper);
    ts_wsc_resume_enable(keeper, 0, 0, 0);
    assert_int_equal(ts_wsc_join(keeper, ROOM_C), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, keeper, IT_WAIT_MS), 0);
    const ts_wsc_rec_t *first = s_last_answer(keeper, ROOM_C);
    assert_int_equal(first->recovered, -1);
    assert_int_equal(first->epoch, 0); /* edge-1 has seen no event of the room */
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish_room(ctx, ROOM_C, 1, 3);
    s_cursor_wait_t kw = {keeper, ROOM_C, ctx->epoch, 3};
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_at_cursor, &kw, IT_WAIT_MS), 0);

    ts_wsc_conn_t *late = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "late");
    assert_non_null(late);
    ts_wsc_resume_enable(late, 0, 0, 0);
    assert_int_equal(ts_wsc_join(late, ROOM_C), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, late, IT_WAIT_MS), 0);
    const ts_wsc_rec_t *answer = s_last_answer(late, ROOM_C);
    assert_int_equal(answer->recovered, -1);
    assert_int_equal(answer->epoch, ctx->epoch);
    assert_int_equal(answer->seq, 3);
    uint64_t epoch = 0, seq = 0;
    assert_true(ts_wsc_cursor(late, ROOM_C, &epoch, &seq));
    assert_int_equal(epoch, ctx->epoch);
    assert_int_equal(seq, 3);

    /* Gone before its first event; 4 and 5 are published meanwhile; back on edge-2. */
    s_away_and_back(ctx, late, ROOM_C, 3, 4, 5);
    ts_wsc_close(late);
    ts_wsc_close(keeper);

    /* A room nobody published to yet, new to edge-1: the answer has no position, a "position"
     * frame (epoch, 0) follows, and a client that leaves before the first event resumes from it
     * on edge-2 with every event. */
    ts_wsc_conn_t *fresh = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "fresh");
    assert_non_null(fresh);
    ts_wsc_resume_enable(fresh, 0, 0, 0);
    assert_int_equal(ts_wsc_join(fresh, ROOM_D), 0);
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_answered, fresh, IT_WAIT_MS), 0);
    assert_int_equal(s_last_answer(fresh, ROOM_D)->epoch, 0);
    s_cursor_wait_t fw = {fresh, ROOM_D, ctx->epoch, 0};
    assert_int_equal(ts_wsc_wait_until(ctx->wsc, s_at_cursor, &fw, IT_WAIT_MS), 0);
    s_away_and_back(ctx, fresh, ROOM_D, 0, 1, 2);
    ts_wsc_close(fresh);
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
    ctx.fab = it_fabric_new("resume_cursor");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_resume_other_edge, &ctx),
        cmocka_unit_test_prestate(test_too_old, &ctx),
        cmocka_unit_test_prestate(test_wrong_epoch, &ctx),
        cmocka_unit_test_prestate(test_since_zero, &ctx),
        cmocka_unit_test_prestate(test_bad_since, &ctx),
        cmocka_unit_test_prestate(test_position_without_since, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("resume_cursor", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
