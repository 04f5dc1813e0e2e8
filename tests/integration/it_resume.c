/*
 * it_resume.c: the pacer (a publisher thread) and the crowd (resume clients) of the resume
 * integration tests (see it_resume.h).
 */
#include "it_resume.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IT_PACER_BLOCK_MS 10000 /* weft_publish may wait this long for buffer space */
#define IT_LOUD_MAX 20          /* failures printed by it_crowd_check */

struct it_pacer {
    weft_pub_t *pub;     /* the publisher */
    char prefix[32];     /* room name prefix */
    int nrooms;          /* rooms, round robin */
    int total;           /* events to publish */
    int rate;            /* events per second */
    char (*rooms)[48];   /* room names */
    uint64_t *times;     /* times[k]: base_clock_ms() when event k was published */
    atomic_int progress; /* events handed to weft_publish so far */
    atomic_int refused;  /* weft_publish failures */
    atomic_int stop;     /* set by it_pacer_destroy: the thread ends early */
    pthread_t thread;    /* the publishing thread */
    int started;         /* the thread was created */
    int joined;          /* the thread was joined */
};

/* Publishes every event at the pacer's rate: event k is due k/rate seconds after the start. */
static void *s_pacer_main(void *arg)
{
    it_pacer_t *self = arg;
    uint64_t start = base_clock_ms();
    char json[160];
    for (int k = 0; k < self->total && !atomic_load(&self->stop); k++) {
        uint64_t due = start + (uint64_t)k * 1000u / (uint64_t)self->rate;
        uint64_t now = base_clock_ms();
        if (due > now + 1)
            ts_sleep_ms((int)(due - now));
        int r = k % self->nrooms;
        int n = k / self->nrooms + 1;
        snprintf(json, sizeof json, "{\"r\":\"%s\",\"n\":%d,\"k\":%d}", self->rooms[r], n, k);
        self->times[k] = base_clock_ms();
        int rc = weft_publish(self->pub, self->rooms[r], "test.resume", json, 0);
        if (rc != 0) {
            if (atomic_fetch_add(&self->refused, 1) < 5)
                fprintf(stderr, "it_resume: weft_publish of event %d refused: %s\n", k,
                        weft_err_name(rc));
        }
        atomic_store(&self->progress, k + 1);
    }
    return NULL;
}

/* Creates the publisher. */
it_pacer_t *it_pacer_new(const char *endpoint, const char *prefix, int nrooms, int total, int rate)
{
    if (nrooms < 1 || total < 1 || rate < 1)
        return NULL;
    it_pacer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
    self->nrooms = nrooms;
    self->total = total;
    self->rate = rate;
    self->rooms = calloc((size_t)nrooms, sizeof *self->rooms);
    self->times = calloc((size_t)total, sizeof *self->times);
    weft_pub_opts_t opts;
    weft_pub_opts_init(&opts);
    opts.publisher_id = "it-pacer";
    opts.block_ms = IT_PACER_BLOCK_MS;
    /* At most a few seconds of events wait for acks, also across a router restart. */
    opts.max_buffered = 50000;
    opts.max_buffered_bytes = 64u << 20;
    self->pub = weft_pub_new(endpoint, &opts);
    if (!self->rooms || !self->times || !self->pub) {
        it_pacer_destroy(&self);
        return NULL;
    }
    for (int r = 0; r < nrooms; r++)
        snprintf(self->rooms[r], sizeof self->rooms[r], "%s:%02d", prefix, r);
    for (int k = 0; k < total; k++)
        self->times[k] = UINT64_MAX;
    atomic_init(&self->progress, 0);
    atomic_init(&self->refused, 0);
    atomic_init(&self->stop, 0);
    return self;
}

/* Starts the thread. */
int it_pacer_start(it_pacer_t *self)
{
    if (self->started || pthread_create(&self->thread, NULL, s_pacer_main, self) != 0)
        return -1;
    self->started = 1;
    return 0;
}

/* Published so far. */
int it_pacer_progress(const it_pacer_t *self)
{
    return atomic_load(&((it_pacer_t *)self)->progress);
}

/* All handed over. */
int it_pacer_done(const it_pacer_t *self)
{
    return it_pacer_progress(self) >= self->total;
}

/* Room name. */
const char *it_pacer_room(const it_pacer_t *self, int r)
{
    return self->rooms[r];
}

/* Room count. */
int it_pacer_rooms(const it_pacer_t *self)
{
    return self->nrooms;
}

