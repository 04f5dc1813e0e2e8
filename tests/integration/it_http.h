/*
 * it_http.h: what the operations tests need to talk to a daemon's HTTP endpoints: one raw
 * HTTP/1.1 request over loopback, a Prometheus sample's value, and `promtool check metrics`.
 */
#ifndef IT_HTTP_H
#define IT_HTTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sends "method path" to 127.0.0.1:port with Connection: close and reads the whole answer into
 * answer (cap bytes, NUL-terminated); *body points at its body. Returns the HTTP status, or -1
 * when the connection failed or the answer is not HTTP/1.1 with a Content-Length equal to the
 * body's length.
 */
int it_http(int port, const char *method, const char *path, char *answer, size_t cap,
            const char **body);

/* The value of the sample line "series value" in an exposition (series includes any labels).
 * Fails the running cmocka test, printing the exposition, when there is no such line. */
uint64_t it_prom_sample(const char *body, const char *series);

/* Runs promtool (the WEFT_PROMTOOL_BIN environment variable) check metrics over body, written to
 * dir/metrics.txt. Returns its exit status, or -2 when promtool is not configured. */
int it_promtool(const char *dir, const char *body);

#endif
