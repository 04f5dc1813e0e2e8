/*
 * rtr_http.h: the router's small HTTP listener for /metrics, /health and /ready (rtr_ops.h).
 *
 * libwebsockets serves HTTP/1.1 on metrics_bind:metrics_port. The router's loop is a zmq_poll
 * loop, not lws's, so lws runs in a libuv loop this module owns ("foreign" to lws), and that
 * loop is embedded in the router's: libuv gathers every descriptor lws uses (the listening
 * socket, each connection, its timers) behind one epoll descriptor, rtr_http_fd(). The router
 * polls that descriptor with its sockets, bounds its sleep by rtr_http_timeout_ms(), and calls
 * rtr_http_service() when it is readable or the timeout passed; that runs libuv once without
 * waiting (UV_RUN_NOWAIT). So a scrape costs the loop one non-blocking pass, never a wait, and
 * an idle listener costs nothing. (lws's own poll loop cannot be embedded: this lws is built
 * without LWS_WITH_EXTERNAL_POLL, so it reports no descriptors to a foreign poll.)
 *
 * Not thread-safe: every call from the router's loop thread.
 */
#ifndef RTR_HTTP_H
#define RTR_HTTP_H

#include <stdint.h>

#include "base_log.h"
#include "rtr_ops.h"

typedef struct rtr_http rtr_http_t;

/* Starts listening on bind:port (port 0: an ephemeral port, see rtr_http_port) and answers
 * through ops, which stays the caller's and must outlive the listener. log is borrowed (NULL:
 * silent). Returns NULL, logged, when the port cannot be bound or memory runs out. */
rtr_http_t *rtr_http_new(const char *bind, int port, rtr_ops_t *ops, base_log_t *log);

/* Closes the listener and its connections and sets *self_p to NULL. NULL-safe, twice-safe. */
void rtr_http_destroy(rtr_http_t **self_p);

/* The port the listener is bound to. */
int rtr_http_port(const rtr_http_t *self);

/* The descriptor to poll for input: readable when the listener has work. */
int rtr_http_fd(const rtr_http_t *self);

/* Longest the caller may sleep before calling rtr_http_service() again, ms; -1 = no limit. */
int rtr_http_timeout_ms(const rtr_http_t *self);

/* Runs whatever is ready (accepts, reads, answers, timeouts) without waiting. */
void rtr_http_service(rtr_http_t *self);

#endif
