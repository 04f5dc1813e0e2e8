/*
 * security_auth.c: JWT authentication at the edge, through the real daemons (docs/protocol.md
 * section 3, auth_contract: tokens on the upgrade or in an auth frame, refusals, room
 * permissions, auto-join, refresh, expiry).
 *
 * The edge runs with auth = jwt and an HS256 secret file, an issuer and an audience, leeway 0
 * and a 1.5 s auth timeout; the test mints its tokens (ts_jwt). Client G (sub 100, token in the
 * Authorization header) is auto-joined to user:100 and global and receives every global event
 * from start to end while the other cases run. Valid tokens via the header, the query and an
 * auth frame get welcome/authenticated with sub and exp and subscribed frames for user:<sub> and
 * global. Every refusal on the upgrade is an HTTP 401 with its reason; the same tokens in an
 * auth frame get error unauthorized and close 4001 with the reason. A client of sub 1 may not
 * subscribe to user:2, user:* or * and never sees user:2's events, which a client of sub 2
 * receives. A refresh whose rooms claim shrank leaves the room with unsubscribed reason
 * forbidden; another sub is refused. A token expiring in 2 s closes with 4001 "token expired"
 * within 3 s; no auth within the timeout closes 4001. The exit summary counts refusals by reason.
 */
#include "it_fabric.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base_clock.h"
#include "ts_http.h"
#include "ts_jwt.h"

#define SECRET "security-auth-test-secret-0123456789abcdef"
#define ISS "weft-test"
#define AUD "weft-edge"
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define TOKEN_CAP 20000

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab; /* the private fabric */
    ts_wsc_t *wsc;    /* WebSocket client context */
    weft_pub_t *pub;  /* the publisher */
    ts_wsc_conn_t *g; /* sub 100: in global from start to end */
    ts_wsc_conn_t *h; /* sub 1, token in the header */
    ts_wsc_conn_t *q; /* sub 2, token in the query */
    int port;         /* the edge's port */
    int globals;      /* global events published so far */
    int ready;        /* set up completed */
} test_ctx_t;

static char g_tok[TOKEN_CAP]; /* the last token minted */

/* Mints an HS256 token (signed with secret) with the given claims JSON. */
static const char *s_mint_raw(const char *header, const char *claims, const char *secret)
{
    assert_non_null(ts_jwt_hs(g_tok, sizeof g_tok, "HS256", secret, header, claims));
    return g_tok;
}

/* A valid token for sub expiring ttl seconds from now, with a rooms claim (JSON array). */
static const char *s_mint(const char *sub, long ttl, const char *rooms)
{
    char claims[1024];
    snprintf(claims, sizeof claims,
             "{\"sub\":\"%s\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,\"rooms\":%s}",
             sub, (long long)time(NULL) + ttl, rooms);
    return s_mint_raw(HS256, claims, SECRET);
}

/* One refused token and the reason the edge gives. */
typedef struct s_bad {
    const char *name;
    char *token; /* owned */
    const char *why;
} s_bad_t;

#define N_BAD 10
static s_bad_t g_bad[N_BAD];

/* Builds every refused token of the contract. */
static void s_make_bad(void)
{
    long long now = (long long)time(NULL);
    char claims[12000];
    int n = 0;
#define BAD(label, reason, tok)                                                                    \
    (g_bad[n].name = label, g_bad[n].why = reason, g_bad[n++].token = strdup(tok))
    snprintf(claims, sizeof claims,
             "{\"sub\":\"9\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}", now - 60);
    BAD("expired", "token expired", s_mint_raw(HS256, claims, SECRET));
    snprintf(claims, sizeof claims,
             "{\"sub\":\"9\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,\"nbf\":%lld}",
             now + 600, now + 300);
    BAD("not yet valid", "token not yet valid", s_mint_raw(HS256, claims, SECRET));
    snprintf(claims, sizeof claims,
             "{\"sub\":\"9\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}", now + 600);
    BAD("wrong signature", "bad signature",
        s_mint_raw(HS256, claims, "another-secret-another-secret-0123456789"));
    BAD("alg none", "unsigned token (alg none)",
        s_mint_raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, SECRET));
    BAD("bad base64", "malformed token", "eyJhbGciOiJIUzI1NiJ9$.e30.c2ln");
    s_mint_raw(HS256, claims, SECRET);
    g_tok[strlen(g_tok) - 2] = '\0'; /* 41 base64url characters: not a whole byte count */
    BAD("truncated", "malformed token", g_tok);
    int len = snprintf(claims, sizeof claims,
                       "{\"sub\":\"9\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld,"
                       "\"pad\":\"",
                       now + 600);
    memset(claims + len, 'x', 7000);
    snprintf(claims + len + 7000, sizeof claims - (size_t)len - 7000, "\"}");
    BAD("9 KiB", "token too big", s_mint_raw(HS256, claims, SECRET));
    assert_true(strlen(g_bad[n - 1].token) > 9 * 1024);
    snprintf(claims, sizeof claims, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}",
             now + 600);
    BAD("missing sub", "token without subject", s_mint_raw(HS256, claims, SECRET));
    snprintf(claims, sizeof claims,
             "{\"sub\":\"9\",\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":%lld}", now + 600);
    BAD("wrong aud", "wrong audience", s_mint_raw(HS256, claims, SECRET));
    snprintf(claims, sizeof claims,
             "{\"sub\":\"9\",\"iss\":\"other\",\"aud\":\"" AUD "\",\"exp\":%lld}", now + 600);
    BAD("wrong iss", "wrong issuer", s_mint_raw(HS256, claims, SECRET));
