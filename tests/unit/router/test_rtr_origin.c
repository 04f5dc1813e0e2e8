/*
 * test_rtr_origin.c: the router's own messages on a real XPUB (inproc): an event is stamped with
 * the room's next seq, kept in the room's history and sent as topic, header and payload under
 * publisher "router", session 1, its own publisher seq; an invalid room is refused and counted;
 * heads go out for recently stamped rooms only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zmq.h>

#include "rtr_origin.h"
#include "wire_envelope.h"

#define EPOCH 4242

/* The fixture: an XPUB with one SUB subscribed to everything, and the tables. */
typedef struct {
    void *ctx, *xpub, *sub;
    rtr_rooms_t *rooms;
    rtr_history_t *history;
    rtr_stats_t stats;
    rtr_origin_t *origin;
} fx_t;

/* Builds the fixture and waits until the XPUB has the subscription. */
static int s_setup(void **state)
{
    static fx_t fx;
    memset(&fx, 0, sizeof fx);
    fx.ctx = zmq_ctx_new();
    fx.xpub = zmq_socket(fx.ctx, ZMQ_XPUB);
    fx.sub = zmq_socket(fx.ctx, ZMQ_SUB);
    assert_int_equal(zmq_bind(fx.xpub, "inproc://origin"), 0);
    assert_int_equal(zmq_connect(fx.sub, "inproc://origin"), 0);
    assert_int_equal(zmq_setsockopt(fx.sub, ZMQ_SUBSCRIBE, "", 0), 0);
    char sub[8];
    assert_int_equal(zmq_recv(fx.xpub, sub, sizeof sub, 0), 1); /* "\x01": subscribed */
    fx.rooms = rtr_rooms_new();
    rtr_history_limits_t limits = {.max_events = 100, .max_age_ms = 60000, .max_bytes = 1 << 20};
    fx.history = rtr_history_new(&limits);
    fx.origin = rtr_origin_new(fx.xpub, fx.rooms, fx.history, EPOCH, &fx.stats, NULL);
    assert_non_null(fx.origin);
    *state = &fx;
    return 0;
}

/* Frees the fixture. */
static int s_teardown(void **state)
{
    fx_t *fx = *state;
    rtr_origin_destroy(&fx->origin);
    assert_null(fx->origin);
    rtr_history_destroy(&fx->history);
    rtr_rooms_destroy(&fx->rooms);
    zmq_close(fx->sub);
    zmq_close(fx->xpub);
    zmq_ctx_term(fx->ctx);
    return 0;
}

/* Receives one three-frame message: topic, decoded header, payload (NUL-terminated). */
static void s_recv(fx_t *fx, char *topic, uint8_t *hdr_buf, wire_header_t *h, char *payload)
{
    int n = zmq_recv(fx->sub, topic, WIRE_TOPIC_MAX, 0);
    assert_true(n > 0);
    topic[n] = '\0';
    n = zmq_recv(fx->sub, hdr_buf, WIRE_HEADER_MAX, 0);
    assert_true(n > 0);
    assert_int_equal(wire_header_decode(hdr_buf, (size_t)n, h), WIRE_OK);
    n = zmq_recv(fx->sub, payload, 255, 0);
    assert_true(n >= 0);
    payload[n] = '\0';
    int more = 1;
    size_t len = sizeof more;
    assert_int_equal(zmq_getsockopt(fx->sub, ZMQ_RCVMORE, &more, &len), 0);
    assert_int_equal(more, 0);
}

/* Events: stamped, kept and sent like an agent's, under the router's own publisher seq. */
static void test_event(void **state)
{
    fx_t *fx = *state;
    const char *json = "{\"publisher_id\":\"a\"}";
    assert_int_equal(
        rtr_origin_event(fx->origin, "presence", 8, "agent.connected", json, strlen(json), 1000),
        0);
    assert_int_equal(rtr_origin_event(fx->origin, "presence", 8, "agent.present", "{}", 2, 1001),
                     0);
    char topic[WIRE_TOPIC_MAX + 1], payload[256];
    uint8_t hdr[WIRE_HEADER_MAX];
    wire_header_t h;
    s_recv(fx, topic, hdr, &h, payload);
    char want_topic[WIRE_TOPIC_MAX];
    size_t want_len = wire_topic_for_room("presence", 8, want_topic);
    assert_int_equal(strlen(topic), want_len);
    assert_memory_equal(topic, want_topic, want_len);
    assert_int_equal(h.kind, WIRE_KIND_EVENT);
    assert_int_equal(h.session, 1);
    assert_int_equal(h.pub_seq, 1);
    assert_int_equal(h.epoch, EPOCH);
    assert_int_equal(h.seq, 1);
    assert_int_equal(h.pub_id_len, 6);
    assert_memory_equal(h.pub_id, "router", 6);
    assert_int_equal(h.type_len, strlen("agent.connected"));
    assert_memory_equal(h.type, "agent.connected", h.type_len);
    assert_true(h.ts_ns > 1600000000ULL * 1000000000ULL);
    assert_string_equal(payload, json);
    s_recv(fx, topic, hdr, &h, payload);
    assert_int_equal(h.pub_seq, 2);
    assert_int_equal(h.seq, 2);
    assert_string_equal(payload, "{}");
    rtr_room_t *room = rtr_rooms_lookup(fx->rooms, "presence", 8);
    assert_non_null(room);
    assert_int_equal(rtr_room_last_seq(room), 2);
    assert_int_equal(rtr_history_events(fx->history), 2);
    assert_int_equal(fx->stats.send_errors, 0);
    /* An invalid room sends nothing and is counted. */
    assert_int_equal(rtr_origin_event(fx->origin, "bad room", 8, "agent.connected", "{}", 2, 1002),
                     -1);
    assert_int_equal(fx->stats.send_errors, 1);
    assert_int_equal(rtr_history_events(fx->history), 2);
    assert_int_equal(zmq_recv(fx->sub, topic, sizeof topic, ZMQ_DONTWAIT), -1);
}

/* Heads: one per room stamped within the linger, carrying its position. */
static void test_heads(void **state)
{
    fx_t *fx = *state;
    rtr_room_t *idle = rtr_rooms_ensure(fx->rooms, "idle", 4, 100);
    (void)rtr_rooms_stamp(fx->rooms, idle, 100);
    rtr_room_t *busy = rtr_rooms_ensure(fx->rooms, "busy", 4, 5000);
    (void)rtr_rooms_stamp(fx->rooms, busy, 5000);
    (void)rtr_rooms_stamp(fx->rooms, busy, 5000);
    (void)rtr_rooms_stamp(fx->rooms, busy, 5000);
    rtr_origin_heads(fx->origin, 6000, 2000);
    assert_int_equal(fx->stats.heads_sent, 1);
    char topic[WIRE_TOPIC_MAX + 1], payload[256];
    uint8_t hdr[WIRE_HEADER_MAX];
    wire_header_t h;
    s_recv(fx, topic, hdr, &h, payload);
    assert_memory_equal(topic, "busy", 4);
    assert_int_equal(h.kind, WIRE_KIND_HEAD);
    assert_int_equal(h.epoch, EPOCH);
    assert_int_equal(h.seq, 3);
    assert_string_equal(payload, "{}");
    assert_int_equal(zmq_recv(fx->sub, topic, sizeof topic, ZMQ_DONTWAIT), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_heads, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
