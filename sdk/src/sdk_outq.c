/*
 * sdk_outq.c: the bounded queue of unacknowledged events (see sdk_outq.h).
 *
 * A singly linked list from the oldest entry (head) to the newest (tail). Acks free from the head
 * only, because they are cumulative and seqs grow along the list; the send cursor only moves
 * forward except on rewind. Each entry is one allocation holding its three frames.
 */
#include "sdk_outq.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

struct sdk_outq_entry {
    sdk_outq_entry_t *next; /* newer entry, NULL at the tail */
    uint64_t seq;            /* publisher seq, set by push */
    bool sent;               /* sent at least once (a later send counts as a resend) */
    size_t topic_len;        /* frame 0 length; the frame starts at data */
    size_t header_len;       /* frame 1 length; follows the topic */
    size_t payload_len;      /* frame 2 length; follows the header */
    unsigned char data[];    /* topic, header, payload, back to back */
};

struct sdk_outq {
    sdk_outq_entry_t *head;   /* oldest unacknowledged entry */
    sdk_outq_entry_t *tail;   /* newest entry, where push appends */
    sdk_outq_entry_t *cursor; /* next entry to send, NULL when all were sent */
    size_t count;              /* entries queued */
    size_t bytes;              /* sum of sdk_outq_entry_size() of the queued entries */
    size_t unsent;             /* entries at or after the cursor */
    size_t max_count;          /* bound on count */
    size_t max_bytes;          /* bound on bytes */
    uint64_t last_seq;         /* seq of the newest push, to check ordering */
};

/* Allocates one entry holding all three frames. */
sdk_outq_entry_t *sdk_outq_entry_new(const void *topic, size_t topic_len, size_t header_len,
                                       const void *payload, size_t payload_len)
{
    size_t total = topic_len + header_len + payload_len;
    sdk_outq_entry_t *entry = malloc(sizeof *entry + total);
    if (!entry)
        return NULL;
    entry->next = NULL;
    entry->seq = 0;
    entry->sent = false;
    entry->topic_len = topic_len;
    entry->header_len = header_len;
    entry->payload_len = payload_len;
    if (topic_len)
        memcpy(entry->data, topic, topic_len);
    memset(entry->data + topic_len, 0, header_len);
    if (payload_len)
        memcpy(entry->data + topic_len + header_len, payload, payload_len);
    return entry;
}

/* The header space between topic and payload. */
void *sdk_outq_entry_header(sdk_outq_entry_t *entry)
{
    return entry->data + entry->topic_len;
}

/* Bytes counted against max_bytes. */
size_t sdk_outq_entry_size(const sdk_outq_entry_t *entry)
{
    return entry->topic_len + entry->header_len + entry->payload_len;
}

/* Frees an entry the queue did not take. */
void sdk_outq_entry_destroy(sdk_outq_entry_t **entry_p)
{
    if (!entry_p || !*entry_p)
        return;
    free(*entry_p);
    *entry_p = NULL;
}

/* Creates an empty queue with its two bounds. */
sdk_outq_t *sdk_outq_new(size_t max_count, size_t max_bytes)
{
    if (max_count == 0 || max_bytes == 0)
        return NULL;
    sdk_outq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_count = max_count;
    self->max_bytes = max_bytes;
    return self;
}

/* Frees the queue with every entry still in it. */
void sdk_outq_destroy(sdk_outq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sdk_outq_t *self = *self_p;
    sdk_outq_entry_t *entry = self->head;
    while (entry) {
        sdk_outq_entry_t *next = entry->next;
        free(entry);
        entry = next;
    }
    free(self);
    *self_p = NULL;
}

/* Checks both bounds for one more entry of `size` bytes. */
bool sdk_outq_fits(const sdk_outq_t *self, size_t size)
{
    if (self->count == 0)
        return true;
    /* bytes may exceed max_bytes after an oversized entry was accepted alone. */
    return self->count < self->max_count && self->bytes <= self->max_bytes &&
           size <= self->max_bytes - self->bytes;
}

/* Appends at the tail; the cursor picks the entry up if all else was sent. */
int sdk_outq_push(sdk_outq_t *self, sdk_outq_entry_t **entry_p, uint64_t seq)
{
    sdk_outq_entry_t *entry = *entry_p;
    assert(entry && entry->next == NULL);
    /* Seqs must grow: ack frees from the head on that assumption. A caller bug, not input. */
    assert(seq > self->last_seq);
    size_t size = sdk_outq_entry_size(entry);
    if (!sdk_outq_fits(self, size))
        return WEFT_EFULL;
    entry->seq = seq;
    entry->sent = false;
    if (self->tail)
        self->tail->next = entry;
    else
        self->head = entry;
    self->tail = entry;
    if (!self->cursor)
        self->cursor = entry;
    self->count++;
    self->bytes += size;
    self->unsent++;
    self->last_seq = seq;
    *entry_p = NULL;
    return 0;
}

/* Describes the cursor entry's frames without moving the cursor. */
bool sdk_outq_peek(const sdk_outq_t *self, sdk_outq_frames_t *frames)
{
    const sdk_outq_entry_t *entry = self->cursor;
    if (!entry)
        return false;
    frames->seq = entry->seq;
    frames->topic = entry->data;
    frames->topic_len = entry->topic_len;
    frames->header = entry->data + entry->topic_len;
    frames->header_len = entry->header_len;
    frames->payload = entry->data + entry->topic_len + entry->header_len;
    frames->payload_len = entry->payload_len;
    return true;
}

/* Marks the cursor entry sent and steps past it. */
bool sdk_outq_advance(sdk_outq_t *self)
{
    sdk_outq_entry_t *entry = self->cursor;
    if (!entry)
        return false;
    bool resend = entry->sent;
    entry->sent = true;
    self->cursor = entry->next;
    self->unsent--;
    return resend;
}

/* Frees acknowledged entries from the head. */
size_t sdk_outq_ack(sdk_outq_t *self, uint64_t seq)
{
    size_t freed = 0;
    while (self->head && self->head->seq <= seq) {
        sdk_outq_entry_t *entry = self->head;
        self->head = entry->next;
        /* The router may acknowledge an entry we have not (re)sent yet on this connection, for
         * instance one it received before a reconnect. The cursor then skips it. */
        if (self->cursor == entry) {
            self->cursor = entry->next;
            self->unsent--;
        }
        self->count--;
        self->bytes -= sdk_outq_entry_size(entry);
        free(entry);
        freed++;
    }
    if (!self->head)
        self->tail = NULL;
    return freed;
}

/* Sends everything again from the head. */
size_t sdk_outq_rewind(sdk_outq_t *self)
{
    size_t again = 0;
    for (sdk_outq_entry_t *entry = self->head; entry; entry = entry->next)
        if (entry->sent)
            again++;
    self->cursor = self->head;
    self->unsent = self->count;
    return again;
}

/* Entries queued. */
size_t sdk_outq_count(const sdk_outq_t *self)
{
    return self->count;
}

/* Bytes queued. */
size_t sdk_outq_bytes(const sdk_outq_t *self)
{
    return self->bytes;
}

/* Entries not sent on this connection yet. */
size_t sdk_outq_unsent(const sdk_outq_t *self)
{
    return self->unsent;
}

/* Seq at the head, 0 when empty. */
uint64_t sdk_outq_oldest_seq(const sdk_outq_t *self)
{
    return self->head ? self->head->seq : 0;
}
