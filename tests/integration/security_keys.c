/*
 * security_keys.c: JWT public-key algorithms through the real edge (issue 10's RS256/ES256/JWKS
 * cases, which test_edge_jwt covers against the verifier alone).
 *
 * Two edges on one router: edge-pem checks tokens with a PEM RSA public key, edge-jwks with a
 * JWKS file of an RSA key (kid r1) and a P-256 key (kid e1). The test makes the keys with OpenSSL
 * and signs its tokens itself (ts_jwt), independently of libjwt. Valid RS256 and PS256 tokens on
 * edge-pem and ES256 and RS256 tokens on edge-jwks, through the Authorization header, the token
 * query parameter and an auth frame, are welcomed with their sub and receive their user room.
 * Refused with 401 and the documented reason, and nothing delivered: RS-to-HS confusion (an
 * HS256 token keyed with the PEM text of the public key), a key of the wrong type (ES256 on the
 * RSA key), a signature by another RSA key, alg none, an unknown kid. A rewritten JWKS (a new
 * RSA key r2 in place of e1) takes effect on SIGHUP: r2 is accepted, e1 refused, r1 still works.
 * With auth = jwt and allow_missing_origin, an upgrade without Origin must carry its token (403
 * otherwise). A watcher on each edge receives every event of its room throughout.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "ts_http.h"
#include "ts_jwt.h"

#define TOKEN_CAP 8192
#define N_EDGES 2

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;
    ts_wsc_t *wsc;
    weft_pub_t *pub;
    EVP_PKEY *rsa;             /* edge-pem's key, and r1 in the JWKS */
    EVP_PKEY *rsa2;            /* signs the forged tokens, then r2 in the rewritten JWKS */
    EVP_PKEY *ec;              /* e1 in the JWKS */
    int port[N_EDGES];         /* 0: edge-pem, 1: edge-jwks */
    ts_wsc_conn_t *w[N_EDGES]; /* the watchers (sub "w<edge>"), in global from start to end */
    size_t base[N_EDGES];      /* global probes each watcher received before the checks */
    int globals;               /* global events published since */
    int counter;               /* data.i of the next event */
    char jwks[512];            /* the JWKS file's path */
    int ready;
} test_ctx_t;

static char g_tok[TOKEN_CAP];

/* Claims of a valid token for sub (an hour), with an empty rooms claim. */
static const char *s_claims(const char *sub)
{
    static char claims[256];
    snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"exp\":%lld,\"rooms\":[]}", sub,
             (long long)time(NULL) + 3600);
    return claims;
}

/* Mints a token with header JSON hdr for sub, signed for alg with secret or pkey. */
static const char *s_mint(const char *hdr, const char *alg, const char *secret, EVP_PKEY *pkey,
                          const char *sub)
{
    assert_non_null(ts_jwt_sign(g_tok, sizeof g_tok, alg, secret, pkey, hdr, s_claims(sub)));
    return g_tok;
}

/* A path in the test's directory. */
static const char *s_path(test_ctx_t *ctx, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", it_fabric_dir(ctx->fab), name);
    return buf;
}

/* Writes a JWKS of two keys: (k1, kid1) and (k2, kid2), each RSA or P-256 by its type. */
static void s_write_jwks(test_ctx_t *ctx, EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2,
                         const char *kid2)
{
    char a[2048], b[2048];
    EVP_PKEY *keys[2] = {k1, k2};
    const char *kids[2] = {kid1, kid2};
    char *out[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (EVP_PKEY_is_a(keys[i], "EC"))
            assert_int_equal(ts_jwt_jwk_ec(out[i], sizeof a, keys[i], kids[i]), 0);
        else
            assert_int_equal(ts_jwt_jwk_rsa(out[i], sizeof a, keys[i], kids[i], NULL), 0);
    }
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", ctx->jwks);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "{\"keys\":[%s,%s]}\n", a, b);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, ctx->jwks), 0); /* the edge never reads half a file */
}

/* Publishes one global event and checks both watchers have every global event so far. */
static void s_check_watchers(test_ctx_t *ctx)
{
    char json[64];
    snprintf(json, sizeof json, "{\"i\":%d}", ctx->counter++);
    assert_int_equal(it_publish(ctx->pub, "global", "test.keys", json), 0);
    ctx->globals++;
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
    for (int e = 0; e < N_EDGES; e++) {
        size_t want = ctx->base[e] + (size_t)ctx->globals;
        if (ts_wsc_wait_count(ctx->w[e], "event", "global", want, IT_WAIT_MS) ||
            ts_wsc_count_op(ctx->w[e], "event", "global") != want)
            fail_msg("watcher %d has %zu of %zu global events: %s", e,
                     ts_wsc_count_op(ctx->w[e], "event", "global"), want,
                     ts_wsc_describe(ctx->w[e]));
    }
}

