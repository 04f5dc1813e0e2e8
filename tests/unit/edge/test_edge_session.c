/*
 * test_edge_session.c: one connection's client protocol alone: a real writer over the fake
 * transport (edge_fakes.h), a pipeline with a scripted history, an edge_auth from flags, and an
 * injected monotonic clock; the frames a client would receive are compared exactly.
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

#include "edge_config.h"
#include "edge_fakes.h"
#include "edge_session.h"
#include "ts_jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"

static char g_secret_file[64];

/* A session over a writer, pipeline and auth built from flags, with one connection. */
typedef struct fix {
    edge_config_t conf;
    edge_stats_t stats;
    fake_loop_t loop;
    fake_hist_t hist;
    edge_writer_t *w;
    edge_pipeline_t *p;
    edge_auth_t *auth;
    edge_session_t *s;
    fake_conn_t tp;   /* the connection's transport */
    edge_conn_t conn; /* the connection */
    int64_t armed;    /* the last delay the arm hook got */
} fix_t;

static fix_t *g_fix; /* for the arm hook, which gets only the transport */

/* arm hook: records. */
static void s_arm(void *transport, int64_t delay_us)
{
    assert_ptr_equal(transport, &g_fix->tp);
    g_fix->armed = delay_us;
}

/* pipeline arm hook: nothing to run in these tests. */
static int s_batch_arm(void *arg, int64_t delay_us)
{
    (void)arg;
    (void)delay_us;
    return 0;
}

/* Builds the fixture from flags (NULL-terminated). */
static fix_t *s_fix(const char *first, ...)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    g_fix = f;
    fake_now = 1000000;
    char *argv[32] = {"weft-edge", "--edge-id", "e1"};
    int argc = 3;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    char out[4096], err[1024];
    FILE *fo = fmemopen(out, sizeof out, "w");
    FILE *fe = fmemopen(err, sizeof err, "w");
    assert_int_equal(edge_config_from_args(&f->conf, argc, argv, "t", fo, fe), BASE_CONF_RUN);
    fclose(fo);
    fclose(fe);
    f->auth = edge_auth_new(&f->conf, err, sizeof err);
    assert_non_null(f->auth);
    f->w = fake_writer(&f->loop, &f->stats, 1000);
    assert_non_null(f->w);
    edge_pipeline_opts_t po = {
        .writer = f->w,
        .history = fake_history(&f->hist),
        .classes = "",
        .max_batch = 100,
        .max_batch_bytes = 1 << 16,
        .max_held = 100,
        .arm = s_batch_arm,
        .arg = f,
        .now = fake_clock,
        .stats = &f->stats,
    };
    f->p = edge_pipeline_new(&po);
    assert_non_null(f->p);
    edge_session_opts_t so = {
        .conf = &f->conf,
        .writer = f->w,
        .pipe = f->p,
        .auth = f->auth,
        .stats = &f->stats,
        .arm = s_arm,
        .now = fake_clock,
    };
    f->s = edge_session_new(&so);
    assert_non_null(f->s);
    return f;
}

/* Closes the connection as the server does and frees everything. */
static void s_free(fix_t *f)
{
    assert_true(edge_session_closed(f->s, &f->conn));
    assert_false(edge_session_closed(f->s, &f->conn));
    assert_int_equal(f->stats.conns_current, 0);
    edge_session_destroy(&f->s);
    assert_null(f->s);
    edge_pipeline_destroy(&f->p);
    edge_writer_destroy(&f->w);
    edge_auth_destroy(&f->auth);
    edge_config_free(&f->conf);
    fake_conn_reset(&f->tp);
    free(f);
    g_fix = NULL;
}

/* Sends a client message and lets the writer write everything. */
static void s_send(fix_t *f, const char *text)
{
    edge_session_message(f->s, &f->conn, text, strlen(text));
    fake_pump(f->w, &f->loop, &f->conn.client.out);
}

