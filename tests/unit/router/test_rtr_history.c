/*
 * test_rtr_history.c: the history store: paging and `more`, the count, age and byte limits,
 * first/head for empty and evicted rooms, and the memory accounting. Time is injected, so the
 * age tests never sleep. Also the store's usage example: stamp with the room table, append the
 * stamped frames, page with rtr_history_query().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtr_history.h"
#include "rtr_rooms.h"
#include "rtr_test_util.h"

#define PAGE_CAP 64 /* events one test query can return */

/* A store, a room table and scratch for queries. */
typedef struct {
    rtr_rooms_t *rooms;                 /* the room table issuing seqs */
    rtr_history_t *hist;                /* the store under test */
    rtr_history_event_t page[PAGE_CAP]; /* query output */
    rtr_history_page_t info;            /* query result */
} fixture_t;

/* Creates the fixture with these limits. */
static void s_open(fixture_t *f, size_t max_events, uint64_t max_age_ms, size_t max_bytes)
{
    memset(f, 0, sizeof *f);
    f->rooms = rtr_rooms_new();
    assert_non_null(f->rooms);
    rtr_history_limits_t lim = {max_events, max_age_ms, max_bytes};
    f->hist = rtr_history_new(&lim);
    assert_non_null(f->hist);
}

/* Frees the fixture: the store first, as the router does. */
static void s_close(fixture_t *f)
{
    rtr_history_destroy(&f->hist);
    assert_null(f->hist);
    rtr_history_destroy(&f->hist); /* NULL-safe */
    rtr_rooms_destroy(&f->rooms);
}

