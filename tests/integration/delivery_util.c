/*
 * delivery_util.c: a bare WebSocket client and a checked per-room stream log (see
 * delivery_util.h). The client implements just enough of RFC 6455 for the tests: the upgrade, a
 * masked text frame out, and unmasked frames in (text, close, ping; continuation frames are
 * not expected from the edge and count as errors).
 */
#include "delivery_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ts_proc.h"

struct dl_raw {
    int fd;                 /* the socket, -1 once closed */
    int status;             /* HTTP status of the upgrade answer */
    char body[512];         /* start of the body of a refused upgrade */
    unsigned char *buf;     /* bytes read and not parsed yet */
    size_t len;             /* bytes in buf */
    size_t cap;             /* bytes allocated */
    json_t **frames;        /* text frames, parsed */
    size_t nframes;         /* how many */
    size_t frames_cap;      /* slots allocated */
    int close_code;         /* the peer's close code, 0 before */
    char close_reason[128]; /* the peer's close reason */
    bool ended;             /* close frame received or connection ended */
};

/* Appends n bytes to the unparsed buffer. Returns 0, or -1 on OOM. */
static int s_buf_add(dl_raw_t *self, const void *data, size_t n)
{
    if (self->len + n > self->cap) {
        size_t cap = self->cap ? self->cap : 65536;
        while (cap < self->len + n)
            cap *= 2;
        unsigned char *buf = realloc(self->buf, cap);
        if (!buf)
            return -1;
        self->buf = buf;
        self->cap = cap;
    }
    memcpy(self->buf + self->len, data, n);
    self->len += n;
    return 0;
}

/* Drops the first n bytes of the buffer. */
static void s_buf_eat(dl_raw_t *self, size_t n)
{
    memmove(self->buf, self->buf + n, self->len - n);
    self->len -= n;
}

/* Reads what is there (waiting up to ms for something). Returns bytes read, 0 on timeout, -1
 * when the connection ended. */
static ssize_t s_fill(dl_raw_t *self, int ms)
{
    struct pollfd p = {.fd = self->fd, .events = POLLIN};
    int rc = poll(&p, 1, ms < 0 ? 0 : ms);
    if (rc <= 0)
        return rc < 0 && errno != EINTR ? -1 : 0;
    unsigned char tmp[16384];
    ssize_t n = recv(self->fd, tmp, sizeof tmp, 0);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (n == 0)
        return -1;
    if (s_buf_add(self, tmp, (size_t)n) < 0)
        return -1;
    return n;
}