#undef BAD
    assert_int_equal(n, N_BAD);
}

/* A raw upgrade from a page of http://127.0.0.1 (ts_http_upgrade). */
static int s_raw_upgrade(int port, const char *path, const char *bearer, char *out, size_t cap)
{
    return ts_http_upgrade(port, path, "http://127.0.0.1", bearer, out, cap);
}

/* Publishes n events into room with data.i from *counter on. */
static void s_publish(test_ctx_t *ctx, const char *room, int n, int *counter)
{
    for (int i = 0; i < n; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", (*counter)++);
        assert_int_equal(it_publish(ctx->pub, room, "test.auth", json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
}

/* Publishes into room until conn has an event of it (its subscription reached the router). */
static void s_probe(test_ctx_t *ctx, ts_wsc_conn_t *conn, const char *room, int *counter)
{
    for (int tries = 0; tries < 200; tries++) {
        s_publish(ctx, room, 1, counter);
        ts_wsc_service(ctx->wsc, 100);
        if (ts_wsc_count_op(conn, "event", room) > 0)
            return;
    }
    fail_msg("%s never received an event of %s: %s", ts_wsc_name(conn), room,
             ts_wsc_describe(conn));
}

/* G has received every global event published so far. */
static void s_check_g(test_ctx_t *ctx)
{
    int before = ctx->globals;
    s_publish(ctx, "global", 3, &ctx->globals);
    (void)before;
    if (ts_wsc_wait_count(ctx->g, "event", "global", (size_t)ctx->globals, IT_WAIT_MS) != 0 ||
        ts_wsc_count_op(ctx->g, "event", "global") != (size_t)ctx->globals)
        fail_msg("G has %zu of %d global events: %s", ts_wsc_count_op(ctx->g, "event", "global"),
                 ctx->globals, ts_wsc_describe(ctx->g));
}

/* Connects with dial, waits for the welcome; returns the connection. */
static ts_wsc_conn_t *s_open(test_ctx_t *ctx, const char *name, const ts_wsc_dial_t *dial)
{
    ts_wsc_conn_t *c = ts_wsc_connect_with(ctx->wsc, ctx->port, name, dial);
    assert_non_null(c);
    if (ts_wsc_wait_open(c, IT_WAIT_MS) != 0)
        fail_msg("%s did not open: %s", name, ts_wsc_describe(c));
    return c;
}

/* The welcome frame of c (its first frame). */
static json_t *s_welcome(ts_wsc_conn_t *c)
{
    json_t *w = ts_wsc_frame(c, 0);
    assert_non_null(w);
    assert_string_equal(json_string_value(json_object_get(w, "op")), "welcome");
    return w;
}

/* c was authenticated as sub on the upgrade and auto-joined user:<sub> and global. */
static void s_check_ok(ts_wsc_conn_t *c, const char *sub, long long exp)
{
    json_t *w = s_welcome(c);
    assert_string_equal(json_string_value(json_object_get(w, "auth")), "ok");
    assert_string_equal(json_string_value(json_object_get(w, "sub")), sub);
    assert_int_equal(json_integer_value(json_object_get(w, "exp")), exp);
    char room[64];
    snprintf(room, sizeof room, "user:%s", sub);
    assert_int_equal(ts_wsc_wait_count(c, "subscribed", room, 1, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_count(c, "subscribed", "global", 1, IT_WAIT_MS), 0);
}

/* The exp claim of the last minted valid token. */
static long long s_exp_in(long ttl)
{
    return (long long)time(NULL) + ttl;
}

static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    char secret[600];
    snprintf(secret, sizeof secret, "%s/jwt.secret", it_fabric_dir(ctx->fab));
    assert_int_equal(ts_jwt_secret_file(secret, SECRET), 0);
    const char *extra[] = {"--auth",
                           "jwt",
                           "--jwt-secret-file",
                           secret,
                           "--jwt-issuer",
                           ISS,
                           "--jwt-audience",
                           AUD,
                           "--jwt-leeway",
                           "0",
                           "--auth-timeout-ms",
                           "1500",
                           NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-auth", extra), 0);
    ctx->port = it_fabric_edge_port(ctx->fab, 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    s_make_bad();
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1", .bearer = s_mint("100", 3600, "[]")};
    long long exp = s_exp_in(3600);
    ctx->g = s_open(ctx, "G", &dial);
    s_check_ok(ctx->g, "100", exp);
    s_probe(ctx, ctx->g, "global", &ctx->globals);
    ctx->ready = 1;
}

/* A valid token via the header, the query and an auth frame. */
static void test_token_sources(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1", .bearer = s_mint("1", 3600, "[]")};
    long long exp = s_exp_in(3600);
    ctx->h = s_open(ctx, "H (header, sub 1)", &dial);
    s_check_ok(ctx->h, "1", exp);

    char path[TOKEN_CAP + 16];
    snprintf(path, sizeof path, "/ws?token=%s", s_mint("2", 3600, "[]"));
    ts_wsc_dial_t qdial = {.origin = "http://127.0.0.1", .path = path};
    ctx->q = s_open(ctx, "Q (query, sub 2)", &qdial);
    s_check_ok(ctx->q, "2", exp);

    ts_wsc_conn_t *f = s_open(ctx, "F (auth frame, sub 3)", NULL);
    json_t *w = s_welcome(f);
    assert_string_equal(json_string_value(json_object_get(w, "auth")), "required");
    assert_null(json_object_get(w, "sub"));
    const char *tok = s_mint("3", 600, "[]");
    exp = s_exp_in(600);
    assert_int_equal(ts_wsc_send_textf(f, "{\"op\":\"auth\",\"token\":\"%s\",\"id\":\"a1\"}", tok),
                     0);
    size_t from = 0;
    json_t *a = ts_wsc_wait_op(f, "authenticated", NULL, &from, IT_WAIT_MS);
    if (!a)
        fail_msg("no authenticated: %s", ts_wsc_describe(f));
    assert_string_equal(json_string_value(json_object_get(a, "sub")), "3");
    assert_int_equal(json_integer_value(json_object_get(a, "exp")), exp);
    assert_string_equal(json_string_value(json_object_get(a, "id")), "a1");
    /* The auto-join follows the answer. */
    assert_non_null(ts_wsc_wait_op(f, "subscribed", "user:3", &from, IT_WAIT_MS));
    assert_int_equal(ts_wsc_wait_count(f, "subscribed", "global", 1, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_count_op(f, "subscribed", NULL), 2);
    ts_wsc_close(f);
    s_check_g(ctx);
}

/* Every refused token: HTTP 401 with the reason on the upgrade. */
static void test_upgrade_refusals(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    static char out[65536];
    for (int i = 0; i < N_BAD; i++) {
        int status = s_raw_upgrade(ctx->port, "/ws", g_bad[i].token, out, sizeof out);
        if (status != 401 || !strstr(out, g_bad[i].why))
            fail_msg("%s in the header: want 401 '%s', got %d: %.300s", g_bad[i].name, g_bad[i].why,
                     status, out);
    }
    /* The query parameter is checked the same way. */
    char path[TOKEN_CAP + 16];
    snprintf(path, sizeof path, "/ws?token=%s", g_bad[0].token);
    int status = s_raw_upgrade(ctx->port, path, NULL, out, sizeof out);
    if (status != 401 || !strstr(out, "token expired"))
        fail_msg("expired in the query: got %d: %.300s", status, out);
    snprintf(path, sizeof path, "/ws?x=1&token=%s", g_bad[2].token);
    status = s_raw_upgrade(ctx->port, path, NULL, out, sizeof out);
    if (status != 401 || !strstr(out, "bad signature"))
        fail_msg("bad signature in the query: got %d: %.300s", status, out);
    s_check_g(ctx);
}

/* The same tokens in an auth frame: error unauthorized with the reason, close 4001. */
static void test_frame_refusals(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_conn_t *c[N_BAD];
    for (int i = 0; i < N_BAD; i++) {
        c[i] = s_open(ctx, g_bad[i].name, NULL);
        assert_int_equal(
            ts_wsc_send_textf(c[i], "{\"op\":\"auth\",\"token\":\"%s\"}", g_bad[i].token), 0);
    }
    for (int i = 0; i < N_BAD; i++) {
        size_t from = 0;
        json_t *e = ts_wsc_wait_op(c[i], "error", NULL, &from, IT_WAIT_MS);
        if (!e)
            fail_msg("%s: no error: %s", g_bad[i].name, ts_wsc_describe(c[i]));
        assert_string_equal(json_string_value(json_object_get(e, "code")), "unauthorized");
        assert_string_equal(json_string_value(json_object_get(e, "message")), g_bad[i].why);
        assert_string_equal(json_string_value(json_object_get(e, "for")), "auth");
        assert_int_equal(ts_wsc_wait_closed(c[i], IT_WAIT_MS), 0);
        assert_int_equal(ts_wsc_close_code(c[i]), 4001);
        assert_string_equal(ts_wsc_close_reason(c[i]), g_bad[i].why);
        assert_int_equal(ts_wsc_count_op(c[i], "subscribed", NULL), 0);
    }
    s_check_g(ctx);
}

/* Another op before auth: auth_required and close 4001; silence: close 4001 after the
 * timeout (1.5 s). */
static void test_required_and_timeout(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    uint64_t t0 = base_clock_ms();
    ts_wsc_conn_t *silent = s_open(ctx, "silent", NULL);
    ts_wsc_conn_t *eager = s_open(ctx, "eager", NULL);
    assert_int_equal(ts_wsc_send_text(eager, "{\"op\":\"subscribe\",\"room\":\"global\"}"), 0);
    size_t from = 0;
    json_t *e = ts_wsc_wait_op(eager, "error", NULL, &from, IT_WAIT_MS);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "auth_required");
    assert_string_equal(json_string_value(json_object_get(e, "for")), "subscribe");
    assert_int_equal(ts_wsc_wait_closed(eager, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_close_code(eager), 4001);
    assert_string_equal(ts_wsc_close_reason(eager), "authentication required");
    assert_int_equal(ts_wsc_count_op(eager, "subscribed", NULL), 0);

    assert_int_equal(ts_wsc_wait_closed(silent, 5000), 0);
    uint64_t took = base_clock_ms() - t0;
    assert_int_equal(ts_wsc_close_code(silent), 4001);
    assert_string_equal(ts_wsc_close_reason(silent), "authentication timed out");
    if (took < 1400 || took > 3000)
        fail_msg("the auth timeout (1.5 s) closed after %llu ms", (unsigned long long)took);
    s_check_g(ctx);
}

/* Sub 1 may not read user:2, user:* or *, and never sees user:2's events; sub 2 does. */
static void test_isolation(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready || !ctx->h || !ctx->q)
        skip();
    const char *denied[] = {"user:2", "user:*", "*"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ts_wsc_send_textf(ctx->h,
                                           "{\"op\":\"subscribe\",\"room\":\"%s\",\"id\":%zu}",
                                           denied[i], i),
                         0);
        size_t from = 0;
        json_t *e = NULL;
        do
            e = ts_wsc_wait_op(ctx->h, "error", denied[i], &from, IT_WAIT_MS);
        while (e && json_integer_value(json_object_get(e, "id")) != (json_int_t)i);
        if (!e)
            fail_msg("no error for %s: %s", denied[i], ts_wsc_describe(ctx->h));
        assert_string_equal(json_string_value(json_object_get(e, "code")), "forbidden");
    }
    /* Resume is checked like a subscribe. */
    assert_int_equal(ts_wsc_send_text(ctx->h, "{\"op\":\"subscribe\",\"room\":\"user:2\","
                                              "\"since\":{\"epoch\":1,\"seq\":0},\"id\":9}"),
                     0);
    assert_int_equal(ts_wsc_wait_count(ctx->h, "error", "user:2", 2, IT_WAIT_MS), 0);
    int n2 = 0;
    s_probe(ctx, ctx->q, "user:2", &n2);
    s_publish(ctx, "user:2", 20, &n2);
    assert_int_equal(ts_wsc_wait_count(ctx->q, "event", "user:2", (size_t)n2, IT_WAIT_MS), 0);
    int n1 = 0;
    s_probe(ctx, ctx->h, "user:1", &n1);
    ts_wsc_service(ctx->wsc, 200);
    assert_int_equal(ts_wsc_count_op(ctx->h, "event", "user:2"), 0);
    assert_int_equal(ts_wsc_count_op(ctx->q, "event", "user:1"), 0);
    assert_int_equal(ts_wsc_count_op(ctx->h, "subscribed", "user:2"), 0);
    assert_int_equal(ts_wsc_is_open(ctx->h), 1);
    s_check_g(ctx);
}

/* A refresh extends the connection; a shrunk rooms claim removes team:1; another sub is refused. */
static void test_refresh(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1", .bearer = s_mint("5", 600, "[\"team:*\"]")};
    ts_wsc_conn_t *r = s_open(ctx, "R (sub 5)", &dial);
    assert_int_equal(ts_wsc_subscribe(r, "team:1", IT_WAIT_MS), 0);
    int nt = 0;
    s_probe(ctx, r, "team:1", &nt);

    const char *tok = s_mint("5", 1200, "[]");
    long long exp = s_exp_in(1200);
    assert_int_equal(ts_wsc_send_textf(r, "{\"op\":\"auth\",\"token\":\"%s\"}", tok), 0);
    size_t from = 0;
    json_t *a = ts_wsc_wait_op(r, "authenticated", NULL, &from, IT_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(json_integer_value(json_object_get(a, "exp")), exp);
    json_t *u = ts_wsc_wait_op(r, "unsubscribed", "team:1", &from, IT_WAIT_MS);
    if (!u)
        fail_msg("no unsubscribed team:1: %s", ts_wsc_describe(r));
    assert_string_equal(json_string_value(json_object_get(u, "reason")), "forbidden");
    assert_int_equal(ts_wsc_count_op(r, "unsubscribed", NULL), 1); /* user:5, global stay */
    size_t before = ts_wsc_count_op(r, "event", "team:1");
    s_publish(ctx, "team:1", 5, &nt);
    int n5 = 0;
    s_probe(ctx, r, "user:5", &n5);
    assert_int_equal(ts_wsc_count_op(r, "event", "team:1"), before);
    assert_int_equal(ts_wsc_wait_count(r, "subscribed", NULL, 3, 0), 0); /* no new join */
    assert_int_equal(ts_wsc_count_op(r, "subscribed", NULL), 3);

    /* Another subject: refused. */
    tok = s_mint("6", 600, "[]");
    assert_int_equal(ts_wsc_send_textf(r, "{\"op\":\"auth\",\"token\":\"%s\"}", tok), 0);
    json_t *e = ts_wsc_wait_op(r, "error", NULL, &from, IT_WAIT_MS);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "unauthorized");
    assert_int_equal(ts_wsc_wait_closed(r, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_close_code(r), 4001);
    assert_string_equal(ts_wsc_close_reason(r), "subject changed");
    s_check_g(ctx);
}

/* A token expiring in 2 s (leeway 0) closes with 4001 "token expired" within 3 s. */
static void test_expiry(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_wsc_dial_t dial = {.origin = "http://127.0.0.1", .bearer = s_mint("7", 2, "[]")};
    uint64_t t0 = base_clock_ms();
    ts_wsc_conn_t *x = s_open(ctx, "X (expires in 2 s)", &dial);
    assert_int_equal(ts_wsc_wait_closed(x, 5000), 0);
    uint64_t took = base_clock_ms() - t0;
    assert_int_equal(ts_wsc_close_code(x), 4001);
    assert_string_equal(ts_wsc_close_reason(x), "token expired");
    if (took > 3000)
        fail_msg("closed %llu ms after connecting", (unsigned long long)took);
    s_check_g(ctx);
}

/* The edge stops cleanly; its summary counts the refusals by reason. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_check_g(ctx);
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    const char *want[] = {"auth: ok=6 refreshes=1 refused:",
                          " expired=4",
                          " not_yet_valid=2",
                          " bad_signature=3",
                          " alg_none=2",
                          " malformed=4",
                          " too_big=2",
                          " missing_sub=2",
                          " bad_iss=2",
                          " bad_aud=2",
                          " forbidden=4",
                          " auth_timeout=1",
                          " auth_required=1",
                          " sub_changed=1",
                          "closes: ",
                          " 4001_auth=14"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (ts_proc_log_count(edge, want[i]) < 1)
            fail_msg("the exit summary does not say '%s'", want[i]);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("security_auth");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_token_sources, &ctx),
        cmocka_unit_test_prestate(test_upgrade_refusals, &ctx),
        cmocka_unit_test_prestate(test_frame_refusals, &ctx),
        cmocka_unit_test_prestate(test_required_and_timeout, &ctx),
        cmocka_unit_test_prestate(test_isolation, &ctx),
        cmocka_unit_test_prestate(test_refresh, &ctx),
        cmocka_unit_test_prestate(test_expiry, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("security_auth", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    for (int i = 0; i < N_BAD; i++)
        free(g_bad[i].token);
    return failed ? 1 : 0;
}
