/*
 * fabric_delivery.c: events published through libweft reach exactly the right WebSocket clients.
 *
 * One router, one edge, six clients over four rooms (some clients in two rooms, two with the
 * pattern agent:*). 200 events per room are published interleaved across the rooms. Every client
 * must receive exactly the events of its rooms, with the published type and data, a seq that
 * counts 1, 2, 3 ... per room, and one epoch throughout; project:1 never leaks into project:12
 * (prefix isolation), and a client in both agent:1 and agent:* sees each agent:1 event once.
 * Finally SIGTERM closes the clients with 1001 and both daemons exit 0.
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

#define N_PER_ROOM 200
#define N_CLIENTS 6
#define EVENT_TYPE "test.delivery"

/* A client and the rooms/patterns it joins; `sees` is the set of rooms it must receive. */
typedef struct client_spec {
    const char *name;     /* label */
    const char *subs[2];  /* subscriptions (room or pattern) */
    const char *sees[3];  /* rooms whose events it must get, NULL-terminated */
} client_spec_t;

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;                    /* the private fabric */
    ts_wsc_t *wsc;                       /* WebSocket client context */
    weft_pub_t *pub;                     /* the publisher */
    ts_wsc_conn_t *clients[N_CLIENTS];   /* one per spec */
    int ready;                           /* the first test case set everything up */
} test_ctx_t;

static const char *const s_rooms[] = {"project:1", "project:12", "agent:1", "agent:2"};

static const client_spec_t s_specs[N_CLIENTS] = {
    {"c0 project:1", {"project:1", NULL}, {"project:1", NULL, NULL}},
    {"c1 project:12", {"project:12", NULL}, {"project:12", NULL, NULL}},
    {"c2 project:1+project:12", {"project:1", "project:12"}, {"project:1", "project:12", NULL}},
    {"c3 agent:1", {"agent:1", NULL}, {"agent:1", NULL, NULL}},
    {"c4 agent:*", {"agent:*", NULL}, {"agent:1", "agent:2", NULL}},
    {"c5 agent:1+agent:*", {"agent:1", "agent:*"}, {"agent:1", "agent:2", NULL}},
};

/* The data object of event i of room: exercises escapes, unicode and nesting. */
static json_t *s_data(const char *room, int i)
{
    return json_pack("{s:i, s:s, s:s, s:{s:[i,i,i], s:b, s:n}}", "i", i, "room", room, "text",
                     "h\xc3\xa9llo \"quoted\" \\ \xe2\x98\x83", "nested", "list", i, i + 1, i + 2,
                     "flag", i % 2, "nothing");
}

/* Starts the fabric, connects and subscribes the clients, fences, creates the publisher. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-a", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    int port = it_fabric_edge_port(ctx->fab, 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        ctx->clients[i] = ts_wsc_connect(ctx->wsc, port, s_specs[i].name);
        assert_non_null(ctx->clients[i]);
    }
    assert_int_equal(ts_wsc_wait_all_open(ctx->wsc, IT_WAIT_MS), 0);
    for (int i = 0; i < N_CLIENTS; i++)
        for (int j = 0; j < 2 && s_specs[i].subs[j]; j++)
            assert_int_equal(ts_wsc_subscribe(ctx->clients[i], s_specs[i].subs[j], IT_WAIT_MS),
                             0);
    weft_pub_opts_t opts;
    weft_pub_opts_init(&opts);
    opts.publisher_id = "it-delivery";
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), &opts);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Every connection's first frame is the documented welcome. */
static void test_welcome(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int i = 0; i < N_CLIENTS; i++) {
        json_t *w = ts_wsc_frame(ctx->clients[i], 0);
        assert_non_null(w);
        assert_string_equal(json_string_value(json_object_get(w, "op")), "welcome");
        assert_string_equal(json_string_value(json_object_get(w, "edge")), "edge-a");
        assert_int_equal(json_integer_value(json_object_get(w, "protocol")), 1);
        assert_int_equal(json_integer_value(json_object_get(w, "max_message")), 65536);
    }
}

/* True when room is in the NULL-terminated list. */
static int s_in(const char *const *list, size_t cap, const char *room)
{
    for (size_t i = 0; i < cap && list[i]; i++)
        if (strcmp(list[i], room) == 0)
            return 1;
    return 0;
}

