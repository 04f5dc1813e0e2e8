/*
 * weft_pub.c: the publisher (weft_pub_t): local validation, the buffer of unacknowledged events,
 * and the background I/O thread that talks to the router.
 *
 * Threads. Any application thread may call weft_publish*(), weft_pub_flush() and weft_pub_stats();
 * they share the queue and the counters under `mutex`. The I/O thread owns the ZeroMQ socket
 * exclusively (ZeroMQ sockets are not thread-safe): it sends queued events, reads the router's
 * subscription and acks, and sends heartbeats. Publishers wake it through an eventfd that it polls
 * next to the socket; it wakes publishers and flushers through the condition variable `changed`.
 *
 * Why an XPUB that connects (docs/protocol.md, "Sockets"): it tells us when the router's
 * subscription arrives (`\x01`) and goes away (`\x00`), and with ZMQ_XPUB_NODROP a send over the
 * high-water mark fails with EAGAIN instead of dropping. ZMQ_IMMEDIATE makes libzmq drop the pipe
 * when the TCP connection breaks, which is what produces the `\x00`; without it the pipe survives
 * reconnects and we would never learn that the router went away.
 *
 * Sending never happens under the mutex: the I/O thread peeks the cursor entry under the mutex,
 * sends its frames unlocked (only the I/O thread frees entries, on acks, so the view stays valid)
 * and advances the cursor under the mutex again. The application's callbacks (on_ack, on_state)
 * run on the I/O thread with the mutex released, so that they may publish.
 *
 * Growing structs (weft.h, "Growing without breaking callers"): the *_sized() calls get the
 * caller's compiled struct size; sdk_opts.c reads options over the defaults and writes counters
 * back in exactly as many bytes as the caller's size.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "weft.h"

#include "base_clock.h"
#include "sdk_log.h"
#include "sdk_opts.h"
#include "sdk_outq.h"
#include "sdk_upstream.h"
#include "wire_curve.h"
#include "wire_envelope.h"

#define S_SNDHWM 10000                       /* messages ZeroMQ may queue towards the router */
#define S_RECONNECT_IVL_MS 100               /* first reconnect attempt after a break */
#define S_RECONNECT_MAX_MS 1000              /* reconnect back-off ceiling */
#define S_SEND_BATCH 1024                    /* events sent per loop turn, between reads */
#define S_RETRY_MS 2                         /* retry interval after EAGAIN (see s_send_pending) */
#define S_THROTTLE_MS 20                     /* pause after a rate_limited refusal */
#define S_WINDOW_START 64                    /* send window after the first rate_limited */
#define S_WINDOW_MIN 16                      /* smallest send window */
#define S_WINDOW_MAX 65536                   /* a window grown past this is lifted */

/* The size of the weft.h 0.1.0 (v0) stats struct: the offset of the first field added since. */
#define S_STATS_V0_SIZE offsetof(weft_pub_stats_t, last_seq)

/* The publisher whose callback this thread is running, if any: flush and close refuse to wait
 * for acks that only this thread could read. */
static _Thread_local const weft_pub_t *s_in_callback;

struct weft_pub {
    /* Fixed after weft_pub_new(); read by every thread without locking. */
    char id[WEFT_PUBID_MAX + 1]; /* publisher id, NUL-terminated */
    size_t id_len;               /* strlen(id) */
    uint64_t session;            /* random, nonzero: tells the router our seqs began again */
    weft_pub_opts_t opts;        /* copy of the options (publisher_id points to id) */
    char *endpoint;              /* the router intake endpoint, owned */
    int wake_fd;                 /* eventfd: publishers and destroy wake the I/O thread */

    /* Shared state, guarded by mutex. */
    pthread_mutex_t mutex;  /* guards everything in this block */
    pthread_cond_t changed; /* signalled on acks, disconnects and closing */
    sdk_outq_t *queue;     /* events awaiting the router's ack */
    uint64_t last_seq;      /* publisher seq of the newest accepted event */
    bool wake_pending;      /* wake_fd was written and the I/O thread has not read it yet */
    bool closing;           /* destroy started: publishes fail with WEFT_ECLOSED */
    bool stop;              /* the I/O thread must exit */
    weft_pub_stats_t stats; /* counters; buffered and last_seq are filled in on read */

