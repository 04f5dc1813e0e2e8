/*
 * test_edge_ipcap.c: connections per client address: the cap, exemptions, IPv4 as mapped
 * IPv6, entries going with their last connection, and the exempt list's parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "edge_ipcap.h"

/* The address of text (which must parse). */
static edge_ipaddr_t s_addr(const char *text)
{
    edge_ipaddr_t a;
    assert_int_equal(edge_ipaddr_parse(text, &a), 0);
    return a;
}

/* max connections from one address fit, the next is refused; another address is independent;
 * a close makes room; the table holds one entry per address with connections. */
static void test_cap(void **state)
{
    (void)state;
    char err[128];
    edge_ipcap_t *cap = edge_ipcap_new(2, "", err, sizeof err);
    assert_non_null(cap);
    edge_ipaddr_t a = s_addr("10.0.0.1"), b = s_addr("2001:db8::1");
    assert_false(edge_ipcap_full(cap, &a));
    edge_ipcap_entry_t *a1 = edge_ipcap_add(cap, &a);
    edge_ipcap_entry_t *a2 = edge_ipcap_add(cap, &a);
    assert_non_null(a1);
    assert_ptr_equal(a1, a2);
    assert_true(edge_ipcap_full(cap, &a));
    assert_int_equal(edge_ipcap_count(cap, &a), 2);
    assert_false(edge_ipcap_full(cap, &b));
    edge_ipcap_entry_t *b1 = edge_ipcap_add(cap, &b);
    assert_int_equal(edge_ipcap_size(cap), 2);
    edge_ipcap_remove(cap, &a1);
    assert_null(a1);
    assert_false(edge_ipcap_full(cap, &a));
    edge_ipcap_remove(cap, &a2);
    assert_int_equal(edge_ipcap_count(cap, &a), 0);
    assert_int_equal(edge_ipcap_size(cap), 1); /* a's entry went with its last connection */
    edge_ipcap_remove(cap, &a2);               /* NULL-safe */
    edge_ipcap_destroy(&cap);                  /* frees b's entry still in it */
    assert_null(cap);
    (void)b1;
}

/* Exempt addresses and max 0 are never counted nor capped. */
static void test_exempt(void **state)
{
    (void)state;
    char err[128];
    edge_ipcap_t *cap = edge_ipcap_new(1, " 127.0.0.1 , ::1", err, sizeof err);
    assert_non_null(cap);
    edge_ipaddr_t lo = s_addr("127.0.0.1"), lo6 = s_addr("::1"), other = s_addr("127.0.0.2");
    for (int i = 0; i < 5; i++) {
        assert_false(edge_ipcap_full(cap, &lo));
        assert_null(edge_ipcap_add(cap, &lo));
        assert_null(edge_ipcap_add(cap, &lo6));
    }
    assert_int_equal(edge_ipcap_size(cap), 0);
    edge_ipcap_entry_t *e = edge_ipcap_add(cap, &other);
    assert_true(edge_ipcap_full(cap, &other));
    edge_ipcap_remove(cap, &e);
    edge_ipcap_destroy(&cap);
    cap = edge_ipcap_new(0, "", err, sizeof err);
    assert_non_null(cap);
    assert_null(edge_ipcap_add(cap, &other));
    assert_false(edge_ipcap_full(cap, &other));
    edge_ipcap_destroy(&cap);
}

/* An IPv4 peer on an AF_INET socket and the same one on a dual-stack socket (::ffff:a.b.c.d)
 * are one address; other families are refused. */
static void test_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr);
    edge_ipaddr_t a, b;
    assert_int_equal(edge_ipaddr_from_sockaddr((struct sockaddr *)&v4, sizeof v4, &a), 0);
    assert_int_equal(edge_ipaddr_from_sockaddr((struct sockaddr *)&v6, sizeof v6, &b), 0);
    assert_memory_equal(a.b, b.b, 16);
    edge_ipaddr_t c = s_addr("192.0.2.7");
    assert_memory_equal(a.b, c.b, 16);
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_int_equal(edge_ipaddr_from_sockaddr(&other, sizeof other, &a), -1);
}

/* The exempt list: empty is fine; a bad item is named; more than 16 are refused. */
static void test_list(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(edge_ipcap_check_list("", err, sizeof err), 0);
    assert_int_equal(edge_ipcap_check_list("10.0.0.1,fe80::1", err, sizeof err), 0);
    assert_int_equal(edge_ipcap_check_list("10.0.0.1,localhost", err, sizeof err), -1);
    assert_string_equal(err, "'localhost' is not an IP address");
    assert_int_equal(edge_ipcap_check_list("10.0.0.0/8", err, sizeof err), -1);
    assert_string_equal(err, "'10.0.0.0/8' is not an IP address");
    char many[512] = "";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d,", i);
    assert_int_equal(edge_ipcap_check_list(many, err, sizeof err), -1);
    assert_string_equal(err, "more than 16 addresses");
    assert_null(edge_ipcap_new(4, "nope", err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_exempt),
        cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
