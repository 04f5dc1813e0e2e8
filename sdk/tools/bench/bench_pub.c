/*
 * bench_pub.c: paced publishing through libweft or a raw XPUB (see bench_pub.h).
 */
#include "bench_pub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "base_clock.h"
#include "weft.h"
#include "wire_envelope.h"

#define MAX_PUBS 16
#define TICK_NS 1000000ll   /* one pacing tick: 1 ms */
#define RAW_SNDHWM 100000   /* raw: messages ZeroMQ may queue (libweft queues 200,000 itself) */
#define RAW_OFF_PUB_SEQ 16  /* raw: header offset of the publisher seq (docs/protocol.md) */
#define RAW_OFF_TS 24       /* raw: header offset of the timestamp */
#define RAW_READ_BUDGET 256 /* raw: upstream messages read per call between bursts */

/* One raw publisher: an XPUB and the session it speaks for. */
typedef struct raw_pub {
    void *sock;                         /* XPUB connected to the intake */
    char id[WIRE_PUBID_MAX + 1];        /* publisher id */
    size_t id_len;                      /* strlen(id) */
    uint64_t session;                   /* random, nonzero */
    uint64_t seq;                       /* publisher seq of the last event sent */
    uint64_t acked;                     /* highest publisher seq the router acknowledged */
    uint8_t hdr_ev[WIRE_HEADER_MAX];    /* encoded header of a bench.ev event */
    size_t hdr_ev_len;                  /* its length */
    uint8_t hdr_fence[WIRE_HEADER_MAX]; /* encoded header of a bench.fence event */
    size_t hdr_fence_len;               /* its length */
    uint8_t hdr_crit[WIRE_HEADER_MAX];  /* encoded header of a critical bench.ev event */
    size_t hdr_crit_len;                /* its length */
} raw_pub_t;

struct bench_pub {
    bench_pub_kind_t kind;          /* libweft or raw */
    weft_pub_t *pubs[MAX_PUBS];     /* libweft: the publishers */
    raw_pub_t raw[MAX_PUBS];        /* raw: the sockets */
    void *ctx;                      /* raw: the ZeroMQ context */
    char (*topics)[WIRE_TOPIC_MAX]; /* raw: each room's topic frame, encoded once */
    size_t *topic_len;              /* raw: their lengths */
    int npubs;                      /* how many publishers */
    char *const *rooms;             /* room names (borrowed) */
    size_t nrooms;                  /* how many */
    uint64_t *room_total;           /* events accepted per room */
    char *payload;                  /* the padded JSON payload, built once */
    size_t payload_len;             /* its length */
    base_log_t *log;                /* where problems go */
    pthread_t thread;               /* the pacing thread */
    bool running;                   /* the thread was started and not joined */
    atomic_bool stop;               /* asks the thread to return */
    double rate;                    /* events per second of the current start */
    unsigned critical_every;        /* every Nth bench.ev of a room is critical (0: none) */
    uint64_t next;                  /* round-robin position (event number) */
    _Atomic uint64_t published;     /* accepted events */
    _Atomic uint64_t critical;      /* of those, published critical */
    _Atomic uint64_t refused;       /* WEFT_EFULL, or the raw XPUB at its high-water mark */
    _Atomic uint64_t errors;        /* other refusals */
    _Atomic uint64_t max_behind;    /* largest backlog of due events seen at a tick */
};

/* Forwards libweft's log lines into the bench's logger (warnings and errors only). */
static void s_weft_log(int level, const char *message, void *arg)
{
    if (level <= WEFT_LOG_WARN)
        base_log(arg, level == WEFT_LOG_ERROR ? WEFT_LOG_ERROR : WEFT_LOG_WARN, "libweft: %s",
                 message);
}

/* ---- Raw publishers ---------------------------------------------------------------------- */

/* Applies one ack frame to rp: entries for other publishers are skipped. */
static void s_raw_ack(raw_pub_t *rp, const void *data, size_t len)
{
    size_t off = 0;
    bool malformed = false;
    wire_ack_entry_t e;
    while (wire_ack_next(data, len, &off, &e, &malformed))
        if (e.session == rp->session && e.pub_id_len == rp->id_len &&
            memcmp(e.pub_id, rp->id, rp->id_len) == 0 && e.pub_seq > rp->acked)
            rp->acked = e.pub_seq;
}

