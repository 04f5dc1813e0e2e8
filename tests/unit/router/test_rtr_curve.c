/*
 * test_rtr_curve.c: the router's CURVE server side over real TCP sockets. A listed client key
 * gets through; an unlisted key, a plain (non-CURVE) client and a client with the wrong router
 * key get nothing through, and each refusal is counted once, under its reason; the allowlist is
 * reloaded when the directory changes, including the change czmq's own rescan cannot see (a
 * certificate rewritten in place with the same size and the same mtime second); config errors
 * (no allowlist directory, a public file given as the secret) refuse to start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "base_clock.h"
#include "rtr_curve.h"
#include "wire_curve.h"

#define WAIT_MS 5000 /* bound on waiting for a handshake's outcome */

/* One test's world: a directory with the router's pair, clients' pairs, the allowlist. */
typedef struct fixture {
    char dir[64];        /* scratch directory */
    char clients[96];    /* the allowlist directory */
    char server_pub[41]; /* the router's public key */
    rtr_stats_t stats;   /* counters rtr_curve adds to */
    rtr_curve_t *curve;  /* the object under test */
    void *server;        /* a ROUTER socket made a CURVE server */
    char endpoint[128];  /* where it listens */
    void *cctx;          /* the clients' own ZeroMQ context */
} fixture_t;

/* Writes a new pair as DIR/name and DIR/name_secret; fills pub when not NULL. */
static void s_pair(fixture_t *f, const char *name, char pub[41])
{
    char path[256];
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(zcert_save(cert, path), 0);
    if (pub)
        snprintf(pub, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
}

/* Copies DIR/name (a public certificate) into the allowlist as file. */
static void s_allow(fixture_t *f, const char *name, const char *file)
{
    char from[256], to[256], cmd[600];
    snprintf(from, sizeof from, "%s/%s", f->dir, name);
    snprintf(to, sizeof to, "%s/%s", f->clients, file);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* Creates the scratch directory, the router's pair and an empty allowlist. */
static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-curve-test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->clients, sizeof f->clients, "%s/clients", f->dir);
    assert_int_equal(mkdir(f->clients, 0700), 0);
    s_pair(f, "router", f->server_pub);
    f->cctx = zmq_ctx_new();
    assert_non_null(f->cctx);
    *state = f;
    return 0;
}

