/*
 * test_edge_stream.c: the merge logic of resume and gap repair, driven by hand: live events and
 * history replies go in, and the exact sequence of actions that comes out (deliveries, notices,
 * requests, overflow) is compared with what docs/protocol.md §3 promises.
 *
 * Actions are recorded as text, one token per action:
 *   D<epoch>.<seq>            an event delivered
 *   A+/A-<epoch>.<seq>[:why]  the resume's answer (+ recovered, - not, with the reason)
 *   N-<epoch>.<seq>:why       an unsolicited recovered:false notice
 *   R<epoch>.<after>          a history request
 *   O                         overflow (member streams)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "edge_stream.h"

/* What the callbacks saw. */
typedef struct rec {
    char log[4096];   /* actions, space-separated */
    int fail_next;    /* requests to refuse (request returns -1) */
    int requests;     /* requests made */
    uint64_t r_epoch; /* last request */
    uint64_t r_after;
} rec_t;

static void s_add(rec_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_add(rec_t *r, const char *fmt, ...)
{
    size_t used = strlen(r->log);
    if (used && used < sizeof r->log - 1) {
        r->log[used++] = ' ';
        r->log[used] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + used, sizeof r->log - used, fmt, ap);
    va_end(ap);
}

static void s_deliver(void *arg, const edge_event_t *ev)
{
    rec_t *r = arg;
    /* The frame is the one the event was made with: check that it travelled along. */
    char want[64];
    snprintf(want, sizeof want, "e%" PRIu64 ".%" PRIu64, ev->epoch, ev->seq);
    assert_string_equal((const char *)edge_frame_data(ev->frame), want);
    s_add(r, "D%" PRIu64 ".%" PRIu64, ev->epoch, ev->seq);
}

static void s_notify(void *arg, const edge_notice_t *n)
{
    rec_t *r = arg;
    if (n->recovered)
        assert_int_equal(n->reason, EDGE_REASON_NONE);
    else
        assert_int_not_equal(n->reason, EDGE_REASON_NONE);
    s_add(r, "%c%c%" PRIu64 ".%" PRIu64 "%s%s", n->reply ? 'A' : 'N', n->recovered ? '+' : '-',
          n->epoch, n->seq, n->recovered ? "" : ":", edge_reason_name(n->reason));
}

static int s_request(void *arg, uint64_t epoch, uint64_t after)
{
    rec_t *r = arg;
    if (r->fail_next > 0) {
        r->fail_next--;
        return -1;
    }
    r->requests++;
    r->r_epoch = epoch;
    r->r_after = after;
    s_add(r, "R%" PRIu64 ".%" PRIu64, epoch, after);
    return 0;
}

static void s_overflow(void *arg)
{
    s_add(arg, "O");
}

static void s_positioned(void *arg, uint64_t epoch, uint64_t seq)
{
    s_add(arg, "P%" PRIu64 ".%" PRIu64, epoch, seq);
}

static const edge_stream_ops_t s_room_ops = {.deliver = s_deliver,
                                             .notify = s_notify,
                                             .request = s_request,
                                             .overflow = NULL,
                                             .positioned = s_positioned};
static const edge_stream_ops_t s_member_ops = {
    .deliver = s_deliver, .notify = s_notify, .request = s_request, .overflow = s_overflow};

/* An event with a frame "e<epoch>.<seq>"; the caller drops the frame with s_ev_free. */
static edge_event_t s_ev(uint64_t epoch, uint64_t seq)
{
    char text[64];
    int n = snprintf(text, sizeof text, "e%" PRIu64 ".%" PRIu64, epoch, seq);
    edge_event_t ev = {.epoch = epoch, .seq = seq, .frame = edge_frame_from(text, (size_t)n)};
    assert_non_null(ev.frame);
    return ev;
}

/* Feeds live events seq from..to (inclusive) of epoch. */
static void s_live(edge_stream_t *s, uint64_t epoch, uint64_t from, uint64_t to)
{
    for (uint64_t q = from; q <= to; q++) {
        edge_event_t ev = s_ev(epoch, q);
        edge_stream_live(s, &ev);
        /* The stream took its own reference when it held the event. */
        edge_frame_unref(&ev.frame);
    }
}

/* Answers the last request: status with events from..to (none when from > to). */
static void s_reply(edge_stream_t *s, rec_t *r, edge_hstatus_t status, bool more, uint64_t epoch,
                    uint64_t head, uint64_t first, uint64_t from, uint64_t to)
{
    edge_event_t evs[64];
    size_t n = 0;
    for (uint64_t q = from; q <= to && n < 64; q++)
        evs[n++] = s_ev(epoch, q);
    edge_hist_result_t res = {
        .req_epoch = r->r_epoch,
        .req_after = r->r_after,
        .st = {.status = status, .more = more, .epoch = epoch, .head = head, .first = first},
        .events = evs,
        .count = status == EDGE_HIST_OK ? n : 0,
    };
    edge_stream_reply(s, &res);
    for (size_t i = 0; i < n; i++)
        edge_frame_unref(&evs[i].frame);
}

/* Clears the log. */
static void s_clear(rec_t *r)
{
    r->log[0] = '\0';
}

/* ---- room streams --------------------------------------------------------------------------- */

static void test_room_in_order_and_duplicates(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    uint64_t e, l;
    assert_false(edge_stream_position(s, &e, &l));
    s_live(s, 7, 5, 7); /* the first event is taken as is */
    s_live(s, 7, 6, 7); /* duplicates (a reordering) */
    s_live(s, 7, 8, 8);
    assert_string_equal(r.log, "D7.5 D7.6 D7.7 D7.8");
    assert_int_equal(st.duplicates, 2);
    assert_true(edge_stream_position(s, &e, &l));
    assert_int_equal(e, 7);
    assert_int_equal(l, 8);
    assert_true(edge_stream_settled(s));
    edge_stream_destroy(&s);
    assert_null(s);
}

static void test_room_gap_repaired(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 2);
    s_live(s, 7, 6, 7); /* 3..5 missed: hold 6 and ask from 2 */
    assert_string_equal(r.log, "D7.1 D7.2 R7.2");
    assert_true(edge_stream_fetching(s));
    assert_int_equal(edge_stream_held(s), 2);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.gap_events, 3);
    s_clear(&r);
    /* History has up to 7 by now: 6 and 7 come twice and are delivered once. */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 7, 1, 3, 7);
    s_live(s, 7, 8, 8);
    assert_string_equal(r.log, "D7.3 D7.4 D7.5 D7.6 D7.7 D7.8");
    assert_int_equal(st.gaps_repaired, 1);
    assert_int_equal(st.replayed, 5);
    assert_int_equal(st.duplicates, 2);
    assert_true(edge_stream_settled(s));
    edge_stream_destroy(&s);
}

