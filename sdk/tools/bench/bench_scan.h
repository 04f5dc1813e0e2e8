/*
 * bench_scan.h: reads the fields weft-bench needs from the edge's JSON frames, without a parser.
 *
 * The edge writes its frames with a fixed field order (docs/protocol.md section 3):
 *   {"op":"event","room":R,"epoch":E,"seq":S,"type":T,"ts":TS,"data":{...}}
 *   {"op":"batch","room":R,"epoch":E,"from_seq":A,"to_seq":B,"events":[{"seq":S,"type":T,
 *    "ts":TS,"data":{...}},...]}
 *   {"op":"subscribed","room":R,"recovered":false,"epoch":E,"seq":H,"reason":...}
 * A critical event carries ,"critical":true after "data" (the edge appends it before the closing
 * brace); a batch never holds a critical event.
 * A full JSON parse of every event would cost the bench more CPU than the edge spends sending it.
 * The scanner walks the members of the top-level object instead (any order is accepted, so a
 * reordered frame still scans), reads the few keys it knows, skips every other value with a
 * string- and nesting-aware skipper, and stops as soon as it has what the operation needs. For an
 * event that is the end of the object, because the critical flag comes after "data": the payload
 * is skipped (strings with memchr), never parsed, and a "critical" key inside it is not the flag;
 * only the top-level member counts. Nothing allocates; the results point into the frame.
 */
#ifndef BENCH_SCAN_H
#define BENCH_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* What a frame is. */
typedef enum bench_op {
    BENCH_OP_OTHER = 0,    /* an op the bench does not care about (or none) */
    BENCH_OP_EVENT,        /* "event" */
    BENCH_OP_BATCH,        /* "batch": several events of one room */
    BENCH_OP_SUBSCRIBED,   /* "subscribed" */
    BENCH_OP_UNSUBSCRIBED, /* "unsubscribed" */
    BENCH_OP_WELCOME,      /* "welcome" */
    BENCH_OP_PONG,         /* "pong" */
    BENCH_OP_ERROR,        /* "error" */
    BENCH_OP_POSITION,     /* "position": a room's position when it was new to the edge */
} bench_op_t;

/* The fields of one frame that the bench uses. */
typedef struct bench_msg {
    bench_op_t op;      /* which frame */
    const char *room;   /* "room" (not NUL-terminated), NULL when absent */
    size_t room_len;    /* its length */
    uint64_t epoch;     /* "epoch" (0 when absent) */
    uint64_t seq;       /* "seq" of an event or a subscribed notice (0 when absent) */
    uint64_t ts;        /* "ts" of an event (0 when absent) */
    int recovered;      /* "recovered" of subscribed: 1 true, 0 false, -1 absent */
    int critical;       /* 1 when the top-level member "critical" is true (critical event) */
    const char *events; /* batch: the '[' that starts "events" */
    const char *end;    /* one past the frame's last byte */
} bench_msg_t;

/* Scans one text frame. Returns 0, or -1 when it is not a JSON object of the expected shape
 * (for instance an event without seq or ts, or a batch without events). */
int bench_scan(const char *buf, size_t len, bench_msg_t *msg);

/* Walks the events of a batch; start from bench_batch_begin(). */
typedef struct bench_batch_it {
    const char *p;   /* next byte to read */
    const char *end; /* end of the frame */
    int started;     /* 1 once the first event was read (later ones follow a comma) */
} bench_batch_it_t;

/* Positions it at the first event of msg (a BENCH_OP_BATCH). */
void bench_batch_begin(bench_batch_it_t *it, const bench_msg_t *msg);

/* Reads the next event's seq and ts, and whether the entry has a member "critical":true (the
 * edge never batches a critical event; the bench counts one if it did). critical may be NULL.
 * Returns 1 with them set, 0 after the last event, -1 when the array is malformed (or an event
 * lacks seq or ts). */
int bench_batch_next(bench_batch_it_t *it, uint64_t *seq, uint64_t *ts, int *critical);

#endif
