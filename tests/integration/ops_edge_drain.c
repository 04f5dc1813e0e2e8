/*
 * ops_edge_drain.c: the edge's /health and /ready, and its graceful drain under load.
 *
 * A router and two edges. Both answer /health and /ready 200. The router is killed (SIGKILL):
 * both edges' /ready turn 503 naming router_disconnected while /health stays 200; the router
 * starts again and /ready is 200 again. Then HAProxy (the shipped deploy/haproxy.cfg, which
 * checks /ready) in front of both, 200 resume clients through it and a publisher at a steady
 * rate. edge-1 gets SIGTERM: its /ready is 503 "draining" at once, it keeps serving for
 * drain_grace (2 s), then closes each of its clients with 1012 at a time spread over
 * drain_seconds (4 s); they reconnect through HAProxy, land on edge-2 and resume from their
 * cursors. edge-1 exits 0. The test asserts the spread (first close after the grace, last one
 * late in the window, every drained client closed exactly once, the edge's exit summary counting
 * one 1012 per drained client), that every client received
 * every event of its rooms exactly once and in order, and prints the peak connection rate that
 * edge-2 saw (new connections per second, over a sliding second).
 *
 * The close code is counted on the edge's side: the test's client (lws 4.1) reports no close
 * frame for codes above 1011, which RFC 6455 left unassigned and IANA later gave 1012 "service
 * restart"; browsers report it (Node's WebSocket: code 1012, reason "service restart", clean).
 */
#include "it_resume.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base_clock.h"

#define N_CLIENTS 200
#define N_ROOMS 20
#define RATE 2000      /* events/s */
#define N_EVENTS 30000 /* 15 s at RATE: the drain (2 s + 4 s) fits well inside */
#define GRACE_MS 2000  /* --drain-grace: HAProxy marks the edge down within ~1 s */
#define WINDOW_MS 4000 /* --drain-seconds */
#define SAMPLES 4096   /* connection-count samples (20 ms apart) */

/* Everything the test cases share. */
typedef struct test_ctx {
    it_fabric_t *fab;   /* the private fabric */
    ts_wsc_t *wsc;      /* WebSocket client context */
    weft_pub_t *fencer; /* publishes the fences' probes */
    it_pacer_t *pacer;  /* the publisher thread */
    it_crowd_t *crowd;  /* the clients */
    int lb_port;        /* HAProxy */
    uint64_t epoch;     /* the router's epoch (after its restart) */
    int ready;          /* the previous step completed */
} test_ctx_t;

/* One HTTP/1.0 request to 127.0.0.1:port; the body of the answer into body (NUL-terminated).
 * Returns the status, or -1 when there was no answer. */
