/*
 * test_edge_auth.c: the edge's authentication state machine (edge_auth): anonymous mode, a
 * pending connection and its deadline, first authentication and auto-join, refresh for the same
 * sub and refusal of another, expiry, and the configuration checks of the auth keys.
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

#include "edge_auth.h"
#include "edge_config.h"
#include "ts_jwt.h"

#define NOW_S 1790000000LL
#define NOW_US (NOW_S * 1000000LL)
#define SECRET "0123456789abcdef0123456789abcdef-test"

static char g_secret_file[64];

/* Parses flags (NULL-terminated) into conf; returns the action, error text in err. */
static base_conf_action_t s_conf(edge_config_t *conf, char *err, size_t errlen, ...)
{
    char *argv[32] = {"weft-edge"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (const char *a; (a = va_arg(ap, const char *)) && argc < 31;)
        argv[argc++] = (char *)a;
    va_end(ap);
    char out[4096];
    FILE *fo = fmemopen(out, sizeof out, "w");
    FILE *fe = fmemopen(err, errlen, "w");
    base_conf_action_t action = edge_config_from_args(conf, argc, argv, "t", fo, fe);
    fclose(fo);
    fclose(fe);
    return action;
}

/* An HS256 token for sub expiring at exp (0: no exp) with a rooms claim (JSON array text). */
static const char *s_token(char *buf, size_t cap, const char *sub, long long exp, const char *rooms)
{
    char claims[512];
    if (exp)
        snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"exp\":%lld,\"rooms\":%s}", sub, exp,
                 rooms);
    else
        snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"rooms\":%s}", sub, rooms);
    assert_non_null(
        ts_jwt_hs(buf, cap, "HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims));
    return buf;
}

/* Records auto-join rooms, comma-separated. */
static void s_record(void *arg, const char *room, size_t len)
{
    char *acc = arg;
    if (acc[0])
        strcat(acc, ",");
    strncat(acc, room, len);
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(g_secret_file, sizeof g_secret_file, "/tmp/test_edge_auth.%d", (int)getpid());
    assert_int_equal(ts_jwt_secret_file(g_secret_file, SECRET), 0);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    unlink(g_secret_file);
    return 0;
}

static void test_split_and_names(void **state)
{
    (void)state;
    size_t n = 99;
    char **items = edge_auth_split(" a , b,,c ,", &n);
    assert_non_null(items);
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    assert_null(items[3]);
    free(items);
    items = edge_auth_split("", &n);
    assert_int_equal(n, 0);
    free(items);
    assert_string_equal(edge_auth_refusal_name(EDGE_JWT_EXPIRED), "expired");
    assert_string_equal(edge_auth_refusal_name(EDGE_REFUSE_FORBIDDEN), "forbidden");
    assert_string_equal(edge_auth_refusal_name(EDGE_REFUSE_TIMEOUT), "auth_timeout");
    assert_string_equal(edge_auth_refusal_name(EDGE_REFUSE_REQUIRED), "auth_required");
    assert_string_equal(edge_auth_refusal_name(EDGE_REFUSE_SUB_CHANGED), "sub_changed");
    assert_string_equal(edge_auth_refusal_name(EDGE_REFUSE__COUNT), "unknown");
    assert_string_equal(edge_auth_refusal_text(EDGE_JWT_EXPIRED), "token expired");
    assert_string_equal(edge_auth_refusal_text(EDGE_REFUSE_FORBIDDEN), "room not allowed");
    assert_string_equal(edge_auth_refusal_text(EDGE_REFUSE_TIMEOUT), "authentication timed out");
    assert_string_equal(edge_auth_refusal_text(EDGE_REFUSE_REQUIRED), "authentication required");
    assert_string_equal(edge_auth_refusal_text(EDGE_REFUSE_SUB_CHANGED), "subject changed");
}

static void test_config_checks(void **state)
{
    (void)state;
    edge_config_t conf;
    char err[1024] = "";
    assert_int_equal(s_conf(&conf, err, sizeof err, NULL), BASE_CONF_EXIT_ERR);
    assert_string_equal(err, "weft-edge: " EDGE_CONFIG_NO_KEY "\n");
    edge_config_free(&conf);
    /* --dev: starts, anonymous. */
    assert_int_equal(s_conf(&conf, err, sizeof err, "--dev", NULL), BASE_CONF_RUN);
    assert_string_equal(conf.auth, "jwt");
    assert_false(edge_config_tokens(&conf));
    edge_config_free(&conf);
    /* Two key sources. */
    assert_int_equal(s_conf(&conf, err, sizeof err, "--jwt-secret-file", g_secret_file,
                            "--jwt-secret-env", "X", NULL),
                     BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "not 2"));
    edge_config_free(&conf);
    assert_int_equal(s_conf(&conf, err, sizeof err, "--auth", "maybe", NULL), BASE_CONF_EXIT_ERR);
    assert_string_equal(err, "weft-edge: auth: 'maybe' is neither jwt nor none\n");
    edge_config_free(&conf);
    assert_int_equal(
        s_conf(&conf, err, sizeof err, "--auth", "none", "--autojoin", "user:{x}", NULL),
        BASE_CONF_EXIT_ERR);
    assert_string_equal(err, "weft-edge: autojoin: 'user:{x}' is not a room name template\n");
    edge_config_free(&conf);
    assert_int_equal(
        s_conf(&conf, err, sizeof err, "--auth", "none", "--anonymous-rooms", "a,b c", NULL),
        BASE_CONF_EXIT_ERR);
    assert_non_null(strstr(err, "anonymous_rooms: 'a,b c'"));
    edge_config_free(&conf);
    assert_int_equal(s_conf(&conf, err, sizeof err, "--jwt-secret-file", g_secret_file, NULL),
                     BASE_CONF_RUN);
    assert_true(edge_config_tokens(&conf));
    edge_config_free(&conf);
}

