/*
 * bench_session.c: fabric, workers, publisher and measured runs of weft-bench (see
 * bench_session.h).
 */
#include "bench_session.h"
#include "bench_token.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base_clock.h"
#include "bench_client.h"
#include "bench_curve.h"
#include "bench_fabric.h"
#include "bench_floor.h"
#include "bench_locate.h"
#include "bench_proc.h"
#include "bench_pub.h"
#include "bench_shared.h"
#include "bench_zsub.h"

#define FD_RESERVE 64      /* descriptors a process needs besides its connections */
#define POLL_NS 20000000ll /* how often waits look at the workers: 20 ms */
#define FENCE_EVERY_MS 100 /* fence rounds */
#define FLUSH_MS 10000     /* how long the publisher may take to get its acks */

struct bench_session {
    const bench_opts_t *o;                    /* settings */
    base_log_t *log;                          /* messages */
    volatile sig_atomic_t *stop;              /* set by a signal */
    bench_fabric_t *fabric;                   /* spawned daemons, or NULL */
    bench_curve_t *curve;                     /* --curve keys, or NULL */
    bench_floor_t *floor;                     /* the floor server (--mode floor), or NULL */
    char intake[256];                         /* router intake (publishers) */
    char fanout[256];                         /* router fan-out (router mode) */
    bench_edge_addr_t edges[BENCH_MAX_EDGES]; /* where the clients connect */
    size_t nedges;                            /* how many */
    pid_t router_pid;                         /* for CPU figures, 0 when unknown */
    pid_t edge_pid[BENCH_MAX_EDGES];          /* for CPU and RSS, 0 when unknown */
    char prefix[64];                          /* room name prefix of this session */
    char **rooms;                             /* room names */
    size_t nrooms;                            /* how many */
    bench_ctl_t *ctl;                         /* shared with the workers */
    pid_t worker_pid[BENCH_MAX_WORKERS];      /* worker processes */
    size_t worker_first[BENCH_MAX_WORKERS];   /* first client of each */
    size_t worker_count[BENCH_MAX_WORKERS];   /* clients (router mode: rooms) of each */
    size_t nworkers;                          /* how many */
    bench_pub_t *pub;                         /* the publisher (fabric and router modes) */
    bool floor_flushed;                       /* the floor server stopped the last run in time */
    int round;                                /* the latest connect round */
    int run;                                  /* the latest run */
    bool fenced;                              /* every subscribed client has seen an event */
    double edge_rss_base;                     /* sum of the edges' RSS before clients, KiB */
    double edge_rss_idle;                     /* ... once every client is subscribed */
    double client_kib_conn;                   /* workers' RSS growth per connection, KiB */
    uint64_t expected;                        /* streams the workers should have subscribed */
    bool warned_batch;                        /* the "unexpected batch frames" warning was given */
    char *token;                              /* --auth-secret: the clients' JWT, or NULL */
};

/* Sleeps ns nanoseconds. */
static void s_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000ll), (long)(ns % 1000000000ll)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- Sampling processes ------------------------------------------------------------------ */

/* CPU seconds of pid, NaN when unknown. */
static double s_cpu(pid_t pid)
{
    uint64_t ns;
    return pid > 0 && bench_proc_cpu_ns(pid, &ns) == 0 ? (double)ns / 1e9 : NAN;
}

/* RSS of pid in KiB, NaN when unknown. */
static double s_rss(pid_t pid)
{
    uint64_t kib;
    return pid > 0 && bench_proc_rss_kib(pid, &kib) == 0 ? (double)kib : NAN;
}

/* Sum of the edges' CPU seconds (NaN when any is unknown). */
static double s_edges_cpu(const bench_session_t *self)
{
    double sum = 0;
    for (size_t i = 0; i < self->nedges; i++)
        sum += s_cpu(self->edge_pid[i]);
    return self->nedges ? sum : NAN;
}

/* Sum of the edges' RSS in KiB (NaN when any is unknown). */
static double s_edges_rss(const bench_session_t *self)
{
    double sum = 0;
    for (size_t i = 0; i < self->nedges; i++)
        sum += s_rss(self->edge_pid[i]);
    return self->nedges ? sum : NAN;
}

/* Sum of the workers' CPU seconds. */
static double s_workers_cpu(const bench_session_t *self)
{
    double sum = 0;
    for (size_t w = 0; w < self->nworkers; w++)
        sum += s_cpu(self->worker_pid[w]);
    return sum;
}

/* ---- Workers ----------------------------------------------------------------------------- */