/* Reads up to budget upstream messages of rp: acks and (un)subscriptions. Sets *subscribed when
 * the router's subscription arrived. Returns the number read. */
static int s_raw_read(raw_pub_t *rp, int budget, bool *subscribed)
{
    int n = 0;
    for (; n < budget; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, rp->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        const unsigned char *d = zmq_msg_data(&msg);
        size_t len = zmq_msg_size(&msg);
        if (len >= 1 && d[0] == WIRE_ACK_MAGIC)
            s_raw_ack(rp, d, len);
        else if (len >= 1 && d[0] == 1 && subscribed)
            *subscribed = true;
        zmq_msg_close(&msg);
    }
    return n;
}

/* Encodes rp's header for events of type with flags (WIRE_FLAG_*) into buf. Returns its length,
 * or 0. */
static size_t s_raw_header(raw_pub_t *rp, const char *type, uint8_t flags, uint8_t *buf)
{
    wire_header_t h = {
        .kind = WIRE_KIND_EVENT,
        .flags = flags,
        .session = rp->session,
        .pub_seq = 1,
        .ts_ns = 1,
        .pub_id = rp->id,
        .pub_id_len = (uint8_t)rp->id_len,
        .type = type,
        .type_len = (uint8_t)strlen(type),
    };
    size_t len = wire_header_encode(&h, buf, WIRE_HEADER_MAX);
    /* Check once that the fields patched per event are where the protocol puts them. */
    wire_put_u64(buf + RAW_OFF_PUB_SEQ, 42);
    wire_put_u64(buf + RAW_OFF_TS, 43);
    wire_header_t back;
    if (len == 0 || wire_header_decode(buf, len, &back) != WIRE_OK || back.pub_seq != 42 ||
        back.ts_ns != 43)
        return 0;
    return len;
}

/* Sets one int option on a raw socket. 0 or -1. */
static int s_raw_opt(void *sock, int option, int value)
{
    return zmq_setsockopt(sock, option, &value, sizeof value);
}

/* Opens the raw sockets and waits for the router's subscription on each. 0 or -1 (logged). */
static int s_raw_open(bench_pub_t *self, const bench_pub_conf_t *conf)
{
    self->ctx = zmq_ctx_new();
    self->topics = calloc(self->nrooms, sizeof *self->topics);
    self->topic_len = calloc(self->nrooms, sizeof *self->topic_len);
    if (!self->ctx || !self->topics || !self->topic_len)
        return -1;
    for (size_t r = 0; r < self->nrooms; r++) {
        self->topic_len[r] =
            wire_topic_for_room(self->rooms[r], strlen(self->rooms[r]), self->topics[r]);
        if (!self->topic_len[r]) {
            base_log(self->log, WEFT_LOG_ERROR, "raw publisher: invalid room %s", self->rooms[r]);
            return -1;
        }
    }
    for (int i = 0; i < conf->npubs; i++) {
        raw_pub_t *rp = &self->raw[i];
        snprintf(rp->id, sizeof rp->id, "weft-bench-raw-%d-%d", (int)getpid(), i);
        rp->id_len = strlen(rp->id);
        if (getrandom(&rp->session, sizeof rp->session, 0) != (ssize_t)sizeof rp->session)
            rp->session = base_clock_wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)i;
        rp->session |= 1; /* nonzero */
        rp->hdr_ev_len = s_raw_header(rp, "bench.ev", 0, rp->hdr_ev);
        rp->hdr_fence_len = s_raw_header(rp, "bench.fence", 0, rp->hdr_fence);
        rp->hdr_crit_len = s_raw_header(rp, "bench.ev", WIRE_FLAG_CRITICAL, rp->hdr_crit);
        rp->sock = zmq_socket(self->ctx, ZMQ_XPUB);
        self->npubs = i + 1;
        if (!rp->hdr_ev_len || !rp->hdr_fence_len || !rp->hdr_crit_len || !rp->sock ||
            s_raw_opt(rp->sock, ZMQ_XPUB_NODROP, 1) || s_raw_opt(rp->sock, ZMQ_XPUB_VERBOSER, 1) ||
            s_raw_opt(rp->sock, ZMQ_IMMEDIATE, 1) || s_raw_opt(rp->sock, ZMQ_LINGER, 0) ||
            s_raw_opt(rp->sock, ZMQ_SNDHWM, RAW_SNDHWM) ||
            (conf->curve && wire_curve_client_apply(rp->sock, conf->curve) != 0) ||
            zmq_connect(rp->sock, conf->intake) != 0) {
            base_log(self->log, WEFT_LOG_ERROR, "raw publisher: cannot connect to %s: %s",
                     conf->intake, zmq_strerror(errno));
            return -1;
        }
    }
    /* An XPUB drops what nobody subscribed to: wait for the router's subscription. */
    int64_t deadline = (int64_t)base_clock_ms() + conf->connect_timeout_ms;
    for (int i = 0; i < self->npubs; i++) {
        bool subscribed = false;
        while (!subscribed) {
            zmq_pollitem_t item = {.socket = self->raw[i].sock, .events = ZMQ_POLLIN};
            int64_t left = deadline - (int64_t)base_clock_ms();
            if (left <= 0) {
                base_log(self->log, WEFT_LOG_ERROR,
                         "raw publisher: no subscription from the router at %s within %d ms",
                         conf->intake, conf->connect_timeout_ms);
                return -1;
            }
            if (zmq_poll(&item, 1, (long)left) < 0 && errno != EINTR)
                return -1;
            s_raw_read(&self->raw[i], RAW_READ_BUDGET, &subscribed);
        }
    }
    return 0;
}

