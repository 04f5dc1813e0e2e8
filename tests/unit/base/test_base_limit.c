/*
 * test_base_limit.c: the log-line rate limiter (base_limit.h), with the time passed in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base_limit.h"

/* The default burst is 5 lines a second; the rest are counted, and the next line that passes
 * in a new window reports them once. */
static void test_default_burst(void **state)
{
    (void)state;
    base_limit_t lim = {0};
    unsigned sup = 99;
    for (int i = 0; i < 5; i++) {
        assert_true(base_limit_pass(&lim, 10000, &sup));
        assert_int_equal(sup, 0);
    }
    for (int i = 0; i < 7; i++)
        assert_false(base_limit_pass(&lim, 10500, &sup));
    assert_true(base_limit_pass(&lim, 11000, &sup));
    assert_int_equal(sup, 7);
    assert_true(base_limit_pass(&lim, 11001, &sup));
    assert_int_equal(sup, 0); /* reported once */
}

/* A configured burst is honoured, and a window is one second from its first line. */
static void test_custom_burst_and_window(void **state)
{
    (void)state;
    base_limit_t lim = {.burst = 2};
    unsigned sup;
    assert_true(base_limit_pass(&lim, 5000, &sup));
    assert_true(base_limit_pass(&lim, 5999, &sup));
    assert_false(base_limit_pass(&lim, 5999, &sup));
    assert_true(base_limit_pass(&lim, 6000, &sup)); /* new window */
    assert_int_equal(sup, 1);
    assert_true(base_limit_pass(&lim, 6001, &sup));
    assert_false(base_limit_pass(&lim, 6002, &sup));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_burst),
        cmocka_unit_test(test_custom_burst_and_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