/* Events of room r in total. */
int64_t it_pacer_room_total(const it_pacer_t *self, int r)
{
    return self->total / self->nrooms + (r < self->total % self->nrooms ? 1 : 0);
}

/* Publish time of event n of room r. */
uint64_t it_pacer_time(const it_pacer_t *self, int r, int64_t n)
{
    int64_t k = (n - 1) * self->nrooms + r;
    if (n < 1 || k >= self->total || k >= it_pacer_progress(self))
        return UINT64_MAX;
    return self->times[k];
}

/* Joins, closes the publisher (waiting for its acks), reports its final counters. */
int it_pacer_finish(it_pacer_t *self, int flush_ms, weft_pub_stats_t *stats)
{
    if (self->started && !self->joined) {
        pthread_join(self->thread, NULL);
        self->joined = 1;
    }
    weft_pub_stats_t final;
    int rc = weft_pub_close(&self->pub, flush_ms, &final);
    if (rc != 0)
        fprintf(stderr, "it_resume: weft_pub_close: %s (%llu lost)\n", weft_err_name(rc),
                (unsigned long long)final.lost);
    if (stats)
        *stats = final;
    return atomic_load(&self->refused) + (rc != 0);
}

/* Frees everything. */
void it_pacer_destroy(it_pacer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    it_pacer_t *self = *self_p;
    atomic_store(&self->stop, 1);
    if (self->started && !self->joined)
        pthread_join(self->thread, NULL);
    weft_pub_destroy(&self->pub);
    free(self->rooms);
    free(self->times);
    free(self);
    *self_p = NULL;
}

/* ---- The crowd ----------------------------------------------------------------------------- */

struct it_crowd {
    ts_wsc_t *wsc;           /* the client context (borrowed) */
    const it_pacer_t *pacer; /* whose rooms the clients join (borrowed) */
    int n;                   /* clients */
    int per;                 /* rooms per client */
    ts_wsc_conn_t **clients; /* the clients (owned by wsc) */
    int *rooms;              /* rooms[i * per + j]: room index of client i's j-th room */
};

/*
 * Client i's j-th room. Consecutive clients share a room (clients 0..9 join room 0 when there
 * are 10 per room), so round robin spreads each room's members over the edges; further rooms
 * are offset by a third of the rooms, so a client's rooms live on different schedules.
 */
static int s_room_of(int i, int j, int nclients, int nrooms)
{
    int per_room = nclients / nrooms > 0 ? nclients / nrooms : 1;
    return (i / per_room + j * (nrooms / 3 + 1)) % nrooms;
}

/* Connects the clients and queues their subscribes. */
it_crowd_t *it_crowd_new(ts_wsc_t *wsc, const it_pacer_t *pacer, const char *name, int nclients,
                         int port, int rooms_per_client, int reconnect)
{
    it_crowd_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->wsc = wsc;
    self->pacer = pacer;
    self->n = nclients;
    self->per = rooms_per_client;
    self->clients = calloc((size_t)nclients, sizeof *self->clients);
    self->rooms = calloc((size_t)nclients * (size_t)rooms_per_client, sizeof *self->rooms);
    if (!self->clients || !self->rooms) {
        it_crowd_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < nclients; i++) {
        char label[64];
        snprintf(label, sizeof label, "%.40s %d", name, i);
        ts_wsc_conn_t *c = ts_wsc_connect(wsc, port, label);
        if (!c) {
            it_crowd_destroy(&self);
            return NULL;
        }
        self->clients[i] = c;
        /* 50..500 ms: weft.js's first backoff step is 250 ms times 0.5..1, plus some spread. */
        ts_wsc_resume_enable(c, reconnect ? port : 0, 50, 500);
        for (int j = 0; j < rooms_per_client; j++) {
            int r = s_room_of(i, j, nclients, it_pacer_rooms(pacer));
            self->rooms[i * rooms_per_client + j] = r;
            if (ts_wsc_join(c, it_pacer_room(pacer, r)) != 0) {
                it_crowd_destroy(&self);
                return NULL;
            }
        }
    }
    return self;
}

/* Frees the crowd. */
void it_crowd_destroy(it_crowd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->clients);
    free((*self_p)->rooms);
    free(*self_p);
    *self_p = NULL;
}

/* Done when every client is open with nothing pending. */
static int s_joined(void *arg)
{
    it_crowd_t *self = arg;
    for (int i = 0; i < self->n; i++)
        if (!ts_wsc_is_open(self->clients[i]) || ts_wsc_pending(self->clients[i]) > 0)
            return 0;
    return 1;
}