/* Opens the connection (id: the upgrade's identity or NULL) and writes the welcome. */
static void s_open(fix_t *f, edge_auth_id_t *id)
{
    assert_int_equal(edge_session_open(f->s, &f->conn, &f->tp, id), 0);
    assert_int_equal(f->stats.conns_current, 1);
    fake_pump(f->w, &f->loop, &f->conn.client.out);
}

/* The welcome of an edge "e1" with the default max_message, for auth mode a. */
#define WELCOME(a)                                                                                 \
    "{\"op\":\"welcome\",\"edge\":\"e1\",\"protocol\":1,\"max_message\":65536,\"auth\":\"" a "\"}"

static void test_anonymous_welcome_subscribe(void **state)
{
    (void)state;
    fix_t *f = s_fix("--auth", "none", NULL);
    s_open(f, NULL);
    assert_int_equal(f->tp.nframes, 1);
    assert_string_equal(f->tp.frames[0], WELCOME("none"));
    assert_int_equal(f->armed, 30000000); /* anonymous: the idle deadline (30 s default) */
    s_send(f, "{\"op\":\"subscribe\",\"room\":\"chat\",\"id\":1}");
    assert_int_equal(f->tp.nframes, 2);
    assert_string_equal(f->tp.frames[1], "{\"op\":\"subscribed\",\"room\":\"chat\",\"id\":1}");
    s_send(f, "{\"op\":\"unsubscribe\",\"room\":\"nope\"}");
    assert_int_equal(f->tp.nframes, 3);
    assert_string_equal(
        f->tp.frames[2],
        "{\"op\":\"error\",\"code\":\"not_subscribed\",\"message\":\"not subscribed to "
        "'nope'\",\"for\":\"unsubscribe\",\"room\":\"nope\"}");
    assert_int_equal(f->tp.close_code, 0);
    s_free(f);
}

static void test_forbidden_room(void **state)
{
    (void)state;
    fix_t *f = s_fix("--auth", "none", "--anonymous-rooms", "public:*", NULL);
    s_open(f, NULL);
    s_send(f, "{\"op\":\"subscribe\",\"room\":\"secret\",\"id\":2}");
    assert_int_equal(f->tp.nframes, 2);
    assert_string_equal(
        f->tp.frames[1],
        "{\"op\":\"error\",\"code\":\"forbidden\",\"message\":\"not allowed to read "
        "'secret'\",\"for\":\"subscribe\",\"room\":\"secret\",\"id\":2}");
    assert_int_equal(f->tp.close_code, 0);
    assert_int_equal(f->stats.auth_refused[EDGE_REFUSE_FORBIDDEN], 1);
    s_free(f);
}

static void test_rate_limit(void **state)
{
    (void)state;
    fix_t *f = s_fix("--auth", "none", "--rate-limit-per-min", "60", "--rate-limit-burst", "1",
                     "--rate-limit-close-after", "2", NULL);
    s_open(f, NULL);
    s_send(f, "{\"op\":\"ping\"}");
    s_send(f, "{\"op\":\"ping\"}");
    s_send(f, "{\"op\":\"ping\"}");
    /* burst 1: one pong, then one rate_limited, then the second one over the limit closes. */
    assert_int_equal(f->tp.nframes, 3);
    assert_string_equal(f->tp.frames[0], WELCOME("none"));
    assert_string_equal(f->tp.frames[1], "{\"op\":\"pong\"}");
    assert_string_equal(f->tp.frames[2],
                        "{\"op\":\"error\",\"code\":\"rate_limited\",\"message\":"
                        "\"over 60 messages a minute (burst 1): message ignored\"}");
    assert_int_equal(f->tp.close_code, 1008);
    assert_string_equal(f->tp.close_reason, "rate limit exceeded");
    assert_int_equal(f->stats.errors[EDGE_ERR_RATE_LIMITED], 2);
    s_free(f);
}

/* Anonymous: no valid op within idle_timeout_ms closes 4002 "idle"; an early timer re-arms for
 * the rest; an invalid op does not count, a valid one (or a room) keeps the connection. */
