/* store_pg_sum.c -- the PostgreSQL engine's summaries: the batch's rollup and session
 * increments sent as two JSON documents in one statement, upserted with addition inside the
 * events' transaction -- after the seq lock, so instances adding into the same rows take turns
 * rather than deadlock (store_pg.c). The same statement sends the batch's notification, so the
 * summaries cost the commit no round trip of their own. */
#include "store/pg_internal.h"

#include "core/json_print.h"

#include <stdio.h>
#include <stdlib.h>

/* The batch's rows, added into what is there. On PostgreSQL the events' transaction writes
 * the minute rows; hour and day rows only for late events, whose minutes are folded already
 * (migrations/postgres/0008: before rollup_folded.through, read under the seq lock). */
static const char UPSERT_SQL[] =
    "WITH r AS ("
    " INSERT INTO monitoring.metrics_rollup AS m (tier, bucket, type, source, name, count,"
    "  errors, bytes, duration_count, duration_sum, duration_min, duration_max, latency)"
    " SELECT tier, to_timestamp(bucket / 1000.0), type, source, name, count, errors, bytes,"
    "  duration_count, duration_sum, duration_min, duration_max, latency"
    " FROM jsonb_to_recordset($1::jsonb) AS x(tier text, bucket bigint, type text, source text,"
    "  name text, count bigint, errors bigint, bytes bigint, duration_count bigint,"
    "  duration_sum double precision, duration_min double precision,"
    "  duration_max double precision, latency jsonb)"
    " ON CONFLICT (tier, bucket, type, source, name) DO UPDATE SET"
    "  count = m.count + excluded.count, errors = m.errors + excluded.errors,"
    "  bytes = m.bytes + excluded.bytes,"
    "  duration_count = m.duration_count + excluded.duration_count,"
    "  duration_sum = m.duration_sum + excluded.duration_sum,"
    "  duration_min = least(m.duration_min, excluded.duration_min),"
    "  duration_max = greatest(m.duration_max, excluded.duration_max),"
    "  latency = monitoring.loghist_add(m.latency, excluded.latency)"
    " RETURNING 1), s AS ("
    " INSERT INTO monitoring.sessions AS t (session_id, source, first_seen, last_seen, events,"
    "  errors, tool_calls, duration_count, latency, started_at, ended_at)"
    " SELECT session_id, source, to_timestamp(first_ms / 1000.0), to_timestamp(last_ms / 1000.0),"
    "  events, errors, tool_calls, duration_count, latency, to_timestamp(started_ms / 1000.0),"
    "  to_timestamp(ended_ms / 1000.0)"
    " FROM jsonb_to_recordset($2::jsonb) AS x(session_id text, source text, first_ms bigint,"
    "  last_ms bigint, events bigint, errors bigint, tool_calls bigint, duration_count bigint,"
    "  latency jsonb, started_ms bigint, ended_ms bigint)"
    " ON CONFLICT (session_id) DO UPDATE SET source = coalesce(t.source, excluded.source),"
    "  first_seen = least(t.first_seen, excluded.first_seen),"
    "  last_seen = greatest(t.last_seen, excluded.last_seen),"
    "  events = t.events + excluded.events, errors = t.errors + excluded.errors,"
    "  tool_calls = t.tool_calls + excluded.tool_calls,"
    "  duration_count = t.duration_count + excluded.duration_count,"
    "  latency = monitoring.loghist_add(t.latency, excluded.latency),"
    "  started_at = greatest(t.started_at, excluded.started_at),"
    "  ended_at = greatest(t.ended_at, excluded.ended_at)"
    " RETURNING 1)"
    " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM s), pg_notify($3, $4)";

static void member_latency(json_writer *w, const loghist *h)
{
    json_buf tmp = {0};
    loghist_write(h, &tmp);
    json_key(w, "latency");
    if (tmp.oom) {
        w->out.oom = true;
    } else {
        json_raw_value(w, tmp.buf, tmp.len);
    }
    free(tmp.buf);
}

static void member_time(json_writer *w, const char *name, int64_t ms)
{
    if (ms == SESSION_NO_TIME) {
        json_key(w, name);
        json_null(w);
    } else {
        json_member_int64(w, name, ms);
    }
}

static void write_row(json_writer *w, const rollup_row *r)
{
    json_open_object(w);
    json_member_string(w, "tier", rollup_tier_names[r->tier]);
    json_member_int64(w, "bucket", r->bucket_ms);
    json_member_string(w, "type", r->type);
    json_member_string(w, "source", r->source);
    json_member_string(w, "name", r->name);
    json_member_int64(w, "count", r->count);
    json_member_int64(w, "errors", r->errors);
    json_member_int64(w, "bytes", r->bytes);
    json_member_int64(w, "duration_count", r->duration_count);
    json_member_number(w, "duration_sum", r->duration_sum);
    if (r->duration_count > 0) {
        json_member_number(w, "duration_min", r->duration_min);
        json_member_number(w, "duration_max", r->duration_max);
    }
    member_latency(w, &r->latency);
    json_close_object(w);
}

static void write_rows(json_writer *w, const rollup_batch *b)
{
    json_open_array(w);
    for (size_t i = 0; i < b->nrows; i++) {
        write_row(w, &b->rows[i]);
    }
    json_close_array(w);
}

