/*
 * test_bench.c: unit tests of weft-bench's other pure parts: the frame scanner, the latency
 * histogram, the seq accounting, the /proc parsers and CPU pinning, the options' checks, the
 * accounting and the report's medians and JSON (the WebSocket codec: test_bench_ws.c). Each test
 * doubles as a usage example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_acct.h"
#include "bench_floor.h"
#include "bench_hist.h"
#include "bench_locate.h"
#include "bench_opts.h"
#include "bench_proc.h"
#include "bench_report.h"
#include "bench_scan.h"
#include "bench_seq.h"
#include "bench_ws.h"

/* ---- Scanner ----------------------------------------------------------------------------- */

static void test_scan_event(void **state)
{
    (void)state;
    const char *f = "{\"op\":\"event\",\"room\":\"project:1\",\"epoch\":4518532211,\"seq\":17,"
                    "\"type\":\"task.progress\",\"ts\":1790000000123456789,\"data\":{\"pct\":40}}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.room_len, 9);
    assert_memory_equal(m.room, "project:1", 9);
    assert_int_equal(m.epoch, 4518532211ull);
    assert_int_equal(m.seq, 17);
    assert_int_equal(m.ts, 1790000000123456789ull);
    assert_int_equal(m.critical, 0);
    /* The critical flag comes after "data", so an event is read to its end: a payload cut short
     * makes the frame unreadable. */
    const char *g = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"type\":\"t\","
                    "\"ts\":3,\"data\":{{{{";
    assert_int_equal(bench_scan(g, strlen(g), &m), -1);
}

static void test_scan_event_critical(void **state)
{
    (void)state;
    bench_msg_t m;
    /* Exactly as the edge writes a critical event: the flag after "data". */
    const char *f = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"type\":\"t\","
                    "\"ts\":3,\"data\":{\"pad\":\"xx\"},\"critical\":true}";
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.seq, 2);
    assert_int_equal(m.critical, 1);
    /* Before "data", and false. */
    const char *g = "{\"op\":\"event\",\"critical\":true,\"room\":\"r\",\"epoch\":1,\"seq\":2,"
                    "\"ts\":3,\"data\":{}}";
    assert_int_equal(bench_scan(g, strlen(g), &m), 0);
    assert_int_equal(m.critical, 1);
    const char *h = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                    "\"data\":{},\"critical\":false}";
    assert_int_equal(bench_scan(h, strlen(h), &m), 0);
    assert_int_equal(m.critical, 0);
    /* A member "critical" inside data, nested deeper, or inside a string is not the flag. */
    const char *not_flag[] = {
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"critical\":true}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"a\":[{\"critical\":true}],\"b\":{\"critical\":true}}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"s\":\"\\\",\\\"critical\\\":true}\"}}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
        "\"data\":{\"s\":\"\\\\\",\"critical\":true}}",
    };
    for (size_t i = 0; i < sizeof not_flag / sizeof not_flag[0]; i++) {
        assert_int_equal(bench_scan(not_flag[i], strlen(not_flag[i]), &m), 0);
        assert_int_equal(m.seq, 2);
        assert_int_equal(m.critical, 0);
    }
    /* The real flag after a data object that has a "critical" of its own. */
    const char *both = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                       "\"data\":{\"critical\":false},\"critical\":true}";
    assert_int_equal(bench_scan(both, strlen(both), &m), 0);
    assert_int_equal(m.critical, 1);
    /* Not a boolean: the frame does not scan. */
    const char *bad = "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2,\"ts\":3,"
                      "\"data\":{},\"critical\":1}";
    assert_int_equal(bench_scan(bad, strlen(bad), &m), -1);
}

