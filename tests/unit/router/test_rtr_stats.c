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
    char buf[2048];
    s.history_requests = 5;
    s.history_replies[WIRE_HIST_OK] = 3;
    s.history_replies[WIRE_HIST_BAD_REQUEST] = 1;
    s.history_bad = 2;
    s.history_bad_by[WIRE_HIST_BAD_ROOM] = 1;
    s.history_bad_by[WIRE_HIST_BAD_REQUEST_ID] = 1;
    s.history_evicted_cap = 7;
    s.history_bytes = 4096;
    s.refused = 4;
    s.refused_by[WIRE_REFUSE_ROOM] = 3;
    s.refused_by[WIRE_REFUSE_RATE] = 1;
    s.refusals_unreported = 2;
    s.history_throttled = 9;
    rtr_stats_format(&s, buf, sizeof buf);
    assert_non_null(strstr(buf, " refused=4 refusals_sent=0 refusals_unreported=2 rights_reloads=0 "
                                "rights_reload_errors=0 history_throttled=9"));
    assert_non_null(strstr(buf, " refused_room=3 refused_rate_limited=1"));
    assert_null(strstr(buf, "refused_type"));
    assert_non_null(strstr(buf, "received=10 accepted=6 invalid=3 duplicates=1"));
    assert_non_null(strstr(buf, " accepted=6 invalid=3 duplicates=1 "));
    assert_non_null(strstr(buf, " history_requests=5 history_ok=3 history_epoch_changed=0 "
                                "history_too_old=0 history_bad_request=1 "));
    assert_non_null(strstr(buf, " history_bytes=4096 "));
    assert_non_null(strstr(buf, " history_evicted_cap=7 "));
    assert_non_null(strstr(buf, " history_bad_request_id=1 history_bad_room=1"));
    assert_null(strstr(buf, "history_bad_cursor"));
    /* History fields come after every field that was there before them. */
    assert_true(strstr(buf, " untracked=") < strstr(buf, " invalid_json="));
    assert_true(strstr(buf, " invalid_json=") < strstr(buf, " history_requests="));
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

/* The CURVE counters are absent while all are zero, then listed with nonzero reasons only. */
static void test_format_curve(void **state)
{
    (void)state;
    rtr_stats_t s;
    memset(&s, 0, sizeof s);
    char buf[2048];
    rtr_stats_format(&s, buf, sizeof buf);
    assert_null(strstr(buf, "curve"));
    s.curve_accepted = 4;
    s.curve_denied = 3;
    s.curve_denied_by[RTR_CURVE_DENY_KEY] = 2;
    s.curve_denied_by[RTR_CURVE_DENY_HANDSHAKE] = 1;
    s.curve_reloads = 1;
    rtr_stats_format(&s, buf, sizeof buf);
    assert_non_null(strstr(buf, " curve_accepted=4 curve_denied=3 curve_reloads=1 "
                                "curve_denied_key=2 curve_denied_handshake=1"));
    assert_null(strstr(buf, "curve_denied_mechanism"));
    assert_string_equal(rtr_curve_deny_name(RTR_CURVE_DENY_MECHANISM), "mechanism");
    assert_string_equal(rtr_curve_deny_name(RTR_CURVE_DENY__COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_format),
                                       cmocka_unit_test(test_format_curve)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
