/*
 * test_edge_batch.c: the batching stage with an injected clock: windows (and the earliest one
 * winning), the max size and byte bounds, coalescing by envelope key and by data field, critical
 * and immediate events flushing in order, breaks in the seq sequence, the seq ranges batches
 * state (coalesced seqs included), one-seq flushes sent as plain event frames, and the edge-wide
 * deadline heap across rooms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_batch.h"

#define MS 1000 /* microseconds */
#define CLASSES                                                                                    \
    "status=*.status_changed:200::agent_id; metrics=metrics.*:500:100:agent_id; "                  \
    "logs=log.*:1000; small=small.*:1000:3; zero=zero.*:0"

/* One emitted frame, as recorded. */
typedef struct rec {
    edge_batch_kind_t kind;
    uint64_t epoch, from, to;
    size_t events;
    json_t *json; /* the frame, parsed */
} rec_t;

/* The fixture: classes, a batcher, counters and what was emitted. */
typedef struct fix {
    edge_classes_t *classes;
    edge_batcher_t *batcher;
    edge_batch_stats_t stats;
    rec_t recs[64];
    size_t nrecs;
} fix_t;

/* Emit callback: records the frame. */
static void s_emit(void *arg, const edge_batch_out_t *out)
{
    fix_t *f = arg;
    assert_true(f->nrecs < 64);
    rec_t *r = &f->recs[f->nrecs++];
    r->kind = out->kind;
    r->epoch = out->epoch;
    r->from = out->from_seq;
    r->to = out->to_seq;
    r->events = out->events;
    json_error_t jerr;
    r->json =
        json_loadb((const char *)edge_frame_data(out->frame), edge_frame_len(out->frame), 0, &jerr);
    if (!r->json)
        fail_msg("emitted frame is not JSON: %s", jerr.text);
}

/* Sets up a fixture with max_bytes. */
static fix_t *s_fix(size_t max_bytes)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[256];
    f->classes = edge_classes_parse(CLASSES, 100, err, sizeof err);
    if (!f->classes)
        fail_msg("%s", err);
    f->batcher = edge_batcher_new(f->classes, max_bytes, &f->stats);
    assert_non_null(f->batcher);
    return f;
}

/* Frees a fixture (its batches must be gone). */
static void s_unfix(fix_t *f)
{
    for (size_t i = 0; i < f->nrecs; i++)
        json_decref(f->recs[i].json);
    edge_batcher_destroy(&f->batcher);
    edge_classes_destroy(&f->classes);
    free(f);
}

/* Adds one event (epoch 7) of type with an envelope key (or NULL) and data at now_ms. */
static bool s_add(edge_batch_t *b, uint64_t seq, const char *type, const char *key,
                  const char *data, bool critical, int64_t now_ms)
{
    wire_header_t h = {
        .kind = WIRE_KIND_EVENT,
        .flags = critical ? WIRE_FLAG_CRITICAL : 0,
        .ts_ns = 1000 + seq,
        .epoch = 7,
        .seq = seq,
        .pub_id = "p",
        .pub_id_len = 1,
        .type = type,
        .type_len = (uint8_t)strlen(type),
        .key = key,
        .key_len = key ? (uint8_t)strlen(key) : 0,
    };
    const char *payload = data ? data : "{}";
    edge_event_t ev = {.epoch = 7, .seq = seq};
    ev.frame = edge_frame_event("room:1", 6, &h, payload, strlen(payload));
    assert_non_null(ev.frame);
    bool held = edge_batch_add(b, &ev, now_ms * MS);
    /* The batch keeps its own reference while it holds the event. */
    edge_frame_unref(&ev.frame);
    return held;
}

/* The seqs of a recorded frame's events, as "1,2,3" (an event frame gives its own seq). */
static const char *s_seqs(const rec_t *r)
{
    static char buf[256];
    buf[0] = '\0';
    const char *op = json_string_value(json_object_get(r->json, "op"));
    if (strcmp(op, "event") == 0) {
        snprintf(buf, sizeof buf, "%lld",
                 (long long)json_integer_value(json_object_get(r->json, "seq")));
        return buf;
    }
    json_t *events = json_object_get(r->json, "events");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%lld", i ? "," : "",
                 (long long)json_integer_value(json_object_get(ev, "seq")));
    }
    return buf;
}