/* Opens a connection to edge e with dial and waits for its welcome. */
static ts_wsc_conn_t *s_open(test_ctx_t *ctx, int e, const char *name, const ts_wsc_dial_t *dial)
{
    ts_wsc_conn_t *c = ts_wsc_connect_with(ctx->wsc, ctx->port[e], name, dial);
    assert_non_null(c);
    if (ts_wsc_wait_open(c, IT_WAIT_MS) != 0)
        fail_msg("%s did not open: %s", name, ts_wsc_describe(c));
    return c;
}

/* c is welcomed as sub and joined user:<sub>; an event published there reaches it. */
static void s_check_user(test_ctx_t *ctx, ts_wsc_conn_t *c, const char *sub, int via_frame)
{
    size_t from = 0;
    if (!via_frame) {
        json_t *w = ts_wsc_frame(c, 0);
        assert_non_null(w);
        assert_string_equal(json_string_value(json_object_get(w, "auth")), "ok");
        assert_string_equal(json_string_value(json_object_get(w, "sub")), sub);
    } else {
        json_t *a = ts_wsc_wait_op(c, "authenticated", NULL, &from, IT_WAIT_MS);
        if (!a)
            fail_msg("%s: no authenticated: %s", sub, ts_wsc_describe(c));
        assert_string_equal(json_string_value(json_object_get(a, "sub")), sub);
    }
    char room[64];
    snprintf(room, sizeof room, "user:%s", sub);
    assert_int_equal(ts_wsc_wait_count(c, "subscribed", room, 1, IT_WAIT_MS), 0);
    /* The subscription reaches the router a moment after "subscribed": probe until it does. */
    for (int tries = 0; tries < 200 && ts_wsc_count_op(c, "event", room) == 0; tries++) {
        assert_int_equal(it_publish(ctx->pub, room, "test.keys", "{\"probe\":1}"), 0);
        assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
        ts_wsc_service(ctx->wsc, 100);
    }
    if (ts_wsc_count_op(c, "event", room) == 0)
        fail_msg("%s never received an event of %s: %s", sub, room, ts_wsc_describe(c));
}

/* A raw upgrade to edge e with a bearer token must be refused with status and reason why. */
static void s_refused(test_ctx_t *ctx, int e, const char *name, const char *token, int status,
                      const char *why)
{
    static char out[16384];
    int got = ts_http_upgrade(ctx->port[e], "/ws", "http://127.0.0.1", token, out, sizeof out);
    if (got != status || !strstr(out, why))
        fail_msg("%s on edge %d: want %d '%s', got %d: %.300s", name, e, status, why, got, out);
}

static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    ctx->rsa = EVP_RSA_gen(2048);
    ctx->rsa2 = EVP_RSA_gen(2048);
    ctx->ec = EVP_EC_gen("P-256");
    assert_true(ctx->rsa && ctx->rsa2 && ctx->ec);
    char pem[600];
    assert_int_equal(ts_jwt_write_pub_pem(s_path(ctx, "rsa.pem", pem, sizeof pem), ctx->rsa), 0);
    s_path(ctx, "keys.jwks", ctx->jwks, sizeof ctx->jwks);
    s_write_jwks(ctx, ctx->rsa, "r1", ctx->ec, "e1");
    const char *pem_args[] = {"--auth", "jwt", "--jwt-public-key", pem, NULL};
    const char *jwks_args[] = {"--auth", "jwt", "--jwt-jwks", ctx->jwks, NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-pem", pem_args), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-jwks", jwks_args), 1);
    for (int e = 0; e < N_EDGES; e++)
        ctx->port[e] = it_fabric_edge_port(ctx->fab, e);
    ctx->wsc = ts_wsc_new();
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_true(ctx->wsc && ctx->pub);
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1",
                          .bearer = s_mint("{\"alg\":\"RS256\"}", "RS256", NULL, ctx->rsa, "w0")};
    ctx->w[0] = s_open(ctx, 0, "watcher-pem", &dial);
    dial.bearer = s_mint("{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", NULL, ctx->ec, "w1");
    ctx->w[1] = s_open(ctx, 1, "watcher-jwks", &dial);
    /* Probes until both watchers' subscriptions reached the router; from then on each receives
     * every global event (the fence of it_fabric needs an anonymous client: not on these edges). */
    for (int e = 0; e < N_EDGES; e++)
        assert_int_equal(ts_wsc_wait_count(ctx->w[e], "subscribed", "global", 1, IT_WAIT_MS), 0);
    for (int tries = 0; tries < 200 && (ts_wsc_count_op(ctx->w[0], "event", "global") == 0 ||
                                        ts_wsc_count_op(ctx->w[1], "event", "global") == 0);
         tries++) {
        assert_int_equal(it_publish(ctx->pub, "global", "test.probe", "{}"), 0);
        assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
        ts_wsc_service(ctx->wsc, 100);
    }
    ts_wsc_service(ctx->wsc, 300); /* the last probe reaches both */
    for (int e = 0; e < N_EDGES; e++) {
        ctx->base[e] = ts_wsc_count_op(ctx->w[e], "event", "global");
        if (ctx->base[e] == 0)
            fail_msg("watcher %d never received a global event: %s", e, ts_wsc_describe(ctx->w[e]));
    }
    ctx->ready = 1;
    s_check_watchers(ctx);
}

