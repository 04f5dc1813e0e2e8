/*
 * edge_batch.c: per-room pending batches and the edge-wide deadline heap (see edge_batch.h).
 *
 * A pending batch is an array of entries in seq order, each holding a reference to its event
 * frame; a coalesced entry is removed at once (memmove), so the array never holds more than a
 * batch's max events and the batch frame is built from it in one pass. The type and the
 * envelope's key are read from the frame (edge_frame_info()); only a key taken from the data
 * needs its own copy.
 *
 * Why a heap: thousands of rooms may have a batch pending, each with its own deadline; a binary
 * heap keyed by deadline gives the earliest in O(1) and updates in O(log n), and the edge keeps
 * one timer for all of them. Its capacity is reserved when a batch is created, so inserting a
 * deadline can never fail for lack of memory.
 */
#include "edge_batch.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_envelope.h"

#define S_NOT_QUEUED SIZE_MAX /* heap index of a batch without a deadline */
#define S_INITIAL_ENTRIES 8

/* One held event. */
typedef struct s_entry {
    uint64_t seq;            /* its room seq */
    edge_frame_t *frame;     /* its event frame (a reference) */
    const char *type;        /* its type, inside frame */
    size_t type_len;         /* bytes of type */
    const char *key;         /* its coalesce key inside frame, or NULL (see own_key) */
    size_t key_len;          /* bytes of the key; 0 = not coalesced */
    size_t item_len;         /* bytes it adds to a batch frame */
    bool own_key;            /* the key is in fkey (taken from the data), not in the frame */
    char fkey[WIRE_KEY_MAX]; /* the key taken from the data */
} s_entry_t;

struct edge_batch {
    edge_batcher_t *batcher;      /* the edge's batcher */
    edge_batch_emit_fn *emit;     /* where frames go */
    void *arg;                    /* for emit */
    s_entry_t *entries;           /* held events, oldest first */
    size_t count;                 /* entries in use */
    size_t cap;                   /* entries allocated */
    uint64_t epoch;               /* epoch of the pending batch */
    uint64_t from_seq;            /* first seq it accounts for */
    uint64_t to_seq;              /* last seq it accounts for */
    bool pending;                 /* a batch is pending (from_seq..to_seq valid) */
    size_t max;                   /* smallest max among its events' classes */
    size_t bytes;                 /* bytes its entries take in a batch frame */
    int64_t deadline;             /* when it is due */
    size_t heap_idx;              /* position in the batcher's heap, or S_NOT_QUEUED */
    size_t room_len;              /* bytes in room */
    char room[WIRE_ROOM_MAX + 1]; /* the room, NUL-terminated */
};

struct edge_batcher {
    const edge_classes_t *classes; /* borrowed; NULL = every event immediate */
    size_t max_bytes;              /* bound on a batch's entries in bytes */
    edge_batch_stats_t *stats;     /* borrowed counters */
    edge_batch_t **heap;           /* pending batches, a min-heap on deadline */
    size_t heap_len;               /* batches in the heap */
    size_t heap_cap;               /* slots allocated: at least one per live batch */
    size_t nbatches;               /* live batches */
    edge_frame_t **scratch;        /* the frames of the batch being built */
    size_t scratch_cap;            /* slots in scratch */
};

static const char *const s_why_names[EDGE_BATCH_WHY__COUNT] = {
    [EDGE_BATCH_WHY_WINDOW] = "window",     [EDGE_BATCH_WHY_MAX] = "max",
    [EDGE_BATCH_WHY_BYTES] = "bytes",       [EDGE_BATCH_WHY_IMMEDIATE] = "immediate",
    [EDGE_BATCH_WHY_CRITICAL] = "critical", [EDGE_BATCH_WHY_BREAK] = "break",
    [EDGE_BATCH_WHY_FORCED] = "forced",
};

const char *edge_batch_why_name(edge_batch_why_t why)
{
    return (unsigned)why < EDGE_BATCH_WHY__COUNT ? s_why_names[why] : "unknown";
}

/* ---- the deadline heap ------------------------------------------------------------------- */