static void write_sessions(json_writer *w, const rollup_batch *b)
{
    json_open_array(w);
    for (size_t i = 0; i < b->nsessions; i++) {
        const session_delta *d = &b->sessions[i];
        json_open_object(w);
        json_member_string(w, "session_id", d->session_id);
        json_member_string(w, "source", d->source);
        json_member_int64(w, "first_ms", d->first_ms);
        json_member_int64(w, "last_ms", d->last_ms);
        json_member_int64(w, "events", d->events);
        json_member_int64(w, "errors", d->errors);
        json_member_int64(w, "tool_calls", d->tool_calls);
        json_member_int64(w, "duration_count", d->duration_count);
        member_latency(w, &d->latency);
        member_time(w, "started_ms", d->started_ms);
        member_time(w, "ended_ms", d->ended_ms);
        json_close_object(w);
    }
    json_close_array(w);
}

int pg_write_summaries(pg_store *s, tt_event *const *events, size_t n, int64_t folded_ms,
                       const char *notify, char *err)
{
    rollup_batch *b = &s->base.sums;
    rollup_batch_reset(b);
    b->folds = true; /* the minute rows of every event, hour and day rows of the late ones */
    b->folded_ms = folded_ms; /* 'through' is a minute's start */
    rollup_batch_add_stored(b, events, n);
    if (b->oom) {
        return tt_fail(err, TT_EUNAVAILABLE, "out of memory summarising a batch");
    }
    json_writer rows = {0}, sessions = {0};
    write_rows(&rows, b);
    write_sessions(&sessions, b);
    int rc = 0;
    if (rows.out.oom || sessions.out.oom) {
        rc = tt_fail(err, TT_EUNAVAILABLE, "out of memory summarising a batch");
    } else {
        const char *params[] = {rows.out.buf, sessions.out.buf, NOTIFY_CHANNEL, notify};
        PGresult *res = pg_call(s, s->writer, UPSERT_SQL, 4, params);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pg_fail(s->writer, res, "summaries", err);
        } else {
            PQclear(res);
        }
    }
    free(rows.out.buf);
    free(sessions.out.buf);
    return rc;
}

static int delete_some(pg_store *s, const char *sql, int nparams, const char *const *params,
                       uint64_t *deleted, char *err)
{
    PGresult *res = pg_call(s, s->writer, sql, nparams, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return pg_fail(s->writer, res, "expire summaries", err);
    }
    *deleted += strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

int pg_expire_summaries(store *base, const store_expiry *e, uint64_t *deleted, char *err)
{
    pg_store *s = (pg_store *)base;
    *deleted = 0;
    int rc = pg_writer_ready(s, err);
    char before[24], limit[16];
    snprintf(limit, sizeof limit, "%u", e->max_rows);
    for (int t = 0; t < ROLLUP_TIERS && rc == 0; t++) {
        if (e->tier_before_ms[t] > 0) {
            snprintf(before, sizeof before, "%lld", (long long)e->tier_before_ms[t]);
            /* A minute not folded yet is kept whatever its age: its hour and day need it. */
            const char *params[] = {rollup_tier_names[t], before, limit};
            rc = delete_some(s,
                             "DELETE FROM monitoring.metrics_rollup WHERE ctid IN (SELECT ctid "
                             "FROM monitoring.metrics_rollup WHERE tier = $1 AND bucket < "
                             "to_timestamp($2::bigint / 1000.0) AND (tier <> 'minute' OR "
                             "bucket < (SELECT through FROM monitoring.rollup_folded)) LIMIT $3)",
                             3, params, deleted, err);
        }
    }
    if (rc == 0 && e->sessions_before_ms > 0) {
        snprintf(before, sizeof before, "%lld", (long long)e->sessions_before_ms);
        const char *params[] = {before, limit};
        rc = delete_some(s,
                         "DELETE FROM monitoring.sessions WHERE session_id IN (SELECT session_id "
                         "FROM monitoring.sessions WHERE last_seen < "
                         "to_timestamp($1::bigint / 1000.0) LIMIT $2)",
                         2, params, deleted, err);
    }
    return rc;
}

/* Folds at most this much per call, so that a fold after a long outage is a series of short
 * transactions holding the seq lock, not one long one; housekeeping comes back for the rest. */
#define FOLD_STEP "1 hour"
#define FOLD_STEPS_PER_CALL 24
#define MINUTE_MS 60000

/* Minutes that closed a minute ago or earlier are folded: a minute still being written would
 * send its late events down the slower path (UPSERT_SQL's 'late'). */
int pg_fold_summaries(store *base, int64_t now_ms, char *err)
{
    pg_store *s = (pg_store *)base;
    int64_t until = now_ms - now_ms % MINUTE_MS - MINUTE_MS;
    if (until <= s->folded_ms) {
        return 0;
    }
    int rc = pg_writer_ready(s, err);
    char until_text[24];
    snprintf(until_text, sizeof until_text, "%lld", (long long)until);
    const char *params[] = {until_text};
    for (int step = 0; rc == 0 && step < FOLD_STEPS_PER_CALL; step++) {
        PGresult *res =
            pg_call(s, s->writer,
                    "SELECT (extract(epoch FROM monitoring.rollup_fold("
                    "to_timestamp($1::bigint / 1000.0), interval '" FOLD_STEP "')) * 1000)::bigint",
                    1, params);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            return pg_fail(s->writer, res, "fold rollups", err);
        }
        int64_t through = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (through >= until) {
            s->folded_ms = until; /* or beyond: another instance folded ahead */
            break;
        }
    }
    return rc;
}
