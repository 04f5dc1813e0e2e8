/*
 * bench_fabric.c: spawning a router and edges for weft-bench (see bench_fabric.h).
 */
#include "bench_fabric.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base_clock.h"

#define MAX_ARGS 96     /* argv words per daemon */
#define MAX_EDGES 64    /* edges one bench may start */
#define TAIL_BYTES 2000 /* how much of a failed daemon's log is shown */

/* One child daemon. */
typedef struct daemon_proc {
    pid_t pid;     /* process id, 0 when not running */
    int status;    /* wait status once reaped */
    bool reaped;   /* waitpid() has collected it */
    char log[512]; /* its log file */
    char name[32]; /* "router", "edge-0", ... */
} daemon_proc_t;

struct bench_fabric {
    base_log_t *log;                /* where problems go */
    char dir[400];                  /* log directory */
    bool own_dir;                   /* created by us: removed at the end */
    daemon_proc_t router;           /* the router */
    daemon_proc_t edges[MAX_EDGES]; /* the edges */
    int nedges;                     /* how many were started */
    int edge_port[MAX_EDGES];       /* their WebSocket ports */
    int restarts[MAX_EDGES];        /* times each edge was killed and started again */
    bench_fabric_conf_t conf;       /* how to start an edge again (strings copied below) */
    char edge_bin[512];             /* conf.edge_bin */
    char edge_args[4096];           /* conf.edge_args */
    char auth_secret[512];          /* conf.auth_secret */
    char intake[128];               /* router endpoints, from its ready line */
    char fanout[128];
    char history[128];
};

/* Splits text at whitespace into argv words appended after *n entries (text is copied into buf,
 * which must outlive argv). Returns 0, or -1 when there are too many words. */
