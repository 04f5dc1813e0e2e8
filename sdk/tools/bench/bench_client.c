/*
 * bench_client.c: epoll WebSocket clients of one weft-bench worker (see bench_client.h).
 */
#include "bench_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base_clock.h"
#include "bench_acct.h"
#include "bench_scan.h"
#include "bench_ws.h"

#define RBUF_SIZE (4u << 20)         /* shared read buffer: the largest frame that fits */
#define MAX_MESSAGE (RBUF_SIZE - 64) /* a bigger message closes the connection */
#define MAX_ATTEMPTS 3               /* connect attempts per connection and round */
#define EPOLL_BATCH 1024             /* events taken per epoll_wait */
#define LOOP_MS 10                   /* epoll_wait timeout: how often the control block is read */
#define SRC_LAST 254                 /* source addresses 127.0.0.1 .. 127.0.0.254 */
#define BUSY_READY 32                /* ready sockets per wake-up that count as busy */

/* Connection states. */
enum {
    CONN_IDLE = 0,   /* no socket; queued or waiting for the next connect round */
    CONN_CONNECTING, /* connect() in progress */
    CONN_HANDSHAKE,  /* request sent, waiting for "101" */
    CONN_OPEN,       /* WebSocket open */
    CONN_DEAD,       /* closed or failed; reopened at the next connect round */
};

/* One client connection. Kept small: there may be 50,000 of them. */
typedef struct conn {
    int fd;             /* socket, -1 when none */
    uint8_t state;      /* CONN_* */
    uint8_t attempts;   /* connect attempts in the current round */
    uint8_t subscribed; /* 1 once the subscribe was answered */
    uint8_t queued;     /* 1 while in the connect queue */
    bench_wsr_t wsr;    /* frame reader state (fragment assembly) */
    uint8_t *carry;     /* bytes of an incomplete frame (or HTTP answer) kept between reads */
    uint32_t carry_len; /* bytes in carry */
    uint32_t carry_cap; /* size of carry */
    uint8_t *out;       /* bytes the socket did not take yet */
    uint32_t out_len;   /* bytes in out */
    uint32_t out_cap;   /* size of out */
} conn_t;

struct bench_client {
    bench_client_conf_t conf;   /* settings (pointers into the parent's inherited memory) */
    bench_ctl_t *ctl;           /* shared control block */
    bench_worker_slot_t *slot;  /* this worker's slot */
    base_log_t *log;            /* where problems are reported */
    base_limit_t lim_conn;  /* rate limit for connection errors */
    base_limit_t lim_frame; /* rate limit for frame errors */
    bench_acct_t *acct;         /* deliveries, losses, latency */
    conn_t *conns;              /* count connections */
    size_t *room_len;           /* strlen of each room name */
    uint32_t *queue;            /* ring of connection indices waiting to connect */
    size_t qhead;               /* next to take */
    size_t qlen;                /* entries in the ring */
    int ep;                     /* epoll descriptor */
    uint8_t *rbuf;              /* the shared read buffer */
    size_t inflight;            /* connections in CONN_CONNECTING or CONN_HANDSHAKE */
    uint64_t open;              /* connections in CONN_OPEN */
    uint64_t failed;            /* connections in CONN_DEAD: given up on or closed this round */
    int round;                  /* the connect round being served */
    unsigned src;    /* current source address: 0 = kernel's choice, else 127.0.0.(1+src) */
    uint64_t rng;    /* xorshift state for mask keys */
    conn_t *cur;     /* the connection whose frames are being read */
    size_t cur_idx;  /* its index */
    uint64_t now_ns; /* receive time of the current read (CLOCK_REALTIME) */
    char stop[96];   /* set by a frame that ends the current connection: why */
};

/* Next pseudo-random 32 bits (mask keys need not be secret for a benchmark). */
static uint32_t s_rand(bench_client_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return (uint32_t)(x >> 16);
}