/* Puts b at heap slot i. */
static void s_heap_set(edge_batcher_t *self, size_t i, edge_batch_t *b)
{
    self->heap[i] = b;
    b->heap_idx = i;
}

/* Moves the batch at i up while its deadline is earlier than its parent's. */
static void s_heap_up(edge_batcher_t *self, size_t i)
{
    edge_batch_t *b = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent]->deadline <= b->deadline)
            break;
        s_heap_set(self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set(self, i, b);
}

/* Moves the batch at i down while a child's deadline is earlier. */
static void s_heap_down(edge_batcher_t *self, size_t i)
{
    edge_batch_t *b = self->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->heap_len)
            break;
        if (child + 1 < self->heap_len &&
            self->heap[child + 1]->deadline < self->heap[child]->deadline)
            child++;
        if (self->heap[child]->deadline >= b->deadline)
            break;
        s_heap_set(self, i, self->heap[child]);
        i = child;
    }
    s_heap_set(self, i, b);
}

/* Inserts b (capacity is reserved) or moves it up after its deadline got earlier. */
static void s_heap_update(edge_batcher_t *self, edge_batch_t *b)
{
    if (b->heap_idx == S_NOT_QUEUED) {
        b->heap_idx = self->heap_len++;
        self->heap[b->heap_idx] = b;
    }
    s_heap_up(self, b->heap_idx);
}

/* Removes b from the heap when it is there. */
static void s_heap_remove(edge_batcher_t *self, edge_batch_t *b)
{
    size_t i = b->heap_idx;
    if (i == S_NOT_QUEUED)
        return;
    b->heap_idx = S_NOT_QUEUED;
    edge_batch_t *last = self->heap[--self->heap_len];
    if (i == self->heap_len)
        return;
    s_heap_set(self, i, last);
    s_heap_up(self, i);
    s_heap_down(self, last->heap_idx);
}

/* ---- batcher ----------------------------------------------------------------------------- */

edge_batcher_t *edge_batcher_new(const edge_classes_t *classes, size_t max_bytes,
                                 edge_batch_stats_t *stats)
{
    edge_batcher_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->classes = classes;
    self->max_bytes = max_bytes ? max_bytes : 1;
    self->stats = stats;
    return self;
}

void edge_batcher_destroy(edge_batcher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_batcher_t *self = *self_p;
    free(self->heap);
    free(self->scratch);
    free(self);
    *self_p = NULL;
}

int64_t edge_batcher_deadline(const edge_batcher_t *self)
{
    return self->heap_len ? self->heap[0]->deadline : INT64_MAX;
}

static void s_flush(edge_batch_t *self, edge_batch_why_t why);

size_t edge_batcher_run(edge_batcher_t *self, int64_t now_us)
{
    size_t n = 0;
    while (self->heap_len && self->heap[0]->deadline <= now_us) {
        s_flush(self->heap[0], EDGE_BATCH_WHY_WINDOW);
        n++;
    }
    return n;
}

size_t edge_batcher_pending(const edge_batcher_t *self)
{
    return self->heap_len;
}

/* ---- one room ---------------------------------------------------------------------------- */

edge_batch_t *edge_batch_new(edge_batcher_t *batcher, const char *room, size_t len,
                             edge_batch_emit_fn *emit, void *arg)
{
    if (!wire_room_valid(room, len))
        return NULL;
    /* Reserve the batch's heap slot now: a deadline must never fail to be armed. */
    if (batcher->nbatches + 1 > batcher->heap_cap) {
        size_t cap = batcher->heap_cap ? batcher->heap_cap * 2 : 16;
        edge_batch_t **heap = realloc(batcher->heap, cap * sizeof *heap);
        if (!heap)
            return NULL;
        batcher->heap = heap;
        batcher->heap_cap = cap;
    }
    edge_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->batcher = batcher;
    self->emit = emit;
    self->arg = arg;
    self->heap_idx = S_NOT_QUEUED;
    self->deadline = INT64_MAX;
    self->max = SIZE_MAX;
    memcpy(self->room, room, len);
    self->room[len] = '\0';
    self->room_len = len;
    batcher->nbatches++;
    return self;
}

