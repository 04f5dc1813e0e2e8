/*
 * bench_floor.c: the floor server of weft-bench --mode floor (see bench_floor.h).
 *
 * Two halves: the parent's handle (start, commands through the shared mapping, stop) and the
 * server itself, which runs in the forked child and never returns to the bench's code.
 */
#include "bench_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base_clock.h"
#include "bench_ws.h"

#define LISTEN_BACKLOG 4096       /* pending connections (capped by somaxconn) */
#define RBUF_SIZE (64u << 10)     /* the server's one read buffer */
#define MAX_CLIENT_PAYLOAD 65536  /* a bigger client frame closes the connection */
#define MAX_BACKLOG (4u << 20)    /* unwritten bytes per connection before it is closed */
#define EPOLL_BATCH 1024          /* events taken per epoll_wait */
#define LOOP_MS 10                /* epoll_wait timeout: how often the mapping is looked at */
#define HEAD_MAX 512              /* the JSON before "data": room 128, type 64, 3 x u64 */
#define EV_LISTEN UINT64_MAX      /* epoll data of the listening socket */
#define EV_TIMER (UINT64_MAX - 1) /* epoll data of the pacing timer */
#define WAIT_STEP_NS 2000000L     /* how often the parent looks at the mapping while waiting */
#define TICK_BUDGET_NS 10000000ll /* most time one timer expiry may spend building and sending */

/* ---- The shared mapping ------------------------------------------------------------------ */

/* What the parent and the floor server share. Written before fork, both sides run after it. */
typedef struct floor_shm {
    _Atomic int exit;              /* the parent asks the server to exit */
    _Atomic uint64_t fence_req;    /* fence rounds asked for */
    _Atomic uint64_t fence_done;   /* fence rounds sent */
    _Atomic int run_req;           /* the latest run asked to start */
    _Atomic int stop_req;          /* the latest run asked to stop */
    _Atomic int stopped;           /* the latest run the server has stopped */
    double rate;                   /* events per second of run_req (published by its store) */
    _Atomic uint64_t published;    /* bench_floor_counts_t, mirrored by the server */
    _Atomic uint64_t sends;        /* ... */
    _Atomic uint64_t short_writes; /* ... */
    _Atomic uint64_t backlogged;   /* ... */
    _Atomic uint64_t closed;       /* ... */
    _Atomic uint64_t subscribed;   /* ... */
    size_t nrooms;                 /* entries in room_seq */
    _Atomic uint64_t room_seq[];   /* per room: the last seq built */
} floor_shm_t;

struct bench_floor {
    floor_shm_t *shm; /* the shared mapping */
    size_t shm_size;  /* its size */
    pid_t pid;        /* the floor server, 0 once reaped */
    int port;         /* its port on 127.0.0.1 */
    int run;          /* the latest run started */
    bool running;     /* a run was started and not stopped */
    base_log_t *log;  /* the parent's messages */
};

size_t bench_floor_frame(uint8_t *out, size_t cap, const char *room, uint64_t epoch, uint64_t seq,
                         const char *type, uint64_t ts_ns, const char *data, size_t data_len)
{
    char head[HEAD_MAX];
    int n = snprintf(head, sizeof head,
                     "{\"op\":\"event\",\"room\":\"%s\",\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64
                     ",\"type\":\"%s\",\"ts\":%" PRIu64 ",\"data\":",
                     room, epoch, seq, type, ts_ns);
    if (n < 0 || (size_t)n >= sizeof head)
        return 0;
    uint64_t body = (uint64_t)n + data_len + 1;
    uint8_t hdr[BENCH_WS_SERVER_HEADER];
    size_t h = bench_ws_server_header(hdr, BENCH_WS_TEXT, body);
    if (cap < h || cap - h < body)
        return 0;
    memcpy(out, hdr, h);
    memcpy(out + h, head, (size_t)n);
    memcpy(out + h + (size_t)n, data, data_len);
    out[h + (size_t)n + data_len] = '}';
    return h + (size_t)body;
}

/* ---- The server (child process) ---------------------------------------------------------- */

