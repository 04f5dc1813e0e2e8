/*
 * bench_seq.c: per-stream loss and duplicate accounting (see bench_seq.h).
 */
#include "bench_seq.h"

bool bench_seq_event(bench_seq_t *s, uint64_t epoch, uint64_t seq, bench_seq_tally_t *t)
{
    if (s->next == 0 || epoch != s->epoch) {
        /* First event, or the router restarted: a new epoch's seqs start again at 1, and what
         * the old epoch still owed is reported by the edge's recovered:false notice. */
        if (s->next != 0)
            t->epoch_changes++;
        s->epoch = epoch;
        s->next = seq + 1;
        t->delivered++;
        return true;
    }
    if (seq < s->next) {
        t->duplicates++;
        return false;
    }
    t->lost += seq - s->next;
    s->next = seq + 1;
    t->delivered++;
    return true;
}

void bench_seq_notice(bench_seq_t *s, uint64_t epoch, uint64_t seq, bench_seq_tally_t *t)
{
    t->notices++;
    if (s->next != 0 && epoch == s->epoch) {
        if (seq >= s->next) {
            t->lost += seq - s->next + 1;
            s->next = seq + 1;
        }
        return;
    }
    if (s->next != 0)
        t->epoch_changes++;
    s->epoch = epoch;
    s->next = seq + 1;
}

bool bench_seq_started(const bench_seq_t *s)
{
    return s->next != 0;
}

bool bench_seq_reached(const bench_seq_t *s, uint64_t last_seq)
{
    return s->next != 0 && s->next > last_seq;
}

uint64_t bench_seq_missing(const bench_seq_t *s, uint64_t last_seq)
{
    if (s->next == 0 || s->next > last_seq)
        return 0;
    return last_seq - s->next + 1;
}
