/*
 * test_base_map.c: the intrusive hash map: insert, find by walking a bucket, remove, growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base_map.h"

/* A test entry: the node first, then the key. */
typedef struct {
    base_map_node_t node;
    char key[16];
} item_t;

/* Finds key by walking its bucket, as the router's tables do. */
static item_t *s_find(base_map_t *map, const char *key)
{
    uint64_t h = base_map_hash(map, key, strlen(key), 0);
    for (base_map_node_t *n = base_map_bucket(map, h); n; n = n->next)
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
    base_map_t *map = base_map_new();
    assert_non_null(map);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof items[i].key, "k%d", i);
        assert_null(s_find(map, items[i].key));
        items[i].node.hash = base_map_hash(map, items[i].key, strlen(items[i].key), 0);
        assert_int_equal(base_map_insert(map, &items[i].node), 0);
    }
    assert_int_equal(base_map_size(map), N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(s_find(map, items[i].key), &items[i]);
    for (int i = 0; i < N; i += 2)
        base_map_remove(map, &items[i].node);
    assert_int_equal(base_map_size(map), N / 2);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(s_find(map, items[i].key), i % 2 ? &items[i] : NULL);
    base_map_destroy(&map);
    assert_null(map);
    base_map_destroy(&map);
}

/* The hash depends on every byte, the length and the extra value. */
static void test_hash(void **state)
{
    (void)state;
    base_map_t *map = base_map_new();
    uint64_t a = base_map_hash(map, "abcdefghij", 10, 0);
    assert_int_equal(a, base_map_hash(map, "abcdefghij", 10, 0));
    assert_int_not_equal(a, base_map_hash(map, "abcdefghiJ", 10, 0));
    assert_int_not_equal(a, base_map_hash(map, "abcdefghij", 9, 0));
    assert_int_not_equal(a, base_map_hash(map, "abcdefghij", 10, 1));
    assert_int_not_equal(base_map_hash(map, "a", 1, 0), base_map_hash(map, "a\0", 2, 0));
    (void)base_map_hash(map, "", 0, 0);
    base_map_destroy(&map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
