/*
 * security_origin_tls.c: the edge's Origin allowlist, CORS headers and TLS, through the real
 * daemons (docs/configuration.md "Origins and CORS", "TLS").
 *
 * The test makes its certificates with the openssl command: a self-signed certificate A, and a
 * certificate B issued by a test CA whose certificate is the edge's tls_chain. The edge starts
 * with A, allowed_origins ORIGINS (app.example.com exactly, any subdomain of example.org) and
 * allow_missing_origin false. Client A (Origin https://app.example.com) receives events over
 * wss:// throughout. Upgrades from a disallowed origin, a lookalike and without Origin get HTTP
 * 403 with the reason; an allowed wildcard origin gets through; the HTTP files carry CORS headers
 * for allowed origins only. On SIGHUP the edge serves certificate B (with the CA as chain) to new
 * connections, and a broken key file on a later SIGHUP keeps B. The exit summary counts the
 * refusals. Bad TLS or origin settings refuse to start with "key: what is wrong".
 */
#include "it_fabric.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define EVENT_TYPE "test.secure"
#define ROOM "sec:a"
#define ORIGINS "https://app.example.com,https://*.example.org"

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab; /* the private fabric */
    ts_wsc_t *wsc;    /* WebSocket client context */
    weft_pub_t *pub;  /* the publisher */
    ts_wsc_conn_t *a; /* wss://, allowed origin, in ROOM from start to end */
    int port;         /* the edge's port */
    int next;         /* the next event number published into ROOM */
    char dir[512];    /* scratch directory (certificates) */
    int ready;        /* set up completed */
} test_ctx_t;

/* dir/name into buf. */
static const char *s_path(const test_ctx_t *ctx, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", ctx->dir, name);
    return buf;
}

/* Runs a shell command (quiet); fails the test when it does not exit with 0. */
static void s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* Makes the certificates: a.crt/a.key (self-signed, CN weft-test-a), ca.crt (CN weft-test-ca)
 * and b.crt/b.key issued by it (CN weft-test-b); tls.crt/tls.key start as A, chain.pem is CA. */
static void s_make_certs(const test_ctx_t *ctx)
{
    const char *d = ctx->dir;
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    s_sh("cd '%s' && openssl req -x509 %s -keyout a.key -out a.crt -subj /CN=weft-test-a "
         ">/dev/null 2>&1",
         d, ec);
    s_sh("cd '%s' && openssl req -x509 %s -keyout ca.key -out ca.crt -subj /CN=weft-test-ca "
         ">/dev/null 2>&1",
         d, ec);
    s_sh("cd '%s' && openssl req -new %s -keyout b.key -out b.csr -subj /CN=weft-test-b "
         ">/dev/null 2>&1 && openssl x509 -req -in b.csr -CA ca.crt -CAkey ca.key "
         "-CAcreateserial -days 2 -out b.crt >/dev/null 2>&1",
         d, ec);
    s_sh("cd '%s' && cp a.crt tls.crt && cp a.key tls.key && cp ca.crt chain.pem", d);
}

/* What one TLS exchange with the edge showed. */
typedef struct s_reply {
    char text[16384]; /* the response (headers and body), NUL-terminated */
    char cn[128];     /* common name of the certificate served */
    int chain;        /* certificates the edge sent */
} s_reply_t;

/* Connects to the edge over TLS (no verification: the test checks what it got), sends request
 * and reads until the edge closes or 5 s pass. Returns 0, or -1 with a message. */