static void test_idle_timeout(void **state)
{
    (void)state;
    fix_t *f = s_fix("--auth", "none", "--idle-timeout-ms", "500", NULL);
    s_open(f, NULL);
    assert_int_equal(f->armed, 500000);
    s_send(f, "{\"op\":\"nope\"}"); /* unknown_op: not a valid op */
    fake_now += 400000;
    edge_session_timer(f->s, &f->conn);
    assert_int_equal(f->armed, 100000);
    assert_int_equal(f->tp.close_code, 0);
    fake_now += 100000;
    edge_session_timer(f->s, &f->conn);
    fake_pump(f->w, &f->loop, &f->conn.client.out);
    assert_int_equal(f->tp.close_code, 4002);
    assert_string_equal(f->tp.close_reason, "idle");
    assert_int_equal(f->stats.closes[EDGE_CLOSE_IDLE], 1);
    assert_int_equal(f->stats.errors[EDGE_ERR_UNKNOWN_OP], 1);
    s_free(f);

    f = s_fix("--auth", "none", "--idle-timeout-ms", "500", NULL);
    s_open(f, NULL);
    s_send(f, "{\"op\":\"ping\"}");
    fake_now += 600000;
    f->armed = 0;
    edge_session_timer(f->s, &f->conn);
    assert_int_equal(f->armed, 0);
    assert_int_equal(f->tp.close_code, 0);
    assert_int_equal(f->stats.closes[EDGE_CLOSE_IDLE], 0);
    s_free(f);
}

/* JSON nested deeper than EDGE_JDEPTH_MAX is answered too_deep without being parsed; the
 * connection stays open. */
static void test_too_deep(void **state)
{
    (void)state;
    fix_t *f = s_fix("--auth", "none", NULL);
    s_open(f, NULL);
    char deep[200] = "{\"op\":\"ping\",\"x\":";
    size_t n = strlen(deep);
    for (int i = 0; i < 32; i++) /* the op object + 32 arrays = 33 levels */
        deep[n++] = '[';
    for (int i = 0; i < 32; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    s_send(f, deep);
    assert_int_equal(f->tp.nframes, 2);
    assert_string_equal(f->tp.frames[1], "{\"op\":\"error\",\"code\":\"too_deep\",\"message\":"
                                         "\"JSON nested deeper than 32 levels\"}");
    assert_int_equal(f->stats.errors[EDGE_ERR_TOO_DEEP], 1);
    s_send(
        f,
        "{\"op\":\"ping\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}");
    assert_int_equal(f->tp.nframes, 3); /* 32 levels: a pong */
    assert_string_equal(f->tp.frames[2], "{\"op\":\"pong\"}");
    assert_int_equal(f->tp.close_code, 0);
    s_free(f);
}

static void test_auth_required(void **state)
{
    (void)state;
    fix_t *f = s_fix("--jwt-secret-file", g_secret_file, "--auth-timeout-ms", "1000", NULL);
    s_open(f, NULL);
    assert_int_equal(f->armed, 1000000);
    s_send(f, "{\"op\":\"subscribe\",\"room\":\"chat\",\"id\":3}");
    assert_int_equal(f->tp.nframes, 2);
    assert_string_equal(f->tp.frames[0], WELCOME("required"));
    assert_string_equal(f->tp.frames[1],
                        "{\"op\":\"error\",\"code\":\"auth_required\",\"message\":\"authentication "
                        "required\",\"for\":\"subscribe\",\"room\":\"chat\",\"id\":3}");
    assert_int_equal(f->tp.close_code, 4001);
    assert_string_equal(f->tp.close_reason, "authentication required");
    assert_int_equal(f->stats.auth_refused[EDGE_REFUSE_REQUIRED], 1);
    s_free(f);
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(g_secret_file, sizeof g_secret_file, "/tmp/test_edge_session.%d", (int)getpid());
    assert_int_equal(ts_jwt_secret_file(g_secret_file, SECRET), 0);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    unlink(g_secret_file);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_welcome_subscribe),
        cmocka_unit_test(test_forbidden_room),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_auth_required),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_too_deep),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
