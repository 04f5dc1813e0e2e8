/*
 * test_base_prom.c: the Prometheus text exposition renderer (base_prom.h): exact text for each
 * metric type, escaping, number forms, and a buffer reused from one scrape to the next.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base_prom.h"

/* A counter and a gauge family, with and without labels, render exactly. */
static void test_counter_and_gauge(void **state)
{
    (void)state;
    base_prom_t *p = base_prom_new();
    assert_non_null(p);
    base_prom_family(p, "weft_x_events_total", BASE_PROM_COUNTER, "Events seen.");
    base_prom_u64(p, "weft_x_events_total", NULL, 0, 18446744073709551615ULL);
    base_prom_family(p, "weft_x_invalid_total", BASE_PROM_COUNTER, "Invalid, by reason.");
    base_prom_label_t l1[] = {{"reason", "bad_json"}};
    base_prom_u64(p, "weft_x_invalid_total", l1, 1, 3);
    base_prom_label_t l2[] = {{"reason", "big"}, {"room", "a"}};
    base_prom_u64(p, "weft_x_invalid_total", l2, 2, 0);
    base_prom_family(p, "weft_x_load", BASE_PROM_GAUGE, "Load.");
    base_prom_double(p, "weft_x_load", NULL, 0, 0.25);
    base_prom_double(p, "weft_x_load", l1, 1, 0.1);
    size_t len = 0;
    const char *text = base_prom_text(p, &len);
    const char *want = "# HELP weft_x_events_total Events seen.\n"
                       "# TYPE weft_x_events_total counter\n"
                       "weft_x_events_total 18446744073709551615\n"
                       "# HELP weft_x_invalid_total Invalid, by reason.\n"
                       "# TYPE weft_x_invalid_total counter\n"
                       "weft_x_invalid_total{reason=\"bad_json\"} 3\n"
                       "weft_x_invalid_total{reason=\"big\",room=\"a\"} 0\n"
                       "# HELP weft_x_load Load.\n"
                       "# TYPE weft_x_load gauge\n"
                       "weft_x_load 0.25\n"
                       "weft_x_load{reason=\"bad_json\"} 0.1\n";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    base_prom_destroy(&p);
    assert_null(p);
    base_prom_destroy(&p); /* twice is fine */
}

/* Label values escape backslash, quote and newline; HELP escapes backslash and newline only. */
/* A table of fields is read at its offsets, one family and one sample each. */
static void test_fields(void **state)
{
    (void)state;
    struct {
        uint64_t a, b;
    } st = {7, 42};
    static const base_prom_field_t table[] = {
        {"x_b_total", BASE_PROM_COUNTER, sizeof(uint64_t), "B."},
        {"x_a", BASE_PROM_GAUGE, 0, "A."},
    };
    base_prom_t *p = base_prom_new();
    assert_non_null(p);
    base_prom_fields(p, table, 2, &st);
    assert_string_equal(base_prom_text(p, NULL), "# HELP x_b_total B.\n# TYPE x_b_total counter\n"
                                                 "x_b_total 42\n# HELP x_a A.\n"
                                                 "# TYPE x_a gauge\nx_a 7\n");
    base_prom_destroy(&p);
}

static void test_escaping(void **state)
{
    (void)state;
    base_prom_t *p = base_prom_new();
    base_prom_family(p, "m", BASE_PROM_GAUGE, "a \\ b \"q\"\nnext");
    base_prom_label_t l[] = {{"v", "x\\y\"z\"\nw"}, {"e", ""}};
    base_prom_u64(p, "m", l, 2, 1);
    assert_string_equal(base_prom_text(p, NULL), "# HELP m a \\\\ b \"q\"\\nnext\n"
                                                 "# TYPE m gauge\n"
                                                 "m{v=\"x\\\\y\\\"z\\\"\\nw\",e=\"\"} 1\n");
    base_prom_destroy(&p);
}