/* One client connection. */
typedef struct fconn {
    int fd;         /* socket; -1 for a free slot */
    bool open;      /* the handshake is done */
    bool want_out;  /* EPOLLOUT is registered (the backlog is not empty) */
    int32_t room;   /* the room it joined, -1 before its subscribe */
    uint32_t pos;   /* its index in the room's member list */
    uint8_t *in;    /* bytes of an incomplete request or client frame */
    size_t in_len;  /* bytes in in */
    size_t in_cap;  /* size of in */
    uint8_t *out;   /* the backlog: bytes the socket did not take yet */
    size_t out_off; /* first unwritten byte of out */
    size_t out_len; /* end of the unwritten bytes */
    size_t out_cap; /* size of out */
} fconn_t;

/* One room: who joined it and the events gathered for the next send. */
typedef struct froom {
    uint32_t *members; /* connection indices */
    uint32_t n;        /* members */
    uint32_t cap;      /* size of members */
    uint8_t *pack;     /* pre-framed events not sent yet (one with pack 1) */
    size_t pack_len;   /* bytes in pack */
    size_t pack_cap;   /* size of pack */
    int packed;        /* events in pack */
    uint64_t seq;      /* the last seq built */
} froom_t;

/* The server's state. */
typedef struct floor_srv {
    const bench_floor_conf_t *conf; /* settings (inherited) */
    floor_shm_t *shm;               /* the shared mapping */
    base_log_t *log;                /* the server's messages */
    base_limit_t lim;           /* rate limit for per-connection messages */
    int ep;                         /* epoll descriptor */
    int lfd;                        /* listening socket */
    int tfd;                        /* pacing timerfd */
    fconn_t *conns;                 /* connection slots */
    uint32_t nconns;                /* slots in use or freed */
    uint32_t cap;                   /* size of conns */
    uint32_t *free_slots;           /* freed slot indices */
    uint32_t nfree;                 /* how many */
    froom_t *rooms;                 /* conf->nrooms rooms */
    size_t prefix_len;              /* strlen(conf->prefix) */
    char *data;                     /* the padded JSON payload, built once */
    size_t data_len;                /* its length */
    size_t frame_max;               /* largest event frame */
    uint64_t epoch;                 /* the rooms' epoch */
    uint8_t *rbuf;                  /* the read buffer */
    int run;                        /* the run being published (or last published) */
    bool pacing;                    /* the timer is armed */
    double rate;                    /* events per second of the run */
    int64_t t0;                     /* monotonic start of the run */
    uint64_t sent;                  /* events of the run so far */
    uint64_t next;                  /* round-robin position: event k goes to room k % nrooms */
    uint64_t fence_done;            /* fence rounds sent */
    bench_floor_counts_t c;         /* counters, mirrored into the mapping every loop pass */
} floor_srv_t;

/* A random epoch in [1, 2^53), as a router picks one. */
static uint64_t s_epoch(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = base_clock_wall_ns() ^ ((uint64_t)getpid() << 32);
    v &= (1ull << 53) - 1;
    return v ? v : 1;
}

/* Grows *buf (cap *cap) to hold at least want bytes. 0 or -1 on OOM. */
static int s_grow(uint8_t **buf, size_t *cap, size_t want)
{
    if (want <= *cap)
        return 0;
    size_t n = *cap ? *cap : 512;
    while (n < want)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* Takes connection idx out of its room (swap with the last member). */
static void s_leave(floor_srv_t *srv, uint32_t idx)
{
    fconn_t *c = &srv->conns[idx];
    if (c->room < 0)
        return;
    froom_t *r = &srv->rooms[c->room];
    uint32_t last = r->members[--r->n];
    r->members[c->pos] = last;
    srv->conns[last].pos = c->pos;
    c->room = -1;
    srv->c.subscribed--;
}

/* Closes connection idx and frees its slot. Safe while a room's members are walked backwards:
 * the member moved into its place has been visited already. */
static void s_close(floor_srv_t *srv, uint32_t idx, const char *why)
{
    fconn_t *c = &srv->conns[idx];
    if (c->fd < 0)
        return;
    if (why)
        base_log_limited(srv->log, &srv->lim, WEFT_LOG_WARN, "floor: connection %u: %s", idx, why);
    s_leave(srv, idx);
    (void)epoll_ctl(srv->ep, EPOLL_CTL_DEL, c->fd, NULL); /* close() drops it anyway */
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->room = -1;
    srv->free_slots[srv->nfree++] = idx;
    srv->c.closed++;
}

/* Asks (or stops asking) for EPOLLOUT on c. 0 or -1. */
static int s_want_out(floor_srv_t *srv, uint32_t idx, bool want)
{
    fconn_t *c = &srv->conns[idx];
    if (c->want_out == want)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = idx};
    if (epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        return -1;
    c->want_out = want;
    return 0;
}

/*
 * Writes len bytes to connection idx: one non-blocking send() when nothing is waiting, else (or
 * for what the socket did not take) into the backlog. `event` counts it among the event sends.
 * Returns 0, or -1 when the connection must be closed (error, or backlog over the limit).
 */
static int s_out(floor_srv_t *srv, uint32_t idx, const uint8_t *p, size_t len, bool event)
{
    fconn_t *c = &srv->conns[idx];
    if (c->out_len == c->out_off) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (event)
            srv->c.sends++;
        if (n == (ssize_t)len)
            return 0;
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            n = 0;
        }
        if (event)
            srv->c.short_writes++;
        p += n;
        len -= (size_t)n;
        c->out_off = c->out_len = 0;
    } else if (event) {
        srv->c.backlogged++;
    }
    size_t waiting = c->out_len - c->out_off;
    if (waiting + len > MAX_BACKLOG) {
        errno = ENOBUFS;
        return -1;
    }
    if (c->out_off && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, waiting); /* reuse the written front first */
        c->out_off = 0;
        c->out_len = waiting;
    }
    if (s_grow(&c->out, &c->out_cap, c->out_len + len) < 0)
        return -1;
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    return s_want_out(srv, idx, true);
}

