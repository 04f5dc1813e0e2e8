/*
 * ops_router_metrics.c: the router's operations listener, end to end (docs/operations.md).
 *
 * A real weft-router runs with --metrics-port on a free port. The test scrapes /metrics with a
 * raw HTTP/1.1 GET, publishes events to three rooms through libweft, waits until all are
 * acknowledged, scrapes again and checks the counters moved by exactly what was published
 * (events accepted, rooms, publishers, history held). /health and /ready answer 200 with their
 * JSON bodies, other paths 404 and other methods 405, and `promtool check metrics` (Debian's
 * prometheus package; tests/run.sh installs it) accepts the exposition. Without promtool the
 * test fails: the format check is part of what it proves.
 */
#include "it_fabric.h"
#include "it_http.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_EVENTS 250          /* events published between the two scrapes */
#define HTTP_MAX (256 * 1024) /* largest answer read */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab; /* the private fabric */
    int port;         /* the router's metrics port */
    char *answer;     /* HTTP_MAX bytes: the last raw answer */
    const char *body; /* its body, inside answer */
    int started;      /* the router runs */
} test_ctx_t;

/* it_http() to the metrics port, into ctx->answer and ctx->body. */
static int s_http(test_ctx_t *ctx, const char *method, const char *path)
{
    return it_http(ctx->port, method, path, ctx->answer, HTTP_MAX, &ctx->body);
}

/* Starts the router with its metrics listener and checks the listener answers. */
static void test_start(void **state)
{
    test_ctx_t *ctx = *state;
    ctx->port = ts_free_port();
    assert_true(ctx->port > 0);
    char port[16];
    snprintf(port, sizeof port, "%d", ctx->port);
    /* No presence room: the room and history counts below are the test's own rooms only. */
    const char *const extra[] = {"--metrics-port", port, "--presence-room", "", NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, extra), 0);
    ts_proc_t *router = it_fabric_router(ctx->fab);
    char line[96];
    snprintf(line, sizeof line, "metrics listener on 127.0.0.1 port %d", ctx->port);
    assert_int_equal(ts_proc_wait_log(router, line, 5000), 0);
    ctx->started = 1;
}

/* /health, /ready, 404 and 405. */
static void test_endpoints(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    assert_int_equal(s_http(ctx, "GET", "/health"), 200);
    assert_non_null(strstr(ctx->answer, "content-type: application/json\r\n"));
    const char *ok = "{\"status\":\"ok\",\"loop_age_ms\":";
    assert_int_equal(strncmp(ctx->body, ok, strlen(ok)), 0);
    assert_int_equal(s_http(ctx, "GET", "/ready"), 200);
    assert_string_equal(ctx->body, "{\"status\":\"ready\"}\n");
    assert_int_equal(s_http(ctx, "GET", "/"), 404);
    assert_int_equal(s_http(ctx, "GET", "/metrics/x"), 404);
    assert_int_equal(s_http(ctx, "POST", "/metrics"), 405);
}

/* Counters move by exactly what was published; the exposition passes promtool. */
static void test_metrics_move(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    assert_int_equal(s_http(ctx, "GET", "/metrics"), 200);
    assert_non_null(
        strstr(ctx->answer, "content-type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    uint64_t accepted0 = it_prom_sample(ctx->body, "weft_router_events_accepted_total");
    uint64_t received0 = it_prom_sample(ctx->body, "weft_router_received_total");
    assert_int_equal(accepted0, 0);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_rooms"), 0);

    weft_pub_opts_t opts;
    weft_pub_opts_init(&opts);
    opts.publisher_id = "it-ops";
    weft_pub_t *pub = weft_pub_new(it_fabric_intake(ctx->fab), &opts);
    assert_non_null(pub);
    static const char *const rooms[] = {"ops:a", "ops:b", "ops:c"};
    for (int i = 0; i < N_EVENTS; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(it_publish(pub, rooms[i % 3], "test.ops", json), 0);
    }
    assert_int_equal(weft_pub_flush(pub, 30000), 0);

    assert_int_equal(s_http(ctx, "GET", "/metrics"), 200);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_events_accepted_total") - accepted0,
                     N_EVENTS);
    assert_true(it_prom_sample(ctx->body, "weft_router_received_total") - received0 >= N_EVENTS);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_rooms"), 3);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_publishers"), 1);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_history_events"), N_EVENTS);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_history_rooms"), 3);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_duplicates_total"), 0);
    assert_int_equal(it_prom_sample(ctx->body, "weft_router_invalid_total{reason=\"json\"}"), 0);
    assert_int_equal(
        it_prom_sample(ctx->body, "weft_router_refused_total{reason=\"rate_limited\"}"), 0);
    assert_true(it_prom_sample(ctx->body, "weft_router_ack_entries_total") >= 1);
    weft_pub_destroy(&pub);

    int rc = it_promtool(it_fabric_dir(ctx->fab), ctx->body);
    if (rc == -2)
        fail_msg("promtool not found: apt-get install prometheus (tests/run.sh installs it)");
    assert_int_equal(rc, 0);
}

/* The router stops cleanly with its listener open. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.answer = malloc(HTTP_MAX);
    ctx.fab = it_fabric_new("ops_router_metrics");
    if (!ctx.fab || !ctx.answer)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_start, &ctx),
        cmocka_unit_test_prestate(test_endpoints, &ctx),
        cmocka_unit_test_prestate(test_metrics_move, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("ops_router_metrics", tests, NULL, NULL);
    it_fabric_destroy(&ctx.fab, failed);
    free(ctx.answer);
    return failed ? 1 : 0;
}