/* Doubles print in their shortest exact form; infinities and NaN as the format spells them. */
static void test_numbers(void **state)
{
    (void)state;
    base_prom_t *p = base_prom_new();
    base_prom_double(p, "a", NULL, 0, 1e-3);
    base_prom_double(p, "a", NULL, 0, 0.1 + 0.2);
    base_prom_double(p, "a", NULL, 0, 1.0 / 0.0);
    base_prom_double(p, "a", NULL, 0, -1.0 / 0.0);
    base_prom_double(p, "a", NULL, 0, nan(""));
    base_prom_double(p, "a", NULL, 0, 12345678);
    assert_string_equal(base_prom_text(p, NULL), "a 0.001\n"
                                                 "a 0.30000000000000004\n"
                                                 "a +Inf\n"
                                                 "a -Inf\n"
                                                 "a NaN\n"
                                                 "a 12345678\n");
    base_prom_destroy(&p);
}

/* Histogram buckets print cumulative with le last among the labels, then +Inf, _sum and _count. */
static void test_histogram(void **state)
{
    (void)state;
    base_prom_t *p = base_prom_new();
    static const double bounds[] = {0.001, 0.01, 0.1};
    static const uint64_t counts[] = {2, 0, 5, 1};
    base_prom_family(p, "lat_seconds", BASE_PROM_HISTOGRAM, "Latency.");
    base_prom_label_t l[] = {{"op", "get"}};
    base_prom_histogram(p, "lat_seconds", l, 1, bounds, counts, 3, 0.75);
    base_prom_histogram(p, "lat_seconds", NULL, 0, bounds, counts, 0, 0);
    assert_string_equal(base_prom_text(p, NULL), "# HELP lat_seconds Latency.\n"
                                                 "# TYPE lat_seconds histogram\n"
                                                 "lat_seconds_bucket{op=\"get\",le=\"0.001\"} 2\n"
                                                 "lat_seconds_bucket{op=\"get\",le=\"0.01\"} 2\n"
                                                 "lat_seconds_bucket{op=\"get\",le=\"0.1\"} 7\n"
                                                 "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 8\n"
                                                 "lat_seconds_sum{op=\"get\"} 0.75\n"
                                                 "lat_seconds_count{op=\"get\"} 8\n"
                                                 /* no bounds: only +Inf, which holds counts[0] */
                                                 "lat_seconds_bucket{le=\"+Inf\"} 2\n"
                                                 "lat_seconds_sum 0\n"
                                                 "lat_seconds_count 2\n");
    base_prom_destroy(&p);
}

/* Renders a scrape of n labelled counters into p. */
static void s_render(base_prom_t *p, int n)
{
    base_prom_reset(p);
    base_prom_family(p, "weft_big_total", BASE_PROM_COUNTER, "Many series.");
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "r%d", i);
        base_prom_label_t l[] = {{"reason", v}};
        base_prom_u64(p, "weft_big_total", l, 1, (uint64_t)i);
    }
}

/* The buffer grows past its first size once, then a second scrape of the same size reuses it:
 * same storage, same capacity, same text. Reset empties the text. */
static void test_reuse(void **state)
{
    (void)state;
    base_prom_t *p = base_prom_new();
    size_t cap0 = base_prom_capacity(p);
    s_render(p, 1000);
    size_t len1;
    const char *t1 = base_prom_text(p, &len1);
    size_t cap1 = base_prom_capacity(p);
    assert_true(cap1 > cap0);
    assert_true(len1 > cap0);
    const char *last = "weft_big_total{reason=\"r999\"} 999\n";
    assert_string_equal(t1 + len1 - strlen(last), last);
    char *copy = strdup(t1);
    s_render(p, 1000);
    size_t len2;
    const char *t2 = base_prom_text(p, &len2);
    assert_ptr_equal(t2, t1);
    assert_int_equal(base_prom_capacity(p), cap1);
    assert_int_equal(len2, len1);
    assert_string_equal(t2, copy);
    free(copy);
    base_prom_reset(p);
    size_t len3 = 99;
    assert_string_equal(base_prom_text(p, &len3), "");
    assert_int_equal(len3, 0);
    base_prom_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_escaping),          cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_histogram),         cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
