/*
 * bench_soak.c: weft-bench --mode soak (see bench_soak.h).
 *
 * The clients are few (tens to a few thousand) and do many different things, so they run on one
 * poll() loop in the bench process with a plain state machine each, not on the client workers
 * of the throughput modes (bench_client.h), which are built for 50,000 identical clients. Each
 * client has a timer (due_ms) for its next own action: connect, leave, switch rooms, or (slow
 * clients) read one more small piece. Killing and restarting an edge happens on the same thread
 * and blocks it until the new edge is ready (a fraction of a second); the kernel buffers what
 * arrives meanwhile, so nothing is lost by it.
 */
#include "bench_soak.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base_clock.h"
#include "bench_client.h"
#include "bench_fabric.h"
#include "bench_locate.h"
#include "bench_proc.h"
#include "bench_pub.h"
#include "bench_scan.h"
#include "bench_seq.h"
#include "bench_token.h"
#include "bench_trend.h"
#include "bench_ws.h"

#define SOAK_MAX_ROOMS 64       /* a client's rooms are a 64-bit mask */
#define SOAK_SLOW_ROOMS 8       /* rooms a slow client joins, at most (the edge's rate limit) */
#define SOAK_SLOW_READ 256      /* bytes a slow client reads per turn */
#define SOAK_SLOW_EVERY_MS 200  /* ... every this often */
#define SOAK_SLOW_MIN_MS 8000   /* a slow client's slow phase lasts 8 to 20 s */
#define SOAK_SLOW_MAX_MS 20000
#define SOAK_FAST_MS 3000       /* ... then it reads everything for 3 s */
#define SOAK_CONNECT_MS 5000    /* a connection not open by then is dropped */
#define SOAK_IN_CAP (64 * 1024) /* receive buffer per client (grown for a larger frame) */
#define SOAK_MAX_MSG (1 << 20)  /* largest message accepted from an edge */
#define SOAK_PROCS (2 + BENCH_MAX_EDGES)

/* What a client does (see bench_soak.h). */
typedef enum kind { K_STEADY, K_RESUME, K_CHURN, K_SUBS, K_SLOW, K__COUNT } kind_t;

static const char *const s_kind_name[K__COUNT] = {"steady", "resume", "churn", "subs", "slow"};

/* Where a client's connection stands. */
typedef enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN } cstate_t;

/* One client. */
typedef struct sconn {
    kind_t kind;                            /* what it does */
    cstate_t state;                         /* its connection */
    int fd;                                 /* socket, -1 when none */
    int edge;                               /* edge it uses (another one after each break) */
    int room;                               /* its room (subs: the current one) */
    uint64_t joined;                        /* rooms subscribed on this connection */
    int64_t due_ms;                         /* its next own action (INT64_MAX: none) */
    int64_t since_ms;                       /* when the connection attempt started */
    int64_t phase_ms;                       /* slow: when it turns slow or fast again */
    bool fast;                              /* slow: in its fast phase (reads everything) */
    char accept[BENCH_WS_ACCEPT_LEN + 1];   /* the answer the handshake must carry */
    uint8_t *in;                            /* bytes received, not consumed yet */
    size_t in_len;                          /* ... how many */
    size_t in_cap;                          /* size of in */
    bench_wsr_t wsr;                        /* frame reader state */
    bench_seq_t *seq;                       /* one position per room (nrooms, in self->seqs) */
} sconn_t;

/* Totals of the run. */
typedef struct soak_totals {
    bench_seq_tally_t tally[K__COUNT]; /* deliveries, losses, duplicates, notices per kind */
    uint64_t unreached;                /* steady/resume streams short of the last seq at the end */
    uint64_t connects;                 /* handshakes completed */
    uint64_t connect_failures;         /* connection attempts that failed or timed out */
    uint64_t leaves;                   /* connections closed by the client itself */
    uint64_t drops;                    /* connections the edge closed or that broke */
    uint64_t slow_drops;               /* of those, slow clients' connections */
    uint64_t slow_closes;              /* close frames 4008 (slow consumer) read */
    uint64_t resumes;                  /* subscribes with since */
    uint64_t recovered;                /* subscribed recovered:true */
    uint64_t subscribes;               /* subscribe messages sent */
    uint64_t unsubscribes;             /* unsubscribe messages sent */
    uint64_t error_frames;             /* "error" frames */
    uint64_t bad_frames;               /* frames that did not scan, binary, protocol errors */
    uint64_t kills;                    /* edges killed and restarted */
} soak_totals_t;