/* The body of a forked worker process. Never returns. */
__attribute__((noreturn)) static void s_worker_main(bench_session_t *self, size_t w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN); /* the parent handles Ctrl-C and tells us to exit */
    signal(SIGPIPE, SIG_IGN);
    uint64_t kib = 0;
    if (bench_proc_rss_kib(getpid(), &kib) == 0)
        atomic_store(&self->ctl->workers[w].rss_start_kib, kib);
    base_log_t *log = base_log_new("weft-bench", (weft_log_level_t)self->o->log_level, stderr);
    int rc;
    if (self->o->mode_id == BENCH_MODE_ROUTER) {
        bench_zsub_conf_t zc = {.fanout = self->fanout,
                                .prefix = self->prefix,
                                .rooms = self->rooms,
                                .nrooms = self->nrooms,
                                .worker = (int)w};
        rc = bench_zsub_run(&zc, self->ctl, log);
    } else {
        bench_client_conf_t cc = {.edges = self->edges,
                                  .nedges = self->nedges,
                                  .rooms = self->rooms,
                                  .nrooms = self->nrooms,
                                  .first = self->worker_first[w],
                                  .count = self->worker_count[w],
                                  .inflight = self->o->inflight,
                                  .coalesce_us = self->o->coalesce_us,
                                  .nonce = ((uint64_t)getpid() << 32) ^ base_clock_wall_ns(),
                                  .worker = (int)w,
                                  .token = self->token};
        bench_client_t *client = bench_client_new(&cc, self->ctl, log);
        if (!client) {
            snprintf(self->ctl->workers[w].error, sizeof self->ctl->workers[w].error,
                     "cannot set up %zu clients (out of memory?)", cc.count);
            atomic_store(&self->ctl->workers[w].fatal, 1);
            rc = -1;
        } else {
            rc = bench_client_run(client);
            bench_client_destroy(&client);
        }
    }
    base_log_destroy(&log);
    /* exit(), not _exit(): the fork happened before any thread or atexit handler of ours, and
     * this lets LeakSanitizer check the worker too. */
    exit(rc == 0 ? 0 : 1);
}

/* Forks the workers. Returns 0 or -1. */
static int s_start_workers(bench_session_t *self)
{
    for (size_t w = 0; w < self->nworkers; w++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            base_log(self->log, WEFT_LOG_ERROR, "fork: %s", strerror(errno));
            return -1;
        }
        if (pid == 0)
            s_worker_main(self, w);
        self->worker_pid[w] = pid;
    }
    return 0;
}

/* Returns 0 while every worker runs without a fatal error, and the fabric too. */
static int s_check_alive(bench_session_t *self)
{
    for (size_t w = 0; w < self->nworkers; w++) {
        bench_worker_slot_t *slot = &self->ctl->workers[w];
        int status;
        if (atomic_load(&slot->fatal)) {
            base_log(self->log, WEFT_LOG_ERROR, "worker %zu failed: %s", w, slot->error);
            return -1;
        }
        if (self->worker_pid[w] > 0 && waitpid(self->worker_pid[w], &status, WNOHANG) > 0) {
            base_log(self->log, WEFT_LOG_ERROR, "worker %zu (pid %d) died (%s %d)", w,
                     (int)self->worker_pid[w], WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            self->worker_pid[w] = 0;
            return -1;
        }
    }
    if (self->fabric && bench_fabric_check(self->fabric) < 0)
        return -1;
    if (self->floor && bench_floor_check(self->floor) < 0)
        return -1;
    if (*self->stop) {
        base_log(self->log, WEFT_LOG_NOTICE, "interrupted");
        return -1;
    }
    return 0;
}

/* Sleeps ns while watching the workers and the fabric. Returns 0, or -1 when something died. */
static int s_watch(bench_session_t *self, int64_t ns)
{
    int64_t end = base_clock_ns() + ns;
    for (;;) {
        if (s_check_alive(self) < 0)
            return -1;
        int64_t left = end - base_clock_ns();
        if (left <= 0)
            return 0;
        s_sleep_ns(left < POLL_NS ? left : POLL_NS);
    }
}

/* Which gauge s_sum() adds up. */
typedef enum gauge { G_OPEN, G_SUBSCRIBED, G_FAILED, G_PRIMED, G_PENDING } gauge_t;

/* Sums a gauge over the workers. */
static uint64_t s_sum(const bench_session_t *self, gauge_t g)
{
    uint64_t sum = 0;
    for (size_t w = 0; w < self->nworkers; w++) {
        bench_worker_slot_t *slot = &self->ctl->workers[w];
        switch (g) {
        case G_OPEN:
            sum += atomic_load(&slot->open);
            break;
        case G_SUBSCRIBED:
            sum += atomic_load(&slot->subscribed);
            break;
        case G_FAILED:
            sum += atomic_load(&slot->failed);
            break;
        case G_PRIMED:
            sum += atomic_load(&slot->primed);
            break;
        case G_PENDING:
            sum += atomic_load(&slot->pending);
            break;
        }
    }
    return sum;
}

/* ---- Setup ------------------------------------------------------------------------------- */

/* Raises RLIMIT_NOFILE to its hard limit (children inherit it). Returns the limit. */
static rlim_t s_raise_nofile(base_log_t *log)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            base_log(log, WEFT_LOG_WARN, "cannot raise RLIMIT_NOFILE: %s", strerror(errno));
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
}