/* EPOLLOUT: writes the backlog. Returns 0 or -1 (close). */
static int s_flush(floor_srv_t *srv, uint32_t idx)
{
    fconn_t *c = &srv->conns[idx];
    while (c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return s_want_out(srv, idx, false);
}

/* Why a write failed (errno from s_out), or NULL when the peer just left. */
static const char *s_why(int err)
{
    if (err == ENOBUFS)
        return "slow consumer: backlog over 4 MiB, closed";
    return err == EPIPE || err == ECONNRESET ? NULL : strerror(err);
}

/* Sends a room's gathered events to every member: the same buffer, one send() each. */
static void s_fanout(floor_srv_t *srv, size_t r)
{
    froom_t *room = &srv->rooms[r];
    if (!room->pack_len)
        return;
    for (uint32_t k = room->n; k-- > 0;) {
        uint32_t idx = room->members[k];
        if (s_out(srv, idx, room->pack, room->pack_len, true) < 0)
            s_close(srv, idx, s_why(errno));
    }
    room->pack_len = 0;
    room->packed = 0;
}

/* Builds the next event of room r; sends the room's pack when it is full (or when now). */
static void s_event(floor_srv_t *srv, size_t r, const char *type, bool now)
{
    froom_t *room = &srv->rooms[r];
    if (s_grow(&room->pack, &room->pack_cap, room->pack_len + srv->frame_max) < 0) {
        base_log_limited(srv->log, &srv->lim, WEFT_LOG_ERROR, "floor: out of memory");
        return;
    }
    size_t n = bench_floor_frame(room->pack + room->pack_len, room->pack_cap - room->pack_len,
                                 srv->conf->rooms[r], srv->epoch, room->seq + 1, type,
                                 base_clock_wall_ns(), srv->data, srv->data_len);
    if (n == 0)
        return; /* cannot happen: frame_max covers the largest frame */
    room->seq++;
    atomic_store_explicit(&srv->shm->room_seq[r], room->seq, memory_order_relaxed);
    srv->c.published++;
    room->pack_len += n;
    room->packed++;
    if (now || room->packed >= srv->conf->pack)
        s_fanout(srv, r);
}

/* The room a subscribe names, or -1 when it is not one of the bench's. */
static long s_room_index(const floor_srv_t *srv, const char *name, size_t len)
{
    if (len <= srv->prefix_len || memcmp(name, srv->conf->prefix, srv->prefix_len) != 0)
        return -1;
    size_t idx = 0;
    for (size_t i = srv->prefix_len; i < len; i++) {
        if (name[i] < '0' || name[i] > '9' || idx > srv->conf->nrooms)
            return -1;
        idx = idx * 10 + (size_t)(name[i] - '0');
    }
    if (idx >= srv->conf->nrooms || strlen(srv->conf->rooms[idx]) != len ||
        memcmp(srv->conf->rooms[idx], name, len) != 0)
        return -1;
    return (long)idx;
}

/* Sends a small server frame (subscribed, pong, close) to idx. 0 or -1. */
static int s_control_frame(floor_srv_t *srv, uint32_t idx, unsigned op, const void *p, size_t len)
{
    uint8_t buf[BENCH_WS_SERVER_HEADER + 400];
    if (len > sizeof buf - BENCH_WS_SERVER_HEADER)
        return -1;
    size_t h = bench_ws_server_header(buf, op, len);
    memcpy(buf + h, p, len);
    return s_out(srv, idx, buf, h + len, false);
}

/* A text message from idx: answers a subscribe, ignores the rest. 0 or -1 (close). */
static int s_text(floor_srv_t *srv, uint32_t idx, const uint8_t *p, size_t len)
{
    json_t *doc = json_loadb((const char *)p, len, 0, NULL);
    const char *op = json_string_value(json_object_get(doc, "op"));
    json_t *jroom = json_object_get(doc, "room");
    int rc = 0;
    if (op && strcmp(op, "subscribe") == 0 && json_is_string(jroom)) {
        long r = s_room_index(srv, json_string_value(jroom), json_string_length(jroom));
        fconn_t *c = &srv->conns[idx];
        if (r < 0) {
            base_log_limited(srv->log, &srv->lim, WEFT_LOG_WARN,
                             "floor: connection %u: subscribe to an unknown room ignored", idx);
        } else {
            if (c->room < 0) {
                froom_t *room = &srv->rooms[r];
                if (room->n == room->cap) {
                    uint32_t ncap = room->cap ? room->cap * 2 : 16;
                    uint32_t *m = realloc(room->members, ncap * sizeof *m);
                    if (!m) {
                        json_decref(doc);
                        return -1;
                    }
                    room->members = m;
                    room->cap = ncap;
                }
                c->room = (int32_t)r;
                c->pos = room->n;
                room->members[room->n++] = idx;
                srv->c.subscribed++;
            }
            char ans[300];
            int n = snprintf(ans, sizeof ans, "{\"op\":\"subscribed\",\"room\":\"%s\"}",
                             srv->conf->rooms[r]);
            rc = (n > 0 && (size_t)n < sizeof ans)
                     ? s_control_frame(srv, idx, BENCH_WS_TEXT, ans, (size_t)n)
                     : -1;
        }
    }
    json_decref(doc);
    return rc;
}

/* Handles one client frame. Returns 0, 1 when the connection ended (closed here), -1 to close. */
static int s_client_frame(floor_srv_t *srv, uint32_t idx, const bench_ws_cframe_t *f, uint8_t *p)
{
    switch (f->opcode) {
    case BENCH_WS_TEXT:
        return f->fin ? s_text(srv, idx, p, f->payload_len) : 0; /* the bench never fragments */
    case BENCH_WS_PING:
        return s_control_frame(srv, idx, BENCH_WS_PONG, p,
                               f->payload_len > 125 ? 125 : f->payload_len);
    case BENCH_WS_CLOSE:
        (void)s_control_frame(srv, idx, BENCH_WS_CLOSE, p, f->payload_len >= 2 ? 2 : 0);
        s_close(srv, idx, NULL);
        return 1;
    default:
        return 0; /* read and discard */
    }
}

/* Keeps bytes [p, p+len) of idx for the next read (p may point into c->in). 0 or -1. */
static int s_keep_in(fconn_t *c, const uint8_t *p, size_t len)
{
    if (len > MAX_CLIENT_PAYLOAD + 64)
        return -1;
    if (p >= c->in && p < c->in + c->in_cap) {
        memmove(c->in, p, len);
    } else {
        if (s_grow(&c->in, &c->in_cap, len) < 0)
            return -1;
        memcpy(c->in, p, len);
    }
    c->in_len = len;
    return 0;
}

/* EPOLLIN on idx: one read, then the handshake and every complete client frame. */
static void s_read(floor_srv_t *srv, uint32_t idx)
{
    fconn_t *c = &srv->conns[idx];
    ssize_t n = read(c->fd, srv->rbuf, RBUF_SIZE);
    if (n == 0) {
        s_close(srv, idx, c->room >= 0 ? NULL : "closed before subscribing");
        return;
    }
    if (n < 0) {
        /* A reset is how the bench's clients leave (no TIME_WAIT): not worth a warning. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            s_close(srv, idx, errno == ECONNRESET ? NULL : strerror(errno));
        return;
    }
    uint8_t *buf = srv->rbuf;
    size_t len = (size_t)n;
    if (c->in_len) {
        if (s_grow(&c->in, &c->in_cap, c->in_len + len) < 0) {
            s_close(srv, idx, "out of memory");
            return;
        }
        memcpy(c->in + c->in_len, srv->rbuf, len);
        buf = c->in;
        len += c->in_len;
        c->in_len = 0;
    }
    size_t off = 0;
    if (!c->open) {
        char answer[512];
        size_t used = 0;
        int a = bench_ws_answer((const char *)buf, len, answer, sizeof answer, &used);
        if (a < 0) {
            s_close(srv, idx, "not a WebSocket opening request");
            return;
        }
        if (a == 0) {
            if (s_keep_in(c, buf, len) < 0)
                s_close(srv, idx, "opening request too long");
            return;
        }
        c->open = true;
        if (s_out(srv, idx, (const uint8_t *)answer, (size_t)a, false) < 0) {
            s_close(srv, idx, "cannot answer the opening request");
            return;
        }
        off = used;
    }
    while (off < len) {
        bench_ws_cframe_t f;
        const char *err = NULL;
        ssize_t fl = bench_ws_client_frame(buf + off, len - off, MAX_CLIENT_PAYLOAD, &f, &err);
        if (fl == 0)
            break;
        if (fl < 0) {
            s_close(srv, idx, err);
            return;
        }
        uint8_t *payload = buf + off + f.payload_off;
        bench_ws_unmask(payload, &f);
        int rc = s_client_frame(srv, idx, &f, payload);
        if (rc > 0)
            return;
        if (rc < 0) {
            s_close(srv, idx, "cannot answer a client frame");
            return;
        }
        off += (size_t)fl;
    }
    if (off < len && s_keep_in(c, buf + off, len - off) < 0)
        s_close(srv, idx, "client frame too long");
}

/* Accepts every pending connection. */
static void s_accept(floor_srv_t *srv)
{
    for (;;) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                base_log_limited(srv->log, &srv->lim, WEFT_LOG_WARN, "floor: accept: %s",
                                 strerror(errno));
            return;
        }
        uint32_t idx;
        if (srv->nfree) {
            idx = srv->free_slots[--srv->nfree];
        } else {
            if (srv->nconns == srv->cap) {
                uint32_t ncap = srv->cap ? srv->cap * 2 : 1024;
                fconn_t *cs = realloc(srv->conns, ncap * sizeof *cs);
                uint32_t *fs = cs ? realloc(srv->free_slots, ncap * sizeof *fs) : NULL;
                if (cs)
                    srv->conns = cs;
                if (!cs || !fs) {
                    close(fd);
                    base_log_limited(srv->log, &srv->lim, WEFT_LOG_ERROR, "floor: out of memory");
                    return;
                }
                srv->free_slots = fs;
                srv->cap = ncap;
            }
            idx = srv->nconns++;
        }
        fconn_t *c = &srv->conns[idx];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->room = -1;
        int one = 1;
        /* As an edge does: each frame goes out at once, so latency is the loop's, not Nagle's. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = idx};
        if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            s_close(srv, idx, "epoll_ctl failed");
            srv->c.closed--; /* never open: not a closed client */
        }
    }
}

