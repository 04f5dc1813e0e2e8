/*
 * sdk_upstream.c: decoding of the router's upstream messages for one publisher (sdk_upstream.h).
 */
#include "sdk_upstream.h"

#include <string.h>

#include "weft.h"
#include "wire_envelope.h"

/* True when an ack or refusal position names who. */
static bool s_ours(const wire_ack_entry_t *e, const sdk_upstream_who_t *who)
{
    return e->session == who->session && e->pub_id_len == who->id_len &&
           memcmp(e->pub_id, who->id, who->id_len) == 0;
}

/* Reports the highest seq an ack frame acknowledges for who. */
static int s_ack(const void *data, size_t len, const sdk_upstream_who_t *who,
                 const sdk_upstream_hooks_t *hooks, void *arg)
{
    size_t off = 0;
    bool malformed = false;
    wire_ack_entry_t e;
    uint64_t highest = 0;
    while (wire_ack_next(data, len, &off, &e, &malformed))
        if (s_ours(&e, who) && e.pub_seq > highest)
            highest = e.pub_seq;
    if (highest)
        hooks->acked(arg, highest);
    return malformed ? -1 : 0;
}

/* Reports each refusal entry for who, in order. */
static int s_refusal(const void *data, size_t len, const sdk_upstream_who_t *who,
                     const sdk_upstream_hooks_t *hooks, void *arg)
{
    size_t off = 0;
    bool malformed = false;
    wire_refusal_entry_t e;
    while (wire_refusal_next(data, len, &off, &e, &malformed)) {
        if (!s_ours(&e.at, who))
            continue;
        if (e.reason == WIRE_REFUSE_RATE)
            hooks->throttled(arg, e.at.pub_seq);
        else
            hooks->refused(arg, e.at.pub_seq,
                           e.reason == WIRE_REFUSE_ROOM   ? WEFT_EDENIEDROOM
                           : e.reason == WIRE_REFUSE_TYPE ? WEFT_EDENIEDTYPE
                                                          : WEFT_EREFUSED);
    }
    return malformed ? -1 : 0;
}

/* Dispatches one message by its first byte. */
int sdk_upstream_read(const void *data, size_t len, const sdk_upstream_who_t *who,
                      const sdk_upstream_hooks_t *hooks, void *arg, const char **why)
{
    const unsigned char *p = data;
    *why = NULL;
    if (len >= 1 && (p[0] == 0 || p[0] == 1)) {
        hooks->subscription(arg, p[0] == 1);
        return 0;
    }
    if (len >= 1 && p[0] == WIRE_ACK_MAGIC) {
        if (s_ack(data, len, who, hooks, arg) == 0)
            return 0;
        *why = "malformed ack frame";
        return -1;
    }
    if (len >= 1 && p[0] == WIRE_REFUSAL_MAGIC) {
        if (s_refusal(data, len, who, hooks, arg) == 0)
            return 0;
        *why = "malformed refusal frame";
        return -1;
    }
    *why = "unexpected upstream message";
    return -1;
}