/* Puts connection i at the end of the connect queue. */
static void s_enqueue(bench_client_t *self, size_t i)
{
    if (self->conns[i].queued)
        return;
    self->queue[(self->qhead + self->qlen) % self->conf.count] = (uint32_t)i;
    self->qlen++;
    self->conns[i].queued = 1;
}

bench_client_t *bench_client_new(const bench_client_conf_t *conf, bench_ctl_t *ctl, base_log_t *log)
{
    bench_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->conf = *conf;
    self->ctl = ctl;
    self->slot = &ctl->workers[conf->worker];
    self->log = log;
    self->ep = -1;
    self->rng = conf->nonce ^ ((uint64_t)conf->worker << 32) ^ 0x9E3779B97F4A7C15ull;
    if (!self->rng)
        self->rng = 1;
    size_t n = conf->count ? conf->count : 1;
    self->conns = calloc(n, sizeof *self->conns);
    self->queue = calloc(n, sizeof *self->queue);
    self->room_len = calloc(conf->nrooms, sizeof *self->room_len);
    uint32_t *stream_room = calloc(n, sizeof *stream_room);
    self->rbuf = malloc(RBUF_SIZE);
    self->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!self->conns || !self->queue || !self->room_len || !stream_room || !self->rbuf ||
        self->ep < 0) {
        free(stream_room);
        bench_client_destroy(&self);
        return NULL;
    }
    for (size_t r = 0; r < conf->nrooms; r++)
        self->room_len[r] = strlen(conf->rooms[r]);
    for (size_t i = 0; i < conf->count; i++) {
        self->conns[i].fd = -1;
        stream_room[i] = (uint32_t)((conf->first + i) % conf->nrooms);
    }
    self->acct = bench_acct_new(ctl, conf->worker, conf->count, stream_room);
    free(stream_room);
    if (!self->acct) {
        bench_client_destroy(&self);
        return NULL;
    }
    return self;
}

/* Closes connection i's socket; with reset, aborts it (RST, no TIME_WAIT). */
static void s_close_fd(bench_client_t *self, conn_t *c, bool reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* best effort */
    }
    (void)epoll_ctl(self->ep, EPOLL_CTL_DEL, c->fd, NULL); /* close() would drop it anyway */
    close(c->fd);
    c->fd = -1;
}

/* Ends connection i. While it was being established it is retried (up to MAX_ATTEMPTS); an open
 * connection that ends is dead until the next connect round. */
static void s_drop(bench_client_t *self, size_t i, const char *why)
{
    conn_t *c = &self->conns[i];
    bool was_open = c->state == CONN_OPEN;
    if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE)
        self->inflight--;
    if (was_open) {
        self->open--;
        bench_acct_result(self->acct)->closed++;
    }
    s_close_fd(self, c, false);
    bench_wsr_reset(&c->wsr);
    c->carry_len = 0;
    c->out_len = 0;
    c->subscribed = 0;
    bench_acct_dead(self->acct, i);
    base_log_limited(self->log, &self->lim_conn, WEFT_LOG_WARN, "client %zu: %s",
                     self->conf.first + i, why);
    if (!was_open && c->attempts < MAX_ATTEMPTS) {
        c->state = CONN_IDLE;
        s_enqueue(self, i);
        return;
    }
    c->state = CONN_DEAD;
    self->failed++;
}