/* Sends all of data. Returns 0 or -1. */
static int s_send_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends one masked frame with opcode. */
static int s_send_frame(dl_raw_t *self, int opcode, const void *data, size_t n)
{
    unsigned char head[14];
    size_t h = 0;
    head[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        head[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        head[h++] = 0x80 | 126;
        head[h++] = (unsigned char)(n >> 8);
        head[h++] = (unsigned char)n;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(head + h, mask, 4);
    h += 4;
    unsigned char *body = malloc(n ? n : 1);
    if (!body)
        return -1;
    for (size_t i = 0; i < n; i++)
        body[i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
    int rc = s_send_all(self->fd, head, h) == 0 && s_send_all(self->fd, body, n) == 0 ? 0 : -1;
    free(body);
    return rc;
}

dl_raw_t *dl_raw_connect(int port, int rcvbuf, int timeout_ms)
{
    dl_raw_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (self->fd < 0)
        goto err;
    if (rcvbuf > 0 && setsockopt(self->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        goto err;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(self->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "dl_raw: connect to port %d: %s\n", port, strerror(errno));
        goto err;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     port);
    if (s_send_all(self->fd, req, (size_t)n) < 0)
        goto err;
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    const char *end = NULL;
    while (!end) {
        if (self->len && (end = memmem(self->buf, self->len, "\r\n\r\n", 4)))
            break;
        int64_t left = (int64_t)(deadline - base_clock_ms());
        if (left <= 0 || s_fill(self, (int)left) < 0) {
            /* A refusal may close right after its answer: parse what came. */
            if (self->len && (end = memmem(self->buf, self->len, "\r\n\r\n", 4)))
                break;
            fprintf(stderr, "dl_raw: no upgrade answer from port %d\n", port);
            goto err;
        }
    }
    if (sscanf((const char *)self->buf, "HTTP/1.%*d %d", &self->status) != 1) {
        fprintf(stderr, "dl_raw: bad status line: '%.*s'\n", (int)(end - (const char *)self->buf),
                (const char *)self->buf);
        goto err;
    }
    size_t head = (size_t)(end - (const char *)self->buf) + 4;
    s_buf_eat(self, head);
    if (self->status != 101) {
        /* Keep the start of the body (give it a moment to arrive). */
        for (int i = 0; i < 10 && self->len < sizeof self->body - 1 && s_fill(self, 50) > 0; i++)
            ;
        size_t k = self->len < sizeof self->body - 1 ? self->len : sizeof self->body - 1;
        memcpy(self->body, self->buf, k);
        self->body[k] = '\0';
        self->len = 0;
    }
    return self;
err:
    dl_raw_destroy(&self);
    return NULL;
}

void dl_raw_destroy(dl_raw_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dl_raw_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    for (size_t i = 0; i < self->nframes; i++)
        json_decref(self->frames[i]);
    free(self->frames);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

int dl_raw_status(const dl_raw_t *self)
{
    return self->status;
}

const char *dl_raw_body(const dl_raw_t *self)
{
    return self->body;
}

int dl_raw_send_text(dl_raw_t *self, const char *text)
{
    return s_send_frame(self, 0x1, text, strlen(text));
}

/* Parses complete frames from the buffer. Returns 0, or -1 on a protocol error. */
static int s_parse(dl_raw_t *self)
{
    while (self->len >= 2 && !self->ended) {
        const unsigned char *b = self->buf;
        int opcode = b[0] & 0x0f;
        bool masked = (b[1] & 0x80) != 0;
        uint64_t n = b[1] & 0x7f;
        size_t h = 2;
        if (n == 126) {
            if (self->len < 4)
                return 0;
            n = ((uint64_t)b[2] << 8) | b[3];
            h = 4;
        } else if (n == 127) {
            if (self->len < 10)
                return 0;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = (n << 8) | b[2 + i];
            h = 10;
        }
        if (masked || !(b[0] & 0x80)) {
            fprintf(stderr, "dl_raw: unexpected %s frame from the edge\n",
                    masked ? "masked" : "fragmented");
            return -1;
        }
        if (self->len < h + n)
            return 0;
        const unsigned char *p = b + h;
        if (opcode == 0x1) {
            json_t *j = json_loadb((const char *)p, (size_t)n, 0, NULL);
            if (!j)
                j = json_stringn((const char *)p, (size_t)n);
            if (self->nframes == self->frames_cap) {
                size_t cap = self->frames_cap ? self->frames_cap * 2 : 64;
                json_t **frames = realloc(self->frames, cap * sizeof *frames);
                if (!frames) {
                    json_decref(j);
                    return -1;
                }
                self->frames = frames;
                self->frames_cap = cap;
            }
            self->frames[self->nframes++] = j;
        } else if (opcode == 0x8) {
            self->close_code = n >= 2 ? (p[0] << 8) | p[1] : 1005;
            size_t r = n > 2 ? (size_t)n - 2 : 0;
            if (r >= sizeof self->close_reason)
                r = sizeof self->close_reason - 1;
            memcpy(self->close_reason, p + 2, r);
            self->close_reason[r] = '\0';
            self->ended = true;
        } else if (opcode == 0x9) {
            s_send_frame(self, 0xA, p, (size_t)n);
        }
        s_buf_eat(self, h + (size_t)n);
    }
    return 0;
}

int dl_raw_read(dl_raw_t *self, int (*done)(void *arg, dl_raw_t *raw), void *arg, int timeout_ms)
{
    uint64_t deadline = base_clock_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (s_parse(self) < 0)
            return -1;
        if (done && done(arg, self))
            return 0;
        if (self->ended)
            return self->close_code ? (done ? -1 : 0) : -1;
        int64_t left = (int64_t)(deadline - base_clock_ms());
        if (left <= 0)
            return -1;
        if (s_fill(self, left > 100 ? 100 : (int)left) < 0) {
            s_parse(self);
            self->ended = true;
        }
    }
}

size_t dl_raw_frame_count(const dl_raw_t *self)
{
    return self->nframes;
}

json_t *dl_raw_frame(const dl_raw_t *self, size_t i)
{
    return i < self->nframes ? self->frames[i] : NULL;
}

int dl_raw_close_code(const dl_raw_t *self)
{
    return self->close_code;
}

const char *dl_raw_close_reason(const dl_raw_t *self)
{
    return self->close_reason;
}

bool dl_raw_ended(const dl_raw_t *self)
{
    return self->ended;
}

/* ---- the stream log ----------------------------------------------------------------------- */

void dl_log_init(dl_log_t *log, const char *room)
{
    memset(log, 0, sizeof *log);
    snprintf(log->room, sizeof log->room, "%s", room);
}

void dl_log_position(dl_log_t *log, uint64_t epoch, uint64_t seq)
{
    log->positioned = true;
    log->epoch = epoch;
    log->pos = seq;
}

/* Records an order violation (the first one's text is kept). */
static void s_violation(dl_log_t *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_violation(dl_log_t *log, const char *fmt, ...)
{
    if (log->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(log->err, sizeof log->err, fmt, ap);
        va_end(ap);
    }
}

/* The unsigned integer field of an object, or 0. */
static uint64_t s_u64(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Appends one event. */
static void s_add(dl_log_t *log, uint64_t epoch, json_t *item, bool in_batch)
{
    if (log->count == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        dl_ev_t *evs = realloc(log->evs, cap * sizeof *evs);
        if (!evs) {
            s_violation(log, "out of memory");
            return;
        }
        log->evs = evs;
        log->cap = cap;
    }
    dl_ev_t *ev = &log->evs[log->count++];
    memset(ev, 0, sizeof *ev);
    ev->epoch = epoch;
    ev->seq = s_u64(item, "seq");
    ev->data = json_incref(json_object_get(item, "data"));
    const char *type = json_string_value(json_object_get(item, "type"));
    snprintf(ev->type, sizeof ev->type, "%s", type ? type : "");
    ev->in_batch = in_batch;
    ev->critical = json_is_true(json_object_get(item, "critical"));
}

/* Checks that a frame covering from..to in epoch starts right after the position. */
static void s_check_start(dl_log_t *log, uint64_t epoch, uint64_t from, const char *what)
{
    if (!log->positioned)
        return;
    if (epoch != log->epoch)
        s_violation(log, "%s: %s in epoch %llu after epoch %llu", log->room, what,
                    (unsigned long long)epoch, (unsigned long long)log->epoch);
    else if (from != log->pos + 1)
        s_violation(log, "%s: %s starts at seq %llu after %llu (%s)", log->room, what,
                    (unsigned long long)from, (unsigned long long)log->pos,
                    from <= log->pos ? "duplicate" : "gap");
}

void dl_log_frame(dl_log_t *log, json_t *frame)
{
    const char *op = json_string_value(json_object_get(frame, "op"));
    const char *room = json_string_value(json_object_get(frame, "room"));
    if (!op || !room || strcmp(room, log->room) != 0)
        return;
    uint64_t epoch = s_u64(frame, "epoch");
    if (strcmp(op, "event") == 0) {
        uint64_t seq = s_u64(frame, "seq");
        s_check_start(log, epoch, seq, "an event");
        s_add(log, epoch, frame, false);
        log->singles++;
        dl_log_position(log, epoch, seq);
    } else if (strcmp(op, "batch") == 0) {
        uint64_t from = s_u64(frame, "from_seq"), to = s_u64(frame, "to_seq");
        json_t *events = json_object_get(frame, "events");
        size_t n = json_array_size(events);
        s_check_start(log, epoch, from, "a batch");
        if (from > to || n == 0 || n > to - from + 1)
            s_violation(log, "%s: batch %llu..%llu with %zu events", log->room,
                        (unsigned long long)from, (unsigned long long)to, n);
        uint64_t prev = from - 1;
        for (size_t i = 0; i < n; i++) {
            json_t *item = json_array_get(events, i);
            uint64_t seq = s_u64(item, "seq");
            if (seq <= prev || seq > to)
                s_violation(log, "%s: batch %llu..%llu holds seq %llu after %llu", log->room,
                            (unsigned long long)from, (unsigned long long)to,
                            (unsigned long long)seq, (unsigned long long)prev);
            if (json_object_get(item, "room") || json_object_get(item, "op"))
                s_violation(log, "%s: a batch entry repeats room/op", log->room);
            prev = seq;
            s_add(log, epoch, item, true);
        }
        if (prev != to)
            s_violation(log, "%s: batch %llu..%llu ends with seq %llu", log->room,
                        (unsigned long long)from, (unsigned long long)to, (unsigned long long)prev);
        log->batches++;
        if (to >= from && to - from + 1 > n)
            log->coalesced += (size_t)(to - from + 1 - n);
        dl_log_position(log, epoch, to);
    } else if (strcmp(op, "subscribed") == 0 && json_object_get(frame, "recovered")) {
        dl_log_position(log, epoch, s_u64(frame, "seq"));
    }
}

void dl_log_wsc(dl_log_t *log, ts_wsc_conn_t *conn, size_t *from)
{
    size_t n = ts_wsc_frame_count(conn);
    for (; *from < n; (*from)++)
        dl_log_frame(log, ts_wsc_frame(conn, *from));
}

void dl_log_raw(dl_log_t *log, const dl_raw_t *raw, size_t *from)
{
    size_t n = dl_raw_frame_count(raw);
    for (; *from < n; (*from)++)
        dl_log_frame(log, dl_raw_frame(raw, *from));
}

void dl_log_free(dl_log_t *log)
{
    for (size_t i = 0; i < log->count; i++)
        json_decref(log->evs[i].data);
    free(log->evs);
    log->evs = NULL;
    log->count = log->cap = 0;
}

int64_t dl_ev_int(const dl_ev_t *ev, const char *field)
{
    json_t *v = json_object_get(ev->data, field);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

const char *dl_log_seqs(dl_log_t *log)
{
    static char buf[4096];
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < log->count && used + 24 < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)log->evs[i].seq);
    return buf;
}