static int s_tls_exchange(int port, const char *request, s_reply_t *r)
{
    memset(r, 0, sizeof *r);
    int rc = -1;
    SSL_CTX *sctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (!sctx || fd < 0)
        goto done;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "connect to %d failed\n", port);
        goto done;
    }
    ssl = SSL_new(sctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        fprintf(stderr, "TLS handshake with port %d failed\n", port);
        goto done;
    }
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, r->cn, sizeof r->cn);
        X509_free(peer);
    }
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    r->chain = chain ? sk_X509_num(chain) : 0;
    if (request && SSL_write(ssl, request, (int)strlen(request)) != (int)strlen(request)) {
        fprintf(stderr, "TLS write failed\n");
        goto done;
    }
    size_t have = 0;
    while (request && have < sizeof r->text - 1) {
        int n = SSL_read(ssl, r->text + have, (int)(sizeof r->text - 1 - have));
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    r->text[have] = '\0';
    rc = 0;
done:
    ERR_clear_error();
    if (ssl)
        SSL_free(ssl);
    SSL_CTX_free(sctx);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Sends a WebSocket upgrade with origin (NULL: no Origin header) over TLS into *r. */
static void s_upgrade(const test_ctx_t *ctx, const char *origin, s_reply_t *r)
{
    char req[1024];
    snprintf(req, sizeof req,
             "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
             origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
    assert_int_equal(s_tls_exchange(ctx->port, req, r), 0);
}

/* Asserts that r is an HTTP 403 whose body gives why. */
static void s_assert_403(const s_reply_t *r, const char *why)
{
    if (strncmp(r->text, "HTTP/1.1 403 ", 13) != 0 && strncmp(r->text, "HTTP/1.0 403 ", 13) != 0)
        fail_msg("want a 403, got: %.200s", r->text);
    if (!strstr(r->text, why))
        fail_msg("the 403 does not say '%s': %.400s", why, r->text);
}

/* The value of header name in the response r (case-insensitive name), into buf; 0 or -1. */
static int s_header(const s_reply_t *r, const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    for (const char *line = r->text; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol || eol == line)
            break; /* the end of the headers */
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(eol - v), v);
            return 0;
        }
        line = eol + 2;
    }
    return -1;
}

/* Publishes events numbered ctx->next.. into ROOM and waits for the router's acks. */
static void s_publish(test_ctx_t *ctx, int n)
{
    for (int i = 0; i < n; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d}", ctx->next++);
        assert_int_equal(it_publish(ctx->pub, ROOM, EVENT_TYPE, json), 0);
    }
    assert_int_equal(weft_pub_flush(ctx->pub, 30000), 0);
}

/* Events of ROOM on conn carrying data.i. */
static size_t s_count_i(ts_wsc_conn_t *conn, int i)
{
    size_t k = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(conn); f++) {
        json_t *frame = ts_wsc_frame(conn, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        if (!op || strcmp(op, "event") != 0)
            continue;
        json_t *data = json_object_get(frame, "data");
        if (json_integer_value(json_object_get(data, "i")) == i)
            k++;
    }
    return k;
}

/* Publishes one event and waits until conn has it (each client's first event: its
 * subscription has reached the router once one arrives; the fence helper speaks plain ws). */
static void s_probe(test_ctx_t *ctx, ts_wsc_conn_t *conn)
{
    for (int tries = 0; tries < 200; tries++) {
        int from = ctx->next;
        s_publish(ctx, 1);
        ts_wsc_service(ctx->wsc, 100);
        for (int i = from; i < ctx->next; i++)
            if (s_count_i(conn, i))
                return;
    }
    fail_msg("%s never received a probe: %s", ts_wsc_name(conn), ts_wsc_describe(conn));
}

/* Publishes n events and checks that conn receives each exactly once. */
static void s_check_delivery(test_ctx_t *ctx, ts_wsc_conn_t *conn, int n)
{
    int first = ctx->next;
    size_t before = ts_wsc_count_op(conn, "event", ROOM);
    s_publish(ctx, n);
    if (ts_wsc_wait_count(conn, "event", ROOM, before + (size_t)n, IT_WAIT_MS) != 0)
        fail_msg("%s: %zu of %d events: %s", ts_wsc_name(conn),
                 ts_wsc_count_op(conn, "event", ROOM) - before, n, ts_wsc_describe(conn));
    for (int i = first; i < first + n; i++)
        if (s_count_i(conn, i) != 1)
            fail_msg("%s: event %d arrived %zu times", ts_wsc_name(conn), i, s_count_i(conn, i));
    json_t *data = json_pack("{s:i}", "i", first);
    size_t from = 0;
    json_t *frame = NULL;
    while ((frame = ts_wsc_wait_op(conn, "event", ROOM, &from, 0)) != NULL)
        if (json_integer_value(json_object_get(json_object_get(frame, "data"), "i")) == first)
            break;
    assert_non_null(frame);
    assert_int_equal(it_check_event(frame, ROOM, EVENT_TYPE, data), 0);
    json_decref(data);
}