static void test_room_gap_paging(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 1);
    s_live(s, 7, 9, 9);
    s_reply(s, &r, EDGE_HIST_OK, true, 7, 9, 1, 2, 4); /* cut short: ask from 4 */
    s_live(s, 7, 10, 10);                              /* still held */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 10, 1, 5, 8);
    assert_string_equal(r.log, "D7.1 R7.1 D7.2 D7.3 D7.4 R7.4 D7.5 D7.6 D7.7 D7.8 D7.9 D7.10");
    assert_int_equal(st.gaps_repaired, 1);
    /* A page that reaches the held events ends the repair, even when history has more. */
    s_clear(&r);
    s_live(s, 7, 20, 20);
    s_live(s, 7, 21, 22);
    s_reply(s, &r, EDGE_HIST_OK, true, 7, 900, 1, 11, 19);
    assert_string_equal(r.log, "R7.10 D7.11 D7.12 D7.13 D7.14 D7.15 D7.16 D7.17 D7.18 D7.19 "
                               "D7.20 D7.21 D7.22");
    assert_int_equal(st.replayed, 7 + 9);
    edge_stream_destroy(&s);
}

static void test_room_gap_too_old(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 1);
    s_live(s, 7, 50, 52);
    /* Evicted: the new position is the seq before the held events, which are delivered. */
    s_reply(s, &r, EDGE_HIST_TOO_OLD, false, 7, 52, 40, 1, 0);
    s_live(s, 7, 53, 53);
    assert_string_equal(r.log, "D7.1 R7.1 N-7.49:too_old D7.50 D7.51 D7.52 D7.53");
    assert_int_equal(st.gaps_unrepaired, 1);
    assert_int_equal(st.notices[EDGE_REASON_TOO_OLD], 1);
    edge_stream_destroy(&s);
}