struct bench_soak {
    const bench_opts_t *o;                    /* settings */
    base_log_t *log;                          /* messages */
    volatile sig_atomic_t *stop;              /* set by a signal */
    bench_fabric_t *fabric;                   /* the daemons */
    bench_pub_t *pub;                         /* the publisher */
    char *token;                              /* --auth-secret: the clients' JWT, or NULL */
    bench_edge_addr_t edges[BENCH_MAX_EDGES]; /* where the clients connect */
    int nedges;                               /* how many */
    char prefix[64];                          /* room name prefix */
    char **rooms;                             /* room names */
    size_t nrooms;                            /* how many */
    sconn_t *conns;                           /* the clients */
    size_t nconns;                            /* how many */
    bench_seq_t *seqs;                        /* nconns * nrooms positions */
    struct pollfd *pfd;                       /* poll set, rebuilt each turn */
    size_t *pidx;                             /* client of each poll entry */
    bench_trend_t *trend[SOAK_PROCS];         /* router, edges, bench */
    int ntrend;                               /* how many */
    uint64_t rng;                             /* xorshift state for the timers */
    uint64_t serial;                          /* handshake keys */
    bool draining;                            /* publishing stopped: no more own actions */
    int next_kill;                            /* the edge killed next */
    soak_totals_t t;                          /* the totals */
};

/* A pseudo-random number in [lo, hi] (xorshift64: timers need spread, not quality). */
static int64_t s_rand(bench_soak_t *self, int64_t lo, int64_t hi)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
}

/* The room index of a room name of this run, or -1. */
static int s_room(const bench_soak_t *self, const char *name, size_t len)
{
    size_t plen = strlen(self->prefix);
    if (!name || len <= plen || memcmp(name, self->prefix, plen) != 0)
        return -1;
    size_t r = 0;
    for (size_t i = plen; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        r = r * 10 + (size_t)(name[i] - '0');
    }
    return r < self->nrooms ? (int)r : -1;
}

/* True for the clients whose losses must be zero. */
static bool s_checked(const sconn_t *c)
{
    return c->kind == K_STEADY || c->kind == K_RESUME;
}