    /* Owned by the I/O thread while it runs; before and after, by the creating or destroying
     * thread. */
    void *ctx;                          /* ZeroMQ context, one per publisher */
    void *sock;                         /* the XPUB connected to the router */
    pthread_t thread;                   /* the I/O thread */
    bool thread_started;                /* thread needs joining */
    bool connected;                     /* the router's subscription is present */
    bool rewind_pending;                /* a resend is due once the current message is complete */
    int part;                           /* frames of the current event already sent (0..2) */
    sdk_outq_frames_t frames;          /* the message being sent when part > 0 */
    bool current_is_hb;                 /* that message is a heartbeat, not a queued event */
    bool more_to_send;                  /* the last batch stopped at S_SEND_BATCH: do not sleep */
    uint8_t hb_header[WIRE_HEADER_MAX]; /* the heartbeat being sent (frames point here) */
    char hb_payload[384];               /* its JSON counters */
    uint64_t retry_at_ms;             /* after EAGAIN: when to try sending again (0: not blocked) */
    uint64_t next_hb_ms;              /* when the next heartbeat is due */
    size_t window;                    /* rate cap: most events sent and unacked; 0 = no limit */
    base_limit_t bad_input_limit; /* rate limit for logs about malformed upstream messages */
    base_limit_t hwm_limit;       /* rate limit for "send queue full" debug lines */
};

/* A random nonzero session number; falls back to clock and pid mixing if getrandom fails. */
static uint64_t s_random_session(void)
{
    uint64_t v = 0;
    for (int tries = 0; tries < 4 && v == 0; tries++)
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
            v = 0;
    if (v == 0) {
        /* splitmix64 of time and pid: unique enough to tell sessions apart. */
        uint64_t z = base_clock_wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        v = z ^ (z >> 31);
    }
    return v ? v : 1;
}

/* Sets one int socket option, logging a failure. */
static int s_sockopt(void *sock, int option, int value, const char *name)
{
    if (zmq_setsockopt(sock, option, &value, sizeof value) == 0)
        return 0;
    sdk_log(WEFT_LOG_ERROR, "weft_pub_new: zmq_setsockopt(%s): %s", name, zmq_strerror(errno));
    return -1;
}

/* Creates the context and the XPUB (a CURVE client with curve, when not NULL) and starts
 * connecting. Returns 0 or -1 (logged). */