/* Arms the pacing timer for the run (rate events per second), or disarms it (rate 0). */
static int s_arm(floor_srv_t *srv, double rate)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (rate > 0) {
        /* One tick per event at low rates (at most 10 ms), every millisecond above 1,000/s,
         * which is how often the bench's publisher publishes too. */
        double tick = 1.0 / rate;
        tick = tick < 0.001 ? 0.001 : tick > 0.010 ? 0.010 : tick;
        long ns = (long)(tick * 1e9);
        its.it_interval.tv_nsec = ns;
        its.it_value.tv_nsec = ns;
    }
    return timerfd_settime(srv->tfd, 0, &its, NULL);
}

/*
 * The pacing timer fired: builds (and sends) the events due since the run started, for at most
 * TICK_BUDGET_NS. A server that cannot keep up falls behind (the published rate shows it) instead
 * of spending ever longer passes catching up, which would starve the connections and the parent's
 * requests.
 */
static void s_tick(floor_srv_t *srv)
{
    uint64_t expirations;
    if (read(srv->tfd, &expirations, sizeof expirations) < 0 || !srv->pacing)
        return;
    double elapsed = (double)(base_clock_ns() - srv->t0) / 1e9;
    uint64_t due = (uint64_t)(srv->rate * elapsed + 0.5);
    size_t nrooms = srv->conf->nrooms;
    int64_t until = base_clock_ns() + TICK_BUDGET_NS;
    while (srv->sent < due) {
        s_event(srv, (size_t)(srv->next++ % nrooms), "bench.ev", false);
        srv->sent++;
        if (base_clock_ns() > until)
            break; /* the rest stays due for the next pass */
    }
}

