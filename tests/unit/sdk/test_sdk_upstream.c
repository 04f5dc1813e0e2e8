/*
 * test_sdk_upstream.c: the router's upstream messages decoded for one publisher: subscription
 * changes, the highest ack among many entries, refusals mapped to WEFT_E* codes in order,
 * rate_limited reported apart, other publishers' entries skipped, malformed frames flagged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sdk_upstream.h"
#include "weft.h"
#include "wire_envelope.h"

/* Everything the hooks saw. */
typedef struct seen {
    int subs, unsubs;
    uint64_t acked;
    int nacks;
    int nrefused;
    uint64_t refused_seq[8];
    int refused_reason[8];
    int nthrottled;
    uint64_t throttled_seq;
} seen_t;

static void s_sub(void *arg, bool present)
{
    seen_t *s = arg;
    if (present)
        s->subs++;
    else
        s->unsubs++;
}

static void s_acked(void *arg, uint64_t highest)
{
    seen_t *s = arg;
    s->acked = highest;
    s->nacks++;
}

static void s_refused(void *arg, uint64_t seq, int reason)
{
    seen_t *s = arg;
    s->refused_seq[s->nrefused] = seq;
    s->refused_reason[s->nrefused++] = reason;
}

static void s_throttled(void *arg, uint64_t seq)
{
    seen_t *s = arg;
    s->nthrottled++;
    s->throttled_seq = seq;
}

static const sdk_upstream_hooks_t s_hooks = {s_sub, s_acked, s_refused, s_throttled};
static const sdk_upstream_who_t s_who = {"me", 2, 42};

/* Subscription bytes and unknown messages. */
static void test_subscription_and_unknown(void **state)
{
    (void)state;
    seen_t s = {0};
    const char *why = "x";
    assert_int_equal(sdk_upstream_read("\x01", 1, &s_who, &s_hooks, &s, &why), 0);
    assert_null(why);
    assert_int_equal(sdk_upstream_read("\x00", 1, &s_who, &s_hooks, &s, &why), 0);
    assert_int_equal(s.subs, 1);
    assert_int_equal(s.unsubs, 1);
    assert_int_equal(sdk_upstream_read("Z", 1, &s_who, &s_hooks, &s, &why), -1);
    assert_string_equal(why, "unexpected upstream message");
    assert_int_equal(sdk_upstream_read("", 0, &s_who, &s_hooks, &s, &why), -1);
}

/* Acks: the highest of our entries; others' and other sessions' skipped; none: no call. */
static void test_acks(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = wire_ack_begin(buf, sizeof buf);
    const wire_ack_entry_t e[] = {{"me", 2, 42, 5},
                                  {"me", 2, 43, 99},
                                  {"mee", 3, 42, 99},
                                  {"me", 2, 42, 9},
                                  {"me", 2, 42, 7}};
    for (size_t i = 0; i < 5; i++)
        len = wire_ack_append(buf, sizeof buf, len, &e[i]);
    seen_t s = {0};
    const char *why;
    assert_int_equal(sdk_upstream_read(buf, len, &s_who, &s_hooks, &s, &why), 0);
    assert_int_equal(s.nacks, 1);
    assert_int_equal(s.acked, 9);
    size_t only_others = wire_ack_append(buf, sizeof buf, wire_ack_begin(buf, sizeof buf), &e[1]);
    assert_int_equal(sdk_upstream_read(buf, only_others, &s_who, &s_hooks, &s, &why), 0);
    assert_int_equal(s.nacks, 1);
    /* Truncated: the entries before the fault still count, the frame is reported. */
    len = wire_ack_begin(buf, sizeof buf);
    len = wire_ack_append(buf, sizeof buf, len, &e[0]);
    len = wire_ack_append(buf, sizeof buf, len, &e[3]);
    assert_int_equal(sdk_upstream_read(buf, len - 1, &s_who, &s_hooks, &s, &why), -1);
    assert_string_equal(why, "malformed ack frame");
    assert_int_equal(s.acked, 5);
}

/* Refusals in order with their codes; rate_limited to its own hook. */
static void test_refusals(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = wire_refusal_begin(buf, sizeof buf);
    const wire_refusal_entry_t e[] = {
        {{"me", 2, 42, 3}, WIRE_REFUSE_TYPE},    {{"you", 3, 42, 4}, WIRE_REFUSE_ROOM},
        {{"me", 2, 42, 4}, WIRE_REFUSE_ROOM},    {{"me", 2, 42, 6}, WIRE_REFUSE_RATE},
        {{"me", 2, 42, 5}, WIRE_REFUSE_INVALID}, {{"me", 2, 42, 8}, 200},
    };
    for (size_t i = 0; i < 6; i++)
        len = wire_refusal_append(buf, sizeof buf, len, &e[i]);
    seen_t s = {0};
    const char *why;
    assert_int_equal(sdk_upstream_read(buf, len, &s_who, &s_hooks, &s, &why), 0);
    assert_int_equal(s.nrefused, 4);
    const uint64_t seq[] = {3, 4, 5, 8};
    const int reason[] = {WEFT_EDENIEDTYPE, WEFT_EDENIEDROOM, WEFT_EREFUSED, WEFT_EREFUSED};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.refused_seq[i], seq[i]);
        assert_int_equal(s.refused_reason[i], reason[i]);
    }
    assert_int_equal(s.nthrottled, 1);
    assert_int_equal(s.throttled_seq, 6);
    buf[1] = 9; /* unknown version */
    assert_int_equal(sdk_upstream_read(buf, len, &s_who, &s_hooks, &s, &why), -1);
    assert_string_equal(why, "malformed refusal frame");
    assert_int_equal(s.nrefused, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscription_and_unknown),
        cmocka_unit_test(test_acks),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
