/*
 * test_rtr_pubs.c: publisher table: dedup per (id, session), the dirty list, ack frame content,
 * heartbeats and expiry driven by an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtr_pubs.h"
#include "wire_envelope.h"

#define ACK_CAP 65536

/* Records an event from a NUL-terminated id. */
static rtr_pub_verdict_t s_event(rtr_pubs_t *p, const char *id, uint64_t session, uint64_t seq,
                                 uint64_t now)
{
    return rtr_pubs_event(p, id, strlen(id), session, seq, now);
}

/* One decoded ack entry with its id copied. */
typedef struct {
    char id[WIRE_PUBID_MAX + 1];
    uint64_t session;
    uint64_t seq;
} ack_t;

/* Decodes a whole ack frame into out; returns the entry count, failing on malformed frames. */
static size_t s_decode(const uint8_t *buf, size_t len, ack_t *out, size_t max)
{
    size_t off = 0, n = 0;
    wire_ack_entry_t e;
    bool malformed = false;
    while (wire_ack_next(buf, len, &off, &e, &malformed)) {
        assert_true(n < max);
        memcpy(out[n].id, e.pub_id, e.pub_id_len);
        out[n].id[e.pub_id_len] = '\0';
        out[n].session = e.session;
        out[n].seq = e.pub_seq;
        n++;
    }
    assert_false(malformed);
    assert_int_equal(off, len);
    return n;
}

/* Seqs above the highest are new; at or below are duplicates; gaps are allowed. */
static void test_dedup(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(300000);
    assert_non_null(p);
    assert_int_equal(s_event(p, "agent-1", 7, 1, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-1", 7, 2, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-1", 7, 3, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-1", 7, 2, 0), RTR_PUB_DUPLICATE);
    assert_int_equal(s_event(p, "agent-1", 7, 3, 0), RTR_PUB_DUPLICATE);
    assert_int_equal(s_event(p, "agent-1", 7, 5, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-1", 7, 4, 0), RTR_PUB_DUPLICATE);
    /* Another session of the same id, and the same session number of another id, are separate. */
    assert_int_equal(s_event(p, "agent-1", 8, 1, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-2", 7, 1, 0), RTR_PUB_NEW);
    assert_int_equal(s_event(p, "agent-1x", 7, 1, 0), RTR_PUB_NEW);
    assert_int_equal(rtr_pubs_size(p), 4);

    rtr_pub_t *pub = rtr_pubs_find(p, "agent-1", 7, 7);
    assert_non_null(pub);
    size_t len;
    assert_string_equal(rtr_pub_id(pub, &len), "agent-1");
    assert_int_equal(len, 7);
    assert_int_equal(rtr_pub_session(pub), 7);
    assert_int_equal(rtr_pub_highest_seq(pub), 5);
    assert_int_equal(rtr_pub_events(pub), 7);
    assert_int_equal(rtr_pub_duplicates(pub), 3);
    assert_null(rtr_pubs_find(p, "agent-1", 7, 9));
    assert_null(rtr_pubs_find(p, "agent-", 6, 7));
    /* A bad id length is never tracked. */
    assert_int_equal(rtr_pubs_event(p, "", 0, 7, 1, 0), RTR_PUB_UNTRACKED);
    assert_null(rtr_pubs_find(p, "", 0, 7));

    rtr_pubs_destroy(&p);
    assert_null(p);
    rtr_pubs_destroy(&p);
}

/* Only sessions with traffic since the last round are acked, once each, with their highest seq. */
static void test_dirty_and_ack_content(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(300000);
    static uint8_t buf[ACK_CAP];
    size_t entries = 99;
    assert_int_equal(rtr_pubs_ack_frame(p, buf, sizeof buf, &entries), 0);
    assert_int_equal(entries, 0);

    s_event(p, "agent-1", 7, 1, 0);
    s_event(p, "agent-2", 0xfedcba9876543210ULL, 10, 0);
    s_event(p, "agent-1", 7, 2, 0);
    assert_int_equal(rtr_pubs_dirty_count(p), 2);

    size_t len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries);
    assert_int_equal(entries, 2);
    assert_int_equal(len, 2 + (1 + 7 + 16) * 2);
    assert_int_equal(buf[0], 'A');
    assert_int_equal(buf[1], 1);
    ack_t acks[4];
    assert_int_equal(s_decode(buf, len, acks, 4), 2);
    assert_string_equal(acks[0].id, "agent-1");
    assert_int_equal(acks[0].session, 7);
    assert_int_equal(acks[0].seq, 2);
    assert_string_equal(acks[1].id, "agent-2");
    assert_int_equal(acks[1].session, 0xfedcba9876543210ULL);
    assert_int_equal(acks[1].seq, 10);
    assert_int_equal(rtr_pubs_dirty_count(p), 0);
    assert_int_equal(rtr_pubs_ack_frame(p, buf, sizeof buf, &entries), 0);

    /* A duplicate is acked again (the resending agent needs the ack), with the highest seq. */
    assert_int_equal(s_event(p, "agent-2", 0xfedcba9876543210ULL, 3, 1), RTR_PUB_DUPLICATE);
    len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries);
    assert_int_equal(entries, 1);
    assert_int_equal(s_decode(buf, len, acks, 4), 1);
    assert_string_equal(acks[0].id, "agent-2");
    assert_int_equal(acks[0].seq, 10);
    rtr_pubs_destroy(&p);
}

/* More entries than fit in one frame spill into further frames, each entry exactly once. */
static void test_ack_split(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(300000);
    enum { N = 1000 };
    char id[WIRE_PUBID_MAX + 1];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "%064d", i); /* 64-byte ids: 81-byte entries */
        s_event(p, id, (uint64_t)i + 1, (uint64_t)i + 100, 0);
    }
    static uint8_t buf[ACK_CAP];
    static ack_t acks[N];
    size_t total = 0, frames = 0, entries, len;
    while ((len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries)) > 0) {
        assert_true(len <= ACK_CAP);
        assert_int_equal(s_decode(buf, len, acks + total, N - total), entries);
        total += entries;
        frames++;
    }
    assert_int_equal(total, N);
    assert_int_equal(frames, 2); /* 809 entries fit in 64 KiB */
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "%064d", i);
        assert_string_equal(acks[i].id, id);
        assert_int_equal(acks[i].session, (uint64_t)i + 1);
        assert_int_equal(acks[i].seq, (uint64_t)i + 100);
    }

    /* A tiny buffer holds one entry per frame; one too small for any entry yields nothing. */
    s_event(p, "a", 1, 5, 0);
    s_event(p, "b", 1, 6, 0);
    uint8_t small[2 + 1 + 1 + 16];
    assert_int_equal(rtr_pubs_ack_frame(p, small, sizeof small, &entries), sizeof small);
    assert_int_equal(entries, 1);
    assert_int_equal(rtr_pubs_ack_frame(p, small, 10, &entries), 0);
    assert_int_equal(entries, 0);
    assert_int_equal(rtr_pubs_dirty_count(p), 1);
    rtr_pubs_destroy(&p);
}

