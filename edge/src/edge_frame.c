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

struct edge_frame {
    uint32_t refcnt;     /* owners: one per queue holding it plus the builder until it lets go */
    size_t len;          /* body bytes after the headroom */
    unsigned char buf[]; /* LWS_PRE headroom, len body bytes, one NUL */
};

edge_frame_t *edge_frame_new(size_t len)
{
    if (len > SIZE_MAX - sizeof(edge_frame_t) - LWS_PRE - 1)
        return NULL;
    edge_frame_t *self = malloc(sizeof *self + LWS_PRE + len + 1);
    if (!self)
        return NULL;
    self->refcnt = 1;
    self->len = len;
    self->buf[LWS_PRE + len] = '\0';
    return self;
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
    /* The prefix is at most ~430 bytes: room 128, type 64, three u64 of 20 digits, literals. */
    char head[512];
    int n = snprintf(head, sizeof head,
                     "{\"op\":\"event\",\"room\":\"%.*s\",\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64
                     ",\"type\":\"%.*s\",\"ts\":%" PRIu64 ",\"data\":",
                     (int)room_len, room, h->epoch, h->seq, (int)h->type_len, h->type, h->ts_ns);
    if (n < 0 || (size_t)n >= sizeof head)
        return NULL;
    static const char critical[] = ",\"critical\":true}";
    const char *tail = (h->flags & WIRE_FLAG_CRITICAL) ? critical : "}";
    size_t tail_len = strlen(tail);
    if (payload_len > SIZE_MAX / 2)
        return NULL;
    edge_frame_t *self = edge_frame_new((size_t)n + payload_len + tail_len);
    if (!self)
        return NULL;
    unsigned char *p = self->buf + LWS_PRE;
    memcpy(p, head, (size_t)n);
    if (payload_len)
        memcpy(p + n, payload, payload_len);
    memcpy(p + n + payload_len, tail, tail_len);
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