/* Follows the parent's requests in the mapping. */
static void s_control(floor_srv_t *srv)
{
    floor_shm_t *shm = srv->shm;
    uint64_t fences = atomic_load_explicit(&shm->fence_req, memory_order_acquire);
    for (; srv->fence_done < fences; srv->fence_done++)
        for (size_t r = 0; r < srv->conf->nrooms; r++) {
            s_fanout(srv, r); /* nothing is gathered between runs, but keep the order anyway */
            s_event(srv, r, "bench.fence", true);
        }
    atomic_store_explicit(&shm->fence_done, srv->fence_done, memory_order_release);
    int run = atomic_load_explicit(&shm->run_req, memory_order_acquire);
    if (run != srv->run) {
        srv->run = run;
        srv->rate = shm->rate;
        srv->t0 = base_clock_ns();
        srv->sent = 0;
        srv->pacing = s_arm(srv, srv->rate) == 0;
        if (!srv->pacing)
            base_log(srv->log, WEFT_LOG_ERROR, "floor: timerfd_settime: %s", strerror(errno));
    }
    int stop = atomic_load_explicit(&shm->stop_req, memory_order_acquire);
    if (stop == srv->run && atomic_load_explicit(&shm->stopped, memory_order_relaxed) != stop) {
        if (srv->pacing)
            (void)s_arm(srv, 0); /* disarming a valid timerfd cannot fail */
        srv->pacing = false;
        for (size_t r = 0; r < srv->conf->nrooms; r++)
            s_fanout(srv, r);
        atomic_store_explicit(&shm->stopped, stop, memory_order_release);
    }
}