/* Resolves the target fabric or spawns one. Returns 0 or -1. */
static int s_setup_fabric(bench_session_t *self)
{
    const bench_opts_t *o = self->o;
    if (o->mode_id == BENCH_MODE_FLOOR) {
        bench_floor_conf_t fc = {.rooms = self->rooms,
                                 .nrooms = self->nrooms,
                                 .prefix = self->prefix,
                                 .payload = o->payload,
                                 .pack = o->floor_pack,
                                 .log_level = o->log_level};
        self->floor = bench_floor_start(&fc, self->log);
        if (!self->floor)
            return -1;
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", bench_floor_port(self->floor));
        if (bench_locate_edge(url, &self->edges[0], self->log) < 0)
            return -1;
        self->nedges = 1;
        self->edge_pid[0] = bench_floor_pid(self->floor);
        return 0;
    }
    if (o->spawn) {
        char router_bin[PATH_MAX], edge_bin[PATH_MAX] = "";
        int nedges = o->mode_id == BENCH_MODE_ROUTER ? 0 : o->edges;
        if (bench_locate_bin(o->router_bin, "router", "weft-router", router_bin, sizeof router_bin,
                       self->log) < 0 ||
            (nedges > 0 && bench_locate_bin(o->edge_bin, "edge", "weft-edge", edge_bin, sizeof edge_bin,
                                      self->log) < 0))
            return -1;
        if (o->curve && !(self->curve = bench_curve_new(o->router_arg, o->edge_arg, self->log)))
            return -1;
        bench_fabric_conf_t fc = {.router_bin = router_bin,
                                  .edge_bin = edge_bin,
                                  .nedges = nedges,
                                  .router_args = self->curve ? bench_curve_router_args(self->curve)
                                                             : o->router_arg,
                                  .edge_args = self->curve ? bench_curve_edge_args(self->curve)
                                                           : o->edge_arg,
                                  .log_dir = o->log_dir,
                                  .start_timeout_ms = (int)(o->start_timeout * 1000),
                                  .auth_secret = o->auth_secret[0] ? o->auth_secret : NULL};
        self->fabric = bench_fabric_start(&fc, self->log);
        if (!self->fabric)
            return -1;
        snprintf(self->intake, sizeof self->intake, "%s", bench_fabric_intake(self->fabric));
        snprintf(self->fanout, sizeof self->fanout, "%s", bench_fabric_fanout(self->fabric));
        self->router_pid = bench_fabric_router_pid(self->fabric);
        self->nedges = (size_t)nedges;
        for (int i = 0; i < nedges; i++) {
            char url[64];
            snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws",
                     bench_fabric_edge_port(self->fabric, i));
            if (bench_locate_edge(url, &self->edges[i], self->log) < 0)
                return -1;
            self->edge_pid[i] = bench_fabric_edge_pid(self->fabric, i);
        }
        return 0;
    }
    snprintf(self->intake, sizeof self->intake, "%s", o->router_intake);
    snprintf(self->fanout, sizeof self->fanout, "%s", o->router_fanout);
    self->router_pid = o->router_pid;
    if (o->mode_id != BENCH_MODE_ROUTER) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", o->edge);
        for (char *save = NULL, *url = strtok_r(buf, ",", &save); url;
             url = strtok_r(NULL, ",", &save)) {
            if (self->nedges == BENCH_MAX_EDGES) {
                base_log(self->log, WEFT_LOG_ERROR, "--edge: at most %d edges", BENCH_MAX_EDGES);
                return -1;
            }
            if (bench_locate_edge(url, &self->edges[self->nedges], self->log) < 0)
                return -1;
            self->nedges++;
        }
        snprintf(buf, sizeof buf, "%s", o->edge_pid);
        size_t i = 0;
        for (char *save = NULL, *pid = strtok_r(buf, ",", &save); pid && i < self->nedges;
             pid = strtok_r(NULL, ",", &save))
            self->edge_pid[i++] = (pid_t)atoi(pid);
    }
    return 0;
}

/* Pins the router (--router-cpu) and this process (--bench-cpu), whose later threads and
 * children inherit it. Call after the daemons were started (they must not inherit the bench's
 * CPU) and before any thread or worker. Returns 0 or -1. */
static int s_pin(bench_session_t *self)
{
    const bench_opts_t *o = self->o;
    int threads = 0;
    if (o->router_cpu >= 0) {
        if (self->router_pid <= 0) {
            base_log(self->log, WEFT_LOG_ERROR,
                     "--router-cpu: the router's pid is unknown "
                     "(give --spawn or --router-pid)");
            return -1;
        }
        if (bench_proc_pin(self->router_pid, o->router_cpu, &threads) < 0) {
            base_log(self->log, WEFT_LOG_ERROR, "--router-cpu %d: cannot pin pid %d: %s",
                     o->router_cpu, (int)self->router_pid, strerror(errno));
            return -1;
        }
        base_log(self->log, WEFT_LOG_NOTICE, "router (pid %d, %d threads) pinned to CPU %d",
                 (int)self->router_pid, threads, o->router_cpu);
    }
    if (o->bench_cpu >= 0) {
        if (bench_proc_pin(0, o->bench_cpu, &threads) < 0) {
            base_log(self->log, WEFT_LOG_ERROR, "--bench-cpu %d: cannot pin weft-bench: %s",
                     o->bench_cpu, strerror(errno));
            return -1;
        }
        base_log(self->log, WEFT_LOG_NOTICE,
                 "weft-bench (publisher and client workers) pinned "
                 "to CPU %d",
                 o->bench_cpu);
    }
    return 0;
}

/* Names the session's rooms. Returns 0 or -1. */
static int s_make_rooms(bench_session_t *self)
{
    const bench_opts_t *o = self->o;
    /* A tag per session keeps rooms fresh on a long-running router: the seqs start at 1. */
    snprintf(self->prefix, sizeof self->prefix, "bench-%08" PRIx64 "-",
             (uint64_t)((base_clock_wall_ns() ^ ((uint64_t)getpid() << 20)) & 0xFFFFFFFFu));
    self->nrooms = (size_t)o->rooms;
    self->rooms = calloc(self->nrooms, sizeof *self->rooms);
    if (!self->rooms)
        return -1;
    for (size_t r = 0; r < self->nrooms; r++) {
        char name[96];
        snprintf(name, sizeof name, "%s%zu", self->prefix, r);
        self->rooms[r] = strdup(name);
        if (!self->rooms[r])
            return -1;
    }
    return 0;
}