/* Runs weft-edge --check-config with args; returns its exit code, its output in out. */
static int s_check_config(const char *args, char *out, size_t len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --check-config --auth none %s 2>&1", it_env("WEFT_EDGE_BIN"),
             args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Bad TLS and origin settings refuse to start, naming the setting and what is wrong. */
static void test_config_errors(void **state)
{
    test_ctx_t *ctx = *state;
    snprintf(ctx->dir, sizeof ctx->dir, "%s", it_fabric_dir(ctx->fab));
    s_make_certs(ctx);
    s_sh("cd '%s' && echo 'not a key' > junk.key", ctx->dir);
    char args[2048], out[4096], a_crt[600], a_key[600], b_key[600], junk[600], none[600];
    s_path(ctx, "a.crt", a_crt, sizeof a_crt);
    s_path(ctx, "a.key", a_key, sizeof a_key);
    s_path(ctx, "b.key", b_key, sizeof b_key);
    s_path(ctx, "junk.key", junk, sizeof junk);
    s_path(ctx, "none.pem", none, sizeof none);
    snprintf(args, sizeof args, "--tls_cert '%s' --tls_key '%s'", none, a_key);
    assert_int_equal(s_check_config(args, out, sizeof out), 1);
    char want[2048];
    snprintf(want, sizeof want, "tls_cert: %s: No such file or directory", none);
    if (!strstr(out, want))
        fail_msg("want '%s', got: %s", want, out);
    snprintf(args, sizeof args, "--tls_cert '%s' --tls_key '%s'", a_crt, b_key);
    assert_int_equal(s_check_config(args, out, sizeof out), 1);
    snprintf(want, sizeof want, "tls_key: %s does not match the certificate in tls_cert (%s)",
             b_key, a_crt);
    if (!strstr(out, want))
        fail_msg("want '%s', got: %s", want, out);
    snprintf(args, sizeof args, "--tls_cert '%s' --tls_key '%s'", a_crt, junk);
    assert_int_equal(s_check_config(args, out, sizeof out), 1);
    snprintf(want, sizeof want, "tls_key: %s: no PEM private key in it", junk);
    if (!strstr(out, want))
        fail_msg("want '%s', got: %s", want, out);
    snprintf(args, sizeof args, "--tls_cert '%s'", a_crt);
    assert_int_equal(s_check_config(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "tls_key: required with tls_cert"));
    snprintf(args, sizeof args, "--tls_cert '%s' --tls_key '%s' --tls_chain '%s'", a_crt, a_key,
             junk);
    assert_int_equal(s_check_config(args, out, sizeof out), 1);
    snprintf(want, sizeof want, "tls_chain: %s: no PEM certificate in it", junk);
    if (!strstr(out, want))
        fail_msg("want '%s', got: %s", want, out);
    assert_int_equal(s_check_config("--allowed_origins 'https://a.example.com/'", out, sizeof out),
                     1);
    assert_non_null(strstr(out, "allowed_origins: 'https://a.example.com/': bad host"));
    snprintf(args, sizeof args, "--tls_cert '%s' --tls_key '%s' --allowed_origins '%s'", a_crt,
             a_key, ORIGINS);
    assert_int_equal(s_check_config(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "configuration OK"));
}

/* Starts the fabric with TLS and the allowlist; client A joins ROOM over wss://. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    char crt[600], key[600], chain[600];
    s_path(ctx, "tls.crt", crt, sizeof crt);
    s_path(ctx, "tls.key", key, sizeof key);
    s_path(ctx, "chain.pem", chain, sizeof chain);
    const char *extra[] = {"--tls_cert",
                           crt,
                           "--tls_key",
                           key,
                           "--tls_chain",
                           chain,
                           "--allowed_origins",
                           ORIGINS,
                           "--allow_missing_origin",
                           "false",
                           NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-tls", extra), 0);
    ctx->port = it_fabric_edge_port(ctx->fab, 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->pub = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->pub);
    ts_wsc_dial_t dial = {.origin = "https://app.example.com", .tls = 1};
    ctx->a = ts_wsc_connect_with(ctx->wsc, ctx->port, "A", &dial);
    assert_non_null(ctx->a);
    if (ts_wsc_wait_open(ctx->a, IT_WAIT_MS) != 0)
        fail_msg("A did not open over wss: %s", ts_wsc_describe(ctx->a));
    assert_int_equal(ts_wsc_subscribe(ctx->a, ROOM, IT_WAIT_MS), 0);
    s_probe(ctx, ctx->a);
    ctx->ready = 1;
}

/* Events reach A over wss://, each once and intact; plain ws:// gets nothing on that port. */
static void test_wss_delivery(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_check_delivery(ctx, ctx->a, 20);
    s_reply_t r;
    assert_int_equal(s_tls_exchange(ctx->port, NULL, &r), 0);
    assert_string_equal(r.cn, "weft-test-a");
    assert_int_equal(r.chain, 2); /* the leaf and tls_chain's CA */
    ts_wsc_dial_t plain = {.origin = "https://app.example.com", .tls = 0};
    ts_wsc_conn_t *p = ts_wsc_connect_with(ctx->wsc, ctx->port, "plain", &plain);
    if (p) {
        assert_int_not_equal(ts_wsc_wait_open(p, 5000), 0);
        assert_false(ts_wsc_is_open(p));
    }
}

/* Disallowed, lookalike and missing origins get 403 with the reason; A keeps receiving; an
 * allowed wildcard origin gets through. */
static void test_origins(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_reply_t r;
    s_upgrade(ctx, "https://evil.example.com", &r);
    s_assert_403(&r, "origin not allowed");
    s_upgrade(ctx, "https://evil-example.org", &r);
    s_assert_403(&r, "origin not allowed");
    s_upgrade(ctx, NULL, &r);
    s_assert_403(&r, "an Origin header is required");
    ts_wsc_dial_t evil = {.origin = "https://example.org", .tls = 1}; /* the bare domain */
    ts_wsc_conn_t *e = ts_wsc_connect_with(ctx->wsc, ctx->port, "evil", &evil);
    assert_non_null(e);
    assert_int_not_equal(ts_wsc_wait_open(e, IT_WAIT_MS), 0);
    assert_false(ts_wsc_is_open(e));
    assert_int_equal(ts_wsc_count_op(e, "welcome", NULL), 0);
    s_check_delivery(ctx, ctx->a, 10);

    ts_wsc_dial_t good = {.origin = "https://Deep.Sub.Example.org", .tls = 1};
    ts_wsc_conn_t *g = ts_wsc_connect_with(ctx->wsc, ctx->port, "G", &good);
    assert_non_null(g);
    if (ts_wsc_wait_open(g, IT_WAIT_MS) != 0)
        fail_msg("an allowed origin was refused: %s", ts_wsc_describe(g));
    assert_int_equal(ts_wsc_subscribe(g, ROOM, IT_WAIT_MS), 0);
    s_probe(ctx, g);
    s_check_delivery(ctx, g, 5);
    ts_wsc_close(g);
    assert_int_equal(ts_wsc_wait_closed(g, IT_WAIT_MS), 0);
}

/* The HTTP files name an allowed origin in Access-Control-Allow-Origin, never another. */
static void test_cors(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    const char *fmt = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n"
                      "Connection: close\r\n\r\n";
    char req[512], v[256];
    s_reply_t r;
    snprintf(req, sizeof req, fmt, "/weft.js", "https://app.example.com");
    assert_int_equal(s_tls_exchange(ctx->port, req, &r), 0);
    if (strncmp(r.text, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("GET /weft.js: %.200s", r.text);
    assert_int_equal(s_header(&r, "Access-Control-Allow-Origin", v, sizeof v), 0);
    assert_string_equal(v, "https://app.example.com");
    assert_int_equal(s_header(&r, "Vary", v, sizeof v), 0);
    assert_string_equal(v, "Origin");

    snprintf(req, sizeof req, fmt, "/", "https://x.example.org:443");
    assert_int_equal(s_tls_exchange(ctx->port, req, &r), 0);
    assert_int_equal(strncmp(r.text, "HTTP/1.1 200 ", 13), 0);
    assert_int_equal(s_header(&r, "Access-Control-Allow-Origin", v, sizeof v), 0);
    assert_string_equal(v, "https://x.example.org:443"); /* echoed as sent */

    snprintf(req, sizeof req, fmt, "/weft.js", "https://evil.com");
    assert_int_equal(s_tls_exchange(ctx->port, req, &r), 0);
    assert_int_equal(strncmp(r.text, "HTTP/1.1 200 ", 13), 0);
    assert_int_equal(s_header(&r, "Access-Control-Allow-Origin", v, sizeof v), -1);
    assert_int_equal(s_header(&r, "Vary", v, sizeof v), 0);
    assert_string_equal(v, "Origin");
    snprintf(req, sizeof req, fmt, "/weft.js", "null");
    assert_int_equal(s_tls_exchange(ctx->port, req, &r), 0);
    assert_int_equal(s_header(&r, "Access-Control-Allow-Origin", v, sizeof v), -1);
}

/* Waits until the edge serves a certificate with common name cn; 0 or -1 after 5 s. */
static int s_wait_cn(const test_ctx_t *ctx, const char *cn, s_reply_t *r)
{
    for (int i = 0; i < 50; i++) {
        if (s_tls_exchange(ctx->port, NULL, r) == 0 && strcmp(r->cn, cn) == 0)
            return 0;
        usleep(100 * 1000);
    }
    return -1;
}

/* SIGHUP serves the renewed certificate to new connections; open ones go on; a broken key on
 * a later SIGHUP keeps the certificate in use. */
static void test_reload(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    s_sh("cd '%s' && cp b.crt tls.crt.new && cp b.key tls.key.new && mv tls.crt.new tls.crt && "
         "mv tls.key.new tls.key",
         ctx->dir);
    assert_int_equal(ts_proc_signal(edge, SIGHUP), 0);
    assert_int_equal(
        ts_proc_wait_log(edge, "SIGHUP: reloaded the certificate: /CN=weft-test-b", IT_WAIT_MS), 0);
    s_reply_t r;
    if (s_wait_cn(ctx, "weft-test-b", &r) != 0)
        fail_msg("the edge still serves '%s' after SIGHUP", r.cn);
    assert_int_equal(r.chain, 2);
    s_check_delivery(ctx, ctx->a, 10); /* A's session began before the reload */
    ts_wsc_dial_t dial = {.origin = "https://app.example.com", .tls = 1};
    ts_wsc_conn_t *n = ts_wsc_connect_with(ctx->wsc, ctx->port, "N", &dial);
    assert_non_null(n);
    if (ts_wsc_wait_open(n, IT_WAIT_MS) != 0)
        fail_msg("no wss:// after the reload: %s", ts_wsc_describe(n));

    s_sh("cd '%s' && echo broken > tls.key", ctx->dir);
    assert_int_equal(ts_proc_signal(edge, SIGHUP), 0);
    assert_int_equal(
        ts_proc_wait_log(edge, "SIGHUP: keeping the certificate in use: tls_key: ", IT_WAIT_MS), 0);
    assert_int_equal(s_tls_exchange(ctx->port, NULL, &r), 0);
    assert_string_equal(r.cn, "weft-test-b");
    s_check_delivery(ctx, ctx->a, 5);
}

/* Both daemons stop cleanly; the exit summary counts the refusals by reason. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    /* evil.example.com, evil-example.org and the bare example.org; one without Origin. */
    assert_int_equal(ts_proc_log_count(edge, "stats (exit): refused: origin=3 origin_missing=1"),
                     1);
}

int main(void)
{
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("security_origin_tls");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_config_errors, &ctx),
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_wss_delivery, &ctx),
        cmocka_unit_test_prestate(test_origins, &ctx),
        cmocka_unit_test_prestate(test_cors, &ctx),
        cmocka_unit_test_prestate(test_reload, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("security_origin_tls", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
