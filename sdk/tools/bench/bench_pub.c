/*
 * bench_pub.c: paced publishing through libweft (see bench_pub.h).
 */
#include "bench_pub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

#define MAX_PUBS 16
#define TICK_NS 1000000ll /* one pacing tick: 1 ms */

struct bench_pub {
    weft_pub_t *pubs[MAX_PUBS];  /* the publishers */
    int npubs;                   /* how many */
    char *const *rooms;          /* room names (borrowed) */
    size_t nrooms;               /* how many */
    uint64_t *room_total;        /* events accepted per room */
    char *payload;               /* the padded JSON payload, built once */
    wire_log_t *log;             /* where problems go */
    pthread_t thread;            /* the pacing thread */
    bool running;                /* the thread was started and not joined */
    atomic_bool stop;            /* asks the thread to return */
    double rate;                 /* events per second of the current start */
    uint64_t next;               /* round-robin position (event number) */
    _Atomic uint64_t published;  /* accepted events */
    _Atomic uint64_t refused;    /* WEFT_EFULL */
    _Atomic uint64_t errors;     /* other refusals */
    _Atomic uint64_t max_behind; /* largest backlog of due events seen at a tick */
};

/* Forwards libweft's log lines into the bench's logger (warnings and errors only). */
static void s_weft_log(int level, const char *message, void *arg)
{
    if (level <= WEFT_LOG_WARN)
        wire_log(arg, level == WEFT_LOG_ERROR ? WIRE_LOG_ERROR : WIRE_LOG_WARN, "libweft: %s",
                 message);
}

bench_pub_t *bench_pub_new(const char *intake, int npubs, char *const *rooms, size_t nrooms,
                           size_t payload, wire_log_t *log)
{
    if (npubs < 1 || npubs > MAX_PUBS || nrooms == 0)
        return NULL;
    bench_pub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rooms = rooms;
    self->nrooms = nrooms;
    self->log = log;
    self->room_total = calloc(nrooms, sizeof *self->room_total);
    /* {"pad":"xxxx"}: 10 bytes of syntax around the padding. */
    size_t len = payload < 10 ? 10 : payload;
    self->payload = malloc(len + 1);
    if (!self->room_total || !self->payload) {
        bench_pub_destroy(&self);
        return NULL;
    }
    memcpy(self->payload, "{\"pad\":\"", 8);
    memset(self->payload + 8, 'x', len - 10);
    memcpy(self->payload + len - 2, "\"}", 3);
    weft_log_set(s_weft_log, log);
    for (int i = 0; i < npubs; i++) {
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
        self->pubs[i] = weft_pub_new(intake, &opts);
        if (!self->pubs[i]) {
            wire_log(log, WIRE_LOG_ERROR, "cannot create a publisher for %s", intake);
            bench_pub_destroy(&self);
            return NULL;
        }
        self->npubs = i + 1;
    }
    return self;
}

void bench_pub_destroy(bench_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_pub_t *self = *self_p;
    bench_pub_stop(self);
    for (int i = 0; i < self->npubs; i++)
        weft_pub_destroy(&self->pubs[i]);
    weft_log_set(NULL, NULL);
    free(self->room_total);
    free(self->payload);
    free(self);
    *self_p = NULL;
}

/* Publishes event number k (room and publisher round-robin) of the given type. */
static void s_publish(bench_pub_t *self, uint64_t k, const char *type)
{
    size_t room = (size_t)(k % self->nrooms);
    weft_pub_t *pub = self->pubs[k % (uint64_t)self->npubs];
    int rc = weft_publish(pub, self->rooms[room], type, self->payload, 0);
    if (rc == 0) {
        self->room_total[room]++;
        atomic_fetch_add_explicit(&self->published, 1, memory_order_relaxed);
    } else if (rc == WEFT_EFULL) {
        atomic_fetch_add_explicit(&self->refused, 1, memory_order_relaxed);
    } else {
        if (atomic_fetch_add_explicit(&self->errors, 1, memory_order_relaxed) == 0)
            wire_log(self->log, WIRE_LOG_ERROR, "weft_publish: %s", weft_strerror(rc));
    }
}

int bench_pub_fence(bench_pub_t *self)
{
    if (self->running)
        return -1;
    for (size_t r = 0; r < self->nrooms; r++) {
        /* Event number r lands in room r. */
        s_publish(self, (uint64_t)r, "bench.fence");
    }
    return 0;
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
            s_publish(self, self->next++, "bench.ev");
            sent++;
        }
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

void bench_pub_counts(const bench_pub_t *self, bench_pub_counts_t *out)
{
    out->published = atomic_load(&self->published);
    out->refused = atomic_load(&self->refused);
    out->errors = atomic_load(&self->errors);
    out->max_behind = atomic_load(&self->max_behind);
}