static void test_room_gap_unavailable(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 1);
    s_live(s, 7, 4, 5);
    s_reply(s, &r, EDGE_HIST_UNAVAILABLE, false, 0, 0, 0, 1, 0);
    assert_string_equal(r.log, "D7.1 R7.1 N-7.3:history_unavailable D7.4 D7.5");
    /* A later jump asks history again. */
    s_clear(&r);
    s_live(s, 7, 7, 7);
    assert_string_equal(r.log, "R7.5");
    /* A request that cannot even be sent is reported at once. */
    edge_stream_destroy(&s);
    s_clear(&r);
    s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 1);
    r.fail_next = 1;
    s_live(s, 7, 3, 3);
    assert_string_equal(r.log, "D7.1 N-7.2:history_unavailable D7.3");
    assert_false(edge_stream_fetching(s));
    edge_stream_destroy(&s);
}

static void test_room_epoch_change_live(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 3);
    s_live(s, 9, 4, 5); /* the router restarted and 1..3 of epoch 9 never reached this edge */
    assert_string_equal(r.log, "D7.1 D7.2 D7.3 N-9.3:epoch_changed D9.4 D9.5");
    assert_int_equal(st.epoch_changes, 1);
    assert_int_equal(r.requests, 0);
    edge_stream_destroy(&s);
}

static void test_room_stale_reply_ignored(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    s_live(s, 7, 1, 1);
    s_live(s, 7, 3, 3);
    uint64_t after = r.r_after;
    r.r_after = after + 10; /* a reply to some other request */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 3, 1, 12, 13);
    assert_string_equal(r.log, "D7.1 R7.1");
    assert_int_equal(st.stale_replies, 1);
    r.r_after = after;
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 3, 1, 2, 3);
    /* Once answered, a second copy is stale too. */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 3, 1, 2, 3);
    assert_string_equal(r.log, "D7.1 R7.1 D7.2 D7.3");
    assert_int_equal(st.stale_replies, 2);
    edge_stream_destroy(&s);
}

static void test_room_overflow_gives_up(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 3, &st);
    s_live(s, 7, 1, 1);
    s_live(s, 7, 5, 8); /* 5, 6, 7 held; 8 does not fit */
    assert_string_equal(r.log, "D7.1 R7.1 N-7.4:history_unavailable D7.5 D7.6 D7.7 D7.8");
    assert_int_equal(st.overflows, 1);
    assert_int_equal(st.gaps_unrepaired, 1);
    assert_false(edge_stream_fetching(s));
    /* The late reply is stale. */
    s_clear(&r);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 8, 1, 2, 8);
    assert_string_equal(r.log, "");
    assert_int_equal(st.stale_replies, 1);
    edge_stream_destroy(&s);
}

static void test_room_probe(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    edge_stream_probe(s); /* no position: nothing to check */
    assert_int_equal(r.requests, 0);
    s_live(s, 7, 1, 2);
    /* Reconnected to the same router: the events published meanwhile are fetched. */
    edge_stream_probe(s);
    s_live(s, 7, 6, 6);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 6, 1, 3, 6);
    assert_string_equal(r.log, "D7.1 D7.2 R7.2 D7.3 D7.4 D7.5 D7.6");
    /* Reconnected to a restarted router, room quiet: the new epoch is announced at once. */
    s_clear(&r);
    edge_stream_probe(s);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 9, 4, 5, 1, 0);
    s_live(s, 9, 5, 5);
    assert_string_equal(r.log, "R7.6 N-9.4:epoch_changed D9.5");
    /* A probe history cannot answer changes nothing. */
    s_clear(&r);
    edge_stream_probe(s);
    s_reply(s, &r, EDGE_HIST_UNAVAILABLE, false, 0, 0, 0, 1, 0);
    s_live(s, 9, 6, 6);
    assert_string_equal(r.log, "R9.5 D9.6");
    /* Held events of the new epoch below the head are kept: the position is just before them. */
    s_clear(&r);
    edge_stream_probe(s);
    s_live(s, 11, 3, 4);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 11, 4, 1, 1, 0);
    assert_string_equal(r.log, "R9.6 N-11.2:epoch_changed D11.3 D11.4");
    edge_stream_destroy(&s);
}

/* ---- member streams (resume) ---------------------------------------------------------------- */

static void test_resume_ok_paging_and_duplicates(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 16, 18); /* live events held until history is merged */
    assert_string_equal(r.log, "R7.10");
    assert_false(edge_stream_settled(s));
    s_reply(s, &r, EDGE_HIST_OK, true, 7, 17, 1, 11, 13);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 17, 1, 14, 17);
    s_live(s, 7, 19, 19);
    /* The answer first, then 11..17 from history, then 18 and 19 live; 16 and 17 once. */
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12 D7.13 R7.13 D7.14 D7.15 D7.16 D7.17 "
                               "D7.18 D7.19");
    assert_int_equal(st.resumes, 1);
    assert_int_equal(st.resumed[EDGE_REASON_NONE], 1);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(st.held, 3);
    assert_true(edge_stream_settled(s));
    edge_stream_destroy(&s);
}

