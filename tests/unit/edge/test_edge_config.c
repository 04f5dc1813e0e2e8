/*
 * test_edge_config.c: the edge's settings table: defaults, file and flag precedence, bounds,
 * the derived edge_id, and the --check-config / --print-config / --help exits.
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

#include <czmq.h>

#include "edge_config.h"
#include "wire_envelope.h"
#include "base_log.h"

/* Runs edge_config_from_args with a NULL-terminated list of flags, capturing both outputs. */
static base_conf_action_t s_run(edge_config_t *conf, char *out, size_t outlen, char *err,
                                size_t errlen, const char *flag, ...)
{
    /* Anonymous unless a test says otherwise (a later --auth wins): auth = jwt needs a key. */
    char *argv[32] = {"weft-edge", "--auth", "none"};
    int argc = 3;
    va_list ap;
    va_start(ap, flag);
    for (const char *a = flag; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    FILE *fo = fmemopen(out, outlen, "w");
    FILE *fe = fmemopen(err, errlen, "w");
    assert_non_null(fo);
    assert_non_null(fe);
    base_conf_action_t action = edge_config_from_args(conf, argc, argv, "9.9.9", fo, fe);
    fclose(fo);
    fclose(fe);
    return action;
}

static void test_defaults(void **state)
{
    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, NULL), BASE_CONF_RUN);
    assert_int_equal(conf.port, 8080);
    assert_string_equal(conf.bind, "0.0.0.0");
    assert_string_equal(conf.router, "tcp://127.0.0.1:5556");
    assert_string_equal(conf.history, "tcp://127.0.0.1:5557");
    assert_int_equal(conf.history_timeout_ms, 2000);
    assert_int_equal(conf.history_retries, 3);
    assert_int_equal(conf.history_inflight, 256);
    assert_int_equal(conf.max_pending_events, 10000);
    assert_int_equal(conf.max_message, 65536);
    assert_int_equal(conf.max_queue_bytes, 4 * 1024 * 1024);
    assert_int_equal(conf.max_queue_frames, 4096);
    assert_int_equal(conf.pace_above, 250);
    assert_int_equal(conf.pace_interval_ms, 20);
    assert_true(conf.pace_hold_reads);
    assert_int_equal(conf.ping_interval, 20);
    assert_int_equal(conf.ping_timeout, 10);
    assert_int_equal(conf.sub_rcvhwm, 100000);
    assert_int_equal(conf.sub_sndhwm, 0);
    assert_int_equal(conf.max_connections, 100000);
    assert_int_equal(conf.max_subscriptions, 256);
    assert_string_equal(conf.classes, "status=*.status_changed,agent.status.*:200::agent_id; "
                                      "metrics=metrics.*:500::agent_id; logs=log.*:1000");
    assert_int_equal(conf.max_batch, 100);
    assert_int_equal(conf.max_batch_bytes, 256 * 1024);
    assert_int_equal(conf.rate_limit_per_min, 100);
    assert_int_equal(conf.rate_limit_burst, 10);
    assert_int_equal(conf.rate_limit_close_after, 20);
    assert_int_equal(conf.stats_interval, 60);
    assert_int_equal(conf.log_level, WEFT_LOG_NOTICE);
    assert_true(strlen(conf.www) > 0);
    /* edge_id defaults to <hostname>-<pid>, in the id alphabet. */
    char pid[32];
    snprintf(pid, sizeof pid, "-%ld", (long)getpid());
    size_t len = strlen(conf.edge_id);
    assert_true(len > strlen(pid));
    assert_string_equal(conf.edge_id + len - strlen(pid), pid);
    assert_true(wire_pubid_valid(conf.edge_id, len));
    edge_config_free(&conf);
    edge_config_free(&conf); /* safe twice */
}

static void test_flags_override_file(void **state)
{
    char path[] = "/tmp/test_edge_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\nport = 9001\nrouter = tcp://10.0.0.1:5556\n"
                       "max_queue_bytes = 1m\nedge_id = \"edge-a\"\nlog_level = debug\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--port", "9002", "--config",
                           path, "--max-queue-frames=64", NULL),
                     BASE_CONF_RUN);
    assert_int_equal(conf.port, 9002); /* the flag wins, wherever --config appears */
    assert_string_equal(conf.router, "tcp://10.0.0.1:5556");
    assert_int_equal(conf.max_queue_bytes, 1024 * 1024);
    assert_int_equal(conf.max_queue_frames, 64);
    assert_string_equal(conf.edge_id, "edge-a");
    assert_int_equal(conf.log_level, WEFT_LOG_DEBUG);
    edge_config_free(&conf);
    unlink(path);
}

static void test_bounds_and_errors(void **state)
{
    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--port", "65536", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "port"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--max-queue-bytes", "1k", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "max_queue_bytes"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--pace-above", "-1", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "pace_above"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--pace-interval-ms", "5000", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "pace_interval_ms"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--edge-id", "a b", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "edge_id"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router", "", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "router"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--history", "", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "history"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--history-inflight", "0", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "history_inflight"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--max-pending-events", "0", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "max_pending_events"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--nope", "1", NULL),
                     BASE_CONF_EXIT_ERR);
    edge_config_free(&conf);
    /* Port 0 is allowed: the server picks a free port and logs it. */
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--port", "0", NULL),
                     BASE_CONF_RUN);
    assert_int_equal(conf.port, 0);
    edge_config_free(&conf);
}

