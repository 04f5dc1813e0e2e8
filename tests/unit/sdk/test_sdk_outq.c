/*
 * test_sdk_outq.c: the queue of unacknowledged events: bounds by count and bytes, cumulative
 * acks, the send cursor and the rewind that resends after a reconnect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "weft.h"
#include "sdk_outq.h"

/* Makes an entry whose topic, header and payload say which seq it is for; size 5 + 4 + plen. */
static sdk_outq_entry_t *s_entry(int seq, size_t payload_len)
{
    char topic[16], payload[256];
    snprintf(topic, sizeof topic, "r%03u ", (unsigned)seq % 1000);
    assert_true(payload_len <= sizeof payload);
    memset(payload, 'a' + seq % 26, payload_len);
    sdk_outq_entry_t *e = sdk_outq_entry_new(topic, 5, 4, payload, payload_len);
    assert_non_null(e);
    memcpy(sdk_outq_entry_header(e), "HDR!", 4);
    return e;
}

/* Pushes an entry for seq; returns the push result and frees the entry if it was refused. */
static int s_push(sdk_outq_t *q, int seq, size_t payload_len)
{
    sdk_outq_entry_t *e = s_entry(seq, payload_len);
    int rc = sdk_outq_push(q, &e, (uint64_t)seq);
    if (rc == 0)
        assert_null(e);
    else
        assert_non_null(e);
    sdk_outq_entry_destroy(&e);
    return rc;
}

/* Peeks, checks the seq and frames, and advances. Returns what advance returned. */
static bool s_send(sdk_outq_t *q, int expect_seq)
{
    sdk_outq_frames_t f;
    assert_true(sdk_outq_peek(q, &f));
    assert_int_equal(f.seq, expect_seq);
    char topic[16];
    snprintf(topic, sizeof topic, "r%03u ", (unsigned)expect_seq % 1000);
    assert_int_equal(f.topic_len, 5);
    assert_memory_equal(f.topic, topic, 5);
    assert_int_equal(f.header_len, 4);
    assert_memory_equal(f.header, "HDR!", 4);
    if (f.payload_len)
        assert_int_equal(((const char *)f.payload)[0], 'a' + expect_seq % 26);
    return sdk_outq_advance(q);
}

/* Creation, empty-queue behaviour and NULL-safe destroys. */
static void test_new_and_entry(void **state)
{
    (void)state;
    assert_null(sdk_outq_new(0, 100));
    assert_null(sdk_outq_new(10, 0));
    sdk_outq_t *q = sdk_outq_new(10, 1000);
    assert_non_null(q);
    assert_int_equal(sdk_outq_count(q), 0);
    assert_int_equal(sdk_outq_bytes(q), 0);
    assert_int_equal(sdk_outq_unsent(q), 0);
    assert_int_equal(sdk_outq_oldest_seq(q), 0);
    sdk_outq_frames_t f;
    assert_false(sdk_outq_peek(q, &f));
    assert_false(sdk_outq_advance(q));
    assert_int_equal(sdk_outq_ack(q, 100), 0);
    assert_int_equal(sdk_outq_rewind(q), 0);

    sdk_outq_entry_t *e = s_entry(1, 10);
    assert_int_equal(sdk_outq_entry_size(e), 19);
    sdk_outq_entry_destroy(&e);
    assert_null(e);
    sdk_outq_entry_destroy(&e);
    sdk_outq_destroy(&q);
    assert_null(q);
    sdk_outq_destroy(&q);
    sdk_outq_destroy(NULL);
}

/* The count bound refuses, and an ack makes room again. */
static void test_full_by_count(void **state)
{
    (void)state;
    sdk_outq_t *q = sdk_outq_new(3, 1 << 20);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(s_push(q, i, 10), 0);
    assert_false(sdk_outq_fits(q, 1));
    assert_int_equal(s_push(q, 4, 10), WEFT_EFULL);
    assert_int_equal(sdk_outq_count(q), 3);
    assert_int_equal(sdk_outq_bytes(q), 3 * 19);
    assert_int_equal(sdk_outq_ack(q, 1), 1);
    assert_true(sdk_outq_fits(q, 19));
    assert_int_equal(s_push(q, 4, 10), 0);
    assert_int_equal(sdk_outq_count(q), 3);
    assert_int_equal(sdk_outq_oldest_seq(q), 2);
    sdk_outq_destroy(&q); /* frees the entries still queued (ASan checks) */
}

