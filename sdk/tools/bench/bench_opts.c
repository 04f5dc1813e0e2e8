/*
 * bench_opts.c: weft-bench's settings table and their checks (see bench_opts.h).
 */
#include "bench_opts.h"

#include <stdlib.h>
#include <string.h>

#include "weft/version.h"

#define O(field) offsetof(bench_opts_t, field)

static const base_conf_entry_t s_table[] = {
    {"mode", BASE_CONF_STR, O(mode), "fabric", 0, 16,
     "fabric (agents -> router -> edges -> WebSocket clients), router (router only, counted on a "
     "raw ZeroMQ SUB), idle (connections only: edge memory per connection), floor (no fabric: "
     "a bare single-thread epoll server forked by the bench writes one pre-framed buffer per "
     "event to every client; its CPU shows in the edge rows) or soak (--duration seconds of "
     "churn, resumes, subscription changes, slow clients and edge kills, RSS and descriptors "
     "of every process sampled; needs --spawn)"},
    {"spawn", BASE_CONF_BOOL, O(spawn), "false", 0, 0,
     "start a private weft-router and --edges weft-edges on free 127.0.0.1 ports"},
    {"router_bin", BASE_CONF_STR, O(router_bin), NULL, 0, 0,
     "weft-router to spawn (empty: next to weft-bench, in the build tree, or on PATH)"},
    {"edge_bin", BASE_CONF_STR, O(edge_bin), NULL, 0, 0, "weft-edge to spawn (as --router-bin)"},
    {"router_arg", BASE_CONF_STR, O(router_arg), NULL, 0, 0,
     "extra flags for the spawned router, e.g. \"--fanout_hwm 500000\" (repeatable)"},
    {"edge_arg", BASE_CONF_STR, O(edge_arg), NULL, 0, 0,
     "extra flags for each spawned edge, e.g. \"--max_queue_frames 8192\" (repeatable)"},
    {"router_intake", BASE_CONF_STR, O(router_intake), NULL, 0, 0,
     "running fabric: the router's intake endpoint, e.g. tcp://127.0.0.1:5555"},
    {"router_fanout", BASE_CONF_STR, O(router_fanout), NULL, 0, 0,
     "running fabric, --mode router: the router's fan-out endpoint"},
    {"edge", BASE_CONF_STR, O(edge), NULL, 0, 0,
     "running fabric: edge URLs ws://host:port[/path], comma-separated (IPv4)"},
    {"router_pid", BASE_CONF_INT, O(router_pid), "0", 0, 1e9,
     "running fabric: the router's pid, for its CPU figures (0: none)"},
    {"edge_pid", BASE_CONF_STR, O(edge_pid), NULL, 0, 0,
     "running fabric: the edges' pids, comma-separated in --edge order, for CPU and RSS"},
    {"clients", BASE_CONF_INT, O(clients), "1000", 1, 1000000,
     "WebSocket clients; client i joins room i % rooms on edge i % edges"},
    {"rooms", BASE_CONF_INT, O(rooms), "1", 1, 1000000, "rooms the events and clients spread over"},
    {"edges", BASE_CONF_INT, O(edges), "1", 1, 64, "edges to spawn (--spawn)"},
    {"curve", BASE_CONF_BOOL, O(curve), "false", 0, 0,
     "with --spawn: CURVE on every ZeroMQ link (keys generated into a temporary directory)"},
    {"rate", BASE_CONF_DOUBLE, O(rate), "1000", 0.01, 1e8,
     "events per second published, all rooms together (--search: the first rate tried)"},
    {"duration", BASE_CONF_DOUBLE, O(duration), "10", 0.1, 86400, "seconds measured per run"},
    {"warmup", BASE_CONF_DOUBLE, O(warmup), "2", 0, 3600,
     "seconds of publishing before the measured window (idle: seconds to settle)"},
    {"payload", BASE_CONF_SIZE, O(payload), "100", 10, 16 << 20,
     "bytes of each event's JSON payload"},
    {"batch", BASE_CONF_BOOL, O(batch), "false", 0, 0,
     "on: the edges batch (enable it with --edge-arg); events inside \"batch\" frames are counted "
     "either way, off only flags batch frames as unexpected"},
    {"critical_every", BASE_CONF_INT, O(critical_every), "0", 0, 1000000000,
     "publish every Nth bench.ev event of each room with priority critical (0: none); the edge "
     "sends those at once, unbatched, and the report gets their latency separately"},
    {"search", BASE_CONF_BOOL, O(search), "false", 0, 0,
     "find the highest rate with no loss and p99 below --p99-limit-ms (doubling, then bisecting)"},
    {"search_max", BASE_CONF_DOUBLE, O(search_max), "1000000", 1, 1e8,
     "--search: the highest rate tried"},
    {"search_steps", BASE_CONF_INT, O(search_steps), "4", 0, 20,
     "--search: bisection steps after the first rate that does not hold"},
    {"p99_limit_ms", BASE_CONF_DOUBLE, O(p99_limit_ms), "100", 0.001, 1e6,
     "a rate holds when p99 latency stays below this and nothing is lost"},
    {"repeat", BASE_CONF_INT, O(repeat), "1", 1, 64, "runs per rate; the report shows medians"},
    {"publisher", BASE_CONF_STR, O(publisher), "libweft", 0, 16,
     "libweft (weft_pub_t) or raw (envelopes encoded once, sent on a plain ZeroMQ XPUB as "
     "libweft would, no validation or I/O thread: a load generator for the router)"},
    {"floor_pack", BASE_CONF_INT, O(floor_pack), "1", 1, 1000,
     "--mode floor: send each client K events (K frames) in one send() every K events of its "
     "room, instead of one send() per event"},
    {"router_cpu", BASE_CONF_INT, O(router_cpu), "-1", -1, 4095,
     "pin the router (every thread) to this CPU (-1: no pinning; needs --spawn or --router-pid)"},
    {"bench_cpu", BASE_CONF_INT, O(bench_cpu), "-1", -1, 4095,
     "pin weft-bench (publisher, client workers, router-mode subscriber) to this CPU (-1: no "
     "pinning)"},
    {"json", BASE_CONF_STR, O(json), NULL, 0, 0, "write the results as JSON to FILE (- = stdout)"},
    {"publishers", BASE_CONF_INT, O(publishers), "1", 1, 16,
     "publishers (weft_pub_t) taking turns, each with its own I/O thread"},
    {"workers", BASE_CONF_INT, O(workers), "0", 0, 16,
     "client worker processes, one epoll loop each (0: 1, or more if RLIMIT_NOFILE requires)"},
    {"inflight", BASE_CONF_INT, O(inflight), "1000", 1, 100000,
     "connections being established at once, per worker"},
    {"coalesce_us", BASE_CONF_INT, O(coalesce_us), "500", 0, 100000,
     "client pause after a wake-up that found >= 32 sockets ready, so reads carry several "
     "frames (adds at most this to latency under load; 0: off)"},
    {"connect_timeout", BASE_CONF_DOUBLE, O(connect_timeout), "120", 1, 86400,
     "seconds all clients may take to connect and subscribe"},
    {"drain_timeout", BASE_CONF_DOUBLE, O(drain_timeout), "10", 0.1, 3600,
     "seconds to wait for the last events once publishing stopped (then they count as lost)"},
    {"start_timeout", BASE_CONF_DOUBLE, O(start_timeout), "20", 1, 3600,
     "seconds each spawned daemon may take to log ready"},
    {"log_dir", BASE_CONF_STR, O(log_dir), NULL, 0, 0,
     "directory for the spawned daemons' logs (empty: a temporary one)"},
    {"keep_logs", BASE_CONF_BOOL, O(keep_logs), "false", 0, 0,
     "keep the spawned daemons' logs (they are always kept after a failure)"},
    {"log_level", BASE_CONF_LEVEL, O(log_level), "notice", 0, 0,
     "weft-bench's own messages: error, warn, notice, info or debug"},
    {"soak_sample", BASE_CONF_DOUBLE, O(soak_sample), "10", 0.2, 3600,
     "--mode soak: seconds between samples of every process's RSS and open descriptors"},
    {"soak_kill_every", BASE_CONF_DOUBLE, O(soak_kill_every), "30", 0, 86400,
     "--mode soak: SIGKILL one spawned edge (not edge 0 when there are more) and restart it "
     "every this many seconds (0: never)"},
    {"auth_secret", BASE_CONF_STR, O(auth_secret), NULL, 0, 0,
     "HS256 secret file (>= 32 bytes): spawned edges run --auth jwt with it and every client "
     "sends a token minted with it (Authorization: Bearer; rooms claim: the bench's rooms)"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

static const char s_summary[] =
    "weft-bench: measures a Weft fabric: deliveries per second, publish-to-browser latency\n"
    "(p50/p99/p99.9/max), losses and duplicates, router and edge CPU per delivered event and edge\n"
    "memory per connection. See docs/performance.md.\n"
    "\n"
    "Examples:\n"
    "  weft-bench --spawn --clients 1000 --rooms 1 --rate 1000 --duration 10 --repeat 3\n"
    "  weft-bench --spawn --clients 1000 --search --p99-limit-ms 100\n"
    "  weft-bench --spawn --mode idle --clients 10000\n"
    "  weft-bench --spawn --mode router --rooms 100 --search\n"
    "  weft-bench --spawn --mode router --publisher raw --router-cpu 1 --bench-cpu 0 \\\n"
    "             --rooms 100 --search --rate 50000\n"
    "  weft-bench --mode floor --clients 1000 --rate 100 --repeat 3\n"
    "  weft-bench --spawn --mode soak --edges 3 --clients 200 --rooms 8 --rate 200 \\\n"
    "             --duration 600 --soak-sample 10\n"
    "  weft-bench --spawn --auth-secret jwt.secret --clients 1000 --rate 1000\n"
    "  weft-bench --router-intake tcp://10.0.0.5:5555 --edge ws://10.0.0.6:8080/ws \\\n"
    "             --clients 5000 --rate 200 --json result.json\n"
    "\n"
    "Exit status: 0 when every run held (no loss, no duplicate, p99 below the limit; a search\n"
    "or an idle run only needs to complete), 1 otherwise, 2 on a usage error.";

const base_conf_entry_t *bench_opts_table(void)
{
    return s_table;
}

/* True when arg is --NAME or --NAME=... for name (with '-' and '_' interchangeable); sets *value
 * to the text after '=' (or NULL). */
static bool s_flag_is(const char *arg, const char *name, const char **value)
{
    *value = NULL;
    if (strncmp(arg, "--", 2) != 0)
        return false;
    arg += 2;
    size_t i = 0;
    for (; name[i]; i++) {
        char a = arg[i] == '-' ? '_' : arg[i];
        if (a != name[i])
            return false;
    }
    if (arg[i] == '=') {
        *value = arg + i + 1;
        return true;
    }
    return arg[i] == '\0';
}

/* Appends " word" (or "word") to *joined. Returns 0 or -1 on OOM. */
static int s_join(char **joined, const char *word)
{
    size_t old = *joined ? strlen(*joined) : 0;
    char *p = realloc(*joined, old + strlen(word) + 2);
    if (!p)
        return -1;
    if (old)
        p[old++] = ' ';
    strcpy(p + old, word);
    *joined = p;
    return 0;
}

/* Checks the settings against each other. Returns 0, or -1 with a message on err. */
static int s_check(bench_opts_t *o, FILE *err)
{
    if (strcmp(o->mode, "fabric") == 0)
        o->mode_id = BENCH_MODE_FABRIC;
    else if (strcmp(o->mode, "router") == 0)
        o->mode_id = BENCH_MODE_ROUTER;
    else if (strcmp(o->mode, "idle") == 0)
        o->mode_id = BENCH_MODE_IDLE;
    else if (strcmp(o->mode, "floor") == 0)
        o->mode_id = BENCH_MODE_FLOOR;
    else if (strcmp(o->mode, "soak") == 0)
        o->mode_id = BENCH_MODE_SOAK;
    else {
        fprintf(err, "weft-bench: --mode: must be fabric, router, idle, floor or soak\n");
        return -1;
    }
    if (o->auth_secret[0] && (o->mode_id == BENCH_MODE_FLOOR || o->mode_id == BENCH_MODE_ROUTER)) {
        fprintf(err, "weft-bench: --auth-secret: --mode %s has no edge to authenticate to\n",
                o->mode);
        return -1;
    }
    if (o->mode_id == BENCH_MODE_SOAK && (!o->spawn || o->search || o->rooms > 64)) {
        fprintf(err, "weft-bench: --mode soak needs --spawn (it kills and restarts edges), at "
                     "most 64 rooms, and no --search\n");
        return -1;
    }
    if (strcmp(o->publisher, "libweft") != 0 && strcmp(o->publisher, "raw") != 0) {
        fprintf(err, "weft-bench: --publisher: must be libweft or raw\n");
        return -1;
    }
    bool target = o->router_intake[0] || o->edge[0] || o->router_fanout[0];
    if (o->mode_id == BENCH_MODE_FLOOR) {
        /* The floor server is always the bench's own: nothing to spawn or to name. */
        if (target || o->router_pid || o->edge_pid[0]) {
            fprintf(err, "weft-bench: --mode floor measures the bench's own floor server; do not "
                         "give --router-intake, --router-fanout, --edge or pids\n");
            return -1;
        }
        if (o->critical_every) {
            fprintf(err, "weft-bench: --critical-every needs a router and an edge; --mode floor "
                         "has neither\n");
            return -1;
        }
        if (o->router_cpu >= 0 || strcmp(o->publisher, "raw") == 0) {
            fprintf(err,
                    "weft-bench: --mode floor has no router (--router-cpu, --publisher raw)\n");
            return -1;
        }
        if (o->search && o->floor_pack > 1)
            fprintf(err,
                    "weft-bench: note: --floor-pack %d adds up to %d events' time to latency\n",
                    o->floor_pack, o->floor_pack - 1);
        return 0;
    }
    if (o->critical_every && o->mode_id == BENCH_MODE_IDLE) {
        fprintf(err, "weft-bench: --critical-every: --mode idle publishes nothing\n");
        return -1;
    }
    if (o->floor_pack != 1) {
        fprintf(err, "weft-bench: --floor-pack applies to --mode floor only\n");
        return -1;
    }
    if (o->curve && (!o->spawn || o->mode_id == BENCH_MODE_ROUTER || o->mode_id == BENCH_MODE_SOAK)) {
        fprintf(err, "weft-bench: --curve needs --spawn, and a mode with edges (not soak)\n");
        return -1;
    }
    if (o->router_cpu >= 0 && !o->spawn && !o->router_pid) {
        fprintf(err, "weft-bench: --router-cpu needs --spawn or --router-pid\n");
        return -1;
    }
    if (o->spawn && target) {
        fprintf(err, "weft-bench: --spawn starts its own fabric; do not also give "
                     "--router-intake, --router-fanout or --edge\n");
        return -1;
    }
    if (!o->spawn) {
        if (o->mode_id != BENCH_MODE_ROUTER && !o->edge[0]) {
            fprintf(err, "weft-bench: give --spawn, or --edge (and --router-intake) to target a "
                         "running fabric\n");
            return -1;
        }
        if (o->mode_id != BENCH_MODE_IDLE && !o->router_intake[0]) {
            fprintf(err, "weft-bench: --router-intake is needed to publish into a running "
                         "fabric\n");
            return -1;
        }
        if (o->mode_id == BENCH_MODE_ROUTER && !o->router_fanout[0]) {
            fprintf(err, "weft-bench: --mode router needs --router-fanout (or --spawn)\n");
            return -1;
        }
    }
    if (o->search && o->mode_id == BENCH_MODE_IDLE) {
        fprintf(err, "weft-bench: --search does not apply to --mode idle\n");
        return -1;
    }
    if (o->mode_id == BENCH_MODE_ROUTER && o->rooms > 100000) {
        fprintf(err, "weft-bench: --mode router: at most 100000 rooms\n");
        return -1;
    }
    return 0;
}

base_conf_action_t bench_opts_parse(bench_opts_t *opts, int argc, char **argv, FILE *out, FILE *err)
{
    /* Collect every --edge-arg / --router-arg, pass the rest through, then add one of each. */
    char **args = calloc((size_t)argc + 3, sizeof *args);
    char *edge_args = NULL, *router_args = NULL, *edge_flag = NULL, *router_flag = NULL;
    base_conf_action_t rc = BASE_CONF_EXIT_ERR;
    if (!args)
        return rc;
    int n = 0;
    args[n++] = argc > 0 ? argv[0] : "weft-bench";
    for (int i = 1; i < argc; i++) {
        const char *value;
        char **into = NULL;
        if (s_flag_is(argv[i], "edge_arg", &value))
            into = &edge_args;
        else if (s_flag_is(argv[i], "router_arg", &value))
            into = &router_args;
        if (!into) {
            args[n++] = argv[i];
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(err, "weft-bench: %s: missing value\n", argv[i]);
                goto done;
            }
            value = argv[++i];
        }
        if (s_join(into, value) < 0)
            goto done;
    }
    if (edge_args) {
        edge_flag = malloc(strlen(edge_args) + sizeof "--edge_arg=");
        if (!edge_flag)
            goto done;
        sprintf(edge_flag, "--edge_arg=%s", edge_args);
        args[n++] = edge_flag;
    }
    if (router_args) {
        router_flag = malloc(strlen(router_args) + sizeof "--router_arg=");
        if (!router_flag)
            goto done;
        sprintf(router_flag, "--router_arg=%s", router_args);
        args[n++] = router_flag;
    }
    rc = base_conf_from_args(s_table, opts, n, args, s_summary, WEFT_VERSION_STRING, out, err);
    if (rc == BASE_CONF_RUN && s_check(opts, err) < 0)
        rc = BASE_CONF_EXIT_ERR;
done:
    free(args);
    free(edge_args);
    free(router_args);
    free(edge_flag);
    free(router_flag);
    return rc;
}

void bench_opts_free(bench_opts_t *opts)
{
    base_conf_free(s_table, opts);
}
