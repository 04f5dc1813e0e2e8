/*
 * edge_proto.c: client message parsing and reply frames (see edge_proto.h).
 *
 * Parsing uses jansson once per message; replies are small and rare next to events, so they are
 * built as jansson objects and dumped compactly with keys in insertion order ("op" first).
 */
#include "edge_proto.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_jdepth.h"
#include "weft/version.h"

static const char *const s_err_names[EDGE_ERR__COUNT] = {[EDGE_ERR_NONE] = "none",
#define X(name, text) [EDGE_ERR_##name] = text,
                                                         EDGE_PROTO_ERRORS(X)
#undef X
};

/* Client op names, indexed by edge_op_t. */
static const char *const s_op_names[] = {
    [EDGE_OP_NONE] = NULL,
    [EDGE_OP_SUBSCRIBE] = "subscribe",
    [EDGE_OP_UNSUBSCRIBE] = "unsubscribe",
    [EDGE_OP_PING] = "ping",
    [EDGE_OP_AUTH] = "auth",
};

const char *edge_err_name(edge_err_t err)
{
    if ((unsigned)err >= EDGE_ERR__COUNT)
        return "unknown";
    return s_err_names[err];
}

const char *edge_op_name(edge_op_t op)
{
    if ((unsigned)op >= sizeof s_op_names / sizeof s_op_names[0])
        return NULL;
    return s_op_names[op];
}

void edge_req_fail(edge_req_t *req, edge_err_t err, const char *fmt, ...)
{
    req->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->message, sizeof req->message, fmt, ap);
    va_end(ap);
    /* The message may quote the client's bytes (jansson's error text near invalid UTF-8, an
     * op name cut at 40 bytes inside a character) and the error frame must be valid UTF-8, or
     * it cannot be built and the client gets no answer (found by fuzz_proto): such a message
     * becomes ASCII. Error path only, so the check's allocation does not matter. */
    json_t *probe = json_string(req->message);
    if (!probe)
        for (char *p = req->message; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
    json_decref(probe);
}

void edge_req_clear(edge_req_t *req)
{
    if (!req)
        return;
    json_t *id = req->id;
    json_decref(id);
    req->id = NULL;
    free(req->token);
    req->token = NULL;
    req->token_len = 0;
}

void *edge_req_take_id(edge_req_t *req)
{
    void *id = req->id;
    req->id = NULL;
    return id;
}

void edge_proto_id_free(void **id_p)
{
    if (!id_p || !*id_p)
        return;
    json_decref((json_t *)*id_p);
    *id_p = NULL;
}

/* The largest cursor number: every integer up to 2^53 is exact as a JavaScript number. */
#define S_SINCE_MAX (1ull << 53)

/* Reads one cursor field: a JSON integer in [0, 2^53]. Returns 0, or -1. */
static int s_since_field(json_t *since, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(since, key);
    if (!json_is_integer(v))
        return -1;
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n > S_SINCE_MAX)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

/* Parses "since" of a subscribe (exact rooms only). Returns 0 (absent or valid), -1 on error. */
static int s_parse_since(json_t *root, edge_req_t *req)
{
    json_t *since = json_object_get(root, "since");
    if (!since)
        return 0;
    if (!json_is_object(since) || s_since_field(since, "epoch", &req->since_epoch) < 0 ||
        s_since_field(since, "seq", &req->since_seq) < 0) {
        edge_req_fail(req, EDGE_ERR_BAD_SINCE,
                      "'since' must be {\"epoch\":E,\"seq\":S} with integers in 0..2^53");
        return -1;
    }
    if (wire_pattern_is_prefix(req->room, req->room_len)) {
        edge_req_fail(req, EDGE_ERR_BAD_SINCE, "'since' needs an exact room, not a pattern");
        return -1;
    }
    req->has_since = true;
    return 0;
}

/* Parses "batch" of a subscribe: absent or true = batched delivery (the default), false =
 * unbatched. Returns 0, or -1 when it is not a boolean. */
static int s_parse_batch(json_t *root, edge_req_t *req)
{
    json_t *batch = json_object_get(root, "batch");
    if (!batch)
        return 0;
    if (!json_is_boolean(batch)) {
        edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'batch' must be true or false");
        return -1;
    }
    req->unbatched = json_is_false(batch);
    return 0;
}

/* True for the ops that take a room. */
static bool s_op_has_room(edge_op_t op)
{
    return op == EDGE_OP_SUBSCRIBE || op == EDGE_OP_UNSUBSCRIBE;
}

/* Copies "token" of an auth (a non-empty string; its length and content are the verifier's to
 * judge). Returns 0, or -1 with the error set. */
