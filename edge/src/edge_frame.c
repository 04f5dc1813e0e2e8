/*
 * edge_frame.c: refcounted WebSocket text frames with LWS_PRE headroom (see edge_frame.h).
 */
#include "edge_frame.h"

#include <assert.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const size_t edge_frame_headroom = LWS_PRE;

struct edge_frame {
    uint32_t refcnt;     /* owners: one per queue holding it plus the builder until it lets go */
    bool event;          /* built by edge_frame_event(): the event fields below are set */
    bool critical;       /* event: published with priority critical */
    uint8_t type_len;    /* event: bytes of the type */
    uint8_t key_len;     /* event: bytes of the coalesce key kept after the body's NUL */
    size_t type_off;     /* event: offset of the type in the body */
    size_t data_off;     /* event: offset of the payload in the body */
    size_t data_len;     /* event: bytes of the payload */
    size_t item_off;     /* event: offset of "seq" in the body (where a batch entry starts) */
    size_t len;          /* body bytes after the headroom */
    unsigned char buf[]; /* LWS_PRE headroom, len body bytes, one NUL, then an event's key */
};

/* Allocates a frame with len body bytes and extra hidden bytes after the NUL, refcount 1. */
static edge_frame_t *s_alloc(size_t len, size_t extra)
{
    if (len > SIZE_MAX - sizeof(edge_frame_t) - LWS_PRE - 1 - extra)
        return NULL;
    edge_frame_t *self = malloc(sizeof *self + LWS_PRE + len + 1 + extra);
    if (!self)
        return NULL;
    memset(self, 0, sizeof *self);
    self->refcnt = 1;
    self->len = len;
    self->buf[LWS_PRE + len] = '\0';
    return self;
}

edge_frame_t *edge_frame_new(size_t len)
{
    return s_alloc(len, 0);
}

edge_frame_t *edge_frame_from(const void *data, size_t len)
{
    edge_frame_t *self = edge_frame_new(len);
    if (self && len)
        memcpy(self->buf + LWS_PRE, data, len);
    return self;
}

/* JSON insignificant whitespace. */
static bool s_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool edge_frame_payload_is_object(const void *payload, size_t len)
{
    const unsigned char *p = payload;
    size_t start = 0, end = len;
    while (start < end && s_is_ws(p[start]))
        start++;
    while (end > start && s_is_ws(p[end - 1]))
        end--;
    return end - start >= 2 && p[start] == '{' && p[end - 1] == '}';
}

edge_frame_t *edge_frame_event(const char *room, size_t room_len, const wire_header_t *h,
                               const void *payload, size_t payload_len)
{
    if (!wire_room_valid(room, room_len) || !wire_type_valid(h->type, h->type_len))
        return NULL;
    if (h->key_len && !wire_key_valid(h->key, h->key_len))
        return NULL;
    /* The prefix is at most ~430 bytes: room 128, type 64, three u64 of 20 digits, literals.
     * It is written in two parts so that the offsets of "seq" and of the type are known. */
    char head[512];
    int n1 =
        snprintf(head, sizeof head, "{\"op\":\"event\",\"room\":\"%.*s\",\"epoch\":%" PRIu64 ",",
                 (int)room_len, room, h->epoch);
    if (n1 < 0 || (size_t)n1 >= sizeof head)
        return NULL;
    int n2 = snprintf(head + n1, sizeof head - (size_t)n1,
                      "\"seq\":%" PRIu64 ",\"type\":\"%.*s\",\"ts\":%" PRIu64 ",\"data\":", h->seq,
                      (int)h->type_len, h->type, h->ts_ns);
    if (n2 < 0 || (size_t)n2 >= sizeof head - (size_t)n1)
        return NULL;
    size_t n = (size_t)n1 + (size_t)n2;
    static const char critical[] = ",\"critical\":true}";
    bool is_critical = (h->flags & WIRE_FLAG_CRITICAL) != 0;
    const char *tail = is_critical ? critical : "}";
    size_t tail_len = strlen(tail);
    if (payload_len > SIZE_MAX / 2)
        return NULL;
    edge_frame_t *self = s_alloc(n + payload_len + tail_len, h->key_len);
    if (!self)
        return NULL;
    unsigned char *p = self->buf + LWS_PRE;
    memcpy(p, head, n);
    if (payload_len)
        memcpy(p + n, payload, payload_len);
    memcpy(p + n + payload_len, tail, tail_len);
    if (h->key_len)
        memcpy(p + self->len + 1, h->key, h->key_len);
    self->event = true;
    self->critical = is_critical;
    self->type_len = h->type_len;
    self->key_len = h->key_len;
    self->item_off = (size_t)n1;
    /* "seq":<digits>,"type":" comes before the type. */
    self->type_off = (size_t)n1 + (size_t)(strchr(head + n1, ',') - (head + n1)) + 9;
    self->data_off = n;
    self->data_len = payload_len;
    return self;
}