static int s_socket_open(weft_pub_t *self, const wire_curve_keys_t *curve)
{
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: zmq_ctx_new: %s", zmq_strerror(errno));
        return -1;
    }
    self->sock = zmq_socket(self->ctx, ZMQ_XPUB);
    if (!self->sock) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: zmq_socket: %s", zmq_strerror(errno));
        return -1;
    }
    if (s_sockopt(self->sock, ZMQ_XPUB_NODROP, 1, "ZMQ_XPUB_NODROP") ||
        s_sockopt(self->sock, ZMQ_XPUB_VERBOSER, 1, "ZMQ_XPUB_VERBOSER") ||
        s_sockopt(self->sock, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE") ||
        s_sockopt(self->sock, ZMQ_LINGER, 0, "ZMQ_LINGER") ||
        s_sockopt(self->sock, ZMQ_SNDHWM, S_SNDHWM, "ZMQ_SNDHWM") ||
        s_sockopt(self->sock, ZMQ_RECONNECT_IVL, S_RECONNECT_IVL_MS, "ZMQ_RECONNECT_IVL") ||
        s_sockopt(self->sock, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_MAX_MS, "ZMQ_RECONNECT_IVL_MAX"))
        return -1;
    if (curve && wire_curve_client_apply(self->sock, curve) != 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: cannot set the CURVE keys: %s", zmq_strerror(errno));
        return -1;
    }
    if (zmq_connect(self->sock, self->endpoint) != 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: cannot connect to '%s': %s", self->endpoint,
                  zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes the socket and terminates the context (LINGER 0: returns at once). */
static void s_socket_close(weft_pub_t *self)
{
    if (self->sock) {
        zmq_close(self->sock);
        self->sock = NULL;
    }
    if (self->ctx) {
        while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
            ;
        self->ctx = NULL;
    }
}

/* Wakes the I/O thread. Called with the mutex held; writes the eventfd only once per wake-up. */
static void s_wake_locked(weft_pub_t *self, bool force)
{
    if (self->wake_pending && !force)
        return;
    uint64_t one = 1;
    /* An eventfd write only fails when the counter would overflow, which means that a wake-up
     * is pending anyway. */
    if (write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sdk_log(WEFT_LOG_ERROR, "weft_pub %s: cannot wake the I/O thread: %s", self->id,
                  strerror(errno));
    self->wake_pending = true;
}

/* ---- I/O thread ---------------------------------------------------------------------------- */

/* Calls the application's on_state callback, marking this thread as inside it. Mutex not held. */
static void s_notify_state(weft_pub_t *self, bool connected)
{
    s_in_callback = self;
    self->opts.on_state(self, connected ? 1 : 0, self->opts.callback_arg);
    s_in_callback = NULL;
}

/* Calls the application's on_ack callback, marking this thread as inside it. Mutex not held. */
static void s_notify_ack(weft_pub_t *self, uint64_t first_seq, uint64_t last_seq)
{
    s_in_callback = self;
    self->opts.on_ack(self, first_seq, last_seq, self->opts.callback_arg);
    s_in_callback = NULL;
}

/* Applies the router's subscription arriving or leaving (sdk_upstream hook). */
static void s_on_subscription(void *arg, bool present)
{
    weft_pub_t *self = arg;
    bool changed = present != self->connected;
    if (present) {
        /* Every unacknowledged event goes again, oldest first; the router drops the ones it
         * already has. Deferred when half an event is out (part > 0): a multipart message is
         * finished first, or the frames would interleave. */
        self->rewind_pending = true;
        if (!self->connected)
            sdk_log(WEFT_LOG_INFO, "weft_pub %s: connected to %s", self->id, self->endpoint);
        self->connected = true;
        self->next_hb_ms = 0; /* announce ourselves at once */
    } else {
        if (self->connected)
            sdk_log(WEFT_LOG_NOTICE,
                      "weft_pub %s: router subscription lost on %s; holding "
                      "events until it returns",
                      self->id, self->endpoint);
        self->connected = false;
        self->rewind_pending = false;
    }
    pthread_mutex_lock(&self->mutex);
    self->stats.connected = self->connected ? 1 : 0;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
    if (changed && self->opts.on_state)
        s_notify_state(self, present);
}

/* Applies the router's cumulative ack of every event up to highest (sdk_upstream hook). */
static void s_on_ack(void *arg, uint64_t highest)
{
    weft_pub_t *self = arg;
    /* Never free the event whose frames are half out (self->frames points into it): keep it
     * and what follows. The router acknowledges it again once it has the whole message. */
    if (self->part > 0 && !self->current_is_hb && highest >= self->frames.seq)
        highest = self->frames.seq - 1;
    if (highest == 0)
        return;
    pthread_mutex_lock(&self->mutex);
    uint64_t first = sdk_outq_oldest_seq(self->queue);
    size_t freed = sdk_outq_ack(self->queue, highest);
    /* Seqs in the queue are consecutive (each publish takes last_seq + 1), so the freed entries
     * are exactly first .. first + freed - 1. */
    uint64_t last = first + freed - 1;
    if (freed) {
        self->stats.acked += freed;
        self->stats.acked_seq = last;
        pthread_cond_broadcast(&self->changed);
        /* Acks while rate-limited: the router keeps up with the window, so open it (TCP-like
         * slow start) until it is lifted. */
        if (self->window)
            self->window = self->window * 2 > S_WINDOW_MAX ? 0 : self->window * 2;
    }
    pthread_mutex_unlock(&self->mutex);
    if (freed && self->opts.on_ack)
        s_notify_ack(self, first, last);
}

/* The router's rate cap took nothing from seq on (protocol.md "Refusals"). Push back, never drop:
 * pause S_THROTTLE_MS, resend from the oldest unacked event with the send window halved (not the
 * whole buffer each pause); meanwhile the buffer fills and publishes get WEFT_EFULL or wait. */
static void s_on_throttled(void *arg, uint64_t seq)
{
    weft_pub_t *self = arg;
    pthread_mutex_lock(&self->mutex);
    uint64_t oldest = sdk_outq_oldest_seq(self->queue);
    bool ours = oldest != 0 && seq >= oldest && seq <= self->last_seq;
    if (ours) {
        self->stats.throttled_by_router++;
        size_t w = self->window ? self->window / 2 : S_WINDOW_START;
        self->window = w < S_WINDOW_MIN ? S_WINDOW_MIN : w;
    }
    pthread_mutex_unlock(&self->mutex);
    if (!ours)
        return; /* already acked or never ours: a stale report */
    self->rewind_pending = true;
    uint64_t until = base_clock_ms() + S_THROTTLE_MS;
    if (self->retry_at_ms < until)
        self->retry_at_ms = until;
}

/* Reports an event the router refused for good (sdk_upstream hook): counted, logged, and passed
 * to on_refused. Its ack frees it. */
static void s_on_refused(void *arg, uint64_t seq, int reason)
{
    weft_pub_t *self = arg;
    sdk_log_limited(&self->bad_input_limit, WEFT_LOG_WARN,
                    "weft_pub %s: the router refused event %" PRIu64 ": %s", self->id, seq,
                    weft_strerror(reason));
    pthread_mutex_lock(&self->mutex);
    self->stats.refused_by_router++;
    pthread_mutex_unlock(&self->mutex);
    if (!self->opts.on_refused)
        return;
    s_in_callback = self; /* as in s_notify_ack() */
    self->opts.on_refused(self, seq, reason, weft_strerror(reason), self->opts.callback_arg);
    s_in_callback = NULL;
}

/* Reads every message the XPUB has for us: subscriptions and acks. */
static void s_read_upstream(weft_pub_t *self)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            zmq_msg_close(&msg);
            if (err != EAGAIN && err != EINTR)
                sdk_log_limited(&self->bad_input_limit, WEFT_LOG_ERROR,
                                  "weft_pub %s: zmq_msg_recv: %s", self->id, zmq_strerror(err));
            return;
        }
        static const sdk_upstream_hooks_t hooks = {s_on_subscription, s_on_ack, s_on_refused,
                                                   s_on_throttled};
        const sdk_upstream_who_t who = {self->id, self->id_len, self->session};
        size_t len = zmq_msg_size(&msg);
        bool more = zmq_msg_more(&msg);
        const char *why = "unexpected multipart message";
        if (more || sdk_upstream_read(zmq_msg_data(&msg), len, &who, &hooks, self, &why) < 0)
            sdk_log_limited(&self->bad_input_limit, WEFT_LOG_WARN,
                            "weft_pub %s: %s (%zu bytes) from upstream ignored", self->id, why,
                            len);
        zmq_msg_close(&msg);
        /* Drop the remaining parts of a multipart message: they are not ours to interpret. */
        while (more) {
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
}

/*
 * Sends frames of the current event starting at self->part. Returns 1 when the event is complete,
 * 0 when ZeroMQ said EAGAIN (retry later), -1 on another error (logged; retry later too).
 */
static int s_send_frames(weft_pub_t *self)
{
    const void *data[3] = {self->frames.topic, self->frames.header, self->frames.payload};
    size_t len[3] = {self->frames.topic_len, self->frames.header_len, self->frames.payload_len};
    while (self->part < 3) {
        int flags = ZMQ_DONTWAIT | (self->part < 2 ? ZMQ_SNDMORE : 0);
        if (zmq_send(self->sock, data[self->part], len[self->part], flags) < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            sdk_log_limited(&self->bad_input_limit, WEFT_LOG_ERROR, "weft_pub %s: zmq_send: %s",
                              self->id, zmq_strerror(errno));
            return -1;
        }
        self->part++;
    }
    self->part = 0;
    return 1;
}

/* Called when the current message is complete: an event moves the cursor on. */
static void s_message_done(weft_pub_t *self)
{
    if (self->current_is_hb) {
        self->current_is_hb = false;
        return;
    }
    pthread_mutex_lock(&self->mutex);
    if (sdk_outq_advance(self->queue))
        self->stats.resent++;
    pthread_mutex_unlock(&self->mutex);
}

/*
 * Sends queued events while the router is subscribed, at most S_SEND_BATCH per call so that acks
 * and heartbeats are not starved (self->more_to_send then asks the loop not to sleep). EAGAIN
 * means the XPUB is at its high-water mark (NODROP): we stop and retry after S_RETRY_MS. We do
 * not wait for ZMQ_POLLOUT because an XPUB always reports it, full or not (libzmq 4.3), which
 * would make zmq_poll spin.
 */
static void s_send_pending(weft_pub_t *self, uint64_t now)
{
    self->more_to_send = false;
    if (self->retry_at_ms && now < self->retry_at_ms)
        return;
    self->retry_at_ms = 0;
    /* Finish a half-sent message first, connected or not: its frames must stay together. */
    if (self->part > 0) {
        if (s_send_frames(self) <= 0) {
            self->retry_at_ms = now + S_RETRY_MS;
            return;
        }
        s_message_done(self);
    }
    if (!self->connected)
        return;
    pthread_mutex_lock(&self->mutex);
    if (self->rewind_pending) {
        sdk_outq_rewind(self->queue);
        self->rewind_pending = false;
    }
    for (int sent = 0;; sent++) {
        if (self->stop || !sdk_outq_peek(self->queue, &self->frames))
            break;
        if (sent == S_SEND_BATCH) {
            self->more_to_send = true;
            break;
        }
        /* Rate-limited: at most `window` events out and unacknowledged; acks reopen it. */
        if (self->window &&
            sdk_outq_count(self->queue) - sdk_outq_unsent(self->queue) >= self->window)
            break;
        pthread_mutex_unlock(&self->mutex);
        int rc = s_send_frames(self);
        pthread_mutex_lock(&self->mutex);
        if (rc <= 0) {
            if (rc == 0)
                sdk_log_limited(&self->hwm_limit, WEFT_LOG_DEBUG,
                                  "weft_pub %s: ZeroMQ send queue full (the router reads "
                                  "slowly); %zu events wait",
                                  self->id, sdk_outq_unsent(self->queue));
            self->retry_at_ms = now + S_RETRY_MS;
            break;
        }
        if (sdk_outq_advance(self->queue))
            self->stats.resent++;
    }
    pthread_mutex_unlock(&self->mutex);
}

/* Sends a heartbeat when one is due. Heartbeats are never buffered: one whose first frame meets
 * the high-water mark is skipped, the next one carries fresher counters anyway. */
static void s_heartbeat(weft_pub_t *self, uint64_t now)
{
    if (!self->connected || self->part > 0 || now < self->next_hb_ms)
        return;
    self->next_hb_ms = now + (uint64_t)self->opts.heartbeat_ms;
    pthread_mutex_lock(&self->mutex);
    weft_pub_stats_t st = self->stats;
    st.buffered = sdk_outq_count(self->queue);
    uint64_t last_seq = self->last_seq;
    pthread_mutex_unlock(&self->mutex);

    wire_header_t h = {
        .kind = WIRE_KIND_HEARTBEAT,
        .session = self->session,
        .pub_seq = last_seq,
        .ts_ns = base_clock_wall_ns(),
        .pub_id = self->id,
        .pub_id_len = (uint8_t)self->id_len,
    };
    size_t hlen = wire_header_encode(&h, self->hb_header, sizeof self->hb_header);
    int plen = snprintf(self->hb_payload, sizeof self->hb_payload,
                        "{\"published\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"buffered\":%" PRIu64
                        ",\"refused\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"resent\":%" PRIu64 "}",
                        st.published, st.acked, st.buffered, st.refused, st.invalid, st.resent);
    if (hlen == 0 || plen < 0 || (size_t)plen >= sizeof self->hb_payload)
        return; /* cannot happen with a valid id; a skipped heartbeat is harmless */
    self->frames = (sdk_outq_frames_t){
        .topic = WIRE_HEARTBEAT_TOPIC,
        .topic_len = strlen(WIRE_HEARTBEAT_TOPIC),
        .header = self->hb_header,
        .header_len = hlen,
        .payload = self->hb_payload,
        .payload_len = (size_t)plen,
    };
    self->current_is_hb = true;
    if (s_send_frames(self) == 1)
        self->current_is_hb = false;
    else if (self->part == 0)
        self->current_is_hb = false; /* nothing went: skipped */
    else
        self->retry_at_ms = now + S_RETRY_MS; /* half out: s_send_pending() finishes it */
}

/* The I/O thread: see the banner comment. */
static void *s_io_main(void *arg)
{
    weft_pub_t *self = arg;
    for (;;) {
        s_read_upstream(self);
        pthread_mutex_lock(&self->mutex);
        bool stop = self->stop;
        pthread_mutex_unlock(&self->mutex);
        if (stop)
            break;
        uint64_t now = base_clock_ms();
        s_send_pending(self, now);
        s_heartbeat(self, now);
        /* Sleep until input, a wake-up, the next heartbeat or the next send retry. */
        long timeout = -1;
        now = base_clock_ms();
        if (self->connected)
            timeout = self->next_hb_ms > now ? (long)(self->next_hb_ms - now) : 0;
        if (self->more_to_send)
            timeout = 0;
        if (self->retry_at_ms) {
            long retry = self->retry_at_ms > now ? (long)(self->retry_at_ms - now) : 0;
            if (timeout < 0 || retry < timeout)
                timeout = retry;
        }
        zmq_pollitem_t items[2] = {
            {.socket = self->sock, .events = ZMQ_POLLIN},
            {.fd = self->wake_fd, .events = ZMQ_POLLIN},
        };
        if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR) {
            sdk_log_limited(&self->bad_input_limit, WEFT_LOG_ERROR, "weft_pub %s: zmq_poll: %s",
                              self->id, zmq_strerror(errno));
            /* Do not spin on a persistent error. */
            struct timespec pause = {0, 10 * 1000000L};
            nanosleep(&pause, NULL);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t count;
            /* Read before clearing wake_pending, so that a publish after the clear writes
             * again and is never missed. */
            if (read(self->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
                sdk_log(WEFT_LOG_ERROR, "weft_pub %s: reading the wake-up fd: %s", self->id,
                          strerror(errno));
            pthread_mutex_lock(&self->mutex);
            self->wake_pending = false;
            pthread_mutex_unlock(&self->mutex);
        }
    }
    return NULL;
}

/* ---- API ----------------------------------------------------------------------------------- */

/* Frees everything weft_pub_new() set up; the I/O thread must not run. */
static void s_free(weft_pub_t *self)
{
    s_socket_close(self);
    sdk_outq_destroy(&self->queue);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->mutex);
    free(self->endpoint);
    free(self);
}

/* Checks the options, opens the socket and starts the I/O thread. */
weft_pub_t *weft_pub_new_sized(const char *endpoint, const weft_pub_opts_t *opts, size_t opts_size)
{
    weft_pub_opts_t o;
    if (sdk_opts_read(&o, opts, opts_size) < 0)
        return NULL;
    if (!endpoint || !*endpoint) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: no endpoint given");
        return NULL;
    }
    if (sdk_opts_check(&o) < 0)
        return NULL;
    char why[600];
    wire_curve_keys_t keys;
    int plain = wire_curve_client_keys(o.curve_server_key, o.curve_public_key, o.curve_secret_key,
                                       o.curve_cert, &keys, why, sizeof why);
    if (plain < 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: CURVE %s", why);
        return NULL;
    }
    if (keys.loose_mode)
        sdk_log(WEFT_LOG_WARN, "weft_pub_new: %s is readable by group or others (chmod 600 it)",
                o.curve_cert);
    o.curve_server_key = o.curve_public_key = o.curve_secret_key = o.curve_cert = NULL;

    weft_pub_t *self = calloc(1, sizeof *self);
    if (!self) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: out of memory");
        return NULL;
    }
    self->wake_fd = -1;
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&self->changed, &cattr);
    pthread_condattr_destroy(&cattr);
    if (rc != 0 || pthread_mutex_init(&self->mutex, NULL) != 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: cannot create a mutex or condition variable");
        if (rc == 0)
            pthread_cond_destroy(&self->changed);
        free(self);
        return NULL;
    }
    if (o.publisher_id)
        snprintf(self->id, sizeof self->id, "%s", o.publisher_id);
    else
        sdk_opts_default_id(self->id, sizeof self->id);
    self->id_len = strlen(self->id);
    o.publisher_id = self->id;
    self->opts = o;
    self->session = s_random_session();
    self->endpoint = strdup(endpoint);
    self->queue = sdk_outq_new(o.max_buffered, o.max_buffered_bytes);
    self->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!self->endpoint || !self->queue || self->wake_fd < 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: out of resources: %s", strerror(errno));
        goto err;
    }
    rc = s_socket_open(self, plain ? NULL : &keys);
    explicit_bzero(&keys, sizeof keys);
    if (rc < 0)
        goto err;
    rc = pthread_create(&self->thread, NULL, s_io_main, self);
    if (rc != 0) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub_new: cannot start the I/O thread: %s", strerror(rc));
        goto err;
    }
    self->thread_started = true;
    sdk_log(WEFT_LOG_DEBUG, "weft_pub %s: session %016" PRIx64 ", connecting to %s", self->id,
              self->session, self->endpoint);
    return self;
