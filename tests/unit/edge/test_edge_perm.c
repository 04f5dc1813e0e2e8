/*
 * test_edge_perm.c: room permission rules of one identity: global and the own user room,
 * claim names and patterns, pattern subscriptions that must be covered room by room (user:4*
 * for sub 42), the anonymous allowlist and auto-join templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge_perm.h"

/* Shorthand: may p subscribe to name? */
static bool allows(const edge_perm_t *p, const char *name)
{
    return edge_perm_allows(p, name, strlen(name));
}

static void test_global_and_own_user_room(void **state)
{
    (void)state;
    edge_perm_t *p = edge_perm_new("42", NULL, 0);
    assert_non_null(p);
    assert_string_equal(edge_perm_sub(p), "42");
    assert_true(allows(p, "global"));
    assert_true(allows(p, "user:42"));
    assert_false(allows(p, "user:43"));
    assert_false(allows(p, "user:4"));
    assert_false(allows(p, "user:420"));
    assert_false(allows(p, "globalx"));
    assert_false(allows(p, "news"));
    /* Not room names at all. */
    assert_false(allows(p, ""));
    assert_false(allows(p, "a b"));
    assert_false(allows(p, "a*b"));
    edge_perm_destroy(&p);
    assert_null(p);
    edge_perm_destroy(&p);
}

static void test_claim_exact_and_patterns(void **state)
{
    (void)state;
    const char *rooms[] = {"news", "team:7:*", "price:EURUSD"};
    edge_perm_t *p = edge_perm_new("alice", rooms, 3);
    assert_non_null(p);
    assert_true(allows(p, "news"));
    assert_false(allows(p, "news2"));
    assert_true(allows(p, "team:7:"));
    assert_true(allows(p, "team:7:chat"));
    assert_false(allows(p, "team:8:chat"));
    assert_false(allows(p, "team:7"));
    assert_true(allows(p, "price:EURUSD"));
    assert_false(allows(p, "price:EURGBP"));
    edge_perm_destroy(&p);
}

static void test_pattern_subscriptions(void **state)
{
    (void)state;
    const char *rooms[] = {"team:7:*", "news", "news:a", "x*"};
    edge_perm_t *p = edge_perm_new("alice", rooms, 4);
    /* Under a claim pattern: the same pattern, and narrower ones. */
    assert_true(allows(p, "team:7:*"));
    assert_true(allows(p, "team:7:chat*"));
    assert_true(allows(p, "x*"));
    assert_true(allows(p, "xyz*"));
    /* Wider than the claim pattern: it would match team:8. */
    assert_false(allows(p, "team:*"));
    assert_false(allows(p, "team:7*"));
    /* Exact names never cover a pattern: news* matches news:b too. */
    assert_false(allows(p, "news*"));
    assert_false(allows(p, "news:a*"));
    /* Everything: matches other users' rooms and rooms not granted. */
    assert_false(allows(p, "*"));
    edge_perm_destroy(&p);
}

static void test_user_pattern_cases(void **state)
{
    (void)state;
    edge_perm_t *p = edge_perm_new("42", NULL, 0);
    /* user:4* matches user:43; user:42* matches user:420; user:* everyone's. */
    assert_false(allows(p, "user:4*"));
    assert_false(allows(p, "user:42*"));
    assert_false(allows(p, "user:*"));
    assert_false(allows(p, "u*"));
    edge_perm_destroy(&p);

    /* A claim never opens other users' rooms, not even "*" or "user:*". */
    const char *everything[] = {"*", "user:*"};
    p = edge_perm_new("42", everything, 2);
    assert_true(allows(p, "user:42"));
    assert_false(allows(p, "user:43"));
    assert_true(allows(p, "news"));
    assert_true(allows(p, "team:*"));
    assert_true(allows(p, "a*"));
    assert_true(allows(p, "usa*"));   /* cannot reach "user:" */
    assert_true(allows(p, "userx*")); /* nor can this one */
    assert_false(allows(p, "use*"));  /* reaches user:43 */
    assert_false(allows(p, "user*"));
    assert_false(allows(p, "user:*"));
    assert_false(allows(p, "*"));
    edge_perm_destroy(&p);
}