bench_session_t *bench_session_new(const bench_opts_t *o, base_log_t *log,
                                   volatile sig_atomic_t *stop)
{
    bench_session_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->o = o;
    self->log = log;
    self->stop = stop;
    self->edge_rss_base = self->edge_rss_idle = self->client_kib_conn = NAN;
    rlim_t nofile = s_raise_nofile(log);
    size_t budget = nofile > FD_RESERVE * 2 ? (size_t)nofile - FD_RESERVE : FD_RESERVE;
    /* Rooms first: the floor server is forked with their names. */
    if (s_make_rooms(self) < 0 || s_setup_fabric(self) < 0 || s_pin(self) < 0)
        goto err;
    if (o->auth_secret[0] && !(self->token = bench_token_mint(o->auth_secret, self->prefix,
                                                              (long long)86400 * 7, log)))
        goto err;

    size_t clients = (size_t)o->clients;
    if (o->mode_id == BENCH_MODE_ROUTER) {
        self->nworkers = 1;
        self->worker_count[0] = self->nrooms;
        self->expected = self->nrooms;
    } else {
        size_t need = (clients + budget - 1) / budget;
        size_t n = o->workers > 0 ? (size_t)o->workers : 1;
        if (n < need) {
            if (o->workers > 0)
                base_log(log, WEFT_LOG_WARN,
                         "RLIMIT_NOFILE is %zu: using %zu workers instead "
                         "of %d",
                         (size_t)nofile, need, o->workers);
            n = need;
        }
        if (n > BENCH_MAX_WORKERS || n > clients) {
            base_log(log, WEFT_LOG_ERROR,
                     "%zu clients need %zu worker processes with "
                     "RLIMIT_NOFILE %zu (at most %d)",
                     clients, need, (size_t)nofile, BENCH_MAX_WORKERS);
            goto err;
        }
        self->nworkers = n;
        for (size_t w = 0, first = 0; w < n; w++) {
            self->worker_first[w] = first;
            self->worker_count[w] = clients / n + (w < clients % n ? 1 : 0);
            first += self->worker_count[w];
        }
        self->expected = clients;
        size_t per_edge = (clients + self->nedges - 1) / self->nedges;
        if ((o->spawn || o->mode_id == BENCH_MODE_FLOOR) && per_edge + FD_RESERVE > (size_t)nofile)
            base_log(log, WEFT_LOG_WARN,
                     "each edge would hold %zu connections but RLIMIT_NOFILE "
                     "is %zu (hard limit): expect refused connections; use more --edges or raise "
                     "the limit (ulimit -Hn, LimitNOFILE=)",
                     per_edge, (size_t)nofile);
    }
    self->ctl = bench_ctl_new(self->nrooms, self->nworkers);
    if (!self->ctl) {
        base_log(log, WEFT_LOG_ERROR, "cannot map the shared control block");
        goto err;
    }
    self->edge_rss_base = s_edges_rss(self);
    /* Fork before libweft starts threads: a child of a threaded process may only exec or exit
     * safely, and the workers do neither. */
    if (s_start_workers(self) < 0)
        goto err;
    if (o->mode_id == BENCH_MODE_FABRIC || o->mode_id == BENCH_MODE_ROUTER) {
        self->pub = bench_pub_from_opts(o, self->intake, self->rooms, self->nrooms,
                                        self->curve ? bench_curve_keys(self->curve) : NULL, log);
        if (!self->pub)
            goto err;
    }
    base_log(log, WEFT_LOG_INFO,
             "%zu worker(s), %zu room(s) %s0..%zu, %zu edge(s), RLIMIT_NOFILE "
             "%zu",
             self->nworkers, self->nrooms, self->prefix, self->nrooms - 1, self->nedges,
             (size_t)nofile);
    return self;
err:
    bench_session_destroy(&self, true);
    return NULL;
}

/* ---- Connecting and fencing -------------------------------------------------------------- */

/* Runs a connect round: every client that is not open connects and subscribes. Returns 0, or -1
 * when it did not settle in time or something died. */
static int s_connect_round(bench_session_t *self)
{
    int round = ++self->round;
    atomic_store(&self->ctl->connect_round, round);
    self->fenced = false;
    int64_t start = base_clock_ns(), deadline = start + (int64_t)(self->o->connect_timeout * 1e9);
    int64_t next_note = start + 5000000000ll;
    for (;;) {
        if (s_check_alive(self) < 0)
            return -1;
        bool settled = true;
        for (size_t w = 0; w < self->nworkers; w++) {
            bench_worker_slot_t *slot = &self->ctl->workers[w];
            if (atomic_load(&slot->connect_round) != round ||
                atomic_load(&slot->subscribed) + atomic_load(&slot->failed) < self->worker_count[w])
                settled = false;
        }
        uint64_t subscribed = s_sum(self, G_SUBSCRIBED), failed = s_sum(self, G_FAILED);
        if (settled) {
            double secs = (double)(base_clock_ns() - start) / 1e9;
            if (failed)
                base_log(self->log, WEFT_LOG_WARN,
                         "%" PRIu64 " of %" PRIu64 " clients could "
                         "not connect or subscribe (see the warnings above)",
                         failed, self->expected);
            base_log(self->log, WEFT_LOG_NOTICE, "%" PRIu64 " clients subscribed in %.1f s",
                     subscribed, secs);
            return subscribed ? 0 : -1;
        }
        int64_t now = base_clock_ns();
        if (now > deadline) {
            /* Go on with the clients that made it (the figures say how many): "how many
             * connections does an edge take" is itself a result. */
            base_log(self->log, subscribed ? WEFT_LOG_WARN : WEFT_LOG_ERROR,
                     "connecting timed out after %.0f s: %" PRIu64 " open, %" PRIu64
                     " subscribed, %" PRIu64 " failed of %" PRIu64 "%s",
                     self->o->connect_timeout, s_sum(self, G_OPEN), subscribed, failed,
                     self->expected, subscribed ? "; going on with the subscribed ones" : "");
            return subscribed ? 0 : -1;
        }
        if (now > next_note) {
            base_log(self->log, WEFT_LOG_NOTICE,
                     "connecting: %" PRIu64 " open, %" PRIu64 " subscribed, %" PRIu64
                     " failed of %" PRIu64,
                     s_sum(self, G_OPEN), subscribed, failed, self->expected);
            next_note = now + 5000000000ll;
        }
        s_sleep_ns(POLL_NS);
    }
}