/* Heartbeats keep the payload, count as traffic, and re-ack sessions that sent events. */
static void test_heartbeat(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(300000);
    json_t *hb = json_pack("{s:i}", "published", 0);
    assert_int_equal(rtr_pubs_heartbeat(p, "agent-1", 7, 7, &hb, 100), 0);
    assert_null(hb); /* ownership taken */
    rtr_pub_t *pub = rtr_pubs_find(p, "agent-1", 7, 7);
    assert_non_null(pub);
    assert_int_equal(rtr_pub_last_heartbeat(pub), 100);
    assert_int_equal(rtr_pub_last_seen(pub), 100);
    assert_int_equal(json_integer_value(json_object_get(rtr_pub_heartbeat(pub), "published")), 0);
    /* Nothing to acknowledge yet. */
    assert_int_equal(rtr_pubs_dirty_count(p), 0);

    s_event(p, "agent-1", 7, 4, 150);
    static uint8_t buf[ACK_CAP];
    size_t entries;
    assert_true(rtr_pubs_ack_frame(p, buf, sizeof buf, &entries) > 0);
    hb = json_pack("{s:i}", "published", 4);
    assert_int_equal(rtr_pubs_heartbeat(p, "agent-1", 7, 7, &hb, 200), 0);
    assert_int_equal(json_integer_value(json_object_get(rtr_pub_heartbeat(pub), "published")), 4);
    assert_int_equal(rtr_pub_last_heartbeat(pub), 200);
    assert_int_equal(rtr_pubs_dirty_count(p), 1);
    size_t len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries);
    ack_t acks[2];
    assert_int_equal(s_decode(buf, len, acks, 2), 1);
    assert_int_equal(acks[0].seq, 4);

    /* A NULL payload is allowed and replaces the stored one. */
    json_t *none = NULL;
    assert_int_equal(rtr_pubs_heartbeat(p, "agent-1", 7, 7, &none, 300), 0);
    assert_null(rtr_pub_heartbeat(pub));
    rtr_pubs_destroy(&p); /* frees stored payloads (checked by ASan) */
}

/* Collects ids in foreach order. */
static void s_collect(const rtr_pub_t *pub, void *arg)
{
    char *out = arg;
    strcat(out, rtr_pub_id(pub, NULL));
    strcat(out, ",");
}