err:
    s_free(self);
    return NULL;
}

/* Validates a publish call's arguments. Returns 0 or the WEFT_E* code; fills the lengths. */
static int s_validate(const weft_pub_t *self, const char *room, const char *type, const char *key,
                      const void *payload, size_t len, int flags, size_t *room_len,
                      size_t *type_len, size_t *key_len)
{
    *room_len = room ? strnlen(room, WIRE_ROOM_MAX + 1) : 0;
    if (!wire_room_valid(room, *room_len))
        return WEFT_EROOM;
    *type_len = type ? strnlen(type, WIRE_TYPE_MAX + 1) : 0;
    if (!wire_type_valid(type, *type_len))
        return WEFT_ETYPE;
    *key_len = 0;
    if (key) {
        *key_len = strnlen(key, WIRE_KEY_MAX + 1);
        if (!wire_key_valid(key, *key_len))
            return WEFT_EKEY;
    }
    if (flags & ~WEFT_CRITICAL)
        return WEFT_EINVAL;
    if (!payload)
        return WEFT_EJSON;
    if (len > self->opts.max_payload)
        return WEFT_ETOOBIG;
    json_error_t jerr;
    json_t *doc = json_loadb(payload, len, 0, &jerr);
    bool object = doc && json_is_object(doc);
    json_decref(doc);
    return object ? 0 : WEFT_EJSON;
}

