/*
 * ops_edge_metrics.c: the edge's GET /metrics, end to end (docs/operations.md, "Edge metrics").
 *
 * A real router and edge run; a WebSocket client subscribes to a room. The test scrapes the
 * edge's /metrics on its WebSocket port, publishes N events to the room, waits until the client
 * has all N, scrapes again and checks the counters moved by exactly N (deliveries, event-age
 * observations), the gauges (one connection, the room), then closes the client and checks the
 * connection-duration histogram counted it. `promtool check metrics` (Debian's prometheus
 * package) must accept the exposition: without promtool the test fails.
 */
#include "it_fabric.h"
#include "it_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_EVENTS 200          /* events published between the two scrapes */
#define HTTP_MAX (256 * 1024) /* largest answer read */
#define ROOM "ops:metrics"

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;    /* the private fabric */
    ts_wsc_t *wsc;       /* the test's WebSocket clients */
    ts_wsc_conn_t *conn; /* the subscribed client */
    weft_pub_t *pub;     /* the publisher */
    int port;            /* the edge's port */
    char *answer;        /* HTTP_MAX bytes: the last raw answer */
    const char *body;    /* its body, inside answer */
    int started;         /* the fabric runs and the client is subscribed */
} test_ctx_t;

/* GET path on the edge's port. Returns the status. */
static int s_get(test_ctx_t *ctx, const char *method, const char *path)
{
    return it_http(ctx->port, method, path, ctx->answer, HTTP_MAX, &ctx->body);
}

/* Starts the router and an edge, subscribes a client, and fences the subscription. */
static void test_start(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-m", NULL), 0);
    ctx->port = it_fabric_edge_port(ctx->fab, 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->conn = ts_wsc_connect(ctx->wsc, ctx->port, "M");
    assert_int_equal(ts_wsc_wait_open(ctx->conn, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->conn, ROOM, IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->started = 1;
}

/* Counters move by exactly what was delivered; the exposition passes promtool. */
static void test_metrics_move(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    assert_int_equal(s_get(ctx, "GET", "/metrics"), 200);
    assert_non_null(
        strstr(ctx->answer, "content-type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    uint64_t deliveries0 = it_prom_sample(ctx->body, "weft_edge_deliveries_total");
    uint64_t ages0 = it_prom_sample(ctx->body, "weft_edge_event_age_seconds_count");
    uint64_t frames0 = it_prom_sample(ctx->body, "weft_edge_frames_sent_total");
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_router_connected"), 1);

    size_t have = ts_wsc_count_op(ctx->conn, "event", ROOM);
    assert_int_equal(have, 0);
    for (int i = 0; i < N_EVENTS; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(it_publish(ctx->pub, ROOM, "test.metrics", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    assert_int_equal(ts_wsc_wait_count(ctx->conn, "event", ROOM, N_EVENTS, IT_WAIT_MS), 0);

    assert_int_equal(s_get(ctx, "GET", "/metrics"), 200);
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_deliveries_total") - deliveries0,
                     N_EVENTS);
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_event_age_seconds_count") - ages0,
                     N_EVENTS);
    assert_true(it_prom_sample(ctx->body, "weft_edge_frames_sent_total") - frames0 >= N_EVENTS);
    /* Published, delivered and scraped on one machine within the test's timeout. */
    assert_true(it_prom_sample(ctx->body, "weft_edge_event_age_seconds_bucket{le=\"10\"}") >=
                ages0 + N_EVENTS);
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_connections"), 1);
    assert_int_equal(
        it_prom_sample(ctx->body, "weft_edge_closes_total{reason=\"4008_slow_consumer\"}"), 0);
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_errors_total{code=\"bad_json\"}"), 0);
    assert_true(it_prom_sample(ctx->body, "weft_edge_rooms") >= 1);
    assert_true(it_prom_sample(ctx->body, "weft_edge_subscriptions") >= 1);

    int rc = it_promtool(it_fabric_dir(ctx->fab), ctx->body);
    if (rc == -2)
        fail_msg("promtool not found: apt-get install prometheus (tests/run.sh installs it)");
    assert_int_equal(rc, 0);
}

/* A closed client is one more connection-duration observation; POST /metrics is refused. */
static void test_duration_and_method(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    assert_int_equal(s_get(ctx, "GET", "/metrics"), 200);
    uint64_t closed0 = it_prom_sample(ctx->body, "weft_edge_connection_duration_seconds_count");
    ts_wsc_close(ctx->conn);
    assert_int_equal(ts_wsc_wait_closed(ctx->conn, IT_WAIT_MS), 0);
    /* The edge sees the close after the client does: poll briefly. */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(s_get(ctx, "GET", "/metrics"), 200);
        if (it_prom_sample(ctx->body, "weft_edge_connections") == 0)
            break;
        ts_wsc_service(ctx->wsc, 20);
    }
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_connections"), 0);
    assert_int_equal(it_prom_sample(ctx->body, "weft_edge_connection_duration_seconds_count"),
                     closed0 + 1);
    assert_int_equal(s_get(ctx, "POST", "/metrics"), 405);
}

/* Everything stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->started)
        skip();
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.answer = malloc(HTTP_MAX);
    ctx.fab = it_fabric_new("ops_edge_metrics");
    if (!ctx.fab || !ctx.answer)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_start, &ctx),
        cmocka_unit_test_prestate(test_metrics_move, &ctx),
        cmocka_unit_test_prestate(test_duration_and_method, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("ops_edge_metrics", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    free(ctx.answer);
    return failed ? 1 : 0;
}
