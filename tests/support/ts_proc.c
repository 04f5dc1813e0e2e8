/*
 * ts_proc.c: child processes, ports and clocks for the integration tests (see ts_proc.h).
 *
 * Children are started with fork + execv. Before exec the child moves into its own process group
 * (so a signal to the test's terminal group does not hit it twice), asks the kernel to SIGKILL it
 * when the test process dies, and points stdout/stderr at its log file. The log is written by
 * the child and only read by the test, so there is no pipe to drain and no deadlock.
 */
#include "ts_proc.h"

#include "base_clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct ts_proc {
    char *name;     /* label for messages */
    char *log_path; /* where stdout and stderr go */
    pid_t pid;      /* the child's pid */
    int exited;     /* 1 once reaped */
    int status;     /* waitpid status once reaped */
};

/* Sleeps ms milliseconds, resuming after signal interruptions. */
void ts_sleep_ms(int ms)
{
    struct timespec req = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&req, &req) == -1 && errno == EINTR)
        ;
}

/* 1 when 127.0.0.1:port can be bound right now. */
static int s_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    /* The daemons bind with SO_REUSEADDR too, so a port in TIME_WAIT counts as free. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    int ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

/* The low end of the kernel's ephemeral port range (32768 when it cannot be read). */
static int s_ephemeral_low(void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

/*
 * Picks a free port BELOW the kernel's ephemeral range. Why: a port from bind(0) comes from the
 * ephemeral range, where every outgoing connection (hundreds of test WebSockets, ZeroMQ links of
 * a test running in parallel) also takes its local port, so it could be taken again between this
 * check and the daemon's bind. Ports below the range are only handed out by this function, at
 * random, so a collision needs two tests to draw the same port at the same moment.
 */
int ts_free_port(void)
{
    int low = s_ephemeral_low();
    int base = low > 20000 ? 15000 : 10000;
    int span = low - base;
    if (span < 1000) {
        base = 1024;
        span = low - base;
    }
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint32_t x = 0;
        if (getrandom(&x, sizeof x, 0) != sizeof x)
            x = (uint32_t)(base_clock_ms() * 2654435761u) ^ (uint32_t)getpid() ^ (uint32_t)attempt;
        int port = base + (int)(x % (uint32_t)span);
        if (s_port_free(port))
            return port;
    }
    return -1;
}

/* One connect attempt to 127.0.0.1:port; 0 when something accepted it. */
static int s_try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* Polls the port every 20 ms until it accepts or the deadline passes. */
int ts_wait_port(int port, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (s_try_connect(port) == 0)
            return 0;
        if (base_clock_ms() >= deadline)
            return -1;
        ts_sleep_ms(20);
    }
}

/* In the forked child: set up descriptors and exec. Never returns. */
static void s_child_exec(char *const argv[], int log_fd, const char *stdin_path)
{
    /* Die with the test, so a crashed test never leaks a daemon holding a port. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    int in_fd = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    if (in_fd < 0) {
        dprintf(log_fd, "ts_proc: cannot open %s: %s\n", stdin_path, strerror(errno));
        _exit(126);
    }
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0)
        _exit(126);
    if (in_fd > STDERR_FILENO)
        close(in_fd);
    if (log_fd > STDERR_FILENO)
        close(log_fd);
    execv(argv[0], argv);
    fprintf(stderr, "ts_proc: cannot exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Forks and execs argv with its output in log_path. */
ts_proc_t *ts_proc_new(const char *name, char *const argv[], const char *log_path,
                       const char *stdin_path)
{
    ts_proc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->name = strdup(name);
    self->log_path = strdup(log_path);
    if (!self->name || !self->log_path)
        goto err;
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "ts_proc: cannot open log %s: %s\n", log_path, strerror(errno));
        goto err;
    }
    /* Flush our own buffers so the child does not inherit and repeat them. */
    fflush(NULL);
    self->pid = fork();
    if (self->pid < 0) {
        fprintf(stderr, "ts_proc: fork: %s\n", strerror(errno));
        close(log_fd);
        goto err;
    }
    if (self->pid == 0)
        s_child_exec(argv, log_fd, stdin_path);
    close(log_fd);
    return self;
err:
    free(self->name);
    free(self->log_path);
    free(self);
    return NULL;
}

/* The child's pid. */
pid_t ts_proc_pid(const ts_proc_t *self)
{
    return self->pid;
}

/* The child's label. */
const char *ts_proc_name(const ts_proc_t *self)
{
    return self->name;
}

/* The child's log path. */
const char *ts_proc_log_path(const ts_proc_t *self)
{
    return self->log_path;
}

/* Reaps the child without blocking; 1 if it has exited. */
static int s_reap(ts_proc_t *self)
{
    if (self->exited)
        return 1;
    int status;
    pid_t rc = waitpid(self->pid, &status, WNOHANG);
    if (rc == self->pid) {
        self->exited = 1;
        self->status = status;
    } else if (rc < 0 && errno == ECHILD) {
        /* Someone else reaped it; treat it as gone. */
        self->exited = 1;
        self->status = 0;
    }
    return self->exited;
}

