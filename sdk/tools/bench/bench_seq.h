/*
 * bench_seq.h: loss and duplicate accounting for one stream of events (one client in one room).
 *
 * The router stamps every event of a room with (epoch, seq), seq counting 1, 2, 3 ... and the edge
 * delivers a room's events in order, so a receiver that knows the next seq it expects can tell a
 * gap (seq jumps ahead: the skipped events are lost), a duplicate (seq at or below what it already
 * has) and a restart (another epoch). A "subscribed" notice with recovered:false and (epoch, seq)
 * says the edge gave up on everything up to seq: those events count as lost too. At the end of a
 * run the bench knows how many events it published into the room, which is the room's last seq,
 * so whatever the stream has not reached by then is lost as well.
 *
 * The state is a small public value type (no pointers) because weft-bench keeps one per client
 * connection, up to 50,000 of them in one array; the functions never allocate.
 */
#ifndef BENCH_SEQ_H
#define BENCH_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* Where one stream stands. Zero-initialised: nothing received yet. */
typedef struct bench_seq {
    uint64_t epoch; /* epoch of the latest event or notice */
    uint64_t next;  /* the seq expected next; 0 until the first event or notice */
} bench_seq_t;

/* Counters that bench_seq_* add to (one set per worker and run). */
typedef struct bench_seq_tally {
    uint64_t delivered;     /* events counted once: new positions in the stream */
    uint64_t lost;          /* events skipped by a seq jump, a notice or the end of the run */
    uint64_t duplicates;    /* events at or below a position already reached */
    uint64_t notices;       /* "subscribed" frames with recovered:false */
    uint64_t epoch_changes; /* events or notices that came with another epoch */
} bench_seq_tally_t;

/*
 * Accounts one received event. Returns true when it is new (count it as a delivery: latency,
 * rate), false for a duplicate. The first event of a stream only sets the position: what came
 * before it (before the client subscribed) is none of this stream's business.
 */
bool bench_seq_event(bench_seq_t *s, uint64_t epoch, uint64_t seq, bench_seq_tally_t *t);

/* Accounts a recovered:false notice: everything up to (epoch, seq) is gone for this stream. */
void bench_seq_notice(bench_seq_t *s, uint64_t epoch, uint64_t seq, bench_seq_tally_t *t);

/* True once the stream has received its first event or notice. */
bool bench_seq_started(const bench_seq_t *s);

/* True when the stream has reached last_seq (the room's final seq in the current epoch). */
bool bench_seq_reached(const bench_seq_t *s, uint64_t last_seq);

/* The events between the stream's position and last_seq it has not received (0 when it is
 * there, or when it never started). Does not move the position: late events still count. */
uint64_t bench_seq_missing(const bench_seq_t *s, uint64_t last_seq);

#endif
