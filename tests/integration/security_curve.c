/*
 * security_curve.c: CURVE on every ZeroMQ link, with the real daemons and weft-keygen's keys.
 *
 * The router runs with curve_secret_key and an allowlist holding the keys of one edge and one
 * agent. A WebSocket client of that edge receives exactly the allowed agent's events. An
 * unlisted agent and a plain (non-CURVE) agent get nothing through: their events are never
 * acknowledged, the client sees none of them, and the router counts each refusal by reason.
 * An edge with an unlisted key and an edge without CURVE read nothing: no fan-out (their
 * clients get no events) and no history (the router refuses their history connection too).
 * Keys copied into the allowlist at runtime work without restarting the router: a new agent,
 * and the refused edge once restarted (libzmq does not retry a connection the server refused).
 * Publisher rights by CURVE identity: an agent whose certificate carries rooms/types metadata
 * may publish only there, and a rights-file line keyed by an agent's public key (added at
 * runtime, SIGHUP) restricts it whatever publisher id it claims; each refused event reaches the
 * agent's on_refused with its reason and never a client. argv[1] is weft-keygen.
 */
#include "it_fabric.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <unistd.h>

#define ROOM "curve:room"
#define EVENT_TYPE "test.curve"
#define QUIET_MS 1500 /* how long "nothing arrives" is watched */

static const char *g_keygen; /* path of weft-keygen */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;    /* the private fabric */
    ts_wsc_t *wsc;       /* WebSocket client context */
    weft_pub_t *pub;     /* the allowed agent */
    ts_wsc_conn_t *good; /* client of the CURVE edge (edge 0), in ROOM */
    int ready;           /* set up completed */
    int allowed;         /* events of ROOM the allowed agents published so far */
    char keys[512];      /* directory of key pairs */
    char clients[600];   /* the router's allowlist */
    char rights[600];    /* the router's rights file */
    char keyed_z85[64];  /* the public key of agent "keyed" */
} test_ctx_t;

/* What one agent's on_refused saw (called on its I/O thread). */
typedef struct s_refusals {
    atomic_int room;  /* WEFT_EDENIEDROOM */
    atomic_int type;  /* WEFT_EDENIEDTYPE */
    atomic_int other; /* anything else */
} s_refusals_t;

/* A path in the key directory (four static slots). */
static const char *s_key(test_ctx_t *ctx, const char *name)
{
    static char buf[4][700];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", ctx->keys, name);
    return buf[slot];
}

/* Runs weft-keygen for name with up to two --meta entries (NULL: none); asserts it printed a
 * Z85 key and exited 0, and copies the key into z85 (41 bytes) unless NULL. */
static void s_keygen_meta(test_ctx_t *ctx, const char *name, const char *meta1, const char *meta2,
                          char *z85)
{
    char *out = NULL;
    char *argv[9] = {(char *)g_keygen, "--name", (char *)name};
    int n = 3;
    if (meta1) {
        argv[n++] = "--meta";
        argv[n++] = (char *)meta1;
    }
    if (meta2) {
        argv[n++] = "--meta";
        argv[n++] = (char *)meta2;
    }
    argv[n++] = (char *)s_key(ctx, name);
    argv[n] = NULL;
    assert_int_equal(ts_run(argv, NULL, 10000, &out), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), 41); /* 40 Z85 characters and a newline */
    if (z85)
        snprintf(z85, 41, "%.40s", out);
    free(out);
}

/* Runs weft-keygen for name. */
static void s_keygen(test_ctx_t *ctx, const char *name)
{
    s_keygen_meta(ctx, name, NULL, NULL, NULL);
}

/* Copies name's public certificate into the allowlist. */
static void s_allow(test_ctx_t *ctx, const char *name)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s.cert'", s_key(ctx, name), ctx->clients, name);
    assert_int_equal(system(cmd), 0);
}

/* Counts a refusal by reason. */
static void s_on_refused(weft_pub_t *pub, uint64_t seq, int reason, const char *text, void *arg)
{
    (void)pub, (void)seq, (void)text;
    s_refusals_t *r = arg;
    atomic_fetch_add(reason == WEFT_EDENIEDROOM   ? &r->room
                     : reason == WEFT_EDENIEDTYPE ? &r->type
                                                  : &r->other,
                     1);
}

