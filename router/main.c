/*
 * main.c: weft-router's entry point. Parses the configuration, blocks SIGTERM/SIGINT (stop) and
 * SIGHUP (reload rights) into a signalfd, and hands over to the server core (router/src), which
 * holds all the logic.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "rtr_config.h"
#include "rtr_server.h"
#include "weft/version.h"
#include "base_log.h"

static const char s_summary[] =
    "weft-router: validates events from agents, stamps them with (epoch, seq) per room and fans\n"
    "them out to weft-edge processes.";

/* Puts the calling thread under SCHED_BATCH, unless it already runs under another policy than
 * the default one (an operator's real-time choice wins). Called before ZeroMQ starts its
 * threads, which inherit the policy. A failure only costs speed, so it is a warning. */
static void s_sched_batch(base_log_t *log)
{
    if (sched_getscheduler(0) != SCHED_OTHER)
        return;
    struct sched_param param = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0)
        base_log(log, WEFT_LOG_WARN, "cannot switch to SCHED_BATCH: %s", strerror(errno));
}

/* Parses arguments, runs the router until SIGTERM/SIGINT, exits 0 (1 on any startup error). */
int main(int argc, char **argv)
{
    /* Show the program as "weft-router" in --help/--version whatever path started it. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "weft-router: out of memory\n");
        return 1;
    }
    memcpy(args, argv, (size_t)argc * sizeof *args);
    if (argc > 0)
        args[0] = "weft-router";

    rtr_config_t conf;
    base_conf_action_t action = base_conf_from_args(rtr_config_table(), &conf, argc, args,
                                                    s_summary, WEFT_VERSION_STRING, stdout, stderr);
    free(args);
    if (action != BASE_CONF_RUN) {
        rtr_config_free(&conf);
        return action == BASE_CONF_EXIT_OK ? 0 : 1;
    }

    int rc = 1;
    int sigfd = -1;
    rtr_server_t *server = NULL;
    base_log_t *log = base_log_new("weft-router", (weft_log_level_t)conf.log_level, stderr);
    if (!log) {
        fprintf(stderr, "weft-router: out of memory\n");
        goto done;
    }
    /* Blocked before ZeroMQ starts its threads, so they inherit the mask and the signals can
     * only arrive through the signalfd the loop polls. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP); /* reloads the rights file (rtr_server.c) */
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot set up signal handling: %s", strerror(errno));
        goto done;
    }
    if (conf.sched_batch)
        s_sched_batch(log);
    /* lws serves only the metrics listener here: its start-up notices are chatter, its errors
     * and warnings go to stderr in lws's own format. */
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    server = rtr_server_new(&conf, log);
    if (!server)
        goto done;
    rc = rtr_server_run(server, sigfd) == 0 ? 0 : 1;
done:
    rtr_server_destroy(&server);
    if (sigfd >= 0)
        close(sigfd);
    base_log_destroy(&log);
    rtr_config_free(&conf);
    return rc;
}