/* Checks a recorded batch frame: op, room, epoch and range in the JSON and the record. */
static void s_check_batch(const rec_t *r, uint64_t from, uint64_t to, const char *seqs)
{
    assert_int_equal(r->kind, EDGE_BATCH_FLUSH);
    assert_string_equal(json_string_value(json_object_get(r->json, "op")), "batch");
    assert_string_equal(json_string_value(json_object_get(r->json, "room")), "room:1");
    assert_int_equal(json_integer_value(json_object_get(r->json, "epoch")), 7);
    assert_int_equal(json_integer_value(json_object_get(r->json, "from_seq")), from);
    assert_int_equal(json_integer_value(json_object_get(r->json, "to_seq")), to);
    assert_int_equal(r->from, from);
    assert_int_equal(r->to, to);
    assert_int_equal(r->epoch, 7);
    assert_string_equal(s_seqs(r), seqs);
    assert_int_equal(r->events, json_array_size(json_object_get(r->json, "events")));
}

static void test_immediate_passes(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    assert_non_null(b);
    assert_false(s_add(b, 1, "task.progress", NULL, "{\"pct\":1}", false, 0));
    assert_false(s_add(b, 2, "zero.x", NULL, NULL, false, 0)); /* window 0: immediate */
    assert_int_equal(f->nrecs, 2);
    assert_int_equal(f->recs[0].kind, EDGE_BATCH_EVENT);
    assert_string_equal(json_string_value(json_object_get(f->recs[0].json, "op")), "event");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(f->recs[0].json, "data"), "pct")), 1);
    assert_int_equal(f->recs[1].from, 2);
    assert_int_equal(edge_batch_pending(b), 0);
    assert_true(edge_batcher_deadline(f->batcher) == INT64_MAX);
    assert_int_equal(f->stats.immediate, 2);
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_IMMEDIATE], 0); /* nothing was pending */
    edge_batch_destroy(&b);
    assert_null(b);
    s_unfix(f);
}