static int s_http(int port, const char *method, const char *path, char *body, size_t cap)
{
    body[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[4096];
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    int n =
        snprintf(buf, sizeof buf, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                 method, path);
    if (write(fd, buf, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    int status;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return status;
}

/* Polls GET path on port until it answers want with needle in the body (or timeout_ms passes);
 * services the crowd (when any) meanwhile. Returns the ms it took, or -1 (with the last answer
 * printed). */
static int s_wait_http(test_ctx_t *ctx, int port, const char *path, int want, const char *needle,
                       int timeout_ms)
{
    uint64_t t0 = base_clock_ms();
    char body[1024];
    int st = -1;
    while (base_clock_ms() - t0 <= (uint64_t)timeout_ms) {
        st = s_http(port, "GET", path, body, sizeof body);
        if (st == want && strstr(body, needle))
            return (int)(base_clock_ms() - t0);
        if (ctx->crowd)
            it_crowd_service(ctx->crowd, 20);
        else
            ts_sleep_ms(20);
    }
    fprintf(stderr, "ops_edge_drain: %s on port %d: %d %s (want %d with %s)\n", path, port, st,
            body, want, needle);
    return -1;
}

/* Router, two edges (edge-1 drains with the test's short settings): both healthy and ready. */
static void test_health_ready(void **state)
{
    test_ctx_t *ctx = *state;
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    char grace[16], window[16];
    snprintf(grace, sizeof grace, "%g", GRACE_MS / 1000.0);
    snprintf(window, sizeof window, "%g", WINDOW_MS / 1000.0);
    const char *drain[] = {"--drain-grace", grace, "--drain-seconds", window, NULL};
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-1", drain), 0);
    assert_int_equal(it_fabric_start_edge(ctx->fab, "edge-2", NULL), 1);
    for (int e = 0; e < 2; e++) {
        int port = it_fabric_edge_port(ctx->fab, e);
        char body[512];
        assert_int_equal(s_http(port, "GET", "/health", body, sizeof body), 200);
        assert_non_null(strstr(body, "{\"status\":\"ok\",\"loop_age_ms\":"));
        /* Ready once the SUB has connected (the monitor event may lag the start a little). */
        assert_true(s_wait_http(ctx, port, "/ready", 200,
                                "{\"status\":\"ready\",\"router\":\"connected\",\"history\":\"ok\"",
                                5000) >= 0);
        /* /drain is refused to anything but POST; from loopback POST would start it. */
        assert_int_equal(s_http(port, "GET", "/drain", body, sizeof body), 405);
    }
    ctx->ready = 1;
}

/* SIGKILL the router: /ready 503 router_disconnected on both edges, /health still 200; the
 * router back: /ready 200 again. */
static void test_ready_follows_router(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    assert_int_equal(it_fabric_signal_router(ctx->fab, SIGKILL), 128 + SIGKILL);
    for (int e = 0; e < 2; e++) {
        int port = it_fabric_edge_port(ctx->fab, e);
        int took =
            s_wait_http(ctx, port, "/ready", 503,
                        "{\"status\":\"not_ready\",\"reasons\":[\"router_disconnected\"]", 5000);
        assert_true(took >= 0);
        printf("ops_edge_drain: edge-%d /ready 503 router_disconnected %d ms after SIGKILL\n",
               e + 1, took);
        char body[512];
        assert_int_equal(s_http(port, "GET", "/health", body, sizeof body), 200);
    }
    assert_int_equal(it_fabric_start_router(ctx->fab, NULL), 0);
    for (int e = 0; e < 2; e++)
        assert_true(s_wait_http(ctx, it_fabric_edge_port(ctx->fab, e), "/ready", 200,
                                "\"status\":\"ready\"", 10000) >= 0);
    ctx->epoch = it_router_epoch(ctx->fab);
    assert_true(ctx->epoch != 0);
    ctx->ready = 1;
}

/* HAProxy, the clients through it, the publisher. */
static void test_load(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    ctx->wsc = ts_wsc_new();
    assert_non_null(ctx->wsc);
    ctx->fencer = weft_pub_new(it_fabric_intake(ctx->fab), NULL);
    assert_non_null(ctx->fencer);
    ctx->lb_port = it_fabric_start_haproxy(ctx->fab);
    assert_true(ctx->lb_port > 0);
    ctx->pacer = it_pacer_new(it_fabric_intake(ctx->fab), "drain", N_ROOMS, N_EVENTS, RATE);
    assert_non_null(ctx->pacer);
    ctx->crowd = it_crowd_new(ctx->wsc, ctx->pacer, "client", N_CLIENTS, ctx->lb_port, 1, 1);
    assert_non_null(ctx->crowd);
    assert_int_equal(it_crowd_wait_joined(ctx->crowd, 60000), 0);
    for (int e = 0; e < 2; e++)
        assert_int_equal(it_fence(ctx->fab, e, ctx->wsc, ctx->fencer, IT_WAIT_MS), 0);
    ctx->ready = 1;
}

/* Connections made by every client so far. */
static unsigned s_connections(it_crowd_t *crowd)
{
    unsigned n = 0;
    for (int i = 0; i < it_crowd_size(crowd); i++)
        n += ts_wsc_connections(it_crowd_client(crowd, i));
    return n;
}

/* SIGTERM edge-1 under load: not ready at once, clients moved off with 1012 over the window,
 * exit 0; every event delivered exactly once. */
static void test_drain(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    ctx->ready = 0;
    assert_int_equal(it_pacer_start(ctx->pacer), 0);
    while (it_pacer_progress(ctx->pacer) < N_EVENTS / 10)
        it_crowd_service(ctx->crowd, 20);
    int on_edge[N_CLIENTS], moved = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
        on_edge[i] = strcmp(ts_wsc_edge_id(c), "edge-1") == 0;
        assert_int_equal(ts_wsc_closes(c), 0);
        moved += on_edge[i];
    }
    assert_true(moved >= N_CLIENTS / 4); /* round robin put a good share on edge-1 */
    ts_proc_t *edge = it_fabric_edge(ctx->fab, 0);
    int port = it_fabric_edge_port(ctx->fab, 0);
    uint64_t t0 = base_clock_ms();
    assert_int_equal(ts_proc_signal(edge, SIGTERM), 0);
    /* Not ready at once (the signal is read by the loop: allow it a moment). */
    int took = s_wait_http(ctx, port, "/ready", 503,
                           "{\"status\":\"draining\",\"reasons\":[\"draining\"]", 300);
    assert_true(took >= 0);
    /* Still serving during the grace: alive, and nobody closed yet. */
    char body[512];
    assert_int_equal(s_http(port, "GET", "/health", body, sizeof body), 200);
    /* Service the clients until edge-1 exits, sampling the connection count for the rate. */
    static unsigned samples[SAMPLES];
    static uint64_t sample_at[SAMPLES];
    int ns = 0;
    uint64_t deadline = t0 + GRACE_MS + WINDOW_MS + 10000;
    while (ts_proc_running(edge) && base_clock_ms() < deadline) {
        if (ns < SAMPLES) {
            samples[ns] = s_connections(ctx->crowd);
            sample_at[ns++] = base_clock_ms();
        }
        it_crowd_service(ctx->crowd, 20);
    }
    uint64_t exited = base_clock_ms();
    assert_int_equal(ts_proc_wait(edge, 1000), 0);
    assert_int_equal(ts_proc_exit_code(edge), 0);
    /* Every drained client closed exactly once, inside the window, and the edge says 1012. */
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        ts_wsc_conn_t *c = it_crowd_client(ctx->crowd, i);
        if (!on_edge[i]) {
            assert_int_equal(ts_wsc_closes(c), 0);
            continue;
        }
        if (ts_wsc_closes(c) != 1)
            fail_msg("%s: %u closes (want exactly one)", ts_wsc_describe(c), ts_wsc_closes(c));
        uint64_t at = ts_wsc_closed_at(c);
        first = at < first ? at : first;
        last = at > last ? at : last;
    }
    char want[64];
    snprintf(want, sizeof want, " 1001_shutdown=0 ");
    assert_int_equal(ts_proc_log_count(edge, want), 1);
    snprintf(want, sizeof want, " 1012_service_restart=%d\n", moved);
    assert_int_equal(ts_proc_log_count(edge, want), 1);
    printf("ops_edge_drain: /ready 503 %d ms after SIGTERM; %d clients closed with 1012 from "
           "%llu ms to %llu ms after SIGTERM (grace %d ms, window %d ms); exit 0 at %llu ms\n",
           took, moved, (unsigned long long)(first - t0), (unsigned long long)(last - t0), GRACE_MS,
           WINDOW_MS, (unsigned long long)(exited - t0));
    /* The first close after the grace (clock granularity: 100 ms), the last in the window's
     * last part: spread, not all at once. */
    assert_true(first - t0 >= GRACE_MS - 100);
    assert_true(first - t0 <= GRACE_MS + WINDOW_MS / 4);
    assert_true(last - first >= WINDOW_MS / 2);
    assert_true(last - t0 <= GRACE_MS + WINDOW_MS + 1000);
    /* The peak rate of new connections over any second: the reconnects land on edge-2. */
    unsigned peak = 0;
    for (int i = 0, j = 0; i < ns; i++) {
        while (sample_at[i] - sample_at[j] > 1000)
            j++;
        peak = samples[i] - samples[j] > peak ? samples[i] - samples[j] : peak;
    }
    printf("ops_edge_drain: peak connection rate on edge-2: %u new connections in one second "
           "(%d clients moved over %d ms; all at once would be %d)\n",
           peak, moved, WINDOW_MS, moved);
    assert_true(peak < (unsigned)moved * 6 / 10);
    /* Everybody is back, on edge-2, and receives everything exactly once. */
    assert_int_equal(it_crowd_wait_joined(ctx->crowd, 30000), 0);
    for (int i = 0; i < N_CLIENTS; i++)
        assert_string_equal(ts_wsc_edge_id(it_crowd_client(ctx->crowd, i)), "edge-2");
    uint64_t t_start = base_clock_ms();
    while (!it_pacer_done(ctx->pacer)) {
        it_crowd_service(ctx->crowd, 20);
        if (base_clock_ms() - t_start > 120000)
            fail_msg("publishing took over 120 s");
    }
    weft_pub_stats_t stats;
    assert_int_equal(it_pacer_finish(ctx->pacer, 60000, &stats), 0);
    assert_int_equal(stats.acked, N_EVENTS);
    assert_int_equal(stats.lost, 0);
    assert_int_equal(it_crowd_wait_caught_up(ctx->crowd, 60000), 0);
    assert_int_equal(it_crowd_check(ctx->crowd, IT_EXPECT_GAPLESS, ctx->epoch, 0), 0);
    ctx->ready = 1;
}

/* The rest stops cleanly. */
static void test_shutdown(void **state)
{
    test_ctx_t *ctx = *state;
    if (!ctx->ready)
        skip();
    assert_int_equal(it_scenario_end(ctx->fab, &ctx->fencer, &ctx->pacer), 0);
}

int main(void)
{
    static test_ctx_t ctx;
    ctx.fab = it_fabric_new("ops_edge_drain");
    if (!ctx.fab)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_health_ready, &ctx),
        cmocka_unit_test_prestate(test_ready_follows_router, &ctx),
        cmocka_unit_test_prestate(test_load, &ctx),
        cmocka_unit_test_prestate(test_drain, &ctx),
        cmocka_unit_test_prestate(test_shutdown, &ctx),
    };
    int failed = cmocka_run_group_tests_name("ops_edge_drain", tests, NULL, NULL);
    it_scenario_free(&ctx.fab, &ctx.wsc, &ctx.fencer, &ctx.pacer, &ctx.crowd, 1, failed);
    return failed ? 1 : 0;
}