/* Copies the counters into the mapping. */
static void s_mirror(floor_srv_t *srv)
{
    floor_shm_t *shm = srv->shm;
    atomic_store_explicit(&shm->published, srv->c.published, memory_order_relaxed);
    atomic_store_explicit(&shm->sends, srv->c.sends, memory_order_relaxed);
    atomic_store_explicit(&shm->short_writes, srv->c.short_writes, memory_order_relaxed);
    atomic_store_explicit(&shm->backlogged, srv->c.backlogged, memory_order_relaxed);
    atomic_store_explicit(&shm->closed, srv->c.closed, memory_order_relaxed);
    atomic_store_explicit(&shm->subscribed, srv->c.subscribed, memory_order_relaxed);
}

/* Frees the server's state (the connections are reset: no TIME_WAIT is left behind). */
static void s_srv_free(floor_srv_t *srv)
{
    for (uint32_t i = 0; i < srv->nconns; i++) {
        fconn_t *c = &srv->conns[i];
        if (c->fd >= 0) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* best effort */
            close(c->fd);
        }
        free(c->in);
        free(c->out);
    }
    if (srv->rooms)
        for (size_t r = 0; r < srv->conf->nrooms; r++) {
            free(srv->rooms[r].members);
            free(srv->rooms[r].pack);
        }
    free(srv->rooms);
    free(srv->conns);
    free(srv->free_slots);
    free(srv->data);
    free(srv->rbuf);
    if (srv->tfd >= 0)
        close(srv->tfd);
    if (srv->ep >= 0)
        close(srv->ep);
    if (srv->lfd >= 0)
        close(srv->lfd);
}