/* ---- The event source: the publisher, or the floor server ------------------------------- */

/* One fence round: a "bench.fence" event into every room. 0 or -1. */
static int s_src_fence(bench_session_t *self)
{
    return self->floor ? bench_floor_fence(self->floor) : bench_pub_fence(self->pub);
}

/* Waits until the fences left: acknowledged by the router, or sent by the floor server. */
static int s_src_fence_flush(bench_session_t *self)
{
    return self->floor ? bench_floor_fence_wait(self->floor, FLUSH_MS)
                       : bench_pub_flush(self->pub, FLUSH_MS);
}

/* Starts publishing at rate. 0 or -1. */
static int s_src_start(bench_session_t *self, double rate)
{
    return self->floor ? bench_floor_run_start(self->floor, rate)
                       : bench_pub_start(self->pub, rate);
}

/* Stops publishing. */
static void s_src_stop(bench_session_t *self)
{
    if (self->floor)
        self->floor_flushed = bench_floor_run_stop(self->floor, FLUSH_MS) == 0;
    else
        bench_pub_stop(self->pub);
}

/* Waits until every event published is final: acknowledged by the router, or sent (to the
 * sockets or their backlogs) by the floor server. 0 or -1. */
static int s_src_flush(bench_session_t *self)
{
    return self->floor ? (self->floor_flushed ? 0 : -1) : bench_pub_flush(self->pub, FLUSH_MS);
}

/* Events published into room so far (its last seq once flushed). */
static uint64_t s_src_room_total(const bench_session_t *self, size_t room)
{
    return self->floor ? bench_floor_room_total(self->floor, room)
                       : bench_pub_room_total(self->pub, room);
}

/* The source's counters, as the publisher's. */
static void s_src_counts(const bench_session_t *self, bench_pub_counts_t *out)
{
    if (self->floor) {
        bench_floor_counts_t fc;
        bench_floor_counts(self->floor, &fc);
        memset(out, 0, sizeof *out);
        out->published = fc.published;
    } else {
        bench_pub_counts(self->pub, out);
    }
}

/* Events published so far. */
static uint64_t s_src_published(const bench_session_t *self)
{
    bench_pub_counts_t c;
    if (!self->floor)
        return bench_pub_published(self->pub);
    s_src_counts(self, &c);
    return c.published;
}

/* Publishes fence events until every subscribed stream has received one. Returns 0 or -1. */
static int s_fence(bench_session_t *self)
{
    int64_t start = base_clock_ns();
    int64_t deadline = start + (int64_t)((30.0 + (double)self->expected / 1000.0) * 1e9);
    unsigned rounds = 0;
    for (;;) {
        uint64_t subscribed = s_sum(self, G_SUBSCRIBED), primed = s_sum(self, G_PRIMED);
        if (primed >= subscribed)
            break;
        if (base_clock_ns() > deadline) {
            base_log(self->log, WEFT_LOG_ERROR,
                     "fence: only %" PRIu64 " of %" PRIu64 " subscribed clients received an event",
                     primed, subscribed);
            return -1;
        }
        if (s_src_fence(self) < 0)
            return -1;
        rounds++;
        if (s_watch(self, FENCE_EVERY_MS * 1000000ll) < 0)
            return -1;
    }
    if (s_src_fence_flush(self) < 0)
        base_log(self->log, WEFT_LOG_WARN, "fence: the fence events did not leave in time");
    base_log(self->log, WEFT_LOG_INFO, "fenced after %u round(s), %.1f s", rounds,
             (double)(base_clock_ns() - start) / 1e9);
    self->fenced = true;
    return 0;
}

/* Samples the workers' RSS growth per connection. */
static void s_client_memory(bench_session_t *self)
{
    double grown = 0;
    for (size_t w = 0; w < self->nworkers; w++)
        grown +=
            s_rss(self->worker_pid[w]) - (double)atomic_load(&self->ctl->workers[w].rss_start_kib);
    uint64_t open = s_sum(self, G_OPEN);
    self->client_kib_conn = open ? grown / (double)open : NAN;
}