static void test_anonymous(void **state)
{
    (void)state;
    edge_config_t conf;
    char err[1024] = "";
    assert_int_equal(s_conf(&conf, err, sizeof err, "--auth", "none", "--anonymous-rooms",
                            "public:*, news", NULL),
                     BASE_CONF_RUN);
    edge_auth_t *auth = edge_auth_new(&conf, err, sizeof err);
    assert_non_null(auth);
    assert_false(edge_auth_tokens(auth));
    edge_auth_conn_t st;
    assert_int_equal(edge_auth_conn_open(auth, &st, NULL, NOW_US), 0);
    assert_int_equal(st.state, EDGE_AUTH_ANON);
    assert_true(edge_auth_conn_gate(&st, false));
    const edge_perm_t *perm = edge_auth_conn_perm(auth, &st);
    assert_true(edge_perm_allows(perm, "public:x", 8));
    assert_true(edge_perm_allows(perm, "news", 4));
    assert_false(edge_perm_allows(perm, "user:1", 6));
    assert_false(edge_perm_allows(perm, "global", 6));
    assert_true(edge_auth_conn_allows(auth, &st, "public:*", 8));
    assert_false(edge_auth_conn_allows(auth, &st, "user:1", 6));
    assert_false(edge_auth_conn_allows(auth, &st, "*", 1));
    char tok[1024];
    edge_auth_id_t id;
    s_token(tok, sizeof tok, "42", NOW_S + 60, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_NO_KEY);
    assert_null(id.perm);
    char joined[256] = "";
    assert_int_equal(edge_auth_autojoin(auth, &st, s_record, joined), 0);
    int64_t delay = -1;
    assert_int_equal(edge_auth_conn_due(auth, &st, NOW_US + 10000000000LL, &delay),
                     EDGE_AUTH_DUE_NONE);
    assert_int_equal(delay, 0);
    edge_auth_conn_clear(&st);
    edge_auth_destroy(&auth);
    assert_null(auth);
    edge_config_free(&conf);
    /* The default "*": everything, as before identities (user: rooms and "*" included). */
    assert_int_equal(s_conf(&conf, err, sizeof err, "--auth", "none", NULL), BASE_CONF_RUN);
    auth = edge_auth_new(&conf, err, sizeof err);
    assert_non_null(auth);
    edge_auth_conn_open(auth, &st, NULL, NOW_US);
    assert_true(edge_auth_conn_allows(auth, &st, "*", 1));
    assert_true(edge_auth_conn_allows(auth, &st, "user:1", 6));
    edge_auth_destroy(&auth);
    edge_config_free(&conf);
}

