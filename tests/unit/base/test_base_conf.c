/*
 * test_base_conf.c: the table-driven configuration parser the daemons use: defaults, files (with
 * file:line errors), flags over the file, bounds, size suffixes, booleans, log levels, unknown
 * keys, and the --help, --version, --check-config and --print-config actions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base_conf.h"

/* A daemon-like configuration with one setting of every type. */
typedef struct conf {
    int port;      /* INT */
    size_t buffer; /* SIZE */
    char *name;    /* STR */
    bool verbose;  /* BOOL */
    double ratio;  /* DOUBLE */
    int log_level; /* LEVEL */
    char *empty;   /* STR without a default */
} conf_t;

static const base_conf_entry_t s_table[] = {
    {"port", BASE_CONF_INT, offsetof(conf_t, port), "5555", 1, 65535, "TCP port"},
    {"buffer_size", BASE_CONF_SIZE, offsetof(conf_t, buffer), "64k", 1024, 1073741824.0,
     "buffer bytes"},
    {"name", BASE_CONF_STR, offsetof(conf_t, name), "weft", 0, 16, "instance name"},
    {"verbose", BASE_CONF_BOOL, offsetof(conf_t, verbose), "false", 0, 0, "chatty"},
    {"ratio", BASE_CONF_DOUBLE, offsetof(conf_t, ratio), "0.5", 0, 1, "a fraction"},
    {"log_level", BASE_CONF_LEVEL, offsetof(conf_t, log_level), "notice", 0, 0, "log level"},
    {"empty", BASE_CONF_STR, offsetof(conf_t, empty), NULL, 0, 0, "no default"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* Writes text to a new temporary file; returns its path (static buffer per slot). */
static const char *s_tmpfile(int slot, const char *text)
{
    static char paths[4][64];
    snprintf(paths[slot], sizeof paths[slot], "/tmp/test_base_conf.%d.%d", (int)getpid(), slot);
    FILE *f = fopen(paths[slot], "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return paths[slot];
}

/* Output captured from one base_conf_from_args() call. */
typedef struct run {
    base_conf_action_t action; /* what the caller should do */
    char out[4096];            /* what went to out */
    char err[4096];            /* what went to errout */
} run_t;

/* Reads a stream written so far into buf. */
static void s_slurp(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs base_conf_from_args over a NULL-terminated argument list. */
static run_t s_run(conf_t *c, const char *arg0, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"weftd";
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        assert_true(argc < 31);
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    run_t r;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    r.action =
        base_conf_from_args(s_table, c, argc, argv, "weftd: a test daemon", "9.9.9", out, err);
    s_slurp(out, r.out, sizeof r.out);
    s_slurp(err, r.err, sizeof r.err);
    return r;
}

/* Defaults fill every field; a bad default is reported. */
static void test_defaults(void **state)
{
    (void)state;
    conf_t c;
    memset(&c, 0, sizeof c);
    char err[256] = "";
    assert_int_equal(base_conf_defaults(s_table, &c, err, sizeof err), 0);
    assert_int_equal(c.port, 5555);
    assert_int_equal(c.buffer, 65536);
    assert_string_equal(c.name, "weft");
    assert_false(c.verbose);
    assert_true(c.ratio == 0.5);
    assert_int_equal(c.log_level, 2);
    assert_non_null(c.empty);
    assert_string_equal(c.empty, "");
    base_conf_free(s_table, &c);
    assert_null(c.name);
    base_conf_free(s_table, &c); /* safe twice */

    /* A bad default is reported (a programming error in a table). */
    const base_conf_entry_t bad[] = {
        {"port", BASE_CONF_INT, offsetof(conf_t, port), "99999", 1, 65535, "TCP port"},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    assert_int_equal(base_conf_defaults(bad, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "port"));
}

/* Each type parses its values and enforces its bounds, with exact messages. */
static void test_set_bounds_and_types(void **state)
{
    (void)state;
    conf_t c;
    char err[256];
    assert_int_equal(base_conf_defaults(s_table, &c, err, sizeof err), 0);
#define SET_OK(key, value)                                                                         \
    assert_int_equal(base_conf_set(s_table, &c, key, value, err, sizeof err), 0)
#define SET_BAD(key, value, msg)                                                                   \
    do {                                                                                           \
        assert_int_equal(base_conf_set(s_table, &c, key, value, err, sizeof err), -1);             \
        assert_string_equal(err, msg);                                                             \
    } while (0)
    SET_OK("port", "1");
    assert_int_equal(c.port, 1);
    SET_OK("port", "65535");
    assert_int_equal(c.port, 65535);
    SET_BAD("port", "0", "port: 0 is out of range [1, 65535]");
    SET_BAD("port", "65536", "port: 65536 is out of range [1, 65535]");
    SET_BAD("port", "80x", "port: '80x' is not a number");
    SET_BAD("port", "", "port: '' is not a number");
    SET_BAD("port", "1.5", "port: '1.5' is not a whole number");
    SET_BAD("port", "1k", "port: '1k' is not a number"); /* suffixes are for sizes only */
    assert_int_equal(c.port, 65535);                     /* failures change nothing */

    /* Sizes: k, m, g are powers of 1024, with an optional B or iB. */
    SET_OK("buffer_size", "16k");
    assert_int_equal(c.buffer, 16384);
    SET_OK("buffer_size", "16K");
    assert_int_equal(c.buffer, 16384);
    SET_OK("buffer_size", "2m");
    assert_int_equal(c.buffer, 2 * 1024 * 1024);
    SET_OK("buffer_size", "2MB");
    assert_int_equal(c.buffer, 2 * 1024 * 1024);
    SET_OK("buffer_size", "2MiB");
    assert_int_equal(c.buffer, 2 * 1024 * 1024);
    SET_OK("buffer_size", "1g");
    assert_int_equal(c.buffer, 1024 * 1024 * 1024);
    SET_OK("buffer_size", "4096");
    assert_int_equal(c.buffer, 4096);
    SET_OK("buffer_size", "1.5k");
    assert_int_equal(c.buffer, 1536);
    SET_BAD("buffer_size", "2g", "buffer_size: 2g is out of range [1024, 1073741824]");
    SET_BAD("buffer_size", "1023", "buffer_size: 1023 is out of range [1024, 1073741824]");
    SET_BAD("buffer_size", "16t", "buffer_size: '16t' is not a number");
    SET_BAD("buffer_size", "16kk", "buffer_size: '16kk' is not a number");
    SET_BAD("buffer_size", "16kbb", "buffer_size: '16kbb' is not a number");
    SET_BAD("buffer_size", "2048i", "buffer_size: '2048i' is not a number");
    SET_OK("buffer_size", "2048b");
    assert_int_equal(c.buffer, 2048);
    SET_OK("buffer_size", "3KiB");
    assert_int_equal(c.buffer, 3072);

    SET_OK("name", "sixteen-chars-ok");
    assert_string_equal(c.name, "sixteen-chars-ok");
    SET_BAD("name", "seventeen-chars-x", "name: longer than 16 characters");
    assert_string_equal(c.name, "sixteen-chars-ok");

    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    const char *no[] = {"false", "no", "off", "0", "FALSE", "Off"};
    for (size_t i = 0; i < 6; i++) {
        SET_OK("verbose", yes[i]);
        assert_true(c.verbose);
        SET_OK("verbose", no[i]);
        assert_false(c.verbose);
    }
    SET_BAD("verbose", "maybe", "verbose: 'maybe' is not a boolean (true/false)");

    SET_OK("ratio", "0.25");
    assert_true(c.ratio == 0.25);
    SET_BAD("ratio", "1.5", "ratio: 1.5 is out of range [0, 1]");
    SET_BAD("ratio", "nan", "ratio: 'nan' is not a number");

    const char *levels[] = {"error", "warn", "notice", "info", "debug"};
    for (int i = 0; i < 5; i++) {
        SET_OK("log_level", levels[i]);
        assert_int_equal(c.log_level, i);
    }
    SET_OK("log_level", "DEBUG");
    assert_int_equal(c.log_level, 4);
    SET_BAD("log_level", "loud",
            "log_level: 'loud' is not a log level (error, warn, notice, info, debug)");

    /* Unknown keys; '-' and '_' are interchangeable in names. */
    SET_BAD("nope", "1", "nope: unknown setting");
    SET_OK("buffer-size", "8k");
    assert_int_equal(c.buffer, 8192);
#undef SET_OK
#undef SET_BAD
    base_conf_free(s_table, &c);
}

/* Files load; errors say file:line. */
static void test_load_file(void **state)
{
    (void)state;
    conf_t c;
    char err[512];
    assert_int_equal(base_conf_defaults(s_table, &c, err, sizeof err), 0);
    const char *path = s_tmpfile(0, "# a comment\n"
                                    "\n"
                                    "port = 6000\n"
                                    "   name=\"quoted\"   \n"
                                    "buffer-size = 1m\n"
                                    "\t# indented comment\n"
                                    "verbose = yes\n"
                                    "log_level = info\n");
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), 0);
    assert_int_equal(c.port, 6000);
    assert_string_equal(c.name, "quoted");
    assert_int_equal(c.buffer, 1024 * 1024);
    assert_true(c.verbose);
    assert_int_equal(c.log_level, 3);

    /* Errors name the file and the line. */
    char expect[600];
    path = s_tmpfile(1, "port = 6001\n# ok\nport 6002\n");
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:3: expected 'key = value'", path);
    assert_string_equal(err, expect);
    assert_int_equal(c.port, 6001); /* lines before the error were applied */

    path = s_tmpfile(1, "\n\nbogus = 1\n");
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:3: bogus: unknown setting", path);
    assert_string_equal(err, expect);

    path = s_tmpfile(1, "port = 70000\n");
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:1: port: 70000 is out of range [1, 65535]", path);
    assert_string_equal(err, expect);

    /* A line longer than the reader's buffer is refused, not read in pieces: the tail of a long
     * comment must not become a setting. One that fits exactly, up to the end of the file
     * without a newline, is fine. */
    static char big[4300];
    memset(big, 'a', sizeof big - 1);
    big[0] = '#';
    memcpy(big + 4199, "port = 6003\n", 12);
    big[4211] = '\0';
    path = s_tmpfile(1, big);
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "%s:1: line longer than 4198 bytes", path);
    assert_string_equal(err, expect);
    assert_int_equal(c.port, 6001);
    memset(big, ' ', 4199);
    memcpy(big, "port = 6004", 11);
    big[4199] = '\0';
    path = s_tmpfile(1, big);
    assert_int_equal(base_conf_load(s_table, &c, path, err, sizeof err), 0);
    assert_int_equal(c.port, 6004);

    assert_int_equal(base_conf_load(s_table, &c, "/nonexistent/weft.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/weft.conf: cannot open"));
    base_conf_free(s_table, &c);
    unlink(s_tmpfile(0, ""));
    unlink(s_tmpfile(1, ""));
}

/* Flags override the file wherever --config appears; argument errors. */
static void test_from_args(void **state)
{
    (void)state;
    conf_t c;
    const char *path = s_tmpfile(2, "port = 6000\nname = fromfile\nratio = 0.75\n");

    /* Flags win over the file wherever --config appears. */
    run_t r = s_run(&c, "--port", "7000", "--config", path, NULL);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(c.port, 7000);
    assert_string_equal(c.name, "fromfile");
    assert_true(c.ratio == 0.75);
    assert_string_equal(r.err, "");
    base_conf_free(s_table, &c);

    char cfg_eq[128];
    snprintf(cfg_eq, sizeof cfg_eq, "--config=%s", path);
    r = s_run(&c, cfg_eq, "--name=flag", "--buffer_size", "2k", "--verbose", "--log-level", "debug",
              NULL);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_int_equal(c.port, 6000);
    assert_string_equal(c.name, "flag");
    assert_int_equal(c.buffer, 2048);
    assert_true(c.verbose); /* a bare boolean flag means true */
    assert_int_equal(c.log_level, 4);
    base_conf_free(s_table, &c);

    r = s_run(&c, "--verbose", "false", NULL);
    assert_int_equal(r.action, BASE_CONF_RUN);
    assert_false(c.verbose);
    base_conf_free(s_table, &c);

    /* Errors. */
    r = s_run(&c, "--nope", "1", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_string_equal(r.err, "weftd: --nope: unknown option (see --help)\n");
    base_conf_free(s_table, &c);
    r = s_run(&c, "stray", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_string_equal(r.err, "weftd: unexpected argument 'stray' (see --help)\n");
    base_conf_free(s_table, &c);
    r = s_run(&c, "--port", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_string_equal(r.err, "weftd: --port: missing value\n");
    base_conf_free(s_table, &c);
    r = s_run(&c, "--port", "0", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_string_equal(r.err, "weftd: --port: 0 is out of range [1, 65535]\n");
    base_conf_free(s_table, &c);
    r = s_run(&c, "--config", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    assert_string_equal(r.err, "weftd: --config: missing file name\n");
    base_conf_free(s_table, &c);
    const char *bad = s_tmpfile(3, "port = 1\nname = way-too-long-for-sixteen\n");
    r = s_run(&c, "--config", bad, NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_ERR);
    char expect[300];
    snprintf(expect, sizeof expect, "weftd: %s:2: name: longer than 16 characters\n", bad);
    assert_string_equal(r.err, expect);
    base_conf_free(s_table, &c);
    unlink(path);
    unlink(bad);
}

/* --print-config (loadable), --check-config, --version and --help. */
static void test_actions(void **state)
{
    (void)state;
    conf_t c;
    run_t r = s_run(&c, "--port", "6001", "--print-config", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_string_equal(r.out, "port = 6001\n"
                               "buffer_size = 65536\n"
                               "name = \"weft\"\n"
                               "verbose = false\n"
                               "ratio = 0.5\n"
                               "log_level = notice\n"
                               "empty = \"\"\n");
    base_conf_free(s_table, &c);

    /* --print-config output loads back to the same configuration. */
    const char *path = s_tmpfile(0, "");
    r = s_run(&c, "--name", "round", "--verbose", "--print-config", NULL);
    s_tmpfile(0, r.out);
    base_conf_free(s_table, &c);
    run_t again = s_run(&c, "--config", path, "--print-config", NULL);
    assert_string_equal(again.out, r.out);
    assert_string_equal(c.name, "round");
    assert_true(c.verbose);
    base_conf_free(s_table, &c);
    unlink(path);

    r = s_run(&c, "--check-config", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_string_equal(r.out, "configuration OK\n");
    base_conf_free(s_table, &c);

    r = s_run(&c, "--version", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_string_equal(r.out, "weftd 9.9.9\n");
    base_conf_free(s_table, &c);

    r = s_run(&c, "--help", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    assert_non_null(strstr(r.out, "Usage: weftd [--config FILE]"));
    assert_non_null(strstr(r.out, "weftd: a test daemon"));
    assert_non_null(strstr(r.out, "--port"));
    assert_non_null(strstr(r.out, "TCP port (default: 5555)"));
    assert_non_null(strstr(r.out, "--buffer_size"));
    assert_non_null(strstr(r.out, "--check-config"));
    base_conf_free(s_table, &c);
    r = s_run(&c, "-h", NULL);
    assert_int_equal(r.action, BASE_CONF_EXIT_OK);
    base_conf_free(s_table, &c);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_set_bounds_and_types),
        cmocka_unit_test(test_load_file), cmocka_unit_test(test_from_args),
        cmocka_unit_test(test_actions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
