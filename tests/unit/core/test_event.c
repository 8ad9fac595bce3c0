/* test_event.c -- the event value: one-allocation clones and the type alphabet. */
#include "core/event.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* True if 'p' lies inside the allocation of clone 'ev'. */
static bool inside(const tt_event *ev, const char *p)
{
    const char *start = (const char *)ev;
    return p >= start + sizeof *ev && p < start + ev->size;
}

static void clone_copies_every_field(void **state)
{
    (void)state;
    tt_event src = {.seq = 9,
                    .ts_ms = 1,
                    .received_ms = 2,
                    .duration_ms = 3.5,
                    .value = -4,
                    .bytes = 5,
                    .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES | EVENT_HAS_VALUE,
                    .id = "id-1",
                    .type = "tool_call",
                    .source = "mcp",
                    .session_id = "s",
                    .name = "read",
                    .status = "ok",
                    .error = "e",
                    .attrs = "{\"k\":1}"};
    tt_event *ev = event_clone(&src);
    assert_non_null(ev);
    assert_int_equal(ev->seq, 9);
    assert_int_equal(ev->ts_ms, 1);
    assert_int_equal(ev->received_ms, 2);
    assert_true(ev->duration_ms == 3.5);
    assert_true(ev->value == -4);
    assert_int_equal(ev->bytes, 5);
    assert_int_equal(ev->has, src.has);
    assert_string_equal(ev->id, "id-1");
    assert_string_equal(ev->type, "tool_call");
    assert_string_equal(ev->source, "mcp");
    assert_string_equal(ev->session_id, "s");
    assert_string_equal(ev->name, "read");
    assert_string_equal(ev->status, "ok");
    assert_string_equal(ev->error, "e");
    assert_string_equal(ev->attrs, "{\"k\":1}");
    event_free(ev);
}

static void clone_owns_its_strings_in_one_allocation(void **state)
{
    (void)state;
    char type[] = "request", attrs[] = "{\"a\":true}";
    tt_event src = {.type = type, .attrs = attrs, .source = "x"};
    tt_event *ev = event_clone(&src);
    assert_non_null(ev);
    assert_true(inside(ev, ev->type));
    assert_true(inside(ev, ev->attrs));
    assert_true(inside(ev, ev->source));
    memset(type, 'Z', sizeof type - 1); /* the original changes; the clone does not */
    memset(attrs, 'Z', sizeof attrs - 1);
    assert_string_equal(ev->type, "request");
    assert_string_equal(ev->attrs, "{\"a\":true}");
    event_free(ev);
}

static void clone_size_counts_the_strings(void **state)
{
    (void)state;
    tt_event bare = {.type = "a"};
    tt_event *ev = event_clone(&bare);
    assert_int_equal(ev->size, sizeof(tt_event) + 2);
    event_free(ev);
    tt_event full = {.type = "ab",
                     .source = "cde",
                     .session_id = "",
                     .name = "f",
                     .status = "gh",
                     .error = "ijk",
                     .attrs = "{}"};
    ev = event_clone(&full);
    assert_int_equal(ev->size, sizeof(tt_event) + 3 + 4 + 1 + 2 + 3 + 4 + 3);
    event_free(ev);
}

static void clone_keeps_absent_strings_null(void **state)
{
    (void)state;
    tt_event src = {.type = "a"};
    tt_event *ev = event_clone(&src);
    assert_null(ev->source);
    assert_null(ev->session_id);
    assert_null(ev->name);
    assert_null(ev->status);
    assert_null(ev->error);
    assert_null(ev->attrs);
    assert_string_equal(ev->id, "");
    event_free(ev);
}

static void clone_of_a_clone_is_independent(void **state)
{
    (void)state;
    tt_event src = {.type = "a", .name = "n"};
    tt_event *one = event_clone(&src);
    tt_event *two = event_clone(one);
    event_free(one);
    assert_string_equal(two->name, "n"); /* still readable: ASan would catch a shared buffer */
    assert_true(inside(two, two->name));
    event_free(two);
}

static void free_null_is_a_no_op(void **state)
{
    (void)state;
    event_free(NULL); /* the test is that this returns */
}

static void type_valid_alphabet_and_length(void **state)
{
    (void)state;
    assert_true(event_type_valid("a", 1));
    assert_true(event_type_valid("session_start", 13));
    assert_true(event_type_valid("a.b:c-d_9", 9));
    assert_false(event_type_valid("", 0));
    assert_false(event_type_valid("A", 1));
    assert_false(event_type_valid("a b", 3));
    assert_false(event_type_valid("a\0b", 3));
    char t[66];
    memset(t, 'x', sizeof t);
    assert_true(event_type_valid(t, 64));
    assert_false(event_type_valid(t, 65));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clone_copies_every_field),
        cmocka_unit_test(clone_owns_its_strings_in_one_allocation),
        cmocka_unit_test(clone_size_counts_the_strings),
        cmocka_unit_test(clone_keeps_absent_strings_null),
        cmocka_unit_test(clone_of_a_clone_is_independent),
        cmocka_unit_test(free_null_is_a_no_op),
        cmocka_unit_test(type_valid_alphabet_and_length),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