/* Queues bytes the socket did not take and asks for EPOLLOUT. 0 or -1 on OOM. */
static int s_keep_out(bench_client_t *self, conn_t *c, const uint8_t *p, size_t len)
{
    size_t want = (size_t)c->out_len + len;
    if (want > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 256;
        while (cap < want)
            cap *= 2;
        uint8_t *grown = realloc(c->out, cap);
        if (!grown)
            return -1;
        c->out = grown;
        c->out_cap = (uint32_t)cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len = (uint32_t)want;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)(c - self->conns)};
    return epoll_ctl(self->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes bytes to c, keeping what the socket does not take. Returns 0 or -1 (connection broken). */
static int s_write(bench_client_t *self, conn_t *c, const uint8_t *p, size_t len)
{
    if (c->out_len == 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return len ? s_keep_out(self, c, p, len) : 0;
}

/* Sends one masked frame. */
static int s_send_frame(bench_client_t *self, conn_t *c, unsigned op, const void *payload,
                        size_t len)
{
    uint8_t frame[BENCH_WS_MAX_HEADER + 512];
    size_t n = bench_ws_encode(frame, sizeof frame, op, payload, len, s_rand(self));
    return n ? s_write(self, c, frame, n) : -1;
}

/* Writes what c kept back. */
static int s_flush(bench_client_t *self, conn_t *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (uint32_t)n;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(c - self->conns)};
    return epoll_ctl(self->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Makes the handshake key of connection i (derived, so it need not be stored). */
static void s_key(bench_client_t *self, size_t i, char *key)
{
    bench_ws_key(self->conf.nonce, (uint64_t)(self->conf.first + i), key);
}

/* The edge of connection i. */
static const bench_edge_addr_t *s_edge(bench_client_t *self, size_t i)
{
    return &self->conf.edges[(self->conf.first + i) % self->conf.nedges];
}

/* The connect just completed: send the opening request. */
static void s_connected(bench_client_t *self, size_t i)
{
    conn_t *c = &self->conns[i];
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err) {
        s_drop(self, i, strerror(err));
        return;
    }
    const bench_edge_addr_t *edge = s_edge(self, i);
    char key[BENCH_WS_KEY_LEN + 1], req[4096]; /* room for a token of a few KiB */
    s_key(self, i, key);
    int n = bench_ws_request(req, sizeof req, edge->host, edge->port, edge->path, key,
                             self->conf.token);
    c->state = CONN_HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
    if (n < 0 || epoll_ctl(self->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0 ||
        s_write(self, c, (const uint8_t *)req, (size_t)n) < 0)
        s_drop(self, i, "cannot send the opening request");
}

/* Starts connecting connection i. Returns 0, or -1 when the source addresses are exhausted (the
 * connection is then dead). */
static int s_start(bench_client_t *self, size_t i)
{
    conn_t *c = &self->conns[i];
    const bench_edge_addr_t *edge = s_edge(self, i);
    c->attempts++;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            c->state = CONN_IDLE;
            c->attempts = MAX_ATTEMPTS;
            s_drop(self, i,
                   errno == EMFILE ? "out of file descriptors (RLIMIT_NOFILE)" : strerror(errno));
            return -1;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* only latency */
        if (self->src > 0) {
            struct sockaddr_in src = {.sin_family = AF_INET};
            src.sin_addr.s_addr = htonl(0x7F000001u + self->src);
            /* Without it bind() picks the port for every destination at once (fewer ports). */
            (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
                close(fd);
                c->attempts = MAX_ATTEMPTS;
                s_drop(self, i, "cannot bind the source address");
                return -1;
            }
        }
        int rc = connect(fd, (const struct sockaddr *)&edge->sa, sizeof edge->sa);
        if (rc < 0 && errno == EADDRNOTAVAIL) {
            close(fd);
            bool loopback = (ntohl(edge->sa.sin_addr.s_addr) >> 24) == 127;
            if (!loopback || self->src + 1 >= SRC_LAST) {
                c->attempts = MAX_ATTEMPTS;
                s_drop(self, i, "no ephemeral port left on any source address");
                return -1;
            }
            self->src++;
            base_log(self->log, WEFT_LOG_INFO,
                     "ephemeral ports used up: now connecting from "
                     "127.0.0.%u",
                     self->src + 1);
            continue;
        }
        c->fd = fd;
        c->state = CONN_CONNECTING;
        self->inflight++;
        if (rc < 0 && errno != EINPROGRESS) {
            s_drop(self, i, strerror(errno));
            return 0;
        }
        struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = i};
        if (epoll_ctl(self->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            s_drop(self, i, "epoll_ctl failed");
            return 0;
        }
        return 0;
    }
}

/* Opens queued connections while fewer than `inflight` are being established. */
static void s_pace(bench_client_t *self)
{
    while (self->qlen && self->inflight < (size_t)self->conf.inflight) {
        size_t i = self->queue[self->qhead];
        self->qhead = (self->qhead + 1) % self->conf.count;
        self->qlen--;
        self->conns[i].queued = 0;
        s_start(self, i);
    }
}

/* Starts connect round `round`: every connection that is not open is queued again. */
static void s_round(bench_client_t *self, int round)
{
    self->round = round;
    self->failed = 0;
    for (size_t i = 0; i < self->conf.count; i++) {
        conn_t *c = &self->conns[i];
        if (c->state == CONN_DEAD || (c->state == CONN_IDLE && !c->queued)) {
            c->state = CONN_IDLE;
            c->attempts = 0;
            bench_acct_restart(self->acct, i);
            s_enqueue(self, i);
        }
    }
}

/* True when the frame's room is connection i's room. */
static bool s_my_room(bench_client_t *self, size_t i, const bench_msg_t *m)
{
    size_t r = (self->conf.first + i) % self->conf.nrooms;
    return m->room && m->room_len == self->room_len[r] &&
           memcmp(m->room, self->conf.rooms[r], m->room_len) == 0;
}

/* Handles one text message of the current connection. */
static void s_text(bench_client_t *self, const uint8_t *payload, size_t len)
{
    size_t i = self->cur_idx;
    bench_result_t *res = bench_acct_result(self->acct);
    bench_msg_t m;
    if (bench_scan((const char *)payload, len, &m) < 0) {
        res->bad_frames++;
        base_log_limited(self->log, &self->lim_frame, WEFT_LOG_WARN,
                         "client %zu: frame does not scan: %.80s", self->conf.first + i,
                         (const char *)payload);
        return;
    }
    switch (m.op) {
    case BENCH_OP_EVENT:
        bench_acct_frame(self->acct, false, self->now_ns);
        if (!s_my_room(self, i, &m)) {
            res->stray++;
            return;
        }
        bench_acct_event(self->acct, i, m.epoch, m.seq, m.ts, self->now_ns, m.critical == 1);
        return;
    case BENCH_OP_BATCH: {
        bench_acct_frame(self->acct, true, self->now_ns);
        if (!s_my_room(self, i, &m)) {
            res->stray++;
            return;
        }
        bench_batch_it_t it;
        uint64_t seq, ts;
        int rc, critical;
        bench_batch_begin(&it, &m);
        while ((rc = bench_batch_next(&it, &seq, &ts, &critical)) == 1)
            bench_acct_event(self->acct, i, m.epoch, seq, ts, self->now_ns, critical == 1);
        if (rc < 0)
            res->bad_frames++;
        return;
    }
    case BENCH_OP_SUBSCRIBED:
        if (!s_my_room(self, i, &m)) {
            res->stray++;
        } else if (m.recovered == 0) {
            bench_acct_notice(self->acct, i, m.epoch, m.seq);
        } else if (!self->conns[i].subscribed) {
            self->conns[i].subscribed = 1;
            bench_acct_alive(self->acct, i);
        }
        return;
    case BENCH_OP_ERROR:
        res->errors++;
        base_log_limited(self->log, &self->lim_frame, WEFT_LOG_WARN, "client %zu: %.*s",
                         self->conf.first + i, (int)(len > 200 ? 200 : len), (const char *)payload);
        return;
    default:
        return;
    }
}

/* bench_wsr_fn: one message or control frame of the current connection. */
static int s_on_frame(void *arg, unsigned op, const uint8_t *payload, size_t len)
{
    bench_client_t *self = arg;
    conn_t *c = self->cur;
    switch (op) {
    case BENCH_WS_TEXT:
        s_text(self, payload, len);
        return 0;
    case BENCH_WS_PING:
        if (s_send_frame(self, c, BENCH_WS_PONG, payload, len) < 0) {
            snprintf(self->stop, sizeof self->stop, "cannot answer a ping");
            return 1;
        }
        return 0;
    case BENCH_WS_CLOSE: {
        /* Echo the status code, as the protocol asks, then end this connection. */
        unsigned code = len >= 2 ? ((unsigned)payload[0] << 8 | payload[1]) : 0;
        s_send_frame(self, c, BENCH_WS_CLOSE, payload, len >= 2 ? 2 : 0);
        snprintf(self->stop, sizeof self->stop, "closed by the edge with code %u%s%.*s", code,
                 len > 2 ? ": " : "", (int)(len > 2 ? (len - 2 > 60 ? 60 : len - 2) : 0),
                 len > 2 ? (const char *)payload + 2 : "");
        return 1;
    }
    case BENCH_WS_PONG:
        return 0;
    default:
        bench_acct_result(self->acct)->bad_frames++;
        return 0;
    }
}

/* Keeps the bytes [p, p+len) of connection c for the next read. 0 or -1 on OOM. */
static int s_keep(conn_t *c, const uint8_t *p, size_t len)
{
    if (len > c->carry_cap) {
        size_t cap = c->carry_cap ? c->carry_cap : 512;
        while (cap < len)
            cap *= 2;
        uint8_t *grown = malloc(cap);
        if (!grown)
            return -1;
        free(c->carry);
        c->carry = grown;
        c->carry_cap = (uint32_t)cap;
    }
    memmove(c->carry, p, len);
    c->carry_len = (uint32_t)len;
    return 0;
}

/* Reads once from connection i and handles every complete frame. */
static void s_read(bench_client_t *self, size_t i)
{
    conn_t *c = &self->conns[i];
    size_t len = c->carry_len;
    if (len)
        memcpy(self->rbuf, c->carry, len);
    ssize_t n = read(c->fd, self->rbuf + len, RBUF_SIZE - len);
    if (n == 0) {
        s_drop(self, i, "connection closed by the edge");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            s_drop(self, i, strerror(errno));
        return;
    }
    /* Receive time per read (a vDSO call, cheap): a wake-up may serve 1,000 sockets. */
    self->now_ns = base_clock_wall_ns();
    bench_acct_result(self->acct)->bytes += (uint64_t)n;
    /* Delay our ACKs (Linux leaves "quick ack" mode only until the next delayed-ACK timer, so
     * this is asked again after each read). Without it every small frame is acknowledged at
     * once, and the ACK's round through the loopback costs this process more than the read. */
    int zero = 0;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero); /* only CPU */
    len += (size_t)n;
    c->carry_len = 0;
    size_t off = 0;
    if (c->state == CONN_HANDSHAKE) {
        char key[BENCH_WS_KEY_LEN + 1], accept[BENCH_WS_ACCEPT_LEN + 1];
        s_key(self, i, key);
        int status = 0;
        ssize_t h = bench_ws_accept(key, accept) < 0
                        ? -1
                        : bench_ws_response((const char *)self->rbuf, len, accept, &status);
        if (h == 0) {
            if (s_keep(c, self->rbuf, len) < 0)
                s_drop(self, i, "out of memory");
            return;
        }
        if (h < 0) {
            s_drop(self, i,
                   status == 503 ? "edge refused the connection: HTTP 503 (full)"
                   : status      ? "handshake refused (HTTP status other than 101)"
                                 : "malformed handshake answer");
            return;
        }
        off = (size_t)h;
        c->state = CONN_OPEN;
        self->inflight--;
        self->open++;
        char sub[256];
        size_t r = (self->conf.first + i) % self->conf.nrooms;
        int sl = snprintf(sub, sizeof sub, "{\"op\":\"subscribe\",\"room\":\"%s\"}",
                          self->conf.rooms[r]);
        if (sl < 0 || (size_t)sl >= sizeof sub ||
            s_send_frame(self, c, BENCH_WS_TEXT, sub, (size_t)sl) < 0) {
            s_drop(self, i, "cannot send subscribe");
            return;
        }
    }
    self->cur = c;
    self->cur_idx = i;
    size_t need = 0;
    const char *err = NULL;
    ssize_t used = bench_wsr_feed(&c->wsr, self->rbuf + off, len - off, MAX_MESSAGE, s_on_frame,
                                  self, &need, &err);
    self->cur = NULL;
    if (used < 0) {
        bench_acct_result(self->acct)->bad_frames++;
        s_drop(self, i, err);
        return;
    }
    off += (size_t)used;
    if (self->stop[0]) {
        s_drop(self, i, self->stop);
        self->stop[0] = '\0';
        return;
    }
    if (need > RBUF_SIZE) {
        bench_acct_result(self->acct)->bad_frames++;
        s_drop(self, i, "frame larger than the read buffer");
        return;
    }
    if (off < len && s_keep(c, self->rbuf + off, len - off) < 0)
        s_drop(self, i, "out of memory");
}

/* Stores the connection gauges for the parent. */
static void s_gauges(bench_client_t *self)
{
    atomic_store_explicit(&self->slot->open, self->open, memory_order_relaxed);
    atomic_store_explicit(&self->slot->failed, self->failed, memory_order_relaxed);
    atomic_store_explicit(&self->slot->connect_round, self->round, memory_order_release);
}

int bench_client_run(bench_client_t *self)
{
    struct epoll_event evs[EPOLL_BATCH];
    while (atomic_load_explicit(&self->ctl->phase, memory_order_acquire) != BENCH_PHASE_EXIT) {
        int round = atomic_load_explicit(&self->ctl->connect_round, memory_order_acquire);
        if (round != self->round)
            s_round(self, round);
        s_pace(self);
        int n = epoll_wait(self->ep, evs, EPOLL_BATCH, LOOP_MS);
        if (n < 0 && errno != EINTR) {
            snprintf(self->slot->error, sizeof self->slot->error, "epoll_wait: %s",
                     strerror(errno));
            atomic_store(&self->slot->fatal, 1);
            return -1;
        }
        for (int k = 0; k < n; k++) {
            size_t i = (size_t)evs[k].data.u64;
            conn_t *c = &self->conns[i];
            uint32_t e = evs[k].events;
            if (c->fd < 0)
                continue;
            if (c->state == CONN_CONNECTING) {
                s_connected(self, i);
                continue;
            }
            if ((e & EPOLLOUT) && c->out_len && s_flush(self, c) < 0) {
                s_drop(self, i, "write failed");
                continue;
            }
            if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
                s_read(self, i);
        }
        bench_acct_tick(self->acct);
        s_gauges(self);
        /* Busy: let more frames gather in the socket buffers before the next wake-up, so that
         * each read() carries several (see coalesce_us in bench_client.h). */
        if (n >= BUSY_READY && self->conf.coalesce_us > 0) {
            struct timespec ts = {0, 1000L * self->conf.coalesce_us};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

void bench_client_destroy(bench_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_client_t *self = *self_p;
    if (self->conns) {
        for (size_t i = 0; i < self->conf.count; i++) {
            conn_t *c = &self->conns[i];
            s_close_fd(self, c, true);
            bench_wsr_reset(&c->wsr);
            free(c->carry);
            free(c->out);
        }
    }
    if (self->ep >= 0)
        close(self->ep);
    bench_acct_destroy(&self->acct);
    free(self->conns);
    free(self->queue);
    free(self->room_len);
    free(self->rbuf);
    free(self);
    *self_p = NULL;
}
