/*
 * test_edge_bucket.c: the per-connection token bucket with an injected clock: the burst, the
 * refill rate, strikes that lead to a close, and forgiveness after a quiet spell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "edge_bucket.h"

#define SEC 1000000LL /* microseconds */

static void test_burst_then_rate(void **state)
{
    (void)state;
    edge_bucket_t b;
    /* 60 a minute = one a second, burst 3, never close. */
    edge_bucket_init(&b, 60, 3, 0, 100 * SEC);
    for (int i = 0; i < 3; i++)
        assert_int_equal(edge_bucket_take(&b, 100 * SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 100 * SEC), EDGE_BUCKET_LIMITED);
    /* Half a second earns half a token: still refused. */
    assert_int_equal(edge_bucket_take(&b, 100 * SEC + SEC / 2), EDGE_BUCKET_LIMITED);
    assert_int_equal(edge_bucket_take(&b, 101 * SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 101 * SEC), EDGE_BUCKET_LIMITED);
    /* Ten seconds later the bucket is full again, not fuller. */
    assert_true(edge_bucket_tokens(&b, 111 * SEC) == 3.0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(edge_bucket_take(&b, 111 * SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 111 * SEC), EDGE_BUCKET_LIMITED);
    /* A clock that goes back earns nothing and breaks nothing. */
    assert_int_equal(edge_bucket_take(&b, 50 * SEC), EDGE_BUCKET_LIMITED);
}

static void test_defaults_over_a_minute(void **state)
{
    (void)state;
    edge_bucket_t b;
    edge_bucket_init(&b, 100, 10, 0, 0);
    /* One message every 100 ms for a minute: 600 sent, 10 + 100 accepted (give or take one
     * at the edges of the minute). */
    int ok = 0;
    for (int i = 0; i < 600; i++)
        ok += edge_bucket_take(&b, i * SEC / 10) == EDGE_BUCKET_OK;
    assert_in_range(ok, 108, 111);
}

static void test_strikes_and_forgiveness(void **state)
{
    (void)state;
    edge_bucket_t b;
    edge_bucket_init(&b, 60, 2, 3, 0);
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_LIMITED); /* strike 1 */
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_LIMITED); /* strike 2 */
    /* A token earned in between does not forgive: the bucket never got full. */
    assert_int_equal(edge_bucket_take(&b, SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, SEC), EDGE_BUCKET_ABUSE); /* strike 3 */
    assert_int_equal(edge_bucket_take(&b, SEC), EDGE_BUCKET_ABUSE);

    /* Quiet until the bucket is full again: strikes are forgiven. */
    edge_bucket_init(&b, 60, 2, 3, 0);
    edge_bucket_take(&b, 0);
    edge_bucket_take(&b, 0);
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_LIMITED);
    assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_LIMITED);
    assert_int_equal(edge_bucket_take(&b, 3 * SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 3 * SEC), EDGE_BUCKET_OK);
    assert_int_equal(edge_bucket_take(&b, 3 * SEC), EDGE_BUCKET_LIMITED); /* strike 1 again */
    assert_int_equal(edge_bucket_take(&b, 3 * SEC), EDGE_BUCKET_LIMITED);
    assert_int_equal(edge_bucket_take(&b, 3 * SEC), EDGE_BUCKET_ABUSE);
}

static void test_unlimited(void **state)
{
    (void)state;
    edge_bucket_t b;
    edge_bucket_init(&b, 0, 1, 1, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(edge_bucket_take(&b, 0), EDGE_BUCKET_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_defaults_over_a_minute),
        cmocka_unit_test(test_strikes_and_forgiveness),
        cmocka_unit_test(test_unlimited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