bool edge_frame_info(const edge_frame_t *frame, edge_frame_info_t *info)
{
    if (!frame || !frame->event)
        return false;
    const char *body = (const char *)frame->buf + LWS_PRE;
    info->type = body + frame->type_off;
    info->type_len = frame->type_len;
    info->key = frame->key_len ? body + frame->len + 1 : NULL;
    info->key_len = frame->key_len;
    info->data = body + frame->data_off;
    info->data_len = frame->data_len;
    info->item = body + frame->item_off;
    info->item_len = frame->len - frame->item_off;
    info->critical = frame->critical;
    return true;
}

edge_frame_t *edge_frame_batch(const char *room, size_t room_len, uint64_t epoch, uint64_t from_seq,
                               uint64_t to_seq, edge_frame_t *const *events, size_t n)
{
    if (n == 0 || !wire_room_valid(room, room_len))
        return NULL;
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "{\"op\":\"batch\",\"room\":\"%.*s\",\"epoch\":%" PRIu64
                      ",\"from_seq\":%" PRIu64 ",\"to_seq\":%" PRIu64 ",\"events\":[",
                      (int)room_len, room, epoch, from_seq, to_seq);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return NULL;
    /* Sizes first (one allocation): each entry is '{' + item, entries joined by ','. */
    size_t len = (size_t)hn + 2; /* "]}" */
    for (size_t i = 0; i < n; i++) {
        if (!events[i] || !events[i]->event)
            return NULL;
        size_t item = events[i]->len - events[i]->item_off;
        if (item > SIZE_MAX / 2 - len)
            return NULL;
        len += 1 + item + (i ? 1 : 0);
    }
    edge_frame_t *self = s_alloc(len, 0);
    if (!self)
        return NULL;
    unsigned char *p = self->buf + LWS_PRE;
    memcpy(p, head, (size_t)hn);
    p += hn;
    for (size_t i = 0; i < n; i++) {
        const edge_frame_t *ev = events[i];
        size_t item = ev->len - ev->item_off;
        if (i)
            *p++ = ',';
        *p++ = '{';
        memcpy(p, ev->buf + LWS_PRE + ev->item_off, item);
        p += item;
    }
    *p++ = ']';
    *p++ = '}';
    return self;
}

edge_frame_t *edge_frame_ref(edge_frame_t *frame)
{
    if (frame) {
        assert(frame->refcnt > 0);
        frame->refcnt++;
    }
    return frame;
}

void edge_frame_unref(edge_frame_t **frame_p)
{
    if (!frame_p || !*frame_p)
        return;
    edge_frame_t *frame = *frame_p;
    *frame_p = NULL;
    assert(frame->refcnt > 0);
    if (--frame->refcnt == 0)
        free(frame);
}

unsigned char *edge_frame_data(edge_frame_t *frame)
{
    return frame->buf + LWS_PRE;
}

size_t edge_frame_len(const edge_frame_t *frame)
{
    return frame->len;
}

uint32_t edge_frame_refcnt(const edge_frame_t *frame)
{
    return frame->refcnt;
}
