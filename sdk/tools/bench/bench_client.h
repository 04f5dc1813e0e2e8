/*
 * bench_client.h: one weft-bench client worker: many WebSocket clients on one epoll loop.
 *
 * A worker process owns the clients [first, first + count) of the run. Client i connects to edge
 * i % nedges, joins room i % nrooms and counts what it receives (bench_acct.h). The loop is level-
 * triggered epoll over non-blocking sockets; each readable socket gets one read() per wake-up into
 * a buffer shared by the whole worker, and the frames in it are scanned in place (bench_ws.h,
 * bench_scan.h), so receiving an event allocates nothing. Only the bytes of a frame cut by the
 * end of a read are kept per connection until the rest arrives.
 *
 * Connections are opened at most `inflight` at a time. When connect() fails with EADDRNOTAVAIL
 * (the ephemeral ports towards one edge are used up, about 28,000 per source address) the worker
 * moves on to the next source address, 127.0.0.2, 127.0.0.3 ... (loopback targets only), binding
 * with IP_BIND_ADDRESS_NO_PORT so the port is still chosen per destination.
 *
 * Reading costs this process far more in the kernel's TCP path than in its own code (most of its
 * CPU time, docs/performance.md "The bench's WebSocket client"): every frame read alone means one read(), one epoll
 * wake-up and one ACK through the loopback. Two habits cut that without changing what the edge
 * does: ACKs are delayed (TCP_QUICKACK off after each read, as a browser's host would do with
 * small pushed segments), and after a wake-up that found at least 32 sockets ready the loop
 * pauses coalesce_us microseconds, so that the next read() of each socket carries several
 * frames. An idle or lightly loaded client never pauses, so it adds no latency there; under load
 * the pause adds at most coalesce_us to a frame's measured latency.
 *
 * The worker follows the parent through the shared control block: each connect round it opens
 * every connection that is not open (up to 3 attempts each), and it exits at BENCH_PHASE_EXIT,
 * resetting its connections (no TIME_WAIT is left behind).
 */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_shared.h"
#include "base_log.h"

#define BENCH_MAX_EDGES 64

/* Where one edge listens. */
typedef struct bench_edge_addr {
    struct sockaddr_in sa; /* IPv4 address and port */
    char host[64];         /* host text for the Host header */
    int port;              /* port, for the Host header */
    char path[128];        /* request path, normally "/ws" */
} bench_edge_addr_t;

/* What a worker needs to know. Everything is copied or inherited; nothing is freed. */
typedef struct bench_client_conf {
    const bench_edge_addr_t *edges; /* nedges edges */
    size_t nedges;                  /* at least 1 */
    char *const *rooms;             /* room names, nrooms */
    size_t nrooms;                  /* at least 1 */
    size_t first;                   /* first client index of this worker */
    size_t count;                   /* clients of this worker */
    int inflight;                   /* connections being established at once, at most */
    int coalesce_us;                /* pause after a busy wake-up (0: none), see below */
    uint64_t nonce;                 /* makes the handshake keys of this run */
    int worker;                     /* slot in the control block */
    const char *token;              /* JWT sent as "Authorization: Bearer" (NULL: anonymous) */
} bench_client_conf_t;

typedef struct bench_client bench_client_t;

/* Creates the worker's state (no sockets yet). NULL on OOM or when epoll is unavailable. */
bench_client_t *bench_client_new(const bench_client_conf_t *conf, bench_ctl_t *ctl,
                                 base_log_t *log);

/* Runs the loop until the parent says BENCH_PHASE_EXIT. Returns 0, or -1 after a fatal error
 * (also written into the worker's slot). */
int bench_client_run(bench_client_t *self);

/* Closes every socket, frees the worker and nulls *self_p. NULL-safe. */
void bench_client_destroy(bench_client_t **self_p);

#endif
