/*
 * ts_http.c: raw HTTP exchanges for tests (ts_http.h).
 */
#include "ts_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int ts_http_upgrade(int port, const char *path, const char *origin, const char *bearer, char *out,
                    size_t cap)
{
    size_t rcap =
        strlen(path) + (origin ? strlen(origin) : 0) + (bearer ? strlen(bearer) : 0) + 512;
    char *req = malloc(rcap);
    if (!req || cap == 0)
        return free(req), -1;
    out[0] = '\0';
    snprintf(req, rcap,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%s%s"
             "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
             path, origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "",
             bearer ? "Authorization: Bearer " : "", bearer ? bearer : "", bearer ? "\r\n" : "");
    int status = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t len = strlen(req);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (send(fd, req, len, 0) == (ssize_t)len) {
            size_t got = 0;
            ssize_t n;
            while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0) {
                got += (size_t)n;
                out[got] = '\0';
                /* a refusal's body is one small HTML page; a 101 has no body */
                if (strstr(out, "\r\n\r\n") && (strstr(out, "</html>") || strstr(out, " 101 ")))
                    break;
            }
            if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
                status = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(req);
    return status;
}