static void test_scan_batch_critical(void **state)
{
    (void)state;
    /* A batch frame has no top-level flag; "critical" inside an entry's data is not one either,
     * and an entry's own member "critical":true (never sent by the edge) is reported per entry. */
    const char *f =
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"from_seq\":1,\"to_seq\":3,\"events\":["
        "{\"seq\":1,\"type\":\"a\",\"ts\":100,\"data\":{\"critical\":true}},"
        "{\"seq\":2,\"type\":\"a\",\"ts\":101,\"data\":{\"x\":{\"critical\":true}}},"
        "{\"seq\":3,\"type\":\"a\",\"ts\":102,\"data\":{},\"critical\":true}]}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_BATCH);
    assert_int_equal(m.critical, 0);
    bench_batch_it_t it;
    bench_batch_begin(&it, &m);
    uint64_t seq, ts;
    int crit = -1;
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(crit, 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 2);
    assert_int_equal(crit, 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, &crit), 1);
    assert_int_equal(seq, 3);
    assert_int_equal(crit, 1);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
}

static void test_scan_event_any_order_and_whitespace(void **state)
{
    (void)state;
    const char *f = " { \"data\" : {\"a\":\"}\\\"{\",\"b\":[1,{\"c\":2}]} , \"ts\" : 9 ,"
                    "\"critical\":true, \"seq\":5,\"epoch\":7,\"room\":\"x\",\"op\":\"event\"}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_EVENT);
    assert_int_equal(m.seq, 5);
    assert_int_equal(m.ts, 9);
    assert_int_equal(m.epoch, 7);
}

static void test_scan_subscribed_and_others(void **state)
{
    (void)state;
    bench_msg_t m;
    const char *a = "{\"op\":\"subscribed\",\"room\":\"r1\"}";
    assert_int_equal(bench_scan(a, strlen(a), &m), 0);
    assert_int_equal(m.op, BENCH_OP_SUBSCRIBED);
    assert_int_equal(m.recovered, -1);
    const char *b = "{\"op\":\"subscribed\",\"room\":\"r1\",\"recovered\":false,\"epoch\":3,"
                    "\"seq\":99,\"reason\":\"too_old\"}";
    assert_int_equal(bench_scan(b, strlen(b), &m), 0);
    assert_int_equal(m.recovered, 0);
    assert_int_equal(m.epoch, 3);
    assert_int_equal(m.seq, 99);
    const char *c = "{\"op\":\"welcome\",\"edge\":\"e1\",\"protocol\":1,\"max_message\":65536}";
    assert_int_equal(bench_scan(c, strlen(c), &m), 0);
    assert_int_equal(m.op, BENCH_OP_WELCOME);
    const char *d = "{\"op\":\"error\",\"code\":\"bad_json\",\"message\":\"x\"}";
    assert_int_equal(bench_scan(d, strlen(d), &m), 0);
    assert_int_equal(m.op, BENCH_OP_ERROR);
    const char *e = "{\"op\":\"whatever\",\"x\":null}";
    assert_int_equal(bench_scan(e, strlen(e), &m), 0);
    assert_int_equal(m.op, BENCH_OP_OTHER);
    const char *f = "{\"op\":\"position\",\"room\":\"r2\",\"epoch\":7,\"seq\":41}";
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_POSITION);
    assert_int_equal(m.room_len, 2);
    assert_int_equal(m.epoch, 7);
    assert_int_equal(m.seq, 41);
}

static void test_scan_rejects_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "[]",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2}", /* no ts */
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":-2,\"ts\":1}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":2.5,\"ts\":1}",
        "{\"op\":\"event\",\"room\":\"r\",\"epoch\":1,\"seq\":99999999999999999999,\"ts\":1}",
        "{\"op\":\"event\" \"room\":\"r\"}",
        "{\"op\":\"subscribed\",\"room\":\"r\"",
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":1}", /* no events */
        "{\"op\":\"subscribed\",\"recovered\":maybe}",
        "{\"op\":\"x\",\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bench_msg_t m;
        assert_int_equal(bench_scan(bad[i], strlen(bad[i]), &m), -1);
    }
}

