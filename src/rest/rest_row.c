/* rest_row.c -- rows as PostgreSQL's to_json writes them (rest_row.h). */
#include "rest/rest_row.h"

#include "core/timefmt.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void rest_row_put_cell(json_buf *o, store_type kind, const store_value *v)
{
    char num[32];
    if (v->is_null) {
        json_put_raw(o, "null", 4);
        return;
    }
    switch (kind) {
    case STORE_INT:
        json_put_raw(o, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)v->i));
        break;
    case STORE_FLOAT:
        json_put_number(o, v->d);
        break;
    case STORE_BOOL:
        json_put_raw(o, v->i ? "true" : "false", v->i ? 4 : 5);
        break;
    case STORE_TIME: {
        char t[TIMEFMT_PG_LEN];
        timefmt_format_pg(v->i, t);
        json_put_string(o, t);
        break;
    }
    case STORE_TEXT:
        json_put_string(o, v->s);
        break;
    case STORE_JSON:
        json_put_raw(o, v->s, strlen(v->s)); /* as accepted by ingest: compact JSON */
        break;
    case STORE_JSONB: {
        cJSON *tree = cJSON_Parse(v->s);
        json_print_to(o, tree);
        if (tree == NULL) {
            json_put_raw(o, "null", 4);
        }
        cJSON_Delete(tree);
        break;
    }
    }
}

static void text_cell(const char *s, store_value *v)
{
    *v = (store_value){.is_null = s == NULL, .s = s};
}

void rest_row_event_cells(const tt_event *ev, bool seq_known, store_value c[REST_MAX_COLUMNS])
{
    c[0] = (store_value){.is_null = !seq_known || ev->seq <= 0, .i = ev->seq};
    text_cell(ev->id, &c[1]);
    c[2] = (store_value){.i = ev->ts_ms};
    c[3] = (store_value){.i = ev->received_ms};
    text_cell(ev->type, &c[4]);
    text_cell(ev->source, &c[5]);
    text_cell(ev->session_id, &c[6]);
    text_cell(ev->name, &c[7]);
    text_cell(ev->status, &c[8]);
    c[9] = (store_value){.is_null = !(ev->has & EVENT_HAS_DURATION), .d = ev->duration_ms};
    c[10] = (store_value){.is_null = !(ev->has & EVENT_HAS_BYTES), .i = ev->bytes};
    c[11] = (store_value){.is_null = !(ev->has & EVENT_HAS_VALUE), .d = ev->value};
    text_cell(ev->error, &c[12]);
    text_cell(ev->attrs, &c[13]);
}