int bench_session_prepare(bench_session_t *self)
{
    if (s_connect_round(self) < 0)
        return -1;
    if (self->o->mode_id != BENCH_MODE_ROUTER) {
        /* Let the edges finish the subscriptions' work before reading their memory. */
        if (s_watch(self, 500000000ll) < 0)
            return -1;
        self->edge_rss_idle = s_edges_rss(self);
        s_client_memory(self);
    }
    if (self->o->mode_id == BENCH_MODE_IDLE)
        return 0;
    return s_fence(self);
}

/* ---- Runs -------------------------------------------------------------------------------- */

/* CPU figures at one end of the window. */
typedef struct cpu_snap {
    double router;      /* router CPU seconds */
    double edges;       /* all edges' CPU seconds */
    double clients;     /* all workers' CPU seconds */
    double self;        /* weft-bench's own (publisher) CPU seconds */
    uint64_t published; /* events published so far */
} cpu_snap_t;

/* Takes a CPU snapshot. */
static void s_snap(bench_session_t *self, cpu_snap_t *s)
{
    s->router = s_cpu(self->router_pid);
    s->edges = s_edges_cpu(self);
    s->clients = s_workers_cpu(self);
    s->self = s_cpu(getpid());
    s->published = s_src_published(self);
}

/* Waits until every worker reports field == run (and, when pending is set, no pending stream),
 * at most timeout_ns. Returns 1 when reached, 0 on timeout, -1 when something died. */
static int s_wait_workers(bench_session_t *self, int run, int which, int64_t timeout_ns)
{
    int64_t deadline = base_clock_ns() + timeout_ns;
    for (;;) {
        if (s_check_alive(self) < 0)
            return -1;
        bool all = true;
        for (size_t w = 0; w < self->nworkers && all; w++) {
            bench_worker_slot_t *slot = &self->ctl->workers[w];
            if (which == 0)
                all = atomic_load(&slot->seen_run) == run;
            else if (which == 1)
                all = atomic_load(&slot->drained_run) == run && atomic_load(&slot->pending) == 0;
            else
                all = atomic_load(&slot->done_run) == run;
        }
        if (all)
            return 1;
        if (base_clock_ns() > deadline)
            return 0;
        s_sleep_ns(POLL_NS / 4);
    }
}

/* Sets v to x / y, or NaN when either is NaN or y is 0. */
static double s_div(double x, double y)
{
    return (isnan(x) || isnan(y) || y == 0) ? NAN : x / y;
}