/* The byte bound, exactly at the limit and with an oversized entry. */
static void test_full_by_bytes(void **state)
{
    (void)state;
    sdk_outq_t *q = sdk_outq_new(100, 50); /* entries of 29 bytes: one fits, two do not */
    assert_true(sdk_outq_fits(q, 29));
    assert_int_equal(s_push(q, 1, 20), 0);
    assert_true(sdk_outq_fits(q, 21));
    assert_false(sdk_outq_fits(q, 22));
    assert_int_equal(s_push(q, 2, 20), WEFT_EFULL);
    assert_int_equal(s_push(q, 2, 12), 0); /* exactly 50 bytes */
    assert_int_equal(sdk_outq_bytes(q), 50);
    assert_false(sdk_outq_fits(q, 1));
    assert_int_equal(sdk_outq_ack(q, 2), 2);
    assert_int_equal(sdk_outq_bytes(q), 0);

    /* An entry larger than the whole bound is accepted alone, so it can make progress. */
    assert_true(sdk_outq_fits(q, 500));
    assert_int_equal(s_push(q, 3, 200), 0);
    assert_int_equal(sdk_outq_bytes(q), 209);
    assert_false(sdk_outq_fits(q, 1));
    assert_int_equal(s_push(q, 4, 0), WEFT_EFULL);
    sdk_outq_destroy(&q);
}

/* The send cursor, cumulative acks, and acks that overtake the cursor. */
static void test_cursor_and_ack(void **state)
{
    (void)state;
    sdk_outq_t *q = sdk_outq_new(100, 1 << 20);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(s_push(q, i, 3), 0);
    assert_int_equal(sdk_outq_unsent(q), 5);
    assert_false(s_send(q, 1));
    assert_false(s_send(q, 2));
    assert_false(s_send(q, 3));
    assert_int_equal(sdk_outq_unsent(q), 2);

    /* Acks are cumulative; an old or repeated ack frees nothing. */
    assert_int_equal(sdk_outq_ack(q, 2), 2);
    assert_int_equal(sdk_outq_ack(q, 2), 0);
    assert_int_equal(sdk_outq_ack(q, 1), 0);
    assert_int_equal(sdk_outq_count(q), 3);
    assert_int_equal(sdk_outq_oldest_seq(q), 3);
    assert_int_equal(sdk_outq_unsent(q), 2);

    /* An ack beyond the cursor (the router had them from an earlier connection) moves it. */
    assert_int_equal(sdk_outq_ack(q, 4), 2);
    assert_int_equal(sdk_outq_unsent(q), 1);
    assert_false(s_send(q, 5));
    sdk_outq_frames_t f;
    assert_false(sdk_outq_peek(q, &f));
    assert_int_equal(sdk_outq_unsent(q), 0);

    /* Pushing after everything was sent: the cursor picks the new entry up. */
    assert_int_equal(s_push(q, 6, 3), 0);
    assert_false(s_send(q, 6));
    assert_int_equal(sdk_outq_ack(q, 1000), 2);
    assert_int_equal(sdk_outq_count(q), 0);
    assert_int_equal(sdk_outq_oldest_seq(q), 0);

    /* The queue works after being emptied (tail reset). */
    assert_int_equal(s_push(q, 7, 3), 0);
    assert_int_equal(s_push(q, 8, 3), 0);
    assert_false(s_send(q, 7));
    assert_false(s_send(q, 8));
    assert_int_equal(sdk_outq_ack(q, 8), 2);
    sdk_outq_destroy(&q);
}

/* Rewind resends unacknowledged entries and counts only real resends. */
static void test_rewind(void **state)
{
    (void)state;
    sdk_outq_t *q = sdk_outq_new(100, 1 << 20);
    for (int i = 1; i <= 6; i++)
        assert_int_equal(s_push(q, i, 3), 0);
    for (int i = 1; i <= 4; i++)
        assert_false(s_send(q, i));
    assert_int_equal(sdk_outq_ack(q, 2), 2);

    /* Reconnect: 3 and 4 were sent and go again; 5 and 6 were never sent. */
    assert_int_equal(sdk_outq_rewind(q), 2);
    assert_int_equal(sdk_outq_unsent(q), 4);
    assert_true(s_send(q, 3));
    assert_true(s_send(q, 4));
    assert_false(s_send(q, 5)); /* a first send, not a resend */

    /* A second break in the middle of the resend. */
    assert_int_equal(sdk_outq_rewind(q), 3);
    assert_true(s_send(q, 3));
    assert_int_equal(sdk_outq_ack(q, 5), 3);
    assert_false(s_send(q, 6));
    assert_int_equal(sdk_outq_unsent(q), 0);
    assert_int_equal(sdk_outq_rewind(q), 1);
    assert_true(s_send(q, 6));
    assert_int_equal(sdk_outq_ack(q, 6), 1);
    assert_int_equal(sdk_outq_rewind(q), 0);
    assert_int_equal(sdk_outq_unsent(q), 0);
    sdk_outq_destroy(&q);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_entry), cmocka_unit_test(test_full_by_count),
        cmocka_unit_test(test_full_by_bytes), cmocka_unit_test(test_cursor_and_ack),
        cmocka_unit_test(test_rewind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
