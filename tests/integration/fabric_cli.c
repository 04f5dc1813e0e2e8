/*
 * fabric_cli.c: the command-line tools work against a real fabric.
 *
 * weft-pub publishes one event (and a critical one) that a client receives; weft-pub - reads
 * JSON lines, delivers the valid ones and reports the invalid one in its exit code; the SDK
 * example publishes its event; weft-sim feeds the documented rooms; --check-config rejects a bad
 * file naming file:line; --help exits 0 for every binary.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;       /* the private fabric */
    ts_wsc_t *wsc;          /* WebSocket client context */
    weft_pub_t *pub;        /* for fences */
    ts_wsc_conn_t *client;  /* subscribed to everything ("*") */
    int ready;              /* set up completed */
} test_ctx_t;

/* Runs argv (NULL-terminated) with stdin text, 60 s at most; prints the output on failure. */
static int s_run(char **argv, const char *input, char **output)
{
    char *out = NULL;
    int code = ts_run(argv, input, 60000, &out);
    fprintf(stderr, "[ run ] %s %s ... exit %d\n", argv[0], argv[1] ? argv[1] : "", code);
    if (output)
        *output = out;
    else
        free(out);
    return code;
}

/* Starts router and edge; one client joins "*". */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-cli", NULL), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->client = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "client *");
    assert_non_null(ctx->client);
    assert_int_equal(ts_wsc_wait_open(ctx->client, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->client, "*", IT_WAIT_MS), 0);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

#define NEED_READY(ctx)                                                                            \
    do {                                                                                           \
        if (!(ctx)->ready)                                                                         \
            skip();                                                                                \
    } while (0)

/* --help exits 0 and prints something, for every binary. */
static void test_help(void **state)
{
    const char *vars[] = {"WEFT_ROUTER_BIN", "WEFT_EDGE_BIN", "WEFT_PUB_BIN", "WEFT_SIM_BIN"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        char *argv[] = {(char *)it_env(vars[i]), "--help", NULL};
        char *out = NULL;
        int code = s_run(argv, NULL, &out);
        if (code != 0 || !out || strlen(out) < 20)
            fail_msg("%s --help: exit %d, output: %s", argv[0], code, out ? out : "(none)");
        free(out);
    }
}

/* weft-pub ROOM TYPE JSON: exit 0 and the event arrives; --critical marks it critical. */
static void test_pub_one(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    char *argv[] = {(char *)it_env("WEFT_PUB_BIN"), "--endpoint", (char *)it_fabric_intake(ctx->fab),
                    "cli:one", "test.cli", "{\"msg\":\"hi\",\"n\":1}", NULL};
    assert_int_equal(s_run(argv, NULL, NULL), 0);
    size_t from = 0;
    json_t *ev = ts_wsc_wait_op(ctx->client, "event", "cli:one", &from, IT_WAIT_MS);
    if (!ev)
        fail_msg("weft-pub's event did not arrive: %s", ts_wsc_describe(ctx->client));
    json_t *data = json_pack("{s:s, s:i}", "msg", "hi", "n", 1);
    int rc = it_check_event(ev, "cli:one", "test.cli", data);
    json_decref(data);
    assert_int_equal(rc, 0);
    assert_null(json_object_get(ev, "critical"));

    char *argv2[] = {(char *)it_env("WEFT_PUB_BIN"), "--endpoint",
                     (char *)it_fabric_intake(ctx->fab), "--critical", "cli:one", "test.alarm",
                     "{\"level\":\"red\"}", NULL};
    assert_int_equal(s_run(argv2, NULL, NULL), 0);
    ev = ts_wsc_wait_op(ctx->client, "event", "cli:one", &from, IT_WAIT_MS);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "test.alarm");
    assert_true(json_is_true(json_object_get(ev, "critical")));
    assert_int_equal(it_event_u64(ev, "seq"), 2);
}