/* Sends one masked frame (small: the socket always takes it whole). Returns 0 or -1. */
static int s_send(bench_soak_t *self, sconn_t *c, unsigned op, const void *p, size_t len)
{
    uint8_t buf[512];
    size_t n = bench_ws_encode(buf, sizeof buf, op, p, len, (uint32_t)s_rand(self, 1, 0xffffffff));
    if (n == 0)
        return -1;
    return send(c->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Subscribes c to room r: with since when it has a position there (a resume). 0 or -1. */
static int s_subscribe(bench_soak_t *self, sconn_t *c, int r)
{
    char msg[256];
    const bench_seq_t *s = &c->seq[r];
    int n;
    if (bench_seq_started(s) && s->next > 0) {
        n = snprintf(msg, sizeof msg,
                     "{\"op\":\"subscribe\",\"room\":\"%s\",\"since\":{\"epoch\":%" PRIu64
                     ",\"seq\":%" PRIu64 "}}",
                     self->rooms[r], s->epoch, s->next - 1);
        self->t.resumes++;
    } else {
        n = snprintf(msg, sizeof msg, "{\"op\":\"subscribe\",\"room\":\"%s\"}", self->rooms[r]);
    }
    self->t.subscribes++;
    c->joined |= 1ull << r;
    return s_send(self, c, BENCH_WS_TEXT, msg, (size_t)n);
}

/* Closes c's socket and resets its reader; c keeps its positions. */
static void s_close(sconn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = C_IDLE;
    c->joined = 0;
    c->in_len = 0;
    bench_wsr_reset(&c->wsr);
}

/* Moves c to another edge, chosen at random so that the clients of a killed edge spread over
 * the others instead of piling up on one (which would widen its descriptor range). */
static void s_next_edge(bench_soak_t *self, sconn_t *c)
{
    if (self->nedges > 1)
        c->edge = (int)((c->edge + s_rand(self, 1, self->nedges - 1)) % self->nedges);
}

/* c's connection broke or was refused: reconnect soon to another edge (resuming). */
static void s_drop(bench_soak_t *self, sconn_t *c, bool failed)
{
    if (c->state == C_OPEN) {
        self->t.drops++;
        self->t.slow_drops += c->kind == K_SLOW;
    }
    else if (failed)
        self->t.connect_failures++;
    s_close(c);
    s_next_edge(self, c);
    c->due_ms = (int64_t)base_clock_ms() + s_rand(self, 50, 300);
}

/* Forgets every position of c: it starts afresh (churn). */
static void s_forget(bench_soak_t *self, sconn_t *c)
{
    memset(c->seq, 0, self->nrooms * sizeof *c->seq);
}

/* Starts connecting c. */
static void s_connect(bench_soak_t *self, sconn_t *c)
{
    const bench_edge_addr_t *e = &self->edges[c->edge];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->since_ms = (int64_t)base_clock_ms();
    c->due_ms = INT64_MAX;
    if (c->fd < 0) {
        s_drop(self, c, true);
        return;
    }
    if (c->kind == K_SLOW) {
        /* A small window makes the edge's queue, not the kernel, hold the backlog. */
        int rcv = 4096;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    }
    if (connect(c->fd, (const struct sockaddr *)&e->sa, sizeof e->sa) < 0 && errno != EINPROGRESS) {
        s_drop(self, c, true);
        return;
    }
    c->state = C_CONNECTING;
}

/* c's connect completed: send the opening request. */
static void s_connected(bench_soak_t *self, sconn_t *c)
{
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
        s_drop(self, c, true);
        return;
    }
    const bench_edge_addr_t *e = &self->edges[c->edge];
    char key[BENCH_WS_KEY_LEN + 1], req[4096];
    bench_ws_key(self->rng, ++self->serial, key);
    int n = bench_ws_request(req, sizeof req, e->host, e->port, e->path, key, self->token);
    if (n < 0 || bench_ws_accept(key, c->accept) < 0 ||
        send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        s_drop(self, c, true);
        return;
    }
    c->state = C_HANDSHAKE;
}

/* The handshake of c succeeded: subscribe its rooms and set its timer. 0 or -1. */
static int s_opened(bench_soak_t *self, sconn_t *c)
{
    int64_t now = (int64_t)base_clock_ms();
    c->state = C_OPEN;
    self->t.connects++;
    c->due_ms = INT64_MAX;
    switch (c->kind) {
    case K_STEADY:
        return s_subscribe(self, c, c->room);
    case K_RESUME:
        c->due_ms = now + s_rand(self, 3000, 6000);
        return s_subscribe(self, c, c->room);
    case K_CHURN:
        c->due_ms = now + s_rand(self, 1000, 4000);
        return s_subscribe(self, c, c->room);
    case K_SUBS:
        c->due_ms = now + s_rand(self, 2000, 3000);
        return s_subscribe(self, c, c->room);
    case K_SLOW:
        c->due_ms = now + SOAK_SLOW_EVERY_MS;
        c->fast = false;
        c->phase_ms = now + s_rand(self, SOAK_SLOW_MIN_MS, SOAK_SLOW_MAX_MS);
        for (size_t r = 0; r < self->nrooms && r < SOAK_SLOW_ROOMS; r++)
            if (s_subscribe(self, c, (int)r) < 0)
                return -1;
        return 0;
    case K__COUNT:
        break;
    }
    return -1;
}

/* Takes a position the edge announced (subscribed without since, or position) as c's cursor in
 * room r when it has none: every later event must then arrive. */
static void s_position(sconn_t *c, int r, const bench_msg_t *m)
{
    bench_seq_t *s = &c->seq[r];
    if (m->epoch && !bench_seq_started(s)) {
        s->epoch = m->epoch;
        s->next = m->seq + 1;
    }
}

/* One client and its loop, for the frame callback. */
typedef struct frame_ctx {
    bench_soak_t *self; /* the soak */
    sconn_t *c;         /* the client the frames came to */
    bool closed;        /* a close frame came */
} frame_ctx_t;

/* Accounts one text message of an edge. */
static void s_text(bench_soak_t *self, sconn_t *c, const uint8_t *p, size_t len)
{
    bench_msg_t m;
    if (bench_scan((const char *)p, len, &m) < 0) {
        self->t.bad_frames++;
        return;
    }
    int r = s_room(self, m.room, m.room_len);
    bool joined = r >= 0 && (c->joined & (1ull << r));
    bench_seq_tally_t *t = &self->t.tally[c->kind];
    switch (m.op) {
    case BENCH_OP_EVENT:
        if (joined) /* else: in flight when it left the room */
            bench_seq_event(&c->seq[r], m.epoch, m.seq, t);
        break;
    case BENCH_OP_BATCH: {
        bench_batch_it_t it;
        uint64_t seq, ts;
        int rc;
        bench_batch_begin(&it, &m);
        while ((rc = bench_batch_next(&it, &seq, &ts, NULL)) == 1)
            if (joined)
                bench_seq_event(&c->seq[r], m.epoch, seq, t);
        if (rc < 0)
            self->t.bad_frames++;
        break;
    }
    case BENCH_OP_SUBSCRIBED:
        if (!joined)
            break;
        if (m.recovered == 0)
            bench_seq_notice(&c->seq[r], m.epoch, m.seq, t);
        else if (m.recovered == 1)
            self->t.recovered++;
        else
            s_position(c, r, &m);
        break;
    case BENCH_OP_POSITION:
        if (joined)
            s_position(c, r, &m);
        break;
    case BENCH_OP_ERROR:
        self->t.error_frames++;
        base_log(self->log, WEFT_LOG_WARN, "soak: %s client: %.*s", s_kind_name[c->kind],
                 (int)(len < 300 ? len : 300), (const char *)p);
        break;
    default:
        break;
    }
}

/* bench_wsr_fn: one message or control frame of an edge. */
static int s_on_frame(void *arg, unsigned op, const uint8_t *p, size_t len)
{
    frame_ctx_t *f = arg;
    switch (op) {
    case BENCH_WS_TEXT:
        s_text(f->self, f->c, p, len);
        return 0;
    case BENCH_WS_PING:
        return s_send(f->self, f->c, BENCH_WS_PONG, p, len < 125 ? len : 125) < 0;
    case BENCH_WS_CLOSE:
        if (len >= 2 && ((p[0] << 8) | p[1]) == 4008)
            f->self->t.slow_closes++;
        f->closed = true;
        return 1;
    case BENCH_WS_PONG:
        return 0;
    default:
        f->self->t.bad_frames++;
        return 0;
    }
}

/* Reads what c's socket holds (at most max bytes) and handles it. Returns 0, or -1 when the
 * connection is gone (already dropped). */
static int s_read(bench_soak_t *self, sconn_t *c, size_t max)
{
    if (c->in_cap - c->in_len == 0) {
        size_t cap = c->in_cap * 2;
        uint8_t *p = cap <= 2 * SOAK_MAX_MSG ? realloc(c->in, cap) : NULL;
        if (!p) {
            self->t.bad_frames++;
            s_drop(self, c, false);
            return -1;
        }
        c->in = p;
        c->in_cap = cap;
    }
    size_t room = c->in_cap - c->in_len;
    ssize_t n = recv(c->fd, c->in + c->in_len, room < max ? room : max, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        s_drop(self, c, c->state != C_OPEN);
        return -1;
    }
    c->in_len += (size_t)n;
    size_t off = 0;
    if (c->state == C_HANDSHAKE) {
        int status = 0;
        ssize_t hl = bench_ws_response((const char *)c->in, c->in_len, c->accept, &status);
        if (hl == 0)
            return 0;
        if (hl < 0) {
            base_log(self->log, WEFT_LOG_WARN, "soak: upgrade refused with HTTP %d", status);
            s_drop(self, c, true);
            return -1;
        }
        off = (size_t)hl;
        if (s_opened(self, c) < 0) {
            s_drop(self, c, false);
            return -1;
        }
    }
    frame_ctx_t f = {self, c, false};
    size_t need = 0;
    const char *err = NULL;
    ssize_t used = bench_wsr_feed(&c->wsr, c->in + off, c->in_len - off, SOAK_MAX_MSG,
                                  s_on_frame, &f, &need, &err);
    if (used < 0 || f.closed) {
        if (used < 0)
            self->t.bad_frames++;
        s_drop(self, c, false);
        return -1;
    }
    off += (size_t)used;
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
}

/* c's timer fired: its own next action. */
static void s_due(bench_soak_t *self, sconn_t *c, int64_t now)
{
    if (c->state == C_IDLE) {
        s_connect(self, c);
        return;
    }
    if (c->state != C_OPEN)
        return;
    switch (c->kind) {
    case K_SLOW:
        c->due_ms = now + SOAK_SLOW_EVERY_MS;
        if (now >= c->phase_ms) {
            c->fast = !c->fast;
            c->phase_ms = now + (c->fast ? SOAK_FAST_MS
                                         : s_rand(self, SOAK_SLOW_MIN_MS, SOAK_SLOW_MAX_MS));
        }
        if (!c->fast) /* in the fast phase the poll loop reads it */
            s_read(self, c, SOAK_SLOW_READ);
        return;
    case K_RESUME: /* leave; come back to another edge and resume */
    case K_CHURN:  /* leave; come back afresh */
        self->t.leaves++;
        s_close(c);
        s_next_edge(self, c);
        if (c->kind == K_CHURN)
            s_forget(self, c);
        c->due_ms = now + s_rand(self, 100, 1000);
        return;
    case K_SUBS: { /* move to the next room */
        char msg[256];
        int n = snprintf(msg, sizeof msg, "{\"op\":\"unsubscribe\",\"room\":\"%s\"}",
                         self->rooms[c->room]);
        c->joined &= ~(1ull << c->room);
        memset(&c->seq[c->room], 0, sizeof c->seq[c->room]);
        c->room = (int)(((size_t)c->room + 1) % self->nrooms);
        self->t.unsubscribes++;
        if (s_send(self, c, BENCH_WS_TEXT, msg, (size_t)n) < 0 || s_subscribe(self, c, c->room) < 0)
            s_drop(self, c, false);
        else
            c->due_ms = now + s_rand(self, 2000, 3000);
        return;
    }
    default:
        c->due_ms = INT64_MAX;
        return;
    }
}

/* One turn of the loop: poll for up to wait_ms, handle sockets and timers. */
static void s_turn(bench_soak_t *self, int wait_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nconns; i++) {
        sconn_t *c = &self->conns[i];
        short ev = 0;
        if (c->state == C_CONNECTING)
            ev = POLLOUT;
        else if (c->state == C_HANDSHAKE || (c->state == C_OPEN && (c->kind != K_SLOW || c->fast)))
            ev = POLLIN;
        if (!ev)
            continue;
        self->pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
        self->pidx[n++] = i;
    }
    if (poll(self->pfd, n, wait_ms) < 0 && errno != EINTR)
        return;
    for (size_t k = 0; k < n; k++) {
        sconn_t *c = &self->conns[self->pidx[k]];
        if (!self->pfd[k].revents || c->fd != self->pfd[k].fd)
            continue;
        if (c->state == C_CONNECTING)
            s_connected(self, c);
        else
            s_read(self, c, SIZE_MAX);
    }
    int64_t now = (int64_t)base_clock_ms();
    for (size_t i = 0; i < self->nconns; i++) {
        sconn_t *c = &self->conns[i];
        if ((c->state == C_CONNECTING || c->state == C_HANDSHAKE) &&
            now - c->since_ms > SOAK_CONNECT_MS)
            s_drop(self, c, true);
        /* While draining only reconnects and slow reads go on: the run is being counted. */
        else if (c->due_ms <= now &&
                 (!self->draining || c->state == C_IDLE || c->kind == K_SLOW))
            s_due(self, c, now);
    }
}