static int s_split(const char *text, char *buf, size_t cap, char **argv, int *n)
{
    if (!text)
        return 0;
    snprintf(buf, cap, "%s", text);
    for (char *save = NULL, *w = strtok_r(buf, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        if (*n >= MAX_ARGS - 1)
            return -1;
        argv[(*n)++] = w;
    }
    return 0;
}

/* Starts argv as a child writing both streams into d->log. Returns 0 or -1. */
static int s_spawn(daemon_proc_t *d, char **argv, base_log_t *log)
{
    int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot create %s: %s", d->log, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        base_log(log, WEFT_LOG_ERROR, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* A daemon must not outlive an aborted bench. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        /* Its own process group: a Ctrl-C reaches weft-bench only, which stops the daemons in
         * order (edges first) after reporting. */
        setpgid(0, 0);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "weft-bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    d->pid = pid;
    d->reaped = false;
    return 0;
}

/* Reaps d if it has exited. Returns true while it runs. */
static bool s_running(daemon_proc_t *d)
{
    if (d->pid <= 0 || d->reaped)
        return false;
    if (waitpid(d->pid, &d->status, WNOHANG) == d->pid) {
        d->reaped = true;
        return false;
    }
    return true;
}

/* Reads the whole (small) log of d into buf. Returns its length. */
static size_t s_read_log(const daemon_proc_t *d, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(d->log, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

/* Logs the tail of d's log. */
static void s_show_tail(const daemon_proc_t *d, base_log_t *log)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return;
    char buf[TAIL_BYTES + 1];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    if (fseek(f, size > TAIL_BYTES ? size - TAIL_BYTES : 0, SEEK_SET) != 0) {
        fclose(f);
        return;
    }
    size_t n = fread(buf, 1, TAIL_BYTES, f);
    fclose(f);
    buf[n] = '\0';
    base_log(log, WEFT_LOG_ERROR, "%s log (%s), last lines:\n%s", d->name, d->log, buf);
}

/* Copies the value of "key=" on the ready line of text into out. Returns 0 or -1. */
static int s_field(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (!p)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, " \n");
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Waits for d's "ready:" line and returns a copy of it in line. 0 or -1 (died or timed out). */
static int s_wait_ready(daemon_proc_t *d, int timeout_ms, char *line, size_t cap, base_log_t *log)
{
    const size_t cap_buf = 1 << 16;
    char *buf = malloc(cap_buf);
    if (!buf)
        return -1;
    long long deadline = (int64_t)base_clock_ms() + timeout_ms;
    int rc = -1;
    while ((int64_t)base_clock_ms() < deadline) {
        s_read_log(d, buf, cap_buf);
        const char *p = strstr(buf, "ready:");
        if (p) {
            size_t n = strcspn(p, "\n");
            if (p[n] == '\n') { /* the whole line is there */
                snprintf(line, cap, "%.*s", (int)n, p);
                rc = 0;
                break;
            }
        }
        if (!s_running(d)) {
            base_log(log, WEFT_LOG_ERROR, "%s exited before it was ready", d->name);
            break;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    free(buf);
    if (rc < 0) {
        if (s_running(d))
            base_log(log, WEFT_LOG_ERROR, "%s was not ready within %d ms", d->name, timeout_ms);
        s_show_tail(d, log);
    }
    return rc;
}

/* Starts edge i (its slot in self->edges) with self->conf and waits until it is ready. Returns 0
 * or -1 (logged). */
static int s_start_edge(bench_fabric_t *self, int i)
{
    char *argv[MAX_ARGS];
    char words[4096], line[1024], id[32];
    snprintf(id, sizeof id, "bench-%d", i);
    int n = 0;
    argv[n++] = self->edge_bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--router";
    argv[n++] = self->fanout;
    argv[n++] = "--history";
    argv[n++] = self->history;
    argv[n++] = "--edge_id";
    argv[n++] = id;
    argv[n++] = "--auth";
    if (self->auth_secret[0]) { /* --auth-secret: the clients present tokens signed with it */
        argv[n++] = "jwt";
        argv[n++] = "--jwt_secret_file";
        argv[n++] = self->auth_secret;
    } else { /* anonymous: the bench measures delivery, not tokens */
        argv[n++] = "none";
    }
    if (s_split(self->edge_args, words, sizeof words, argv, &n) < 0)
        return -1;
    argv[n] = NULL;
    daemon_proc_t *d = &self->edges[i];
    snprintf(d->name, sizeof d->name, "weft-edge %d", i);
    if (self->restarts[i])
        snprintf(d->log, sizeof d->log, "%s/edge-%d.%d.log", self->dir, i, self->restarts[i]);
    else
        snprintf(d->log, sizeof d->log, "%s/edge-%d.log", self->dir, i);
    char port[16];
    if (s_spawn(d, argv, self->log) < 0 ||
        s_wait_ready(d, self->conf.start_timeout_ms, line, sizeof line, self->log) < 0)
        return -1;
    if (s_field(line, "port=", port, sizeof port) < 0 || atoi(port) <= 0) {
        base_log(self->log, WEFT_LOG_ERROR, "cannot read edge %d's port from: %s", i, line);
        return -1;
    }
    self->edge_port[i] = atoi(port);
    return 0;
}

bench_fabric_t *bench_fabric_start(const bench_fabric_conf_t *conf, base_log_t *log)
{
    if (conf->nedges < 0 || conf->nedges > MAX_EDGES)
        return NULL;
    bench_fabric_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->log = log;
    self->conf = *conf;
    snprintf(self->edge_bin, sizeof self->edge_bin, "%s", conf->edge_bin ? conf->edge_bin : "");
    snprintf(self->edge_args, sizeof self->edge_args, "%s", conf->edge_args ? conf->edge_args : "");
    snprintf(self->auth_secret, sizeof self->auth_secret, "%s",
             conf->auth_secret ? conf->auth_secret : "");
    if (conf->log_dir && conf->log_dir[0]) {
        snprintf(self->dir, sizeof self->dir, "%s", conf->log_dir);
        if (mkdir(self->dir, 0755) != 0 && errno != EEXIST) {
            base_log(log, WEFT_LOG_ERROR, "cannot create %s: %s", self->dir, strerror(errno));
            free(self);
            return NULL;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(self->dir, sizeof self->dir, "%s/weft-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(self->dir)) {
            base_log(log, WEFT_LOG_ERROR, "cannot create a log directory: %s", strerror(errno));
            free(self);
            return NULL;
        }
        self->own_dir = true;
    }
    char *argv[MAX_ARGS];
    char words[4096], line[1024];
    int n = 0;
    argv[n++] = (char *)conf->router_bin;
    argv[n++] = "--intake";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--fanout";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--history";
    argv[n++] = "tcp://127.0.0.1:*";
    /* The bench measures capacity, and its raw publisher does not resend what the per-publisher
     * cap refuses: the cap is off unless --router-arg sets it (later flags win). */
    argv[n++] = "--max-publish-rate";
    argv[n++] = "0";
    if (s_split(conf->router_args, words, sizeof words, argv, &n) < 0)
        goto err;
    argv[n] = NULL;
    snprintf(self->router.name, sizeof self->router.name, "weft-router");
    snprintf(self->router.log, sizeof self->router.log, "%s/router.log", self->dir);
    if (s_spawn(&self->router, argv, log) < 0 ||
        s_wait_ready(&self->router, conf->start_timeout_ms, line, sizeof line, log) < 0)
        goto err;
    if (s_field(line, "intake=", self->intake, sizeof self->intake) < 0 ||
        s_field(line, "fanout=", self->fanout, sizeof self->fanout) < 0 ||
        s_field(line, "history=", self->history, sizeof self->history) < 0) {
        base_log(log, WEFT_LOG_ERROR, "cannot read the router's endpoints from: %s", line);
        goto err;
    }
    for (int i = 0; i < conf->nedges; i++) {
        self->nedges = i + 1;
        if (s_start_edge(self, i) < 0)
            goto err;
    }
    base_log(log, WEFT_LOG_INFO, "fabric up: router intake %s fanout %s, %d edge(s), logs in %s",
             self->intake, self->fanout, self->nedges, self->dir);
    return self;
err:
    base_log(log, WEFT_LOG_ERROR, "could not start the fabric; logs kept in %s", self->dir);
    bench_fabric_stop(&self, true);
    return NULL;
}

/* Sends SIGTERM to d; returns true if it was running. */
static bool s_term(daemon_proc_t *d)
{
    if (!s_running(d))
        return false;
    kill(d->pid, SIGTERM);
    return true;
}

/* Waits up to ms for d to exit; SIGKILLs it after that. */
static void s_reap(daemon_proc_t *d, long long deadline)
{
    while (s_running(d) && (int64_t)base_clock_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (s_running(d)) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &d->status, 0);
        d->reaped = true;
    }
}

/* Removes the files of dir and dir itself. */
static void s_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    char path[700];
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void bench_fabric_stop(bench_fabric_t **self_p, bool keep_logs)
{
    if (!self_p || !*self_p)
        return;
    bench_fabric_t *self = *self_p;
    /* Edges first, so that they do not log the router's disappearance. */
    for (int i = 0; i < self->nedges; i++)
        s_term(&self->edges[i]);
    long long deadline = (int64_t)base_clock_ms() + 5000;
    for (int i = 0; i < self->nedges; i++)
        s_reap(&self->edges[i], deadline);
    s_term(&self->router);
    s_reap(&self->router, (int64_t)base_clock_ms() + 5000);
    if (self->own_dir && !keep_logs)
        s_remove_dir(self->dir);
    else
        base_log(self->log, WEFT_LOG_NOTICE, "daemon logs kept in %s", self->dir);
    free(self);
    *self_p = NULL;
}

int bench_fabric_restart_edge(bench_fabric_t *self, int i)
{
    if (i < 0 || i >= self->nedges)
        return -1;
    daemon_proc_t *d = &self->edges[i];
    if (s_running(d)) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &d->status, 0);
        d->reaped = true;
    }
    self->restarts[i]++;
    return s_start_edge(self, i);
}

const char *bench_fabric_intake(const bench_fabric_t *self)
{
    return self->intake;
}

const char *bench_fabric_fanout(const bench_fabric_t *self)
{
    return self->fanout;
}

pid_t bench_fabric_router_pid(const bench_fabric_t *self)
{
    return self->router.pid;
}

pid_t bench_fabric_edge_pid(const bench_fabric_t *self, int i)
{
    return i >= 0 && i < self->nedges ? self->edges[i].pid : 0;
}

int bench_fabric_edge_port(const bench_fabric_t *self, int i)
{
    return i >= 0 && i < self->nedges ? self->edge_port[i] : -1;
}

const char *bench_fabric_log_dir(const bench_fabric_t *self)
{
    return self->dir;
}

int bench_fabric_check(bench_fabric_t *self)
{
    daemon_proc_t *ds[MAX_EDGES + 1];
    int n = 0;
    ds[n++] = &self->router;
    for (int i = 0; i < self->nedges; i++)
        ds[n++] = &self->edges[i];
    for (int i = 0; i < n; i++) {
        if (!s_running(ds[i])) {
            int st = ds[i]->status;
            base_log(self->log, WEFT_LOG_ERROR, "%s (pid %d) has exited (%s %d)", ds[i]->name,
                     (int)ds[i]->pid, WIFSIGNALED(st) ? "signal" : "status",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            s_show_tail(ds[i], self->log);
            return -1;
        }
    }
    return 0;
}
