/*
 * sdk_outq.h: the publisher's queue of events awaiting the router's acknowledgement.
 *
 * A bounded FIFO, ordered by publisher seq. Each entry owns the three frames of one event (topic,
 * header, payload). The queue keeps a send cursor: entries before it were sent on the current
 * connection, the cursor entry is the next to send. An ack frees entries from the head; a rewind
 * moves the cursor back to the head so that every unacknowledged event is sent again after the
 * router reconnects (docs/protocol.md, "Resending").
 *
 * A pure data structure: no locking (the publisher holds its mutex around every call), no I/O.
 */
#ifndef SDK_OUTQ_H
#define SDK_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sdk_outq sdk_outq_t;
typedef struct sdk_outq_entry sdk_outq_entry_t;

/* A view of the frames of one queued event. Pointers stay valid until the entry is acked or the
 * queue is destroyed. */
typedef struct sdk_outq_frames {
    uint64_t seq;        /* publisher seq of the event */
    const void *topic;   /* frame 0: room + ' ' */
    size_t topic_len;    /* bytes in frame 0 */
    const void *header;  /* frame 1: the encoded wire header */
    size_t header_len;   /* bytes in frame 1 */
    const void *payload; /* frame 2: the JSON object */
    size_t payload_len;  /* bytes in frame 2 */
} sdk_outq_frames_t;

/*
 * Allocates an entry holding copies of the topic and payload and header_len bytes of header space
 * for the caller to fill (sdk_outq_entry_header()). Returns NULL when out of memory.
 */
sdk_outq_entry_t *sdk_outq_entry_new(const void *topic, size_t topic_len, size_t header_len,
                                       const void *payload, size_t payload_len);

/* The entry's writable header space (header_len bytes). */
void *sdk_outq_entry_header(sdk_outq_entry_t *entry);

/* Bytes the entry counts against the queue's byte bound: the sum of its three frames. */
size_t sdk_outq_entry_size(const sdk_outq_entry_t *entry);

/* Frees an entry that was not pushed and nulls *entry_p. NULL-safe. */
void sdk_outq_entry_destroy(sdk_outq_entry_t **entry_p);

/* Creates an empty queue holding at most max_count entries and max_bytes bytes (both >= 1). */
sdk_outq_t *sdk_outq_new(size_t max_count, size_t max_bytes);

/* Frees the queue and every entry still in it, and nulls *self_p. NULL-safe. */
void sdk_outq_destroy(sdk_outq_t **self_p);

/*
 * True when an entry of `size` bytes would be accepted now. An empty queue accepts one entry of
 * any size, so that an event larger than the byte bound can still make progress alone.
 */
bool sdk_outq_fits(const sdk_outq_t *self, size_t size);

/*
 * Appends *entry_p with publisher seq `seq`, which must be greater than every seq pushed before.
 * On success takes ownership, nulls *entry_p and returns 0. Returns WEFT_EFULL (and leaves the
 * entry with the caller) when it does not fit.
 */
int sdk_outq_push(sdk_outq_t *self, sdk_outq_entry_t **entry_p, uint64_t seq);

/* Fills frames with the entry at the send cursor. Returns false when every entry was sent. */
bool sdk_outq_peek(const sdk_outq_t *self, sdk_outq_frames_t *frames);

/*
 * Marks the cursor entry as sent and moves the cursor to the next entry. Returns true when that
 * entry had been sent before (a resend), false for a first send or when nothing was unsent.
 */
bool sdk_outq_advance(sdk_outq_t *self);

/* Frees every entry with seq <= `seq` (a cumulative ack). Returns how many were freed. */
size_t sdk_outq_ack(sdk_outq_t *self, uint64_t seq);

/* Moves the send cursor back to the oldest entry. Returns how many entries had been sent and will
 * be sent again. */
size_t sdk_outq_rewind(sdk_outq_t *self);

/* Number of queued (unacknowledged) entries. */
size_t sdk_outq_count(const sdk_outq_t *self);

/* Bytes held by the queued entries. */
size_t sdk_outq_bytes(const sdk_outq_t *self);

/* Number of entries at or after the send cursor. */
size_t sdk_outq_unsent(const sdk_outq_t *self);

/* Seq of the oldest queued entry, or 0 when the queue is empty. */
uint64_t sdk_outq_oldest_seq(const sdk_outq_t *self);

#endif
