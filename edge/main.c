/*
 * main.c: the weft-edge program. It parses the configuration, sets up the logger (and routes
 * lws's own logs into it), turns SIGINT/SIGTERM (stop) and SIGHUP (reload the TLS certificate)
 * into a signalfd the server's loop reads, and runs the server. Everything else lives in
 * weft_edge_core.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <libwebsockets.h>

#include "edge_config.h"
#include "edge_server.h"
#include "weft/version.h"
#include "base_log.h"

/* lws's emit callback takes no user pointer, so the logger it writes to lives here. */
static base_log_t *s_log;

/* lws logs some hostile input itself (a header bomb: "Ran out of header data space", invalid
 * UTF-8 with a hex dump): rate-limited, so that a flood of it cannot flood the log. */
static base_limit_t s_lws_limit = {.burst = 20};

/* lws log emitter: strips lws's own "[timestamp] X: " prefix and the newline, maps the level. */
static void s_lws_emit(int level, const char *line)
{
    weft_log_level_t to = WEFT_LOG_DEBUG;
    if (level & LLL_ERR)
        to = WEFT_LOG_ERROR;
    else if (level & LLL_WARN)
        to = WEFT_LOG_WARN;
    else if (level & LLL_NOTICE)
        to = WEFT_LOG_INFO; /* lws notices are start-up chatter, not operator news */
    if (line[0] == '[') {
        const char *end = strstr(line, "] ");
        if (end) {
            line = end + 2;
            if (line[0] && line[1] == ':' && line[2] == ' ')
                line += 3;
        }
    }
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    base_log_limited(s_log, &s_lws_limit, to, "lws: %.*s", (int)len, line);
}

/* The lws log bits worth having at a given threshold of ours. */
static int s_lws_levels(int level)
{
    int bits = LLL_ERR | LLL_WARN;
    if (level >= WEFT_LOG_INFO)
        bits |= LLL_NOTICE;
    if (level >= WEFT_LOG_DEBUG)
        bits |= LLL_INFO;
    return bits;
}

/* Raises the descriptor limit to the hard limit (every WebSocket is one) and logs the result:
 * the usual soft limit of 1024 would cap the edge near a thousand clients. */
static void s_raise_nofile(base_log_t *log, int max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        base_log(log, WEFT_LOG_WARN, "cannot read RLIMIT_NOFILE: %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            base_log(log, WEFT_LOG_WARN, "cannot raise RLIMIT_NOFILE from %llu to %llu: %s",
                     (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
            rl.rlim_cur = was;
        }
    }
    /* Some descriptors go to the listener, ZeroMQ, the signalfd and lws itself. */
    weft_log_level_t level =
        rl.rlim_cur < (rlim_t)max_connections + 64 ? WEFT_LOG_NOTICE : WEFT_LOG_INFO;
    base_log(log, level, "descriptor limit %llu (max_connections %d)",
             (unsigned long long)rl.rlim_cur, max_connections);
}

int main(int argc, char **argv)
{
    edge_config_t conf;
    base_conf_action_t action =
        edge_config_from_args(&conf, argc, argv, WEFT_VERSION_STRING, stdout, stderr);
    if (action != BASE_CONF_RUN) {
        edge_config_free(&conf);
        return action == BASE_CONF_EXIT_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    int rc = EXIT_FAILURE;
    edge_server_t *server = NULL;
    s_log = base_log_new("weft-edge", (weft_log_level_t)conf.log_level, NULL);
    if (!s_log) {
        fprintf(stderr, "weft-edge: out of memory\n");
        goto done;
    }
    lws_set_log_level(s_lws_levels(conf.log_level), s_lws_emit);
    s_raise_nofile(s_log, conf.max_connections);

    /* Block the stop signals before any thread exists (ZeroMQ's I/O threads inherit the mask),
     * then read them from a signalfd inside the event loop. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0) {
        base_log(s_log, WEFT_LOG_ERROR, "cannot block signals");
        goto done;
    }
    int sigfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        base_log(s_log, WEFT_LOG_ERROR, "cannot create a signalfd");
        goto done;
    }
    server = edge_server_new(&conf, s_log, sigfd);
    if (!server)
        goto done;
    if (edge_server_run(server) == 0)
        rc = EXIT_SUCCESS;
    edge_stats_log(edge_server_stats(server), s_log, WEFT_LOG_NOTICE, "exit");
done:
    edge_server_destroy(&server);
    if (s_log)
        base_log(s_log, rc == EXIT_SUCCESS ? WEFT_LOG_NOTICE : WEFT_LOG_ERROR, "exiting (%s)",
                 rc == EXIT_SUCCESS ? "ok" : "error");
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    base_log_destroy(&s_log);
    edge_config_free(&conf);
    return rc;
}
