/*
 * bench_acct.c: per-worker delivery accounting and the worker's side of the control protocol
 * (see bench_acct.h).
 */
#include "bench_acct.h"

#include <stdlib.h>
#include <string.h>

#define STREAM_ALIVE 0x1  /* subscribed on an open connection */
#define STREAM_PRIMED 0x2 /* counted in `primed`: alive and has received an event */

struct bench_acct {
    bench_ctl_t *ctl;          /* the shared control block */
    bench_worker_slot_t *slot; /* this worker's slot in it */
    size_t n;                  /* streams */
    uint32_t *room;            /* room index of each stream */
    bench_seq_t *pos;          /* position of each stream */
    uint8_t *flags;            /* STREAM_* of each stream */
    uint64_t *final;           /* per room: final seq of the run being drained (copied) */
    int run;                   /* the run being accumulated (0: none yet) */
    int drain;                 /* the run being drained, 0 when not draining */
    int finished;              /* the latest run whose result was published */
    uint64_t subscribed;       /* alive streams */
    uint64_t primed;           /* alive streams that have received an event */
    uint64_t pending;          /* while draining: alive streams short of their final seq */
    uint64_t window_start;     /* cached ctl->window_start_ns */
    uint64_t window_end;       /* cached ctl->window_end_ns */
    bench_result_t cur;        /* the current run's result */
};

bench_acct_t *bench_acct_new(bench_ctl_t *ctl, int worker, size_t nstreams,
                             const uint32_t *stream_room)
{
    bench_acct_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctl = ctl;
    self->slot = &ctl->workers[worker];
    self->n = nstreams;
    self->room = malloc((nstreams ? nstreams : 1) * sizeof *self->room);
    self->pos = calloc(nstreams ? nstreams : 1, sizeof *self->pos);
    self->flags = calloc(nstreams ? nstreams : 1, 1);
    self->final = calloc(ctl->nrooms ? ctl->nrooms : 1, sizeof *self->final);
    if (!self->room || !self->pos || !self->flags || !self->final) {
        bench_acct_destroy(&self);
        return NULL;
    }
    if (nstreams)
        memcpy(self->room, stream_room, nstreams * sizeof *self->room);
    self->window_start = UINT64_MAX;
    self->window_end = UINT64_MAX;
    return self;
}

void bench_acct_destroy(bench_acct_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_acct_t *self = *self_p;
    free(self->room);
    free(self->pos);
    free(self->flags);
    free(self->final);
    free(self);
    *self_p = NULL;
}

bench_result_t *bench_acct_result(bench_acct_t *self)
{
    return &self->cur;
}

/* True while draining and stream has not reached its room's final seq. */
static bool s_short(const bench_acct_t *self, size_t i)
{
    return self->drain && !bench_seq_reached(&self->pos[i], self->final[self->room[i]]);
}

void bench_acct_alive(bench_acct_t *self, size_t i)
{
    if (self->flags[i] & STREAM_ALIVE)
        return;
    self->flags[i] |= STREAM_ALIVE;
    self->subscribed++;
    if (bench_seq_started(&self->pos[i])) {
        self->flags[i] |= STREAM_PRIMED;
        self->primed++;
    }
    if (s_short(self, i))
        self->pending++;
}

void bench_acct_dead(bench_acct_t *self, size_t i)
{
    if (!(self->flags[i] & STREAM_ALIVE))
        return;
    if (s_short(self, i))
        self->pending--;
    if (self->flags[i] & STREAM_PRIMED)
        self->primed--;
    self->subscribed--;
    self->flags[i] = 0;
}

void bench_acct_restart(bench_acct_t *self, size_t i)
{
    bench_acct_dead(self, i);
    memset(&self->pos[i], 0, sizeof self->pos[i]);
}

