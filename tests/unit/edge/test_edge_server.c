/*
 * test_edge_server.c: the server in process: started on port 0 with a configuration (no router
 * needed: the feed and history connect in the background), run on a thread of its own, and
 * driven by the test WebSocket client (tests/support ts_wsc) and a raw socket: the welcome
 * frame, subscribe and error answers, static files, a 404 for an upgrade on another path, and a
 * clean stop through the signalfd that closes the clients with 1001. The integration tests
 * cover the rest with the real daemons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "edge_server.h"
#include "ts_wsc.h"

#define WAIT_MS 5000

/* The server and the thread that runs it. */
typedef struct fix {
    edge_config_t conf;
    base_log_t *log;
    edge_server_t *server;
    pthread_t thread;
    int rc; /* edge_server_run()'s result */
} fix_t;

/* The server's thread. */
static void *s_run(void *arg)
{
    fix_t *f = arg;
    f->rc = edge_server_run(f->server);
    return NULL;
}

/* Sends request on a new connection to port and reads the reply's first line into line. */
static void s_http(int port, const char *request, char *line, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t used = 0;
    while (used < cap - 1) {
        ssize_t n = read(fd, line + used, cap - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    line[used] = '\0';
    char *eol = strpbrk(line, "\r\n");
    if (eol)
        *eol = '\0';
    close(fd);
}

static void test_serve_and_stop(void **state)
{
    (void)state;
    fix_t f = {0};
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    char *argv[] = {"weft-edge",
                    "--port",
                    "0",
                    "--bind",
                    "127.0.0.1",
                    "--router",
                    "tcp://127.0.0.1:1",
                    "--history",
                    "tcp://127.0.0.1:1",
                    "--www",
                    WEFT_WWW_DIR,
                    "--edge-id",
                    "unit-edge",
                    "--auth",
                    "none",
                    NULL};
    assert_int_equal(edge_config_from_args(&f.conf, 15, argv, "test", stdout, stderr),
                     BASE_CONF_RUN);
    f.log = base_log_new("test-edge", WEFT_LOG_WARN, NULL);
    assert_non_null(f.log);
    /* As main.c does: the stop signal is blocked before any thread exists, read by a signalfd. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGUSR1);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &stop, NULL), 0);
    int sigfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    assert_true(sigfd >= 0);
    f.server = edge_server_new(&f.conf, f.log, sigfd);
    assert_non_null(f.server);
    int port = edge_server_port(f.server);
    assert_true(port > 0);
    assert_int_equal(pthread_create(&f.thread, NULL, s_run, &f), 0);

    ts_wsc_t *wsc = ts_wsc_new();
    assert_non_null(wsc);
    ts_wsc_conn_t *c = ts_wsc_connect(wsc, port, "c");
    assert_non_null(c);
    assert_int_equal(ts_wsc_wait_open(c, WAIT_MS), 0);
    /* The welcome comes first and names the edge. */
    json_t *welcome = ts_wsc_frame(c, 0);
    assert_non_null(welcome);
    assert_string_equal(json_string_value(json_object_get(welcome, "op")), "welcome");
    assert_string_equal(ts_wsc_edge_id(c), "unit-edge");
    /* A subscribe is answered. */
    assert_int_equal(ts_wsc_subscribe(c, "room1", WAIT_MS), 0);
    /* An unsubscribe of a room not joined is an error with its code. */
    assert_int_equal(ts_wsc_send_text(c, "{\"op\":\"unsubscribe\",\"room\":\"nope\"}"), 0);
    size_t from = 0;
    json_t *err = ts_wsc_wait_op(c, "error", NULL, &from, WAIT_MS);
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "code")), "not_subscribed");
    assert_int_equal(ts_wsc_send_text(c, "{\"op\":\"ping\"}"), 0);
    assert_int_equal(ts_wsc_wait_count(c, "pong", NULL, 1, WAIT_MS), 0);

    /* Static files at /, and only /ws upgrades. */
    char line[256];
    s_http(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", line, sizeof line);
    assert_string_equal(line, "HTTP/1.1 200 OK");
    s_http(port,
           "GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
           line, sizeof line);
    assert_non_null(strstr(line, " 404 Not Found")); /* lws answers an error with HTTP/1.0 */
    assert_true(ts_wsc_is_open(c));

    /* A stop signal: the client is closed with 1001, and the loop ends. */
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(ts_wsc_wait_closed(c, WAIT_MS), 0);
    assert_int_equal(ts_wsc_close_code(c), 1001);
    assert_string_equal(ts_wsc_close_reason(c), "edge shutting down");
    assert_int_equal(pthread_join(f.thread, NULL), 0);
    assert_int_equal(f.rc, 0);
    const edge_stats_t *st = edge_server_stats(f.server);
    assert_int_equal(st->conns_total, 1);
    assert_int_equal(st->conns_current, 0);
    assert_int_equal(st->conns_refused, 1);
    assert_int_equal(st->closes[EDGE_CLOSE_GOING_AWAY], 1);
    assert_int_equal(st->errors[EDGE_ERR_NOT_SUBSCRIBED], 1);
    assert_int_equal(st->msgs_in, 3);
    assert_int_equal(st->subs_added, 1);

    ts_wsc_destroy(&wsc);
    edge_server_destroy(&f.server);
    assert_null(f.server);
    edge_server_destroy(&f.server);
    base_log_destroy(&f.log);
    edge_config_free(&f.conf);
}

static void test_bad_config(void **state)
{
    (void)state;
    edge_config_t conf;
    char *argv[] = {"weft-edge", "--port", "0", "--router", "tcp://127.0.0.1:1", "--auth", "none",
                    NULL};
    assert_int_equal(edge_config_from_args(&conf, 7, argv, "test", stdout, stderr), BASE_CONF_RUN);
    base_log_t *log = base_log_new("test-edge", WEFT_LOG_ERROR, NULL);
    /* Not a class list: the server refuses to start, and frees what it made. */
    free(conf.classes);
    conf.classes = strdup("=");
    assert_non_null(conf.classes);
    assert_null(edge_server_new(&conf, log, -1));
    base_log_destroy(&log);
    edge_config_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_and_stop),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
