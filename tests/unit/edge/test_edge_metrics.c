/*
 * test_edge_metrics.c: the edge's /metrics text: exact lines of plain counters, gauges and
 * labelled families, the two histograms' buckets in seconds, that every counter of the stats
 * reaches the text, and the render's cost (printed; it reads counters only, so it does not grow
 * with the number of connections).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base_clock.h"
#include "edge_metrics.h"

/* True when text holds line as a whole line. */
static bool s_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

/* Asserts text holds line, printing it when it does not. */
#define S_LINE(text, line)                                                                         \
    do {                                                                                           \
        if (!s_has_line(text, line))                                                               \
            fail_msg("missing line: %s", line);                                                    \
    } while (0)

/* Plain counters and gauges, and a family per reason array with one series per slot. */
static void test_families(void **state)
{
    (void)state;
    static edge_stats_t st;
    memset(&st, 0, sizeof st);
    st.conns_current = 7;
    st.deliveries = 42;
    st.bytes_out = 123456789012ULL;
    st.subs_added = 5;
    st.subs_removed = 2;
    st.room_streams = 3;
    st.closes[EDGE_CLOSE_SLOW] = 4;
    st.errors[EDGE_ERR_BAD_JSON] = 6;
    st.auth_refused[EDGE_REFUSE_FORBIDDEN] = 2;
    st.resume.resumed[EDGE_REASON_NONE] = 9;
    st.resume.resumed[EDGE_REASON_TOO_OLD] = 1;
    st.hist.replies[EDGE_HIST_UNAVAILABLE] = 8;
    st.conns_refused = 10;
    st.origin_refused = 3;
    st.ip_refused = 2;
    edge_metrics_t *m = edge_metrics_new(&st);
    assert_non_null(m);
    edge_metrics_state_t ms = {.router = true, .draining = false};
    size_t len = 0;
    const char *t = edge_metrics_render(m, &ms, &len);
    assert_non_null(t);
    assert_int_equal(len, strlen(t));
    S_LINE(t, "# HELP weft_edge_connections Open WebSocket connections.");
    S_LINE(t, "# TYPE weft_edge_connections gauge");
    S_LINE(t, "weft_edge_connections 7");
    S_LINE(t, "# TYPE weft_edge_deliveries_total counter");
    S_LINE(t, "weft_edge_deliveries_total 42");
    S_LINE(t, "weft_edge_sent_bytes_total 123456789012");
    S_LINE(t, "weft_edge_subscriptions 3");
    S_LINE(t, "weft_edge_rooms 3");
    S_LINE(t, "weft_edge_router_connected 1");
    S_LINE(t, "weft_edge_draining 0");
    S_LINE(t, "weft_edge_closes_total{reason=\"4008_slow_consumer\"} 4");
    S_LINE(t, "weft_edge_closes_total{reason=\"1009_too_big\"} 0");
    S_LINE(t, "weft_edge_errors_total{code=\"bad_json\"} 6");
    S_LINE(t, "weft_edge_auth_refused_total{reason=\"forbidden\"} 2");
    S_LINE(t, "weft_edge_resumes_answered_total{outcome=\"recovered\"} 9");
    S_LINE(t, "weft_edge_resumes_answered_total{outcome=\"too_old\"} 1");
    S_LINE(t, "weft_edge_history_replies_total{status=\"unavailable\"} 8");
    S_LINE(t, "weft_edge_upgrades_refused_total{reason=\"origin\"} 3");
    S_LINE(t, "weft_edge_upgrades_refused_total{reason=\"per_ip\"} 2");
    S_LINE(t, "weft_edge_upgrades_refused_total{reason=\"other\"} 5");
    /* Slot 0 of the error codes is "no error": not a series. */
    assert_null(strstr(t, "weft_edge_errors_total{code=\"\"}"));
    edge_metrics_destroy(&m);
    assert_null(m);
    edge_metrics_destroy(&m);
}

