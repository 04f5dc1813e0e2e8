/*
 * fuzz_hist.c: libFuzzer target for the history protocol (sdk/src/wire_hist.c), both sides.
 *
 * Input: one mode byte, then frames (fuzz_frames.h). Modes:
 *   0  a request as the router reads it (wire_hist_parse_request); a valid one must encode back
 *      to the same id and cursor frames.
 *   1  a reply as the edge reads it: id, status block, then (header, payload) pairs, checked
 *      like the edge does (wire_hist_get_id, wire_hist_get_status, wire_hist_reply_events,
 *      wire_hist_check_event in seq order); a status block that reads must write back the same.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_frames.h"
#include "wire_hist.h"

/* Mode 0: the router's side. */
static void s_request(const fuzz_frames_t *f)
{
    wire_hist_request_t req;
    memset(&req, 0xa5, sizeof req);
    wire_hist_bad_t bad = wire_hist_parse_request(f->n, f->data, f->len, &req);
    FUZZ_CHECK(bad < WIRE_HIST_BAD__COUNT);
    FUZZ_CHECK(strcmp(wire_hist_bad_name(bad), "unknown") != 0);
    if (bad == WIRE_HIST_BAD_REQUEST_ID)
        return;
    FUZZ_CHECK(req.has_id && f->len[0] == WIRE_HIST_ID_LEN);
    FUZZ_CHECK(memcmp(req.id, f->data[0], WIRE_HIST_ID_LEN) == 0);
    uint64_t id = 0;
    FUZZ_CHECK(wire_hist_get_id(f->data[0], f->len[0], &id) == 0);
    uint8_t idf[WIRE_HIST_ID_LEN];
    wire_hist_put_id(idf, id);
    FUZZ_CHECK(memcmp(idf, f->data[0], WIRE_HIST_ID_LEN) == 0);
    if (bad != WIRE_HIST_BAD_NONE)
        return;
    FUZZ_CHECK(f->n == WIRE_HIST_REQUEST_FRAMES);
    FUZZ_CHECK(req.room && wire_room_valid(req.room, req.room_len));
    uint8_t cur[WIRE_HIST_CURSOR_LEN];
    wire_hist_put_cursor(cur, req.epoch, req.after_seq, req.max_events);
    FUZZ_CHECK(f->len[2] == WIRE_HIST_CURSOR_LEN && memcmp(cur, f->data[2], sizeof cur) == 0);
}

/* Mode 1: the edge's side. */
static void s_reply(const fuzz_frames_t *f)
{
    uint64_t id;
    if (f->n < 1 || wire_hist_get_id(f->data[0], f->len[0], &id) < 0)
        return;
    wire_hist_block_t block;
    if (f->n < 2 || wire_hist_get_status(f->data[1], f->len[1], &block) < 0)
        return;
    FUZZ_CHECK(block.status < WIRE_HIST_STATUS__COUNT);
    FUZZ_CHECK(strcmp(wire_hist_status_name(block.status), "unknown") != 0);
    uint8_t st[WIRE_HIST_STATUS_LEN];
    wire_hist_put_status(st, &block);
    FUZZ_CHECK(memcmp(st, f->data[1], sizeof st) == 0);

    size_t events = 0;
    if (wire_hist_reply_events(f->n, &block, &events) < 0)
        return;
    FUZZ_CHECK(2 + 2 * events == f->n);
    FUZZ_CHECK(events == 0 || block.status == WIRE_HIST_OK);
    /* The request's after_seq is the edge's own; the harness takes it from the id frame. */
    uint64_t after = id;
    for (size_t i = 0; i < events; i++) {
        wire_header_t h;
        const char *why = NULL;
        if (wire_hist_check_event(f->data[2 + 2 * i], f->len[2 + 2 * i], block.epoch, after, &h,
                                  &why) < 0) {
            FUZZ_CHECK(why && *why);
            return;
        }
        FUZZ_CHECK(h.kind == WIRE_KIND_EVENT && h.epoch == block.epoch && h.seq > after);
        after = h.seq;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_frames_t f;
    fuzz_frames_split(data + 1, size - 1, &f);
    if (data[0] & 1)
        s_reply(&f);
    else
        s_request(&f);
    fuzz_frames_free(&f);
    return 0;
}
