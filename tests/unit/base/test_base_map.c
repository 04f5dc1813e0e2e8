/*
 * test_base_map.c: the intrusive hash map: insert, find by walking a bucket, remove, growth,
 * per-map seeds, and iteration with removal.
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
    /* At every length up to three words, each byte counts (the tail is read with overlapping
     * fixed-size loads), and so does the length itself. */
    char key[25];
    uint64_t by_len[25];
    for (size_t len = 0; len <= 24; len++) {
        memset(key, 'k', sizeof key);
        by_len[len] = base_map_hash(map, key, len, 0);
        for (size_t prev = 0; prev < len; prev++)
            assert_int_not_equal(by_len[len], by_len[prev]);
        for (size_t i = 0; i < len; i++) {
            key[i] = 'K';
            assert_int_not_equal(base_map_hash(map, key, len, 0), by_len[len]);
            key[i] = 'k';
        }
        key[len] = 'K'; /* a byte past the end does not */
        assert_int_equal(base_map_hash(map, key, len, 0), by_len[len]);
    }
    base_map_destroy(&map);
}

/* Two maps hash the same keys differently: the seed is per map, so nobody can prepare a set of
 * names that collide in another process's (or another table's) map. */
static void test_seeds_differ(void **state)
{
    (void)state;
    base_map_t *a = base_map_new(), *b = base_map_new();
    assert_non_null(a);
    assert_non_null(b);
    static const char *const keys[] = {"", "a", "room:1", "project:42:tasks", "x.y.z-0123456789"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_not_equal(base_map_hash(a, keys[i], strlen(keys[i]), 0),
                             base_map_hash(b, keys[i], strlen(keys[i]), 0));
    base_map_destroy(&a);
    base_map_destroy(&b);
}

/* Iteration visits every node exactly once, through growth, and lets the loop remove the node
 * it stands on. */
static void test_iterate(void **state)
{
    (void)state;
    enum { N = 1000 };
    static item_t items[N];
    static int seen[N];
    base_map_t *map = base_map_new();
    assert_null(base_map_first(map));
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof items[i].key, "it%d", i);
        items[i].node.hash = base_map_hash(map, items[i].key, strlen(items[i].key), 0);
        assert_int_equal(base_map_insert(map, &items[i].node), 0);
    }
    memset(seen, 0, sizeof seen);
    size_t count = 0;
    for (base_map_node_t *n = base_map_first(map); n; n = base_map_next(map, n)) {
        seen[(item_t *)n - items]++;
        count++;
    }
    assert_int_equal(count, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* Remove every odd item while iterating; the rest is still there, once each. */
    memset(seen, 0, sizeof seen);
    for (base_map_node_t *n = base_map_first(map), *next; n; n = next) {
        next = base_map_next(map, n);
        int i = (int)((item_t *)n - items);
        seen[i]++;
        if (i % 2)
            base_map_remove(map, n);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(base_map_size(map), N / 2);
    count = 0;
    for (base_map_node_t *n = base_map_first(map); n; n = base_map_next(map, n)) {
        assert_int_equal(((item_t *)n - items) % 2, 0);
        count++;
    }
    assert_int_equal(count, N / 2);
    /* Remove the rest the same way: the map ends empty. */
    for (base_map_node_t *n = base_map_first(map), *next; n; n = next) {
        next = base_map_next(map, n);
        base_map_remove(map, n);
    }
    assert_int_equal(base_map_size(map), 0);
    assert_null(base_map_first(map));
    base_map_destroy(&map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_seeds_differ),
        cmocka_unit_test(test_iterate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