static void test_pending_first_refresh_expiry(void **state)
{
    (void)state;
    edge_config_t conf;
    char err[1024] = "";
    assert_int_equal(s_conf(&conf, err, sizeof err, "--jwt-secret-file", g_secret_file,
                            "--jwt-leeway", "5", "--auth-timeout-ms", "1000", NULL),
                     BASE_CONF_RUN);
    edge_auth_t *auth = edge_auth_new(&conf, err, sizeof err);
    assert_non_null(auth);
    assert_true(edge_auth_tokens(auth));
    edge_auth_conn_t st;
    assert_int_equal(edge_auth_conn_open(auth, &st, NULL, NOW_US), 1000000);
    assert_int_equal(st.state, EDGE_AUTH_PENDING);
    assert_false(edge_auth_conn_gate(&st, false));
    assert_true(edge_auth_conn_gate(&st, true));
    assert_null(edge_auth_conn_perm(auth, &st));
    assert_false(edge_auth_conn_allows(auth, &st, "global", 6));
    int64_t delay = 0;
    assert_int_equal(edge_auth_conn_due(auth, &st, NOW_US + 999999, &delay), EDGE_AUTH_DUE_NONE);
    assert_int_equal(delay, 1);
    assert_int_equal(edge_auth_conn_due(auth, &st, NOW_US + 1000000, &delay),
                     EDGE_AUTH_DUE_TIMEOUT);

    /* First identity: sub 42 with team:*, 60 s to live (+ 5 s leeway). */
    char tok[1024];
    edge_auth_id_t id;
    s_token(tok, sizeof tok, "42", NOW_S + 60, "[\"team:*\"]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_OK);
    assert_int_equal(id.exp, NOW_S + 60);
    assert_int_equal(edge_auth_conn_auth(auth, &st, &id, NOW_US, &delay), EDGE_AUTH_FIRST);
    assert_null(id.perm);
    assert_int_equal(delay, 65 * 1000000LL);
    assert_int_equal(st.state, EDGE_AUTH_OK);
    assert_int_equal(st.exp, NOW_S + 60);
    assert_true(edge_auth_conn_gate(&st, false));
    const edge_perm_t *perm = edge_auth_conn_perm(auth, &st);
    assert_string_equal(edge_perm_sub(perm), "42");
    assert_true(edge_perm_allows(perm, "team:1", 6));
    assert_false(edge_perm_allows(perm, "user:43", 7));
    assert_false(edge_auth_conn_allows(auth, &st, "user:*", 6));
    assert_true(edge_auth_conn_allows(auth, &st, "team:*", 6));
    char joined[256] = "";
    assert_int_equal(edge_auth_autojoin(auth, &st, s_record, joined), 2);
    assert_string_equal(joined, "user:42,global");

    /* Refresh, same sub, the rooms claim shrank: team:1 is no longer allowed. */
    s_token(tok, sizeof tok, "42", NOW_S + 120, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US + 30000000, &id), EDGE_JWT_OK);
    assert_int_equal(edge_auth_conn_auth(auth, &st, &id, NOW_US + 30000000, &delay),
                     EDGE_AUTH_REFRESHED);
    assert_int_equal(delay, 95 * 1000000LL);
    assert_false(edge_perm_allows(edge_auth_conn_perm(auth, &st), "team:1", 6));
    assert_true(edge_perm_allows(edge_auth_conn_perm(auth, &st), "user:42", 7));
    /* The old deadline's timer finds nothing due and re-arms. */
    assert_int_equal(edge_auth_conn_due(auth, &st, NOW_US + 65000000, &delay), EDGE_AUTH_DUE_NONE);
    assert_int_equal(delay, 60 * 1000000LL);

    /* Another sub: refused, the identity kept. */
    s_token(tok, sizeof tok, "43", NOW_S + 300, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_OK);
    assert_int_equal(edge_auth_conn_auth(auth, &st, &id, NOW_US, &delay), EDGE_AUTH_SUB_CHANGED);
    assert_null(id.perm);
    assert_string_equal(edge_perm_sub(edge_auth_conn_perm(auth, &st)), "42");
    assert_int_equal(st.exp, NOW_S + 120);

    /* Expiry: exp + leeway. */
    assert_int_equal(edge_auth_conn_due(auth, &st, (NOW_S + 125) * 1000000LL - 1, &delay),
                     EDGE_AUTH_DUE_NONE);
    assert_int_equal(delay, 1);
    assert_int_equal(edge_auth_conn_due(auth, &st, (NOW_S + 125) * 1000000LL, &delay),
                     EDGE_AUTH_DUE_EXPIRED);
    edge_auth_conn_clear(&st);
    assert_int_equal(st.state, EDGE_AUTH_ANON);
    assert_null(st.perm);

    /* A valid token on the upgrade: OK from the start; an expired one is refused. */
    s_token(tok, sizeof tok, "7", NOW_S + 10, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_OK);
    assert_int_equal(edge_auth_conn_open(auth, &st, &id, NOW_US), 15 * 1000000LL);
    assert_int_equal(st.state, EDGE_AUTH_OK);
    assert_null(id.perm);
    edge_auth_conn_clear(&st);
    s_token(tok, sizeof tok, "7", NOW_S - 10, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_EXPIRED);
    assert_null(id.perm);
    edge_auth_destroy(&auth);
    edge_config_free(&conf);
}

