/*
 * test_rtr_stats.c: the counter summary line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rtr_stats.h"

/* Totals appear by name; only nonzero invalid reasons are listed; output is always bounded. */
static void test_format(void **state)
{
    (void)state;
    rtr_stats_t s;
    memset(&s, 0, sizeof s);
    s.received = 10;
    s.accepted = 6;
    s.invalid = 3;
    s.invalid_by[WIRE_ERR_JSON] = 2;
    s.invalid_by[WIRE_ERR_FRAMES] = 1;
    s.duplicates = 1;
    char buf[900];
    rtr_stats_format(&s, buf, sizeof buf);
    assert_non_null(strstr(buf, "received=10 accepted=6 invalid=3 duplicates=1"));
    assert_non_null(strstr(buf, " invalid_json=2"));
    assert_non_null(strstr(buf, " invalid_frames=1"));
    assert_null(strstr(buf, "invalid_topic"));

    char small[16];
    rtr_stats_format(&s, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, "received=10 acc", 15);
    rtr_stats_format(&s, small, 1);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_format)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