int bench_session_run(bench_session_t *self, double rate, bench_sample_t *out)
{
    const bench_opts_t *o = self->o;
    bench_ctl_t *ctl = self->ctl;
    bench_sample_init(out);
    /* Clients the edge closed during the last run come back first. */
    uint64_t subscribed = s_sum(self, G_SUBSCRIBED);
    if (subscribed < self->expected) {
        base_log(self->log, WEFT_LOG_NOTICE, "reconnecting %" PRIu64 " client(s)",
                 self->expected - subscribed);
        if (s_connect_round(self) < 0)
            return -1;
    }
    if (!self->fenced && s_fence(self) < 0)
        return -1;
    subscribed = s_sum(self, G_SUBSCRIBED);

    int run = ++self->run;
    atomic_store(&ctl->window_start_ns, UINT64_MAX);
    atomic_store(&ctl->window_end_ns, UINT64_MAX);
    atomic_store_explicit(&ctl->run, run, memory_order_release);
    if (s_wait_workers(self, run, 0, 5000000000ll) != 1)
        return -1;
    bench_pub_counts_t pc0, pc1;
    bench_floor_counts_t fc0, fc1;
    s_src_counts(self, &pc0);
    if (self->floor)
        bench_floor_counts(self->floor, &fc0);
    uint64_t ws = base_clock_wall_ns() + (uint64_t)(o->warmup * 1e9);
    atomic_store(&ctl->window_start_ns, ws);
    if (s_src_start(self, rate) < 0) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot start publishing");
        return -1;
    }
    base_log(self->log, WEFT_LOG_NOTICE, "run %d: %.0f events/s for %.1f s (+%.1f s warmup)", run,
             rate, o->duration, o->warmup);
    cpu_snap_t c0, c1;
    uint64_t we = 0;
    double edge_rss_busy = NAN, router_rss = NAN;
    int rc = s_watch(self, (int64_t)(ws - base_clock_wall_ns()));
    if (rc == 0) {
        s_snap(self, &c0);
        rc = s_watch(self, (int64_t)(o->duration * 1e9));
    }
    if (rc == 0) {
        s_snap(self, &c1);
        we = base_clock_wall_ns();
        atomic_store(&ctl->window_end_ns, we);
        edge_rss_busy = s_edges_rss(self);
        router_rss = s_rss(self->router_pid);
    }
    s_src_stop(self);
    if (rc < 0)
        return -1;
    s_src_counts(self, &pc1);

    /* Drain: the rooms' final seqs are what was published into them; wait for the clients. */
    bool flushed = s_src_flush(self) == 0;
    if (!flushed)
        base_log(self->log, WEFT_LOG_WARN, "run %d: %s within %d ms", run,
                 self->floor ? "the floor server did not stop publishing"
                             : "the router did not acknowledge every event",
                 FLUSH_MS);
    if (self->floor)
        bench_floor_counts(self->floor, &fc1);
    for (size_t r = 0; r < self->nrooms; r++)
        atomic_store_explicit(&ctl->final_seq[r], s_src_room_total(self, r), memory_order_relaxed);
    atomic_store_explicit(&ctl->drain_run, run, memory_order_release);
    int drained = s_wait_workers(self, run, 1, (int64_t)(o->drain_timeout * 1e9));
    if (drained < 0)
        return -1;
    if (!drained)
        base_log(self->log, WEFT_LOG_WARN,
                 "run %d: %" PRIu64 " client(s) still missing events "
                 "after %.1f s; counting them as lost",
                 run, s_sum(self, G_PENDING), o->drain_timeout);
    atomic_store_explicit(&ctl->finish_run, run, memory_order_release);
    if (s_wait_workers(self, run, 2, 10000000000ll) != 1) {
        base_log(self->log, WEFT_LOG_ERROR, "run %d: the workers did not report", run);
        return -1;
    }

    /* Collect. */
    bench_result_t sum;
    memset(&sum, 0, sizeof sum);
    for (size_t w = 0; w < self->nworkers; w++) {
        const bench_result_t *r = &ctl->workers[w].result;
        sum.seq.delivered += r->seq.delivered;
        sum.seq.lost += r->seq.lost;
        sum.seq.duplicates += r->seq.duplicates;
        sum.seq.notices += r->seq.notices;
        sum.seq.epoch_changes += r->seq.epoch_changes;
        sum.frames += r->frames;
        sum.batch_frames += r->batch_frames;
        sum.window_events += r->window_events;
        sum.window_frames += r->window_frames;
        sum.bytes += r->bytes;
        sum.stray += r->stray;
        sum.bad_frames += r->bad_frames;
        sum.errors += r->errors;
        sum.closed += r->closed;
        sum.critical += r->critical;
        bench_hist_merge(&sum.latency, &r->latency);
        bench_hist_merge(&sum.critical_latency, &r->critical_latency);
    }
    if (sum.batch_frames && !o->batch && !self->warned_batch) {
        base_log(self->log, WEFT_LOG_WARN,
                 "the edges sent %" PRIu64 " batch frames although "
                 "--batch is off (their events are counted all the same)",
                 sum.batch_frames);
        self->warned_batch = true;
    }
    double window = (double)(we - ws) / 1e9;
    double *v = out->v;
    v[BENCH_M_RATE_TARGET] = rate;
    v[BENCH_M_RATE_PUBLISHED] = (double)(c1.published - c0.published) / window;
    v[BENCH_M_WINDOW_S] = window;
    v[BENCH_M_CLIENTS] = (double)subscribed;
    v[BENCH_M_DELIVERIES] = (double)sum.window_events;
    v[BENCH_M_DELIVERIES_PER_S] = (double)sum.window_events / window;
    v[BENCH_M_FRAMES_PER_S] = (double)sum.window_frames / window;
    v[BENCH_M_EVENTS_PER_FRAME] = s_div((double)sum.window_events, (double)sum.window_frames);
    if (sum.latency.count) {
        v[BENCH_M_LAT_P50] = (double)bench_hist_quantile(&sum.latency, 0.50) / 1e6;
        v[BENCH_M_LAT_P99] = (double)bench_hist_quantile(&sum.latency, 0.99) / 1e6;
        v[BENCH_M_LAT_P999] = (double)bench_hist_quantile(&sum.latency, 0.999) / 1e6;
        v[BENCH_M_LAT_MAX] = (double)sum.latency.max / 1e6;
    }
    v[BENCH_M_LAT_SAMPLES] = (double)sum.latency.count;
    /* Critical rows only when critical events were asked for or seen (else "-" / null). */
    if (o->critical_every || sum.critical) {
        v[BENCH_M_CRIT_PUBLISHED] = (double)(pc1.critical - pc0.critical);
        v[BENCH_M_CRIT_EVENTS] = (double)sum.critical;
    }
    if (sum.critical_latency.count) {
        const bench_hist_t *h = &sum.critical_latency;
        v[BENCH_M_CRIT_P50] = (double)bench_hist_quantile(h, 0.50) / 1e6;
        v[BENCH_M_CRIT_P99] = (double)bench_hist_quantile(h, 0.99) / 1e6;
        v[BENCH_M_CRIT_P999] = (double)bench_hist_quantile(h, 0.999) / 1e6;
        v[BENCH_M_CRIT_MAX] = (double)h->max / 1e6;
    }
    v[BENCH_M_PUBLISHED] = (double)(pc1.published - pc0.published);
    v[BENCH_M_DELIVERED] = (double)sum.seq.delivered;
    v[BENCH_M_LOST] = (double)sum.seq.lost;
    v[BENCH_M_DUPLICATES] = (double)sum.seq.duplicates;
    v[BENCH_M_NOTICES] = (double)sum.seq.notices;
    v[BENCH_M_CLOSED] = (double)sum.closed;
    v[BENCH_M_STRAY] = (double)sum.stray;
    v[BENCH_M_BAD_FRAMES] = (double)sum.bad_frames;
    v[BENCH_M_ERROR_FRAMES] = (double)sum.errors;
    v[BENCH_M_REFUSED] = (double)(pc1.refused - pc0.refused + pc1.errors - pc0.errors);
    v[BENCH_M_EPOCH_CHANGES] = (double)sum.seq.epoch_changes;
    v[BENCH_M_DRAINED] = (drained == 1 && flushed) ? 1 : 0;
    double router_cpu = c1.router - c0.router, edges_cpu = c1.edges - c0.edges;
    double clients_cpu = c1.clients - c0.clients;
    v[BENCH_M_CPU_ROUTER] = router_cpu;
    v[BENCH_M_CPU_EDGES] = edges_cpu;
    v[BENCH_M_CPU_CLIENTS] = clients_cpu;
    v[BENCH_M_CPU_PUBLISHER] = c1.self - c0.self;
    double deliveries = (double)sum.window_events;
    /* Router mode has no edge; floor mode has no router: the floor server is the whole path. */
    double fabric_cpu = o->mode_id == BENCH_MODE_ROUTER  ? router_cpu
                        : o->mode_id == BENCH_MODE_FLOOR ? edges_cpu
                                                         : router_cpu + edges_cpu;
    v[BENCH_M_US_PER_DELIVERY] = s_div(fabric_cpu * 1e6, deliveries);
    v[BENCH_M_EDGE_US_PER_DELIVERY] = s_div(edges_cpu * 1e6, deliveries);
    v[BENCH_M_ROUTER_US_PER_EVENT] = s_div(router_cpu * 1e6, (double)(c1.published - c0.published));
    v[BENCH_M_CLIENT_US_PER_DELIVERY] = s_div(clients_cpu * 1e6, deliveries);
    v[BENCH_M_ROUTER_RSS] = router_rss;
    if (self->floor) {
        v[BENCH_M_FLOOR_SENDS] = (double)(fc1.sends - fc0.sends);
        v[BENCH_M_FLOOR_SHORT_WRITES] = (double)(fc1.short_writes - fc0.short_writes);
        v[BENCH_M_FLOOR_BACKLOGGED] = (double)(fc1.backlogged - fc0.backlogged);
    }
    if (o->mode_id != BENCH_MODE_ROUTER) {
        v[BENCH_M_EDGE_RSS_BASE] = self->edge_rss_base;
        v[BENCH_M_EDGE_RSS_IDLE] = self->edge_rss_idle;
        v[BENCH_M_EDGE_RSS_BUSY] = edge_rss_busy;
        v[BENCH_M_EDGE_KIB_IDLE_CONN] =
            s_div(self->edge_rss_idle - self->edge_rss_base, (double)self->expected);
        v[BENCH_M_EDGE_KIB_BUSY_CONN] =
            s_div(edge_rss_busy - self->edge_rss_base, (double)subscribed);
        v[BENCH_M_CLIENT_KIB_CONN] = self->client_kib_conn;
    }
    bool held = sum.seq.lost == 0 && sum.seq.duplicates == 0 && sum.closed == 0 &&
                v[BENCH_M_REFUSED] == 0 && v[BENCH_M_DRAINED] == 1 && sum.latency.count > 0 &&
                v[BENCH_M_LAT_P99] < o->p99_limit_ms && v[BENCH_M_RATE_PUBLISHED] >= 0.95 * rate &&
                subscribed == self->expected;
    v[BENCH_M_HELD] = held ? 1 : 0;
    base_log(self->log, WEFT_LOG_NOTICE,
             "run %d: %.0f deliveries/s, p99 %.2f ms, lost %" PRIu64 ", duplicates %" PRIu64 ", %s",
             run, v[BENCH_M_DELIVERIES_PER_S], v[BENCH_M_LAT_P99], sum.seq.lost, sum.seq.duplicates,
             held ? "held" : "NOT held");
    return 0;
}