/* Valid RS256, PS256 (PEM) and ES256, RS256 (JWKS) tokens through each token source. */
static void test_valid(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1"};
    dial.bearer = s_mint("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "RS256", NULL, ctx->rsa, "11");
    ts_wsc_conn_t *a = s_open(ctx, 0, "rs256-header", &dial);
    s_check_user(ctx, a, "11", 0);

    char path[TOKEN_CAP + 16];
    snprintf(path, sizeof path, "/ws?token=%s",
             s_mint("{\"alg\":\"PS256\"}", "PS256", NULL, ctx->rsa, "12"));
    ts_wsc_dial_t qdial = {.origin = "http://127.0.0.1", .path = path};
    ts_wsc_conn_t *b = s_open(ctx, 0, "ps256-query", &qdial);
    s_check_user(ctx, b, "12", 0);

    snprintf(path, sizeof path, "/ws?token=%s",
             s_mint("{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", NULL, ctx->ec, "21"));
    ts_wsc_conn_t *c = s_open(ctx, 1, "es256-query", &qdial);
    s_check_user(ctx, c, "21", 0);

    ts_wsc_conn_t *d = s_open(ctx, 1, "rs256-frame", NULL);
    assert_int_equal(ts_wsc_send_textf(d, "{\"op\":\"auth\",\"token\":\"%s\"}",
                                       s_mint("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "RS256", NULL,
                                              ctx->rsa, "22")),
                     0);
    s_check_user(ctx, d, "22", 1);
    ts_wsc_close(a);
    ts_wsc_close(b);
    ts_wsc_close(c);
    ts_wsc_close(d);
    s_check_watchers(ctx);
}

/* Algorithm confusion, wrong key types, forged signatures, alg none, unknown kid: 401. */
static void test_refused(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    /* The classic confusion: the verifier's public key used as an HMAC secret. */
    char pem_path[600];
    s_path(ctx, "rsa.pem", pem_path, sizeof pem_path);
    static char pem[4096];
    FILE *f = fopen(pem_path, "r");
    assert_non_null(f);
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    const char *why_alg = "algorithm not allowed for this key";
    s_refused(ctx, 0, "RS->HS confusion", s_mint("{\"alg\":\"HS256\"}", "HS256", pem, NULL, "9"),
              401, why_alg);
    s_refused(ctx, 0, "ES256 on an RSA key",
              s_mint("{\"alg\":\"ES256\"}", "ES256", NULL, ctx->ec, "9"), 401, why_alg);
    s_refused(ctx, 0, "another RSA key",
              s_mint("{\"alg\":\"RS256\"}", "RS256", NULL, ctx->rsa2, "9"), 401, "bad signature");
    s_refused(ctx, 0, "alg none", s_mint("{\"alg\":\"none\"}", "none", NULL, NULL, "9"), 401,
              "unsigned token (alg none)");
    s_refused(ctx, 1, "unknown kid",
              s_mint("{\"alg\":\"RS256\",\"kid\":\"r9\"}", "RS256", NULL, ctx->rsa, "9"), 401,
              "unknown key id");
    s_refused(ctx, 1, "ES256 with kid r1",
              s_mint("{\"alg\":\"ES256\",\"kid\":\"r1\"}", "ES256", NULL, ctx->ec, "9"), 401,
              why_alg);
    s_refused(ctx, 1, "HS256 on a JWKS",
              s_mint("{\"alg\":\"HS256\",\"kid\":\"r1\"}", "HS256",
                     "0123456789abcdef0123456789abcdef", NULL, "9"),
              401, why_alg);
    s_check_watchers(ctx);
}

/* A rewritten JWKS takes effect on SIGHUP: r2 in, e1 out, r1 kept. */
static void test_jwks_reload(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    const char *r2 = "{\"alg\":\"RS256\",\"kid\":\"r2\"}";
    s_refused(ctx, 1, "r2 before the reload", s_mint(r2, "RS256", NULL, ctx->rsa2, "31"), 401,
              "unknown key id");
    s_write_jwks(ctx, ctx->rsa, "r1", ctx->rsa2, "r2");
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 1);
    int before = ts_proc_log_count(edge, "reloaded the JWT keys");
    assert_int_equal(kill(ts_proc_pid(edge), SIGHUP), 0);
    for (int i = 0; i < 100 && ts_proc_log_count(edge, "reloaded the JWT keys") == before; i++)
        ts_wsc_service(ctx->wsc, 50);
    assert_int_equal(ts_proc_log_count(edge, "reloaded the JWT keys"), before + 1);

    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1",
                          .bearer = s_mint(r2, "RS256", NULL, ctx->rsa2, "31")};
    ts_wsc_conn_t *c = s_open(ctx, 1, "r2-after-reload", &dial);
    s_check_user(ctx, c, "31", 0);
    ts_wsc_close(c);
    s_refused(ctx, 1, "e1 after the reload",
              s_mint("{\"alg\":\"ES256\",\"kid\":\"e1\"}", "ES256", NULL, ctx->ec, "32"), 401,
              "unknown key id");
    dial.bearer = s_mint("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "RS256", NULL, ctx->rsa, "33");
    c = s_open(ctx, 1, "r1-after-reload", &dial);
    s_check_user(ctx, c, "33", 0);
    ts_wsc_close(c);
    /* The watcher authenticated with e1 keeps its connection: keys are checked at auth time. */
    s_check_watchers(ctx);
}

