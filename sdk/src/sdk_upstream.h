/*
 * sdk_upstream.h: what the router sends one publisher upstream, decoded (docs/protocol.md,
 * "Sockets", "Acknowledgements", "Refusals").
 *
 * The router's XSUB sends every publisher the same messages: its subscription (\x01 / \x00),
 * ack frames and refusal frames, each holding entries for many publishers. This module picks out
 * the entries for one (publisher id, session) and reports them through hooks, so the publisher
 * (weft_pub.c) only applies them. Pure: no socket, no lock, no allocation.
 */
#ifndef SDK_UPSTREAM_H
#define SDK_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one message says to the publisher. Every hook is required; arg is passed through. */
typedef struct sdk_upstream_hooks {
    void (*subscription)(void *arg, bool present); /* \x01 (present) or \x00 */
    void (*acked)(void *arg, uint64_t highest);    /* highest seq acked for us in an ack frame */
    void (*refused)(void *arg, uint64_t seq, int reason); /* final: WEFT_EDENIED*, EREFUSED */
    void (*throttled)(void *arg, uint64_t seq); /* rate_limited: seq and later not taken */
} sdk_upstream_hooks_t;

/* The publisher the messages are read for. */
typedef struct sdk_upstream_who {
    const char *id;   /* publisher id (not necessarily NUL-terminated) */
    size_t id_len;    /* bytes in id */
    uint64_t session; /* the publisher's session */
} sdk_upstream_who_t;

/*
 * Reads one single-part upstream message and calls the hooks for what concerns who. Returns 0,
 * or -1 when the message is not one of the router's (or a malformed frame, whose entries before
 * the fault were still reported); *why then names the problem for a log line.
 */
int sdk_upstream_read(const void *data, size_t len, const sdk_upstream_who_t *who,
                      const sdk_upstream_hooks_t *hooks, void *arg, const char **why);

#endif