/* A publisher with name's keys (NULL: plain, no CURVE), its refusals counted in refusals. */
static weft_pub_t *s_pub_with(test_ctx_t *ctx, const char *name, s_refusals_t *refusals)
{
    weft_pub_opts_t opts;
    weft_pub_opts_init(&opts);
    opts.on_refused = refusals ? s_on_refused : NULL;
    opts.callback_arg = refusals;
    char id[64], cert[700];
    snprintf(id, sizeof id, "agent-%s", name ? name : "plain");
    opts.publisher_id = id;
    opts.linger_ms = 0;
    if (name) {
        snprintf(cert, sizeof cert, "%s_secret", s_key(ctx, name));
        opts.curve_server_key = s_key(ctx, "router");
        opts.curve_cert = cert;
    }
    weft_pub_t *pub = weft_pub_new(it_fabric_intake(ctx->fab), &opts);
    assert_non_null(pub);
    return pub;
}

/* A publisher with name's keys (NULL: plain, no CURVE). */
static weft_pub_t *s_pub(test_ctx_t *ctx, const char *name)
{
    return s_pub_with(ctx, name, NULL);
}

/* Publishes one event {"who": who, "i": i} into ROOM. */
static void s_publish(weft_pub_t *pub, const char *who, int i)
{
    char json[96];
    snprintf(json, sizeof json, "{\"who\":\"%s\",\"i\":%d}", who, i);
    assert_int_equal(it_publish(pub, ROOM, EVENT_TYPE, json), 0);
}

/* Counts conn's events of ROOM whose data.who is who. */
static size_t s_count_from(ts_wsc_conn_t *conn, const char *who)
{
    size_t n = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(conn); f++) {
        json_t *frame = ts_wsc_frame(conn, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        const char *room = json_string_value(json_object_get(frame, "room"));
        const char *fw = json_string_value(json_object_get(json_object_get(frame, "data"), "who"));
        if (op && strcmp(op, "event") == 0 && room && strcmp(room, ROOM) == 0 && fw &&
            strcmp(fw, who) == 0)
            n++;
    }
    return n;
}

/* Publishes n events as the allowed agent and waits until the good client has them all. */
static void s_publish_allowed(test_ctx_t *ctx, int n)
{
    for (int i = 0; i < n; i++)
        s_publish(ctx->pub, "allowed", ctx->allowed + i);
    assert_int_equal(weft_pub_flush(ctx->pub, IT_WAIT_MS), 0);
    ctx->allowed += n;
    if (ts_wsc_wait_count(ctx->good, "event", ROOM, (size_t)ctx->allowed, IT_WAIT_MS) != 0)
        fail_msg("%zu of %d events: %s", ts_wsc_count_op(ctx->good, "event", ROOM), ctx->allowed,
                 ts_wsc_describe(ctx->good));
}

/* A publisher whose events must get nothing through: never acknowledged, never delivered, and
 * the router logs the refusal reason on intake. */
static void s_refused_publisher(test_ctx_t *ctx, const char *name, const char *who,
                                const char *log_line)
{
    weft_pub_t *pub = s_pub(ctx, name);
    for (int i = 0; i < 3; i++)
        s_publish(pub, who, i);
    assert_int_equal(weft_pub_flush(pub, QUIET_MS), WEFT_ETIMEDOUT);
    weft_pub_stats_t st;
    assert_int_equal(weft_pub_stats(pub, &st), 0);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.connected, 0); /* the router's subscription never reached it */
    assert_int_equal(ts_proc_wait_log(it_fabric_router(ctx->fab), log_line, IT_WAIT_MS), 0);
    weft_pub_destroy(&pub);
    /* The allowed agent's next event arrives; the refused one's never did. */
    s_publish_allowed(ctx, 1);
    assert_int_equal(s_count_from(ctx->good, who), 0);
}