/* Samples every process into its trend at t_s seconds and prints one row on out. */
static void s_sample(bench_soak_t *self, double t_s, FILE *out)
{
    fprintf(out, "  %8.1f", t_s);
    for (int i = 0; i < self->ntrend; i++) {
        pid_t pid = i == 0                  ? bench_fabric_router_pid(self->fabric)
                    : i == self->ntrend - 1 ? getpid()
                                            : bench_fabric_edge_pid(self->fabric, i - 1);
        uint64_t kib = 0;
        int fds = 0;
        if (bench_proc_rss_kib(pid, &kib) < 0 || bench_proc_fd_count(pid, &fds) < 0 ||
            bench_trend_add(self->trend[i], t_s, (int)pid, kib, fds) < 0) {
            fprintf(out, " %16s", "-");
            continue;
        }
        char cell[40];
        snprintf(cell, sizeof cell, "%" PRIu64 "/%d", kib, fds);
        fprintf(out, " %16s", cell);
    }
    fprintf(out, "\n");
    fflush(out);
}

/* Reads where spawned edge i listens now into self->edges[i]. 0 or -1 (logged). */
static int s_edge_addr(bench_soak_t *self, int i)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", bench_fabric_edge_port(self->fabric, i));
    return bench_locate_edge(url, &self->edges[i], self->log);
}

