/*
 * test_edge_upgrade.c: the pure part of the upgrade vetting: the token of an Authorization
 * header (scheme case, spaces, empty, too long, other schemes), the token of a query argument
 * (only "token=", the first one wins, too long) and the Origin decision (allowed, refused,
 * missing with and without allow_missing_origin, too long with and without an any-list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "edge_origin.h"
#include "edge_upgrade.h"

/* A vetting over list and allow_missing; fails the test when it cannot be made. */
static edge_upgrade_t *s_vetting(const char *list, bool allow_missing)
{
    static edge_stats_t stats;
    static base_limit_t limit;
    edge_upgrade_opts_t opts = {
        .allowed_origins = list,
        .allow_missing_origin = allow_missing,
        .stats = &stats,
        .limit = &limit,
    };
    char err[200] = "";
    edge_upgrade_t *u = edge_upgrade_new(&opts, err, sizeof err);
    if (!u)
        fail_msg("'%s': %s", list, err);
    return u;
}

/* edge_upgrade_origin() on a NUL-terminated origin. */
static edge_upgrade_origin_t s_origin(const edge_upgrade_t *u, const char *origin)
{
    return edge_upgrade_origin(u, origin, (int)strlen(origin), false);
}

static void test_bearer(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(edge_upgrade_bearer("Bearer abc.def", out, sizeof out), 7);
    assert_string_equal(out, "abc.def");
    assert_int_equal(edge_upgrade_bearer("bEaReR xyz", out, sizeof out), 3); /* any case */
    assert_string_equal(out, "xyz");
    assert_int_equal(edge_upgrade_bearer("Bearer    spaced", out, sizeof out), 6);
    assert_string_equal(out, "spaced");
    /* "Bearer " and nothing: a Bearer credential without a token (no fallback to the query). */
    assert_int_equal(edge_upgrade_bearer("Bearer ", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(edge_upgrade_bearer("Bearer   ", out, sizeof out), 0);
    /* Other schemes and shapes are not a Bearer credential. */
    assert_int_equal(edge_upgrade_bearer("Basic dXNlcjpwdw==", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_bearer("Bearer", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_bearer("Bearerabc", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_bearer("", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_bearer(NULL, out, sizeof out), EDGE_UPGRADE_NONE);
    /* 15 bytes fit in 16; 16 do not, and out is left empty. */
    assert_int_equal(edge_upgrade_bearer("Bearer 123456789012345", out, sizeof out), 15);
    strcpy(out, "junk");
    assert_int_equal(edge_upgrade_bearer("Bearer 1234567890123456", out, sizeof out),
                     EDGE_UPGRADE_TOO_BIG);
    assert_string_equal(out, "");
}

/* The first argument that is "token=..." decides, as edge_upgrade_token() walks them. */
static int s_first_token(const char *const *args, char *out, size_t cap)
{
    for (; *args; args++) {
        int n = edge_upgrade_query_token(*args, out, cap);
        if (n != EDGE_UPGRADE_NONE)
            return n;
    }
    return 0;
}

static void test_query_token(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(edge_upgrade_query_token("token=abc", out, sizeof out), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(edge_upgrade_query_token("token=", out, sizeof out), 0);
    assert_int_equal(edge_upgrade_query_token("room=a", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_query_token("tokens=abc", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_query_token("Token=abc", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_query_token("xtoken=abc", out, sizeof out), EDGE_UPGRADE_NONE);
    assert_int_equal(edge_upgrade_query_token(NULL, out, sizeof out), EDGE_UPGRADE_NONE);
    strcpy(out, "junk");
    assert_int_equal(edge_upgrade_query_token("token=1234567890123456", out, sizeof out),
                     EDGE_UPGRADE_TOO_BIG);
    assert_string_equal(out, "");

    const char *args[] = {"v=2", "tok=no", "token=first", "token=second", NULL};
    assert_int_equal(s_first_token(args, out, sizeof out), 5);
    assert_string_equal(out, "first");
    const char *none[] = {"v=2", "room=a", NULL};
    assert_int_equal(s_first_token(none, out, sizeof out), 0);
}

static void test_origin(void **state)
{
    (void)state;
    edge_upgrade_t *u = s_vetting("https://app.example.com", false);
    assert_false(edge_upgrade_origins_empty(u));
    assert_false(edge_upgrade_tls(u));
    assert_int_equal(s_origin(u, "https://app.example.com"), EDGE_UPGRADE_ORIGIN_OK);
    assert_int_equal(s_origin(u, "https://evil.example.com"), EDGE_UPGRADE_ORIGIN_REFUSED);
    assert_int_equal(s_origin(u, "null"), EDGE_UPGRADE_ORIGIN_REFUSED);
    assert_int_equal(edge_upgrade_origin(u, "", 0, false), EDGE_UPGRADE_ORIGIN_MISSING);
    assert_int_equal(edge_upgrade_origin(u, "", -1, false), EDGE_UPGRADE_ORIGIN_REFUSED); /* too long */
    edge_upgrade_destroy(&u);
    assert_null(u);

    u = s_vetting("https://app.example.com", true);
    assert_int_equal(edge_upgrade_origin(u, "", 0, false), EDGE_UPGRADE_ORIGIN_OK);
    assert_int_equal(s_origin(u, "https://other.com"), EDGE_UPGRADE_ORIGIN_REFUSED);
    edge_upgrade_destroy(&u);

    /* With tokens required, a client without Origin must bring its token on the upgrade. */
    static edge_stats_t stats;
    edge_upgrade_opts_t opts = {.allowed_origins = "https://app.example.com",
                                .allow_missing_origin = true,
                                .tokens = true,
                                .stats = &stats};
    char err[200] = "";
    u = edge_upgrade_new(&opts, err, sizeof err);
    assert_non_null(u);
    assert_int_equal(edge_upgrade_origin(u, "", 0, false), EDGE_UPGRADE_ORIGIN_NO_TOKEN);
    assert_int_equal(edge_upgrade_origin(u, "", 0, true), EDGE_UPGRADE_ORIGIN_OK);
    assert_int_equal(edge_upgrade_origin(u, "https://app.example.com", 23, false),
                     EDGE_UPGRADE_ORIGIN_OK); /* browsers send Origin; their token may follow */
    assert_int_equal(edge_upgrade_origin(u, "https://evil.test", 17, true),
                     EDGE_UPGRADE_ORIGIN_REFUSED);
    edge_upgrade_destroy(&u);

    u = s_vetting("", false); /* empty list: any origin, but Origin is still required */
    assert_true(edge_upgrade_origins_empty(u));
    assert_int_equal(s_origin(u, "https://anything.test"), EDGE_UPGRADE_ORIGIN_OK);
    assert_int_equal(edge_upgrade_origin(u, "", -1, false), EDGE_UPGRADE_ORIGIN_OK);
    assert_int_equal(edge_upgrade_origin(u, "", 0, false), EDGE_UPGRADE_ORIGIN_MISSING);
    edge_upgrade_destroy(&u);
    edge_upgrade_destroy(&u); /* NULL-safe */
}

static void test_bad_list(void **state)
{
    (void)state;
    edge_stats_t stats = {0};
    base_limit_t limit = {0};
    edge_upgrade_opts_t opts = {
        .allowed_origins = "not an origin", .stats = &stats, .limit = &limit};
    char err[200] = "";
    assert_null(edge_upgrade_new(&opts, err, sizeof err));
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_query_token),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_bad_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