/* Counts a publish refused for its arguments and returns its code. */
static int s_invalid(weft_pub_t *pub, int rc)
{
    pthread_mutex_lock(&pub->mutex);
    pub->stats.invalid++;
    pthread_mutex_unlock(&pub->mutex);
    return rc;
}

/* Validates, encodes and queues one event; see weft.h. */
int weft_publish_buf(weft_pub_t *pub, const char *room, const char *type, const char *key,
                     const void *payload, size_t len, int flags, uint64_t *seq)
{
    if (seq)
        *seq = 0;
    if (!pub)
        return WEFT_EINVAL;
    size_t room_len, type_len, key_len;
    int rc = s_validate(pub, room, type, key, payload, len, flags, &room_len, &type_len, &key_len);
    if (rc != 0)
        return s_invalid(pub, rc);

    /* Everything that allocates or copies happens before taking the mutex. */
    wire_header_t h = {
        .kind = WIRE_KIND_EVENT,
        .flags = (flags & WEFT_CRITICAL) ? WIRE_FLAG_CRITICAL : 0,
        .session = pub->session,
        .pub_seq = 1, /* the real seq is set under the mutex; the size does not depend on it */
        .pub_id = pub->id,
        .pub_id_len = (uint8_t)pub->id_len,
        .type = type,
        .type_len = (uint8_t)type_len,
        .key = key,
        .key_len = (uint8_t)key_len,
    };
    size_t header_len = wire_header_size(&h);
    char topic[WIRE_TOPIC_MAX];
    size_t topic_len = wire_topic_for_room(room, room_len, topic);
    if (header_len == 0 || topic_len == 0)
        return WEFT_EINTERNAL; /* validated above: cannot happen */
    sdk_outq_entry_t *entry = sdk_outq_entry_new(topic, topic_len, header_len, payload, len);
    if (!entry)
        return WEFT_ENOMEM;
    size_t size = sdk_outq_entry_size(entry);

    pthread_mutex_lock(&pub->mutex);
    if (!pub->closing && !sdk_outq_fits(pub->queue, size) && pub->opts.block_ms > 0) {
        /* Wait for acks to make room; the I/O thread broadcasts `changed` when it frees. */
        struct timespec deadline = base_clock_deadline(pub->opts.block_ms);
        while (!pub->closing && !sdk_outq_fits(pub->queue, size))
            if (pthread_cond_timedwait(&pub->changed, &pub->mutex, &deadline) == ETIMEDOUT)
                break;
    }
    if (pub->closing) {
        rc = WEFT_ECLOSED;
    } else if (!sdk_outq_fits(pub->queue, size)) {
        pub->stats.refused++;
        rc = WEFT_EFULL;
    } else {
        h.pub_seq = pub->last_seq + 1;
        h.ts_ns = base_clock_wall_ns();
        wire_header_encode(&h, sdk_outq_entry_header(entry), header_len);
        rc = sdk_outq_push(pub->queue, &entry, h.pub_seq);
        if (rc == 0) {
            pub->last_seq = h.pub_seq;
            pub->stats.published++;
            s_wake_locked(pub, false);
            if (seq)
                *seq = h.pub_seq;
        }
    }
    pthread_mutex_unlock(&pub->mutex);
    sdk_outq_entry_destroy(&entry); /* NULL after a successful push */
    return rc;
}