static void test_resume_history_ends_before_live(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 14, 14);
    /* The page was taken at head 12; 13 was stamped before the live subscription took hold. */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 12, 1, 11, 12);
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12 R7.12");
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 14, 1, 13, 14);
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12 R7.12 D7.13 D7.14");
    assert_true(edge_stream_settled(s));
    /* The same when the first page is empty (the cursor was the head when history answered). */
    edge_stream_destroy(&s);
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 12, 12);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 10, 1, 1, 0);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 12, 1, 11, 12);
    assert_string_equal(r.log, "R7.10 A+7.10 R7.10 D7.11 D7.12");
    edge_stream_destroy(&s);
}

static void test_resume_history_never_catches_up(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 20, 20);
    /* A history that keeps answering "nothing after 10" cannot be waited on forever. */
    for (int i = 0; i < 3; i++)
        s_reply(s, &r, EDGE_HIST_OK, false, 7, 10, 1, 1, 0);
    assert_string_equal(r.log, "R7.10 A+7.10 R7.10 R7.10 N-7.19:history_unavailable D7.20");
    assert_false(edge_stream_fetching(s));
    edge_stream_destroy(&s);
}

static void test_resume_at_or_beyond_head(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 30);
    s_live(s, 7, 29, 31); /* 29 and 30 were already seen by the client */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 30, 1, 1, 0);
    assert_string_equal(r.log, "R7.30 A+7.30 D7.31");
    assert_int_equal(st.replayed, 0);
    assert_int_equal(st.duplicates, 2);
    edge_stream_destroy(&s);
}

static void test_resume_epoch_changed(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 9, 25, 1, 1, 0);
    s_live(s, 9, 25, 26); /* 25 is at the head: already "gone" for this client */
    assert_string_equal(r.log, "R7.10 A-9.25:epoch_changed D9.26");
    assert_int_equal(st.resumed[EDGE_REASON_EPOCH_CHANGED], 1);
    /* With live events of the new epoch held below the head, those are kept. */
    edge_stream_destroy(&s);
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 9, 24, 26);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 9, 25, 1, 1, 0);
    assert_string_equal(r.log, "R7.10 A-9.23:epoch_changed D9.24 D9.25 D9.26");
    edge_stream_destroy(&s);
}

static void test_resume_too_old(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_reply(s, &r, EDGE_HIST_TOO_OLD, false, 7, 2000, 1001, 1, 0);
    s_live(s, 7, 2000, 2001);
    assert_string_equal(r.log, "R7.10 A-7.2000:too_old D7.2001");
    assert_int_equal(st.resumed[EDGE_REASON_TOO_OLD], 1);
    /* Live events that already continue the cursor make history unnecessary. */
    edge_stream_destroy(&s);
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 11, 12);
    s_reply(s, &r, EDGE_HIST_TOO_OLD, false, 7, 12, 12, 1, 0);
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12");
    edge_stream_destroy(&s);
}

static void test_resume_unavailable(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_reply(s, &r, EDGE_HIST_UNAVAILABLE, false, 0, 0, 0, 1, 0);
    /* Nothing known to be lost yet; the next event is checked rather than trusted. */
    s_live(s, 7, 15, 16);
    assert_string_equal(r.log, "R7.10 A-7.10:history_unavailable N-7.14:history_unavailable "
                               "D7.15 D7.16");
    assert_int_equal(r.requests, 1);
    assert_int_equal(st.resumed[EDGE_REASON_UNAVAILABLE], 1);
    edge_stream_destroy(&s);
    /* When the next event continues the cursor, nothing more is said. */
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_reply(s, &r, EDGE_HIST_BAD_REQUEST, false, 0, 0, 0, 1, 0);
    s_live(s, 7, 11, 11);
    assert_string_equal(r.log, "R7.10 A-7.10:history_unavailable D7.11");
    edge_stream_destroy(&s);
    /* With live events held, the position is just before them. */
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 13, 13);
    s_reply(s, &r, EDGE_HIST_UNAVAILABLE, false, 0, 0, 0, 1, 0);
    assert_string_equal(r.log, "R7.10 A-7.12:history_unavailable D7.13");
    edge_stream_destroy(&s);
    /* A request that cannot be sent at all answers at once. */
    s_clear(&r);
    s = edge_stream_new(&s_member_ops, &r, 100, &st);
    r.fail_next = 1;
    edge_stream_resume(s, 7, 10);
    assert_string_equal(r.log, "A-7.10:history_unavailable");
    edge_stream_destroy(&s);
}