static void test_pattern_covered_room_by_room(void **state)
{
    (void)state;
    /* A 127-character prefix has 67 rooms: itself and one per room character after it. Listing
     * all of them covers the pattern; leaving one out does not. */
    char prefix[128];
    memset(prefix, 'a', 127);
    prefix[127] = '\0';
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";
    size_t na = strlen(alphabet);
    assert_int_equal(na, 66);
    char names[67][130];
    const char *rooms[67];
    snprintf(names[0], sizeof(names[0]), "%s", prefix);
    rooms[0] = names[0];
    for (size_t i = 0; i < na; i++) {
        snprintf(names[i + 1], sizeof(names[i + 1]), "%s%c", prefix, alphabet[i]);
        rooms[i + 1] = names[i + 1];
    }
    char pattern[130];
    snprintf(pattern, sizeof(pattern), "%s*", prefix);
    edge_perm_t *p = edge_perm_new("42", rooms, 67);
    assert_true(allows(p, pattern));
    edge_perm_destroy(&p);
    p = edge_perm_new("42", rooms, 66); /* without the room ending in '-' */
    assert_false(allows(p, pattern));
    edge_perm_destroy(&p);
}

static void test_anonymous_allowlist(void **state)
{
    (void)state;
    const char *list[] = {"public:*", "status", "*"};
    edge_perm_t *p = edge_perm_new(NULL, list, 2);
    assert_non_null(p);
    assert_null(edge_perm_sub(p));
    assert_true(allows(p, "status"));
    assert_true(allows(p, "public:prices"));
    assert_true(allows(p, "public:*"));
    assert_false(allows(p, "global")); /* only authenticated clients get global */
    assert_false(allows(p, "private"));
    assert_false(allows(p, "user:42"));
    edge_perm_destroy(&p);
    /* Even an allowlist of "*" keeps user rooms closed. */
    p = edge_perm_new(NULL, list + 2, 1);
    assert_true(allows(p, "anything"));
    assert_false(allows(p, "user:1"));
    assert_false(allows(p, "*"));
    edge_perm_destroy(&p);
}

static void test_invalid_inputs(void **state)
{
    (void)state;
    const char *bad[] = {"ok", "not ok"};
    assert_null(edge_perm_new("42", bad, 2));
    assert_null(edge_perm_new("a b", NULL, 0));
    assert_null(edge_perm_new("", NULL, 0));
    char sub[125];
    memset(sub, 's', 124);
    sub[124] = '\0';
    assert_null(edge_perm_new(sub, NULL, 0)); /* "user:" + 124 > 128 */
    sub[123] = '\0';
    edge_perm_t *p = edge_perm_new(sub, NULL, 0);
    assert_non_null(p);
    char room[140];
    snprintf(room, sizeof(room), "user:%s", sub);
    assert_true(allows(p, room));
    edge_perm_destroy(&p);
}

/* Records auto-join rooms, comma-separated. */
static void s_collect(void *arg, const char *room, size_t len)
{
    char *out = arg;
    assert_int_equal(strlen(room), len);
    if (*out)
        strcat(out, ",");
    strcat(out, room);
}

static void test_autojoin_templates(void **state)
{
    (void)state;
    const char *tpls[] = {"user:{sub}", "global", "team:{sub}", "user:{sub}", "bad {sub}", "news"};
    const char *rooms[] = {"team:*"};
    edge_perm_t *p = edge_perm_new("42", rooms, 1);
    char out[512] = "";
    /* news is not allowed, the second user:{sub} is a duplicate, "bad {sub}" not a room. */
    assert_int_equal(edge_perm_autojoin(p, tpls, 6, s_collect, out), 3);
    assert_string_equal(out, "user:42,global,team:42");
    edge_perm_destroy(&p);

    /* Without the claim, team:42 is not joined. */
    p = edge_perm_new("42", NULL, 0);
    out[0] = '\0';
    assert_int_equal(edge_perm_autojoin(p, tpls, 6, s_collect, out), 2);
    assert_string_equal(out, "user:42,global");
    edge_perm_destroy(&p);

    /* Anonymous: templates with {sub} give nothing; global is not allowed unless listed. */
    const char *list[] = {"news", "global"};
    p = edge_perm_new(NULL, list, 2);
    out[0] = '\0';
    assert_int_equal(edge_perm_autojoin(p, tpls, 6, s_collect, out), 2);
    assert_string_equal(out, "global,news");
    edge_perm_destroy(&p);

    assert_true(edge_perm_template_valid("user:{sub}"));
    assert_true(edge_perm_template_valid("global"));
    assert_true(edge_perm_template_valid("{sub}:{sub}"));
    assert_false(edge_perm_template_valid("user:{id}"));
    assert_false(edge_perm_template_valid("team:*"));
    assert_false(edge_perm_template_valid(""));
    assert_false(edge_perm_template_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_global_and_own_user_room),
        cmocka_unit_test(test_claim_exact_and_patterns),
        cmocka_unit_test(test_pattern_subscriptions),
        cmocka_unit_test(test_user_pattern_cases),
        cmocka_unit_test(test_pattern_covered_room_by_room),
        cmocka_unit_test(test_anonymous_allowlist),
        cmocka_unit_test(test_invalid_inputs),
        cmocka_unit_test(test_autojoin_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