/* The payload published as event number seq of a room: distinct bytes per (room, seq). */
static size_t s_payload(char *buf, size_t cap, const char *room, uint64_t seq, size_t pad)
{
    int n = snprintf(buf, cap, "{\"room\":\"%s\",\"n\":%llu,\"pad\":\"%*s\"}", room,
                     (unsigned long long)seq, (int)pad, "");
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Publishes one event in room as the router would: stamp, then append the stamped frames.
 * pad grows the payload. Returns the seq. */
static uint64_t s_publish(fixture_t *f, const char *room_name, size_t pad, uint64_t now_ms)
{
    rtr_room_t *room = rtr_rooms_ensure(f->rooms, room_name, strlen(room_name), now_ms);
    assert_non_null(room);
    uint64_t seq = rtr_rooms_stamp(f->rooms, room, now_ms);
    uint8_t hdr[WIRE_HEADER_MAX];
    size_t hlen = rtr_test_event_header(hdr, sizeof hdr, "agent-1", 7, seq, "task.progress");
    assert_true(hlen > 0);
    wire_header_stamp(hdr, 42, seq);
    char payload[2048];
    size_t plen = s_payload(payload, sizeof payload, room_name, seq, pad);
    assert_int_equal(rtr_history_append(f->hist, room, seq, hdr, hlen, payload, plen, now_ms), 0);
    return seq;
}

/* Queries room (NULL when it does not exist) after after_seq. */
static void s_query(fixture_t *f, const char *room_name, uint64_t after_seq, size_t max_events,
                    size_t max_bytes, uint64_t now_ms)
{
    rtr_room_t *room = rtr_rooms_lookup(f->rooms, room_name, strlen(room_name));
    rtr_history_query(f->hist, room, after_seq, max_events, max_bytes, now_ms, f->page, &f->info);
}

/* Checks that page entry i is event seq of room, with the exact stamped header and payload. */
static void s_check_event(const fixture_t *f, size_t i, const char *room, uint64_t seq, size_t pad)
{
    const rtr_history_event_t *e = &f->page[i];
    assert_int_equal(e->seq, seq);
    wire_header_t h;
    assert_int_equal(wire_header_decode(e->header, e->header_len, &h), WIRE_OK);
    assert_int_equal(h.epoch, 42);
    assert_int_equal(h.seq, seq);
    assert_int_equal(h.pub_seq, seq);
    char want[2048];
    size_t wlen = s_payload(want, sizeof want, room, seq, pad);
    assert_int_equal(e->payload_len, wlen);
    assert_memory_equal(e->payload, want, wlen);
}

/* Pages of 4 over 10 events: seqs in order, `more` until the last page, nothing after head. */
static void test_paging(void **state)
{
    (void)state;
    fixture_t f;
    s_open(&f, 1000, 300000, 1 << 30);
    for (int i = 0; i < 10; i++)
        s_publish(&f, "project:1", 0, 0);
    s_publish(&f, "project:2", 0, 0);

    uint64_t after = 0;
    size_t pages = 0;
    do {
        s_query(&f, "project:1", after, 4, 1 << 20, 0);
        assert_false(f.info.too_old);
        assert_int_equal(f.info.head, 10);
        assert_int_equal(f.info.first, 1);
        for (size_t i = 0; i < f.info.count; i++)
            s_check_event(&f, i, "project:1", after + 1 + i, 0);
        after += f.info.count;
        pages++;
        assert_int_equal(f.info.more, after < 10);
    } while (f.info.more);
    assert_int_equal(pages, 3);
    assert_int_equal(after, 10);

    /* Caught up, or ahead of head: ok with no events. */
    s_query(&f, "project:1", 10, 4, 1 << 20, 0);
    assert_int_equal(f.info.count, 0);
    assert_false(f.info.more);
    assert_false(f.info.too_old);
    s_query(&f, "project:1", 99, 4, 1 << 20, 0);
    assert_int_equal(f.info.count, 0);
    assert_false(f.info.too_old);

    /* A room never published: head 0, first 1, nothing is ever too old. */
    s_query(&f, "nobody", 0, 4, 1 << 20, 0);
    assert_int_equal(f.info.head, 0);
    assert_int_equal(f.info.first, 1);
    assert_int_equal(f.info.count, 0);
    assert_false(f.info.too_old);
    assert_false(f.info.more);

    /* The byte limit cuts a page, but a page always holds one event. */
    s_query(&f, "project:1", 0, 10, 1, 0);
    assert_int_equal(f.info.count, 1);
    assert_true(f.info.more);
    size_t one = f.page[0].header_len + f.page[0].payload_len;
    s_query(&f, "project:1", 0, 10, 2 * one, 0);
    assert_int_equal(f.info.count, 2);
    s_query(&f, "project:1", 0, 10, 3 * one - 1, 0);
    assert_int_equal(f.info.count, 2);
    assert_true(f.info.more);

    /* Position only. */
    rtr_history_position(f.hist, rtr_rooms_lookup(f.rooms, "project:2", 9), 0, &f.info);
    assert_int_equal(f.info.head, 1);
    assert_int_equal(f.info.first, 1);
    assert_int_equal(f.info.count, 0);
    assert_int_equal(rtr_history_events(f.hist), 11);
    s_close(&f);
}

/* A room keeps its last max_events; older cursors are too_old; the ring grows past its start. */
static void test_count_cap(void **state)
{
    (void)state;
    fixture_t f;
    s_open(&f, 5, 300000, 1 << 30);
    for (int i = 0; i < 12; i++)
        s_publish(&f, "room", 0, 0);
    s_query(&f, "room", 7, 10, 1 << 20, 0);
    assert_int_equal(f.info.head, 12);
    assert_int_equal(f.info.first, 8);
    assert_int_equal(f.info.count, 5);
    for (size_t i = 0; i < 5; i++)
        s_check_event(&f, i, "room", 8 + i, 0);
    s_query(&f, "room", 6, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.count, 0);
    assert_int_equal(f.info.first, 8);
    s_query(&f, "room", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    rtr_history_counters_t c;
    rtr_history_counters(f.hist, &c);
    assert_int_equal(c.evicted_count, 7);
    assert_int_equal(c.events, 5);
    assert_int_equal(c.rooms, 1);
    s_close(&f);

    /* Past the first ring size (8) and its doublings, then wrapping at a cap of 100. */
    s_open(&f, 100, 300000, 1 << 30);
    for (int i = 0; i < 250; i++)
        s_publish(&f, "room", 0, 0);
    uint64_t after = 150;
    for (int p = 0; p < 2; p++) {
        s_query(&f, "room", after, 50, 1 << 20, 0);
        assert_int_equal(f.info.first, 151);
        assert_int_equal(f.info.count, 50);
        for (size_t i = 0; i < 50; i++)
            s_check_event(&f, i, "room", after + 1 + i, 0);
        after += 50;
    }
    assert_false(f.info.more);
    s_close(&f);

    /* max_events 1: only the latest. */
    s_open(&f, 1, 300000, 1 << 30);
    for (int i = 0; i < 3; i++)
        s_publish(&f, "room", 0, 0);
    s_query(&f, "room", 2, 10, 1 << 20, 0);
    assert_int_equal(f.info.first, 3);
    assert_int_equal(f.info.count, 1);
    s_check_event(&f, 0, "room", 3, 0);
    s_close(&f);

    /* max_events 0: nothing is kept, so any cursor behind head is too old. */
    s_open(&f, 0, 300000, 1 << 30);
    s_publish(&f, "room", 0, 0);
    s_publish(&f, "room", 0, 0);
    s_query(&f, "room", 1, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.head, 2);
    assert_int_equal(f.info.first, 3);
    s_query(&f, "room", 2, 10, 1 << 20, 0);
    assert_false(f.info.too_old);
    assert_int_equal(rtr_history_bytes(f.hist), 0);
    s_close(&f);
}

/* Events older than max_age go: lazily on query and append, and by the sweep, idlest first. */
static void test_age_cap(void **state)
{
    (void)state;
    fixture_t f;
    s_open(&f, 1000, 1000, 1 << 30);
    for (int i = 0; i < 3; i++)
        s_publish(&f, "old", 0, 0);
    s_publish(&f, "old", 0, 600);

    /* At exactly max_age an event is still served; one ms later it is gone. */
    s_query(&f, "old", 0, 10, 1 << 20, 1000);
    assert_int_equal(f.info.count, 4);
    s_query(&f, "old", 0, 10, 1 << 20, 1001);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.first, 4);
    assert_int_equal(f.info.head, 4);
    s_query(&f, "old", 3, 10, 1 << 20, 1001);
    assert_int_equal(f.info.count, 1);
    s_check_event(&f, 0, "old", 4, 0);

    /* Appending trims the appended room's stale events too. */
    s_publish(&f, "busy", 0, 500);
    s_publish(&f, "busy", 0, 1600);
    assert_int_equal(rtr_history_events(f.hist), 2); /* old#4 (t=600) and busy#2 (t=1600) */
    /* busy#1 (t=500) expired with the append at 1600. */
    s_query(&f, "busy", 0, 10, 1 << 20, 1600);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.first, 2);

    /* The sweep drops whole idle rooms whose newest event expired, and not fresher ones. */
    s_publish(&f, "fresh", 0, 1700);
    rtr_history_counters_t before;
    rtr_history_counters(f.hist, &before);
    assert_int_equal(rtr_history_expire(f.hist, 1600), 0);
    assert_int_equal(rtr_history_expire(f.hist, 1700), 1); /* old#4 */
    s_query(&f, "old", 4, 10, 1 << 20, 1700);
    assert_int_equal(f.info.head, 4);
    assert_int_equal(f.info.first, 5); /* evicted: head + 1, and the seq is not forgotten */
    assert_false(f.info.too_old);
    s_query(&f, "old", 3, 10, 1 << 20, 1700);
    assert_true(f.info.too_old);
    assert_int_equal(rtr_history_events(f.hist), 2);
    assert_int_equal(rtr_history_expire(f.hist, 2601), 1); /* busy#2 */
    assert_int_equal(rtr_history_expire(f.hist, 2701), 1); /* fresh#1 */
    assert_int_equal(rtr_history_events(f.hist), 0);
    assert_int_equal(rtr_history_bytes(f.hist), 0);
    rtr_history_counters_t after;
    rtr_history_counters(f.hist, &after);
    assert_int_equal(after.evicted_age, 3 + 1 + 3);
    assert_int_equal(after.rooms, 0);

    /* A new event after eviction starts the room's history at its next seq. */
    s_publish(&f, "old", 0, 3000);
    s_query(&f, "old", 4, 10, 1 << 20, 3000);
    assert_int_equal(f.info.first, 5);
    assert_int_equal(f.info.head, 5);
    assert_int_equal(f.info.count, 1);
    s_check_event(&f, 0, "old", 5, 0);
    s_close(&f);
}