/* Keys, allowlist, router with CURVE, edge 0 with CURVE, the good client, the allowed agent. */
static void test_setup(void **state)
{
    test_ctx_t *ctx = *state;
    snprintf(ctx->keys, sizeof ctx->keys, "%s/keys", it_fabric_dir(ctx->fab));
    snprintf(ctx->clients, sizeof ctx->clients, "%s/clients", it_fabric_dir(ctx->fab));
    assert_int_equal(mkdir(ctx->keys, 0700), 0);
    assert_int_equal(mkdir(ctx->clients, 0700), 0);
    const char *names[] = {"router", "edge", "agent", "stranger", "late", "edge2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        s_keygen(ctx, names[i]);
    s_keygen_meta(ctx, "meta", "rooms=" ROOM, "types=test.c*", NULL);
    s_keygen_meta(ctx, "keyed", NULL, NULL, ctx->keyed_z85);
    s_allow(ctx, "edge");
    s_allow(ctx, "agent");
    s_allow(ctx, "meta");
    s_allow(ctx, "keyed");
    /* A rights file that lists nobody yet, others allowed: the agents above are unrestricted
     * unless their certificate says otherwise. */
    snprintf(ctx->rights, sizeof ctx->rights, "%s/rights", it_fabric_dir(ctx->fab));
    FILE *f = fopen(ctx->rights, "w");
    assert_non_null(f);
    fputs("# nobody listed yet\n", f);
    assert_int_equal(fclose(f), 0);

    const char *rargs[] = {"--curve-secret-key",
                           s_key(ctx, "router_secret"),
                           "--curve-clients-dir",
                           ctx->clients,
                           "--stats-interval",
                           "1",
                           "--rights-file",
                           ctx->rights,
                           "--rights-default",
                           "allow",
                           NULL};
    assert_int_equal(it_fabric_start_router(ctx->fab, rargs), 0);
    const char *eargs[] = {"--router-public-key", s_key(ctx, "router"), "--curve-secret-key",
                           s_key(ctx, "edge_secret"), NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-curve", eargs), 0);
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->good = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 0), "good");
    assert_int_equal(ts_wsc_wait_open(ctx->good, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(ctx->good, ROOM, IT_WAIT_MS), 0);
    ctx->pub = s_pub(ctx, "agent");
    assert_int_equal(it_fence(ctx->fab, 0, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* The allowed agent's events reach the client through the CURVE edge, in order, exactly. */
static void test_allowed(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_publish_allowed(ctx, 5);
    json_t *data = json_pack("{s:s,s:i}", "who", "allowed", "i", 4);
    size_t k = 0;
    for (size_t f = 0; f < ts_wsc_frame_count(ctx->good); f++) {
        json_t *frame = ts_wsc_frame(ctx->good, f);
        const char *op = json_string_value(json_object_get(frame, "op"));
        if (op && strcmp(op, "event") == 0 && ++k == 5)
            assert_int_equal(it_check_event(frame, ROOM, EVENT_TYPE, data), 0);
    }
    json_decref(data);
    assert_int_equal(k, 5);
    assert_int_equal(ts_proc_log_count(it_fabric_edge(ctx->fab, 0), "refused the handshake"), 0);
}

/* An unlisted agent gets nothing through; the router counts it under "key". */
static void test_unlisted_publisher(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_refused_publisher(ctx, "stranger", "stranger", "curve: refused a connection on intake (key)");
    assert_int_equal(ts_proc_wait_log(it_fabric_router(ctx->fab), "curve_denied_key=", IT_WAIT_MS),
                     0);
}

/* An agent without CURVE gets nothing through either. */
static void test_plain_publisher(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    /* The router counts a plain peer as "mechanism", or as "handshake" when the peer hangs up
     * first; either way on intake. */
    s_refused_publisher(ctx, NULL, "plain", "curve: refused a connection on intake (");
}

/* Edges with an unlisted key or without CURVE read nothing: no fan-out, no history. */
static void test_refused_edges(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    const char *unlisted[] = {"--router-public-key", s_key(ctx, "router"), "--curve-secret-key",
                              s_key(ctx, "edge2_secret"), NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-unlisted", unlisted), 1);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-plain", NULL), 2);
    ts_wsc_conn_t *c1 = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 1), "unlisted");
    ts_wsc_conn_t *c2 = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 2), "plain");
    assert_int_equal(ts_wsc_wait_open(c1, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_wait_open(c2, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c1, ROOM, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c2, ROOM, IT_WAIT_MS), 0);
    ts_proc_t *router = it_fabric_router(ctx->fab);
    assert_int_equal(ts_proc_wait_log(router, "refused a connection on fanout (key)", IT_WAIT_MS),
                     0);
    assert_int_equal(ts_proc_wait_log(router, "refused a connection on history (key)", IT_WAIT_MS),
                     0);
    assert_int_equal(
        ts_proc_wait_log(it_fabric_edge(ctx->fab, 1), "refused the handshake", IT_WAIT_MS), 0);
    s_publish_allowed(ctx, 3);
    ts_wsc_service(ctx->wsc, QUIET_MS);
    assert_int_equal(ts_wsc_count_op(c1, "event", ROOM), 0);
    assert_int_equal(ts_wsc_count_op(c2, "event", ROOM), 0);
    assert_int_equal(ts_wsc_count_op(ctx->good, "event", ROOM), (size_t)ctx->allowed);
    ts_wsc_close(c1);
    ts_wsc_close(c2);
    /* A refused edge still stops cleanly. */
    assert_int_equal(ts_proc_stop(it_fabric_edge(ctx->fab, 2), IT_WAIT_MS), 0);
}