static void test_print_check_help(void **state)
{
    edge_config_t conf;
    char out[16384] = "", err[1024] = "";
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--print-config", "--port", "1234", NULL),
        BASE_CONF_EXIT_OK);
    assert_non_null(strstr(out, "port = 1234\n"));
    assert_non_null(strstr(out, "max_queue_frames = 4096\n"));
    assert_non_null(strstr(out, "sub_sndhwm = 0\n"));
    assert_non_null(strstr(out, "history_retries = 3\n"));
    edge_config_free(&conf);
    out[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--check-config", NULL),
                     BASE_CONF_EXIT_OK);
    assert_non_null(strstr(out, "configuration OK"));
    edge_config_free(&conf);
    out[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--help", NULL),
                     BASE_CONF_EXIT_OK);
    for (const base_conf_entry_t *e = edge_config_table; e->name; e++)
        assert_non_null(strstr(out, e->name));
    edge_config_free(&conf);
}

static void test_delivery_settings(void **state)
{
    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    /* A bad class list fails the start and --check-config alike, naming key and class. */
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--classes",
                           "logs=log.*:1000; m=metrics.*:soon", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "classes: class 2 ('m'): window 'soon' must be milliseconds"));
    edge_config_free(&conf);
    err[0] = out[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--check-config", "--classes", "x", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "classes: class 1 ('x')"));
    assert_null(strstr(out, "configuration OK"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--max-batch-bytes", "8m",
                           "--max-queue-bytes", "4m", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "max_batch_bytes"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(
        s_run(&conf, out, sizeof out, err, sizeof err, "--rate-limit-burst", "0", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "rate_limit_burst"));
    edge_config_free(&conf);
    /* An empty list is fine (every event immediate), and so are the limits' extremes. */
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--classes", "",
                           "--rate-limit-per-min", "0", "--rate-limit-close-after", "0",
                           "--max-subscriptions", "1", "--max-batch", "1", NULL),
                     BASE_CONF_RUN);
    assert_string_equal(conf.classes, "");
    assert_int_equal(conf.rate_limit_per_min, 0);
    assert_int_equal(conf.max_subscriptions, 1);
    edge_config_free(&conf);
}

/* CURVE keys: both or neither, a readable secret certificate, a valid router key. */
static void test_curve_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-edge-curve.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char base[64], secret[80], missing[80];
    snprintf(base, sizeof base, "%s/edge", dir);
    snprintf(secret, sizeof secret, "%s/edge_secret", dir);
    snprintf(missing, sizeof missing, "%s/nothing_secret", dir);
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    assert_int_equal(zcert_save(cert, base), 0);
    char z85[41];
    snprintf(z85, sizeof z85, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);

    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router-public-key", z85,
                           NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "router_public_key: set without curve_secret_key"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--curve-secret-key", secret,
                           NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "curve_secret_key: set without router_public_key"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router-public-key", z85,
                           "--curve-secret-key", missing, NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "curve_secret_key: "));
    assert_non_null(strstr(err, "No such file"));
    edge_config_free(&conf);
    err[0] = '\0';
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router-public-key",
                           "not-a-key", "--curve-secret-key", secret, NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "router_public_key: "));
    edge_config_free(&conf);
    /* The router's key as Z85 text or as its certificate file: both start. */
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router-public-key", z85,
                           "--curve-secret-key", secret, NULL),
                     BASE_CONF_RUN);
    edge_config_free(&conf);
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--router-public-key", base,
                           "--curve-secret-key", secret, NULL),
                     BASE_CONF_RUN);
    edge_config_free(&conf);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_example_file_loads(void **state)
{
    /* The shipped example must stay loadable: it is the documentation of every key. */
    edge_config_t conf;
    char out[4096] = "", err[1024] = "";
    assert_int_equal(s_run(&conf, out, sizeof out, err, sizeof err, "--config",
                           WEFT_EDGE_CONF_EXAMPLE, "--check-config", NULL),
                     BASE_CONF_EXIT_OK);
    assert_string_equal(err, "");
    edge_config_free(&conf);
    /* ... and it names every key of the table. */
    FILE *f = fopen(WEFT_EDGE_CONF_EXAMPLE, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (const base_conf_entry_t *e = edge_config_table; e->name; e++) {
        char want[80];
        snprintf(want, sizeof want, "\n%s = ", e->name);
        char commented[80];
        snprintf(commented, sizeof commented, "\n# %s = ", e->name);
        if (!strstr(text, want) && !strstr(text, commented))
            fail_msg("the example file does not show '%s'", e->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),           cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_bounds_and_errors),  cmocka_unit_test(test_print_check_help),
        cmocka_unit_test(test_example_file_loads), cmocka_unit_test(test_delivery_settings),
        cmocka_unit_test(test_curve_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