static void test_window(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    /* One status change at t=10 ms waits 200 ms. */
    assert_true(s_add(b, 1, "agent.status_changed", NULL, "{\"s\":1}", false, 10));
    assert_int_equal(edge_batch_pending(b), 1);
    assert_true(edge_batcher_deadline(f->batcher) == 210 * MS);
    assert_int_equal(edge_batcher_run(f->batcher, 210 * MS - 1), 0);
    assert_int_equal(f->nrecs, 0);
    assert_int_equal(edge_batcher_run(f->batcher, 210 * MS), 1);
    /* A flush of one seq is that event's own frame. */
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].kind, EDGE_BATCH_FLUSH);
    assert_string_equal(json_string_value(json_object_get(f->recs[0].json, "op")), "event");
    assert_int_equal(f->recs[0].from, 1);
    assert_int_equal(f->recs[0].to, 1);
    assert_int_equal(f->stats.singles, 1);
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_WINDOW], 1);
    assert_true(edge_batcher_deadline(f->batcher) == INT64_MAX);

    /* A log line (1 s) then a status change (200 ms) 100 ms later: due at 300 ms, the
     * earliest of the two; both go in one batch, in seq order. */
    assert_true(s_add(b, 2, "log.line", NULL, "{\"n\":2}", false, 1000));
    assert_true(edge_batcher_deadline(f->batcher) == 2000 * MS);
    assert_true(s_add(b, 3, "agent.status_changed", NULL, "{\"s\":3}", false, 1100));
    assert_true(edge_batcher_deadline(f->batcher) == 1300 * MS);
    /* A later, more patient event does not postpone it. */
    assert_true(s_add(b, 4, "log.line", NULL, "{\"n\":4}", false, 1200));
    assert_true(edge_batcher_deadline(f->batcher) == 1300 * MS);
    assert_int_equal(edge_batcher_run(f->batcher, 1299 * MS), 0);
    assert_int_equal(edge_batcher_run(f->batcher, 1300 * MS), 1);
    assert_int_equal(f->nrecs, 2);
    s_check_batch(&f->recs[1], 2, 4, "2,3,4");
    /* Entries carry the event's own fields, copied from the event frame. */
    json_t *e0 = json_array_get(json_object_get(f->recs[1].json, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "type")), "log.line");
    assert_int_equal(json_integer_value(json_object_get(e0, "ts")), 1002);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e0, "data"), "n")), 2);
    assert_null(json_object_get(e0, "room"));
    assert_int_equal(f->stats.batches, 1);
    assert_int_equal(f->stats.batched_events, 3);
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_max_and_bytes(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    /* Class "small" allows 3 events: the third flushes at once. */
    assert_true(s_add(b, 1, "small.a", NULL, NULL, false, 0));
    assert_true(s_add(b, 2, "log.line", NULL, NULL, false, 0));
    assert_int_equal(f->nrecs, 0);
    assert_true(s_add(b, 3, "log.line", NULL, NULL, false, 0));
    assert_int_equal(f->nrecs, 1);
    s_check_batch(&f->recs[0], 1, 3, "1,2,3");
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_MAX], 1);
    assert_int_equal(edge_batch_pending(b), 0);
    assert_true(edge_batcher_deadline(f->batcher) == INT64_MAX);
    edge_batch_destroy(&b);
    s_unfix(f);

    /* Bytes: each entry of these events takes about 60 bytes; 150 fit two. */
    f = s_fix(150);
    b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    assert_true(s_add(b, 1, "log.line", NULL, "{\"n\":1}", false, 0));
    assert_true(s_add(b, 2, "log.line", NULL, "{\"n\":2}", false, 0));
    assert_int_equal(f->nrecs, 0);
    assert_true(s_add(b, 3, "log.line", NULL, "{\"n\":3}", false, 0));
    assert_int_equal(f->nrecs, 1);
    s_check_batch(&f->recs[0], 1, 2, "1,2");
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_BYTES], 1);
    assert_int_equal(edge_batch_pending(b), 1);
    /* One event bigger than the bound goes out alone, after what was pending. */
    char big[400];
    snprintf(big, sizeof big, "{\"pad\":\"%0300d\"}", 0);
    assert_true(s_add(b, 4, "log.line", NULL, big, false, 0));
    assert_int_equal(f->nrecs, 3);
    assert_string_equal(s_seqs(&f->recs[1]), "3");
    assert_string_equal(s_seqs(&f->recs[2]), "4");
    assert_int_equal(f->recs[2].kind, EDGE_BATCH_FLUSH);
    assert_int_equal(edge_batch_pending(b), 0);
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_coalesce_envelope_key(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    assert_true(s_add(b, 1, "metrics.cpu", "a1", "{\"v\":1}", false, 0));
    assert_true(s_add(b, 2, "metrics.cpu", "a2", "{\"v\":2}", false, 0));
    assert_true(s_add(b, 3, "metrics.mem", "a1", "{\"v\":3}", false, 0));
    assert_true(s_add(b, 4, "metrics.cpu", "a1", "{\"v\":4}", false, 0)); /* replaces 1 */
    assert_true(s_add(b, 5, "metrics.cpu", "a2", "{\"v\":5}", false, 0)); /* replaces 2 */
    assert_true(s_add(b, 6, "metrics.cpu", "a1", "{\"v\":6}", false, 0)); /* replaces 4 */
    assert_int_equal(edge_batch_pending(b), 6);
    assert_int_equal(edge_batch_pending_events(b), 3);
    assert_int_equal(f->stats.coalesced, 3);
    edge_batcher_run(f->batcher, 500 * MS);
    assert_int_equal(f->nrecs, 1);
    /* The range covers every seq; only the newest per (type, key) is in it, in seq order. */
    s_check_batch(&f->recs[0], 1, 6, "3,5,6");
    json_t *last = json_array_get(json_object_get(f->recs[0].json, "events"), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "data"), "v")), 6);

    /* Coalesced down to one event the batch still says what it covers: a batch frame, not an
     * event frame, so a cursor moves to 9. The last entry is always to_seq. */
    assert_true(s_add(b, 7, "metrics.cpu", "a1", NULL, false, 1000));
    assert_true(s_add(b, 8, "metrics.cpu", "a1", NULL, false, 1000));
    assert_true(s_add(b, 9, "metrics.cpu", "a1", NULL, false, 1000));
    edge_batch_flush(b, EDGE_BATCH_WHY_FORCED);
    s_check_batch(&f->recs[1], 7, 9, "9");
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_FORCED], 1);

    /* A class without a key never coalesces, even with an envelope key. */
    assert_true(s_add(b, 10, "log.line", "k", NULL, false, 2000));
    assert_true(s_add(b, 11, "log.line", "k", NULL, false, 2000));
    edge_batch_flush(b, EDGE_BATCH_WHY_FORCED);
    s_check_batch(&f->recs[2], 10, 11, "10,11");
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_coalesce_data_field(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    /* No envelope key: the class's field agent_id identifies the subject (string or integer). */
    assert_true(
        s_add(b, 1, "agent.status_changed", NULL, "{\"agent_id\":\"x\",\"s\":1}", false, 0));
    assert_true(s_add(b, 2, "agent.status_changed", NULL, "{\"agent_id\":7,\"s\":2}", false, 0));
    assert_true(
        s_add(b, 3, "agent.status_changed", NULL, "{\"s\":3,\"agent_id\":\"x\"}", false, 0));
    assert_true(s_add(b, 4, "agent.status_changed", NULL, "{\"agent_id\":7}", false, 0));
    /* No usable key: kept (a missing field, an object value, a nested field). */
    assert_true(s_add(b, 5, "agent.status_changed", NULL, "{\"s\":5}", false, 0));
    assert_true(s_add(b, 6, "agent.status_changed", NULL, "{\"s\":6}", false, 0));
    assert_true(s_add(b, 7, "agent.status_changed", NULL, "{\"agent_id\":{\"a\":1}}", false, 0));
    assert_true(
        s_add(b, 8, "agent.status_changed", NULL, "{\"x\":{\"agent_id\":\"x\"}}", false, 0));
    /* The envelope key wins over the field: same field, different envelope keys. */
    assert_true(s_add(b, 9, "agent.status_changed", "e1", "{\"agent_id\":\"x\"}", false, 0));
    assert_true(s_add(b, 10, "agent.status_changed", "e2", "{\"agent_id\":\"x\"}", false, 0));
    /* An envelope key equal to a field value names the same subject. */
    assert_true(s_add(b, 11, "agent.status_changed", "x", NULL, false, 0));
    edge_batcher_run(f->batcher, 200 * MS);
    assert_int_equal(f->nrecs, 1);
    s_check_batch(&f->recs[0], 1, 11, "4,5,6,7,8,9,10,11");
    assert_int_equal(f->stats.coalesced, 3); /* 1, 2 and 3 */
    assert_int_equal(f->stats.keyless, 4);
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_critical_and_immediate_order(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    assert_true(s_add(b, 1, "log.line", NULL, NULL, false, 0));
    assert_true(s_add(b, 2, "metrics.cpu", "a", NULL, false, 0));
    /* A critical event of a batching class: the pending batch first, then it, at once. */
    assert_false(s_add(b, 3, "log.line", NULL, "{\"bad\":true}", true, 1));
    assert_int_equal(f->nrecs, 2);
    s_check_batch(&f->recs[0], 1, 2, "1,2");
    assert_int_equal(f->recs[1].kind, EDGE_BATCH_EVENT);
    assert_int_equal(f->recs[1].from, 3);
    assert_true(json_is_true(json_object_get(f->recs[1].json, "critical")));
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_CRITICAL], 1);
    assert_true(edge_batcher_deadline(f->batcher) == INT64_MAX);
    /* An immediate event flushes the same way; a lone pending event goes as its own frame. */
    assert_true(s_add(b, 4, "metrics.cpu", "a", NULL, false, 2));
    assert_false(s_add(b, 5, "task.done", NULL, NULL, false, 3));
    assert_int_equal(f->nrecs, 4);
    assert_int_equal(f->recs[2].kind, EDGE_BATCH_FLUSH);
    assert_string_equal(s_seqs(&f->recs[2]), "4");
    assert_int_equal(f->recs[3].kind, EDGE_BATCH_EVENT);
    assert_string_equal(s_seqs(&f->recs[3]), "5");
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_IMMEDIATE], 1);
    /* Over everything emitted, seqs come out in order, each once. */
    uint64_t next = 1;
    for (size_t i = 0; i < f->nrecs; i++) {
        assert_int_equal(f->recs[i].from, next);
        next = f->recs[i].to + 1;
    }
    assert_int_equal(next, 6);
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_breaks(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *b = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
    assert_true(s_add(b, 1, "log.line", NULL, NULL, false, 0));
    assert_true(s_add(b, 2, "log.line", NULL, NULL, false, 0));
    /* A seq that does not continue the batch (the stream announced a jump between). */
    assert_true(s_add(b, 5, "log.line", NULL, NULL, false, 0));
    assert_int_equal(f->nrecs, 1);
    s_check_batch(&f->recs[0], 1, 2, "1,2");
    assert_int_equal(f->stats.flushes[EDGE_BATCH_WHY_BREAK], 1);
    assert_int_equal(edge_batch_pending(b), 1);
    /* Another epoch breaks it too. */
    wire_header_t h = {.kind = WIRE_KIND_EVENT,
                       .epoch = 8,
                       .seq = 1,
                       .type = "log.line",
                       .type_len = 8,
                       .pub_id = "p",
                       .pub_id_len = 1};
    edge_event_t ev = {.epoch = 8, .seq = 1};
    ev.frame = edge_frame_event("room:1", 6, &h, "{}", 2);
    assert_true(edge_batch_add(b, &ev, 0));
    edge_frame_unref(&ev.frame);
    assert_int_equal(f->nrecs, 2);
    assert_int_equal(f->recs[1].epoch, 7);
    assert_string_equal(s_seqs(&f->recs[1]), "5");
    /* A frame that is not an event frame passes through (after a break). */
    ev.frame = edge_frame_from("{\"op\":\"x\"}", 10);
    ev.seq = 2;
    assert_false(edge_batch_add(b, &ev, 0));
    edge_frame_unref(&ev.frame);
    assert_int_equal(f->nrecs, 4);
    assert_int_equal(f->recs[2].epoch, 8);
    assert_int_equal(f->recs[3].kind, EDGE_BATCH_EVENT);
    /* Flushing nothing emits nothing. */
    edge_batch_flush(b, EDGE_BATCH_WHY_FORCED);
    assert_int_equal(f->nrecs, 4);
    edge_batch_destroy(&b);
    s_unfix(f);
}

