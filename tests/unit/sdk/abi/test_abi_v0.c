/*
 * test_abi_v0.c: weft.h can gain fields without breaking a compiled caller.
 *
 * This program is compiled against the frozen weft.h of 0.1.0 (v0, tests/unit/sdk/abi/v0, a
 * byte-for-byte copy of sdk/include/weft.h at c80dd9f) and linked against the current
 * libweft.so, whose weft_pub_opts_t and weft_pub_stats_t have grown since. It does what any v0
 * agent does, against a real weft-router: options, publish, flush, counters, destroy.
 *
 * What would break if the library did not honour the caller's struct size:
 * - its options are followed by bytes 0xa5: a library reading past the v0 fields would take
 *   them for an on_ack callback and jump to 0xa5a5... when the first ack arrives;
 * - its counters are followed by canary bytes that must come back untouched;
 * - both also sit in heap blocks of exactly the v0 size, so that the ASan build reports any
 *   read or write past them.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weft.h>

#include "ts_proc.h"

/* Make sure that the include path gave us the frozen header, not the current one. */
#if defined(WEFT_VERSION_NUMBER) || defined(weft_pub_opts_init) || defined(weft_pub_stats)
#error "test_abi_v0.c must be compiled against tests/unit/sdk/abi/v0/weft.h only"
#endif

#define CANARY 0xa5
#define EVENTS 10

/* v0 options followed by bytes that are not the library's to read. */
typedef struct {
    weft_pub_opts_t opts;    /* as v0 knew it */
    unsigned char after[64]; /* CANARY; a newer struct's callbacks would be here */
} opts_canary_t;

/* v0 counters followed by bytes that are not the library's to write. */
typedef struct {
    weft_pub_stats_t stats;  /* as v0 knew it */
    unsigned char after[64]; /* CANARY */
} stats_canary_t;

/* The router the publishers talk to. */
typedef struct fixture {
    ts_proc_t *router; /* weft-router on free loopback ports */
    char intake[64];   /* its intake endpoint */
} fixture_t;

/* True when all n bytes at p are CANARY. */
static int s_canary_intact(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != CANARY)
            return 0;
    return 1;
}

