/*
 * bench_proc.c: /proc readers and parsers (see bench_proc.h).
 */
#include "bench_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_proc_parse_stat(const char *text, uint64_t *ticks)
{
    /* "pid (comm) state ppid ...": comm may contain ") ", so start after the last ')'. */
    const char *p = strrchr(text, ')');
    if (!p)
        return -1;
    p++;
    /* After the ')' come fields 3 (state) onwards; utime is field 14, stime field 15. */
    uint64_t v[2] = {0, 0};
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (field >= 14) {
            char *end = NULL;
            unsigned long long x = strtoull(p, &end, 10);
            if (end == p)
                return -1;
            v[field - 14] = x;
            p = end;
        } else {
            while (*p && *p != ' ')
                p++;
        }
    }
    *ticks = v[0] + v[1];
    return 0;
}

int bench_proc_parse_rss(const char *text, uint64_t *kib)
{
    const char *p = strstr(text, "\nVmRSS:");
    if (!p)
        p = strncmp(text, "VmRSS:", 6) == 0 ? text - 1 : NULL;
    if (!p)
        return -1;
    p += 7;
    char *end = NULL;
    unsigned long long x = strtoull(p, &end, 10);
    if (end == p)
        return -1;
    *kib = x;
    return 0;
}

/* Reads a small /proc file into buf (NUL-terminated). Returns 0 or -1. */
static int s_read(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return len ? 0 : -1;
}

int bench_proc_cpu_ns(pid_t pid, uint64_t *ns)
{
    char buf[1024];
    uint64_t ticks;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || s_read(pid, "stat", buf, sizeof buf) < 0 ||
        bench_proc_parse_stat(buf, &ticks) < 0)
        return -1;
    *ns = ticks * (1000000000ull / (uint64_t)hz);
    return 0;
}

int bench_proc_rss_kib(pid_t pid, uint64_t *kib)
{
    char buf[4096];
    if (s_read(pid, "status", buf, sizeof buf) < 0)
        return -1;
    return bench_proc_parse_rss(buf, kib);
}

int bench_proc_fd_count(pid_t pid, int *fds)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid > 0 ? (int)pid : (int)getpid());
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    *fds = n;
    return 0;
}

int bench_proc_pin(pid_t pid, int cpu, int *threads)
{
    *threads = 0;
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid > 0 ? (int)pid : (int)getpid());
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        char *end = NULL;
        long tid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || tid <= 0)
            continue; /* "." and ".." */
        if (sched_setaffinity((pid_t)tid, sizeof set, &set) == 0) {
            (*threads)++;
        } else if (errno != ESRCH) { /* a thread that just ended is no failure */
            rc = -1;
            break;
        }
    }
    int saved = rc == 0 && *threads == 0 ? ESRCH : errno;
    closedir(dir);
    errno = saved;
    return rc == 0 && *threads > 0 ? 0 : -1;
}
