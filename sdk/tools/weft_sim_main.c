/*
 * weft_sim_main.c: weft-sim, a load generator that behaves like a fleet of agents.
 *
 * N simulated agents (sim_agent.c) each own a weft_pub_t whose publisher id is the agent id. The
 * main loop paces the fleet to the requested total rate with absolute clock_nanosleep deadlines
 * (so that the rate does not drift with the time spent publishing), giving the agents turns in
 * round-robin order. It prints a stats line every 5 s and a summary at the end, and stops cleanly
 * on SIGINT or SIGTERM: it flushes every publisher before exiting.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_agent.h"

#include "base_clock.h"
#include "weft.h"

#define EXIT_USAGE 2
#define STATS_EVERY_NS (5 * 1000000000LL) /* stats line interval */
#define MAX_BEHIND_NS 1000000000LL        /* after a stall, forget debt older than this */

/* Set by the signal handler; main's loop polls it. The one global a main file may keep. */
static volatile sig_atomic_t s_stop;

/* Command-line settings. */
typedef struct sim_args {
    const char *endpoint; /* router intake endpoint */
    unsigned agents;      /* simulated agents */
    double rate;          /* events per second, all agents together */
    double duration;      /* seconds to run, 0 = until a signal */
    unsigned projects;    /* projects the agents are spread over */
    uint64_t seed;        /* generator seed */
    bool seed_given;      /* --seed was passed (else one is made up and printed) */
    int timeout_ms;       /* how long the final flush may take */
    const char *curve_server; /* CURVE: the router's public key or certificate file */
    const char *curve_cert;   /* CURVE: the agents' secret certificate file (one shared key) */
} sim_args_t;

/* Records the signal; everything else happens in the main loop. */
static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Prints usage to out. */
static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: weft-sim [options]\n"
            "Simulate a fleet of agents publishing realistic traffic to a Weft router: agent\n"
            "status changes, task progress and completions, CPU and memory metrics, log lines\n"
            "and rare critical errors, into rooms agent:<i>, project:<p> and global.\n"
            "\n"
            "Options:\n"
            "  --endpoint E      router intake endpoint (default tcp://127.0.0.1:5555)\n"
            "  --agents N        simulated agents, one publisher each (default 10)\n"
            "  --rate R          events per second, all agents together (default 50)\n"
            "  --duration S      seconds to run; 0 runs until SIGINT/SIGTERM (default 0)\n"
            "  --projects P      projects the agents belong to, agent i in i %% P (default 3)\n"
            "  --seed X          seed for reproducible traffic (default: from the clock)\n"
            "  --timeout-ms N    how long the final flush may take (default 5000)\n"
            "  --curve-server-key K  the router's public key (Z85) or certificate file (CURVE)\n"
            "  --curve-cert F    the agents' secret certificate file (weft-keygen NAME_secret)\n"
            "  --help            this text\n"
            "\n"
            "Prints a stats line every 5 s and a summary at the end (stderr). Exit status: 0\n"
            "when every event was acknowledged, 1 otherwise, 2 on a usage error.\n");
}

/* Parses an unsigned integer in [min, max]; returns false when it is not one. */
static bool s_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (text[0] == '-')
        return false;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses a number in [min, max]; returns false when it is not one. */