/* weft_publish_buf() with a NUL-terminated payload and no seq. */
int weft_publish_key(weft_pub_t *pub, const char *room, const char *type, const char *key,
                     const char *json, int flags)
{
    if (!pub)
        return WEFT_EINVAL;
    /* Bounded, so that a huge string is not scanned to its end only to be refused. */
    size_t len = json ? strnlen(json, pub->opts.max_payload + 1) : 0;
    return weft_publish_buf(pub, room, type, key, json, len, flags, NULL);
}

/* weft_publish_key() without a key. */
int weft_publish(weft_pub_t *pub, const char *room, const char *type, const char *json, int flags)
{
    return weft_publish_key(pub, room, type, NULL, json, flags);
}

/* True when every event up to `seq` is acknowledged. Mutex held. */
static bool s_acked_upto_locked(const weft_pub_t *self, uint64_t seq)
{
    uint64_t oldest = sdk_outq_oldest_seq(self->queue);
    return oldest == 0 || oldest > seq;
}

/* Waits until the events published so far are acknowledged. */
int weft_pub_flush(weft_pub_t *pub, int timeout_ms)
{
    if (!pub || s_in_callback == pub)
        return WEFT_EINVAL;
    pthread_mutex_lock(&pub->mutex);
    uint64_t target = pub->last_seq;
    struct timespec deadline = base_clock_deadline(timeout_ms > 0 ? timeout_ms : 0);
    int rc = 0;
    while (!s_acked_upto_locked(pub, target)) {
        if (timeout_ms == 0) {
            rc = WEFT_ETIMEDOUT;
            break;
        }
        int wrc = timeout_ms < 0 ? pthread_cond_wait(&pub->changed, &pub->mutex)
                                 : pthread_cond_timedwait(&pub->changed, &pub->mutex, &deadline);
        if (wrc == ETIMEDOUT) {
            rc = s_acked_upto_locked(pub, target) ? 0 : WEFT_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&pub->mutex);
    return rc;
}

/* The counters as weft.h documents them, gauges filled in. Mutex held. */
static void s_stats_locked(const weft_pub_t *self, weft_pub_stats_t *st)
{
    memcpy(st, &self->stats, sizeof *st);
    st->buffered = sdk_outq_count(self->queue);
    st->last_seq = self->last_seq;
}

/* Copies the counters under the mutex into the caller's struct of its compiled size. */
int weft_pub_stats_sized(weft_pub_t *pub, weft_pub_stats_t *stats, size_t size)
{
    if (!stats || size < S_STATS_V0_SIZE)
        return WEFT_EINVAL;
    weft_pub_stats_t st;
    memset(&st, 0, sizeof st);
    if (pub) {
        pthread_mutex_lock(&pub->mutex);
        s_stats_locked(pub, &st);
        pthread_mutex_unlock(&pub->mutex);
    }
    sdk_opts_copy_out(stats, size, &st, sizeof st);
    return pub ? 0 : WEFT_EINVAL;
}

/* The id in use, fixed for the publisher's life. */
const char *weft_pub_id(const weft_pub_t *pub)
{
    return pub ? pub->id : NULL;
}

/* Waits for acks, stops the I/O thread, reports the final counters and losses, and frees. */
int weft_pub_close_sized(weft_pub_t **pub_p, int timeout_ms, weft_pub_stats_t *final,
                         size_t stats_size)
{
    if (!pub_p || (final && stats_size < S_STATS_V0_SIZE))
        return WEFT_EINVAL;
    weft_pub_t *self = *pub_p;
    if (!self) {
        if (final)
            memset(final, 0, stats_size);
        return 0;
    }
    if (s_in_callback == self) {
        sdk_log(WEFT_LOG_ERROR, "weft_pub %s: cannot close from its own callback", self->id);
        return WEFT_EINVAL;
    }
    *pub_p = NULL;

    pthread_mutex_lock(&self->mutex);
    self->closing = true;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
    /* Whether it timed out shows in the queue below: what is left there is lost. */
    (void)weft_pub_flush(self, timeout_ms);

    pthread_mutex_lock(&self->mutex);
    self->stop = true;
    s_wake_locked(self, true);
    pthread_mutex_unlock(&self->mutex);
    if (self->thread_started)
        pthread_join(self->thread, NULL);

    /* The I/O thread is gone: no lock needed from here on. */
    size_t lost = sdk_outq_count(self->queue);
    self->stats.lost += lost;
    if (lost)
        sdk_log(WEFT_LOG_WARN,
                "weft_pub %s: %zu unacknowledged events lost (router %s did not acknowledge "
                "them within %d ms)",
                self->id, lost, self->endpoint, timeout_ms);
    else
        sdk_log(WEFT_LOG_DEBUG, "weft_pub %s: closed, %" PRIu64 " events acknowledged", self->id,
                self->stats.acked);
    if (final) {
        weft_pub_stats_t st;
        s_stats_locked(self, &st);
        sdk_opts_copy_out(final, stats_size, &st, sizeof st);
    }
    s_free(self);
    return lost ? WEFT_ETIMEDOUT : 0;
}

/* weft_pub_close() after the options' linger_ms, without counters. */
void weft_pub_destroy(weft_pub_t **pub_p)
{
    /* A loss is logged by close; from a callback close refuses and logs: destroy has no
     * result to return either. */
    if (pub_p && *pub_p)
        (void)weft_pub_close_sized(pub_p, (*pub_p)->opts.linger_ms, NULL, 0);
}

/* ---- weft.h 0.1.0 (v0) entry points ---------------------------------------------------------- */

/* v0's weft_pub_opts_init(): the v0 fields only. */
void(weft_pub_opts_init)(weft_pub_opts_t *opts)
{
    (void)weft_pub_opts_init_sized(opts, SDK_OPTS_V0_SIZE); /* v0 returned nothing */
}

/* v0's weft_pub_new(): reads the v0 fields only; the rest take their defaults. */
weft_pub_t *(weft_pub_new)(const char *endpoint, const weft_pub_opts_t *opts)
{
    return weft_pub_new_sized(endpoint, opts, SDK_OPTS_V0_SIZE);
}

/* v0's weft_pub_stats(): writes the v0 fields only. */
void(weft_pub_stats)(weft_pub_t *pub, weft_pub_stats_t *stats)
{
    (void)weft_pub_stats_sized(pub, stats, S_STATS_V0_SIZE); /* v0 returned nothing */
}