/* The floor server's body, in the forked child. Returns the exit status. */
static int s_serve(const bench_floor_conf_t *conf, floor_shm_t *shm, int lfd)
{
    floor_srv_t srv;
    memset(&srv, 0, sizeof srv);
    srv.conf = conf;
    srv.shm = shm;
    srv.lfd = lfd;
    srv.log = base_log_new("weft-bench floor", (weft_log_level_t)conf->log_level, stderr);
    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    srv.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    srv.rooms = calloc(conf->nrooms, sizeof *srv.rooms);
    srv.prefix_len = strlen(conf->prefix);
    srv.data_len = conf->payload < 10 ? 10 : conf->payload;
    srv.data = malloc(srv.data_len + 1);
    srv.rbuf = malloc(RBUF_SIZE);
    srv.frame_max = BENCH_WS_SERVER_HEADER + HEAD_MAX + srv.data_len + 1;
    srv.epoch = s_epoch();
    int rc = 1;
    if (!srv.log || srv.ep < 0 || srv.tfd < 0 || !srv.rooms || !srv.data || !srv.rbuf)
        goto done;
    /* {"pad":"xxxx"}: the payload the bench's publisher sends. */
    memcpy(srv.data, "{\"pad\":\"", 8);
    memset(srv.data + 8, 'x', srv.data_len - 10);
    memcpy(srv.data + srv.data_len - 2, "\"}", 3);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LISTEN};
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = EV_TIMER};
    if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, lfd, &ev) < 0 ||
        epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.tfd, &tev) < 0)
        goto done;
    base_log(srv.log, WEFT_LOG_INFO, "floor: pid %d, epoch %" PRIu64 ", %zu room(s), pack %d",
             (int)getpid(), srv.epoch, conf->nrooms, conf->pack);
    struct epoll_event *evs = calloc(EPOLL_BATCH, sizeof *evs);
    if (!evs)
        goto done;
    while (!atomic_load_explicit(&shm->exit, memory_order_acquire)) {
        s_control(&srv);
        int n = epoll_wait(srv.ep, evs, EPOLL_BATCH, LOOP_MS);
        if (n < 0 && errno != EINTR) {
            base_log(srv.log, WEFT_LOG_ERROR, "floor: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < n; k++) {
            uint64_t d = evs[k].data.u64;
            uint32_t e = evs[k].events;
            if (d == EV_LISTEN) {
                s_accept(&srv);
                continue;
            }
            if (d == EV_TIMER) {
                s_tick(&srv);
                continue;
            }
            uint32_t idx = (uint32_t)d;
            if (idx >= srv.nconns || srv.conns[idx].fd < 0)
                continue;
            if ((e & EPOLLOUT) && s_flush(&srv, idx) < 0) {
                s_close(&srv, idx, s_why(errno));
                continue;
            }
            if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
                s_read(&srv, idx);
        }
        s_mirror(&srv);
    }
    free(evs);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "weft-bench floor: cannot set up the server\n");
    s_srv_free(&srv);
    base_log_destroy(&srv.log);
    return rc;
}

/* ---- The parent's handle ----------------------------------------------------------------- */

bench_floor_t *bench_floor_start(const bench_floor_conf_t *conf, base_log_t *log)
{
    if (!conf || conf->nrooms == 0 || conf->pack < 1)
        return NULL;
    bench_floor_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->log = log;
    self->shm_size = sizeof(floor_shm_t) + conf->nrooms * sizeof(_Atomic uint64_t);
    void *m = mmap(NULL, self->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        base_log(log, WEFT_LOG_ERROR, "floor: cannot map the shared block: %s", strerror(errno));
        free(self);
        return NULL;
    }
    self->shm = m; /* zeroed by mmap */
    self->shm->nrooms = conf->nrooms;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(lfd, LISTEN_BACKLOG) < 0 || getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
        base_log(log, WEFT_LOG_ERROR, "floor: cannot listen on 127.0.0.1: %s", strerror(errno));
        if (lfd >= 0)
            close(lfd);
        bench_floor_stop(&self);
        return NULL;
    }
    self->port = ntohs(sa.sin_port);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        base_log(log, WEFT_LOG_ERROR, "floor: fork: %s", strerror(errno));
        close(lfd);
        bench_floor_stop(&self);
        return NULL;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        signal(SIGINT, SIG_IGN); /* the parent handles Ctrl-C and tells us to exit */
        signal(SIGPIPE, SIG_IGN);
        int rc = s_serve(conf, self->shm, lfd);
        /* exit(), not _exit(): no thread of ours exists yet in the parent at fork time, and
         * LeakSanitizer then checks the floor server too. */
        exit(rc);
    }
    close(lfd);
    self->pid = pid;
    base_log(log, WEFT_LOG_INFO, "floor server: pid %d, ws://127.0.0.1:%d/ws", (int)pid,
             self->port);
    return self;
}

