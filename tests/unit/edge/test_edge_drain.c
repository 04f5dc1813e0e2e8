/*
 * test_edge_drain.c: the drain schedule with an injected clock: the grace closes nobody, the
 * closes are spread one per equal slot of the window (first and last within it), each inside
 * its slot (jitter bounds), the jitter differs by seed, late polls catch up without shifting the
 * slots, no clients or a zero window end at once, and a drain starts only once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "edge_drain.h"

#define S 1000000 /* microseconds per second */

/* Polls d at every millisecond from t to t_end, recording when each close fell (at[k]). Returns
 * the number of closes. */
static size_t s_run(edge_drain_t *d, int64_t t, int64_t t_end, size_t clients, int64_t *at,
                    size_t cap)
{
    size_t n = 0;
    for (; t <= t_end; t += 1000) {
        size_t due;
        edge_drain_poll(d, t, clients, &due);
        for (size_t i = 0; i < due && n < cap; i++)
            at[n++] = t;
        if (edge_drain_phase(d) == EDGE_DRAIN_DONE)
            break;
    }
    return n;
}

/* 5 s of grace with nobody closed, then 100 clients over 10 s: one per 100 ms slot. */
static void test_grace_then_spread(void **state)
{
    (void)state;
    edge_drain_t d;
    edge_drain_init(&d, 5 * S, 10 * S, 42);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_OFF);
    assert_false(edge_drain_active(&d));
    size_t due = 99;
    assert_int_equal(edge_drain_poll(&d, 1000, 100, &due), 0); /* not draining: nothing */
    assert_int_equal(due, 0);
    int64_t t0 = 1000 * S;
    assert_true(edge_drain_begin(&d, t0));
    assert_true(edge_drain_active(&d));
    assert_false(edge_drain_begin(&d, t0 + 1)); /* once */
    /* During the grace: nothing due, and the next useful poll is the grace's end. */
    assert_int_equal(edge_drain_poll(&d, t0 + 1 * S, 100, &due), 4 * S);
    assert_int_equal(due, 0);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_GRACE);
    int64_t at[200];
    size_t n = s_run(&d, t0 + 1 * S, t0 + 20 * S, 100, at, 200);
    assert_int_equal(n, 100);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_DONE);
    int64_t start = t0 + 5 * S;
    /* Close k lies in slot k: [start + k*100ms, start + (k+1)*100ms] (+1 ms polling step). */
    for (size_t k = 0; k < n; k++) {
        assert_true(at[k] >= start + (int64_t)k * 100000);
        assert_true(at[k] <= start + (int64_t)(k + 1) * 100000 + 1000);
    }
    assert_true(at[0] < start + 100000 + 1000); /* first in the first slot */
    assert_true(at[n - 1] >= start + 9900000);  /* last in the last slot */
    assert_true(at[n - 1] <= start + 10 * S + 1000);
}

/* The slot rule itself, and the jitter: two seeds give different times within the same slots. */
static void test_slot_rule_and_jitter(void **state)
{
    (void)state;
    assert_int_equal(edge_drain_slot(100, 1000, 0, 10, 0.0), 100);
    assert_int_equal(edge_drain_slot(100, 1000, 3, 10, 0.5), 100 + 350);
    assert_int_equal(edge_drain_slot(100, 1000, 9, 10, 0.999), 100 + 999);
    edge_drain_t a, b;
    edge_drain_init(&a, 0, 10 * S, 1);
    edge_drain_init(&b, 0, 10 * S, 2);
    edge_drain_begin(&a, 0);
    edge_drain_begin(&b, 0);
    size_t due;
    edge_drain_poll(&a, 0, 10, &due);
    edge_drain_poll(&b, 0, 10, &due);
    int differ = 0;
    for (int k = 0; k < 10; k++) {
        /* Both wait for slot k, each at its own jittered point in [k s, (k+1) s). */
        assert_true(a.next_us >= (int64_t)k * S && a.next_us < (int64_t)(k + 1) * S);
        assert_true(b.next_us >= (int64_t)k * S && b.next_us < (int64_t)(k + 1) * S);
        differ += a.next_us != b.next_us;
        edge_drain_poll(&a, a.next_us, 10, &due);
        assert_int_equal(due, 1);
        edge_drain_poll(&b, b.next_us, 10, &due);
        assert_int_equal(due, 1);
    }
    assert_true(differ >= 9);
    assert_int_equal(edge_drain_phase(&a), EDGE_DRAIN_DONE);
}

/* Jitter is uniform enough: over 10,000 slots the mean offset inside a slot is near one half. */
static void test_jitter_mean(void **state)
{
    (void)state;
    edge_drain_t d;
    size_t n = 10000;
    edge_drain_init(&d, 0, (int64_t)n * 1000, 7);
    edge_drain_begin(&d, 0);
    size_t due;
    edge_drain_poll(&d, 0, n, &due);
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t off = d.next_us - (int64_t)k * 1000;
        assert_true(off >= 0 && off < 1000);
        sum += (double)off;
        edge_drain_poll(&d, d.next_us, n, &due);
    }
    double mean = sum / (double)n / 1000.0;
    assert_true(mean > 0.48 && mean < 0.52);
}

/* A poll long after several slots catches up: all of them are due at once, the rest stay put. */
static void test_late_poll_catches_up(void **state)
{
    (void)state;
    edge_drain_t d;
    edge_drain_init(&d, 1 * S, 10 * S, 9);
    edge_drain_begin(&d, 0);
    size_t due;
    /* First poll 3.5 s after the grace ended: slots 0..2 surely passed, slot 4 surely not. */
    int64_t wait = edge_drain_poll(&d, 1 * S + 3500000, 10, &due);
    assert_true(due >= 3 && due <= 4);
    assert_true(wait > 0 && wait <= 1500000);
    assert_true(d.next_us >= 1 * S + (int64_t)due * S);
    size_t total = due;
    edge_drain_poll(&d, 100 * S, 10, &due);
    assert_int_equal(total + due, 10);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_DONE);
}

/* No clients, or a zero window: the drain ends when the grace does; negative settings are 0. */
static void test_empty_and_zero_window(void **state)
{
    (void)state;
    edge_drain_t d;
    size_t due;
    edge_drain_init(&d, 2 * S, 10 * S, 3);
    edge_drain_begin(&d, 0);
    assert_int_equal(edge_drain_poll(&d, 2 * S, 0, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_DONE);
    edge_drain_init(&d, -5, -5, 0);
    edge_drain_begin(&d, 50);
    assert_int_equal(edge_drain_poll(&d, 50, 7, &due), 0);
    assert_int_equal(due, 7);
    assert_int_equal(edge_drain_phase(&d), EDGE_DRAIN_DONE);
}

/* Clients counted when the window opens fix the schedule; a changed count later does not. */
static void test_total_fixed_at_window_open(void **state)
{
    (void)state;
    edge_drain_t d;
    edge_drain_init(&d, 0, 4 * S, 11);
    edge_drain_begin(&d, 0);
    size_t due, total = 0;
    edge_drain_poll(&d, 0, 4, &due);
    total += due;
    edge_drain_poll(&d, 10 * S, 1000, &due);
    total += due;
    assert_int_equal(total, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grace_then_spread),
        cmocka_unit_test(test_slot_rule_and_jitter),
        cmocka_unit_test(test_jitter_mean),
        cmocka_unit_test(test_late_poll_catches_up),
        cmocka_unit_test(test_empty_and_zero_window),
        cmocka_unit_test(test_total_fixed_at_window_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