/* The histograms: integer observations rendered as cumulative buckets in seconds. */
static void test_histograms(void **state)
{
    (void)state;
    static edge_stats_t st;
    memset(&st, 0, sizeof st);
    /* 0.5 ms, 1 ms (on the bound: le is inclusive), 3 ms, 20 s (above every bound). */
    const uint64_t ages[] = {500000, 1000000, 3000000, 20000000000ULL};
    for (size_t i = 0; i < 4; i++)
        edge_histo_observe(&st.event_age, edge_age_bounds_ns, EDGE_AGE_BUCKETS, ages[i]);
    edge_histo_observe(&st.conn_life, edge_life_bounds_ms, EDGE_LIFE_BUCKETS, 2500);
    edge_metrics_t *m = edge_metrics_new(&st);
    assert_non_null(m);
    edge_metrics_state_t ms = {0};
    const char *t = edge_metrics_render(m, &ms, NULL);
    assert_non_null(t);
    S_LINE(t, "# TYPE weft_edge_event_age_seconds histogram");
    S_LINE(t, "weft_edge_event_age_seconds_bucket{le=\"0.001\"} 2");
    S_LINE(t, "weft_edge_event_age_seconds_bucket{le=\"0.0025\"} 2");
    S_LINE(t, "weft_edge_event_age_seconds_bucket{le=\"0.005\"} 3");
    S_LINE(t, "weft_edge_event_age_seconds_bucket{le=\"10\"} 3");
    S_LINE(t, "weft_edge_event_age_seconds_bucket{le=\"+Inf\"} 4");
    S_LINE(t, "weft_edge_event_age_seconds_sum 20.0045");
    S_LINE(t, "weft_edge_event_age_seconds_count 4");
    S_LINE(t, "weft_edge_connection_duration_seconds_bucket{le=\"1\"} 0");
    S_LINE(t, "weft_edge_connection_duration_seconds_bucket{le=\"10\"} 1");
    S_LINE(t, "weft_edge_connection_duration_seconds_bucket{le=\"86400\"} 1");
    S_LINE(t, "weft_edge_connection_duration_seconds_sum 2.5");
    S_LINE(t, "weft_edge_connection_duration_seconds_count 1");
    edge_metrics_destroy(&m);
}

/* Every uint64_t of edge_stats_t reaches the text: each field in turn gets a value no other
 * field has, and some line must end in it. Catches a counter added to the stats but not here. */
static void test_every_counter(void **state)
{
    (void)state;
    static edge_stats_t st;
    edge_metrics_t *m = edge_metrics_new(&st);
    assert_non_null(m);
    edge_metrics_state_t ms = {0};
    /* Not series on purpose: slot 0 of arrays whose slot 0 means "none" (no refusal, no error,
     * no reason; a room stream never resumes), subs_removed (the subscription gauge is added -
     * removed; its counter is checked as a family of its own below the gauge), and
     * router_disconnects, which edge_zmq keeps and the server copies only into its periodic log
     * (weft_edge_router_connected says the rest). */
    const size_t skip[] = {
        offsetof(edge_stats_t, auth_refused[0]),
        offsetof(edge_stats_t, errors[EDGE_ERR_NONE]),
        offsetof(edge_stats_t, events_bad[WIRE_OK]),
        offsetof(edge_stats_t, router_disconnects),
        offsetof(edge_stats_t, resume.notices[EDGE_REASON_NONE]),
        offsetof(edge_stats_t, rooms.resumes),
        offsetof(edge_stats_t, rooms.resumed[EDGE_REASON_NONE]),
        offsetof(edge_stats_t, rooms.notices[EDGE_REASON_NONE]),
    };
    size_t end = offsetof(edge_stats_t, event_age);
    for (size_t off = 0; off < end; off += sizeof(uint64_t)) {
        bool skipped = false;
        for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++)
            skipped |= off == skip[k];
        if (skipped)
            continue;
        memset(&st, 0, sizeof st);
        uint64_t v = 987654321;
        memcpy((char *)&st + off, &v, sizeof v);
        const char *t = edge_metrics_render(m, &ms, NULL);
        assert_non_null(t);
        if (!strstr(t, " 987654321\n"))
            fail_msg("the stats field at offset %zu is not rendered", off);
    }
    edge_metrics_destroy(&m);
}

/* The render's cost: it reads counters only, so it is the same at 10 or 10,000 connections. After
 * the first scrape the buffer does not grow again. */
static void test_render_cost(void **state)
{
    (void)state;
    static edge_stats_t st;
    memset(&st, 0xff, offsetof(edge_stats_t, event_age)); /* the widest numbers */
    memset(&st.event_age, 0, 2 * sizeof st.event_age);
    st.conns_current = 10000;
    edge_metrics_t *m = edge_metrics_new(&st);
    assert_non_null(m);
    edge_metrics_state_t ms = {.router = true};
    size_t len = 0;
    assert_non_null(edge_metrics_render(m, &ms, &len));
    const char *first = edge_metrics_render(m, &ms, NULL);
    enum { N = 2000 };
    int64_t t0 = base_clock_ns();
    for (int i = 0; i < N; i++)
        assert_ptr_equal(edge_metrics_render(m, &ms, NULL), first);
    double us = (double)(base_clock_ns() - t0) / N / 1000.0;
    printf("edge_metrics: render %.1f us, %zu bytes (independent of the connection count)\n", us,
           len);
    /* Generous for sanitizer builds and a loaded machine; a plain build measures ~20-40 us. */
    assert_true(us < 1000.0);
    edge_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_histograms),
        cmocka_unit_test(test_every_counter),
        cmocka_unit_test(test_render_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
