/*
 * bench_floor.h: the floor server of weft-bench --mode floor: the bare-loop reference an edge is
 * compared with, measured by the same tool, with the same clients, on the same machine.
 *
 * The floor server is what an unbatched edge cannot beat on one core: one process, one thread,
 * one level-triggered epoll loop over non-blocking sockets. It accepts the bench's WebSocket
 * clients on a 127.0.0.1 port (the opening handshake, then it answers each `subscribe` with the
 * `subscribed` frame the clients wait for and ignores anything else they send), and while a run
 * lasts it publishes the events itself, at the run's rate, on a timerfd: for each event it builds
 * ONE pre-framed WebSocket text frame, byte for byte the JSON an edge sends
 *   {"op":"event","room":R,"epoch":E,"seq":S,"type":"bench.ev","ts":TS,"data":{"pad":"xx…"}}
 * (ts is the build time, the clock libweft stamps with), and writes that same buffer to every
 * client of the room: one send() per client per event. A socket that does not take all of it
 * keeps the rest in a per-connection backlog, written on EPOLLOUT, and later events for it are
 * appended behind (both counted); a backlog over 4 MiB closes the connection, like the edge's
 * slow-consumer limit. With pack K > 1, a room's events are instead gathered K at a time (K
 * separate event frames, one after the other) and each client gets the K of them in one send()
 * every K events: the cost of packing, next to the cost of one send() per event.
 *
 * It is forked by weft-bench (so that its CPU time and memory are read from /proc exactly like an
 * edge's) and follows the parent through a small shared mapping: fence requests, the start and
 * stop of each run, and, once a run is stopped, each room's last seq, which the bench's drain
 * waits for. The seqs start at 1 per room and the epoch is random, as a fresh room on a router.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base_log.h"

typedef struct bench_floor bench_floor_t;

/* How to start the floor server. Everything is inherited by the forked process. */
typedef struct bench_floor_conf {
    char *const *rooms; /* room names, nrooms (the clients subscribe to these) */
    size_t nrooms;      /* at least 1 */
    const char *prefix; /* the rooms' common prefix: room i is prefix + decimal i */
    size_t payload;     /* bytes of each event's JSON payload, at least 10 */
    int pack;           /* events per send() and client (1: one send() per event) */
    int log_level;      /* the floor server's own messages (weft_log_level_t) */
} bench_floor_conf_t;

/* The floor server's counters (cumulative). */
typedef struct bench_floor_counts {
    uint64_t published;    /* events built, fences included */
    uint64_t sends;        /* send() calls that carried events */
    uint64_t short_writes; /* sends a socket did not take whole (the rest was kept) */
    uint64_t backlogged;   /* event buffers appended behind an unwritten backlog, not sent */
    uint64_t closed;       /* connections closed: backlog over the limit, errors, client close */
    uint64_t subscribed;   /* clients currently subscribed */
} bench_floor_counts_t;

/* Binds a listening socket on 127.0.0.1 (port 0) and forks the floor server. Call before any
 * thread is started. NULL on failure (logged). */
bench_floor_t *bench_floor_start(const bench_floor_conf_t *conf, base_log_t *log);

/* Tells the floor server to exit, waits for it (SIGKILL after 5 s), frees and nulls *self_p.
 * NULL-safe. */
void bench_floor_stop(bench_floor_t **self_p);

/* The floor server's process id. */
pid_t bench_floor_pid(const bench_floor_t *self);

/* The port it listens on (127.0.0.1). */
int bench_floor_port(const bench_floor_t *self);

/* Returns 0 while the floor server runs; -1 (logged) once it has exited. */
int bench_floor_check(bench_floor_t *self);

/* Asks for one "bench.fence" event into every room, now. Returns 0 or -1 while a run is on. */
int bench_floor_fence(bench_floor_t *self);

/* Waits until every fence asked for has been sent, at most timeout_ms. 0 or -1. */
int bench_floor_fence_wait(bench_floor_t *self, int timeout_ms);

/* Starts publishing "bench.ev" events at rate events per second, rooms round-robin. 0 or -1. */
int bench_floor_run_start(bench_floor_t *self, double rate);

/* Stops publishing (partial packs are sent) and waits, at most timeout_ms, until the floor server
 * has done so; the rooms' totals are final then. 0, or -1 on timeout. Harmless when not started. */
int bench_floor_run_stop(bench_floor_t *self, int timeout_ms);

/* Events published so far into room (its last seq). Final after bench_floor_run_stop(). */
uint64_t bench_floor_room_total(const bench_floor_t *self, size_t room);

/* Copies the counters (readable at any time). */
void bench_floor_counts(const bench_floor_t *self, bench_floor_counts_t *out);

/*
 * Builds one event frame, exactly as an edge sends it, into out (cap bytes): the WebSocket header
 * of a final unmasked text frame, then
 *   {"op":"event","room":<room>,"epoch":<epoch>,"seq":<seq>,"type":<type>,"ts":<ts_ns>,"data":<data>}
 * Returns the frame's length, or 0 when cap is too small. room and type are written as they are
 * (valid Weft names need no escaping); data must be a JSON object.
 */
size_t bench_floor_frame(uint8_t *out, size_t cap, const char *room, uint64_t epoch, uint64_t seq,
                         const char *type, uint64_t ts_ns, const char *data, size_t data_len);

#endif
