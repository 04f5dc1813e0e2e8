/*
 * test_edge_origin.c: the Origin allowlist: exact origins, case of scheme and host, default and
 * explicit ports, wildcard depth, lookalikes, "null" and missing origins, and list syntax errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "edge_origin.h"

/* The allowlist of list; fails the test when it does not parse. */
static edge_origin_t *s_list(const char *list)
{
    char err[200] = "";
    edge_origin_t *o = edge_origin_new(list, err, sizeof err);
    if (!o)
        fail_msg("'%s' did not parse: %s", list, err);
    return o;
}

/* edge_origin_allowed() on a NUL-terminated origin. */
static bool s_ok(const edge_origin_t *o, const char *origin)
{
    return edge_origin_allowed(o, origin, strlen(origin));
}

static void test_exact_and_case(void **state)
{
    (void)state;
    edge_origin_t *o = s_list("https://app.example.com, http://localhost:8080");
    assert_false(edge_origin_any(o));
    assert_false(edge_origin_empty(o));
    assert_true(s_ok(o, "https://app.example.com"));
    assert_true(s_ok(o, "HTTPS://App.Example.COM"));
    assert_true(s_ok(o, "http://localhost:8080"));
    assert_false(s_ok(o, "http://app.example.com"));    /* scheme differs */
    assert_false(s_ok(o, "https://example.com"));       /* parent domain */
    assert_false(s_ok(o, "https://x.app.example.com")); /* subdomain of an exact entry */
    assert_false(s_ok(o, "https://app.example.com/"));  /* not an origin */
    assert_false(s_ok(o, "https://app.example.com.evil.net"));
    assert_false(s_ok(o, "app.example.com"));
    /* Only len bytes count: a longer buffer with the right prefix is not the origin. */
    assert_true(edge_origin_allowed(o, "https://app.example.comXYZ", 23));
    assert_false(edge_origin_allowed(o, "https://app.example.co", 22));
    edge_origin_destroy(&o);
    assert_null(o);
    edge_origin_destroy(&o);
}

static void test_ports(void **state)
{
    (void)state;
    edge_origin_t *o = s_list("https://a.example.com,https://b.example.com:443,http://c.test:80,"
                              "https://d.test:8443");
    assert_true(s_ok(o, "https://a.example.com:443")); /* default port is no port */
    assert_true(s_ok(o, "https://b.example.com"));
    assert_true(s_ok(o, "http://c.test"));
    assert_false(s_ok(o, "https://a.example.com:8443"));
    assert_true(s_ok(o, "https://d.test:8443"));
    assert_false(s_ok(o, "https://d.test"));
    assert_false(s_ok(o, "https://d.test:8444"));
    assert_false(s_ok(o, "https://d.test:"));
    assert_false(s_ok(o, "https://d.test:99999"));
    assert_false(s_ok(o, "https://d.test:84a3"));
    edge_origin_destroy(&o);
}

static void test_wildcard(void **state)
{
    (void)state;
    edge_origin_t *o = s_list("https://*.example.com");
    assert_true(s_ok(o, "https://app.example.com"));
    assert_true(s_ok(o, "https://a.b.c.example.com")); /* one or more labels */
    assert_true(s_ok(o, "https://APP.Example.com"));
    assert_false(s_ok(o, "https://example.com")); /* never the bare domain */
    assert_false(s_ok(o, "https://.example.com"));
    assert_false(s_ok(o, "https://a..example.com"));
    assert_false(s_ok(o, "https://evil-example.com")); /* lookalikes */
    assert_false(s_ok(o, "https://evilexample.com"));
    assert_false(s_ok(o, "https://app.example.com.evil.net"));
    assert_false(s_ok(o, "https://app.example.community"));
    assert_false(s_ok(o, "http://app.example.com"));       /* scheme */
    assert_false(s_ok(o, "https://app.example.com:8443")); /* port */
    assert_false(s_ok(o, "https://*.example.com"));        /* a candidate is never a pattern */
    edge_origin_destroy(&o);
    o = s_list("https://*.example.com:8443");
    assert_true(s_ok(o, "https://x.example.com:8443"));
    assert_false(s_ok(o, "https://x.example.com"));
    edge_origin_destroy(&o);
}

static void test_null_missing_and_any(void **state)
{
    (void)state;
    edge_origin_t *o = s_list("https://app.example.com");
    assert_false(s_ok(o, "null"));
    assert_false(s_ok(o, ""));
    assert_false(edge_origin_allowed(o, NULL, 0));
    char huge[EDGE_ORIGIN_MAX + 40];
    memset(huge, 'a', sizeof huge);
    memcpy(huge, "https://", 8);
    assert_false(edge_origin_allowed(o, huge, sizeof huge));
    edge_origin_destroy(&o);

    o = s_list("");
    assert_true(edge_origin_empty(o));
    assert_true(edge_origin_any(o));
    assert_true(s_ok(o, "https://anything.test"));
    edge_origin_destroy(&o);
    o = s_list(NULL);
    assert_true(edge_origin_empty(o));
    edge_origin_destroy(&o);

    o = s_list("https://app.example.com, *");
    assert_false(edge_origin_empty(o));
    assert_true(edge_origin_any(o));
    assert_true(s_ok(o, "null"));
    assert_true(s_ok(o, "https://other.test"));
    edge_origin_destroy(&o);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "app.example.com",           /* no scheme */
        "https://app.example.com/",  /* trailing slash */
        "https://app.example.com/x", /* path */
        "https://",                  /* no host */
        "https://a.com,,https://b.com",
        "https://a.com:0",
        "https://a.com:70000",
        "https://*example.com",
        "https://*.*.example.com",
        "https://a_b.com",
        "https://*.[::1]",
        "1ttp://a.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        edge_origin_t *o = edge_origin_new(bad[i], err, sizeof err);
        if (o)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    char err[200];
    assert_null(edge_origin_new("https://ok.test, https://bad.test/", err, sizeof err));
    assert_string_equal(err,
                        "'https://bad.test/': bad host (a path or trailing slash is not part of "
                        "an origin)");
    edge_origin_t *o = s_list("http://[::1]:8080");
    assert_true(s_ok(o, "http://[::1]:8080"));
    assert_false(s_ok(o, "http://[::2]:8080"));
    edge_origin_destroy(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_case), cmocka_unit_test(test_ports),
        cmocka_unit_test(test_wildcard),       cmocka_unit_test(test_null_missing_and_any),
        cmocka_unit_test(test_syntax_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
