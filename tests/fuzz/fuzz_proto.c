/*
 * fuzz_proto.c: libFuzzer target for the edge's client op parser (edge/src/edge_proto.c): the
 * bytes of one WebSocket text frame, as edge_session.c hands them to edge_proto_parse(), then
 * every reply the edge builds from what was parsed (the success reply, the subscribed/position
 * notices, the error frame that echoes the client's id and room).
 *
 * Every frame the edge sends must be one JSON object with a string "op": the reply to a hostile
 * message is still a message a client can read.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge_frame.h"
#include "edge_proto.h"
#include "fuzz_frames.h"
#include "wire_envelope.h"

/* Checks a frame the edge would send, then drops it. */
static void s_sent(edge_frame_t *frame)
{
    FUZZ_CHECK(frame != NULL);
    const char *body = (const char *)edge_frame_data(frame);
    size_t len = edge_frame_len(frame);
    FUZZ_CHECK(body[len] == '\0');
    json_error_t jerr;
    json_t *obj = json_loadb(body, len, 0, &jerr);
    FUZZ_CHECK(json_is_object(obj));
    FUZZ_CHECK(json_is_string(json_object_get(obj, "op")));
    json_decref(obj);
    edge_frame_unref(&frame);
    FUZZ_CHECK(frame == NULL);
}

/* What a valid request promises the session. */
static void s_valid(const edge_req_t *req)
{
    FUZZ_CHECK(req->err == EDGE_ERR_NONE);
    FUZZ_CHECK(edge_op_name(req->op) != NULL);
    switch (req->op) {
    case EDGE_OP_SUBSCRIBE:
    case EDGE_OP_UNSUBSCRIBE:
        FUZZ_CHECK(req->has_room && req->room_len == strlen(req->room));
        FUZZ_CHECK(wire_pattern_valid(req->room, req->room_len));
        if (req->has_since) {
            FUZZ_CHECK(wire_room_valid(req->room, req->room_len));
            FUZZ_CHECK(req->since_epoch <= (1ull << 53) && req->since_seq <= (1ull << 53));
            s_sent(edge_proto_subscribed(req->room, req->room_len, req->id, true,
                                         req->since_epoch, req->since_seq, "evicted"));
        }
        s_sent(edge_proto_reply(req));
        s_sent(edge_proto_reply_at(req, true, req->since_epoch, req->since_seq));
        if (!wire_pattern_is_prefix(req->room, req->room_len))
            s_sent(edge_proto_position(req->room, req->room_len, 1, 2));
        s_sent(edge_proto_unsubscribed(req->room, req->room_len, "forbidden"));
        break;
    case EDGE_OP_AUTH:
        FUZZ_CHECK(req->token && req->token_len >= 1);
        FUZZ_CHECK(strlen(req->token) <= req->token_len);
        s_sent(edge_proto_authenticated("42", 2000000000, req->id));
        break;
    case EDGE_OP_PING:
        s_sent(edge_proto_reply(req));
        break;
    default:
        FUZZ_CHECK(!"a valid request has a known op");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    edge_req_t req;
    int rc = edge_proto_parse((const char *)data, size, &req);
    if (rc == 0) {
        s_valid(&req);
    } else {
        FUZZ_CHECK(rc == -1 && req.err != EDGE_ERR_NONE && req.err < EDGE_ERR__COUNT);
        FUZZ_CHECK(strcmp(edge_err_name(req.err), "unknown") != 0);
        FUZZ_CHECK(memchr(req.message, '\0', sizeof req.message) != NULL);
        FUZZ_CHECK(!req.has_room || req.room_len <= WIRE_ROOM_MAX);
        s_sent(edge_proto_error(&req));
    }
    /* The session keeps the id of a deferred reply (a subscribe with since) past the request. */
    void *id = edge_req_take_id(&req);
    edge_req_clear(&req);
    edge_req_clear(&req);
    edge_proto_id_free(&id);
    FUZZ_CHECK(id == NULL);
    return 0;
}
