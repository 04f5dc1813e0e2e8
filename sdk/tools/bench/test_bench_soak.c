/*
 * test_bench_soak.c: unit tests of the pure parts behind weft-bench --mode soak and
 * --auth-secret: the least-squares slope and the trend summary (bench_trend.h), the descriptor
 * count (bench_proc.h) and the clients' token (bench_token.h). Each test doubles as a usage
 * example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base_log.h"
#include "bench_proc.h"
#include "bench_token.h"
#include "bench_trend.h"

/* ---- Slope ------------------------------------------------------------------------------- */

static void test_slope_exact_lines(void **state)
{
    (void)state;
    /* y = 3x + 10: the fit is exact. */
    double x[] = {0, 1, 2, 3, 4}, y[5];
    for (int i = 0; i < 5; i++)
        y[i] = 3 * x[i] + 10;
    assert_float_equal(bench_trend_slope(x, y, 5), 3.0, 1e-12);
    /* Flat: zero, not a tiny rounding residue. */
    double flat[] = {7, 7, 7, 7, 7};
    assert_float_equal(bench_trend_slope(x, flat, 5), 0.0, 1e-12);
    /* Falling. */
    double down[] = {10, 8, 6, 4, 2};
    assert_float_equal(bench_trend_slope(x, down, 5), -2.0, 1e-12);
}

static void test_slope_least_squares(void **state)
{
    (void)state;
    /* (0,1) (1,3) (2,2) (3,5): mean x 1.5, mean y 2.75, Sxy = 5.5, Sxx = 5: slope 1.1. */
    double x[] = {0, 1, 2, 3}, y[] = {1, 3, 2, 5};
    assert_float_equal(bench_trend_slope(x, y, 4), 1.1, 1e-12);
    /* Large values far from zero (RSS in KiB at minutes into a run) keep their digits. */
    double bx[] = {1000.0, 1000.5, 1001.0}, by[] = {2e9, 2e9 + 1, 2e9 + 2};
    assert_float_equal(bench_trend_slope(bx, by, 3), 2.0, 1e-6);
}

static void test_slope_undefined(void **state)
{
    (void)state;
    double x[] = {5, 5, 5}, y[] = {1, 2, 3};
    assert_true(isnan(bench_trend_slope(x, y, 0)));
    assert_true(isnan(bench_trend_slope(x, y, 1)));
    assert_true(isnan(bench_trend_slope(x, y, 3))); /* every x equal: no line */
}

/* ---- Trend summary ----------------------------------------------------------------------- */

static void test_trend_summary_second_half(void **state)
{
    (void)state;
    bench_trend_t *t = bench_trend_new("edge 0");
    assert_non_null(t);
    assert_string_equal(bench_trend_name(t), "edge 0");
    /* Warm-up: +600 KiB per 10 s, then +10 KiB per 10 s (60 KiB/min) from t = 60 s. */
    for (int i = 0; i <= 12; i++) {
        double ts = i * 10.0;
        uint64_t rss = i <= 6 ? 10000 + 600u * (unsigned)i : 13600 + 10u * (unsigned)(i - 6);
        assert_int_equal(bench_trend_add(t, ts, 42, rss, 20 + (i % 3)), 0);
    }
    assert_int_equal(bench_trend_count(t), 13);
    assert_int_equal(bench_trend_at(t, 12)->rss_kib, 13660);
    assert_null(bench_trend_at(t, 13));
    bench_trend_summary_t s;
    bench_trend_summary(t, 60.0, &s);
    assert_int_equal(s.points, 13);
    assert_int_equal(s.slope_points, 7); /* t = 60 ... 120 */
    assert_float_equal(s.slope_kib_min, 60.0, 1e-9);
    assert_int_equal(s.rss_first, 10000);
    assert_int_equal(s.rss_last, 13660);
    assert_int_equal(s.rss_max, 13660);
    assert_int_equal(s.fd_min, 20);
    assert_int_equal(s.fd_max, 22);
    assert_int_equal(s.incarnations, 1);
    /* Over the whole run the warm-up dominates. */
    bench_trend_summary(t, 0.0, &s);
    assert_true(s.slope_kib_min > 1000);
    bench_trend_destroy(&t);
    assert_null(t);
    bench_trend_destroy(&t); /* twice is harmless */
}

