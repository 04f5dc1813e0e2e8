/*
 * it_fabric.c: the shared harness of the fabric integration tests (see it_fabric.h).
 */
#include "it_fabric.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IT_MAX_EXTRA 32 /* extra children (CLIs, simulators) per test */

/* One edge slot. */
typedef struct it_edge {
    ts_proc_t *proc; /* the weft-edge process (the latest, when it was restarted) */
    int port;        /* its WebSocket port, kept across restarts */
    int starts;      /* how many processes this slot has had (names their logs) */
} it_edge_t;

struct it_fabric {
    char *name;                      /* test name, used in paths */
    char dir[256];                   /* log and scratch directory */
    int intake_port;                 /* router intake (agents) */
    int fanout_port;                 /* router fan-out (edges) */
    int history_port;                /* router history service (edges) */
    char intake[64];                 /* intake endpoint text */
    char fanout[64];                 /* fan-out endpoint text */
    char history[64];                /* history endpoint text */
    ts_proc_t *router;               /* the running router, if any */
    ts_proc_t *old_routers[8];       /* routers already stopped, kept for their logs */
    int nold;                        /* count of old_routers */
    int router_starts;               /* how many routers were started (names their logs) */
    it_edge_t edges[IT_MAX_EDGES];   /* started edges */
    int nedges;                      /* count of edges */
    ts_proc_t *old_edges[16];        /* edges already replaced by a restart, kept for their logs */
    int nold_edges;                  /* count of old_edges */
    ts_proc_t *extra[IT_MAX_EXTRA];  /* other children */
    int nextra;                      /* count of extra */
    unsigned fences;                 /* names fresh fence rooms */
};

/* Reads a required environment variable. */
const char *it_env(const char *var)
{
    const char *value = getenv(var);
    if (!value || !*value) {
        fprintf(stderr, "it_fabric: environment variable %s is not set (run the test via ctest)\n",
                var);
        exit(2);
    }
    return value;
}

