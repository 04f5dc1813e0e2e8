/*
 * bench_locate.c: where the pieces of a fabric are: daemon binaries and edge URLs (see
 * bench_locate.h).
 */
#include "bench_locate.h"

#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies the first executable among candidates into out. Returns 0 or -1. */
static int s_first_exec(const char *const *cands, size_t n, char *out, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = cands[i] ? strlen(cands[i]) : 0;
        if (len && len < cap && access(cands[i], X_OK) == 0) {
            memcpy(out, cands[i], len + 1);
            return 0;
        }
    }
    return -1;
}

/* Finds a daemon binary: the flag, next to weft-bench (installed), in the build tree
 * (<build>/sdk/tools/bench/weft-bench -> <build>/<subdir>/<name>), or on PATH. */
int bench_locate_bin(const char *given, const char *subdir, const char *name, char *out,
                      size_t cap, base_log_t *log)
{
    if (given && given[0]) {
        if (access(given, X_OK) == 0) {
            snprintf(out, cap, "%s", given);
            return 0;
        }
        base_log(log, WEFT_LOG_ERROR, "%s is not an executable", given);
        return -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char c1[PATH_MAX + 64] = "", c2[PATH_MAX + 64] = "";
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(c1, sizeof c1, "%s/%s", exe, name);
        snprintf(c2, sizeof c2, "%s/../../../%s/%s", exe, subdir, name);
    }
    const char *cands[] = {c1, c2};
    if (s_first_exec(cands, 2, out, cap) == 0)
        return 0;
    const char *path = getenv("PATH");
    if (path) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir;
             dir = strtok_r(NULL, ":", &save)) {
            char cand[PATH_MAX + 64];
            snprintf(cand, sizeof cand, "%s/%s", dir, name);
            const char *one[] = {cand};
            if (s_first_exec(one, 1, out, cap) == 0)
                return 0;
        }
    }
    base_log(log, WEFT_LOG_ERROR, "cannot find %s (give --%s-bin)", name,
             strcmp(subdir, "router") == 0 ? "router" : "edge");
    return -1;
}

/* Parses "ws://host[:port][/path]" into e. Returns 0 or -1. */
int bench_locate_edge(const char *url, bench_edge_addr_t *e, base_log_t *log)
{
    memset(e, 0, sizeof *e);
    const char *p = url;
    if (strncmp(p, "ws://", 5) == 0)
        p += 5;
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof e->host) {
        base_log(log, WEFT_LOG_ERROR, "--edge %s: no host", url);
        return -1;
    }
    memcpy(e->host, p, hlen);
    p += hlen;
    e->port = 80;
    if (*p == ':') {
        char *end = NULL;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) {
            base_log(log, WEFT_LOG_ERROR, "--edge %s: bad port", url);
            return -1;
        }
        e->port = (int)port;
        p = end;
    }
    snprintf(e->path, sizeof e->path, "%s", *p == '/' ? p : "/ws");
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(e->host, NULL, &hints, &res) != 0 || !res) {
        base_log(log, WEFT_LOG_ERROR, "--edge %s: cannot resolve %s (IPv4)", url, e->host);
        return -1;
    }
    memcpy(&e->sa, res->ai_addr, sizeof e->sa);
    e->sa.sin_port = htons((uint16_t)e->port);
    freeaddrinfo(res);
    return 0;
}