/* Starts weft-router (WEFT_ROUTER_BIN) on free ports and waits until it is ready. */
static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    const char *bin = getenv("WEFT_ROUTER_BIN");
    if (!fx || !bin) {
        fprintf(stderr, "test_abi_v0: WEFT_ROUTER_BIN is not set\n");
        free(fx);
        return -1;
    }
    char fanout[64], history[64];
    snprintf(fx->intake, sizeof fx->intake, "tcp://127.0.0.1:%d", ts_free_port());
    snprintf(fanout, sizeof fanout, "tcp://127.0.0.1:%d", ts_free_port());
    snprintf(history, sizeof history, "tcp://127.0.0.1:%d", ts_free_port());
    char *argv[] = {(char *)bin, "--intake",  fx->intake, "--fanout",
                    fanout,      "--history", history,    NULL};
    /* The log goes to the test's working directory, where ctest leaves it for a post-mortem. */
    fx->router = ts_proc_new("weft-router", argv, "test_abi_v0.router.log", NULL);
    if (!fx->router || ts_proc_wait_log(fx->router, "ready:", 20000) != 0) {
        if (fx->router)
            ts_proc_print_log(fx->router, stderr);
        ts_proc_destroy(&fx->router);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/* Stops the router. */
static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    if (!fx)
        return 0; /* setup failed and said why */
    int rc = ts_proc_stop(fx->router, 15000);
    ts_proc_destroy(&fx->router);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* The loaded libweft is the current one (it has calls v0 did not), yet answers v0's calls. */
static void test_current_library_loaded(void **state)
{
    (void)state;
    assert_non_null(dlsym(RTLD_DEFAULT, "weft_publish_buf"));
    assert_non_null(dlsym(RTLD_DEFAULT, "weft_pub_close_sized"));
    assert_non_null(weft_version());
    assert_string_equal(weft_err_name(WEFT_EFULL), "WEFT_EFULL");
}

/* weft_pub_opts_init() fills the v0 fields with the v0 defaults and nothing after them. */
static void test_opts_init(void **state)
{
    (void)state;
    opts_canary_t c;
    memset(&c, CANARY, sizeof c);
    weft_pub_opts_init(&c.opts);
    assert_true(s_canary_intact(c.after, sizeof c.after));
    assert_null(c.opts.publisher_id);
    assert_int_equal(c.opts.max_buffered, 10000);
    assert_int_equal(c.opts.max_buffered_bytes, 16 * 1024 * 1024);
    assert_int_equal(c.opts.block_ms, 0);
    assert_int_equal(c.opts.heartbeat_ms, 1000);
    assert_int_equal(c.opts.linger_ms, 2000);
    assert_int_equal(c.opts.max_payload, WEFT_PAYLOAD_DEFAULT_MAX);

    weft_pub_opts_t *exact = malloc(sizeof *exact); /* ASan: no byte more */
    assert_non_null(exact);
    weft_pub_opts_init(exact);
    assert_int_equal(exact->max_payload, WEFT_PAYLOAD_DEFAULT_MAX);
    free(exact);
}

/* The v0 option fields are read where v0 put them: the last one, max_payload, takes effect, and
 * a bad value in any of them is refused. */
static void test_options_read_at_v0_offsets(void **state)
{
    fixture_t *fx = *state;
    opts_canary_t c;
    memset(&c, CANARY, sizeof c);
    weft_pub_opts_init(&c.opts);
    c.opts.heartbeat_ms = 0;
    assert_null(weft_pub_new(fx->intake, &c.opts));
    weft_pub_opts_init(&c.opts);
    c.opts.max_payload = 0;
    assert_null(weft_pub_new(fx->intake, &c.opts));

    weft_pub_opts_init(&c.opts);
    c.opts.max_payload = 16;
    c.opts.linger_ms = 0;
    c.opts.publisher_id = "abi-v0-limits";
    weft_pub_t *pub = weft_pub_new(fx->intake, &c.opts);
    assert_non_null(pub);
    assert_string_equal(weft_pub_id(pub), "abi-v0-limits");
    assert_int_equal(weft_publish(pub, "abi:v0", "abi.test", "{\"pad\":\"123456789\"}", 0),
                     WEFT_ETOOBIG);
    assert_int_equal(weft_publish(pub, "abi:v0", "abi.test", "{\"n\":1}", 0), 0);
    weft_pub_destroy(&pub);
    assert_null(pub);
}

/* Publishes through one v0 publisher and checks its v0 counters. */
static void s_publish_and_check(const char *intake, const weft_pub_opts_t *opts,
                                weft_pub_stats_t *stats)
{
    weft_pub_t *pub = weft_pub_new(intake, opts);
    assert_non_null(pub);
    for (int i = 0; i < EVENTS; i++) {
        char json[32];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        assert_int_equal(weft_publish_key(pub, "abi:v0", "abi.test", "k", json, 0), 0);
    }
    assert_int_equal(weft_publish(pub, "abi:v0", "Bad.Type", "{}", 0), WEFT_ETYPE);
    /* The acks arrive here: a library that took the bytes after the options for callbacks
     * would crash now. */
    assert_int_equal(weft_pub_flush(pub, 20000), 0);
    weft_pub_stats(pub, stats);
    assert_int_equal(stats->published, EVENTS);
    assert_int_equal(stats->acked, EVENTS);
    assert_int_equal(stats->refused, 0);
    assert_int_equal(stats->invalid, 1);
    assert_int_equal(stats->resent, 0);
    assert_int_equal(stats->lost, 0);
    assert_int_equal(stats->buffered, 0);
    assert_int_equal(stats->connected, 1);
    weft_pub_destroy(&pub);
    assert_null(pub);

    /* A NULL publisher zeroes the counters, within their v0 size too. */
    weft_pub_stats(NULL, stats);
    assert_int_equal(stats->published, 0);
    assert_int_equal(stats->connected, 0);
}

/* A v0 agent publishes against a real router, reads correct counters, and the library neither
 * reads past its options nor writes past its counters. */
static void test_publish_and_stats(void **state)
{
    fixture_t *fx = *state;

    /* Structs followed by canaries. */
    opts_canary_t oc;
    stats_canary_t sc;
    memset(&oc, CANARY, sizeof oc);
    memset(&sc, CANARY, sizeof sc);
    weft_pub_opts_init(&oc.opts);
    oc.opts.publisher_id = "abi-v0-canary";
    oc.opts.heartbeat_ms = 50;
    s_publish_and_check(fx->intake, &oc.opts, &sc.stats);
    assert_true(s_canary_intact(oc.after, sizeof oc.after));
    assert_true(s_canary_intact(sc.after, sizeof sc.after));

    /* Structs in heap blocks of exactly their v0 size. */
    weft_pub_opts_t *opts = malloc(sizeof *opts);
    weft_pub_stats_t *stats = malloc(sizeof *stats);
    assert_non_null(opts);
    assert_non_null(stats);
    weft_pub_opts_init(opts);
    opts->publisher_id = "abi-v0-exact";
    s_publish_and_check(fx->intake, opts, stats);
    free(opts);
    free(stats);
}

/* Runs the tests against one router. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_library_loaded),
        cmocka_unit_test(test_opts_init),
        cmocka_unit_test(test_options_read_at_v0_offsets),
        cmocka_unit_test(test_publish_and_stats),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