/* Drops the held entries and forgets the pending batch (no emit). */
static void s_reset(edge_batch_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        edge_frame_unref(&self->entries[i].frame);
    self->count = 0;
    self->pending = false;
    self->bytes = 0;
    self->max = SIZE_MAX;
    self->deadline = INT64_MAX;
    s_heap_remove(self->batcher, self);
}

void edge_batch_destroy(edge_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    edge_batch_t *self = *self_p;
    s_reset(self);
    self->batcher->nbatches--;
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* Emits one event frame covering from..to. */
static void s_emit_one(edge_batch_t *self, edge_batch_kind_t kind, uint64_t epoch, uint64_t from,
                       uint64_t to, edge_frame_t *frame)
{
    edge_batch_out_t out = {
        .kind = kind, .epoch = epoch, .from_seq = from, .to_seq = to, .events = 1, .frame = frame};
    self->emit(self->arg, &out);
}

/* Emits the pending batch (if any) and resets it. */
static void s_flush(edge_batch_t *self, edge_batch_why_t why)
{
    if (!self->pending)
        return;
    edge_batcher_t *b = self->batcher;
    edge_batch_stats_t *st = b->stats;
    s_heap_remove(b, self);
    st->flushes[why]++;
    size_t n = self->count;
    if (self->from_seq == self->to_seq && n == 1) {
        /* Nothing to batch: the event's own frame says exactly the same. */
        st->singles++;
        s_emit_one(self, EDGE_BATCH_FLUSH, self->epoch, self->from_seq, self->to_seq,
                   self->entries[0].frame);
        s_reset(self);
        return;
    }
    edge_frame_t *frame = NULL;
    if (n > b->scratch_cap) {
        edge_frame_t **scratch = realloc(b->scratch, n * sizeof *scratch);
        if (scratch) {
            b->scratch = scratch;
            b->scratch_cap = n;
        }
    }
    if (n <= b->scratch_cap) {
        for (size_t i = 0; i < n; i++)
            b->scratch[i] = self->entries[i].frame;
        frame = edge_frame_batch(self->room, self->room_len, self->epoch, self->from_seq,
                                 self->to_seq, b->scratch, n);
    }
    if (frame) {
        st->batches++;
        st->batched_events += n;
        edge_batch_out_t out = {
            .kind = EDGE_BATCH_FLUSH,
            .epoch = self->epoch,
            .from_seq = self->from_seq,
            .to_seq = self->to_seq,
            .events = n,
            .frame = frame,
        };
        self->emit(self->arg, &out);
        edge_frame_unref(&frame);
    } else {
        /* Out of memory: still deliver every event, one frame each, rather than lose any. The
         * last one covers the batch's end, so a cursor still lands on to_seq. */
        st->nomem++;
        uint64_t from = self->from_seq;
        for (size_t i = 0; i < n; i++) {
            uint64_t to = i + 1 == n ? self->to_seq : self->entries[i].seq;
            s_emit_one(self, EDGE_BATCH_FLUSH, self->epoch, from, to, self->entries[i].frame);
            from = to + 1;
        }
    }
    s_reset(self);
}

void edge_batch_flush(edge_batch_t *self, edge_batch_why_t why)
{
    s_flush(self, why);
}

/* Reads the coalesce key of a class without an envelope key: the string or integer value of
 * field at the top level of the data. Returns the key's length in out, 0 when none. */
static size_t s_field_key(const char *data, size_t len, const char *field, char *out)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    if (!root)
        return 0;
    size_t n = 0;
    json_t *v = json_object_get(root, field);
    if (json_is_string(v)) {
        size_t vlen = json_string_length(v);
        if (vlen > 0 && vlen <= WIRE_KEY_MAX) {
            memcpy(out, json_string_value(v), vlen);
            n = vlen;
        }
    } else if (json_is_integer(v)) {
        char buf[32];
        int k = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (k > 0 && (size_t)k < sizeof buf) {
            memcpy(out, buf, (size_t)k);
            n = (size_t)k;
        }
    }
    json_decref(root);
    return n;
}