/* Sends an event's envelope on rp: a fence, a critical bench.ev or a plain one. Returns 0,
 * WEFT_EFULL at the high-water mark, or -1. */
static int s_raw_send(bench_pub_t *self, raw_pub_t *rp, size_t room, bool fence, bool critical)
{
    uint8_t *hdr = fence ? rp->hdr_fence : critical ? rp->hdr_crit : rp->hdr_ev;
    size_t hlen = fence ? rp->hdr_fence_len : critical ? rp->hdr_crit_len : rp->hdr_ev_len;
    wire_put_u64(hdr + RAW_OFF_PUB_SEQ, rp->seq + 1);
    wire_put_u64(hdr + RAW_OFF_TS, base_clock_wall_ns());
    /* The topics and the payload live until the context is gone: ZeroMQ may keep them. With
     * NODROP only the first frame meets the high-water mark; the others of a message follow. */
    if (zmq_send_const(rp->sock, self->topics[room], self->topic_len[room],
                       ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? WEFT_EFULL : -1;
    if (zmq_send(rp->sock, hdr, hlen, ZMQ_SNDMORE) < 0 ||
        zmq_send_const(rp->sock, self->payload, self->payload_len, 0) < 0)
        return -1;
    rp->seq++;
    return 0;
}

/* Reads every raw socket's acks (between bursts). */
static void s_raw_acks(bench_pub_t *self)
{
    for (int i = 0; i < self->npubs; i++)
        s_raw_read(&self->raw[i], RAW_READ_BUDGET, NULL);
}

/* Waits until the router acknowledged every raw event, at most timeout_ms. 0 or -1. */
static int s_raw_flush(bench_pub_t *self, int timeout_ms)
{
    int64_t deadline = (int64_t)base_clock_ms() + timeout_ms;
    for (int i = 0; i < self->npubs; i++) {
        raw_pub_t *rp = &self->raw[i];
        while (rp->acked < rp->seq) {
            int64_t left = deadline - (int64_t)base_clock_ms();
            if (left <= 0)
                return -1;
            zmq_pollitem_t item = {.socket = rp->sock, .events = ZMQ_POLLIN};
            if (zmq_poll(&item, 1, (long)left) < 0 && errno != EINTR)
                return -1;
            s_raw_read(rp, RAW_READ_BUDGET, NULL);
        }
    }
    return 0;
}

/* ---- Both -------------------------------------------------------------------------------- */

bench_pub_t *bench_pub_new(const bench_pub_conf_t *conf, base_log_t *log)
{
    if (conf->npubs < 1 || conf->npubs > MAX_PUBS || conf->nrooms == 0)
        return NULL;
    bench_pub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = conf->kind;
    self->rooms = conf->rooms;
    self->nrooms = conf->nrooms;
    self->critical_every = conf->critical_every;
    self->log = log;
    self->room_total = calloc(conf->nrooms, sizeof *self->room_total);
    /* {"pad":"xxxx"}: 10 bytes of syntax around the padding. */
    size_t len = conf->payload < 10 ? 10 : conf->payload;
    self->payload = malloc(len + 1);
    self->payload_len = len;
    if (!self->room_total || !self->payload) {
        bench_pub_destroy(&self);
        return NULL;
    }
    memcpy(self->payload, "{\"pad\":\"", 8);
    memset(self->payload + 8, 'x', len - 10);
    memcpy(self->payload + len - 2, "\"}", 3);
    if (self->kind == BENCH_PUB_RAW) {
        if (s_raw_open(self, conf) < 0) {
            bench_pub_destroy(&self);
            return NULL;
        }
        base_log(log, WEFT_LOG_INFO, "raw publisher: %d socket(s) subscribed by %s", self->npubs,
                 conf->intake);
        return self;
    }
    weft_log_set(s_weft_log, log);
    for (int i = 0; i < conf->npubs; i++) {
        weft_pub_opts_t opts;
        weft_pub_opts_init(&opts);
        char id[64];
        snprintf(id, sizeof id, "weft-bench-%d-%d", (int)getpid(), i);
        opts.publisher_id = id;
        /* Room for a few seconds of traffic: a router that cannot keep up shows as latency
         * first and as refusals (WEFT_EFULL) after that. */
        opts.max_buffered = 200000;
        opts.max_buffered_bytes = (size_t)256 << 20;
        opts.max_payload = len > WEFT_PAYLOAD_DEFAULT_MAX ? len : WEFT_PAYLOAD_DEFAULT_MAX;
        if (conf->curve) {
            opts.curve_server_key = conf->curve->server;
            opts.curve_public_key = conf->curve->public_key;
            opts.curve_secret_key = conf->curve->secret_key;
        }
        self->pubs[i] = weft_pub_new(conf->intake, &opts);
        if (!self->pubs[i]) {
            base_log(log, WEFT_LOG_ERROR, "cannot create a publisher for %s", conf->intake);
            bench_pub_destroy(&self);
            return NULL;
        }
        self->npubs = i + 1;
    }
    return self;
}

bench_pub_t *bench_pub_from_opts(const bench_opts_t *o, const char *intake, char *const *rooms,
                                 size_t nrooms, const wire_curve_keys_t *curve, base_log_t *log)
{
    bench_pub_conf_t pc = {.intake = intake,
                           .npubs = o->publishers,
                           .rooms = rooms,
                           .nrooms = nrooms,
                           .payload = o->payload,
                           .kind = strcmp(o->publisher, "raw") == 0 ? BENCH_PUB_RAW
                                                                    : BENCH_PUB_LIBWEFT,
                           .connect_timeout_ms = (int)(o->start_timeout * 1000),
                           .critical_every = (unsigned)o->critical_every,
                           .curve = curve};
    return bench_pub_new(&pc, log);
}

void bench_pub_destroy(bench_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_pub_t *self = *self_p;
    bench_pub_stop(self);
    if (self->kind == BENCH_PUB_RAW) {
        for (int i = 0; i < self->npubs; i++)
            if (self->raw[i].sock)
                zmq_close(self->raw[i].sock);
        if (self->ctx)
            while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
                ;
    } else {
        for (int i = 0; i < self->npubs; i++)
            weft_pub_destroy(&self->pubs[i]);
        weft_log_set(NULL, NULL);
    }
    /* After the context: ZeroMQ may hold the topics and the payload (zmq_send_const) until then. */
    free(self->topics);
    free(self->topic_len);
    free(self->room_total);
    free(self->payload);
    free(self);
    *self_p = NULL;
}

/* Publishes event number k (room and publisher round-robin) of the given type, critical or not. */
static void s_publish(bench_pub_t *self, uint64_t k, const char *type, bool critical)
{
    size_t room = (size_t)(k % self->nrooms);
    size_t which = (size_t)(k % (uint64_t)self->npubs);
    int rc =
        self->kind == BENCH_PUB_RAW
            ? s_raw_send(self, &self->raw[which], room, strcmp(type, "bench.fence") == 0, critical)
            : weft_publish(self->pubs[which], self->rooms[room], type, self->payload,
                           critical ? WEFT_CRITICAL : 0);
    if (rc == 0) {
        self->room_total[room]++;
        atomic_fetch_add_explicit(&self->published, 1, memory_order_relaxed);
        if (critical)
            atomic_fetch_add_explicit(&self->critical, 1, memory_order_relaxed);
    } else if (rc == WEFT_EFULL) {
        atomic_fetch_add_explicit(&self->refused, 1, memory_order_relaxed);
    } else {
        if (atomic_fetch_add_explicit(&self->errors, 1, memory_order_relaxed) == 0)
            base_log(self->log, WEFT_LOG_ERROR, "%s: %s",
                     self->kind == BENCH_PUB_RAW ? "raw publisher: zmq_send" : "weft_publish",
                     self->kind == BENCH_PUB_RAW ? zmq_strerror(errno) : weft_strerror(rc));
    }
}

int bench_pub_fence(bench_pub_t *self)
{
    if (self->running)
        return -1;
    for (size_t r = 0; r < self->nrooms; r++) {
        /* Event number r lands in room r. */
        s_publish(self, (uint64_t)r, "bench.fence", false);
    }
    return 0;
}

/* True when bench.ev event number k is critical: the Nth, 2Nth ... event of its room (see
 * bench_pub.h for why per room). */
static bool s_is_critical(const bench_pub_t *self, uint64_t k)
{
    uint64_t n = self->critical_every;
    return n && (k / self->nrooms) % n == n - 1;
}

/* Adds ns nanoseconds to a timespec. */
static void s_ts_add(struct timespec *ts, long long ns)
{
    ts->tv_nsec += ns;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

/* The pacing thread: at every tick, publishes the events due since the start. */
static void *s_pace(void *arg)
{
    bench_pub_t *self = arg;
    struct timespec start, tick;
    clock_gettime(CLOCK_MONOTONIC, &start);
    tick = start;
    uint64_t sent = 0;
    while (!atomic_load_explicit(&self->stop, memory_order_relaxed)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed =
            (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        uint64_t due = (uint64_t)(self->rate * elapsed);
        if (due > sent) {
            uint64_t behind = due - sent;
            if (behind > atomic_load_explicit(&self->max_behind, memory_order_relaxed))
                atomic_store_explicit(&self->max_behind, behind, memory_order_relaxed);
        }
        while (sent < due && !atomic_load_explicit(&self->stop, memory_order_relaxed)) {
            s_publish(self, self->next, "bench.ev", s_is_critical(self, self->next));
            self->next++;
            sent++;
        }
        if (self->kind == BENCH_PUB_RAW)
            s_raw_acks(self); /* this thread owns the sockets while it runs */
        s_ts_add(&tick, TICK_NS);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
    }
    return NULL;
}

int bench_pub_start(bench_pub_t *self, double rate)
{
    if (self->running || rate <= 0)
        return -1;
    self->rate = rate;
    atomic_store(&self->stop, false);
    atomic_store(&self->max_behind, 0);
    if (pthread_create(&self->thread, NULL, s_pace, self) != 0)
        return -1;
    self->running = true;
    return 0;
}

void bench_pub_stop(bench_pub_t *self)
{
    if (!self || !self->running)
        return;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    self->running = false;
}

int bench_pub_flush(bench_pub_t *self, int timeout_ms)
{
    if (self->kind == BENCH_PUB_RAW)
        return self->running ? -1 : s_raw_flush(self, timeout_ms);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < self->npubs; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long long spent = (t1.tv_sec - t0.tv_sec) * 1000ll + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        int left = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        if (weft_pub_flush(self->pubs[i], left) != 0)
            return -1;
    }
    return 0;
}

uint64_t bench_pub_room_total(const bench_pub_t *self, size_t room)
{
    return room < self->nrooms ? self->room_total[room] : 0;
}

uint64_t bench_pub_published(const bench_pub_t *self)
{
    return atomic_load_explicit(&self->published, memory_order_relaxed);
}

uint64_t bench_pub_acked(bench_pub_t *self)
{
    uint64_t sum = 0;
    for (int i = 0; i < self->npubs; i++) {
        if (self->kind == BENCH_PUB_RAW) {
            sum += self->raw[i].acked;
            continue;
        }
        weft_pub_stats_t st;
        if (weft_pub_stats(self->pubs[i], &st) == 0)
            sum += st.acked;
    }
    return sum;
}

void bench_pub_counts(const bench_pub_t *self, bench_pub_counts_t *out)
{
    out->published = atomic_load(&self->published);
    out->critical = atomic_load(&self->critical);
    out->refused = atomic_load(&self->refused);
    out->errors = atomic_load(&self->errors);
    out->max_behind = atomic_load(&self->max_behind);
}
