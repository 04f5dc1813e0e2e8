/*
 * ts_http.h: one raw HTTP exchange over plain TCP, for tests that must see exactly what an edge
 * answers to a request (status line, headers, body of a refused WebSocket upgrade), which a
 * WebSocket client library hides.
 */
#ifndef TS_HTTP_H
#define TS_HTTP_H

#include <stddef.h>

/*
 * Sends a WebSocket upgrade for path to 127.0.0.1:port with the given Origin and bearer token
 * (each NULL: no such header) and reads the answer into out (NUL-terminated, up to the close, a
 * complete HTML body, or 2 s of silence). Returns the HTTP status, or -1 when there was none.
 */
int ts_http_upgrade(int port, const char *path, const char *origin, const char *bearer, char *out,
                    size_t cap);

#endif