int bench_session_idle(bench_session_t *self, bench_sample_t *out)
{
    bench_sample_init(out);
    if (s_watch(self, (int64_t)(self->o->warmup * 1e9)) < 0)
        return -1;
    double rss = s_edges_rss(self);
    s_client_memory(self);
    uint64_t subscribed = s_sum(self, G_SUBSCRIBED);
    double *v = out->v;
    v[BENCH_M_CLIENTS] = (double)subscribed;
    v[BENCH_M_CLOSED] = (double)s_sum(self, G_FAILED);
    v[BENCH_M_EDGE_RSS_BASE] = self->edge_rss_base;
    v[BENCH_M_EDGE_RSS_IDLE] = rss;
    v[BENCH_M_EDGE_KIB_IDLE_CONN] = s_div(rss - self->edge_rss_base, (double)subscribed);
    v[BENCH_M_CLIENT_KIB_CONN] = self->client_kib_conn;
    return 0;
}

void bench_session_destroy(bench_session_t **self_p, bool failed)
{
    if (!self_p || !*self_p)
        return;
    bench_session_t *self = *self_p;
    if (self->pub)
        bench_pub_stop(self->pub);
    if (self->ctl) {
        atomic_store(&self->ctl->phase, BENCH_PHASE_EXIT);
        int64_t deadline = base_clock_ns() + 5000000000ll;
        for (size_t w = 0; w < self->nworkers; w++) {
            if (self->worker_pid[w] <= 0)
                continue;
            while (waitpid(self->worker_pid[w], NULL, WNOHANG) == 0) {
                if (base_clock_ns() > deadline) {
                    kill(self->worker_pid[w], SIGKILL);
                    waitpid(self->worker_pid[w], NULL, 0);
                    break;
                }
                s_sleep_ns(POLL_NS / 2);
            }
        }
    }
    bench_pub_destroy(&self->pub);
    bench_floor_stop(&self->floor);
    bench_fabric_stop(&self->fabric, failed || self->o->keep_logs);
    bench_curve_destroy(&self->curve);
    bench_ctl_destroy(&self->ctl);
    if (self->rooms)
        for (size_t r = 0; r < self->nrooms; r++)
            free(self->rooms[r]);
    free(self->rooms);
    free(self->token);
    free(self);
    *self_p = NULL;
}