static void test_rooms_share_one_heap(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    edge_batch_t *rooms[5];
    for (int i = 0; i < 5; i++) {
        rooms[i] = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
        assert_non_null(rooms[i]);
    }
    assert_null(edge_batch_new(f->batcher, "bad room", 8, s_emit, f));
    /* Deadlines 1000, 500, 200(+50), 1000(+10), and room 4 destroyed while pending. */
    s_add(rooms[0], 1, "log.line", NULL, NULL, false, 0);
    s_add(rooms[1], 1, "metrics.cpu", NULL, NULL, false, 0);
    s_add(rooms[2], 1, "agent.status_changed", NULL, NULL, false, 50);
    s_add(rooms[3], 1, "log.line", NULL, NULL, false, 10);
    s_add(rooms[4], 1, "agent.status_changed", NULL, NULL, false, 0);
    assert_int_equal(edge_batcher_pending(f->batcher), 5);
    assert_true(edge_batcher_deadline(f->batcher) == 200 * MS);
    edge_batch_destroy(&rooms[4]); /* no emit, leaves the heap */
    assert_int_equal(edge_batcher_pending(f->batcher), 4);
    assert_int_equal(f->nrecs, 0);
    assert_true(edge_batcher_deadline(f->batcher) == 250 * MS);
    assert_int_equal(edge_batcher_run(f->batcher, 600 * MS), 2); /* rooms 2 and 1 */
    assert_true(edge_batcher_deadline(f->batcher) == 1000 * MS);
    assert_int_equal(edge_batcher_run(f->batcher, 5000 * MS), 2);
    assert_int_equal(f->nrecs, 4);
    assert_int_equal(edge_batcher_pending(f->batcher), 0);
    /* A pending batch destroyed with its room: nothing leaks, nothing is emitted. */
    s_add(rooms[0], 2, "log.line", NULL, NULL, false, 6000);
    for (int i = 0; i < 4; i++)
        edge_batch_destroy(&rooms[i]);
    assert_int_equal(f->nrecs, 4);
    assert_true(edge_batcher_deadline(f->batcher) == INT64_MAX);
    s_unfix(f);
}