static void test_scan_batch(void **state)
{
    (void)state;
    const char *f =
        "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"from_seq\":10,\"to_seq\":12,\"events\":["
        "{\"seq\":10,\"type\":\"a.b\",\"ts\":100,\"data\":{\"x\":[1,2,{\"y\":\"]\"}]}},"
        "{\"seq\":11,\"type\":\"a.b\",\"ts\":101,\"data\":{}} ,"
        " {\"seq\":12,\"type\":\"a.b\",\"ts\":102,\"data\":{\"z\":\"\\\"}\"},\"critical\":true}]}";
    bench_msg_t m;
    assert_int_equal(bench_scan(f, strlen(f), &m), 0);
    assert_int_equal(m.op, BENCH_OP_BATCH);
    assert_int_equal(m.epoch, 8);
    bench_batch_it_t it;
    bench_batch_begin(&it, &m);
    uint64_t seq, ts;
    for (uint64_t k = 0; k < 3; k++) {
        assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 1);
        assert_int_equal(seq, 10 + k);
        assert_int_equal(ts, 100 + k);
    }
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    /* Empty and broken arrays. */
    const char *e = "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"events\":[]}";
    assert_int_equal(bench_scan(e, strlen(e), &m), 0);
    bench_batch_begin(&it, &m);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), 0);
    const char *b = "{\"op\":\"batch\",\"room\":\"r\",\"epoch\":8,\"events\":[{\"seq\":1}]}";
    assert_int_equal(bench_scan(b, strlen(b), &m), 0);
    bench_batch_begin(&it, &m);
    assert_int_equal(bench_batch_next(&it, &seq, &ts, NULL), -1); /* no ts */
}

/* ---- Histogram --------------------------------------------------------------------------- */

static void test_hist_buckets(void **state)
{
    (void)state;
    /* Every value lies within its bucket, and buckets are at most 1/64 wide. */
    uint64_t values[] = {0, 1, 127, 128, 129, 255, 256, 1000, 123456789, (1ull << 39) + 12345};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t idx = bench_hist_index(values[i]);
        assert_true(idx < BENCH_HIST_BUCKETS);
        uint64_t up = bench_hist_upper(idx);
        assert_true(values[i] <= up);
        uint64_t low = idx ? bench_hist_upper(idx - 1) + 1 : 0;
        assert_true(values[i] >= low);
        assert_true((double)(up - low + 1) <= (double)values[i] / 64.0 + 1.0);
    }
    /* Monotonic and contiguous. */
    for (size_t i = 1; i < BENCH_HIST_BUCKETS; i++)
        assert_int_equal(bench_hist_index(bench_hist_upper(i - 1) + 1), i);
    assert_int_equal(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
}

static void test_hist_quantiles(void **state)
{
    (void)state;
    bench_hist_t *h = calloc(1, sizeof *h);
    assert_int_equal(bench_hist_quantile(h, 0.5), 0);
    /* 1..10000 microseconds, in ns. */
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_record(h, v * 1000);
    assert_int_equal(h->count, 10000);
    assert_int_equal(h->max, 10000000);
    assert_int_equal(h->min, 1000);
    double p50 = (double)bench_hist_quantile(h, 0.5), p99 = (double)bench_hist_quantile(h, 0.99);
    assert_true(p50 >= 5000000 && p50 <= 5000000 * 1.016);
    assert_true(p99 >= 9900000 && p99 <= 9900000 * 1.016);
    assert_int_equal(bench_hist_quantile(h, 1.0), 10000000); /* capped at the exact max */
    /* Merging two halves gives the same answer. */
    bench_hist_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_record(v % 2 ? a : b, v * 1000);
    bench_hist_merge(a, b);
    assert_int_equal(a->count, 10000);
    assert_int_equal(bench_hist_quantile(a, 0.99), bench_hist_quantile(h, 0.99));
    assert_int_equal(a->min, 1000);
    bench_hist_reset(a);
    assert_int_equal(a->count, 0);
    free(a);
    free(b);
    free(h);
}

/* ---- Seq accounting ---------------------------------------------------------------------- */