/* Waits for every answer. */
int it_crowd_wait_joined(it_crowd_t *self, int timeout_ms)
{
    if (ts_wsc_wait_until(self->wsc, s_joined, self, timeout_ms) == 0)
        return 0;
    for (int i = 0; i < self->n; i++)
        if (!ts_wsc_is_open(self->clients[i]) || ts_wsc_pending(self->clients[i]) > 0) {
            fprintf(stderr, "it_resume: not joined: %s, %zu subscribes unanswered\n",
                    ts_wsc_describe(self->clients[i]), ts_wsc_pending(self->clients[i]));
            break;
        }
    return -1;
}

/* Count. */
int it_crowd_size(const it_crowd_t *self)
{
    return self->n;
}

/* Client i. */
ts_wsc_conn_t *it_crowd_client(const it_crowd_t *self, int i)
{
    return self->clients[i];
}

/* Services. */
void it_crowd_service(it_crowd_t *self, int ms)
{
    ts_wsc_service(self->wsc, ms);
}

/* data.n of the last event record of room on conn, or -1. */
static int64_t s_last_n(const ts_wsc_conn_t *conn, const char *room)
{
    size_t count = 0;
    const ts_wsc_rec_t *recs = ts_wsc_records(conn, room, &count);
    for (size_t i = count; i-- > 0;)
        if (recs[i].kind == TS_WSC_REC_EVENT)
            return recs[i].n;
    return -1;
}

/* 1 when client i is open, joined and has its rooms' last events. */
static int s_client_caught_up(const it_crowd_t *self, int i)
{
    ts_wsc_conn_t *c = self->clients[i];
    if (!ts_wsc_is_open(c) || ts_wsc_pending(c) > 0)
        return 0;
    for (int j = 0; j < self->per; j++) {
        int r = self->rooms[i * self->per + j];
        if (s_last_n(c, it_pacer_room(self->pacer, r)) < it_pacer_room_total(self->pacer, r))
            return 0;
    }
    return 1;
}

/* Done when every client caught up. */
static int s_all_caught_up(void *arg)
{
    it_crowd_t *self = arg;
    for (int i = 0; i < self->n; i++)
        if (!s_client_caught_up(self, i))
            return 0;
    return 1;
}

/* Waits for every client to have everything. */
int it_crowd_wait_caught_up(it_crowd_t *self, int timeout_ms)
{
    if (ts_wsc_wait_until(self->wsc, s_all_caught_up, self, timeout_ms) == 0)
        return 0;
    int laggards = 0;
    for (int i = 0; i < self->n; i++) {
        if (s_client_caught_up(self, i))
            continue;
        if (laggards++ < 5) {
            ts_wsc_conn_t *c = self->clients[i];
            fprintf(stderr, "it_resume: behind: %s, %zu pending;", ts_wsc_describe(c),
                    ts_wsc_pending(c));
            for (int j = 0; j < self->per; j++) {
                int r = self->rooms[i * self->per + j];
                const char *room = it_pacer_room(self->pacer, r);
                fprintf(stderr, " %s n=%" PRId64 "/%" PRId64, room, s_last_n(c, room),
                        it_pacer_room_total(self->pacer, r));
            }
            fputc('\n', stderr);
        }
    }
    fprintf(stderr, "it_resume: %d of %d clients did not catch up within %d ms\n", laggards,
            self->n, timeout_ms);
    return -1;
}

