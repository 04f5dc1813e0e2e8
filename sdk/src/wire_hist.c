/*
 * wire_hist.c: encoding, decoding and validation of the history protocol's frames (see
 * wire_hist.h). The byte layout is specified in docs/protocol.md §2; keep the two in step.
 */
#include "wire_hist.h"

#include <string.h>

static const char *const s_status_names[WIRE_HIST_STATUS__COUNT] = {
    [WIRE_HIST_OK] = "ok",
    [WIRE_HIST_EPOCH_CHANGED] = "epoch_changed",
    [WIRE_HIST_TOO_OLD] = "too_old",
    [WIRE_HIST_BAD_REQUEST] = "bad_request",
    [WIRE_HIST_BUSY] = "busy",
};

static const char *const s_bad_names[WIRE_HIST_BAD__COUNT] = {
    [WIRE_HIST_BAD_NONE] = "none",     [WIRE_HIST_BAD_REQUEST_ID] = "request_id",
    [WIRE_HIST_BAD_FRAMES] = "frames", [WIRE_HIST_BAD_ROOM] = "room",
    [WIRE_HIST_BAD_CURSOR] = "cursor",
};

/* Name of a status. */
const char *wire_hist_status_name(wire_hist_status_t status)
{
    return (unsigned)status < WIRE_HIST_STATUS__COUNT ? s_status_names[status] : "unknown";
}

/* Name of a bad-request reason. */
const char *wire_hist_bad_name(wire_hist_bad_t bad)
{
    return (unsigned)bad < WIRE_HIST_BAD__COUNT ? s_bad_names[bad] : "unknown";
}

/* Writes the id frame. */
void wire_hist_put_id(uint8_t out[WIRE_HIST_ID_LEN], uint64_t id)
{
    wire_put_u64(out, id);
}

/* Reads an id frame. */
int wire_hist_get_id(const void *buf, size_t len, uint64_t *id)
{
    if (len != WIRE_HIST_ID_LEN)
        return -1;
    *id = wire_get_u64(buf);
    return 0;
}

/* Lays out the cursor frame. */
void wire_hist_put_cursor(uint8_t out[WIRE_HIST_CURSOR_LEN], uint64_t epoch, uint64_t after_seq,
                          uint32_t max_events)
{
    wire_put_u64(out, epoch);
    wire_put_u64(out + 8, after_seq);
    wire_put_u32(out + 16, max_events);
}

/* Reads a cursor frame. */
int wire_hist_get_cursor(const void *buf, size_t len, uint64_t *epoch, uint64_t *after_seq,
                         uint32_t *max_events)
{
    if (len != WIRE_HIST_CURSOR_LEN)
        return -1;
    const uint8_t *p = buf;
    *epoch = wire_get_u64(p);
    *after_seq = wire_get_u64(p + 8);
    *max_events = wire_get_u32(p + 16);
    return 0;
}

/* Checks frames in the order the reasons are listed; see wire_hist.h. */
wire_hist_bad_t wire_hist_parse_request(size_t nframes, const void *const data[],
                                        const size_t len[], wire_hist_request_t *req)
{
    memset(req, 0, sizeof *req);
    if (nframes < 1 || len[0] != WIRE_HIST_ID_LEN)
        return WIRE_HIST_BAD_REQUEST_ID;
    memcpy(req->id, data[0], WIRE_HIST_ID_LEN);
    req->has_id = true;
    if (nframes != WIRE_HIST_REQUEST_FRAMES)
        return WIRE_HIST_BAD_FRAMES;
    if (!wire_room_valid(data[1], len[1]))
        return WIRE_HIST_BAD_ROOM;
    req->room = data[1];
    req->room_len = len[1];
    if (wire_hist_get_cursor(data[2], len[2], &req->epoch, &req->after_seq, &req->max_events) < 0)
        return WIRE_HIST_BAD_CURSOR;
    return WIRE_HIST_BAD_NONE;
}

/* Lays out the status block. */
void wire_hist_put_status(uint8_t out[WIRE_HIST_STATUS_LEN], const wire_hist_block_t *block)
{
    out[0] = (uint8_t)block->status;
    out[1] = block->more ? 1 : 0;
    wire_put_u64(out + 2, block->epoch);
    wire_put_u64(out + 10, block->head);
    wire_put_u64(out + 18, block->first);
}

/* Reads a status block, rejecting values no router sends. */
int wire_hist_get_status(const void *buf, size_t len, wire_hist_block_t *block)
{
    if (len != WIRE_HIST_STATUS_LEN)
        return -1;
    const uint8_t *p = buf;
    if (p[0] >= WIRE_HIST_STATUS__COUNT || p[1] > 1)
        return -1;
    block->status = (wire_hist_status_t)p[0];
    block->more = p[1] == 1;
    block->epoch = wire_get_u64(p + 2);
    block->head = wire_get_u64(p + 10);
    block->first = wire_get_u64(p + 18);
    return 0;
}

/* Checks a reply's framing against its status block. */
int wire_hist_reply_events(size_t nframes, const wire_hist_block_t *block, size_t *events)
{
    if (nframes < 2 || nframes > WIRE_HIST_REPLY_FRAMES_MAX || (nframes - 2) % 2 != 0)
        return -1;
    size_t n = (nframes - 2) / 2;
    if (n > 0 && block->status != WIRE_HIST_OK)
        return -1;
    *events = n;
    return 0;
}

/* Decodes one event header of an ok reply and checks where it stands. */
int wire_hist_check_event(const void *hdr, size_t len, uint64_t epoch, uint64_t after,
                          wire_header_t *h, const char **why)
{
    wire_err_t err = wire_header_decode(hdr, len, h);
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
    return 0;
}