/* Checks one client's complete event stream against what was published. */
static void s_check_client(ts_wsc_conn_t *conn, const client_spec_t *spec, uint64_t *epoch)
{
    int next[4] = {0, 0, 0, 0}; /* next expected index per room of s_rooms */
    for (size_t f = 0; f < ts_wsc_frame_count(conn); f++) {
        json_t *frame = ts_wsc_frame(conn, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        assert_non_null(op);
        if (strcmp(op, "event") != 0)
            continue;
        const char *room = json_string_value(json_object_get(frame, "room"));
        assert_non_null(room);
        if (strncmp(room, "fence:", 6) == 0)
            continue;
        if (!s_in(spec->sees, 3, room))
            fail_msg("%s received an event of %s, which it did not join", spec->name, room);
        int r = 0;
        while (strcmp(s_rooms[r], room) != 0)
            r++;
        json_t *data = s_data(room, next[r]);
        int rc = it_check_event(frame, room, EVENT_TYPE, data);
        json_decref(data);
        if (rc != 0)
            fail_msg("%s: event %d of %s differs from what was published", spec->name, next[r],
                     room);
        uint64_t seq = it_event_u64(frame, "seq");
        if (seq != (uint64_t)next[r] + 1)
            fail_msg("%s: event %d of %s has seq %llu, want %d", spec->name, next[r], room,
                     (unsigned long long)seq, next[r] + 1);
        uint64_t e = it_event_u64(frame, "epoch");
        if (*epoch == 0)
            *epoch = e;
        if (e != *epoch)
            fail_msg("%s: epoch %llu differs from %llu", spec->name, (unsigned long long)e,
                     (unsigned long long)*epoch);
        if (json_object_get(frame, "critical"))
            fail_msg("%s: a non-critical event carries \"critical\"", spec->name);
        next[r]++;
    }
    for (int r = 0; r < 4; r++) {
        int want = s_in(spec->sees, 3, s_rooms[r]) ? N_PER_ROOM : 0;
        if (next[r] != want)
            fail_msg("%s: got %d events of %s, want %d", spec->name, next[r], s_rooms[r], want);
    }
}

/* Publishes interleaved and checks every client's stream. */
static void test_delivery(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    for (int i = 0; i < N_PER_ROOM; i++)
        for (int r = 0; r < 4; r++) {
            json_t *data = s_data(s_rooms[r], i);
            char *text = json_dumps(data, JSON_COMPACT);
            json_decref(data);
            assert_non_null(text);
            int rc = it_publish(ctx->pub, s_rooms[r], EVENT_TYPE, text);
            free(text);
            assert_int_equal(rc, 0);
        }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    weft_pub_stats_t st;
    weft_pub_stats(ctx->pub, &st);
    assert_int_equal(st.acked, st.published);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.invalid, 0);

    for (int i = 0; i < N_CLIENTS; i++) {
        size_t want = 0;
        for (int j = 0; j < 3 && s_specs[i].sees[j]; j++)
            want += N_PER_ROOM;
        size_t got = 0;
        for (int j = 0; j < 3 && s_specs[i].sees[j]; j++)
            got += ts_wsc_count_op(ctx->clients[i], "event", s_specs[i].sees[j]);
        uint64_t deadline = base_clock_ms() + IT_WAIT_MS;
        while (got < want && base_clock_ms() < deadline && !ts_wsc_is_closed(ctx->clients[i])) {
            ts_wsc_service(ctx->wsc, 50);
            got = 0;
            for (int j = 0; j < 3 && s_specs[i].sees[j]; j++)
                got += ts_wsc_count_op(ctx->clients[i], "event", s_specs[i].sees[j]);
        }
        if (got < want)
            fail_msg("%s got %zu of %zu events: %s", s_specs[i].name, got, want,
                     ts_wsc_describe(ctx->clients[i]));
    }
    /* Give duplicates or strays time to show up before checking exact counts. */
    ts_wsc_service(ctx->wsc, 500);
    uint64_t epoch = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        assert_int_equal(ts_wsc_bad_frames(ctx->clients[i]), 0);
        s_check_client(ctx->clients[i], &s_specs[i], &epoch);
    }
    assert_true(epoch >= 1 && epoch < (1ull << 53));
}

/* SIGTERM: clients get 1001, both daemons exit 0. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    assert_int_equal(ts_proc_signal(edge, SIGTERM), 0);
    for (int i = 0; i < N_CLIENTS; i++) {
        if (ts_wsc_wait_closed(ctx->clients[i], IT_WAIT_MS) != 0)
            fail_msg("edge SIGTERM did not close %s", ts_wsc_describe(ctx->clients[i]));
        assert_int_equal(ts_wsc_close_code(ctx->clients[i]), 1001);
        assert_string_equal(ts_wsc_close_reason(ctx->clients[i]), "edge shutting down");
    }
    assert_int_equal(ts_proc_wait(edge, 15000), 0);
    assert_int_equal(ts_proc_exit_code(edge), 0);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_signal_router(ctx->fab, SIGTERM), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("fabric_delivery");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_welcome, &ctx),
        cmocka_unit_test_prestate(test_delivery, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_delivery", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