/* Keys added to the allowlist at runtime: a new agent gets through at once, and the refused
 * edge reads once restarted; the router was never restarted. */
static void test_reload(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    s_allow(ctx, "late");
    s_allow(ctx, "edge2");
    /* The router looks at the directory about once a second. */
    assert_int_equal(ts_proc_wait_log(it_fabric_router(ctx->fab), "curve_reloads=1", IT_WAIT_MS),
                     0);
    weft_pub_t *late = s_pub(ctx, "late");
    s_publish(late, "late", 0);
    assert_int_equal(weft_pub_flush(late, IT_WAIT_MS), 0);
    weft_pub_destroy(&late);
    if (ts_wsc_wait_count(ctx->good, "event", ROOM, (size_t)ctx->allowed + 1, IT_WAIT_MS) != 0)
        fail_msg("the late agent's event did not arrive: %s", ts_wsc_describe(ctx->good));
    assert_int_equal(s_count_from(ctx->good, "late"), 1);

    ts_proc_t *old = it_fabric_edge(ctx->fab, 1);
    assert_int_equal(ts_proc_stop(old, IT_WAIT_MS), 0);
    const char *eargs[] = {"--router-public-key", s_key(ctx, "router"), "--curve-secret-key",
                           s_key(ctx, "edge2_secret"), NULL};
    assert_int_equal(it_fabric_restart_edge(ctx->fab, 1, "edge-unlisted", eargs), 0);
    ts_wsc_conn_t *c1 = ts_wsc_connect(ctx->wsc, it_fabric_edge_port(ctx->fab, 1), "relisted");
    assert_int_equal(ts_wsc_wait_open(c1, IT_WAIT_MS), 0);
    assert_int_equal(ts_wsc_subscribe(c1, ROOM, IT_WAIT_MS), 0);
    assert_int_equal(it_fence(ctx->fab, 1, ctx->wsc, ctx->pub, IT_WAIT_MS), 0);
    s_publish_allowed(ctx, 2);
    if (ts_wsc_wait_count(c1, "event", ROOM, 2, IT_WAIT_MS) != 0)
        fail_msg("the relisted edge delivered nothing: %s", ts_wsc_describe(c1));
    ts_wsc_close(c1);
}

/* Publishes one event of type into room as who; flushes (a refused event is acked too). */
static void s_publish_to(weft_pub_t *pub, const char *room, const char *type, const char *who)
{
    char json[96];
    snprintf(json, sizeof json, "{\"who\":\"%s\",\"i\":0}", who);
    assert_int_equal(it_publish(pub, room, type, json), 0);
    assert_int_equal(weft_pub_flush(pub, IT_WAIT_MS), 0);
}

/* Waits until the refusal counts are room and type (and nothing else), or fails. */
static void s_wait_refusals(s_refusals_t *r, int room, int type)
{
    for (int i = 0; i < 200 && (atomic_load(&r->room) < room || atomic_load(&r->type) < type); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&r->room), room);
    assert_int_equal(atomic_load(&r->type), type);
    assert_int_equal(atomic_load(&r->other), 0);
}

