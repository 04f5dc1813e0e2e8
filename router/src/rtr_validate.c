/*
 * rtr_validate.c: envelope and payload checks for intake messages.
 */
#include "rtr_validate.h"

#include <string.h>

/* Checks frames, topic, header and kind; see rtr_validate.h for the order. */
wire_err_t rtr_validate_envelope(size_t nframes, const void *const data[], const size_t len[],
                                 rtr_envelope_t *env)
{
    memset(env, 0, sizeof *env);
    if (nframes != RTR_FRAMES)
        return WIRE_ERR_FRAMES;

    static const char hb[] = WIRE_HEARTBEAT_TOPIC;
    wire_err_t topic_err = WIRE_OK;
    if (len[0] == sizeof hb - 1 && memcmp(data[0], hb, sizeof hb - 1) == 0)
        env->heartbeat = true;
    else
        topic_err = wire_topic_room(data[0], len[0], &env->room, &env->room_len);

    /* Decoded even when the topic is bad, so the publisher still gets its ack. */
    wire_err_t hdr_err = wire_header_decode(data[1], len[1], &env->hdr);
    env->header_ok = hdr_err == WIRE_OK;

    if (topic_err != WIRE_OK)
        return topic_err;
    /* Room heads (kind 3) are the router's own messages to edges; from an agent they are a
     * "kind" error, whatever else the codec would say about them (docs/protocol.md §1). */
    if (len[1] > 1 && ((const uint8_t *)data[1])[1] == WIRE_KIND_HEAD)
        return WIRE_ERR_KIND;
    if (hdr_err != WIRE_OK)
        return hdr_err;
    if (env->heartbeat != (env->hdr.kind == WIRE_KIND_HEARTBEAT))
        return WIRE_ERR_KIND;
    return WIRE_OK;
}

/* Size check, then one jansson parse that must yield an object. */
wire_err_t rtr_validate_payload(const void *data, size_t len, size_t max_payload,
                                rtr_jarena_t *arena, json_t **json_p)
{
    if (json_p)
        *json_p = NULL;
    if (len > max_payload)
        return WIRE_ERR_SIZE;
    if (len == 0 || !data)
        return WIRE_ERR_JSON;
    /* Default flags: the whole buffer must be one value, UTF-8 checked, no NUL in strings
     * (the edge copies the payload into client frames verbatim). */
    if (json_p) {
        json_t *json = json_loadb(data, len, 0, NULL);
        if (!json_is_object(json)) {
            json_decref(json);
            return WIRE_ERR_JSON;
        }
        *json_p = json;
        return WIRE_OK;
    }
    /* Not kept: parsed and freed inside the arena, which is reset on leaving it. */
    rtr_jarena_enter(arena);
    json_t *json = json_loadb(data, len, 0, NULL);
    bool object = json_is_object(json);
    json_decref(json);
    rtr_jarena_leave(arena);
    return object ? WIRE_OK : WIRE_ERR_JSON;
}