/* Over max_bytes the least recently published rooms lose their history first, then the oldest
 * events of the room being appended to; the cap holds after every append. */
static void test_byte_cap(void **state)
{
    (void)state;
    fixture_t f;
    /* Measure one room with one and two events to learn the ring and event costs. */
    s_open(&f, 1000, 300000, 1 << 30);
    s_publish(&f, "a", 100, 0);
    size_t one = rtr_history_bytes(f.hist);
    s_publish(&f, "a", 100, 0);
    size_t ev = rtr_history_bytes(f.hist) - one;
    size_t ring = one - ev;
    assert_true(ev > 100);
    s_close(&f);

    /* Room for three rooms of 4 events each (rings stay at their first size of 8). */
    size_t cap = 3 * (ring + 4 * ev);
    s_open(&f, 1000, 300000, cap);
    for (int i = 0; i < 4; i++) {
        s_publish(&f, "a", 100, 0);
        s_publish(&f, "b", 100, 0);
        s_publish(&f, "c", 100, 0);
    }
    assert_int_equal(rtr_history_bytes(f.hist), cap);
    s_publish(&f, "a", 100, 0); /* a is now the most recent; b the idlest */
    assert_true(rtr_history_bytes(f.hist) <= cap);
    s_query(&f, "b", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.head, 4);
    assert_int_equal(f.info.first, 5);
    s_query(&f, "c", 0, 10, 1 << 20, 0);
    assert_int_equal(f.info.count, 4);
    s_query(&f, "a", 0, 10, 1 << 20, 0);
    assert_int_equal(f.info.count, 5);
    rtr_history_counters_t c;
    rtr_history_counters(f.hist, &c);
    assert_int_equal(c.evicted_cap, 4);

    /* A single busy room: every other room goes, then its own oldest events. */
    for (int i = 0; i < 40; i++) {
        s_publish(&f, "d", 100, 0);
        assert_true(rtr_history_bytes(f.hist) <= cap);
    }
    s_query(&f, "c", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    s_query(&f, "a", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.first, 6);
    s_query(&f, "d", 40, 64, 1 << 20, 0);
    assert_int_equal(f.info.head, 40);
    assert_int_equal(f.info.count, 0);
    assert_true(f.info.first > 1);
    assert_int_equal(rtr_history_events(f.hist), 40 - f.info.first + 1);
    s_query(&f, "d", f.info.first - 1, 64, 1 << 20, 0);
    for (size_t i = 0; i < f.info.count; i++)
        s_check_event(&f, i, "d", f.info.first + i, 100);
    s_close(&f);

    /* A cap below one event keeps nothing, and says so with first = head + 1. */
    s_open(&f, 1000, 300000, 10);
    s_publish(&f, "a", 100, 0);
    s_query(&f, "a", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.first, 2);
    assert_int_equal(rtr_history_bytes(f.hist), 0);
    s_close(&f);

    /* An event too big for the cap never evicts other rooms for nothing; it drops its own
     * room's older events, so the room's history never ends before head. */
    s_open(&f, 1000, 300000, ring + 4 * ev + 600);
    s_publish(&f, "small", 0, 0);
    s_publish(&f, "big", 0, 0);
    s_publish(&f, "big", 1900, 0); /* more than the whole cap */
    s_query(&f, "small", 0, 10, 1 << 20, 0);
    assert_int_equal(f.info.count, 1);
    s_query(&f, "big", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.head, 2);
    assert_int_equal(f.info.first, 3);
    rtr_history_counters(f.hist, &c);
    assert_int_equal(c.evicted_cap, 2);
    s_close(&f);
}

/* The accounting is exact per allocation and returns to 0. */
static void test_accounting(void **state)
{
    (void)state;
    assert_int_equal(rtr_history_alloc_cost(0), 32);
    assert_int_equal(rtr_history_alloc_cost(24), 32);
    assert_int_equal(rtr_history_alloc_cost(25), 48);
    assert_int_equal(rtr_history_alloc_cost(1000), 1008);
    assert_int_equal(rtr_history_alloc_cost(200000) % 4096, 0);
    assert_true(rtr_history_alloc_cost(200000) >= 200016);

    fixture_t f;
    s_open(&f, 1000, 300000, 1 << 30);
    assert_int_equal(rtr_history_bytes(f.hist), 0);
    s_publish(&f, "a", 0, 0);
    size_t base = rtr_history_bytes(f.hist);
    s_query(&f, "a", 0, 1, 1 << 20, 0);
    size_t hlen = f.page[0].header_len;
    size_t plen = f.page[0].payload_len;
    size_t ring8 = base - rtr_history_event_cost(hlen, plen);
    /* Each event adds exactly its cost while the ring has slots. */
    for (int i = 2; i <= 8; i++) {
        size_t before = rtr_history_bytes(f.hist);
        s_publish(&f, "a", 0, 0);
        s_query(&f, "a", (uint64_t)i - 1, 1, 1 << 20, 0);
        assert_int_equal(rtr_history_bytes(f.hist) - before,
                         rtr_history_event_cost(f.page[0].header_len, f.page[0].payload_len));
    }
    /* The ninth doubles the ring: 8 more pointers. */
    size_t before = rtr_history_bytes(f.hist);
    s_publish(&f, "a", 0, 0);
    s_query(&f, "a", 8, 1, 1 << 20, 0);
    size_t grown = rtr_history_bytes(f.hist) - before -
                   rtr_history_event_cost(f.page[0].header_len, f.page[0].payload_len);
    assert_int_equal(grown, rtr_history_alloc_cost(16 * sizeof(void *)) -
                                rtr_history_alloc_cost(8 * sizeof(void *)));
    assert_true(ring8 > rtr_history_alloc_cost(8 * sizeof(void *)));

    /* Dropping a room gives back exactly what it took. */
    size_t with_a = rtr_history_bytes(f.hist);
    s_publish(&f, "b", 0, 0);
    assert_int_equal(rtr_history_drop_room(f.hist, rtr_rooms_lookup(f.rooms, "b", 1)), 1);
    assert_int_equal(rtr_history_bytes(f.hist), with_a);
    assert_int_equal(rtr_history_drop_room(f.hist, rtr_rooms_lookup(f.rooms, "b", 1)), 0);
    for (int i = 0; i < 20; i++)
        s_publish(&f, "c", 500, 0);
    rtr_history_clear(f.hist);
    assert_int_equal(rtr_history_bytes(f.hist), 0);
    assert_int_equal(rtr_history_events(f.hist), 0);
    rtr_history_counters_t c;
    rtr_history_counters(f.hist, &c);
    assert_int_equal(c.rooms, 0);
    assert_int_equal(c.evicted_cap + c.evicted_age + c.evicted_count + c.lost, 0);
    /* Cleared rooms keep their seqs. */
    s_query(&f, "c", 0, 10, 1 << 20, 0);
    assert_int_equal(f.info.head, 20);
    assert_int_equal(f.info.first, 21);
    (void)hlen;
    (void)plen;
    s_close(&f);
}

/* A stamp that never reached the store cannot leave a hole: the run before it is dropped. */
static void test_no_holes(void **state)
{
    (void)state;
    fixture_t f;
    s_open(&f, 1000, 300000, 1 << 30);
    s_publish(&f, "r", 0, 0);
    s_publish(&f, "r", 0, 0);
    rtr_room_t *room = rtr_rooms_lookup(f.rooms, "r", 1);
    assert_int_equal(rtr_rooms_stamp(f.rooms, room, 0), 3); /* seq 3, not stored */
    s_query(&f, "r", 0, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.head, 3);
    assert_int_equal(f.info.first, 4);
    s_publish(&f, "r", 0, 0); /* seq 4 starts a new run */
    s_query(&f, "r", 3, 10, 1 << 20, 0);
    assert_int_equal(f.info.count, 1);
    s_check_event(&f, 0, "r", 4, 0);
    assert_int_equal(rtr_rooms_stamp(f.rooms, room, 0), 5); /* again, then an append of 6 */
    s_publish(&f, "r", 0, 0);
    s_query(&f, "r", 3, 10, 1 << 20, 0);
    assert_true(f.info.too_old);
    assert_int_equal(f.info.first, 6);
    rtr_history_counters_t c;
    rtr_history_counters(f.hist, &c);
    assert_int_equal(c.lost, 3);
    s_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paging),     cmocka_unit_test(test_count_cap),
        cmocka_unit_test(test_age_cap),    cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_accounting), cmocka_unit_test(test_no_holes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
