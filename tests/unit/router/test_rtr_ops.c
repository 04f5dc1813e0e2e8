/*
 * test_rtr_ops.c: the router's /metrics, /health and /ready answers (rtr_ops.h), without
 * sockets: routing (404, 405, query strings), exact metric lines for chosen counters, every
 * family typed once, health and readiness bodies, buffer reuse, and the cost of a render.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base_clock.h"
#include "rtr_ops.h"

/* What the fake server reports. */
typedef struct fake {
    rtr_stats_t stats; /* returned by the stats hook */
    const char *why;   /* returned by the not_ready hook */
    int stats_calls;   /* times the stats hook ran */
} fake_t;

/* The stats hook: copies the fake's counters. */
static void s_stats(void *arg, rtr_stats_t *out)
{
    fake_t *f = arg;
    f->stats_calls++;
    *out = f->stats;
}

/* The readiness hook: the fake's reason. */
static const char *s_not_ready(void *arg)
{
    return ((fake_t *)arg)->why;
}

/* Creates an rtr_ops_t over f with epoch 77. */
static rtr_ops_t *s_ops(fake_t *f)
{
    rtr_ops_hooks_t hooks = {.stats = s_stats, .not_ready = s_not_ready, .arg = f};
    rtr_ops_t *ops = rtr_ops_new(&hooks, 77);
    assert_non_null(ops);
    return ops;
}

/* Counts occurrences of needle in the reply body. */
static int s_count(const rtr_ops_reply_t *r, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);
    for (const char *p = r->body; (size_t)(p - r->body) + nl <= r->len; p++)
        if (memcmp(p, needle, nl) == 0)
            n++;
    return n;
}