/* Kills the next edge and starts it again; the clients on it reconnect elsewhere. 0 or -1. */
static int s_kill(bench_soak_t *self)
{
    int k = self->next_kill;
    /* Edge 0 lives through the run when there are others, so one edge's memory is whole. */
    self->next_kill = self->nedges > 1 ? 1 + (k % (self->nedges - 1)) : 0;
    if (bench_fabric_restart_edge(self->fabric, k) < 0 || s_edge_addr(self, k) < 0)
        return -1;
    self->t.kills++;
    base_log(self->log, WEFT_LOG_INFO, "soak: edge %d killed and restarted (port %d)", k,
             self->edges[k].port);
    return 0;
}

/* True when every steady and resume client is open and has reached the last seq of its room. */
static bool s_drained(bench_soak_t *self)
{
    for (size_t i = 0; i < self->nconns; i++) {
        sconn_t *c = &self->conns[i];
        if (s_checked(c) && (c->state != C_OPEN ||
                             !bench_seq_reached(&c->seq[c->room],
                                                bench_pub_room_total(self->pub, (size_t)c->room))))
            return false;
    }
    return true;
}

/* Adds what the steady and resume streams miss at the end to the losses. */
static void s_final_count(bench_soak_t *self)
{
    for (size_t i = 0; i < self->nconns; i++) {
        sconn_t *c = &self->conns[i];
        if (!s_checked(c))
            continue;
        uint64_t last = bench_pub_room_total(self->pub, (size_t)c->room);
        const bench_seq_t *s = &c->seq[c->room];
        if (!bench_seq_reached(s, last))
            self->t.unreached++;
        self->t.tally[c->kind].lost += bench_seq_missing(s, last);
    }
}

