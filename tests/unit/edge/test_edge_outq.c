/*
 * test_edge_outq.c: the per-connection outbound queue: FIFO order, references, both bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge_outq.h"

static edge_frame_t *s_frame(const char *text)
{
    edge_frame_t *f = edge_frame_from(text, strlen(text));
    assert_non_null(f);
    return f;
}

static void test_fifo_and_refs(void **state)
{
    edge_outq_t *q = edge_outq_new(1000, 100);
    assert_non_null(q);
    assert_null(edge_outq_peek(q));
    edge_frame_t *a = s_frame("aaaa"), *b = s_frame("bb");
    assert_int_equal(edge_outq_push(q, a), EDGE_OUTQ_OK);
    assert_int_equal(edge_outq_push(q, b), EDGE_OUTQ_OK);
    assert_int_equal(edge_outq_push(q, a), EDGE_OUTQ_OK); /* the same frame twice is fine */
    assert_int_equal(edge_frame_refcnt(a), 3);
    assert_int_equal(edge_outq_frames(q), 3);
    assert_int_equal(edge_outq_bytes(q), 10);
    assert_ptr_equal(edge_outq_peek(q), a);
    edge_outq_pop(q);
    assert_ptr_equal(edge_outq_peek(q), b);
    edge_outq_pop(q);
    assert_int_equal(edge_frame_refcnt(b), 1);
    assert_ptr_equal(edge_outq_peek(q), a);
    assert_int_equal(edge_outq_bytes(q), 4);
    edge_outq_destroy(&q); /* drops the queued reference */
    assert_null(q);
    assert_int_equal(edge_frame_refcnt(a), 1);
    edge_frame_unref(&a);
    edge_frame_unref(&b);
    edge_outq_destroy(&q);
}

static void test_frame_bound(void **state)
{
    edge_outq_t *q = edge_outq_new(1 << 20, 4);
    edge_frame_t *f = s_frame("x");
    for (int i = 0; i < 4; i++)
        assert_int_equal(edge_outq_push(q, f), EDGE_OUTQ_OK);
    assert_int_equal(edge_outq_push(q, f), EDGE_OUTQ_FULL);
    assert_int_equal(edge_outq_frames(q), 4); /* a refused push changes nothing */
    assert_int_equal(edge_frame_refcnt(f), 5);
    edge_outq_pop(q);
    assert_int_equal(edge_outq_push(q, f), EDGE_OUTQ_OK);
    edge_outq_clear(q);
    assert_int_equal(edge_outq_frames(q), 0);
    assert_int_equal(edge_outq_bytes(q), 0);
    assert_int_equal(edge_frame_refcnt(f), 1);
    edge_outq_destroy(&q);
    edge_frame_unref(&f);
}

static void test_byte_bound(void **state)
{
    edge_outq_t *q = edge_outq_new(10, 100);
    edge_frame_t *six = s_frame("666666"), *four = s_frame("4444"), *one = s_frame("1");
    assert_int_equal(edge_outq_push(q, six), EDGE_OUTQ_OK);
    assert_int_equal(edge_outq_push(q, four), EDGE_OUTQ_OK); /* exactly at the bound */
    assert_int_equal(edge_outq_push(q, one), EDGE_OUTQ_FULL);
    assert_int_equal(edge_outq_bytes(q), 10);
    edge_outq_pop(q);
    assert_int_equal(edge_outq_push(q, one), EDGE_OUTQ_OK);
    assert_int_equal(edge_outq_bytes(q), 5);
    edge_outq_destroy(&q);
    /* A frame bigger than the whole bound never fits, even in an empty queue. */
    q = edge_outq_new(3, 100);
    assert_int_equal(edge_outq_push(q, four), EDGE_OUTQ_FULL);
    edge_outq_destroy(&q);
    assert_int_equal(edge_frame_refcnt(six), 1);
    assert_int_equal(edge_frame_refcnt(four), 1);
    assert_int_equal(edge_frame_refcnt(one), 1);
    edge_frame_unref(&six);
    edge_frame_unref(&four);
    edge_frame_unref(&one);
}

static void test_wraparound_growth(void **state)
{
    /* Interleave pushes and pops so the ring wraps, then grow it: order must survive. */
    edge_outq_t *q = edge_outq_new(1 << 20, 1000);
    edge_frame_t *f[200];
    char text[16];
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "%d", i);
        f[i] = s_frame(text);
    }
    int next_out = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(edge_outq_push(q, f[i]), EDGE_OUTQ_OK);
        if (i % 3 == 2) {
            assert_ptr_equal(edge_outq_peek(q), f[next_out++]);
            edge_outq_pop(q);
        }
    }
    while (edge_outq_frames(q)) {
        assert_ptr_equal(edge_outq_peek(q), f[next_out++]);
        edge_outq_pop(q);
    }
    assert_int_equal(next_out, 200);
    edge_outq_pop(q); /* popping an empty queue is a no-op */
    for (int i = 0; i < 200; i++) {
        assert_int_equal(edge_frame_refcnt(f[i]), 1);
        edge_frame_unref(&f[i]);
    }
    edge_outq_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_refs),
        cmocka_unit_test(test_frame_bound),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_wraparound_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
