/*
 * test_rtr_lru.c: the intrusive recency list: order, touch, removal from each position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtr_lru.h"

/* A table entry with the node not first, as RTR_LRU_ENTRY must handle. */
typedef struct {
    int id;             /* what the test checks */
    rtr_lru_node_t lru; /* the embedded node */
} item_t;

/* Writes the ids from oldest to newest into out; returns how many; also checks the back links. */
static int s_walk(const rtr_lru_t *l, int *out)
{
    int n = 0;
    const rtr_lru_node_t *prev = NULL;
    for (const rtr_lru_node_t *x = l->oldest; x; x = x->newer) {
        assert_ptr_equal(x->older, prev);
        out[n++] = RTR_LRU_ENTRY(x, item_t, lru)->id;
        prev = x;
    }
    assert_ptr_equal(l->newest, prev);
    return n;
}

static void test_order_touch_remove(void **state)
{
    (void)state;
    rtr_lru_t l = {0};
    item_t it[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    int got[4];
    assert_null(RTR_LRU_ENTRY(l.oldest, item_t, lru));
    for (int i = 0; i < 4; i++)
        rtr_lru_push_newest(&l, &it[i].lru);
    assert_int_equal(s_walk(&l, got), 4);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[3], 3);

    rtr_lru_touch(&l, &it[1].lru); /* middle -> newest: 0 2 3 1 */
    rtr_lru_touch(&l, &it[1].lru); /* already newest: unchanged */
    assert_int_equal(s_walk(&l, got), 4);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[3], 1);

    rtr_lru_remove(&l, &it[0].lru); /* oldest: 2 3 1 */
    assert_null(it[0].lru.older);
    assert_null(it[0].lru.newer);
    rtr_lru_remove(&l, &it[1].lru); /* newest: 2 3 */
    assert_int_equal(s_walk(&l, got), 2);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 3);
    rtr_lru_remove(&l, &it[3].lru);
    rtr_lru_remove(&l, &it[2].lru);
    assert_null(l.oldest);
    assert_null(l.newest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_order_touch_remove)};
    return cmocka_run_group_tests_name("rtr_lru", tests, NULL, NULL);
}
