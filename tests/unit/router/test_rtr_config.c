/*
 * test_rtr_config.c: the router's settings table: defaults, bounds, file and flag overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtr_config.h"
#include "base_log.h"

/* Output of one base_conf_from_args() call. */
typedef struct {
    base_conf_action_t action;
    char out[8192];
    char err[1024];
} run_t;

/* Runs the parser on a NULL-terminated argument list, capturing stdout and stderr text. */
static void s_run(run_t *r, rtr_config_t *conf, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "weft-router";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    FILE *out = fmemopen(r->out, sizeof r->out, "w");
    FILE *err = fmemopen(r->err, sizeof r->err, "w");
    assert_non_null(out);
    assert_non_null(err);
    memset(r->out, 0, sizeof r->out);
    memset(r->err, 0, sizeof r->err);
    r->action =
        base_conf_from_args(rtr_config_table(), conf, argc, argv, "test", "9.9.9", out, err);
    fclose(out);
    fclose(err);
}

/* Writes text to a fresh temporary file; returns its path (static buffer per call site). */
static void s_write_file(char *path, const char *text)
{
    strcpy(path, "/tmp/test_rtr_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Every documented default comes from the table. */
static void test_defaults(void **state)
{
    (void)state;
    rtr_config_t conf;
    char err[256];
    assert_int_equal(rtr_config_defaults(&conf, err, sizeof err), 0);
    assert_string_equal(conf.intake, "tcp://*:5555");
    assert_string_equal(conf.fanout, "tcp://*:5556");
    assert_int_equal(conf.max_payload, 65536);
    assert_int_equal(conf.ack_interval_ms, 10);
    assert_int_equal(conf.publisher_ttl, 300);
    assert_int_equal(conf.fanout_hwm, 100000);
    assert_int_equal(conf.intake_hwm, 100000);
    assert_int_equal(conf.stats_interval, 60);
    assert_int_equal(conf.log_level, WEFT_LOG_NOTICE);
    assert_int_equal(conf.io_threads, 1);
    assert_int_equal(conf.io_nice, 10);
    assert_string_equal(conf.history, "tcp://*:5557");
    assert_int_equal(conf.history_max_events, 1000);
    assert_int_equal(conf.history_max_age, 300);
    assert_int_equal(conf.history_max_bytes, 256 * 1024 * 1024);
    assert_int_equal(conf.history_page_max, 500);
    assert_int_equal(conf.history_batch, 64);
    assert_int_equal(conf.history_hwm, 100000);
    rtr_config_free(&conf);
    rtr_config_free(&conf); /* safe twice */
    assert_null(conf.intake);
}

/* No arguments: RUN with the defaults. */
static void test_args_none(void **state)
{
    (void)state;
    rtr_config_t conf;
    run_t r;
    const char *args[] = {NULL};
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.max_payload, 65536);
    rtr_config_free(&conf);
}

/* Flags accept '-' and '_' spellings, "--k v" and "--k=v", and size suffixes. */
static void test_flags(void **state)
{
    (void)state;
    rtr_config_t conf;
    run_t r;
    const char *args[] = {"--max-payload",        "1000",        "--ack_interval_ms=25",
                          "--publisher-ttl",      "7",           "--intake",
                          "tcp://127.0.0.1:6000", "--log-level", "debug",
                          "--fanout-hwm",         "5",           NULL};
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.max_payload, 1000);
    assert_int_equal(conf.ack_interval_ms, 25);
    assert_int_equal(conf.publisher_ttl, 7);
    assert_string_equal(conf.intake, "tcp://127.0.0.1:6000");
    assert_string_equal(conf.fanout, "tcp://*:5556");
    assert_int_equal(conf.log_level, WEFT_LOG_DEBUG);
    assert_int_equal(conf.fanout_hwm, 5);
    rtr_config_free(&conf);

    const char *args2[] = {"--max-payload", "16m", NULL};
    s_run(&r, &conf, args2);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.max_payload, 16 * 1024 * 1024);
    rtr_config_free(&conf);
}

/* Values outside the bounds are refused with the key named. */
static void test_bounds(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"--max-payload", "0"},         {"--max-payload", "17m"},
        {"--ack-interval-ms", "0"},     {"--ack-interval-ms", "1001"},
        {"--publisher-ttl", "0"},       {"--fanout-hwm", "0"},
        {"--intake-hwm", "-1"},         {"--stats-interval", "-1"},
        {"--io-threads", "0"},          {"--log-level", "loud"},
        {"--max-payload", "12x"},       {"--ack-interval-ms", "2.5"},
        {"--history-max-events", "-1"}, {"--history-max-age", "0"},
        {"--history-page-max", "0"},    {"--history-batch", "0"},
        {"--history-hwm", "0"},         {"--history-max-bytes", "2000g"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rtr_config_t conf;
        run_t r;
        const char *args[] = {bad[i][0], bad[i][1], NULL};
        s_run(&r, &conf, args);
        assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
        char key[64];
        snprintf(key, sizeof key, "%s", bad[i][0] + 2);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        assert_non_null(strstr(r.err, key));
        rtr_config_free(&conf);
    }
    /* The edges of each range are accepted. */
    rtr_config_t conf;
    run_t r;
    const char *ok[] = {"--ack-interval-ms",
                        "1000",
                        "--stats-interval",
                        "0",
                        "--max-payload",
                        "1",
                        "--history-max-events",
                        "0",
                        "--history-max-bytes",
                        "1g",
                        "--history",
                        "tcp://127.0.0.1:7",
                        NULL};
    s_run(&r, &conf, ok);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.stats_interval, 0);
    assert_int_equal(conf.history_max_events, 0);
    assert_int_equal(conf.history_max_bytes, 1024 * 1024 * 1024);
    assert_string_equal(conf.history, "tcp://127.0.0.1:7");
    rtr_config_free(&conf);
}