static void test_no_exp_and_bad_key(void **state)
{
    (void)state;
    edge_config_t conf;
    char err[1024] = "";
    assert_int_equal(s_conf(&conf, err, sizeof err, "--jwt-secret-file", g_secret_file,
                            "--jwt-require-exp", "false", NULL),
                     BASE_CONF_RUN);
    edge_auth_t *auth = edge_auth_new(&conf, err, sizeof err);
    assert_non_null(auth);
    char tok[1024];
    edge_auth_id_t id;
    s_token(tok, sizeof tok, "9", 0, "[]");
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_OK);
    edge_auth_conn_t st;
    /* No exp: no timer, never due. */
    assert_int_equal(edge_auth_conn_open(auth, &st, &id, NOW_US), 0);
    int64_t delay = 1;
    assert_int_equal(edge_auth_conn_due(auth, &st, INT64_MAX, &delay), EDGE_AUTH_DUE_NONE);
    assert_int_equal(delay, 0);
    edge_auth_conn_clear(&st);
    /* Reload of a secret that became too short: refused, the old one kept. */
    FILE *f = fopen(g_secret_file, "w");
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(edge_auth_reload(auth, err, sizeof err), -1);
    assert_int_equal(edge_auth_verify(auth, tok, strlen(tok), NOW_US, &id), EDGE_JWT_OK);
    edge_auth_id_clear(&id);
    edge_auth_destroy(&auth);
    edge_config_free(&conf);
    s_setup(NULL);
    /* A key file that does not exist: edge_auth_new fails with a reason. */
    assert_int_equal(s_conf(&conf, err, sizeof err, "--jwt-secret-file", "/nonexistent/key", NULL),
                     BASE_CONF_RUN);
    err[0] = '\0';
    assert_null(edge_auth_new(&conf, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/key"));
    edge_config_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_names),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_pending_first_refresh_expiry),
        cmocka_unit_test(test_no_exp_and_bad_key),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