/* weft-pub with invalid arguments fails without publishing. */
static void test_pub_invalid_args(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    char *argv[] = {(char *)it_env("WEFT_PUB_BIN"), "--endpoint", (char *)it_fabric_intake(ctx->fab),
                    "--timeout-ms", "3000", "bad room!", "test.cli", "{}", NULL};
    assert_int_not_equal(s_run(argv, NULL, NULL), 0);
    char *argv2[] = {(char *)it_env("WEFT_PUB_BIN"), "--endpoint",
                     (char *)it_fabric_intake(ctx->fab), "--timeout-ms", "3000", "cli:bad",
                     "test.cli", "[1,2]", NULL};
    assert_int_not_equal(s_run(argv2, NULL, NULL), 0);
}

/* weft-pub -: valid lines are delivered in order, the invalid one is reported in the exit code. */
static void test_pub_lines(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    const char *input =
        "{\"room\":\"cli:lines\",\"type\":\"test.line\",\"data\":{\"n\":1}}\n"
        "{\"room\":\"cli:lines\",\"type\":\"test.line\",\"data\":\n"
        "{\"room\":\"cli:lines\",\"type\":\"test.line\",\"data\":{\"n\":3},\"critical\":true}\n";
    char *argv[] = {(char *)it_env("WEFT_PUB_BIN"), "--endpoint", (char *)it_fabric_intake(ctx->fab),
                    "-", NULL};
    char *out = NULL;
    int code = s_run(argv, input, &out);
    /* weft-pub --help: "a bad line is reported with its number and skipped"; exit "0 when every
     * event was acknowledged, 1 otherwise". */
    if (code != 1)
        fail_msg("weft-pub - with one invalid line exited %d, want 1; output: %s", code,
                 out ? out : "");
    if (!out || !strstr(out, "line 2"))
        fail_msg("weft-pub did not name line 2 as the bad one: %s", out ? out : "");
    free(out);
    if (ts_wsc_wait_count(ctx->client, "event", "cli:lines", 2, IT_WAIT_MS) != 0)
        fail_msg("%zu of 2 lines delivered: %s", ts_wsc_count_op(ctx->client, "event", "cli:lines"),
                 ts_wsc_describe(ctx->client));
    ts_wsc_service(ctx->wsc, 300);
    assert_int_equal(ts_wsc_count_op(ctx->client, "event", "cli:lines"), 2);
    size_t from = 0;
    json_t *ev = ts_wsc_wait_op(ctx->client, "event", "cli:lines", &from, 0);
    json_t *data = json_pack("{s:i}", "n", 1);
    assert_int_equal(it_check_event(ev, "cli:lines", "test.line", data), 0);
    json_decref(data);
    ev = ts_wsc_wait_op(ctx->client, "event", "cli:lines", &from, 0);
    data = json_pack("{s:i}", "n", 3);
    assert_int_equal(it_check_event(ev, "cli:lines", "test.line", data), 0);
    json_decref(data);
    assert_true(json_is_true(json_object_get(ev, "critical")));

    /* All lines valid: exit 0. */
    const char *good = "{\"room\":\"cli:lines\",\"type\":\"test.line\",\"data\":{\"n\":4}}\n";
    assert_int_equal(s_run(argv, good, NULL), 0);
    assert_int_equal(ts_wsc_wait_count(ctx->client, "event", "cli:lines", 3, IT_WAIT_MS), 0);
}

/* The SDK example (sdk/examples/publish.c) publishes its event to project:1 and exits 0. */
static void test_example(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    char *argv[] = {(char *)it_env("WEFT_EXAMPLE_BIN"), (char *)it_fabric_intake(ctx->fab), NULL};
    char *out = NULL;
    int code = s_run(argv, NULL, &out);
    if (code != 0)
        fail_msg("weft-example-publish exited %d: %s", code, out ? out : "");
    free(out);
    size_t from = 0;
    json_t *ev = ts_wsc_wait_op(ctx->client, "event", "project:1", &from, IT_WAIT_MS);
    if (!ev)
        fail_msg("the example's event did not arrive: %s", ts_wsc_describe(ctx->client));
    json_t *data = json_pack("{s:s, s:i}", "task", "build", "pct", 40);
    int rc = it_check_event(ev, "project:1", "task.progress", data);
    json_decref(data);
    assert_int_equal(rc, 0);
}

