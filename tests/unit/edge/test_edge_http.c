/*
 * test_edge_http.c: the edge's plain-HTTP routing and the operations endpoints' answers, without
 * lws: exact paths, methods, loopback for /drain, /health's stall rule, /ready's reasons, and
 * the history-answering rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "edge_http.h"

/* A healthy, ready edge with 3 clients. */
static edge_http_state_t s_ok(void)
{
    return (edge_http_state_t){
        .loop_age_ms = 120, .router = true, .history = true, .connections = 3};
}

/* Only the four exact paths are endpoints; the rest are files. */
static void test_route(void **state)
{
    (void)state;
    assert_int_equal(edge_http_route("/health"), EDGE_HTTP_HEALTH);
    assert_int_equal(edge_http_route("/ready"), EDGE_HTTP_READY);
    assert_int_equal(edge_http_route("/drain"), EDGE_HTTP_DRAIN);
    assert_int_equal(edge_http_route("/metrics"), EDGE_HTTP_METRICS);
    assert_int_equal(edge_http_route("/metrics/"), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route("/healthz"), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route("/ready/"), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route("/"), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route("/index.html"), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route(""), EDGE_HTTP_FILES);
    assert_int_equal(edge_http_route(NULL), EDGE_HTTP_FILES);
}

/* Loopback addresses, as lws_get_peer_simple() writes them. */
static void test_loopback(void **state)
{
    (void)state;
    assert_true(edge_http_loopback("127.0.0.1"));
    assert_true(edge_http_loopback("127.1.2.3"));
    assert_true(edge_http_loopback("::1"));
    assert_true(edge_http_loopback("::ffff:127.0.0.1"));
    assert_false(edge_http_loopback("10.0.0.1"));
    assert_false(edge_http_loopback("::ffff:10.0.0.1"));
    assert_false(edge_http_loopback("1127.0.0.1"));
    assert_false(edge_http_loopback("::12"));
    assert_false(edge_http_loopback(""));
    assert_false(edge_http_loopback(NULL));
}

/* /health: 200 with the loop's age; 503 "stalled" past EDGE_HTTP_STALL_MS; GET only. */
static void test_health(void **state)
{
    (void)state;
    edge_http_state_t st = s_ok();
    edge_http_reply_t r;
    edge_http_answer(EDGE_HTTP_HEALTH, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\",\"loop_age_ms\":120}\n");
    assert_int_equal(r.len, strlen(r.body));
    assert_false(r.drain);
    st.router = false; /* health is only about the loop */
    st.loop_age_ms = EDGE_HTTP_STALL_MS;
    edge_http_answer(EDGE_HTTP_HEALTH, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 200);
    st.loop_age_ms = EDGE_HTTP_STALL_MS + 1;
    edge_http_answer(EDGE_HTTP_HEALTH, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"stalled\",\"loop_age_ms\":5001}\n");
    edge_http_answer(EDGE_HTTP_HEALTH, EDGE_HTTP_POST, true, &st, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "{\"error\":\"method_not_allowed\",\"allow\":\"GET\"}\n");
    /* /metrics is GET only too (a GET is rendered by edge_metrics, not answered here). */
    edge_http_answer(EDGE_HTTP_METRICS, EDGE_HTTP_POST, true, &st, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "{\"error\":\"method_not_allowed\",\"allow\":\"GET\"}\n");
}

/* /ready: 200 when all is well; 503 naming each failing condition, in a fixed order. */
static void test_ready(void **state)
{
    (void)state;
    edge_http_state_t st = s_ok();
    edge_http_reply_t r;
    edge_http_answer(EDGE_HTTP_READY, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ready\",\"router\":\"connected\",\"history\":\"ok\","
                                "\"connections\":3}\n");
    st.router = false;
    edge_http_answer(EDGE_HTTP_READY, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(
        r.body,
        "{\"status\":\"not_ready\",\"reasons\":[\"router_disconnected\"],\"connections\":3}\n");
    st.history = false;
    st.draining = true;
    st.stopping = true; /* a stop during a drain is still reported as the drain */
    edge_http_answer(EDGE_HTTP_READY, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"draining\",\"reasons\":[\"router_disconnected\","
                                "\"history_unanswered\",\"draining\"],\"connections\":3}\n");
    st = s_ok();
    st.stopping = true;
    edge_http_answer(EDGE_HTTP_READY, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(
        r.body, "{\"status\":\"not_ready\",\"reasons\":[\"stopping\"],\"connections\":3}\n");
    st = s_ok();
    st.draining = true;
    edge_http_answer(EDGE_HTTP_READY, EDGE_HTTP_GET, false, &st, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body,
                        "{\"status\":\"draining\",\"reasons\":[\"draining\"],\"connections\":3}\n");
}

/* /drain: POST from loopback starts a drain (202); elsewhere 403; GET 405. */
static void test_drain(void **state)
{
    (void)state;
    edge_http_state_t st = s_ok();
    edge_http_reply_t r;
    edge_http_answer(EDGE_HTTP_DRAIN, EDGE_HTTP_POST, true, &st, &r);
    assert_int_equal(r.status, 202);
    assert_true(r.drain);
    assert_string_equal(r.body, "{\"status\":\"draining\"}\n");
    edge_http_answer(EDGE_HTTP_DRAIN, EDGE_HTTP_POST, false, &st, &r);
    assert_int_equal(r.status, 403);
    assert_false(r.drain);
    edge_http_answer(EDGE_HTTP_DRAIN, EDGE_HTTP_GET, true, &st, &r);
    assert_int_equal(r.status, 405);
    assert_false(r.drain);
    assert_string_equal(r.body, "{\"error\":\"method_not_allowed\",\"allow\":\"POST\"}\n");
    edge_http_answer(EDGE_HTTP_FILES, EDGE_HTTP_GET, true, &st, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"error\":\"not_found\"}\n");
}

/* History answers unless EDGE_HTTP_HIST_TIMEOUTS attempts in a row timed out recently. */
static void test_history_rule(void **state)
{
    (void)state;
    assert_true(edge_http_history_ok(0, 0));
    assert_true(edge_http_history_ok(EDGE_HTTP_HIST_TIMEOUTS - 1, 0));
    assert_false(edge_http_history_ok(EDGE_HTTP_HIST_TIMEOUTS, 0));
    assert_false(edge_http_history_ok(50, EDGE_HTTP_HIST_FORGET_MS));
    assert_true(edge_http_history_ok(50, EDGE_HTTP_HIST_FORGET_MS + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),  cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_health), cmocka_unit_test(test_ready),
        cmocka_unit_test(test_drain),  cmocka_unit_test(test_history_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