static void test_resume_epoch_change_while_held(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 12, 12);
    s_live(s, 9, 1, 1); /* the router restarted while history was asked */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 12, 1, 11, 12);
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12 N-9.0:epoch_changed D9.1");
    edge_stream_destroy(&s);
}

static void test_resume_overflow(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 4, &st);
    edge_stream_resume(s, 7, 10);
    s_live(s, 7, 20, 24); /* the fifth held event overflows */
    assert_string_equal(r.log, "R7.10 O");
    assert_int_equal(st.overflows, 1);
    assert_int_equal(edge_stream_held(s), 0);
    /* Dead: nothing more comes out. */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 24, 1, 11, 24);
    s_live(s, 7, 25, 25);
    assert_string_equal(r.log, "R7.10 O");
    assert_false(edge_stream_settled(s));
    edge_stream_destroy(&s);
}

static void test_member_gap_after_resume(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 11, 1, 11, 11);
    assert_true(edge_stream_settled(s));
    /* Live 11 (in flight when history answered) is a duplicate; 13 jumps: fetch again. */
    s_live(s, 7, 11, 11);
    s_live(s, 7, 13, 13);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 13, 1, 12, 13);
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 R7.11 D7.12 D7.13");
    edge_stream_destroy(&s);
}

static void test_jump(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_member_ops, &r, 100, &st);
    edge_stream_resume(s, 7, 10);
    edge_notice_t n = {
        .recovered = false, .epoch = 9, .seq = 3, .reason = EDGE_REASON_EPOCH_CHANGED};
    assert_false(edge_stream_jump(s, &n)); /* still resuming: it finds out by itself */
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 12, 1, 11, 12);
    assert_true(edge_stream_jump(s, &n));
    edge_notice_t behind = {
        .recovered = false, .epoch = 9, .seq = 2, .reason = EDGE_REASON_TOO_OLD};
    assert_false(edge_stream_jump(s, &behind)); /* already past it */
    assert_string_equal(r.log, "R7.10 A+7.10 D7.11 D7.12 N-9.3:epoch_changed");
    uint64_t e, l;
    assert_true(edge_stream_position(s, &e, &l));
    assert_int_equal(e, 9);
    assert_int_equal(l, 3);
    edge_stream_destroy(&s);
}

/* Many events through a small ring, with wrap-around while held. */
static void test_long_hold_wraps(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 1000, &st);
    s_live(s, 3, 1, 1);
    s_live(s, 3, 3, 502); /* 2 missing: 500 held */
    assert_int_equal(edge_stream_held(s), 500);
    s_clear(&r);
    s_reply(s, &r, EDGE_HIST_OK, false, 3, 502, 1, 2, 2);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(edge_stream_held(s), 0);
    uint64_t e, l;
    assert_true(edge_stream_position(s, &e, &l));
    assert_int_equal(l, 502);
    assert_true(strncmp(r.log, "D3.2 D3.3 D3.4 ", 15) == 0);
    edge_stream_destroy(&s);
}

/* ---- seeds (a room's head for its first subscribers) ---------------------------------------- */

/* The head comes back: the position is told before any event, then live events follow it. */
static void test_seed_head(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    edge_stream_seed(s);
    assert_string_equal(r.log, "R0.0");
    assert_true(edge_stream_fetching(s));
    edge_stream_seed(s); /* one at a time */
    assert_int_equal(r.requests, 1);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 7, 10, 1, 1, 0);
    s_live(s, 7, 11, 12);
    assert_string_equal(r.log, "R0.0 P7.10 D7.11 D7.12");
    uint64_t e, l;
    assert_true(edge_stream_position(s, &e, &l));
    assert_int_equal(l, 12);
    assert_int_equal(st.gaps + st.epoch_changes + st.duplicates, 0);
    edge_stream_seed(s); /* has a position: nothing to ask */
    assert_int_equal(r.requests, 1);
    edge_stream_destroy(&s);
}

/* Events that arrived while the seed was out and that the head already covers are owed to the
 * clients who joined before them: the position starts just before the first of them. */