static int s_parse_token(json_t *root, edge_req_t *req)
{
    json_t *token = json_object_get(root, "token");
    if (!token) {
        edge_req_fail(req, EDGE_ERR_MISSING_FIELD, "missing field 'token'");
        return -1;
    }
    if (!json_is_string(token) || json_string_length(token) == 0) {
        edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'token' must be a non-empty string");
        return -1;
    }
    req->token_len = json_string_length(token);
    req->token = malloc(req->token_len + 1);
    if (!req->token) {
        req->token_len = 0;
        edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'token': out of memory");
        return -1;
    }
    memcpy(req->token, json_string_value(token), req->token_len + 1);
    return 0;
}

int edge_proto_parse(const char *text, size_t len, edge_req_t *req)
{
    memset(req, 0, sizeof *req);
    /* Before jansson, which would recurse and allocate once per level. */
    if (edge_jdepth_over(text, len, EDGE_JDEPTH_MAX)) {
        edge_req_fail(req, EDGE_ERR_TOO_DEEP, "JSON nested deeper than %d levels", EDGE_JDEPTH_MAX);
        return -1;
    }
    json_error_t jerr;
    /* DECODE_ANY so that a valid non-object ("42") is not_object rather than bad_json. */
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        edge_req_fail(req, EDGE_ERR_BAD_JSON, "invalid JSON at byte %d: %s", jerr.position,
                      jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        edge_req_fail(req, EDGE_ERR_NOT_OBJECT, "a message must be a JSON object");
        goto fail;
    }
    /* Keep the id first, so that every later error can still echo it. */
    json_t *id = json_object_get(root, "id");
    if (id && !json_is_string(id) && !json_is_number(id)) {
        edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'id' must be a string or a number");
        goto fail;
    }
    req->id = json_incref(id);

    json_t *op = json_object_get(root, "op");
    if (!op) {
        edge_req_fail(req, EDGE_ERR_MISSING_FIELD, "missing field 'op'");
        goto fail;
    }
    if (!json_is_string(op)) {
        edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'op' must be a string");
        goto fail;
    }
    const char *name = json_string_value(op);
    for (edge_op_t o = EDGE_OP_SUBSCRIBE; o <= EDGE_OP_AUTH; o++)
        if (strcmp(name, s_op_names[o]) == 0 && json_string_length(op) == strlen(name))
            req->op = o;
    if (req->op == EDGE_OP_NONE) {
        edge_req_fail(req, EDGE_ERR_UNKNOWN_OP, "unknown op '%.40s'", name);
        goto fail;
    }

    if (req->op == EDGE_OP_AUTH && s_parse_token(root, req) < 0)
        goto fail;
    if (s_op_has_room(req->op)) {
        json_t *room = json_object_get(root, "room");
        if (!room) {
            edge_req_fail(req, EDGE_ERR_MISSING_FIELD, "missing field 'room'");
            goto fail;
        }
        if (!json_is_string(room)) {
            edge_req_fail(req, EDGE_ERR_BAD_FIELD, "'room' must be a string");
            goto fail;
        }
        const char *r = json_string_value(room);
        size_t rlen = json_string_length(room);
        /* Remember it even when invalid, so the error can say which room; longer values are
         * not echoed (they cannot be rooms, and a client does not need its own 64 KiB back). */
        if (rlen <= WIRE_ROOM_MAX) {
            memcpy(req->room, r, rlen);
            req->room[rlen] = '\0';
            req->room_len = rlen;
            req->has_room = true;
        }
        if (!wire_pattern_valid(r, rlen) || strlen(r) != rlen) {
            edge_req_fail(req, EDGE_ERR_INVALID_ROOM,
                          "a room is [A-Za-z0-9_.:-]{1,128}, optionally ending in '*'");
            goto fail;
        }
        if (req->op == EDGE_OP_SUBSCRIBE && s_parse_since(root, req) < 0)
            goto fail;
        if (req->op == EDGE_OP_SUBSCRIBE && s_parse_batch(root, req) < 0)
            goto fail;
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    return -1;
}

/* Dumps obj (consumed) into a new frame. */
static edge_frame_t *s_frame_of(json_t *obj)
{
    if (!obj)
        return NULL;
    edge_frame_t *frame = NULL;
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (text) {
        frame = edge_frame_from(text, strlen(text));
        free(text);
    }
    json_decref(obj);
    return frame;
}

/* Adds "id" when the request had one. Returns 0, -1 on OOM. */
static int s_add_id(json_t *obj, const edge_req_t *req)
{
    if (!req->id)
        return 0;
    return json_object_set(obj, "id", (json_t *)req->id);
}

edge_frame_t *edge_proto_welcome(const char *edge_id, size_t max_message, const char *auth,
                                 const char *sub, int64_t exp)
{
    json_t *obj = json_pack("{s:s, s:s, s:i, s:I, s:s}", "op", "welcome", "edge", edge_id,
                            "protocol", WEFT_CLIENT_PROTOCOL, "max_message",
                            (json_int_t)max_message, "auth", auth);
    if (obj && sub &&
        (json_object_set_new(obj, "sub", json_string(sub)) < 0 ||
         json_object_set_new(obj, "exp", json_integer((json_int_t)exp)) < 0)) {
        json_decref(obj);
        return NULL;
    }
    return s_frame_of(obj);
}

edge_frame_t *edge_proto_authenticated(const char *sub, int64_t exp, const void *id)
{
    json_t *obj = json_pack("{s:s, s:s, s:I}", "op", "authenticated", "sub", sub, "exp",
                            (json_int_t)exp);
    if (obj && id && json_object_set(obj, "id", (json_t *)id) < 0) {
        json_decref(obj);
        return NULL;
    }
    return s_frame_of(obj);
}

edge_frame_t *edge_proto_unsubscribed(const char *room, size_t room_len, const char *reason)
{
    return s_frame_of(json_pack("{s:s, s:o, s:s}", "op", "unsubscribed", "room",
                                json_stringn_nocheck(room, room_len), "reason", reason));
}

edge_frame_t *edge_proto_reply(const edge_req_t *req)
{
    return edge_proto_reply_at(req, false, 0, 0);
}

edge_frame_t *edge_proto_reply_at(const edge_req_t *req, bool has_pos, uint64_t epoch, uint64_t seq)
{
    json_t *obj = NULL;
    switch (req->op) {
    case EDGE_OP_SUBSCRIBE:
    case EDGE_OP_UNSUBSCRIBE:
        obj = json_pack("{s:s, s:s#}", "op",
                        req->op == EDGE_OP_SUBSCRIBE ? "subscribed" : "unsubscribed", "room",
                        req->room, (int)req->room_len);
        /* Confirms an unbatched subscription; batched is the default and is not repeated. */
        if (obj && req->op == EDGE_OP_SUBSCRIBE && req->unbatched &&
            json_object_set_new(obj, "batch", json_false()) < 0) {
            json_decref(obj);
            return NULL;
        }
        if (obj && req->op == EDGE_OP_SUBSCRIBE && has_pos &&
            (json_object_set_new(obj, "epoch", json_integer((json_int_t)epoch)) < 0 ||
             json_object_set_new(obj, "seq", json_integer((json_int_t)seq)) < 0)) {
            json_decref(obj);
            return NULL;
        }
        break;
    case EDGE_OP_PING:
        obj = json_pack("{s:s}", "op", "pong");
        break;
    case EDGE_OP_AUTH: /* answered with edge_proto_authenticated() */
    case EDGE_OP_NONE:
        return NULL;
    }
    if (obj && s_add_id(obj, req) < 0) {
        json_decref(obj);
        return NULL;
    }
    return s_frame_of(obj);
}

edge_frame_t *edge_proto_subscribed(const char *room, size_t room_len, const void *id,
                                    bool recovered, uint64_t epoch, uint64_t seq,
                                    const char *reason)
{
    /* Room names need no escaping (their alphabet is checked), so no UTF-8 scan either. */
    json_t *obj = json_pack("{s:s, s:o, s:b, s:I, s:I}", "op", "subscribed", "room",
                            json_stringn_nocheck(room, room_len), "recovered", recovered, "epoch",
                            (json_int_t)epoch, "seq", (json_int_t)seq);
    if (!obj)
        return NULL;
    int rc = 0;
    if (reason && reason[0])
        rc |= json_object_set_new(obj, "reason", json_string(reason));
    if (id)
        rc |= json_object_set(obj, "id", (json_t *)id);
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return s_frame_of(obj);
}

edge_frame_t *edge_proto_position(const char *room, size_t room_len, uint64_t epoch, uint64_t seq)
{
    json_t *obj = json_pack("{s:s, s:o, s:I, s:I}", "op", "position", "room",
                            json_stringn_nocheck(room, room_len), "epoch", (json_int_t)epoch, "seq",
                            (json_int_t)seq);
    return obj ? s_frame_of(obj) : NULL;
}

edge_frame_t *edge_proto_error(const edge_req_t *req)
{
    json_t *obj = json_pack("{s:s, s:s, s:s}", "op", "error", "code", edge_err_name(req->err),
                            "message", req->message);
    if (!obj)
        return NULL;
    int rc = 0;
    const char *op = edge_op_name(req->op);
    if (op)
        rc |= json_object_set_new(obj, "for", json_string(op));
    if (req->has_room && s_op_has_room(req->op)) {
        /* jansson checked the UTF-8 when it parsed the request: no second scan. */
        json_t *room = json_stringn_nocheck(req->room, req->room_len);
        rc |= json_object_set_new(obj, "room", room);
    }
    rc |= s_add_id(obj, req);
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return s_frame_of(obj);
}