/* Creates the harness and its directory. */
it_fabric_t *it_fabric_new(const char *name)
{
    it_fabric_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->name = strdup(name);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(self->dir, sizeof self->dir, "%s/weft-it-%s-%d", tmp, name, (int)getpid());
    /* Ports are fixed for the whole test so that a restarted router comes back where publishers
     * and edges reconnect, and so that publishers can be created before the router runs. */
    self->intake_port = ts_free_port();
    do
        self->fanout_port = ts_free_port();
    while (self->fanout_port == self->intake_port);
    do
        self->history_port = ts_free_port();
    while (self->history_port == self->intake_port || self->history_port == self->fanout_port);
    snprintf(self->intake, sizeof self->intake, "tcp://127.0.0.1:%d", self->intake_port);
    snprintf(self->fanout, sizeof self->fanout, "tcp://127.0.0.1:%d", self->fanout_port);
    snprintf(self->history, sizeof self->history, "tcp://127.0.0.1:%d", self->history_port);
    if (!self->name || self->intake_port < 0 || self->fanout_port < 0 || self->history_port < 0 ||
        (mkdir(self->dir, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "it_fabric: cannot create %s: %s\n", self->dir, strerror(errno));
        free(self->name);
        free(self);
        return NULL;
    }
    return self;
}

/* Prints one process's log if it exists. */
static void s_print(ts_proc_t *proc)
{
    if (proc)
        ts_proc_print_log(proc, stderr);
}

/* Removes the log directory with everything in it (nginx keeps a small tree there). */
static void s_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    char path[1024];
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            s_remove_dir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Kills, reports, cleans up. */
void it_fabric_destroy(it_fabric_t **self_p, int failed)
{
    if (!self_p || !*self_p)
        return;
    it_fabric_t *self = *self_p;
    /* Stop edges before the router so their logs end cleanly. */
    for (int i = 0; i < self->nedges; i++)
        if (self->edges[i].proc && ts_proc_running(self->edges[i].proc))
            ts_proc_stop(self->edges[i].proc, 5000);
    if (self->router && ts_proc_running(self->router))
        ts_proc_stop(self->router, 5000);
    if (failed) {
        fprintf(stderr, "it_fabric: %s failed; logs follow (kept in %s)\n", self->name,
                self->dir);
        for (int i = 0; i < self->nold; i++)
            s_print(self->old_routers[i]);
        s_print(self->router);
        for (int i = 0; i < self->nold_edges; i++)
            s_print(self->old_edges[i]);
        for (int i = 0; i < self->nedges; i++)
            s_print(self->edges[i].proc);
        for (int i = 0; i < self->nextra; i++)
            s_print(self->extra[i]);
    }
    for (int i = 0; i < self->nold; i++)
        ts_proc_destroy(&self->old_routers[i]);
    ts_proc_destroy(&self->router);
    for (int i = 0; i < self->nold_edges; i++)
        ts_proc_destroy(&self->old_edges[i]);
    for (int i = 0; i < self->nedges; i++)
        ts_proc_destroy(&self->edges[i].proc);
    for (int i = 0; i < self->nextra; i++)
        ts_proc_destroy(&self->extra[i]);
    if (!failed)
        s_remove_dir(self->dir);
    free(self->name);
    free(self);
    *self_p = NULL;
}

/* Fills argv from fixed and extra arguments; returns the count or -1 when too many. */
static int s_argv(char **argv, int cap, const char *const *fixed, const char *const *extra)
{
    int n = 0;
    for (; fixed && *fixed; fixed++)
        if (n < cap - 1)
            argv[n++] = (char *)*fixed;
    for (; extra && *extra; extra++) {
        if (n >= cap - 1)
            return -1;
        argv[n++] = (char *)*extra;
    }
    argv[n] = NULL;
    return n;
}

/* Starts the router on the harness's ports. */
int it_fabric_start_router(it_fabric_t *self, const char *const *extra)
{
    if (self->router && ts_proc_running(self->router)) {
        fprintf(stderr, "it_fabric: router already running\n");
        return -1;
    }
    if (self->router) {
        if (self->nold == (int)(sizeof self->old_routers / sizeof self->old_routers[0]))
            return -1;
        self->old_routers[self->nold++] = self->router;
        self->router = NULL;
    }
    const char *fixed[] = {it_env("WEFT_ROUTER_BIN"), "--intake", self->intake, "--fanout",
                           self->fanout, "--history", self->history, "--log-level", "info", NULL};
    char *argv[64];
    if (s_argv(argv, 64, fixed, extra) < 0)
        return -1;
    char log[400];
    snprintf(log, sizeof log, "%s/router.%d.log", self->dir, ++self->router_starts);
    char label[32];
    snprintf(label, sizeof label, "weft-router#%d", self->router_starts);
    self->router = ts_proc_new(label, argv, log, NULL);
    if (!self->router)
        return -1;
    if (ts_proc_wait_log(self->router, "ready:", IT_START_TIMEOUT_MS) != 0) {
        ts_proc_print_log(self->router, stderr);
        return -1;
    }
    return 0;
}

/* Signals the router and waits for it to exit. */
int it_fabric_signal_router(it_fabric_t *self, int sig)
{
    if (!self->router || ts_proc_signal(self->router, sig) != 0)
        return -1;
    if (ts_proc_wait(self->router, 15000) != 0) {
        fprintf(stderr, "it_fabric: router did not exit within 15 s of signal %d\n", sig);
        ts_proc_signal(self->router, SIGKILL);
        ts_proc_wait(self->router, 5000);
    }
    return ts_proc_exit_code(self->router);
}

/* The router process. */
ts_proc_t *it_fabric_router(it_fabric_t *self)
{
    return self->router;
}

/* Starts a weft-edge process for slot idx on the slot's port and waits until it serves. */
static int s_run_edge(it_fabric_t *self, int idx, const char *edge_id, const char *const *extra)
{
    it_edge_t *edge = &self->edges[idx];
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", edge->port);
    const char *fixed[] = {it_env("WEFT_EDGE_BIN"),
                           "--port",
                           port_text,
                           "--bind",
                           "127.0.0.1",
                           "--router",
                           self->fanout,
                           "--history",
                           self->history,
                           "--www",
                           it_env("WEFT_WWW_DIR"),
                           "--edge-id",
                           edge_id,
                           "--log-level",
                           "info",
                           "--auth", /* anonymous; a test that needs tokens passes --auth jwt */
                           "none",
                           /* SIGTERM stops at once (1001); a drain test passes its own. */
                           "--drain-grace",
                           "0",
                           "--drain-seconds",
                           "0",
                           NULL};
    char *argv[64];
    if (s_argv(argv, 64, fixed, extra) < 0)
        return -1;
    char log[400], label[80];
    edge->starts++;
    if (edge->starts == 1) {
        snprintf(log, sizeof log, "%s/edge-%s.log", self->dir, edge_id);
        snprintf(label, sizeof label, "weft-edge %s", edge_id);
    } else {
        snprintf(log, sizeof log, "%s/edge-%s.%d.log", self->dir, edge_id, edge->starts);
        snprintf(label, sizeof label, "weft-edge %s#%d", edge_id, edge->starts);
    }
    edge->proc = ts_proc_new(label, argv, log, NULL);
    if (!edge->proc)
        return -1;
    if (ts_proc_wait_log(edge->proc, "ready:", IT_START_TIMEOUT_MS) != 0 ||
        ts_wait_port(edge->port, IT_START_TIMEOUT_MS) != 0) {
        fprintf(stderr, "it_fabric: edge %s did not become ready on port %d\n", edge_id,
                edge->port);
        ts_proc_print_log(edge->proc, stderr);
        return -1;
    }
    return 0;
}

/* Starts one edge. */
int it_fabric_start_edge(it_fabric_t *self, const char *edge_id, const char *const *extra)
{
    if (self->nedges == IT_MAX_EDGES)
        return -1;
    int port = ts_free_port();
    if (port < 0)
        return -1;
    int idx = self->nedges++;
    self->edges[idx].port = port;
    return s_run_edge(self, idx, edge_id, extra) == 0 ? idx : -1;
}

/* Starts edge idx again on its port, after its process exited. */
int it_fabric_restart_edge(it_fabric_t *self, int idx, const char *edge_id,
                           const char *const *extra)
{
    if (idx < 0 || idx >= self->nedges)
        return -1;
    it_edge_t *edge = &self->edges[idx];
    if (edge->proc && ts_proc_running(edge->proc)) {
        fprintf(stderr, "it_fabric: edge %s still runs; stop it before restarting\n", edge_id);
        return -1;
    }
    if (edge->proc) {
        if (self->nold_edges == (int)(sizeof self->old_edges / sizeof self->old_edges[0]))
            return -1;
        self->old_edges[self->nold_edges++] = edge->proc;
        edge->proc = NULL;
    }
    return s_run_edge(self, idx, edge_id, extra);
}

/* Edge port. */
int it_fabric_edge_port(const it_fabric_t *self, int idx)
{
    return idx >= 0 && idx < self->nedges ? self->edges[idx].port : -1;
}

/* Edge process. */
ts_proc_t *it_fabric_edge(it_fabric_t *self, int idx)
{
    return idx >= 0 && idx < self->nedges ? self->edges[idx].proc : NULL;
}

/* Intake endpoint. */
const char *it_fabric_intake(const it_fabric_t *self)
{
    return self->intake;
}

/* Fan-out endpoint. */
const char *it_fabric_fanout(const it_fabric_t *self)
{
    return self->fanout;
}

/* History endpoint. */
const char *it_fabric_history(const it_fabric_t *self)
{
    return self->history;
}

/* Scratch directory. */
const char *it_fabric_dir(const it_fabric_t *self)
{
    return self->dir;
}

/* Starts an extra child with its log in the test directory. */
ts_proc_t *it_fabric_spawn(it_fabric_t *self, const char *name, char *const argv[],
                           const char *stdin_path)
{
    if (self->nextra == IT_MAX_EXTRA)
        return NULL;
    char log[400];
    snprintf(log, sizeof log, "%s/%s.%d.log", self->dir, name, self->nextra);
    ts_proc_t *proc = ts_proc_new(name, argv, log, stdin_path);
    if (proc)
        self->extra[self->nextra++] = proc;
    return proc;
}

/*
 * Writes the shipped HAProxy configuration for nedges edges: the file reads its addresses from
 * WEFT_HTTP_BIND and WEFT_EDGE<n>, and names two servers; more edges get more "server" lines
 * copied from the last one. Nothing else changes, so the tests run what is deployed.
 */
static int s_write_haproxy_cfg(const char *src, const char *dst, int nedges)
{
    FILE *in = fopen(src, "r");
    if (!in) {
        fprintf(stderr, "it_fabric: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    FILE *out = fopen(dst, "w");
    if (!out) {
        fprintf(stderr, "it_fabric: cannot write %s: %s\n", dst, strerror(errno));
        fclose(in);
        return -1;
    }
    char line[1024], last_server[1024] = "";
    int servers = 0;
    while (fgets(line, sizeof line, in)) {
        const char *p = line + strspn(line, " \t");
        int is_server = strncmp(p, "server edge", 11) == 0;
        if (is_server) {
            servers++;
            snprintf(last_server, sizeof last_server, "%s", line);
            if (servers > nedges)
                continue; /* fewer edges than the file names */
        } else if (servers > 0 && last_server[0]) {
            /* Just after the file's server lines: add the missing ones. */
            for (int n = servers + 1; n <= nedges; n++)
                fprintf(out, "    server edge%d \"${WEFT_EDGE%d}\"\n", n, n);
            last_server[0] = '\0';
        }
        fputs(line, out);
    }
    if (last_server[0])
        for (int n = servers + 1; n <= nedges; n++)
            fprintf(out, "    server edge%d \"${WEFT_EDGE%d}\"\n", n, n);
    fclose(in);
    int rc = fclose(out) == 0 && servers > 0 ? 0 : -1;
    if (servers == 0)
        fprintf(stderr, "it_fabric: %s has no \"server edgeN\" line\n", src);
    return rc;
}

/* Starts HAProxy with the shipped configuration in front of every edge started so far. */
int it_fabric_start_haproxy(it_fabric_t *self)
{
    int port = ts_free_port();
    if (port < 0 || self->nedges < 1)
        return -1;
    char cfg[400], var[32], addr[64];
    snprintf(cfg, sizeof cfg, "%s/haproxy.cfg", self->dir);
    if (s_write_haproxy_cfg(it_env("WEFT_HAPROXY_CFG"), cfg, self->nedges) != 0)
        return -1;
    /* The configuration reads its addresses from the environment; children inherit ours. */
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    if (setenv("WEFT_HTTP_BIND", addr, 1) != 0)
        return -1;
    for (int i = 0; i < self->nedges; i++) {
        snprintf(var, sizeof var, "WEFT_EDGE%d", i + 1);
        snprintf(addr, sizeof addr, "127.0.0.1:%d", self->edges[i].port);
        if (setenv(var, addr, 1) != 0)
            return -1;
    }
    char *argv[] = {(char *)it_env("WEFT_HAPROXY_BIN"), "-db", "-f", cfg, NULL};
    ts_proc_t *proc = it_fabric_spawn(self, "haproxy", argv, NULL);
    if (!proc)
        return -1;
    if (ts_wait_port(port, IT_START_TIMEOUT_MS) != 0) {
        fprintf(stderr, "it_fabric: HAProxy did not listen on port %d\n", port);
        ts_proc_print_log(proc, stderr);
        return -1;
    }
    return port;
}

/*
 * Writes the shipped nginx configuration for nedges edges, changed only in its addresses: its
 * "listen 127.0.0.1:8080" becomes listen_port, its upstream "server 127.0.0.1:PORT ..." lines
 * name the edges' ports in order (lines beyond nedges dropped, missing ones copied from the
 * last).
 */
static int s_write_nginx_cfg(const it_fabric_t *self, const char *src, const char *dst,
                             int listen_port)
{
    FILE *in = fopen(src, "r");
    if (!in) {
        fprintf(stderr, "it_fabric: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    FILE *out = fopen(dst, "w");
    if (!out) {
        fprintf(stderr, "it_fabric: cannot write %s: %s\n", dst, strerror(errno));
        fclose(in);
        return -1;
    }
    static const char server[] = "server 127.0.0.1:";
    static const char listen[] = "listen 127.0.0.1:";
    char line[1024], rest[512] = "";
    int servers = 0, listens = 0, pending_copies = 0;
    while (fgets(line, sizeof line, in)) {
        int indent = (int)strspn(line, " \t");
        const char *p = line + indent;
        if (strncmp(p, server, sizeof server - 1) == 0) {
            const char *after = p + sizeof server - 1 + strspn(p + sizeof server - 1, "0123456789");
            snprintf(rest, sizeof rest, "%s", after);
            if (servers < self->nedges)
                fprintf(out, "%.*s%s%d%s", indent, line, server, self->edges[servers].port, rest);
            servers++;
            pending_copies = 1;
            continue;
        }
        if (pending_copies) {
            for (int i = servers; i < self->nedges; i++)
                fprintf(out, "        %s%d%s", server, self->edges[i].port, rest);
            pending_copies = 0;
        }
        if (strncmp(p, listen, sizeof listen - 1) == 0) {
            const char *after = p + sizeof listen - 1 + strspn(p + sizeof listen - 1, "0123456789");
            fprintf(out, "%.*s%s%d%s", indent, line, listen, listen_port, after);
            listens++;
            continue;
        }
        fputs(line, out);
    }
    fclose(in);
    int rc = fclose(out) == 0 && servers > 0 && listens == 1 ? 0 : -1;
    if (servers == 0 || listens != 1)
        fprintf(stderr, "it_fabric: %s: want upstream \"%s...\" lines and one \"%s...\"\n", src,
                server, listen);
    return rc;
}

/* Starts nginx with the shipped configuration in front of every edge started so far. */
int it_fabric_start_nginx(it_fabric_t *self)
{
    int port = ts_free_port();
    if (port < 0 || self->nedges < 1)
        return -1;
    char prefix[300], cfg[400], logs[400], globals[800];
    snprintf(prefix, sizeof prefix, "%s/nginx", self->dir);
    snprintf(logs, sizeof logs, "%s/logs", prefix);
    snprintf(cfg, sizeof cfg, "%s/nginx.conf", prefix);
    if ((mkdir(prefix, 0755) != 0 && errno != EEXIST) || (mkdir(logs, 0755) != 0 && errno != EEXIST))
        return -1;
    if (s_write_nginx_cfg(self, it_env("WEFT_NGINX_CFG"), cfg, port) != 0)
        return -1;
    /* One process in the foreground (it dies with the test), files under the prefix. */
    snprintf(globals, sizeof globals,
             "daemon off; master_process off; pid %s/nginx.pid; error_log stderr notice;", prefix);
    char *argv[] = {(char *)it_env("WEFT_NGINX_BIN"), "-p", prefix, "-c", cfg, "-g", globals,
                    NULL};
    ts_proc_t *proc = it_fabric_spawn(self, "nginx", argv, NULL);
    if (!proc)
        return -1;
    if (ts_wait_port(port, IT_START_TIMEOUT_MS) != 0) {
        fprintf(stderr, "it_fabric: nginx did not listen on port %d\n", port);
        ts_proc_print_log(proc, stderr);
        return -1;
    }
    return port;
}

/* SIGTERM to edges then router; all must exit 0. */
int it_fabric_stop_all(it_fabric_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->nedges; i++) {
        ts_proc_t *proc = self->edges[i].proc;
        if (!proc || !ts_proc_running(proc))
            continue;
        int code = ts_proc_stop(proc, 15000);
        if (code != 0) {
            fprintf(stderr, "it_fabric: %s exited with %d after SIGTERM (want 0)\n",
                    ts_proc_name(proc), code);
            rc = -1;
        }
    }
    if (self->router && ts_proc_running(self->router)) {
        int code = ts_proc_stop(self->router, 15000);
        if (code != 0) {
            fprintf(stderr, "it_fabric: router exited with %d after SIGTERM (want 0)\n", code);
            rc = -1;
        }
    }
    return rc;
}

/* Publishes through the harness, naming refusals. */
int it_publish(weft_pub_t *pub, const char *room, const char *type, const char *json)
{
    int rc = weft_publish(pub, room, type, json, 0);
    if (rc != 0) {
        fprintf(stderr, "it_fabric: weft_publish(%s, %s) failed: %s (%s)\n", room, type,
                weft_err_name(rc), weft_strerror(rc));
        return -1;
    }
    return 0;
}

/* Fence: see the header. */
int it_fence(it_fabric_t *self, int idx, ts_wsc_t *wsc, weft_pub_t *pub, int timeout_ms)
{
    char room[32], name[64];
    snprintf(room, sizeof room, "fence:%u", ++self->fences);
    snprintf(name, sizeof name, "fence client %s", room);
    ts_wsc_conn_t *conn = ts_wsc_connect(wsc, it_fabric_edge_port(self, idx), name);
    if (!conn || ts_wsc_wait_open(conn, timeout_ms) != 0 ||
        ts_wsc_subscribe(conn, room, timeout_ms) != 0)
        return -1;
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    while (ts_wsc_count_op(conn, "event", room) == 0) {
        if (base_clock_ms() >= deadline || ts_wsc_is_closed(conn)) {
            fprintf(stderr, "it_fabric: fence %s on edge %d saw no probe: %s\n", room, idx,
                    ts_wsc_describe(conn));
            return -1;
        }
        if (it_publish(pub, room, "test.fence", "{}") != 0)
            return -1;
        ts_wsc_service(wsc, 100);
    }
    ts_wsc_close(conn);
    return 0;
}

/* Compares an event frame with what was published. */
int it_check_event(json_t *frame, const char *room, const char *type, json_t *data)
{
    const char *op = json_string_value(json_object_get(frame, "op"));
    const char *froom = json_string_value(json_object_get(frame, "room"));
    const char *ftype = json_string_value(json_object_get(frame, "type"));
    json_t *fdata = json_object_get(frame, "data");
    const char *what = NULL;
    if (!op || strcmp(op, "event") != 0)
        what = "op is not \"event\"";
    else if (!froom || strcmp(froom, room) != 0)
        what = "wrong room";
    else if (!ftype || strcmp(ftype, type) != 0)
        what = "wrong type";
    else if (!json_is_object(fdata) || !json_equal(fdata, data))
        what = "wrong data";
    else if (!json_is_integer(json_object_get(frame, "seq")) ||
             !json_is_integer(json_object_get(frame, "epoch")) ||
             !json_is_integer(json_object_get(frame, "ts")))
        what = "seq, epoch or ts missing or not an integer";
    if (!what)
        return 0;
    char *got = json_dumps(frame, JSON_COMPACT);
    char *want = json_dumps(data, JSON_COMPACT);
    fprintf(stderr, "it_fabric: %s: want room %s type %s data %s; got %s\n", what, room, type,
            want ? want : "?", got ? got : "?");
    free(got);
    free(want);
    return -1;
}

/* Reads an unsigned integer field. */
uint64_t it_event_u64(json_t *frame, const char *field)
{
    json_t *v = json_object_get(frame, field);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}
