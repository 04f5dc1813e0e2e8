/*
 * rtr_test_util.h: helpers shared by the router unit tests: building wire headers and frames.
 * Header-only (static functions) so each test stays one program.
 */
#ifndef RTR_TEST_UTIL_H
#define RTR_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "wire_envelope.h"

/* Encodes an event header for (pub_id, session, pub_seq, type) into buf; returns its length. */
static inline size_t rtr_test_event_header(uint8_t *buf, size_t cap, const char *pub_id,
                                           uint64_t session, uint64_t pub_seq, const char *type)
{
    wire_header_t h = {.kind = WIRE_KIND_EVENT,
                       .session = session,
                       .pub_seq = pub_seq,
                       .ts_ns = 1790000000123456789ULL,
                       .pub_id = pub_id,
                       .pub_id_len = (uint8_t)strlen(pub_id),
                       .type = type,
                       .type_len = (uint8_t)strlen(type)};
    return wire_header_encode(&h, buf, cap);
}

/* Encodes a heartbeat header (kind 2, no type) into buf; returns its length. */
static inline size_t rtr_test_heartbeat_header(uint8_t *buf, size_t cap, const char *pub_id,
                                               uint64_t session, uint64_t last_seq)
{
    wire_header_t h = {.kind = WIRE_KIND_HEARTBEAT,
                       .session = session,
                       .pub_seq = last_seq,
                       .ts_ns = 1790000000123456789ULL,
                       .pub_id = pub_id,
                       .pub_id_len = (uint8_t)strlen(pub_id)};
    return wire_header_encode(&h, buf, cap);
}

#endif