/* The key bytes of an entry. */
static const char *s_key(const s_entry_t *e)
{
    return e->own_key ? e->fkey : e->key;
}

/* Emits ev as an event never held. */
static bool s_pass(edge_batch_t *self, const edge_event_t *ev)
{
    self->batcher->stats->immediate++;
    s_emit_one(self, EDGE_BATCH_EVENT, ev->epoch, ev->seq, ev->seq, ev->frame);
    return false;
}

bool edge_batch_add(edge_batch_t *self, const edge_event_t *ev, int64_t now_us)
{
    edge_batcher_t *b = self->batcher;
    edge_frame_info_t info;
    if (!edge_frame_info(ev->frame, &info)) {
        s_flush(self, EDGE_BATCH_WHY_BREAK);
        return s_pass(self, ev);
    }
    int ci = edge_classes_match(b->classes, info.type, info.type_len);
    const edge_class_t *cls = ci >= 0 ? edge_classes_get(b->classes, (size_t)ci) : NULL;
    if (!cls || cls->window_ms == 0 || info.critical) {
        s_flush(self, info.critical ? EDGE_BATCH_WHY_CRITICAL : EDGE_BATCH_WHY_IMMEDIATE);
        return s_pass(self, ev);
    }
    size_t item = info.item_len + 2; /* '{' and ',' */
    if (self->pending && (ev->epoch != self->epoch || ev->seq != self->to_seq + 1))
        s_flush(self, EDGE_BATCH_WHY_BREAK);
    if (self->pending && self->bytes + item > b->max_bytes)
        s_flush(self, EDGE_BATCH_WHY_BYTES);

    s_entry_t e = {.seq = ev->seq, .type = info.type, .type_len = info.type_len, .item_len = item};
    if (cls->key_len) {
        if (info.key_len) {
            e.key = info.key;
            e.key_len = info.key_len;
        } else {
            e.key_len = s_field_key(info.data, info.data_len, cls->key, e.fkey);
            e.own_key = e.key_len > 0;
            if (!e.key_len)
                b->stats->keyless++;
        }
    }
    if (e.key_len) {
        /* At most one pending entry can match: each add removes the one before it. */
        for (size_t i = 0; i < self->count; i++) {
            s_entry_t *o = &self->entries[i];
            if (o->key_len == e.key_len && o->type_len == e.type_len &&
                memcmp(o->type, e.type, e.type_len) == 0 &&
                memcmp(s_key(o), s_key(&e), e.key_len) == 0) {
                self->bytes -= o->item_len;
                edge_frame_unref(&o->frame);
                memmove(o, o + 1, (self->count - i - 1) * sizeof *o);
                self->count--;
                b->stats->coalesced++;
                break;
            }
        }
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : S_INITIAL_ENTRIES;
        s_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
        if (!entries) {
            /* Cannot hold it: send what is pending, then this event, in order. */
            b->stats->nomem++;
            s_flush(self, EDGE_BATCH_WHY_FORCED);
            return s_pass(self, ev);
        }
        self->entries = entries;
        self->cap = cap;
    }
    e.frame = edge_frame_ref(ev->frame);
    self->entries[self->count++] = e;
    self->bytes += item;
    if (!self->pending) {
        self->pending = true;
        self->epoch = ev->epoch;
        self->from_seq = ev->seq;
    }
    self->to_seq = ev->seq;
    if (cls->max < self->max)
        self->max = cls->max;
    int64_t due = now_us + (int64_t)cls->window_ms * 1000;
    if (due < self->deadline) {
        self->deadline = due;
        s_heap_update(b, self);
    }
    b->stats->held++;
    if (self->count >= self->max)
        s_flush(self, EDGE_BATCH_WHY_MAX);
    else if (self->bytes >= b->max_bytes)
        s_flush(self, EDGE_BATCH_WHY_BYTES);
    return true;
}

size_t edge_batch_pending(const edge_batch_t *self)
{
    return self->pending ? (size_t)(self->to_seq - self->from_seq + 1) : 0;
}

size_t edge_batch_pending_events(const edge_batch_t *self)
{
    return self->count;
}
