/*
 * it_http.c: raw HTTP requests, Prometheus samples and promtool for the operations tests
 * (it_http.h).
 */
#include "it_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* One request, one answer; see it_http.h. */
int it_http(int port, const char *method, const char *path, char *answer, size_t cap,
            const char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int n =
        snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 method, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t len = 0;
    ssize_t got;
    while (len < cap - 1 && (got = read(fd, answer + len, cap - 1 - len)) > 0)
        len += (size_t)got;
    close(fd);
    answer[len] = '\0';
    int status = -1;
    char *end = strstr(answer, "\r\n\r\n");
    if (sscanf(answer, "HTTP/1.1 %d ", &status) != 1 || !end)
        return -1;
    *body = end + 4;
    /* lws and the router's listener both write lower-case header names. */
    const char *cl = strstr(answer, "content-length: ");
    if (!cl || cl > end || strtoul(cl + 16, NULL, 10) != strlen(*body)) {
        fprintf(stderr, "it_http: %s %s: content-length does not match the body\n", method, path);
        return -1;
    }
    return status;
}

/* A sample's value; see it_http.h. */
uint64_t it_prom_sample(const char *body, const char *series)
{
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *at = strstr(body, needle);
    if (!at)
        fail_msg("no sample %s in:\n%s", series, body);
    return strtoull(at + strlen(needle), NULL, 10);
}

/* promtool check metrics; see it_http.h. */
int it_promtool(const char *dir, const char *body)
{
    const char *promtool = getenv("WEFT_PROMTOOL_BIN");
    if (!promtool || !*promtool || strstr(promtool, "NOTFOUND"))
        return -2;
    char path[400], cmd[1200];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(body, f);
    if (fclose(f) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s'", promtool, path);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
