/*
 * test_rtr_rights.c: publisher rights: the file format, patterns (exact and trailing '*'),
 * certificate metadata, the default policy, reload by loading a new file, and the cost per check
 * (printed as a micro-benchmark).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rtr_rights.h"

/* Checks id publishing type to room, with NUL-terminated strings. */
static rtr_rights_verdict_t s_check(const rtr_rights_t *r, const char *id, const char *room,
                                    const char *type)
{
    return rtr_rights_check(r, id, strlen(id), NULL, NULL, room, strlen(room), type, strlen(type));
}

/* Writes text to a fresh temporary file; returns its path (static buffer per slot). */
static const char *s_file(int slot, const char *text)
{
    static char paths[2][64];
    snprintf(paths[slot], sizeof paths[slot], "/tmp/test_rtr_rights_%d_%d", (int)getpid(), slot);
    FILE *f = fopen(paths[slot], "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return paths[slot];
}

/* Exact and prefix patterns on both axes, and which axis is reported. */
static void test_patterns(void **state)
{
    (void)state;
    rtr_rights_t *r = rtr_rights_new(false);
    char err[256];
    assert_int_equal(
        rtr_rights_add_line(r, "agent-1 rooms=lobby,game:* types=chat.*,move\n", err, sizeof err),
        0);
    assert_int_equal(rtr_rights_add_line(r, "  # a comment", err, sizeof err), 0);
    assert_int_equal(rtr_rights_add_line(r, "", err, sizeof err), 0);
    assert_int_equal(rtr_rights_add_line(r, "root rooms=* types=*", err, sizeof err), 0);
    assert_int_equal(rtr_rights_size(r), 2);

    assert_int_equal(s_check(r, "agent-1", "lobby", "move"), RTR_RIGHTS_OK);
    assert_int_equal(s_check(r, "agent-1", "game:7", "chat.msg"), RTR_RIGHTS_OK);
    assert_int_equal(s_check(r, "agent-1", "game:", "chat."), RTR_RIGHTS_OK);
    assert_int_equal(s_check(r, "agent-1", "lobby2", "move"), RTR_RIGHTS_ROOM);
    assert_int_equal(s_check(r, "agent-1", "lobb", "move"), RTR_RIGHTS_ROOM);
    assert_int_equal(s_check(r, "agent-1", "game", "move"), RTR_RIGHTS_ROOM);
    assert_int_equal(s_check(r, "agent-1", "lobby", "moves"), RTR_RIGHTS_TYPE);
    assert_int_equal(s_check(r, "agent-1", "lobby", "chat"), RTR_RIGHTS_TYPE);
    assert_int_equal(s_check(r, "root", "anything", "at.all"), RTR_RIGHTS_OK);
    /* Unknown publisher under "deny": refused (reported as the room). */
    assert_int_equal(s_check(r, "agent-2", "lobby", "move"), RTR_RIGHTS_ROOM);
    assert_int_equal(s_check(r, "agent-", "lobby", "move"), RTR_RIGHTS_ROOM);

    assert_true(rtr_rights_list_match("a,b*,c", 6, "bx", 2));
    assert_false(rtr_rights_list_match("a,b*,c", 6, "x", 1));
    assert_false(rtr_rights_list_match("", 0, "a", 1));
    rtr_rights_destroy(&r);
    assert_null(r);
    rtr_rights_destroy(&r);
}

/* Lines the parser refuses, each with its reason, leaving the table unchanged. */
static void test_bad_lines(void **state)
{
    (void)state;
    rtr_rights_t *r = rtr_rights_new(false);
    char err[256];
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"a rooms=x", "needs both"},
        {"a types=x", "needs both"},
        {"a rooms=x types=y extra", "unexpected 'extra'"},
        {"a rooms=x rooms=y types=z", "unexpected 'rooms=y'"},
        {"a rooms= types=y", "empty rooms list"},
        {"a rooms=x types=", "empty types list"},
        {"a rooms=b a,c types=y", "unexpected 'a,c'"},
        {"a rooms=x,,y types=z", "invalid room pattern ''"},
        {"a rooms=x*y types=z", "invalid room pattern 'x*y'"},
        {"a rooms=x types=Chat", "invalid type pattern 'Chat'"},
        {"a rooms=x types=a**", "invalid type pattern 'a**'"},
        {"a\x01 rooms=x types=y", "invalid identity"},
        {"01234567890123456789012345678901234567890123456789012345678901234 rooms=x types=y",
         "invalid identity"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rtr_rights_add_line(r, bad[i].line, err, sizeof err), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("line '%s': error '%s' lacks '%s'", bad[i].line, err, bad[i].why);
    }
    assert_int_equal(rtr_rights_size(r), 0);
    assert_int_equal(rtr_rights_add_line(r, "a rooms=x types=y", err, sizeof err), 0);
    assert_int_equal(rtr_rights_add_line(r, "a rooms=z types=y", err, sizeof err), -1);
    assert_non_null(strstr(err, "listed twice"));
    rtr_rights_destroy(&r);
}

