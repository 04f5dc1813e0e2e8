/*
 * edge_histmsg.c: encoding and decoding of history requests and replies (see edge_histmsg.h).
 */
#include "edge_histmsg.h"

#include <string.h>

static const char *const s_status_names[EDGE_HIST__COUNT] = {
    [EDGE_HIST_OK] = "ok",
    [EDGE_HIST_EPOCH_CHANGED] = "epoch_changed",
    [EDGE_HIST_TOO_OLD] = "too_old",
    [EDGE_HIST_BAD_REQUEST] = "bad_request",
    [EDGE_HIST_UNAVAILABLE] = "unavailable",
};

const char *edge_hstatus_name(edge_hstatus_t status)
{
    return (unsigned)status < EDGE_HIST__COUNT ? s_status_names[status] : "unknown";
}

/* Big-endian u32 store. */
static void s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Big-endian u32 load. */
static uint32_t s_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void edge_histmsg_put_id(uint8_t out[EDGE_HISTMSG_ID_LEN], uint64_t id)
{
    wire_put_u64(out, id);
}

int edge_histmsg_get_id(const void *buf, size_t len, uint64_t *id)
{
    if (len != EDGE_HISTMSG_ID_LEN)
        return -1;
    *id = wire_get_u64(buf);
    return 0;
}

void edge_histmsg_put_request(uint8_t out[EDGE_HISTMSG_REQ_LEN], uint64_t epoch, uint64_t after,
                              uint32_t max_events)
{
    wire_put_u64(out, epoch);
    wire_put_u64(out + 8, after);
    s_put_u32(out + 16, max_events);
}

int edge_histmsg_get_request(const void *buf, size_t len, uint64_t *epoch, uint64_t *after,
                             uint32_t *max_events)
{
    if (len != EDGE_HISTMSG_REQ_LEN)
        return -1;
    const uint8_t *p = buf;
    *epoch = wire_get_u64(p);
    *after = wire_get_u64(p + 8);
    *max_events = s_get_u32(p + 16);
    return 0;
}

void edge_histmsg_put_status(uint8_t out[EDGE_HISTMSG_STATUS_LEN], const edge_hist_status_t *st)
{
    out[0] = (uint8_t)st->status;
    out[1] = st->more ? 1 : 0;
    wire_put_u64(out + 2, st->epoch);
    wire_put_u64(out + 10, st->head);
    wire_put_u64(out + 18, st->first);
}

int edge_histmsg_get_status(const void *buf, size_t len, edge_hist_status_t *st)
{
    if (len != EDGE_HISTMSG_STATUS_LEN)
        return -1;
    const uint8_t *p = buf;
    if (p[0] > EDGE_HIST_BAD_REQUEST || p[1] > 1)
        return -1;
    st->status = (edge_hstatus_t)p[0];
    st->more = p[1] == 1;
    st->epoch = wire_get_u64(p + 2);
    st->head = wire_get_u64(p + 10);
    st->first = wire_get_u64(p + 18);
    return 0;
}

int edge_histmsg_check_event(const void *hdr, size_t hdr_len, const void *payload,
                             size_t payload_len, uint64_t epoch, uint64_t after, wire_header_t *h,
                             const char **why)
{
    wire_err_t err = wire_header_decode(hdr, hdr_len, h);
    if (err != WIRE_OK) {
        *why = wire_err_name(err);
        return -1;
    }
    if (h->kind != WIRE_KIND_EVENT) {
        *why = "kind";
        return -1;
    }
    if (h->epoch != epoch) {
        *why = "epoch";
        return -1;
    }
    if (h->seq == 0 || h->seq <= after) {
        *why = "seq";
        return -1;
    }
    if (!edge_frame_payload_is_object(payload, payload_len)) {
        *why = "payload";
        return -1;
    }
    return 0;
}