/* Prints one failure (the first IT_LOUD_MAX) and counts it. */
static void s_fail(int *failures, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_fail(int *failures, const char *fmt, ...)
{
    if ((*failures)++ >= IT_LOUD_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("it_resume: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Checks what IT_EXPECT_NEW_EPOCH demands of the notices: each recovered:false moves to
 * new_epoch because the epoch changed, and events of old_epoch come only before it. */
static void s_check_epochs(int *failures, const ts_wsc_conn_t *c, const char *room,
                           uint64_t old_epoch, uint64_t new_epoch)
{
    size_t count = 0;
    const ts_wsc_rec_t *recs = ts_wsc_records(c, room, &count);
    int moved = 0;
    for (size_t i = 0; i < count; i++) {
        const ts_wsc_rec_t *r = &recs[i];
        if (r->kind == TS_WSC_REC_SUBSCRIBED && r->recovered == 0) {
            if (r->epoch != new_epoch || r->reason != TS_WSC_REASON_EPOCH_CHANGED)
                s_fail(failures,
                       "%s %s: recovered:false into epoch %" PRIu64 " reason %d (want %" PRIu64
                       ", epoch_changed)",
                       ts_wsc_name(c), room, r->epoch, r->reason, new_epoch);
            moved = 1;
        } else if (r->kind == TS_WSC_REC_EVENT && r->epoch != (moved ? new_epoch : old_epoch)) {
            s_fail(failures, "%s %s: event %" PRIu64 "/%" PRIu64 " in the wrong epoch",
                   ts_wsc_name(c), room, r->epoch, r->seq);
            return;
        }
    }
}

/* Checks every stream. */
int it_crowd_check(it_crowd_t *self, it_expect_t expect, uint64_t old_epoch, uint64_t new_epoch)
{
    int failures = 0;
    char err[400];
    for (int i = 0; i < self->n; i++) {
        ts_wsc_conn_t *c = self->clients[i];
        if (ts_wsc_stray_events(c) > 0)
            s_fail(&failures, "%s: %zu events of rooms it did not join", ts_wsc_name(c),
                   ts_wsc_stray_events(c));
        size_t errors = ts_wsc_count_op(c, "error", NULL);
        if (errors > 0)
            s_fail(&failures, "%s: %zu error frames", ts_wsc_name(c), errors);
        for (int j = 0; j < self->per; j++) {
            int r = self->rooms[i * self->per + j];
            const char *room = it_pacer_room(self->pacer, r);
            int64_t total = it_pacer_room_total(self->pacer, r);
            ts_wsc_summary_t sum;
            if (ts_wsc_check_room(c, room, &sum, err, sizeof err) != 0) {
                s_fail(&failures, "%s", err);
                continue;
            }
            size_t lost = 0;
            for (int k = 0; k < TS_WSC_REASON__COUNT; k++)
                lost += sum.lost[k];
            if (sum.first_seq != 1 || sum.first_epoch != old_epoch)
                s_fail(&failures, "%s %s: first event %" PRIu64 "/%" PRIu64 ", want %" PRIu64 "/1",
                       ts_wsc_name(c), room, sum.first_epoch, sum.first_seq, old_epoch);
            if (sum.last_n != total)
                s_fail(&failures, "%s %s: last event has n=%" PRId64 ", want %" PRId64,
                       ts_wsc_name(c), room, sum.last_n, total);
            /* Every reconnect (each answer after the first) must have resumed. */
            if (expect == IT_EXPECT_GAPLESS) {
                if (lost > 0 || sum.unsolicited > 0 || sum.resumed + 1 != sum.replies)
                    s_fail(&failures,
                           "%s %s: %zu answers, %zu recovered:true, %zu recovered:false, %zu "
                           "unsolicited (want every answer after the first recovered:true)",
                           ts_wsc_name(c), room, sum.replies, sum.resumed, lost, sum.unsolicited);
                if (sum.last_seq != (uint64_t)total || sum.events != (size_t)total ||
                    sum.last_epoch != old_epoch)
                    s_fail(&failures,
                           "%s %s: %zu events ending at %" PRIu64 "/%" PRIu64 ", want %" PRId64
                           " ending at %" PRIu64 "/%" PRId64,
                           ts_wsc_name(c), room, sum.events, sum.last_epoch, sum.last_seq, total,
                           old_epoch, total);
            } else {
                if (sum.lost[TS_WSC_REASON_EPOCH_CHANGED] < 1 ||
                    lost != sum.lost[TS_WSC_REASON_EPOCH_CHANGED] || sum.last_epoch != new_epoch)
                    s_fail(&failures,
                           "%s %s: %zu epoch_changed of %zu recovered:false, last event in "
                           "epoch %" PRIu64 " (want >= 1 epoch_changed, all of them, ending in "
                           "%" PRIu64 ")",
                           ts_wsc_name(c), room, sum.lost[TS_WSC_REASON_EPOCH_CHANGED], lost,
                           sum.last_epoch, new_epoch);
                s_check_epochs(&failures, c, room, old_epoch, new_epoch);
            }
        }
    }
    if (failures > IT_LOUD_MAX)
        fprintf(stderr, "it_resume: ... %d failures in all\n", failures);
    return failures;
}

/* Sorts milliseconds. */
static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Measures recovery after t0. */
void it_crowd_recovery(it_crowd_t *self, uint64_t t0_ms, it_recovery_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t *each = calloc((size_t)self->n, sizeof *each);
    for (int i = 0; i < self->n; i++) {
        ts_wsc_conn_t *c = self->clients[i];
        if (ts_wsc_closes(c) == 0 || ts_wsc_closed_at(c) < t0_ms)
            continue;
        uint64_t resub = 0, caught = 0;
        for (int j = 0; j < self->per; j++) {
            int r = self->rooms[i * self->per + j];
            size_t count = 0;
            const ts_wsc_rec_t *recs = ts_wsc_records(c, it_pacer_room(self->pacer, r), &count);
            uint64_t t_sub = 0, t_live = 0;
            for (size_t k = 0; k < count; k++) {
                const ts_wsc_rec_t *rec = &recs[k];
                if (rec->t_ms < t0_ms)
                    continue;
                if (!t_sub) {
                    if (rec->kind == TS_WSC_REC_SUBSCRIBED && rec->reply && rec->recovered == 1)
                        t_sub = rec->t_ms;
                    continue;
                }
                if (rec->kind == TS_WSC_REC_EVENT &&
                    it_pacer_time(self->pacer, r, rec->n) >= t_sub) {
                    t_live = rec->t_ms;
                    break;
                }
            }
            if (!t_sub)
                continue; /* not resumed: it_crowd_check reports it */
            if (!t_live && count > 0)
                t_live = recs[count - 1].t_ms; /* the pacer stopped first: its last event */
            resub = t_sub > resub ? t_sub : resub;
            caught = t_live > caught ? t_live : caught;
        }
        if (!resub)
            continue;
        each[out->clients] = caught - t0_ms;
        out->clients++;
        out->reconnects += (int)ts_wsc_connections(c) - 1;
        if (resub - t0_ms > out->resubscribed)
            out->resubscribed = resub - t0_ms;
        if (caught - t0_ms > out->settled)
            out->settled = caught - t0_ms;
    }
    if (out->clients > 0) {
        qsort(each, (size_t)out->clients, sizeof *each, s_cmp_u64);
        out->median = each[out->clients / 2];
    }
    free(each);
}

/* The router's epoch from its ready line. */
uint64_t it_router_epoch(it_fabric_t *fab)
{
    ts_proc_t *router = it_fabric_router(fab);
    char *text = router ? ts_proc_log_text(router) : NULL;
    uint64_t epoch = 0;
    const char *ready = text ? strstr(text, "ready:") : NULL;
    const char *p = ready ? strstr(ready, "epoch=") : NULL;
    if (p)
        epoch = strtoull(p + 6, NULL, 10);
    free(text);
    return epoch;
}

/* SIGKILLs an edge. */
int it_kill_edge(it_fabric_t *fab, int idx)
{
    ts_proc_t *edge = it_fabric_edge(fab, idx);
    if (!edge || ts_proc_signal(edge, SIGKILL) != 0)
        return -1;
    return ts_proc_wait(edge, 10000);
}

int it_scenario_start(it_fabric_t *fab, const char *const *router_args, int nedges, uint64_t *epoch,
                      ts_wsc_t **wsc, weft_pub_t **fencer)
{
    if (it_fabric_start_router(fab, router_args) != 0)
        return -1;
    *epoch = it_router_epoch(fab);
    if (*epoch == 0) {
        fprintf(stderr, "it_scenario_start: the router reported no epoch\n");
        return -1;
    }
    for (int i = 0; i < nedges; i++) {
        char id[16];
        snprintf(id, sizeof id, "edge-%d", i + 1);
        if (it_fabric_start_edge(fab, id, NULL) != i)
            return -1;
    }
    *wsc = ts_wsc_new();
    *fencer = *wsc ? weft_pub_new(it_fabric_intake(fab), NULL) : NULL;
    if (!*fencer) {
        fprintf(stderr, "it_scenario_start: out of memory for the clients or the publisher\n");
        return -1;
    }
    return 0;
}

int it_scenario_end(it_fabric_t *fab, weft_pub_t **pub, it_pacer_t **pacer)
{
    weft_pub_destroy(pub);
    if (pacer)
        it_pacer_destroy(pacer);
    return it_fabric_stop_all(fab);
}

void it_scenario_free(it_fabric_t **fab, ts_wsc_t **wsc, weft_pub_t **pub, it_pacer_t **pacer,
                      it_crowd_t **crowds, int ncrowds, int failed)
{
    for (int i = 0; i < ncrowds; i++)
        it_crowd_destroy(&crowds[i]);
    it_pacer_destroy(pacer);
    weft_pub_destroy(pub);
    ts_wsc_destroy(wsc);
    it_fabric_destroy(fab, failed);
}
