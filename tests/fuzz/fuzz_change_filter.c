/* fuzz_change_filter.c -- libFuzzer target for the postgres_changes row filter (the text a
 * Realtime client sends in a binding's "filter").
 *
 * Beyond "no crash, no leak, no undefined behaviour": a refusal says why and leaves nothing to
 * free; an accepted filter can be matched against events with every field present and with
 * every optional field absent, and (as in SQL) no comparison matches an absent field but
 * through a column that is always there. */
#include "core/change_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (spec == NULL) {
        return 0;
    }
    memcpy(spec, data, size);
    spec[size] = '\0';
    change_filter f;
    char err[TT_ERRLEN] = "";
    int rc = change_filter_parse(spec, &f, err);
    char *eq = strchr(spec, '=');
    size_t column_len = eq != NULL ? (size_t)(eq - spec) : 0;
    bool always_there = false; /* the columns every event has */
    for (const char *const *c =
             (const char *const[]){"seq", "id", "ts", "received_at", "type", NULL};
         *c != NULL; c++) {
        always_there =
            always_there || (strlen(*c) == column_len && memcmp(*c, spec, column_len) == 0);
    }
    free(spec);
    if (rc != 0) {
        check(rc == TT_EINVAL || rc == TT_ENOMEM);
        check(rc == TT_ENOMEM || err[0] != '\0');
        return 0;
    }
    tt_event full = {.seq = 42,
                     .ts_ms = 1764340303123,
                     .received_ms = 1764340303200,
                     .duration_ms = 12.5,
                     .value = -3,
                     .bytes = 1024,
                     .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES | EVENT_HAS_VALUE,
                     .id = "01a22352-8e78-763b-877e-26bc5a557504",
                     .type = "tool_call",
                     .source = "gateway",
                     .session_id = "s-1",
                     .name = "search",
                     .status = "ok",
                     .error = "timeout, retried",
                     .attrs = "{}"};
    tt_event bare = {.seq = 7, .ts_ms = 0, .received_ms = 0, .id = "x", .type = "a"};
    (void)change_filter_match(&f, &full);
    check(!change_filter_match(&f, &bare) || always_there);
    change_filter_free(&f);
    return 0;
}