bench_soak_t *bench_soak_new(const bench_opts_t *o, base_log_t *log, volatile sig_atomic_t *stop)
{
    bench_soak_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->o = o;
    self->log = log;
    self->stop = stop;
    self->rng = base_clock_wall_ns() | 1;
    self->nrooms = (size_t)o->rooms;
    self->nconns = (size_t)o->clients;
    snprintf(self->prefix, sizeof self->prefix, "soak-%08" PRIx64 "-",
             (uint64_t)s_rand(self, 0, 0xffffffff));
    self->rooms = calloc(self->nrooms, sizeof *self->rooms);
    self->conns = calloc(self->nconns, sizeof *self->conns);
    self->seqs = calloc(self->nconns * self->nrooms, sizeof *self->seqs);
    self->pfd = calloc(self->nconns, sizeof *self->pfd);
    self->pidx = calloc(self->nconns, sizeof *self->pidx);
    if (!self->rooms || !self->conns || !self->seqs || !self->pfd || !self->pidx)
        goto err;
    for (size_t i = 0; i < self->nconns; i++)
        self->conns[i].fd = -1;
    for (size_t r = 0; r < self->nrooms; r++) {
        char name[96];
        snprintf(name, sizeof name, "%s%zu", self->prefix, r);
        if (!(self->rooms[r] = strdup(name)))
            goto err;
    }
    if (o->auth_secret[0] &&
        !(self->token = bench_token_mint(o->auth_secret, self->prefix,
                                         (long long)o->duration + 3600, log)))
        goto err;

    char router_bin[4096], edge_bin[4096], edge_args[4096];
    if (bench_locate_bin(o->router_bin, "router", "weft-router", router_bin, sizeof router_bin,
                         log) < 0 ||
        bench_locate_bin(o->edge_bin, "edge", "weft-edge", edge_bin, sizeof edge_bin, log) < 0)
        goto err;
    /* A small outbound queue makes the slow clients meet the slow-consumer limit within seconds
     * instead of minutes; --edge-arg comes after, so it can set another. */
    snprintf(edge_args, sizeof edge_args, "--max_queue_frames 256 %s", o->edge_arg);
    bench_fabric_conf_t fc = {.router_bin = router_bin,
                              .edge_bin = edge_bin,
                              .nedges = o->edges,
                              .router_args = o->router_arg,
                              .edge_args = edge_args,
                              .log_dir = o->log_dir,
                              .start_timeout_ms = (int)(o->start_timeout * 1000),
                              .auth_secret = o->auth_secret[0] ? o->auth_secret : NULL};
    if (!(self->fabric = bench_fabric_start(&fc, log)))
        goto err;
    self->nedges = o->edges;
    for (int i = 0; i < self->nedges; i++)
        if (s_edge_addr(self, i) < 0)
            goto err;
    self->next_kill = self->nedges > 1 ? 1 : 0;
    if (!(self->pub = bench_pub_from_opts(o, bench_fabric_intake(self->fabric), self->rooms,
                                          self->nrooms, NULL, log)))
        goto err;

    /* Router, edges, the bench: the processes sampled. */
    char name[32];
    self->trend[self->ntrend++] = bench_trend_new("router");
    for (int i = 0; i < self->nedges; i++) {
        snprintf(name, sizeof name, "edge %d", i);
        self->trend[self->ntrend++] = bench_trend_new(name);
    }
    self->trend[self->ntrend++] = bench_trend_new("weft-bench");
    for (int i = 0; i < self->ntrend; i++)
        if (!self->trend[i])
            goto err;

    /* The mix: 10% slow (at least one), 20% each churn, subs and resume, the rest steady. */
    size_t n = self->nconns, nslow = n / 10 ? n / 10 : 1;
    size_t nchurn = n / 5, nsubs = n / 5, nresume = n / 5;
    for (size_t i = 0; i < n; i++) {
        sconn_t *c = &self->conns[i];
        c->kind = i < nslow                            ? K_SLOW
                  : i < nslow + nchurn                 ? K_CHURN
                  : i < nslow + nchurn + nsubs         ? K_SUBS
                  : i < nslow + nchurn + nsubs + nresume ? K_RESUME
                                                         : K_STEADY;
        c->edge = (int)(i % (size_t)self->nedges);
        c->room = (int)(i % self->nrooms);
        c->seq = &self->seqs[i * self->nrooms];
        c->in_cap = SOAK_IN_CAP;
        if (!(c->in = malloc(c->in_cap)))
            goto err;
        c->due_ms = 0; /* connect at the first turn */
    }
    if (nslow + nchurn + nsubs + nresume >= n)
        base_log(log, WEFT_LOG_WARN, "soak: %zu clients leave no steady one; use --clients 10 "
                                     "or more for the loss check", n);
    return self;
err:
    base_log(log, WEFT_LOG_ERROR, "soak: set-up failed");
    bench_soak_destroy(&self, true);
    return NULL;
}

/* Prints the per-process report and builds its JSON array (with every sample). */
static json_t *s_report_procs(bench_soak_t *self, FILE *out, double from_s)
{
    json_t *arr = json_array();
    fprintf(out, "\n  %-12s %8s %10s %10s %10s %14s %7s %7s %7s %9s\n", "process", "pid",
            "rss first", "rss last", "rss max", "slope KiB/min", "points", "fd min", "fd max",
            "restarts");
    for (int i = 0; i < self->ntrend; i++) {
        bench_trend_summary_t s;
        bench_trend_summary(self->trend[i], from_s, &s);
        size_t n = bench_trend_count(self->trend[i]);
        int pid = n ? bench_trend_at(self->trend[i], n - 1)->pid : 0;
        char slope[32];
        if (isnan(s.slope_kib_min))
            snprintf(slope, sizeof slope, "-");
        else
            snprintf(slope, sizeof slope, "%.1f", s.slope_kib_min);
        fprintf(out, "  %-12s %8d %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14s %7zu %7d %7d %9d\n",
                bench_trend_name(self->trend[i]), pid, s.rss_first, s.rss_last, s.rss_max, slope,
                s.slope_points, s.fd_min, s.fd_max, s.incarnations ? s.incarnations - 1 : 0);
        json_t *samples = json_array();
        for (size_t k = 0; k < n; k++) {
            const bench_trend_point_t *p = bench_trend_at(self->trend[i], k);
            json_array_append_new(samples, json_pack("[f, I, i]", p->t_s,
                                                     (json_int_t)p->rss_kib, p->fds));
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:i, s:I, s:I, s:I, s:o, s:i, s:i, s:i, s:i, s:o}", "name",
                           bench_trend_name(self->trend[i]), "pid", pid, "rss_first_kib",
                           (json_int_t)s.rss_first, "rss_last_kib", (json_int_t)s.rss_last,
                           "rss_max_kib", (json_int_t)s.rss_max, "rss_slope_kib_per_min",
                           isnan(s.slope_kib_min) ? json_null() : json_real(s.slope_kib_min),
                           "slope_points", (int)s.slope_points, "fd_min", s.fd_min, "fd_max",
                           s.fd_max, "restarts", s.incarnations ? s.incarnations - 1 : 0,
                           "samples", samples));
    }
    return arr;
}