/* Default policy, no table, and certificate metadata versus file entries. */
static void test_default_and_metadata(void **state)
{
    (void)state;
    /* No rights file: everything is allowed unless the certificate restricts it. */
    assert_int_equal(s_check(NULL, "x", "r", "t"), RTR_RIGHTS_OK);
    assert_int_equal(rtr_rights_check(NULL, "k", 1, "game:*", NULL, "game:1", 6, "t", 1),
                     RTR_RIGHTS_OK);
    assert_int_equal(rtr_rights_check(NULL, "k", 1, "game:*", NULL, "lobby", 5, "t", 1),
                     RTR_RIGHTS_ROOM);
    assert_int_equal(rtr_rights_check(NULL, "k", 1, NULL, "a,b", "lobby", 5, "c", 1),
                     RTR_RIGHTS_TYPE);

    rtr_rights_t *allow = rtr_rights_new(true);
    char err[256];
    assert_int_equal(rtr_rights_add_line(allow, "k rooms=mine types=*", err, sizeof err), 0);
    assert_int_equal(s_check(allow, "stranger", "any", "t"), RTR_RIGHTS_OK);
    assert_int_equal(s_check(allow, "k", "other", "t"), RTR_RIGHTS_ROOM);
    /* The file's entry wins over the certificate's metadata. */
    assert_int_equal(rtr_rights_check(allow, "k", 1, "other", NULL, "other", 5, "t", 1),
                     RTR_RIGHTS_ROOM);
    /* Metadata applies to a key without an entry, also under allow. */
    assert_int_equal(rtr_rights_check(allow, "j", 1, "other", NULL, "mine", 4, "t", 1),
                     RTR_RIGHTS_ROOM);
    rtr_rights_destroy(&allow);

    rtr_rights_t *deny = rtr_rights_new(false);
    assert_int_equal(s_check(deny, "stranger", "any", "t"), RTR_RIGHTS_ROOM);
    assert_int_equal(rtr_rights_check(deny, "j", 1, "any", "t", "any", 3, "t", 1), RTR_RIGHTS_OK);
    rtr_rights_destroy(&deny);
}

/* Loading files: errors name file and line; a new load is how a reload sees the changes. */
static void test_load_and_reload(void **state)
{
    (void)state;
    char err[512];
    const char *path = s_file(0, "# rights\nagent-1 rooms=a types=x\n\nagent-2 rooms=b types=*\n");
    rtr_rights_t *r = rtr_rights_load(path, false, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rtr_rights_size(r), 2);
    assert_int_equal(s_check(r, "agent-1", "a", "x"), RTR_RIGHTS_OK);
    assert_int_equal(s_check(r, "agent-1", "b", "x"), RTR_RIGHTS_ROOM);

    /* The edited file: agent-1 moves to room b, agent-2 is gone. */
    s_file(0, "agent-1 rooms=b types=x\n");
    rtr_rights_t *next = rtr_rights_load(path, false, err, sizeof err);
    assert_non_null(next);
    assert_int_equal(s_check(next, "agent-1", "b", "x"), RTR_RIGHTS_OK);
    assert_int_equal(s_check(next, "agent-1", "a", "x"), RTR_RIGHTS_ROOM);
    assert_int_equal(s_check(next, "agent-2", "b", "x"), RTR_RIGHTS_ROOM);
    /* The old table is untouched until the caller swaps. */
    assert_int_equal(s_check(r, "agent-1", "a", "x"), RTR_RIGHTS_OK);
    rtr_rights_destroy(&r);
    rtr_rights_destroy(&next);

    const char *bad = s_file(1, "agent-1 rooms=a types=x\nagent-2 rooms=a*b types=x\n");
    assert_null(rtr_rights_load(bad, false, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "%s:2: invalid room pattern 'a*b'", bad);
    assert_string_equal(err, want);
    assert_null(rtr_rights_load("/nonexistent/rights", false, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/rights: No such file"));
    unlink(s_file(0, ""));
    unlink(s_file(1, ""));
}

/* Nanoseconds per check: prints the cost per event with rights (no rights costs nothing). */
static void test_cost_per_check(void **state)
{
    (void)state;
    rtr_rights_t *r = rtr_rights_new(false);
    char err[256], line[256];
    for (int i = 0; i < 10000; i++) {
        snprintf(line, sizeof line,
                 "agent-%d rooms=lobby,help,game:%d:*,chat:%d types=chat.*,move,state.*,presence",
                 i, i, i);
        assert_int_equal(rtr_rights_add_line(r, line, err, sizeof err), 0);
    }
    enum { KEYS = 1024 };
    static char ids[KEYS][32], rooms[KEYS][32];
    size_t idlen[KEYS], rlen[KEYS];
    for (int k = 0; k < KEYS; k++) {
        idlen[k] = (size_t)snprintf(ids[k], sizeof ids[k], "agent-%d", k * 9);
        rlen[k] = (size_t)snprintf(rooms[k], sizeof rooms[k], "game:%d:x", k * 9);
    }
    const int n = 2000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        int k = i % KEYS;
        ok += rtr_rights_check(r, ids[k], idlen[k], NULL, NULL, rooms[k], rlen[k], "state.pos",
                               9) == RTR_RIGHTS_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(ok, n);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
    printf("rights check: %.0f ns per event (10,000 publishers, 4 room + 4 type patterns)\n", ns);
    rtr_rights_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_default_and_metadata),
        cmocka_unit_test(test_load_and_reload),
        cmocka_unit_test(test_cost_per_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
