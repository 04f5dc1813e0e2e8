/*
 * test_edge_pace.c: the write-round pacing rule with an injected clock: no pacing below the
 * rate, pacing above it whatever the number of connections, the pause measured from the start
 * of a round, rounds longer than the interval never wait, urgent rounds, pacing switched off,
 * and the way back to unpaced rounds when the rate falls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "edge_pace.h"

#define MS 1000

/* 100 frames/s per connection (one per 10 ms) stays below 250: every round may run at once. */
static void test_below_rate_never_waits(void **state)
{
    (void)state;
    edge_pace_t p;
    edge_pace_init(&p, 250, 20);
    int64_t t = 1000 * MS;
    assert_true(edge_pace_due(&p, t, false));
    assert_false(edge_pace_round(&p, t, 1000, 1000)); /* the first round shows no rate */
    for (int i = 0; i < 50; i++) {
        t += 10 * MS;
        assert_true(edge_pace_due(&p, t, false));
        assert_int_equal(edge_pace_wait(&p, t), 0);
        assert_false(edge_pace_round(&p, t, 1000, 1000));
    }
}

/* 1,000 frames/s per connection: paced, and the same with 250 connections as with 1,000. */
static void test_above_rate_paces_whatever_the_connections(void **state)
{
    (void)state;
    for (int conns = 250; conns <= 1000; conns += 750) {
        edge_pace_t p;
        edge_pace_init(&p, 250, 20);
        int64_t t = 5000 * MS;
        edge_pace_round(&p, t, (uint64_t)conns, (uint64_t)conns);
        t += 2 * MS; /* two frames each in 2 ms */
        assert_true(edge_pace_round(&p, t, 2 * (uint64_t)conns, (uint64_t)conns));
        /* The next round: 20 ms after this one began, not after it ended. */
        assert_false(edge_pace_due(&p, t + 19 * MS, false));
        assert_int_equal(edge_pace_wait(&p, t + 15 * MS), 5 * MS);
        assert_true(edge_pace_due(&p, t + 20 * MS, false));
        /* Still loaded: 20 frames each in 20 ms keeps it paced. */
        t += 20 * MS;
        assert_true(edge_pace_round(&p, t, 20 * (uint64_t)conns, (uint64_t)conns));
        assert_int_equal(edge_pace_wait(&p, t), 20 * MS);
    }
}

/* A round that took longer than the interval: the next one may start as soon as it ends. */
static void test_long_round_does_not_wait(void **state)
{
    (void)state;
    edge_pace_t p;
    edge_pace_init(&p, 250, 20);
    edge_pace_round(&p, 100 * MS, 10, 10);
    assert_true(edge_pace_round(&p, 101 * MS, 50, 10));
    assert_true(edge_pace_due(&p, 101 * MS + 30 * MS, false)); /* it ended 30 ms later */
}

/* A critical event: due at once even while paced. */
static void test_urgent_cuts_the_pause(void **state)
{
    (void)state;
    edge_pace_t p;
    edge_pace_init(&p, 250, 20);
    edge_pace_round(&p, 10 * MS, 10, 10);
    assert_true(edge_pace_round(&p, 11 * MS, 100, 10));
    assert_false(edge_pace_due(&p, 12 * MS, false));
    assert_true(edge_pace_due(&p, 12 * MS, true));
}

/* The rate falls: the first round after the quiet spell is unpaced again. */
static void test_back_to_unpaced(void **state)
{
    (void)state;
    edge_pace_t p;
    edge_pace_init(&p, 250, 20);
    edge_pace_round(&p, 10 * MS, 10, 10);
    assert_true(edge_pace_round(&p, 11 * MS, 100, 10));
    /* 1 frame each over 200 ms = 5 frames/s. */
    assert_false(edge_pace_round(&p, 211 * MS, 10, 10));
    assert_true(edge_pace_due(&p, 211 * MS, false));
}

/* 0 in either setting: never paced; a round without connections changes nothing. */
static void test_off_and_empty_rounds(void **state)
{
    (void)state;
    edge_pace_t off_rate, off_interval;
    edge_pace_init(&off_rate, 0, 20);
    edge_pace_init(&off_interval, 250, 0);
    edge_pace_round(&off_rate, 10 * MS, 1, 1);
    edge_pace_round(&off_interval, 10 * MS, 1, 1);
    assert_false(edge_pace_round(&off_rate, 10 * MS + 1, 1000000, 1));
    assert_false(edge_pace_round(&off_interval, 10 * MS + 1, 1000000, 1));
    assert_true(edge_pace_due(&off_rate, 10 * MS + 2, false));
    edge_pace_t p;
    edge_pace_init(&p, 250, 20);
    edge_pace_round(&p, 10 * MS, 10, 10);
    assert_true(edge_pace_round(&p, 11 * MS, 100, 10));
    assert_true(edge_pace_round(&p, 12 * MS, 0, 0)); /* not recorded: still paced */
    assert_false(edge_pace_due(&p, 12 * MS, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_below_rate_never_waits),
        cmocka_unit_test(test_above_rate_paces_whatever_the_connections),
        cmocka_unit_test(test_long_round_does_not_wait),
        cmocka_unit_test(test_urgent_cuts_the_pause),
        cmocka_unit_test(test_back_to_unpaced),
        cmocka_unit_test(test_off_and_empty_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