/* The totals as JSON, and printed. */
static json_t *s_report_totals(bench_soak_t *self, FILE *out, uint64_t acked)
{
    bench_pub_counts_t pc;
    bench_pub_counts(self->pub, &pc);
    const soak_totals_t *t = &self->t;
    uint64_t deliveries = 0, other_lost = 0;
    for (int k = 0; k < K__COUNT; k++) {
        deliveries += t->tally[k].delivered;
        if (k != K_STEADY && k != K_RESUME)
            other_lost += t->tally[k].lost;
    }
    uint64_t lost = t->tally[K_STEADY].lost + t->tally[K_RESUME].lost;
    uint64_t dups = t->tally[K_STEADY].duplicates + t->tally[K_RESUME].duplicates;
    uint64_t notices = t->tally[K_STEADY].notices + t->tally[K_RESUME].notices;
    fprintf(out,
            "\n  events published %" PRIu64 ", acked %" PRIu64 ", refused %" PRIu64
            "; deliveries %" PRIu64 "\n  steady/resume clients: lost %" PRIu64
            ", duplicates %" PRIu64 ", recovered:false %" PRIu64 ", short of the end %" PRIu64
            "\n  resumes %" PRIu64 " (recovered %" PRIu64 "), kills %" PRIu64 ", connects %" PRIu64
            ", leaves %" PRIu64 ", drops %" PRIu64 " (slow clients %" PRIu64 ", 4008 frames read %" PRIu64
            "), connect failures %" PRIu64 "\n  subscribes %" PRIu64 ", unsubscribes %" PRIu64
            ", error frames %" PRIu64 ", bad frames %" PRIu64
            "\n  gaps seen by churn/subs/slow clients %" PRIu64 " (not counted as losses: slow "
            "clients that fell further behind than history keeps get recovered:false)\n",
            pc.published, acked, pc.refused, deliveries, lost, dups, notices, t->unreached,
            t->resumes, t->recovered, t->kills, t->connects, t->leaves, t->drops, t->slow_drops, t->slow_closes,
            t->connect_failures, t->subscribes, t->unsubscribes, t->error_frames, t->bad_frames,
            other_lost);
    json_t *j = json_object();
    json_object_set_new(j, "published", json_integer((json_int_t)pc.published));
    json_object_set_new(j, "acked", json_integer((json_int_t)acked));
    json_object_set_new(j, "refused", json_integer((json_int_t)pc.refused));
    json_object_set_new(j, "deliveries", json_integer((json_int_t)deliveries));
    json_object_set_new(j, "losses", json_integer((json_int_t)lost));
    json_object_set_new(j, "duplicates", json_integer((json_int_t)dups));
    json_object_set_new(j, "notices", json_integer((json_int_t)notices));
    json_object_set_new(j, "unreached", json_integer((json_int_t)t->unreached));
    json_object_set_new(j, "resumes", json_integer((json_int_t)t->resumes));
    json_object_set_new(j, "recovered", json_integer((json_int_t)t->recovered));
    json_object_set_new(j, "kills", json_integer((json_int_t)t->kills));
    json_object_set_new(j, "connects", json_integer((json_int_t)t->connects));
    json_object_set_new(j, "leaves", json_integer((json_int_t)t->leaves));
    json_object_set_new(j, "drops", json_integer((json_int_t)t->drops));
    json_object_set_new(j, "slow_drops", json_integer((json_int_t)t->slow_drops));
    json_object_set_new(j, "slow_closes", json_integer((json_int_t)t->slow_closes));
    json_object_set_new(j, "connect_failures", json_integer((json_int_t)t->connect_failures));
    json_object_set_new(j, "subscribes", json_integer((json_int_t)t->subscribes));
    json_object_set_new(j, "unsubscribes", json_integer((json_int_t)t->unsubscribes));
    json_object_set_new(j, "error_frames", json_integer((json_int_t)t->error_frames));
    json_object_set_new(j, "bad_frames", json_integer((json_int_t)t->bad_frames));
    json_object_set_new(j, "other_gaps", json_integer((json_int_t)other_lost));
    return j;
}