/* Sessions silent for more than ttl are forgotten, oldest first; traffic keeps them. */
static void test_expiry(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(1000);
    s_event(p, "a", 1, 1, 0);
    s_event(p, "b", 1, 1, 100);
    s_event(p, "c", 1, 1, 200);
    json_t *hb = json_object();
    rtr_pubs_heartbeat(p, "a", 1, 1, &hb, 300); /* a heartbeat is traffic */
    char order[64] = "";
    rtr_pubs_foreach(p, s_collect, order);
    assert_string_equal(order, "b,c,a,");

    assert_int_equal(rtr_pubs_expire(p, 1100), 0); /* b is exactly ttl old: kept */
    assert_int_equal(rtr_pubs_expire(p, 1101), 1);
    assert_null(rtr_pubs_find(p, "b", 1, 1));
    assert_non_null(rtr_pubs_find(p, "c", 1, 1));
    /* A clock that went backwards expires nothing. */
    assert_int_equal(rtr_pubs_expire(p, 50), 0);
    assert_int_equal(rtr_pubs_expire(p, 1301), 2);
    assert_int_equal(rtr_pubs_size(p), 0);

    /* An expired session that was waiting for an ack leaves the dirty list too. */
    s_event(p, "d", 1, 9, 2000);
    s_event(p, "e", 1, 9, 2500);
    assert_int_equal(rtr_pubs_dirty_count(p), 2);
    assert_int_equal(rtr_pubs_expire(p, 3001), 1);
    assert_int_equal(rtr_pubs_dirty_count(p), 1);
    static uint8_t buf[ACK_CAP];
    size_t entries;
    size_t len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries);
    ack_t acks[2];
    assert_int_equal(s_decode(buf, len, acks, 2), 1);
    assert_string_equal(acks[0].id, "e");

    /* After expiry the same session starts over: its old seqs are new again. */
    assert_int_equal(rtr_pubs_expire(p, 10000), 1);
    assert_int_equal(s_event(p, "e", 1, 9, 10000), RTR_PUB_NEW);
    rtr_pubs_destroy(&p);
}

/* The rate cap: a burst passes, then the session is blocked at the first throttled seq, later
 * seqs wait for it, only the block's start and its own retries are reported, and the bucket
 * refills with time. Other sessions keep their own buckets. */
static void test_rate_cap(void **state)
{
    (void)state;
    rtr_pubs_t *p = rtr_pubs_new(300000);
    rtr_pubs_set_rate(p, 1000, 3); /* 1 event per ms, bursts of 3 */
    uint64_t rep = 99;
    for (uint64_t s = 1; s <= 3; s++)
        assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, s, 100, &rep), RTR_PUB_NEW);
    assert_int_equal(rep, 0);
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 4, 100, &rep), RTR_PUB_THROTTLED);
    assert_int_equal(rep, 4);
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 5, 100, &rep), RTR_PUB_THROTTLED);
    assert_int_equal(rep, 0); /* waits for 4, not reported again */
    /* Another session is not affected. */
    assert_int_equal(rtr_pubs_event_capped(p, "b", 1, 7, 1, 100, &rep), RTR_PUB_NEW);
    const rtr_pub_t *a = rtr_pubs_find(p, "a", 1, 7);
    assert_int_equal(rtr_pub_highest_seq(a), 3);
    assert_int_equal(rtr_pub_blocked_seq(a), 4);
    /* One ms later one token: 5 still waits for 4; 4 passes and unblocks. */
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 5, 101, &rep), RTR_PUB_THROTTLED);
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 4, 101, &rep), RTR_PUB_NEW);
    assert_int_equal(rtr_pub_blocked_seq(a), 0);
    /* No token left in the same ms: 5 starts a new block and is reported, its retry too. */
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 5, 101, &rep), RTR_PUB_THROTTLED);
    assert_int_equal(rep, 5);
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 5, 101, &rep), RTR_PUB_THROTTLED);
    assert_int_equal(rep, 5);
    /* Duplicates are acked again whatever the bucket says. */
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 2, 101, &rep), RTR_PUB_DUPLICATE);
    /* A long pause refills to the burst, not beyond. */
    for (uint64_t s = 5; s <= 7; s++)
        assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, s, 100000, &rep), RTR_PUB_NEW);
    assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, 8, 100000, &rep), RTR_PUB_THROTTLED);
    /* The ack covers what was accepted only. */
    uint8_t buf[ACK_CAP];
    size_t entries = 0;
    size_t len = rtr_pubs_ack_frame(p, buf, sizeof buf, &entries);
    ack_t acks[4];
    assert_int_equal(s_decode(buf, len, acks, 4), 2);
    assert_string_equal(acks[0].id, "a");
    assert_int_equal(acks[0].seq, 7);
    /* Heartbeats take tokens from the same bucket. */
    assert_false(rtr_pubs_take(p, "a", 1, 7, 100000));
    assert_true(rtr_pubs_take(p, "a", 1, 7, 100001));
    assert_true(rtr_pubs_take(p, "c", 1, 7, 100001)); /* a new session starts full */
    /* Without a cap (rate 0) nothing is throttled. */
    rtr_pubs_set_rate(p, 0, 0);
    for (uint64_t s = 8; s <= 100; s++)
        assert_int_equal(rtr_pubs_event_capped(p, "a", 1, 7, s, 100000, &rep), RTR_PUB_NEW);
    assert_true(rtr_pubs_take(p, "a", 1, 7, 100000));
    rtr_pubs_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup),     cmocka_unit_test(test_dirty_and_ack_content),
        cmocka_unit_test(test_ack_split), cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_expiry), cmocka_unit_test(test_rate_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
