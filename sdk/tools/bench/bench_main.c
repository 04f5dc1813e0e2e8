/*
 * bench_main.c: weft-bench, the benchmark of a Weft fabric (docs/performance.md).
 *
 * main() parses the settings, sets up a session (bench_session.h) and decides what to run: one
 * rate --repeat times, a search for the highest rate that holds, or an idle measurement; or it
 * hands the whole run to the soak (bench_soak.h), which has its own clients. It
 * prints a table for people on stdout (stderr when the JSON goes to stdout) and writes JSON for
 * machines with --json.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_opts.h"
#include "bench_report.h"
#include "bench_session.h"
#include "bench_soak.h"
#include "weft/version.h"
#include "base_log.h"

#define MAX_PROBES 48 /* rates a search may try */
#define MAX_REPEAT 64 /* runs per rate */

/* Set by the signal handler; every wait of the session polls it. The one global a main file may
 * keep. */
static volatile sig_atomic_t s_stop;

/* Records SIGINT/SIGTERM; the session notices, stops publishing and cleans up. */
static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* One rate of a search: its runs and their medians. */
typedef struct probe {
    double rate;                     /* events per second */
    size_t nruns;                    /* runs made */
    bench_sample_t runs[MAX_REPEAT]; /* their figures */
    bench_sample_t median;           /* medians of runs */
    bool held;                       /* the median run held */
} probe_t;

/* Runs one rate opts->repeat times into p. Returns 0 or -1. */
static int s_probe(bench_session_t *session, const bench_opts_t *o, double rate, probe_t *p)
{
    p->rate = rate;
    p->nruns = 0;
    for (int i = 0; i < o->repeat && i < MAX_REPEAT; i++) {
        if (bench_session_run(session, rate, &p->runs[p->nruns]) < 0)
            return -1;
        p->nruns++;
    }
    bench_sample_median(p->runs, p->nruns, &p->median);
    p->held = p->median.v[BENCH_M_HELD] >= 0.5;
    return 0;
}

/* The settings worth recording with the results. */
static json_t *s_config_json(const bench_opts_t *o)
{
    json_t *j =
        json_pack("{s:s, s:b, s:i, s:i, s:i, s:f, s:f, s:f, s:I, s:b, s:i, s:i, s:f, s:b}", "mode",
                  o->mode, "spawn", o->spawn, "clients", o->clients, "rooms", o->rooms, "edges",
                  o->edges, "rate", o->rate, "duration", o->duration, "warmup", o->warmup,
                  "payload", (json_int_t)o->payload, "batch", o->batch, "publishers", o->publishers,
                  "repeat", o->repeat, "p99_limit_ms", o->p99_limit_ms, "search", o->search);
    if (j) {
        json_object_set_new(j, "publisher", json_string(o->publisher));
        json_object_set_new(j, "floor_pack", json_integer(o->floor_pack));
        json_object_set_new(j, "router_cpu", json_integer(o->router_cpu));
        json_object_set_new(j, "bench_cpu", json_integer(o->bench_cpu));
        json_object_set_new(j, "critical_every", json_integer(o->critical_every));
        json_object_set_new(j, "edge_arg", json_string(o->edge_arg));
        json_object_set_new(j, "auth", json_boolean(o->auth_secret[0] != '\0'));
        if (o->mode_id == BENCH_MODE_SOAK) {
            json_object_set_new(j, "soak_sample", json_real(o->soak_sample));
            json_object_set_new(j, "soak_kill_every", json_real(o->soak_kill_every));
        }
    }
    return j;
}

/* Searches for the highest rate that holds: doubling from --rate until one fails, then bisecting
 * --search-steps times. Prints the probes, fills *json. Returns the highest held rate (0 when
 * none held) or -1 when a run could not be made. */
static double s_search(bench_session_t *session, const bench_opts_t *o, FILE *out, json_t **json)
{
    probe_t *probes = calloc(MAX_PROBES, sizeof *probes);
    if (!probes)
        return -1;
    size_t n = 0;
    double lo = 0, hi = 0, rate = o->rate, result = -1;
    while (n < MAX_PROBES) {
        if (s_probe(session, o, rate, &probes[n]) < 0)
            goto done;
        if (!probes[n++].held) {
            hi = rate;
            break;
        }
        lo = rate;
        if (rate >= o->search_max)
            break;
        rate = fmin(rate * 2, o->search_max);
    }
    for (int step = 0; hi > 0 && step < o->search_steps && n < MAX_PROBES; step++) {
        double mid = (lo + hi) / 2;
        if ((hi - lo) / hi < 0.02)
            break;
        if (s_probe(session, o, mid, &probes[n]) < 0)
            goto done;
        if (probes[n++].held)
            lo = mid;
        else
            hi = mid;
    }
    result = lo;
done:
    fprintf(out, "\nsearch: highest rate with no loss and p99 < %.1f ms (medians of %d run(s))\n",
            o->p99_limit_ms, o->repeat);
    fprintf(out, "  %12s %6s %14s %12s %12s %10s %14s\n", "rate (ev/s)", "held", "deliveries/s",
            "p50 (ms)", "p99 (ms)", "lost", "us/delivery");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const double *v = probes[i].median.v;
        fprintf(out, "  %12.0f %6s %14.0f %12.3f %12.3f %10.0f %14.3f\n", probes[i].rate,
                probes[i].held ? "yes" : "no", v[BENCH_M_DELIVERIES_PER_S], v[BENCH_M_LAT_P50],
                v[BENCH_M_LAT_P99], v[BENCH_M_LOST], v[BENCH_M_US_PER_DELIVERY]);
        json_t *pj = bench_report_json(probes[i].runs, probes[i].nruns);
        if (pj) {
            json_object_set_new(pj, "rate", json_real(probes[i].rate));
            json_object_set_new(pj, "held", json_boolean(probes[i].held));
            json_array_append_new(arr, pj);
        }
    }
    if (result >= 0)
        fprintf(out, "  max held rate: %.0f events/s%s\n", result,
                result == 0 ? " (even the first rate failed: try a lower --rate)" : "");
    *json = json_pack("{s:o, s:f, s:f}", "probes", arr, "max_held_rate", result < 0 ? 0 : result,
                      "p99_limit_ms", o->p99_limit_ms);
    free(probes);
    return result;
}