/* allow_missing_origin with tokens required: no Origin needs a token on the upgrade. */
static void test_missing_origin(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    static char out[16384];
    int status = ts_http_upgrade(ctx->port[0], "/ws", NULL, NULL, out, sizeof out);
    if (status != 403 || !strstr(out, "an Origin header or a token on the upgrade is required"))
        fail_msg("no Origin, no token: want 403, got %d: %.300s", status, out);
    const char *tok = s_mint("{\"alg\":\"RS256\"}", "RS256", NULL, ctx->rsa, "41");
    status = ts_http_upgrade(ctx->port[0], "/ws", NULL, tok, out, sizeof out);
    if (status != 101)
        fail_msg("no Origin, bearer token: want 101, got %d: %.300s", status, out);
    /* A bad token without Origin is vetted as a token: 401. */
    status = ts_http_upgrade(ctx->port[0], "/ws", NULL, "abc.def.ghi", out, sizeof out);
    if (status != 401 || !strstr(out, "malformed token"))
        fail_msg("no Origin, bad token: want 401, got %d: %.300s", status, out);
    s_check_watchers(ctx);
}

static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_check_watchers(ctx);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    /* Refusals by reason in each edge's exit summary. */
    ts_proc_t *pem = it_fabric_edge(ctx->fab, 0), *jwks = it_fabric_edge(ctx->fab, 1);
    const char *want_pem[] = {" alg_mismatch=2", " bad_signature=1", " alg_none=1", " malformed=1"};
    for (size_t i = 0; i < sizeof want_pem / sizeof want_pem[0]; i++)
        if (ts_proc_log_count(pem, want_pem[i]) < 1)
            fail_msg("edge-pem's exit summary does not say '%s'", want_pem[i]);
    const char *want_jwks[] = {" unknown_kid=3", " alg_mismatch=2"};
    for (size_t i = 0; i < sizeof want_jwks / sizeof want_jwks[0]; i++)
        if (ts_proc_log_count(jwks, want_jwks[i]) < 1)
            fail_msg("edge-jwks' exit summary does not say '%s'", want_jwks[i]);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("security_keys");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_valid, &ctx),
        cmocka_unit_test_prestate(test_refused, &ctx),
        cmocka_unit_test_prestate(test_jwks_reload, &ctx),
        cmocka_unit_test_prestate(test_missing_origin, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("security_keys", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    EVP_PKEY_free(ctx.rsa);
    EVP_PKEY_free(ctx.rsa2);
    EVP_PKEY_free(ctx.ec);
    return failed ? 1 : 0;
}