static void test_seed_held_events_covered_by_head(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    edge_stream_seed(s);
    s_live(s, 7, 9, 10);
    assert_int_equal(edge_stream_held(s), 2);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 7, 10, 1, 1, 0);
    assert_string_equal(r.log, "R0.0 P7.8 D7.9 D7.10");
    assert_int_equal(st.duplicates, 0);
    edge_stream_destroy(&s);
}

/* Held events beyond the head: the seqs between are fetched like any gap. */
static void test_seed_then_gap(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    edge_stream_seed(s);
    s_live(s, 7, 13, 13);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 7, 10, 1, 1, 0);
    assert_string_equal(r.log, "R0.0 P7.10 R7.10");
    s_clear(&r);
    s_reply(s, &r, EDGE_HIST_OK, false, 7, 13, 1, 11, 13);
    assert_string_equal(r.log, "D7.11 D7.12 D7.13");
    assert_int_equal(st.gaps_repaired, 1);
    edge_stream_destroy(&s);
}

/* No answer (or a refused request): nobody is told, held events go out as a fresh stream's. */
static void test_seed_unavailable(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 100, &st);
    edge_stream_seed(s);
    s_live(s, 7, 4, 5);
    s_reply(s, &r, EDGE_HIST_UNAVAILABLE, false, 0, 0, 0, 1, 0);
    assert_string_equal(r.log, "R0.0 D7.4 D7.5");
    assert_int_equal(st.gaps_unrepaired + st.epoch_changes, 0);
    edge_stream_destroy(&s);

    rec_t q = {.log = "", .fail_next = 1};
    s = edge_stream_new(&s_room_ops, &q, 100, &st);
    edge_stream_seed(s);
    assert_false(edge_stream_fetching(s));
    s_live(s, 7, 1, 1);
    assert_string_equal(q.log, "D7.1");
    edge_stream_destroy(&s);

    /* A member stream never seeds. */
    rec_t m = {.log = ""};
    s = edge_stream_new(&s_member_ops, &m, 100, &st);
    edge_stream_resume(s, 7, 3);
    s_clear(&m);
    edge_stream_seed(s);
    assert_string_equal(m.log, "");
    edge_stream_destroy(&s);
}

/* The held list overflows while the seed is out: the held events go out, no notice. */
static void test_seed_overflow(void **state)
{
    rec_t r = {.log = ""};
    edge_stream_stats_t st = {0};
    edge_stream_t *s = edge_stream_new(&s_room_ops, &r, 2, &st);
    edge_stream_seed(s);
    s_live(s, 7, 1, 3);
    assert_string_equal(r.log, "R0.0 D7.1 D7.2 D7.3");
    assert_false(edge_stream_fetching(s));
    s_clear(&r);
    s_reply(s, &r, EDGE_HIST_EPOCH_CHANGED, false, 7, 3, 1, 1, 0); /* late: stale */
    assert_string_equal(r.log, "");
    edge_stream_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_in_order_and_duplicates),
        cmocka_unit_test(test_seed_head),
        cmocka_unit_test(test_seed_held_events_covered_by_head),
        cmocka_unit_test(test_seed_then_gap),
        cmocka_unit_test(test_seed_unavailable),
        cmocka_unit_test(test_seed_overflow),
        cmocka_unit_test(test_room_gap_repaired),
        cmocka_unit_test(test_room_gap_paging),
        cmocka_unit_test(test_room_gap_too_old),
        cmocka_unit_test(test_room_gap_unavailable),
        cmocka_unit_test(test_room_epoch_change_live),
        cmocka_unit_test(test_room_stale_reply_ignored),
        cmocka_unit_test(test_room_overflow_gives_up),
        cmocka_unit_test(test_room_probe),
        cmocka_unit_test(test_resume_ok_paging_and_duplicates),
        cmocka_unit_test(test_resume_history_ends_before_live),
        cmocka_unit_test(test_resume_history_never_catches_up),
        cmocka_unit_test(test_resume_at_or_beyond_head),
        cmocka_unit_test(test_resume_epoch_changed),
        cmocka_unit_test(test_resume_too_old),
        cmocka_unit_test(test_resume_unavailable),
        cmocka_unit_test(test_resume_epoch_change_while_held),
        cmocka_unit_test(test_resume_overflow),
        cmocka_unit_test(test_member_gap_after_resume),
        cmocka_unit_test(test_jump),
        cmocka_unit_test(test_long_hold_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