void bench_acct_event(bench_acct_t *self, size_t i, uint64_t epoch, uint64_t seq, uint64_t ts_ns,
                      uint64_t now_ns, bool critical)
{
    bench_seq_t *s = &self->pos[i];
    bool was_short = s_short(self, i);
    if (!bench_seq_event(s, epoch, seq, &self->cur.seq))
        return;
    uint8_t f = self->flags[i];
    if ((f & (STREAM_ALIVE | STREAM_PRIMED)) == STREAM_ALIVE) {
        self->flags[i] = f | STREAM_PRIMED;
        self->primed++;
    }
    if (now_ns >= self->window_start && now_ns < self->window_end)
        self->cur.window_events++;
    if (critical)
        self->cur.critical++;
    if (ts_ns >= self->window_start && ts_ns < self->window_end) {
        uint64_t lat = now_ns > ts_ns ? now_ns - ts_ns : 0;
        bench_hist_record(&self->cur.latency, lat);
        if (critical)
            bench_hist_record(&self->cur.critical_latency, lat);
    }
    if (was_short && (f & STREAM_ALIVE) && !s_short(self, i))
        self->pending--;
}

void bench_acct_notice(bench_acct_t *self, size_t i, uint64_t epoch, uint64_t seq)
{
    bool was_short = s_short(self, i);
    bench_seq_notice(&self->pos[i], epoch, seq, &self->cur.seq);
    if (was_short && (self->flags[i] & STREAM_ALIVE) && !s_short(self, i))
        self->pending--;
}

void bench_acct_frame(bench_acct_t *self, bool batch, uint64_t now_ns)
{
    self->cur.frames++;
    if (batch)
        self->cur.batch_frames++;
    if (now_ns >= self->window_start && now_ns < self->window_end)
        self->cur.window_frames++;
}

/* Starts draining: copies the final seqs and counts the alive streams still short of them. */
static void s_start_drain(bench_acct_t *self, int run)
{
    for (size_t r = 0; r < self->ctl->nrooms; r++)
        self->final[r] = atomic_load_explicit(&self->ctl->final_seq[r], memory_order_relaxed);
    self->drain = run;
    self->pending = 0;
    for (size_t i = 0; i < self->n; i++)
        if ((self->flags[i] & STREAM_ALIVE) && s_short(self, i))
            self->pending++;
}

/* Ends the run: whatever a stream has not reached is lost, then the result goes to the parent. */
static void s_finish(bench_acct_t *self, int run)
{
    for (size_t i = 0; i < self->n; i++) {
        bench_seq_t *s = &self->pos[i];
        uint64_t last = self->final[self->room[i]];
        uint64_t missing = bench_seq_missing(s, last);
        self->cur.seq.lost += missing;
        /* Move on, so that the next run does not count the same events again; any of them that
         * still arrives later counts as a duplicate there. */
        if (missing)
            s->next = last + 1;
    }
    memcpy(&self->slot->result, &self->cur, sizeof self->cur);
    atomic_store_explicit(&self->slot->done_run, run, memory_order_release);
    self->finished = run;
    self->drain = 0;
    self->pending = 0;
}

void bench_acct_tick(bench_acct_t *self)
{
    bench_ctl_t *ctl = self->ctl;
    int run = atomic_load_explicit(&ctl->run, memory_order_acquire);
    if (run != self->run) {
        self->run = run;
        self->drain = 0;
        memset(&self->cur, 0, sizeof self->cur);
    }
    if (run) {
        int drain = atomic_load_explicit(&ctl->drain_run, memory_order_acquire);
        if (drain == run && self->drain != run && self->finished != run)
            s_start_drain(self, run);
        int fin = atomic_load_explicit(&ctl->finish_run, memory_order_acquire);
        if (fin == run && self->finished != run) {
            if (self->drain != run)
                s_start_drain(self, run); /* finish implies the final seqs are set */
            s_finish(self, run);
        }
    }
    self->window_start = atomic_load_explicit(&ctl->window_start_ns, memory_order_relaxed);
    self->window_end = atomic_load_explicit(&ctl->window_end_ns, memory_order_relaxed);
    atomic_store_explicit(&self->slot->subscribed, self->subscribed, memory_order_relaxed);
    atomic_store_explicit(&self->slot->primed, self->primed, memory_order_relaxed);
    atomic_store_explicit(&self->slot->pending, self->pending, memory_order_relaxed);
    atomic_store_explicit(&self->slot->drained_run, self->drain, memory_order_release);
    atomic_store_explicit(&self->slot->seen_run, self->run, memory_order_release);
}