/* A file sets values, flags override the file wherever --config appears. */
static void test_file_and_flags(void **state)
{
    (void)state;
    char path[64];
    s_write_file(path, "# router test\n"
                       "intake = tcp://127.0.0.1:7000\n"
                       "max_payload = 2k\n"
                       "ack_interval_ms = 50\n"
                       "stats_interval = 0\n");
    rtr_config_t conf;
    run_t r;
    const char *args[] = {"--ack-interval-ms", "20", "--config", path, NULL};
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_string_equal(conf.intake, "tcp://127.0.0.1:7000");
    assert_int_equal(conf.max_payload, 2048);
    assert_int_equal(conf.ack_interval_ms, 20); /* the flag wins */
    assert_int_equal(conf.stats_interval, 0);
    rtr_config_free(&conf);
    unlink(path);
}

/* Errors in a file name the file, the line and the key. */
static void test_file_errors(void **state)
{
    (void)state;
    char path[64];
    s_write_file(path, "intake = tcp://127.0.0.1:7000\nack_interval_ms = 5000\n");
    rtr_config_t conf;
    run_t r;
    const char *args[] = {"--config", path, NULL};
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    char want[128];
    snprintf(want, sizeof want, "%s:2: ack_interval_ms", path);
    assert_non_null(strstr(r.err, want));
    rtr_config_free(&conf);
    unlink(path);

    s_write_file(path, "no_such_key = 1\n");
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(r.err, "no_such_key: unknown setting"));
    rtr_config_free(&conf);
    unlink(path);

    const char *missing[] = {"--config", "/nonexistent/weft-router.conf", NULL};
    s_run(&r, &conf, missing);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(r.err, "cannot open"));
    rtr_config_free(&conf);

    const char *unknown[] = {"--no-such-flag", "1", NULL};
    s_run(&r, &conf, unknown);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(r.err, "unknown option"));
    rtr_config_free(&conf);
}

/* --help lists every key; --print-config prints a loadable file; --check-config says OK. */
static void test_help_print_check(void **state)
{
    (void)state;
    rtr_config_t conf;
    run_t r;
    const char *help[] = {"--help", NULL};
    s_run(&r, &conf, help);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    for (const base_conf_entry_t *e = rtr_config_table(); e->name; e++)
        assert_non_null(strstr(r.out, e->name));
    rtr_config_free(&conf);

    const char *print[] = {"--print-config", "--io-threads", "3", NULL};
    s_run(&r, &conf, print);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_non_null(strstr(r.out, "io_threads = 3\n"));
    assert_non_null(strstr(r.out, "intake = \"tcp://*:5555\"\n"));
    rtr_config_free(&conf);

    /* What --print-config printed loads back to the same values. */
    char path[64];
    s_write_file(path, r.out);
    const char *load[] = {"--config", path, NULL};
    s_run(&r, &conf, load);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.io_threads, 3);
    assert_string_equal(conf.intake, "tcp://*:5555");
    rtr_config_free(&conf);
    unlink(path);

    const char *check[] = {"--check-config", NULL};
    s_run(&r, &conf, check);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_non_null(strstr(r.out, "configuration OK"));
    rtr_config_free(&conf);

    const char *version[] = {"--version", NULL};
    s_run(&r, &conf, version);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_string_equal(r.out, "weft-router 9.9.9\n");
    rtr_config_free(&conf);
}

/* The shipped example file lists every key with its default and loads cleanly. */
static void test_example_file(void **state)
{
    (void)state;
    FILE *f = fopen(WEFT_ROUTER_CONF_EXAMPLE, "r");
    assert_non_null(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    rtr_config_t def;
    char err[256];
    assert_int_equal(rtr_config_defaults(&def, err, sizeof err), 0);
    for (const base_conf_entry_t *e = rtr_config_table(); e->name; e++) {
        char want[128];
        snprintf(want, sizeof want, "\n%s = %s\n", e->name, e->def);
        if (!strstr(text, want))
            fail_msg("example file lacks '%s = %s'", e->name, e->def);
    }
    rtr_config_t conf;
    run_t r;
    const char *args[] = {"--config", WEFT_ROUTER_CONF_EXAMPLE, NULL};
    s_run(&r, &conf, args);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(conf.max_payload, def.max_payload);
    assert_string_equal(conf.fanout, def.fanout);
    rtr_config_free(&conf);
    rtr_config_free(&def);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_args_none),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_file_and_flags),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_help_print_check),
        cmocka_unit_test(test_example_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
