/* test_sqlite_stage.c -- the session index's staged entries, by session (store/sqlite_stage.c):
 * each session once, in the order first staged, its seqs in the order added, across the
 * growth of its hash and arrays; and cleared to empty. */
#include "store/sqlite_stage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define SESSIONS 1000
#define ENTRIES 20000

static void entries_group_by_session_in_first_seen_order(void **state)
{
    (void)state;
    sqlite_stage g = {0};
    char id[32];
    for (int i = 0; i < ENTRIES; i++) {
        snprintf(id, sizeof id, "session-%d", (i * 7919) % SESSIONS);
        assert_true(sqlite_stage_add(&g, id, i + 1));
    }
    assert_int_equal(g.n, SESSIONS);
    assert_int_equal(g.entries, ENTRIES);
    for (size_t k = 0; k < g.n; k++) {
        /* Session k was first seen at entry k (7919 is prime to 1000: the first 1000 entries
         * name every session once). */
        snprintf(id, sizeof id, "session-%d", (int)((k * 7919) % SESSIONS));
        assert_string_equal(g.s[k].id, id);
        assert_int_equal(g.s[k].n, ENTRIES / SESSIONS);
        for (size_t j = 0; j < g.s[k].n; j++) {
            assert_int_equal(g.s[k].seqs[j], (int64_t)(k + j * SESSIONS + 1));
        }
    }
    sqlite_stage_clear(&g);
    assert_int_equal(g.n, 0);
    assert_int_equal(g.entries, 0);
    assert_null(g.s);
    assert_true(sqlite_stage_add(&g, "again", 7)); /* usable after a clear */
    assert_int_equal(g.n, 1);
    sqlite_stage_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_group_by_session_in_first_seen_order),
    };
    return cmocka_run_group_tests_name("sqlite_stage", tests, NULL, NULL);
}