/* Writes doc to path ("-" = stdout). Returns 0 or -1. */
static int s_write_json(json_t *doc, const char *path, base_log_t *log)
{
    int rc = strcmp(path, "-") == 0 ? json_dumpf(doc, stdout, JSON_INDENT(2))
                                    : json_dump_file(doc, path, JSON_INDENT(2));
    if (rc != 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot write JSON to %s", path);
        return -1;
    }
    if (strcmp(path, "-") == 0)
        fputc('\n', stdout);
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts_t opts;
    memset(&opts, 0, sizeof opts);
    base_conf_action_t action = bench_opts_parse(&opts, argc, argv, stdout, stderr);
    if (action != BASE_CONF_RUN) {
        bench_opts_free(&opts);
        return action == BASE_CONF_EXIT_OK ? 0 : 2;
    }
    base_log_t *log = base_log_new("weft-bench", (weft_log_level_t)opts.log_level, stderr);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* With JSON on stdout, the table goes to stderr so that stdout stays parseable. */
    FILE *out = strcmp(opts.json, "-") == 0 ? stderr : stdout;

    int exit_code = 1;
    bool failed = true;
    json_t *doc = json_object();
    json_object_set_new(doc, "tool", json_string("weft-bench"));
    json_object_set_new(doc, "version", json_string(WEFT_VERSION_STRING));
    json_object_set_new(doc, "config", s_config_json(&opts));
    bench_session_t *session = NULL;
    if (opts.mode_id == BENCH_MODE_SOAK) { /* its own clients and fabric: no session */
        json_t *sj = NULL;
        bench_soak_t *soak = bench_soak_new(&opts, log, &s_stop);
        int rc = soak ? bench_soak_run(soak, out, &sj) : -1;
        if (sj)
            json_object_set_new(doc, "soak", sj);
        bench_soak_destroy(&soak, rc < 0);
        failed = rc < 0;
        exit_code = rc == 0 ? 0 : 1;
        goto done;
    }
    session = bench_session_new(&opts, log, &s_stop);
    if (!session || bench_session_prepare(session) < 0)
        goto done;

    if (opts.mode_id == BENCH_MODE_IDLE) {
        bench_sample_t s;
        if (bench_session_idle(session, &s) < 0)
            goto done;
        bench_report_table(out, "weft-bench: idle connections", &s, 1);
        json_object_set_new(doc, "result", bench_report_json(&s, 1));
        exit_code = s.v[BENCH_M_CLIENTS] == opts.clients ? 0 : 1;
    } else if (opts.search) {
        json_t *sj = NULL;
        double best = s_search(session, &opts, out, &sj);
        if (sj)
            json_object_set_new(doc, "search", sj);
        if (best < 0)
            goto done;
        exit_code = 0;
    } else {
        bench_sample_t runs[MAX_REPEAT];
        size_t n = 0;
        for (int i = 0; i < opts.repeat && i < MAX_REPEAT; i++) {
            if (bench_session_run(session, opts.rate, &runs[n]) < 0)
                break;
            n++;
        }
        if (n == 0)
            goto done;
        char title[256];
        if (opts.mode_id == BENCH_MODE_ROUTER)
            snprintf(title, sizeof title, "weft-bench: router only, %d room(s), %.0f events/s%s%s",
                     opts.rooms, opts.rate, opts.publisher[0] == 'r' ? ", raw publisher" : "",
                     n > 1 ? " (medians)" : "");
        else if (opts.mode_id == BENCH_MODE_FLOOR)
            snprintf(title, sizeof title,
                     "weft-bench: %d clients, %d room(s), %.0f events/s, pack %d (floor server: "
                     "the edge rows are the floor server's)%s",
                     opts.clients, opts.rooms, opts.rate, opts.floor_pack,
                     n > 1 ? " (medians)" : "");
        else
            snprintf(title, sizeof title,
                     "weft-bench: %d clients, %d room(s), %d edge(s), %.0f "
                     "events/s%s",
                     opts.clients, opts.rooms, opts.spawn ? opts.edges : 0, opts.rate,
                     n > 1 ? " (medians)" : "");
        bench_report_table(out, title, runs, n);
        json_object_set_new(doc, "result", bench_report_json(runs, n));
        exit_code = 0;
        for (size_t i = 0; i < n; i++)
            if (runs[i].v[BENCH_M_HELD] != 1)
                exit_code = 1;
        if (n < (size_t)opts.repeat)
            goto done;
    }
    failed = false;
done:
    bench_session_destroy(&session, failed);
    if (opts.json[0] && s_write_json(doc, opts.json, log) < 0)
        exit_code = 1;
    json_decref(doc);
    base_log_destroy(&log);
    bench_opts_free(&opts);
    return failed ? 1 : exit_code;
}
