/*
 * ops_presence.c: agent presence end to end (label ops).
 *
 * A router with presence_timeout 2 s and presence_snapshot 1 s, an edge (--auth none) and a
 * WebSocket client subscribed to the room "presence". A weft-sim child with one agent
 * ("agent-0") starts: the client must receive agent.connected for it, then an agent.present
 * snapshot listing it with the same session. The child is SIGKILLed (libweft says nothing):
 * agent.disconnected with reason "timeout" and the same session must arrive no sooner than
 * presence_timeout - 1 s (the last heartbeat may precede the kill by a heartbeat interval) and
 * within presence_timeout + 1 s (the router's 1 s sweep) after the kill, plus 500 ms of delivery.
 */
#include "base_clock.h"
#include "it_fabric.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TIMEOUT_S 2 /* presence_timeout given to the router */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;      /* the private fabric */
    ts_wsc_t *wsc;         /* WebSocket client context */
    ts_wsc_conn_t *client; /* subscribed to presence */
    size_t from;           /* next frame of the client to look at */
    char session[17];      /* agent-0's session, from agent.connected */
    int started;           /* router and edge run */
} test_ctx_t;

/* The next presence event of type after ctx->from (others are skipped), or NULL on timeout. */
static json_t *s_next(test_ctx_t *ctx, const char *type, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = base_clock_ms();
        if (now >= deadline)
            return NULL;
        json_t *ev =
            ts_wsc_wait_op(ctx->client, "event", "presence", &ctx->from, (int)(deadline - now));
        if (!ev)
            return NULL;
        const char *t = json_string_value(json_object_get(ev, "type"));
        if (t && strcmp(t, type) == 0)
            return ev;
    }
}

/* Router, edge and a client subscribed to presence. */
static void test_start(void **state)
{
    test_ctx_t *ctx = *state;
    const char *const router_args[] = {"--presence-timeout", "2", "--presence-snapshot", "1", NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, router_args), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-presence", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->client = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "presence client");
    assert_non_null(ctx->client);
    assert_int_equal(ts_wsc_wait_open(ctx->client, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->client, "presence", IT_WAIT_MS), 0);
    ctx->started = 1;
}

/* An agent starts, is announced, listed by the snapshot, killed and announced gone. */
static void test_agent_lifecycle(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    /* The subscription reaches the router through the edge: give it a moment before the agent
     * starts (a connect announced earlier would be missed live; history has it anyway). */
    ts_sleep_ms(500);
    char *argv[] = {(char *)it_env("WEFT_SIM_BIN"),
                    "--endpoint",
                    (char *)it_fabric_intake(ctx->fab),
                    "--agents",
                    "1",
                    "--rate",
                    "2",
                    NULL};
    ts_proc_t *sim = it_fabric_spawn(ctx->fab, "weft-sim", argv, NULL);
    assert_non_null(sim);

    json_t *ev = s_next(ctx, "agent.connected", IT_WAIT_MS);
    if (!ev)
        fail_msg("no agent.connected: %s", ts_wsc_describe(ctx->client));
    json_t *data = json_object_get(ev, "data");
    assert_string_equal(json_string_value(json_object_get(data, "publisher_id")), "agent-0");
    assert_true(json_is_null(json_object_get(data, "key")));
    const char *session = json_string_value(json_object_get(data, "session"));
    assert_non_null(session);
    assert_int_equal(strlen(session), 16);
    snprintf(ctx->session, sizeof ctx->session, "%s", session);
    assert_true(json_integer_value(json_object_get(data, "at")) > 1600000000000LL);
    assert_null(json_object_get(data, "reason"));
    json_t *pub_id = json_object_get(ev, "publisher_id");
    if (pub_id) /* when the edge shows the publisher, it is the router itself */
        assert_string_equal(json_string_value(pub_id), "router");

    ev = s_next(ctx, "agent.present", 5000);
    assert_non_null(ev);
    data = json_object_get(ev, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "count")), 1);
    assert_int_equal(json_integer_value(json_object_get(data, "part")), 0);
    assert_true(json_is_false(json_object_get(data, "more")));
    json_t *list = json_object_get(data, "publishers");
    assert_int_equal(json_array_size(list), 1);
    json_t *one = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(one, "publisher_id")), "agent-0");
    assert_string_equal(json_string_value(json_object_get(one, "session")), ctx->session);

    assert_int_equal(ts_proc_signal(sim, SIGKILL), 0);
    uint64_t killed = base_clock_ms();
    ev = s_next(ctx, "agent.disconnected", (TIMEOUT_S + 1) * 1000 + 500);
    uint64_t took = base_clock_ms() - killed;
    if (!ev)
        fail_msg("no agent.disconnected within %d ms of the kill: %s", (TIMEOUT_S + 1) * 1000 + 500,
                 ts_wsc_describe(ctx->client));
    data = json_object_get(ev, "data");
    assert_string_equal(json_string_value(json_object_get(data, "publisher_id")), "agent-0");
    assert_string_equal(json_string_value(json_object_get(data, "session")), ctx->session);
    assert_string_equal(json_string_value(json_object_get(data, "reason")), "timeout");
    if (took < (TIMEOUT_S - 1) * 1000)
        fail_msg("agent.disconnected after %llu ms: sooner than presence_timeout allows",
                 (unsigned long long)took);
    print_message("agent.disconnected %llu ms after SIGKILL (presence_timeout %d s)\n",
                  (unsigned long long)took, TIMEOUT_S);
    /* The next snapshot lists nobody. */
    ev = s_next(ctx, "agent.present", 5000);
    assert_non_null(ev);
    data = json_object_get(ev, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "count")), 0);
    assert_int_equal(json_array_size(json_object_get(data, "publishers")), 0);
}

/* Everything stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    ts_wsc_destroy(&ctx->wsc);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("ops_presence");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_start, &ctx),
        cmocka_unit_test_prestate(test_agent_lifecycle, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("ops_presence", tests, NULL, NULL);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