/* Rights by CURVE identity: certificate metadata, then a rights-file line keyed by public key. */
static void test_rights_by_key(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    static s_refusals_t meta_r, keyed_r;
    weft_pub_t *meta = s_pub_with(ctx, "meta", &meta_r);
    s_publish_to(meta, ROOM, "test.other", "meta-bad-type");
    s_publish_to(meta, "curve:elsewhere", EVENT_TYPE, "meta-bad-room");
    s_publish_to(meta, ROOM, EVENT_TYPE, "meta-ok");
    s_wait_refusals(&meta_r, 1, 1);
    weft_pub_destroy(&meta);

    /* "keyed" is unrestricted until the rights file names its key (its publisher id, which it
     * chooses itself, does not matter under CURVE). */
    weft_pub_t *keyed = s_pub_with(ctx, "keyed", &keyed_r);
    s_publish_to(keyed, ROOM, "test.other", "keyed-before");
    FILE *f = fopen(ctx->rights, "w");
    assert_non_null(f);
    fprintf(f, "# the keyed agent, by its public key\n%s rooms=%s types=%s\n", ctx->keyed_z85, ROOM,
            EVENT_TYPE);
    fputs("agent-keyed rooms=nothing:* types=*\n", f); /* its claimed id: ignored under CURVE */
    assert_int_equal(fclose(f), 0);
    ts_proc_t *router = it_fabric_router(ctx->fab);
    assert_int_equal(kill(ts_proc_pid(router), SIGHUP), 0);
    assert_int_equal(ts_proc_wait_log(router, "rights: 2 publisher(s)", IT_WAIT_MS), 0);
    s_publish_to(keyed, ROOM, "test.other", "keyed-bad-type");
    s_publish_to(keyed, "curve:elsewhere", EVENT_TYPE, "keyed-bad-room");
    s_publish_to(keyed, ROOM, EVENT_TYPE, "keyed-ok");
    s_wait_refusals(&keyed_r, 1, 1);
    weft_pub_destroy(&keyed);

    /* The allowed events arrived, the refused ones never did. */
    s_publish_allowed(ctx, 1);
    const char *arrived[] = {"meta-ok", "keyed-before", "keyed-ok"};
    for (size_t i = 0; i < 3; i++)
        if (ts_wsc_wait_count(ctx->good, "event", ROOM, (size_t)ctx->allowed + 3, IT_WAIT_MS) ||
            s_count_from(ctx->good, arrived[i]) != 1)
            fail_msg("%s did not arrive once: %s", arrived[i], ts_wsc_describe(ctx->good));
    assert_int_equal(s_count_from(ctx->good, "meta-bad-type"), 0);
    assert_int_equal(s_count_from(ctx->good, "keyed-bad-type"), 0);
    ctx->allowed += 3;
    assert_int_equal(ts_proc_wait_log(router, "refused_room=2", IT_WAIT_MS), 0);
    assert_int_equal(ts_proc_wait_log(router, "refused_type=2", IT_WAIT_MS), 0);
}

/* Everything stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    weft_pub_destroy(&ctx->pub);
    assert_int_equal(it_fabric_stop_all(ctx->fab), 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: security_curve WEFT_KEYGEN\n");
        return 2;
    }
    g_keygen = argv[1];
    test_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fab = it_fabric_new("security_curve");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_setup, &ctx),
        cmocka_unit_test_prestate(test_allowed, &ctx),
        cmocka_unit_test_prestate(test_unlisted_publisher, &ctx),
        cmocka_unit_test_prestate(test_plain_publisher, &ctx),
        cmocka_unit_test_prestate(test_refused_edges, &ctx),
        cmocka_unit_test_prestate(test_reload, &ctx),
        cmocka_unit_test_prestate(test_rights_by_key, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("security_curve", tests, NULL, NULL);
    weft_pub_destroy(&ctx.pub);
    ts_wsc_destroy(&ctx.wsc);
    it_fabric_destroy(&ctx.fab, failed);
    return failed ? 1 : 0;
}
