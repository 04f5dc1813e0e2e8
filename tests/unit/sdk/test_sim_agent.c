/*
 * test_sim_agent.c: weft-sim's traffic generator: reproducible from a seed, every event valid on
 * the wire (names, keys, JSON objects), rooms and keys as documented, task progress rising to 100
 * then a completion, and critical errors rare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sim_agent.h"
#include "wire_envelope.h"

/* Ids and projects follow from the index; projects 0 is refused. */
static void test_identity(void **state)
{
    (void)state;
    assert_null(sim_agent_new(1, 0, 7));
    sim_agent_t *a = sim_agent_new(7, 3, 42);
    assert_non_null(a);
    assert_string_equal(sim_agent_id(a), "agent-7");
    assert_int_equal(sim_agent_project(a), 1);
    sim_agent_destroy(&a);
    assert_null(a);
    sim_agent_destroy(&a);
}

/* The same seed and index give the same stream; others differ. */
static void test_reproducible(void **state)
{
    (void)state;
    sim_agent_t *a = sim_agent_new(2, 3, 1234);
    sim_agent_t *b = sim_agent_new(2, 3, 1234);
    sim_agent_t *c = sim_agent_new(2, 3, 1235);
    sim_agent_t *d = sim_agent_new(3, 3, 1234);
    bool differs_seed = false, differs_index = false;
    for (int i = 0; i < 2000; i++) {
        sim_event_t ea, eb, ec, ed;
        sim_agent_next(a, &ea);
        sim_agent_next(b, &eb);
        sim_agent_next(c, &ec);
        sim_agent_next(d, &ed);
        assert_memory_equal(&ea, &eb, sizeof ea);
        if (strcmp(ea.json, ec.json) != 0)
            differs_seed = true;
        if (strcmp(ea.type, ed.type) != 0)
            differs_index = true;
    }
    assert_true(differs_seed);
    assert_true(differs_index);
    sim_agent_destroy(&a);
    sim_agent_destroy(&b);
    sim_agent_destroy(&c);
    sim_agent_destroy(&d);
}

/* Counts per event type. */
typedef struct tally {
    int status, progress, completed, cpu, memory, log, error;
} tally_t;

/* A long run: valid names and JSON, documented rooms and keys, sane task flow, rare errors. */
static void test_events_valid_and_realistic(void **state)
{
    (void)state;
    const unsigned index = 5, projects = 3;
    sim_agent_t *a = sim_agent_new(index, projects, 99);
    tally_t t = {0};
    char last_task[64] = "";
    int last_pct = -1;
    bool expect_completion = false;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        sim_event_t ev;
        sim_agent_next(a, &ev);
        assert_true(wire_room_valid(ev.room, strlen(ev.room)));
        assert_true(wire_type_valid(ev.type, strlen(ev.type)));
        if (ev.key[0])
            assert_true(wire_key_valid(ev.key, strlen(ev.key)));
        json_error_t jerr;
        json_t *doc = json_loads(ev.json, 0, &jerr);
        if (!json_is_object(doc))
            fail_msg("not a JSON object: %s (%s)", ev.json, jerr.text);
        assert_string_equal(json_string_value(json_object_get(doc, "agent")), "agent-5");
        assert_int_equal(ev.flags, strcmp(ev.type, "agent.error") == 0 ? WEFT_CRITICAL : 0);

        if (expect_completion) {
            /* A task at 100% completes on the very next event. */
            assert_string_equal(ev.type, "task.completed");
            expect_completion = false;
        }
        if (strcmp(ev.type, "agent.status_changed") == 0) {
            t.status++;
            assert_string_equal(ev.room, "project:2");
            assert_string_equal(ev.key, "agent-5");
            const char *st = json_string_value(json_object_get(doc, "status"));
            assert_true(strcmp(st, "idle") == 0 || strcmp(st, "working") == 0 ||
                        strcmp(st, "blocked") == 0);
        } else if (strcmp(ev.type, "task.progress") == 0) {
            t.progress++;
            assert_string_equal(ev.room, "project:2");
            const char *task = json_string_value(json_object_get(doc, "task"));
            assert_string_equal(ev.key, task);
            int pct = (int)json_integer_value(json_object_get(doc, "pct"));
            assert_true(pct >= 1 && pct <= 100);
            if (strcmp(task, last_task) == 0)
                assert_true(pct > last_pct);
            snprintf(last_task, sizeof last_task, "%s", task);
            last_pct = pct;
            expect_completion = pct == 100;
        } else if (strcmp(ev.type, "task.completed") == 0) {
            t.completed++;
            assert_string_equal(ev.room, "global");
            assert_string_equal(ev.key, "");
            assert_string_equal(json_string_value(json_object_get(doc, "task")), last_task);
            assert_int_equal(last_pct, 100);
        } else if (strcmp(ev.type, "metrics.cpu") == 0) {
            t.cpu++;
            assert_string_equal(ev.room, "agent:5");
            assert_string_equal(ev.key, "agent-5");
            double v = json_number_value(json_object_get(doc, "cpu_pct"));
            assert_true(v >= 0.0 && v <= 100.0);
        } else if (strcmp(ev.type, "metrics.memory") == 0) {
            t.memory++;
            assert_string_equal(ev.room, "agent:5");
            assert_string_equal(ev.key, "agent-5");
        } else if (strcmp(ev.type, "log.line") == 0) {
            t.log++;
            assert_string_equal(ev.room, "agent:5");
            assert_non_null(json_string_value(json_object_get(doc, "level")));
            assert_non_null(json_string_value(json_object_get(doc, "message")));
        } else if (strcmp(ev.type, "agent.error") == 0) {
            t.error++;
            assert_string_equal(ev.room, "global");
        } else {
            fail_msg("unexpected event type %s", ev.type);
        }
        json_decref(doc);
    }
    sim_agent_destroy(&a);
    /* Every kind shows up; errors are about 0.5%; tasks do finish. */
    assert_true(t.status > 0 && t.progress > 0 && t.cpu > 0 && t.memory > 0 && t.log > 0);
    assert_true(t.completed > 100);
    assert_true(t.error > n * 2 / 1000 && t.error < n * 10 / 1000);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_events_valid_and_realistic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