static void test_seq_in_order_gap_dup(void **state)
{
    (void)state;
    bench_seq_t s = {0};
    bench_seq_tally_t t = {0};
    assert_false(bench_seq_started(&s));
    assert_true(bench_seq_event(&s, 7, 5, &t)); /* starts wherever the stream starts */
    assert_true(bench_seq_event(&s, 7, 6, &t));
    assert_true(bench_seq_event(&s, 7, 9, &t));  /* 7 and 8 lost */
    assert_false(bench_seq_event(&s, 7, 8, &t)); /* late or repeated: duplicate */
    assert_false(bench_seq_event(&s, 7, 9, &t));
    assert_true(bench_seq_event(&s, 7, 10, &t));
    assert_int_equal(t.delivered, 4);
    assert_int_equal(t.lost, 2);
    assert_int_equal(t.duplicates, 2);
    assert_true(bench_seq_reached(&s, 10));
    assert_false(bench_seq_reached(&s, 11));
    assert_int_equal(bench_seq_missing(&s, 13), 3);
    assert_int_equal(bench_seq_missing(&s, 10), 0);
}

static void test_seq_notice_and_epoch(void **state)
{
    (void)state;
    bench_seq_t s = {0};
    bench_seq_tally_t t = {0};
    bench_seq_event(&s, 1, 1, &t);
    bench_seq_notice(&s, 1, 5, &t); /* 2..5 are gone */
    assert_int_equal(t.lost, 4);
    assert_int_equal(t.notices, 1);
    assert_true(bench_seq_event(&s, 1, 6, &t));
    assert_int_equal(t.lost, 4);
    bench_seq_notice(&s, 2, 0, &t); /* router restarted: new epoch, nothing stamped yet */
    assert_int_equal(t.epoch_changes, 1);
    assert_true(bench_seq_event(&s, 2, 1, &t));
    assert_int_equal(t.lost, 4);
    assert_true(bench_seq_event(&s, 3, 40, &t)); /* an epoch change without notice */
    assert_int_equal(t.epoch_changes, 2);
    assert_int_equal(bench_seq_missing(&(bench_seq_t){0}, 100), 0); /* never started */
}

/* ---- /proc ------------------------------------------------------------------------------- */

static void test_proc_parsers(void **state)
{
    (void)state;
    const char *stat = "1234 (weft edge) (x) S 1 1234 1234 0 -1 4194560 1193 0 0 0 "
                       "250 75 0 0 20 0 3 0 12345 123456789 4321 18446744073709551615";
    uint64_t ticks = 0;
    assert_int_equal(bench_proc_parse_stat(stat, &ticks), 0);
    assert_int_equal(ticks, 325);
    assert_int_equal(bench_proc_parse_stat("1234 (x) S 1 2", &ticks), -1);
    assert_int_equal(bench_proc_parse_stat("no paren", &ticks), -1);
    const char *status =
        "Name:\tweft-edge\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
    uint64_t kib = 0;
    assert_int_equal(bench_proc_parse_rss(status, &kib), 0);
    assert_int_equal(kib, 12345);
    assert_int_equal(bench_proc_parse_rss("Name:\tzombie\nState:\tZ\n", &kib), -1);
    /* And the live readers on ourselves. */
    uint64_t ns;
    assert_int_equal(bench_proc_cpu_ns(getpid(), &ns), 0);
    assert_int_equal(bench_proc_rss_kib(getpid(), &kib), 0);
    assert_true(kib > 0);
    assert_int_equal(bench_proc_rss_kib(-5, &kib), -1);
}

/* ---- Report ------------------------------------------------------------------------------ */

/* Pinning this process to a CPU it may use works for all its threads; a CPU that does not exist
 * is refused with EINVAL. The original mask is restored. */
static void test_proc_pin(void **state)
{
    (void)state;
    cpu_set_t saved;
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved))
        cpu++;
    int threads = 0;
    assert_int_equal(bench_proc_pin(0, cpu, &threads), 0);
    assert_true(threads >= 1);
    cpu_set_t now;
    assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
    assert_int_equal(CPU_COUNT(&now), 1);
    assert_true(CPU_ISSET(cpu, &now));
    assert_int_equal(bench_proc_pin(0, -1, &threads), -1);
    assert_int_equal(bench_proc_pin(0, CPU_SETSIZE, &threads), -1);
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
}