/* Many rooms with scattered deadlines come out in deadline order. */
static void test_heap_order(void **state)
{
    (void)state;
    fix_t *f = s_fix(1 << 20);
    enum { N = 40 };
    edge_batch_t *rooms[N];
    for (int i = 0; i < N; i++) {
        rooms[i] = edge_batch_new(f->batcher, "room:1", 6, s_emit, f);
        /* Arrival times scattered: (i * 37) % 100 ms; all in the 1 s log class. */
        s_add(rooms[i], (uint64_t)i + 1, "log.line", NULL, NULL, false, (i * 37) % 100);
    }
    int64_t last = -1;
    for (int i = 0; i < N; i++) {
        int64_t due = edge_batcher_deadline(f->batcher);
        assert_true(due >= last);
        last = due;
        size_t before = f->nrecs;
        assert_true(edge_batcher_run(f->batcher, due) >= 1);
        i += (int)(f->nrecs - before) - 1;
    }
    assert_int_equal(f->nrecs, N);
    for (int i = 0; i < N; i++)
        edge_batch_destroy(&rooms[i]);
    s_unfix(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_immediate_passes),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_max_and_bytes),
        cmocka_unit_test(test_coalesce_envelope_key),
        cmocka_unit_test(test_coalesce_data_field),
        cmocka_unit_test(test_critical_and_immediate_order),
        cmocka_unit_test(test_breaks),
        cmocka_unit_test(test_rooms_share_one_heap),
        cmocka_unit_test(test_heap_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