/* weft-sim publishes into agent:<i>, project:<p> and global, and stops after --duration. */
static void test_sim(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    char *argv[] = {(char *)it_env("WEFT_SIM_BIN"), "--endpoint", (char *)it_fabric_intake(ctx->fab),
                    "--agents", "3", "--rate", "20", "--duration", "2", "--projects", "2",
                    "--seed", "7", NULL};
    assert_int_equal(s_run(argv, NULL, NULL), 0);
    ts_wsc_service(ctx->wsc, 1000);
    size_t agent = 0, project = 0, global = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(ctx->client); f++) {
        json_t *frame = ts_wsc_frame(ctx->client, f);
        const char *room = json_string_value(json_object_get(frame, "room"));
        const char *op = json_string_value(json_object_get(frame, "op"));
        if (!room || !op)
            continue;
        /* Metrics and log lines (all of agent:<i>) come in batch frames by default. */
        size_t n = strcmp(op, "event") == 0   ? 1
                   : strcmp(op, "batch") == 0 ? json_array_size(json_object_get(frame, "events"))
                                              : 0;
        agent += strncmp(room, "agent:", 6) == 0 ? n : 0;
        project += strncmp(room, "project:", 8) == 0 ? n : 0;
        global += strcmp(room, "global") == 0 ? n : 0;
    }
    fprintf(stderr, "[ sim ] agent:* %zu, project:* %zu, global %zu events\n", agent, project,
            global);
    assert_true(agent > 0);
    assert_true(agent + project + global >= 10);
}

/* Writes text to a file in the test directory and returns its path in buf. */
static void s_write(test_ctx_t *ctx, char *buf, size_t size, const char *name, const char *text)
{
    snprintf(buf, size, "%s/%s", it_fabric_dir(ctx->fab), name);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* --check-config: a good file passes, a bad one fails naming file:line. */
static void test_check_config(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    const char *vars[] = {"WEFT_ROUTER_BIN", "WEFT_EDGE_BIN"};
    for (size_t i = 0; i < 2; i++) {
        char good[512], bad[512], want[600];
        /* The edge needs a key with auth = jwt (the default): this one runs anonymous. */
        s_write(ctx, good, sizeof good, "good.conf",
                i == 0 ? "# a comment\nlog_level = warn\n"
                       : "# a comment\nlog_level = warn\nauth = none\n");
        s_write(ctx, bad, sizeof bad, "bad.conf", "# a comment\nno_such_key = 1\n");
        char *argv[] = {(char *)it_env(vars[i]), "--config", good, "--check-config", NULL};
        char *out = NULL;
        int code = s_run(argv, NULL, &out);
        if (code != 0)
            fail_msg("%s --check-config with a good file: exit %d: %s", argv[0], code,
                     out ? out : "");
        free(out);
        argv[2] = bad;
        code = s_run(argv, NULL, &out);
        snprintf(want, sizeof want, "%s:2", bad);
        if (code == 0 || !out || !strstr(out, want))
            fail_msg("%s --check-config with a bad file: exit %d, want nonzero and \"%s\" in: %s",
                     argv[0], code, want, out ? out : "");
        free(out);
        s_write(ctx, bad, sizeof bad, "bad.conf", "log_level = loud\n");
        code = s_run(argv, NULL, &out);
        snprintf(want, sizeof want, "%s:1", bad);
        if (code == 0 || !out || !strstr(out, want))
            fail_msg("%s: bad value: exit %d, want nonzero and \"%s\" in: %s", argv[0], code, want,
                     out ? out : "");
        free(out);
    }
}

/* Both daemons stop cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    NEED_READY(ctx);
    assert_int_equal(ts_wsc_bad_frames(ctx->client), 0);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("fabric_cli");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_help, &ctx),
        cmocka_unit_test_prestate(test_pub_one, &ctx),
        cmocka_unit_test_prestate(test_pub_invalid_args, &ctx),
        cmocka_unit_test_prestate(test_pub_lines, &ctx),
        cmocka_unit_test_prestate(test_example, &ctx),
        cmocka_unit_test_prestate(test_sim, &ctx),
        cmocka_unit_test_prestate(test_check_config, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("fabric_cli", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