static void test_trend_restarted_process(void **state)
{
    (void)state;
    /* An edge killed at t = 50 and started again (another pid): its old samples are another
     * process and do not bend the slope; the descriptor range still covers both. */
    bench_trend_t *t = bench_trend_new("edge 1");
    assert_non_null(t);
    for (int i = 0; i < 5; i++)
        assert_int_equal(bench_trend_add(t, i * 10.0, 100, 50000 + 5000u * (unsigned)i, 60), 0);
    for (int i = 5; i < 10; i++)
        assert_int_equal(bench_trend_add(t, i * 10.0, 200, 9000, 30), 0);
    bench_trend_summary_t s;
    bench_trend_summary(t, 0.0, &s);
    assert_int_equal(s.slope_points, 5);
    assert_float_equal(s.slope_kib_min, 0.0, 1e-9);
    assert_int_equal(s.incarnations, 2);
    assert_int_equal(s.fd_min, 30);
    assert_int_equal(s.fd_max, 60);
    assert_int_equal(s.rss_max, 70000);
    /* After the restart only one sample of the new process in the window: no slope. */
    bench_trend_summary(t, 90.0, &s);
    assert_int_equal(s.slope_points, 1);
    assert_true(isnan(s.slope_kib_min));
    bench_trend_destroy(&t);
}

static void test_trend_empty(void **state)
{
    (void)state;
    bench_trend_t *t = bench_trend_new("router");
    bench_trend_summary_t s;
    bench_trend_summary(t, 0.0, &s);
    assert_int_equal(s.points, 0);
    assert_int_equal(s.incarnations, 0);
    assert_true(isnan(s.slope_kib_min));
    bench_trend_destroy(&t);
}

/* ---- Descriptor count -------------------------------------------------------------------- */

static void test_proc_fd_count(void **state)
{
    (void)state;
    int before = 0, after = 0, pfd[2];
    assert_int_equal(bench_proc_fd_count(0, &before), 0);
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(bench_proc_fd_count(getpid(), &after), 0);
    assert_int_equal(after, before + 2);
    close(pfd[0]);
    close(pfd[1]);
    assert_int_equal(bench_proc_fd_count(0, &after), 0);
    assert_int_equal(after, before);
    assert_int_equal(bench_proc_fd_count(0x7ffffff0, &after), -1); /* no such process */
}

/* ---- Token ------------------------------------------------------------------------------- */

#define SECRET "0123456789abcdef0123456789abcdef-bench"

/* Writes text to a fresh temporary file; its path goes to path (64 bytes). */
static void s_secret_file(char *path, const char *text)
{
    snprintf(path, 64, "/tmp/test_bench_soak.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_token_mint(void **state)
{
    (void)state;
    base_log_t *log = base_log_new("test", WEFT_LOG_ERROR, stderr);
    char path[64];
    s_secret_file(path, SECRET "\n"); /* the trailing newline is not part of the secret */
    char *token = bench_token_mint(path, "bench-1234-", 600, log);
    assert_non_null(token);
    /* It verifies with the secret the edge holds, as HS256, with the claims the edge reads. */
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)SECRET, strlen(SECRET)), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
    assert_string_equal(jwt_get_grant(jwt, "sub"), "weft-bench");
    char *rooms = jwt_get_grants_json(jwt, "rooms");
    assert_non_null(rooms);
    assert_string_equal(rooms, "[\"bench-1234-*\"]");
    long exp = jwt_get_grant_int(jwt, "exp"), iat = jwt_get_grant_int(jwt, "iat");
    assert_int_equal(exp - iat, 600);
    free(rooms);
    jwt_free(jwt);
    /* Another secret does not verify it. */
    jwt = NULL;
    assert_int_not_equal(jwt_decode(&jwt, token, (const unsigned char *)"x" SECRET,
                                    strlen(SECRET) + 1),
                         0);
    jwt_free(jwt);
    free(token);
    unlink(path);
    /* A secret shorter than the edge accepts, or no file: no token. */
    s_secret_file(path, "short\n");
    assert_null(bench_token_mint(path, "bench-", 600, log));
    unlink(path);
    assert_null(bench_token_mint("/nonexistent/secret", "bench-", 600, log));
    base_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slope_exact_lines),
        cmocka_unit_test(test_slope_least_squares),
        cmocka_unit_test(test_slope_undefined),
        cmocka_unit_test(test_trend_summary_second_half),
        cmocka_unit_test(test_trend_restarted_process),
        cmocka_unit_test(test_trend_empty),
        cmocka_unit_test(test_proc_fd_count),
        cmocka_unit_test(test_token_mint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