void bench_floor_stop(bench_floor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_floor_t *self = *self_p;
    if (self->pid > 0) {
        atomic_store_explicit(&self->shm->exit, 1, memory_order_release);
        int64_t deadline = base_clock_ns() + 5000000000ll;
        while (waitpid(self->pid, NULL, WNOHANG) == 0) {
            if (base_clock_ns() > deadline) {
                kill(self->pid, SIGKILL);
                waitpid(self->pid, NULL, 0);
                break;
            }
            struct timespec ts = {0, WAIT_STEP_NS * 5};
            nanosleep(&ts, NULL);
        }
    }
    if (self->shm)
        munmap(self->shm, self->shm_size);
    free(self);
    *self_p = NULL;
}

pid_t bench_floor_pid(const bench_floor_t *self)
{
    return self->pid;
}

int bench_floor_port(const bench_floor_t *self)
{
    return self->port;
}

int bench_floor_check(bench_floor_t *self)
{
    int status;
    if (self->pid <= 0)
        return -1;
    if (waitpid(self->pid, &status, WNOHANG) != self->pid)
        return 0;
    base_log(self->log, WEFT_LOG_ERROR, "the floor server (pid %d) died (%s %d)", (int)self->pid,
             WIFSIGNALED(status) ? "signal" : "status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    self->pid = 0;
    return -1;
}

int bench_floor_fence(bench_floor_t *self)
{
    if (self->running)
        return -1;
    atomic_fetch_add_explicit(&self->shm->fence_req, 1, memory_order_release);
    return 0;
}

/* Waits until done() holds for the mapping, at most timeout_ms. 0 or -1. */
static int s_wait(bench_floor_t *self, bool (*done)(const floor_shm_t *, int), int arg,
                  int timeout_ms)
{
    int64_t deadline = base_clock_ns() + (int64_t)timeout_ms * 1000000ll;
    while (!done(self->shm, arg)) {
        if (base_clock_ns() > deadline || bench_floor_check(self) < 0)
            return -1;
        struct timespec ts = {0, WAIT_STEP_NS};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* True when every fence asked for has been sent. */
static bool s_fenced(const floor_shm_t *shm, int unused)
{
    (void)unused;
    return atomic_load_explicit(&shm->fence_done, memory_order_acquire) >=
           atomic_load_explicit(&shm->fence_req, memory_order_relaxed);
}

int bench_floor_fence_wait(bench_floor_t *self, int timeout_ms)
{
    return s_wait(self, s_fenced, 0, timeout_ms);
}

int bench_floor_run_start(bench_floor_t *self, double rate)
{
    if (self->running || rate <= 0)
        return -1;
    self->shm->rate = rate;
    self->run++;
    atomic_store_explicit(&self->shm->run_req, self->run, memory_order_release);
    self->running = true;
    return 0;
}

/* True when the server has stopped run `run`. */
static bool s_stopped(const floor_shm_t *shm, int run)
{
    return atomic_load_explicit(&shm->stopped, memory_order_acquire) == run;
}

int bench_floor_run_stop(bench_floor_t *self, int timeout_ms)
{
    if (!self || !self->running)
        return 0;
    self->running = false;
    atomic_store_explicit(&self->shm->stop_req, self->run, memory_order_release);
    return s_wait(self, s_stopped, self->run, timeout_ms);
}

uint64_t bench_floor_room_total(const bench_floor_t *self, size_t room)
{
    return room < self->shm->nrooms
               ? atomic_load_explicit(&self->shm->room_seq[room], memory_order_acquire)
               : 0;
}

void bench_floor_counts(const bench_floor_t *self, bench_floor_counts_t *out)
{
    const floor_shm_t *shm = self->shm;
    out->published = atomic_load_explicit(&shm->published, memory_order_relaxed);
    out->sends = atomic_load_explicit(&shm->sends, memory_order_relaxed);
    out->short_writes = atomic_load_explicit(&shm->short_writes, memory_order_relaxed);
    out->backlogged = atomic_load_explicit(&shm->backlogged, memory_order_relaxed);
    out->closed = atomic_load_explicit(&shm->closed, memory_order_relaxed);
    out->subscribed = atomic_load_explicit(&shm->subscribed, memory_order_relaxed);
}