/* Stops everything and removes the scratch directory. */
static int s_teardown(void **state)
{
    fixture_t *f = *state;
    if (f->server)
        zmq_close(f->server);
    rtr_curve_destroy(&f->curve);
    zmq_ctx_term(f->cctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Starts rtr_curve and a ROUTER CURVE server on a free loopback port. */
static void s_start(fixture_t *f)
{
    char secret[256];
    snprintf(secret, sizeof secret, "%s/router_secret", f->dir);
    f->curve = rtr_curve_new(secret, f->clients, 1, &f->stats, NULL);
    assert_non_null(f->curve);
    assert_string_equal(rtr_curve_public_key(f->curve), f->server_pub);
    f->server = zmq_socket(rtr_curve_context(f->curve), ZMQ_ROUTER);
    assert_non_null(f->server);
    int zero = 0;
    assert_int_equal(zmq_setsockopt(f->server, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(rtr_curve_serve(f->curve, f->server, "history"), 0);
    assert_int_equal(zmq_bind(f->server, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->server, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
}

/* A DEALER that connects once (its next attempt would be a minute later, so each refusal
 * happens exactly once; not -1, with which libzmq 4.3 can hang in zmq_ctx_term) and
 * queues "hello". name: the client pair to use (NULL: plain, no CURVE); server: the router key
 * it believes in (NULL: the right one). */
static void *s_client(fixture_t *f, const char *name, const char *server)
{
    void *sock = zmq_socket(f->cctx, ZMQ_DEALER);
    assert_non_null(sock);
    int zero = 0, minute = 60000;
    assert_int_equal(zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &minute, sizeof minute), 0);
    if (name) {
        char cert[256], err[256];
        snprintf(cert, sizeof cert, "%s/%s_secret", f->dir, name);
        wire_curve_keys_t keys;
        assert_int_equal(wire_curve_client_keys(server ? server : f->server_pub, NULL, NULL, cert,
                                                &keys, err, sizeof err),
                         0);
        assert_int_equal(wire_curve_client_apply(sock, &keys), 0);
    }
    assert_int_equal(zmq_connect(sock, f->endpoint), 0);
    assert_int_equal(zmq_send(sock, "hello", 5, ZMQ_DONTWAIT), 5);
    return sock;
}

/* Waits up to ms for a message on the server; true when "hello" arrived. */
static bool s_server_got_hello(fixture_t *f, int ms)
{
    zmq_pollitem_t item = {f->server, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) != 1)
        return false;
    char id[256], body[16];
    assert_true(zmq_recv(f->server, id, sizeof id, 0) > 0);
    assert_int_equal(zmq_recv(f->server, body, sizeof body, 0), 5);
    return memcmp(body, "hello", 5) == 0;
}

/* Ticks until the handshake counters reach total (accepted + denied) or WAIT_MS passes. */
static void s_tick_until(fixture_t *f, uint64_t total)
{
    uint64_t deadline = base_clock_ms() + WAIT_MS;
    do {
        rtr_curve_tick(f->curve);
        if (f->stats.curve_accepted + f->stats.curve_denied >= total)
            break;
        usleep(20000);
    } while (base_clock_ms() < deadline);
    usleep(100000); /* anything beyond total would show up now */
    rtr_curve_tick(f->curve);
}

/* A listed key is accepted and its message arrives; counted once as accepted. */
static void test_listed_key(void **state)
{
    fixture_t *f = *state;
    s_pair(f, "agent", NULL);
    s_allow(f, "agent", "agent.cert");
    s_start(f);
    void *c = s_client(f, "agent", NULL);
    assert_true(s_server_got_hello(f, WAIT_MS));
    s_tick_until(f, 1);
    assert_int_equal(f->stats.curve_accepted, 1);
    assert_int_equal(f->stats.curve_denied, 0);
    zmq_close(c);
}

/* Unlisted key, plain client, wrong router key: nothing arrives, one refusal each by reason. */
static void test_refusals(void **state)
{
    fixture_t *f = *state;
    s_pair(f, "agent", NULL);
    s_pair(f, "stranger", NULL);
    s_pair(f, "other", NULL);
    s_allow(f, "agent", "agent.cert");
    s_start(f);

    void *c = s_client(f, "stranger", NULL);
    assert_false(s_server_got_hello(f, 500));
    s_tick_until(f, 1);
    zmq_close(c);
    assert_int_equal(f->stats.curve_denied_by[RTR_CURVE_DENY_KEY], 1);

    c = s_client(f, NULL, NULL);
    assert_false(s_server_got_hello(f, 500));
    s_tick_until(f, 2);
    zmq_close(c);
    /* Who notices the mismatch first is a race: when the plain client hangs up first, the
     * router sees a handshake cut short ("handshake") instead of "mechanism". */
    assert_int_equal(f->stats.curve_denied, 2);
    assert_int_equal(f->stats.curve_denied_by[RTR_CURVE_DENY_MECHANISM] +
                         f->stats.curve_denied_by[RTR_CURVE_DENY_HANDSHAKE],
                     1);
    uint64_t mismatch_as_handshake = f->stats.curve_denied_by[RTR_CURVE_DENY_HANDSHAKE];

    char other_pub[41], other_path[256], err[256];
    snprintf(other_path, sizeof other_path, "%s/other", f->dir);
    assert_int_equal(wire_curve_public_key(other_path, other_pub, err, sizeof err), 0);
    c = s_client(f, "agent", other_pub); /* listed key, but the wrong router key */
    assert_false(s_server_got_hello(f, 500));
    s_tick_until(f, 3);
    zmq_close(c);
    assert_int_equal(f->stats.curve_denied_by[RTR_CURVE_DENY_HANDSHAKE], mismatch_as_handshake + 1);
    assert_int_equal(f->stats.curve_denied_by[RTR_CURVE_DENY_KEY], 1);

    assert_int_equal(f->stats.curve_denied, 3);
    assert_int_equal(f->stats.curve_accepted, 0);
}

/* A key added to the directory is accepted after the next tick (counted as a reload). */
static void test_reload_added(void **state)
{
    fixture_t *f = *state;
    s_pair(f, "late", NULL);
    s_start(f);
    void *c = s_client(f, "late", NULL);
    assert_false(s_server_got_hello(f, 500));
    s_tick_until(f, 1);
    assert_int_equal(f->stats.curve_denied_by[RTR_CURVE_DENY_KEY], 1);
    zmq_close(c);

    s_allow(f, "late", "late.cert");
    rtr_curve_tick(f->curve);
    assert_int_equal(f->stats.curve_reloads, 1);
    rtr_curve_tick(f->curve);
    assert_int_equal(f->stats.curve_reloads, 1); /* no change, no reload */
    c = s_client(f, "late", NULL);
    assert_true(s_server_got_hello(f, WAIT_MS));
    zmq_close(c);
}

/* The change czmq's rescan misses: a.cert rewritten in place with b's key, same size, same
 * mtime second. Without a tick b stays refused; after it, b is accepted and a refused. */
static void test_reload_same_second(void **state)
{
    fixture_t *f = *state;
    s_pair(f, "a", NULL);
    s_pair(f, "b", NULL);
    s_allow(f, "a", "a.cert");
    char path[256], from[256];
    snprintf(path, sizeof path, "%s/a.cert", f->clients);
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    s_start(f);

    snprintf(from, sizeof from, "%s/b", f->dir);
    FILE *in = fopen(from, "r");
    FILE *out = fopen(path, "r+");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    assert_int_equal((size_t)before.st_size, n); /* same size: czmq sees no change there */
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    struct timespec times[2] = {before.st_atim,
                                {before.st_mtim.tv_sec, (before.st_mtim.tv_nsec + 1) % 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);

    void *c = s_client(f, "b", NULL);
    assert_false(s_server_got_hello(f, 500)); /* zcertstore's own rescan did not notice */
    zmq_close(c);
    rtr_curve_tick(f->curve);
    assert_int_equal(f->stats.curve_reloads, 1);
    c = s_client(f, "b", NULL);
    assert_true(s_server_got_hello(f, WAIT_MS));
    zmq_close(c);
    c = s_client(f, "a", NULL);
    assert_false(s_server_got_hello(f, 500));
    zmq_close(c);
}

/* Refused configurations: no allowlist directory, a missing one, a public file as the secret. */
static void test_bad_config(void **state)
{
    fixture_t *f = *state;
    char secret[256], pub[256], missing[256];
    snprintf(secret, sizeof secret, "%s/router_secret", f->dir);
    snprintf(pub, sizeof pub, "%s/router", f->dir);
    snprintf(missing, sizeof missing, "%s/nowhere", f->dir);
    assert_null(rtr_curve_new(secret, "", 1, &f->stats, NULL));
    assert_null(rtr_curve_new(secret, missing, 1, &f->stats, NULL));
    /* zcert_load tries NAME_secret first, so the public path alone still finds the pair; a
     * public certificate with no secret beside it is refused. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/lonely'", pub, f->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(pub, sizeof pub, "%s/lonely", f->dir);
    assert_null(rtr_curve_new(pub, f->clients, 1, &f->stats, NULL));
    assert_null(rtr_curve_new(missing, f->clients, 1, &f->stats, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listed_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reload_added, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reload_same_second, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
