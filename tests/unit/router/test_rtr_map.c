/*
 * test_rtr_map.c: the intrusive hash map: insert, find by walking a bucket, remove, growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtr_map.h"

/* A test entry: the node first, then the key. */
typedef struct {
    rtr_map_node_t node;
    char key[16];
} item_t;

/* Finds key by walking its bucket, as the router's tables do. */
static item_t *s_find(rtr_map_t *map, const char *key)
{
    uint64_t h = rtr_map_hash(map, key, strlen(key), 0);
    for (rtr_map_node_t *n = rtr_map_bucket(map, h); n; n = n->next)
        if (n->hash == h && strcmp(((item_t *)n)->key, key) == 0)
            return (item_t *)n;
    return NULL;
}

/* Insert many, find all, remove half, find the rest. */
static void test_insert_find_remove(void **state)
{
    (void)state;
    enum { N = 5000 };
    static item_t items[N];
    rtr_map_t *map = rtr_map_new();
    assert_non_null(map);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof items[i].key, "k%d", i);
        assert_null(s_find(map, items[i].key));
        items[i].node.hash = rtr_map_hash(map, items[i].key, strlen(items[i].key), 0);
        assert_int_equal(rtr_map_insert(map, &items[i].node), 0);
    }
    assert_int_equal(rtr_map_size(map), N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(s_find(map, items[i].key), &items[i]);
    for (int i = 0; i < N; i += 2)
        rtr_map_remove(map, &items[i].node);
    assert_int_equal(rtr_map_size(map), N / 2);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(s_find(map, items[i].key), i % 2 ? &items[i] : NULL);
    rtr_map_destroy(&map);
    assert_null(map);
    rtr_map_destroy(&map);
}

/* The hash depends on every byte, the length and the extra value. */
static void test_hash(void **state)
{
    (void)state;
    rtr_map_t *map = rtr_map_new();
    uint64_t a = rtr_map_hash(map, "abcdefghij", 10, 0);
    assert_int_equal(a, rtr_map_hash(map, "abcdefghij", 10, 0));
    assert_int_not_equal(a, rtr_map_hash(map, "abcdefghiJ", 10, 0));
    assert_int_not_equal(a, rtr_map_hash(map, "abcdefghij", 9, 0));
    assert_int_not_equal(a, rtr_map_hash(map, "abcdefghij", 10, 1));
    assert_int_not_equal(rtr_map_hash(map, "a", 1, 0), rtr_map_hash(map, "a\0", 2, 0));
    (void)rtr_map_hash(map, "", 0, 0);
    rtr_map_destroy(&map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