/* Sends a signal unless the child is gone. */
int ts_proc_signal(ts_proc_t *self, int sig)
{
    if (s_reap(self))
        return -1;
    return kill(self->pid, sig) == 0 ? 0 : -1;
}

/* Polls for exit every 10 ms until the deadline. */
int ts_proc_wait(ts_proc_t *self, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (s_reap(self))
            return 0;
        if (base_clock_ms() >= deadline)
            return -1;
        ts_sleep_ms(10);
    }
}

/* 1 while running. */
int ts_proc_running(ts_proc_t *self)
{
    return !s_reap(self);
}

/* The exit code in shell convention. */
int ts_proc_exit_code(const ts_proc_t *self)
{
    if (!self->exited)
        return -1;
    if (WIFEXITED(self->status))
        return WEXITSTATUS(self->status);
    if (WIFSIGNALED(self->status))
        return 128 + WTERMSIG(self->status);
    return -1;
}

/* SIGTERM, bounded wait, then SIGKILL. */
int ts_proc_stop(ts_proc_t *self, int timeout_ms)
{
    if (ts_proc_signal(self, SIGTERM) == 0 && ts_proc_wait(self, timeout_ms) != 0) {
        fprintf(stderr, "ts_proc: %s (pid %d) ignored SIGTERM for %d ms; killing it\n",
                self->name, (int)self->pid, timeout_ms);
        kill(self->pid, SIGKILL);
        ts_proc_wait(self, 10000);
    }
    return ts_proc_exit_code(self);
}

/* Reads a whole file into a NUL-terminated buffer. */
static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - len < 2048) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* The log as a string. */
char *ts_proc_log_text(const ts_proc_t *self)
{
    return s_read_file(self->log_path);
}

/* Occurrences of needle in the log. */
int ts_proc_log_count(const ts_proc_t *self, const char *needle)
{
    char *text = s_read_file(self->log_path);
    if (!text)
        return 0;
    int count = 0;
    size_t step = strlen(needle) ? strlen(needle) : 1;
    for (const char *p = strstr(text, needle); p; p = strstr(p + step, needle))
        count++;
    free(text);
    return count;
}

/* Polls the log every 20 ms until needle shows up, the child exits, or the deadline passes. */
int ts_proc_wait_log(ts_proc_t *self, const char *needle, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (ts_proc_log_count(self, needle) > 0)
            return 0;
        if (!ts_proc_running(self)) {
            fprintf(stderr, "ts_proc: %s exited (code %d) before logging \"%s\"\n", self->name,
                    ts_proc_exit_code(self), needle);
            return -1;
        }
        if (base_clock_ms() >= deadline) {
            fprintf(stderr, "ts_proc: %s did not log \"%s\" within %d ms\n", self->name, needle,
                    timeout_ms);
            return -1;
        }
        ts_sleep_ms(20);
    }
}

/* Prints the log framed by banners. */
void ts_proc_print_log(const ts_proc_t *self, FILE *out)
{
    char *text = s_read_file(self->log_path);
    fprintf(out, "----- log of %s (pid %d, %s) -----\n", self->name, (int)self->pid,
            self->log_path);
    if (text) {
        fputs(text, out);
        if (text[0] && text[strlen(text) - 1] != '\n')
            fputc('\n', out);
    }
    fprintf(out, "----- end of %s -----\n", self->name);
    free(text);
}

/* Kills, reaps and frees. */
void ts_proc_destroy(ts_proc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ts_proc_t *self = *self_p;
    if (!s_reap(self)) {
        kill(self->pid, SIGKILL);
        ts_proc_wait(self, 10000);
    }
    free(self->name);
    free(self->log_path);
    free(self);
    *self_p = NULL;
}

/* Writes text to a new temporary file and returns its path in buf. */
static int s_temp_file(char *buf, size_t size, const char *text)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(buf, size, "%s/ts_run.XXXXXX", dir);
    int fd = mkstemp(buf);
    if (fd < 0)
        return -1;
    size_t len = text ? strlen(text) : 0, off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(buf);
            return -1;
        }
        off += (size_t)n;
    }
    close(fd);
    return 0;
}

/* Runs a command to completion through temp files for its input and output. */
int ts_run(char *const argv[], const char *stdin_text, int timeout_ms, char **output)
{
    char in_path[256], out_path[256];
    if (output)
        *output = NULL;
    if (s_temp_file(in_path, sizeof in_path, stdin_text) != 0)
        return -1;
    if (s_temp_file(out_path, sizeof out_path, NULL) != 0) {
        unlink(in_path);
        return -1;
    }
    int code = -1;
    ts_proc_t *proc = ts_proc_new(argv[0], argv, out_path, in_path);
    if (proc) {
        if (ts_proc_wait(proc, timeout_ms) == 0)
            code = ts_proc_exit_code(proc);
        else
            fprintf(stderr, "ts_run: %s still running after %d ms; killed\n", argv[0],
                    timeout_ms);
        ts_proc_destroy(&proc);
    }
    if (output)
        *output = s_read_file(out_path);
    unlink(in_path);
    unlink(out_path);
    return code;
}