/* Unknown paths are 404 whatever the method; known paths with another method are 405. */
static void test_routing(void **state)
{
    (void)state;
    fake_t f = {0};
    rtr_ops_t *ops = s_ops(&f);
    rtr_ops_reply_t r;
    uint64_t now = base_clock_ms();
    assert_int_equal(rtr_ops_respond(ops, "GET", "/", now, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metricsx", now, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metric", now, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(rtr_ops_respond(ops, "POST", "/nowhere", now, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(rtr_ops_respond(ops, "OTHER", "/metrics", now, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "method not allowed\n");
    assert_int_equal(rtr_ops_respond(ops, "POST", "/ready", now, &r), 0);
    assert_int_equal(r.status, 405);
    assert_int_equal(f.stats_calls, 0); /* nothing rendered for refused requests */
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metrics?x=1", now, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(f.stats_calls, 1);
    rtr_ops_destroy(&ops);
    assert_null(ops);
    rtr_ops_destroy(&ops);
}

/* Counters, per-reason families and gauges carry the stats' values under their names. */
static void test_metrics_values(void **state)
{
    (void)state;
    fake_t f = {0};
    f.stats.received = 10;
    f.stats.accepted = 42;
    f.stats.invalid_by[WIRE_ERR_JSON] = 3;
    f.stats.refused_by[WIRE_REFUSE_RATE] = 5;
    f.stats.curve_denied_by[RTR_CURVE_DENY_KEY] = 2;
    f.stats.history_replies[WIRE_HIST_OK] = 8;
    f.stats.history_bad_by[WIRE_HIST_BAD_ROOM] = 1;
    f.stats.history_evicted_age = 6;
    f.stats.rooms = 4;
    f.stats.history_bytes = 123456789012ULL;
    rtr_ops_t *ops = s_ops(&f);
    rtr_ops_reply_t r;
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metrics", base_clock_ms(), &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body[r.len], '\0');
    const char *lines[] = {
        "# HELP weft_router_events_accepted_total Events stamped and published on the fan-out.\n"
        "# TYPE weft_router_events_accepted_total counter\n"
        "weft_router_events_accepted_total 42\n",
        "\nweft_router_received_total 10\n",
        "# TYPE weft_router_rooms gauge\nweft_router_rooms 4\n",
        "\nweft_router_history_bytes 123456789012\n",
        "\nweft_router_invalid_total{reason=\"json\"} 3\n",
        "\nweft_router_invalid_total{reason=\"short\"} 0\n",
        "\nweft_router_refused_total{reason=\"rate_limited\"} 5\n",
        "\nweft_router_refused_total{reason=\"room\"} 0\n",
        "\nweft_router_curve_denied_total{reason=\"key\"} 2\n",
        "\nweft_router_history_replies_total{status=\"ok\"} 8\n",
        "\nweft_router_history_bad_requests_total{reason=\"room\"} 1\n",
        "\nweft_router_history_evicted_total{reason=\"age\"} 6\n",
        "\nweft_router_history_evicted_total{reason=\"bytes\"} 0\n",
        "weft_router_info{version=\"",
        "\",epoch=\"77\"} 1\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (s_count(&r, lines[i]) != 1)
            fail_msg("expected once in /metrics: %s\n--- got:\n%s", lines[i], r.body);
    /* Slot 0 of invalid_by, refused_by and history_bad_by means "no error": never exported. */
    assert_int_equal(s_count(&r, "reason=\"ok\""), 0);
    assert_int_equal(s_count(&r, "reason=\"none\""), 0);
    assert_int_equal(s_count(&r, "reason=\"unknown\""), 0);
    /* 2 info gauges, 27 plain (22 counters, 5 gauges), 6 per-reason counters: each typed
     * exactly once, and every counter's name ends in _total. */
    assert_int_equal(s_count(&r, "# TYPE "), 35);
    assert_int_equal(s_count(&r, "# HELP "), 35);
    assert_int_equal(s_count(&r, "_total counter\n"), 28);
    assert_int_equal(s_count(&r, " counter\n"), 28);
    assert_int_equal(s_count(&r, " gauge\n"), 7);
    rtr_ops_destroy(&ops);
}

/* /health: 200 "ok" with the loop's age while the loop turned recently, 503 "stalled" after
 * RTR_OPS_STALL_MS without a turn. */
static void test_health(void **state)
{
    (void)state;
    fake_t f = {0};
    rtr_ops_t *ops = s_ops(&f);
    rtr_ops_reply_t r;
    uint64_t t = base_clock_ms();
    rtr_ops_turned(ops, t);
    assert_int_equal(rtr_ops_respond(ops, "GET", "/health", t + 250, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"status\":\"ok\",\"loop_age_ms\":250,\"uptime_seconds\":0,"
                                "\"epoch\":77}\n");
    assert_int_equal(r.len, strlen(r.body));
    assert_int_equal(rtr_ops_respond(ops, "GET", "/health", t + RTR_OPS_STALL_MS + 1, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"stalled\",\"loop_age_ms\":10001,"
                                "\"uptime_seconds\":10,\"epoch\":77}\n");
    rtr_ops_turned(ops, t + RTR_OPS_STALL_MS + 1);
    assert_int_equal(rtr_ops_respond(ops, "GET", "/health", t + RTR_OPS_STALL_MS + 1, &r), 0);
    assert_int_equal(r.status, 200);
    rtr_ops_destroy(&ops);
}

/* /ready: 200 while the hook says ready, 503 with its reason otherwise. */
static void test_ready(void **state)
{
    (void)state;
    fake_t f = {0};
    rtr_ops_t *ops = s_ops(&f);
    rtr_ops_reply_t r;
    assert_int_equal(rtr_ops_respond(ops, "GET", "/ready", base_clock_ms(), &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ready\"}\n");
    f.why = "stopping";
    assert_int_equal(rtr_ops_respond(ops, "GET", "/ready", base_clock_ms(), &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"not_ready\",\"reason\":\"stopping\"}\n");
    rtr_ops_destroy(&ops);
}

/* Scrapes reuse one buffer, and counters moving between scrapes show in the next one. Also
 * measures what a render costs (printed; the loop pays it once per scrape). */
static void test_reuse_and_cost(void **state)
{
    (void)state;
    fake_t f = {0};
    rtr_ops_t *ops = s_ops(&f);
    rtr_ops_reply_t r1, r2;
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metrics", base_clock_ms(), &r1), 0);
    f.stats.accepted = 1000000;
    assert_int_equal(rtr_ops_respond(ops, "GET", "/metrics", base_clock_ms(), &r2), 0);
    assert_ptr_equal(r1.body, r2.body);
    assert_int_equal(s_count(&r2, "\nweft_router_events_accepted_total 1000000\n"), 1);
    enum { N = 2000 };
    uint64_t t0 = base_clock_us();
    for (int i = 0; i < N; i++) {
        f.stats.accepted++;
        assert_int_equal(rtr_ops_respond(ops, "GET", "/metrics", base_clock_ms(), &r2), 0);
    }
    double us = (double)(base_clock_us() - t0) / N;
    assert_ptr_equal(r1.body, r2.body);
    printf("render /metrics: %.1f us per scrape, %zu bytes\n", us, r2.len);
    assert_true(us < 1000.0); /* far under a millisecond of loop time, even under ASan */
    rtr_ops_destroy(&ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),        cmocka_unit_test(test_metrics_values),
        cmocka_unit_test(test_health),         cmocka_unit_test(test_ready),
        cmocka_unit_test(test_reuse_and_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