/* Parses a command line; returns the action (messages go to /dev/null). */
static base_conf_action_t s_parse(bench_opts_t *o, int argc, char **argv)
{
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    memset(o, 0, sizeof *o);
    base_conf_action_t rc = bench_opts_parse(o, argc, argv, null, null);
    fclose(null);
    return rc;
}

/* The new flags and how they fit with the modes. */
static void test_opts_floor_raw_pinning(void **state)
{
    (void)state;
    bench_opts_t o;
    char *floor[] = {"weft-bench", "--mode", "floor", "--floor-pack", "10", "--clients", "5"};
    assert_int_equal(s_parse(&o, 7, floor), BASE_CONF_RUN);
    assert_int_equal(o.mode_id, BENCH_MODE_FLOOR);
    assert_int_equal(o.floor_pack, 10);
    assert_int_equal(o.router_cpu, -1);
    assert_string_equal(o.publisher, "libweft");
    bench_opts_free(&o);
    char *raw[] = {"weft-bench", "--spawn",      "--mode", "router",      "--publisher",
                   "raw",        "--router-cpu", "1",      "--bench-cpu", "0"};
    assert_int_equal(s_parse(&o, 10, raw), BASE_CONF_RUN);
    assert_string_equal(o.publisher, "raw");
    assert_int_equal(o.router_cpu, 1);
    assert_int_equal(o.bench_cpu, 0);
    bench_opts_free(&o);
    /* Refused: a floor with a router, a pack without the floor, an unknown publisher, pinning a
     * router whose pid is unknown. */
    char *floor_router[] = {"weft-bench", "--mode", "floor", "--router-cpu", "1"};
    assert_int_equal(s_parse(&o, 5, floor_router), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *floor_raw[] = {"weft-bench", "--mode", "floor", "--publisher", "raw"};
    assert_int_equal(s_parse(&o, 5, floor_raw), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *pack[] = {"weft-bench", "--spawn", "--floor-pack", "2"};
    assert_int_equal(s_parse(&o, 4, pack), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *bogus[] = {"weft-bench", "--spawn", "--publisher", "zmq"};
    assert_int_equal(s_parse(&o, 4, bogus), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *nopid[] = {"weft-bench",
                     "--mode",
                     "router",
                     "--router-intake",
                     "tcp://127.0.0.1:1",
                     "--router-fanout",
                     "tcp://127.0.0.1:2",
                     "--router-cpu",
                     "1"};
    assert_int_equal(s_parse(&o, 9, nopid), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
}

static void test_opts_critical_every(void **state)
{
    (void)state;
    bench_opts_t o;
    char *dflt[] = {"weft-bench", "--spawn"};
    assert_int_equal(s_parse(&o, 2, dflt), BASE_CONF_RUN);
    assert_int_equal(o.critical_every, 0);
    bench_opts_free(&o);
    char *ten[] = {"weft-bench", "--spawn", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 4, ten), BASE_CONF_RUN);
    assert_int_equal(o.critical_every, 10);
    bench_opts_free(&o);
    /* Refused where nothing goes through an edge: the floor server and idle mode. */
    char *floor[] = {"weft-bench", "--mode", "floor", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 5, floor), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *idle[] = {"weft-bench", "--spawn", "--mode", "idle", "--critical-every", "10"};
    assert_int_equal(s_parse(&o, 6, idle), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *neg[] = {"weft-bench", "--spawn", "--critical-every", "-1"};
    assert_int_equal(s_parse(&o, 4, neg), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
}

static void test_opts_soak_and_auth(void **state)
{
    (void)state;
    bench_opts_t o;
    char *soak[] = {"weft-bench", "--spawn", "--mode", "soak", "--soak-sample", "2",
                    "--soak-kill-every", "5", "--edges", "3"};
    assert_int_equal(s_parse(&o, 10, soak), BASE_CONF_RUN);
    assert_int_equal(o.mode_id, BENCH_MODE_SOAK);
    assert_true(o.soak_sample == 2.0);
    assert_true(o.soak_kill_every == 5.0);
    assert_string_equal(o.auth_secret, "");
    bench_opts_free(&o);
    /* The soak kills the edges it started: it needs --spawn, and rooms fit a 64-bit mask. */
    char *nospawn[] = {"weft-bench", "--mode", "soak", "--edge", "ws://127.0.0.1:1/ws",
                       "--router-intake", "tcp://127.0.0.1:2"};
    assert_int_equal(s_parse(&o, 7, nospawn), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *rooms[] = {"weft-bench", "--spawn", "--mode", "soak", "--rooms", "65"};
    assert_int_equal(s_parse(&o, 6, rooms), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *fast[] = {"weft-bench", "--spawn", "--mode", "soak", "--soak-sample", "0.1"};
    assert_int_equal(s_parse(&o, 6, fast), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    /* --auth-secret: wherever clients meet an edge; not where there is none. */
    char *auth[] = {"weft-bench", "--spawn", "--auth-secret", "/tmp/s"};
    assert_int_equal(s_parse(&o, 4, auth), BASE_CONF_RUN);
    assert_string_equal(o.auth_secret, "/tmp/s");
    bench_opts_free(&o);
    char *floor[] = {"weft-bench", "--mode", "floor", "--auth-secret", "/tmp/s"};
    assert_int_equal(s_parse(&o, 5, floor), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
    char *router[] = {"weft-bench", "--spawn", "--mode", "router", "--auth-secret", "/tmp/s"};
    assert_int_equal(s_parse(&o, 6, router), BASE_CONF_EXIT_ERR);
    bench_opts_free(&o);
}

/* ---- Accounting -------------------------------------------------------------------------- */

static void test_acct_critical_histogram(void **state)
{
    (void)state;
    bench_ctl_t *ctl = bench_ctl_new(1, 1);
    assert_non_null(ctl);
    atomic_store(&ctl->run, 1);
    atomic_store(&ctl->window_start_ns, 1000);
    uint32_t room = 0;
    bench_acct_t *a = bench_acct_new(ctl, 0, 1, &room);
    assert_non_null(a);
    bench_acct_tick(a);
    /* seq 1 plain, seq 2 critical, seq 2 again (a duplicate: not counted), seq 3 critical but
     * published before the window (counted, not timed). */
    bench_acct_event(a, 0, 7, 1, 2000, 3000, false);
    bench_acct_event(a, 0, 7, 2, 2000, 7000, true);
    bench_acct_event(a, 0, 7, 2, 2000, 7000, true);
    bench_acct_event(a, 0, 7, 3, 500, 7000, true);
    const bench_result_t *r = bench_acct_result(a);
    assert_int_equal(r->seq.delivered, 3);
    assert_int_equal(r->seq.duplicates, 1);
    assert_int_equal(r->seq.lost, 0);
    assert_int_equal(r->critical, 2);
    assert_int_equal(r->latency.count, 2);
    assert_int_equal(r->critical_latency.count, 1);
    assert_int_equal(r->critical_latency.max, 5000);
    assert_int_equal(r->latency.max, 5000);
    assert_int_equal(r->latency.min, 1000);
    bench_acct_destroy(&a);
    assert_null(a);
    bench_ctl_destroy(&ctl);
}

static void test_report_medians_and_json(void **state)
{
    (void)state;
    double v[] = {3, NAN, 1, 2};
    assert_true(bench_median(v, 4) == 2);
    double w[] = {4, 1, 3, 2};
    assert_true(bench_median(w, 4) == 2.5);
    double none[] = {NAN};
    assert_true(isnan(bench_median(none, 1)));

    bench_sample_t runs[3];
    for (int i = 0; i < 3; i++) {
        bench_sample_init(&runs[i]);
        runs[i].v[BENCH_M_LOST] = 0;
        runs[i].v[BENCH_M_LAT_P99] = 10.0 * (i + 1);
    }
    json_t *j = bench_report_json(runs, 3);
    assert_non_null(j);
    json_t *med = json_object_get(j, "median");
    assert_true(json_is_integer(json_object_get(med, "lost")));
    assert_int_equal(json_integer_value(json_object_get(med, "lost")), 0);
    assert_true(json_real_value(json_object_get(med, "latency_p99_ms")) == 20.0);
    assert_true(json_is_null(json_object_get(med, "cpu_router_s")));
    assert_true(json_is_null(json_object_get(med, "critical_events")));
    assert_true(json_is_null(json_object_get(med, "critical_latency_p99_ms")));
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 3);
    json_decref(j);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bench_report_table(f, "title", runs, 3);
    fclose(f);
    assert_non_null(strstr(text, "latency p99 (ms)"));
    assert_non_null(strstr(text, "20.000"));
    assert_null(strstr(text, "router CPU")); /* never measured: no row */
    assert_null(strstr(text, "critical"));   /* no critical events: no rows */
    free(text);
    /* With critical events: their rows, in the table and in JSON. */
    runs[1].v[BENCH_M_CRIT_EVENTS] = 100;
    runs[1].v[BENCH_M_CRIT_P99] = 4.5;
    j = bench_report_json(runs, 3);
    assert_non_null(j);
    med = json_object_get(j, "median");
    assert_int_equal(json_integer_value(json_object_get(med, "critical_events")), 100);
    assert_true(json_real_value(json_object_get(med, "critical_latency_p99_ms")) == 4.5);
    json_decref(j);
    f = open_memstream(&text, &len);
    bench_report_table(f, "title", runs, 3);
    fclose(f);
    assert_non_null(strstr(text, "critical events delivered (run)"));
    assert_non_null(strstr(text, "critical latency p99 (ms)"));
    free(text);
}
/* ---- Locating edges ---------------------------------------------------------------------- */

/* An edge URL: host, port and path with their defaults; a bad port or no host is refused. */
static void test_locate_edge(void **state)
{
    (void)state;
    bench_edge_addr_t e;
    assert_int_equal(bench_locate_edge("ws://127.0.0.1:8081/ws", &e, NULL), 0);
    assert_string_equal(e.host, "127.0.0.1");
    assert_int_equal(e.port, 8081);
    assert_string_equal(e.path, "/ws");
    assert_int_equal(ntohs(e.sa.sin_port), 8081);
    assert_int_equal(bench_locate_edge("127.0.0.2", &e, NULL), 0);
    assert_int_equal(e.port, 80);
    assert_string_equal(e.path, "/ws");
    assert_int_equal(bench_locate_edge("ws://127.0.0.1:9/other", &e, NULL), 0);
    assert_string_equal(e.path, "/other");
    assert_int_equal(bench_locate_edge("ws://127.0.0.1:0/ws", &e, NULL), -1);
    assert_int_equal(bench_locate_edge("ws://127.0.0.1:70000", &e, NULL), -1);
    assert_int_equal(bench_locate_edge("ws://:8080/ws", &e, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_event),
        cmocka_unit_test(test_scan_event_critical),
        cmocka_unit_test(test_scan_batch_critical),
        cmocka_unit_test(test_scan_event_any_order_and_whitespace),
        cmocka_unit_test(test_scan_subscribed_and_others),
        cmocka_unit_test(test_scan_rejects_malformed),
        cmocka_unit_test(test_scan_batch),
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_hist_quantiles),
        cmocka_unit_test(test_seq_in_order_gap_dup),
        cmocka_unit_test(test_seq_notice_and_epoch),
        cmocka_unit_test(test_proc_parsers),
        cmocka_unit_test(test_proc_pin),
        cmocka_unit_test(test_opts_floor_raw_pinning),
        cmocka_unit_test(test_opts_critical_every),
        cmocka_unit_test(test_opts_soak_and_auth),
        cmocka_unit_test(test_acct_critical_histogram),
        cmocka_unit_test(test_report_medians_and_json),
        cmocka_unit_test(test_locate_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