static bool s_parse_double(const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

/* Parses argv into a. Returns 0 to run, 1 when --help was printed, -1 on a usage error. */
static int s_parse_args(int argc, char **argv, sim_args_t *a)
{
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"agents", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"projects", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"curve-server-key", required_argument, NULL, 'S'},
        {"curve-cert", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    *a = (sim_args_t){.endpoint = "tcp://127.0.0.1:5555",
                      .agents = 10,
                      .rate = 50,
                      .duration = 0,
                      .projects = 3,
                      .timeout_ms = 5000};
    opterr = 0;
    int c;
    int which = 0;
    uint64_t u;
    while ((c = getopt_long(argc, argv, "h", options, &which)) != -1) {
        bool ok = true;
        switch (c) {
        case 'e':
            a->endpoint = optarg;
            break;
        case 'n':
            ok = s_parse_u64(optarg, 1, 100000, &u);
            a->agents = (unsigned)u;
            break;
        case 'r':
            ok = s_parse_double(optarg, 0.001, 1e7, &a->rate);
            break;
        case 'd':
            ok = s_parse_double(optarg, 0, 1e9, &a->duration);
            break;
        case 'p':
            ok = s_parse_u64(optarg, 1, 1000000, &u);
            a->projects = (unsigned)u;
            break;
        case 's':
            ok = s_parse_u64(optarg, 0, UINT64_MAX, &a->seed);
            a->seed_given = true;
            break;
        case 't':
            ok = s_parse_u64(optarg, 0, 86400000, &u);
            a->timeout_ms = (int)u;
            break;
        case 'S':
            a->curve_server = optarg;
            break;
        case 'C':
            a->curve_cert = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 1;
        default:
            fprintf(stderr, "weft-sim: unknown option or missing value: %s (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "weft-sim: --%s: bad value '%s' (see --help)\n", options[which].name,
                    optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "weft-sim: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Passes the SDK's warnings and errors to stderr. */
static void s_log(int level, const char *message, void *arg)
{
    (void)arg;
    if (level <= WEFT_LOG_WARN)
        fprintf(stderr, "weft-sim: %s\n", message);
}

/* Sums the counters of every publisher; connected counts the connected ones. */
static weft_pub_stats_t s_total(weft_pub_t **pubs, unsigned n)
{
    weft_pub_stats_t total = {0};
    for (unsigned i = 0; i < n; i++) {
        weft_pub_stats_t st;
        weft_pub_stats(pubs[i], &st);
        total.published += st.published;
        total.acked += st.acked;
        total.refused += st.refused;
        total.invalid += st.invalid;
        total.resent += st.resent;
        total.buffered += st.buffered;
        total.connected += st.connected;
    }
    return total;
}

/* Prints one stats line. */
static void s_print_stats(const char *what, double elapsed_s, const weft_pub_stats_t *t,
                          unsigned agents)
{
    fprintf(stderr,
            "weft-sim: %s t=%.1fs published=%" PRIu64 " acked=%" PRIu64 " refused=%" PRIu64
            " invalid=%" PRIu64 " resent=%" PRIu64 " buffered=%" PRIu64
            " connected=%d/%u rate=%.1f/s\n",
            what, elapsed_s, t->published, t->acked, t->refused, t->invalid, t->resent, t->buffered,
            t->connected, agents, elapsed_s > 0 ? (double)t->published / elapsed_s : 0.0);
}

/* Sets the fleet up, paces it, then flushes and prints the summary. */
int main(int argc, char **argv)
{
    sim_args_t a;
    int parsed = s_parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    if (!a.seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        a.seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    weft_log_set(s_log, NULL);

    int rc = 1;
    sim_agent_t **agents = calloc(a.agents, sizeof *agents);
    weft_pub_t **pubs = calloc(a.agents, sizeof *pubs);
    if (!agents || !pubs) {
        fprintf(stderr, "weft-sim: out of memory\n");
        goto done;
    }
    for (unsigned i = 0; i < a.agents; i++) {
        agents[i] = sim_agent_new(i, a.projects, a.seed);
        weft_pub_opts_t opts;
        weft_pub_opts_init(&opts);
        opts.publisher_id = agents[i] ? sim_agent_id(agents[i]) : NULL;
        opts.linger_ms = 0; /* the final flush below already waited */
        opts.curve_server_key = a.curve_server;
        opts.curve_cert = a.curve_cert;
        pubs[i] = agents[i] ? weft_pub_new(a.endpoint, &opts) : NULL;
        if (!pubs[i]) {
            fprintf(stderr, "weft-sim: cannot create agent %u for %s\n", i, a.endpoint);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    fprintf(stderr, "weft-sim: %u agents, %u projects, %.1f events/s to %s, seed=%" PRIu64 ", %s\n",
            a.agents, a.projects, a.rate, a.endpoint, a.seed,
            a.duration > 0 ? "for a fixed duration" : "until SIGINT/SIGTERM");

    const int64_t start = base_clock_ns();
    const int64_t end = a.duration > 0 ? start + (int64_t)(a.duration * 1e9) : INT64_MAX;
    const double interval_ns = 1e9 / a.rate;
    int64_t next_stats = start + STATS_EVERY_NS;
    uint64_t ticks = 0;
    while (!s_stop) {
        int64_t now = base_clock_ns();
        if (now >= end)
            break;
        if (now >= next_stats) {
            weft_pub_stats_t t = s_total(pubs, a.agents);
            s_print_stats("stats", (double)(now - start) / 1e9, &t, a.agents);
            next_stats += STATS_EVERY_NS;
        }
        unsigned i = (unsigned)(ticks % a.agents);
        sim_event_t ev;
        sim_agent_next(agents[i], &ev);
        int prc = weft_publish_key(pubs[i], ev.room, ev.type, ev.key[0] ? ev.key : NULL, ev.json,
                                   ev.flags);
        if (prc != 0 && prc != WEFT_EFULL) /* EFULL is counted as refused and shown in stats */
            fprintf(stderr, "weft-sim: %s: %s\n", sim_agent_id(agents[i]), weft_strerror(prc));
        ticks++;

        /* The deadline of the next event, relative to the start so that it does not drift. */
        int64_t due = start + (int64_t)((double)ticks * interval_ns);
        if (due < now - MAX_BEHIND_NS) {
            /* We stalled (a suspended process, a slow machine): do not burst to catch up. */
            ticks = (uint64_t)((double)(now - start) / interval_ns);
            due = now;
        }
        if (due > end)
            due = end;
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        while (!s_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    if (s_stop)
        fprintf(stderr, "weft-sim: stopping, flushing %u publishers\n", a.agents);

    /* One deadline for the whole flush, shared by the publishers. */
    int64_t flush_end = base_clock_ns() + (int64_t)a.timeout_ms * 1000000LL;
    for (unsigned i = 0; i < a.agents; i++) {
        int64_t left_ms = (flush_end - base_clock_ns()) / 1000000LL;
        weft_pub_flush(pubs[i], left_ms > 0 ? (int)left_ms : 0);
    }
    weft_pub_stats_t t = s_total(pubs, a.agents);
    s_print_stats("summary", (double)(base_clock_ns() - start) / 1e9, &t, a.agents);
    if (t.acked != t.published)
        fprintf(stderr, "weft-sim: %" PRIu64 " events not acknowledged within %d ms\n",
                t.published - t.acked, a.timeout_ms);
    rc = t.acked == t.published && t.refused == 0 && t.invalid == 0 ? 0 : 1;
    weft_log_set(NULL, NULL); /* the loss, if any, was reported above */
done:
    for (unsigned i = 0; agents && pubs && i < a.agents; i++) {
        weft_pub_destroy(&pubs[i]);
        sim_agent_destroy(&agents[i]);
    }
    free(pubs);
    free(agents);
    return rc;
}