int bench_soak_run(bench_soak_t *self, FILE *out, json_t **summary)
{
    const bench_opts_t *o = self->o;
    *summary = NULL;
    fprintf(out,
            "\nweft-bench soak: %.0f s, %d edge(s), %zu clients, %zu room(s), %.0f events/s, "
            "an edge killed every %.0f s, samples every %.0f s%s\n",
            o->duration, self->nedges, self->nconns, self->nrooms, o->rate, o->soak_kill_every,
            o->soak_sample, self->token ? ", clients with a JWT" : "");
    fprintf(out, "  RSS KiB/open fds per process:\n  %8s", "t (s)");
    for (int i = 0; i < self->ntrend; i++)
        fprintf(out, " %16s", bench_trend_name(self->trend[i]));
    fprintf(out, "\n");
    if (bench_pub_start(self->pub, o->rate) < 0)
        return -1;
    int64_t t0 = (int64_t)base_clock_ms(), end = t0 + (int64_t)(o->duration * 1000);
    int64_t sample_ms = (int64_t)(o->soak_sample * 1000), kill_ms = (int64_t)(o->soak_kill_every * 1000);
    int64_t next_sample = t0, next_kill = kill_ms > 0 ? t0 + kill_ms : INT64_MAX;
    int rc = -1;
    for (int64_t now = t0; now < end; now = (int64_t)base_clock_ms()) {
        if (*self->stop)
            goto done;
        if (now >= next_sample) {
            if (bench_fabric_check(self->fabric) < 0)
                goto done;
            s_sample(self, (double)(now - t0) / 1000.0, out);
            next_sample += sample_ms;
        }
        if (now >= next_kill) {
            if (s_kill(self) < 0)
                goto done;
            next_kill += kill_ms;
        }
        s_turn(self, 20);
    }
    s_sample(self, (double)((int64_t)base_clock_ms() - t0) / 1000.0, out);
    /* Stop publishing, wait for the acks, and let every steady stream reach the end. */
    bench_pub_stop(self->pub);
    if (bench_pub_flush(self->pub, (int)(o->drain_timeout * 1000)) < 0)
        base_log(self->log, WEFT_LOG_WARN, "soak: not every event was acknowledged in time");
    self->draining = true;
    int64_t drain_end = (int64_t)base_clock_ms() + (int64_t)(o->drain_timeout * 1000);
    while (!s_drained(self) && (int64_t)base_clock_ms() < drain_end && !*self->stop)
        s_turn(self, 20);
    s_final_count(self);
    double run_s = (double)(end - t0) / 1000.0;
    fprintf(out, "\n  RSS slope over the second half (t >= %.0f s), latest incarnation of each "
                 "process:",
            run_s / 2);
    json_t *procs = s_report_procs(self, out, run_s / 2);
    json_t *totals = s_report_totals(self, out, bench_pub_acked(self->pub));
    /* One line for machines, without the samples (they are in --json). */
    json_t *line = json_pack("{s:f, s:i, s:i, s:i, s:f, s:O}", "duration_s", run_s, "edges",
                             self->nedges, "clients", (int)self->nconns, "rooms",
                             (int)self->nrooms, "rate", o->rate, "totals", totals);
    json_t *plist = json_array();
    for (size_t i = 0; i < json_array_size(procs); i++) {
        json_t *p = json_deep_copy(json_array_get(procs, i));
        json_object_del(p, "samples");
        json_array_append_new(plist, p);
    }
    json_object_set_new(line, "processes", plist);
    char *text = json_dumps(line, JSON_COMPACT);
    fprintf(out, "soak-summary %s\n", text ? text : "{}");
    free(text);
    json_object_set_new(line, "processes", procs);
    json_decref(totals);
    *summary = line;
    uint64_t lost = json_integer_value(json_object_get(json_object_get(line, "totals"), "losses"));
    bool ok = lost == 0 && self->t.unreached == 0 &&
              self->t.tally[K_STEADY].duplicates + self->t.tally[K_RESUME].duplicates == 0 &&
              (kill_ms <= 0 || kill_ms > o->duration * 1000 || self->t.kills > 0);
    rc = ok ? 0 : 1;
done:
    bench_pub_stop(self->pub);
    return rc;
}

void bench_soak_destroy(bench_soak_t **self_p, bool failed)
{
    if (!self_p || !*self_p)
        return;
    bench_soak_t *self = *self_p;
    for (size_t i = 0; self->conns && i < self->nconns; i++) {
        s_close(&self->conns[i]);
        free(self->conns[i].in);
    }
    bench_pub_destroy(&self->pub);
    bench_fabric_stop(&self->fabric, failed || self->o->keep_logs);
    for (int i = 0; i < self->ntrend; i++)
        bench_trend_destroy(&self->trend[i]);
    for (size_t r = 0; self->rooms && r < self->nrooms; r++)
        free(self->rooms[r]);
    free(self->rooms);
    free(self->conns);
    free(self->seqs);
    free(self->pfd);
    free(self->pidx);
    free(self->token);
    free(self);
    *self_p = NULL;
}
