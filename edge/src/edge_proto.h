/*
 * edge_proto.h: the client protocol (docs/protocol.md section 2): parsing what browsers send
 * and building what the edge answers.
 *
 * A client message is one JSON object in one text frame. edge_proto_parse() turns it into an
 * edge_req_t or an error code with a human message; the builders turn a request (and its
 * optional "id", echoed verbatim) into a ready-to-queue edge_frame_t. Event frames are built by
 * edge_frame_event(), once per event, not here.
 */
#ifndef EDGE_PROTO_H
#define EDGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge_frame.h"
#include "wire_envelope.h"

/* Client operations. */
typedef enum edge_op {
    EDGE_OP_NONE = 0, /* not known (parse error before or at "op") */
    EDGE_OP_SUBSCRIBE,
    EDGE_OP_UNSUBSCRIBE,
    EDGE_OP_PING,
    EDGE_OP_AUTH /* {"op":"auth","token":T}: authenticate or refresh (docs/protocol.md 3) */
} edge_op_t;

/* Error codes sent in error frames; X(enum suffix, wire name). One table makes the enum, the
 * names and the counters' labels, so they cannot drift. */
#define EDGE_PROTO_ERRORS(X)                                                                       \
    X(BAD_JSON, "bad_json")                                                                        \
    X(NOT_OBJECT, "not_object")                                                                    \
    X(MISSING_FIELD, "missing_field")                                                              \
    X(BAD_FIELD, "bad_field")                                                                      \
    X(UNKNOWN_OP, "unknown_op")                                                                    \
    X(INVALID_ROOM, "invalid_room")                                                                \
    X(NOT_SUBSCRIBED, "not_subscribed")                                                            \
    X(BAD_SINCE, "bad_since")                                                                      \
    X(RATE_LIMITED, "rate_limited")                                                                \
    X(TOO_MANY_SUBSCRIPTIONS, "too_many_subscriptions")                                            \
    X(FORBIDDEN, "forbidden")                                                                      \
    X(UNAUTHORIZED, "unauthorized")                                                                \
    X(AUTH_REQUIRED, "auth_required")                                                              \
    X(TOO_DEEP, "too_deep")

/* The X-macro expansion confuses clang-format. */
/* clang-format off */
typedef enum edge_err {
    EDGE_ERR_NONE = 0,
#define X(name, text) EDGE_ERR_##name,
    EDGE_PROTO_ERRORS(X)
#undef X
    EDGE_ERR__COUNT
} edge_err_t;
/* clang-format on */

/* A parsed client message. Fill with edge_proto_parse(); release with edge_req_clear(). */
typedef struct edge_req {
    edge_op_t op;                 /* the operation, or EDGE_OP_NONE when not known */
    char room[WIRE_ROOM_MAX + 1]; /* room or pattern, NUL-terminated (subscribe/unsubscribe) */
    size_t room_len;              /* bytes in room; 0 when absent */
    bool has_room;                /* room holds the client's value (also when it is invalid) */
    bool has_since;               /* subscribe carried a valid "since" cursor */
    bool unbatched;               /* subscribe carried "batch": false */
    uint64_t since_epoch;         /* its epoch (0 .. 2^53) */
    uint64_t since_seq;           /* its seq (0 .. 2^53) */
    char *token;                  /* auth: the token (NUL-terminated copy), owned; else NULL */
    size_t token_len;             /* bytes in token */
    void *id;                     /* the client's "id" (a jansson value) or NULL; owned */
    edge_err_t err;               /* EDGE_ERR_NONE when the request is valid */
    char message[160];            /* human-readable reason when err is set */
} edge_req_t;

/* Stable wire name of an error code ("bad_json", ...); "unknown" when out of range. */
const char *edge_err_name(edge_err_t err);

/* Wire name of an op ("subscribe", ...), or NULL for EDGE_OP_NONE. */
const char *edge_op_name(edge_op_t op);

/*
 * Parses one client text message of len bytes (need not be NUL-terminated). Returns 0 with
 * req->err == EDGE_ERR_NONE, or -1 with req->err and req->message set; in both cases req->op,
 * req->room and req->id hold whatever could be read, so the error reply can name them. Always
 * call edge_req_clear(req) afterwards.
 */
int edge_proto_parse(const char *text, size_t len, edge_req_t *req);

/* Sets req->err and a formatted message (used for errors found after parsing). */
void edge_req_fail(edge_req_t *req, edge_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Releases what req owns (the id, the token). Safe to call twice. */
void edge_req_clear(edge_req_t *req);

/* Takes the request's id out of req (the caller owns it: edge_proto_id_free()); NULL if none. */
void *edge_req_take_id(edge_req_t *req);

/* Frees an id taken with edge_req_take_id() and nulls *id_p. NULL-safe. */
void edge_proto_id_free(void **id_p);

/* {"op":"welcome","edge":ID,"protocol":WEFT_CLIENT_PROTOCOL,"max_message":N,"auth":A} and,
 * when sub is not NULL, "sub":S,"exp":E (A is "none", "required" or "ok"). NULL on OOM. */
edge_frame_t *edge_proto_welcome(const char *edge_id, size_t max_message, const char *auth,
                                 const char *sub, int64_t exp);

/* {"op":"authenticated","sub":S,"exp":E,"id"?:I}: the answer to an accepted auth (id: the
 * request's, or NULL). NULL on OOM. */
edge_frame_t *edge_proto_authenticated(const char *sub, int64_t exp, const void *id);

/* {"op":"unsubscribed","room":R,"reason":W}: the edge left a room on its own (reason
 * "forbidden": a refreshed token no longer allows it). NULL on OOM. */
edge_frame_t *edge_proto_unsubscribed(const char *room, size_t room_len, const char *reason);

/* The success reply to a valid request: subscribed/unsubscribed {room} or pong, with "id". */
edge_frame_t *edge_proto_reply(const edge_req_t *req);

/* edge_proto_reply() of a subscribe without since, with the room's position at this edge when
 * it has one ("epoch":E,"seq":S: every event after it will be delivered), so that a client that
 * disconnects before its first event still has a cursor. */
edge_frame_t *edge_proto_reply_at(const edge_req_t *req, bool has_pos, uint64_t epoch,
                                  uint64_t seq);

/*
 * {"op":"subscribed","room":R,"recovered":B,"epoch":E,"seq":S,"reason"?:W,"id"?:I}: the answer
 * to a subscribe with since (id: the request's, or NULL) or an unsolicited notice that a room's
 * stream broke (id NULL). reason is left out when it is NULL or empty. NULL on OOM.
 */
edge_frame_t *edge_proto_subscribed(const char *room, size_t room_len, const void *id,
                                    bool recovered, uint64_t epoch, uint64_t seq,
                                    const char *reason);

/* {"op":"position","room":R,"epoch":E,"seq":S}: a room new to the edge has its position now
 * (every later event follows it); sent to its listeners before any of its events. NULL on OOM. */
edge_frame_t *edge_proto_position(const char *room, size_t room_len, uint64_t epoch, uint64_t seq);

/* {"op":"error","code","message","for"?, "room"?, "id"?} from req->err and req->message. */
edge_frame_t *edge_proto_error(const edge_req_t *req);

#endif
