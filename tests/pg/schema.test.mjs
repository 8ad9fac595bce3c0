// schema.test.mjs -- the objects DESIGN §3 names exist in schema monitoring after
// `telltale migrate`, as specified: tables and columns, check constraints (which must reject
// bad rows, not just be present), indexes (the due-items one partial), views, functions, row
// level security switched on, and the publication.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CHECK_VIOLATION, migratedDatabase, rejectsWith } from './lib/pg.mjs';

const { admin } = await migratedDatabase('schema');
const q = async (sql, params) => (await admin.query(sql, params)).rows;

const TS = 'timestamp with time zone';
const F8 = 'double precision';

// name -> [column, type, NOT NULL], in column order.
const TABLES = {
  monitoring_events: [
    ['seq', 'bigint', true],
    ['id', 'text', true],
    ['ts', TS, true],
    ['received_at', TS, true],
    ['type', 'text', true],
    ['source', 'text', false],
    ['session_id', 'text', false],
    ['name', 'text', false],
    ['status', 'text', false],
    ['duration_ms', F8, false],
    ['bytes', 'bigint', false],
    ['value', F8, false],
    ['error', 'text', false],
    ['attrs', 'json', false],
  ],
  dead_letter_queue: [
    ['id', 'bigint', true],
    ['original_payload', 'jsonb', true],
    ['failure_reason', 'text', true],
    ['retry_count', 'integer', true],
    ['max_retries', 'integer', true],
    ['status', 'text', true],
    ['created_at', TS, true],
    ['last_retry_at', TS, false],
    ['next_retry_at', TS, false],
    ['recovered_at', TS, false],
  ],
  feature_flags: [
    ['key', 'text', true],
    ['enabled', 'boolean', true],
    ['variant', 'text', false],
    ['rollout_percent', 'integer', true],
    ['description', 'text', false],
    ['version', 'bigint', true],
    ['updated_at', TS, true],
    ['rules', 'jsonb', false],
  ],
  dashboard_state: [
    ['client_id', 'text', true],
    ['key', 'text', true],
    ['value', 'jsonb', true],
    ['version', 'bigint', true],
    ['updated_at', TS, true],
  ],
  metrics_rollup: [
    ['tier', 'text', true],
    ['bucket', TS, true],
    ['type', 'text', true],
    ['source', 'text', true],
    ['name', 'text', true],
    ['count', 'bigint', true],
    ['errors', 'bigint', true],
    ['bytes', 'bigint', true],
    ['duration_count', 'bigint', true],
    ['duration_sum', F8, true],
    ['duration_min', F8, false],
    ['duration_max', F8, false],
    ['latency', 'jsonb', true],
  ],
  sessions: [
    ['session_id', 'text', true],
    ['source', 'text', false],
    ['first_seen', TS, true],
    ['last_seen', TS, true],
    ['events', 'bigint', true],
    ['errors', 'bigint', true],
    ['tool_calls', 'bigint', true],
    ['duration_count', 'bigint', true],
    ['latency', 'jsonb', true],
    ['started_at', TS, false],
    ['ended_at', TS, false],
  ],
  rollup_folded: [
    ['one', 'boolean', true],
    ['through', TS, true],
  ],
  schema_migrations: [
    ['version', 'integer', true],
    ['name', 'text', true],
    ['applied_at', TS, true],
  ],
};

async function columnsOf(rel) {
  const rows = await q(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`monitoring.${rel}`],
  );
  return rows.map((r) => [r.attname, r.type, r.attnotnull]);
}

describe('tables and columns', () => {
  test('schema monitoring holds exactly the tables of DESIGN §3', async () => {
    const rows = await q(`SELECT relname FROM pg_class
                           WHERE relnamespace = 'monitoring'::regnamespace AND relkind = 'r'
                           ORDER BY relname`);
    assert.deepEqual(rows.map((r) => r.relname), Object.keys(TABLES).sort());
  });

  for (const [table, columns] of Object.entries(TABLES)) {
    test(`${table}: columns, types and NOT NULL`, async () => {
      assert.deepEqual(await columnsOf(table), columns);
    });
  }

  const DEFAULTS = [
    ['dead_letter_queue', 'retry_count', '0'],
    ['dead_letter_queue', 'max_retries', '5'],
    ['dead_letter_queue', 'status', 'pending'],
    ['feature_flags', 'version', '1'],
    ['dashboard_state', 'version', '1'],
  ];
  test('defaults DESIGN §3 names (max_retries 5, status pending)', async () => {
    for (const [table, column, want] of DEFAULTS) {
      const rows = await q(
        `SELECT pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attrdef d
           JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
          WHERE d.adrelid = to_regclass($1) AND a.attname = $2`,
        [`monitoring.${table}`, column],
      );
      assert.equal(rows.length, 1, `${table}.${column} has no default`);
      assert.match(rows[0].def, new RegExp(`^'?${want}'?(::text)?$`), `${table}.${column}`);
    }
  });

  test('dead_letter_queue.id is generated, not given', async () => {
    await rejectsWith(
      admin.query(`INSERT INTO monitoring.dead_letter_queue (id, original_payload, failure_reason)
                    VALUES (1, '{}', 'x')`),
      '428C9', // generated_always
    );
  });

  test('monitoring_events.id is unique', async () => {
    await admin.query('BEGIN');
    try {
      await admin.query(`INSERT INTO monitoring.monitoring_events (id, ts, type)
                         VALUES ('dup', now(), 'request')`);
      await rejectsWith(
        admin.query(`INSERT INTO monitoring.monitoring_events (id, ts, type)
                     VALUES ('dup', now(), 'request')`),
        '23505',
      );
    } finally {
      await admin.query('ROLLBACK');
    }
  });
});

// ---- check constraints ----

describe('check constraints are declared', () => {
  // The columns each table's CHECK constraints are about (table-wide checks list them all).
  const CHECKED = {
    monitoring_events: [
      'attrs', 'bytes', 'duration_ms', 'error', 'id', 'name', 'session_id', 'source', 'status',
      'type',
    ],
    dead_letter_queue: ['max_retries', 'max_retries,retry_count', 'next_retry_at,status', 'retry_count',
      'status'],
    feature_flags: ['description', 'key', 'rollout_percent', 'rules', 'variant', 'version'],
    dashboard_state: ['client_id', 'key', 'version'],
    metrics_rollup: ['bucket,tier', 'bytes', 'count', 'duration_count', 'errors', 'tier'],
    sessions: ['duration_count', 'errors', 'events', 'session_id', 'tool_calls'],
    rollup_folded: ['one', 'through'],
    schema_migrations: [],
  };
  for (const [table, want] of Object.entries(CHECKED)) {
    test(`${table}`, async () => {
      const rows = await q(
        `SELECT string_agg(a.attname, ',' ORDER BY a.attname) AS cols
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
          WHERE c.conrelid = to_regclass($1) AND c.contype = 'c'
          GROUP BY c.oid ORDER BY 1`,
        [`monitoring.${table}`],
      );
      assert.deepEqual(rows.map((r) => r.cols), want);
    });
  }

  test('dead_letter_queue: status in the four states, retry_count <= max_retries', async () => {
    const rows = await q(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
                           WHERE conrelid = 'monitoring.dead_letter_queue'::regclass
                             AND contype = 'c'`);
    const defs = rows.map((r) => r.def);
    assert.ok(defs.includes('CHECK ((retry_count <= max_retries))'), defs.join('\n'));
    const status = defs.find((d) => d.includes('status'));
    for (const s of ['pending', 'retrying', 'recovered', 'failed']) {
      assert.ok(status.includes(`'${s}'`), status);
    }
  });
});

// Each table: a valid row, then rows that differ from it in one column. The valid row and the
// boundary cases must go in; every bad case must be refused with check_violation by that
// table. Each insert runs in a transaction that is rolled back.
const long = (n, c = 'a') => c.repeat(n);
const REJECTS = {
  monitoring_events: {
    valid: { id: 'e-1', ts: '2026-01-01T00:00:00Z', type: 'request' },
    ok: [
      { id: long(64) },
      { type: long(64, 'z') },
      { type: 'a0_.:-' },
      { source: long(64), session_id: long(128), name: long(128), status: long(32) },
      { error: long(4096), duration_ms: 0, bytes: 0, attrs: '{}' },
      { id: 'é'.repeat(32) }, // 64 bytes
    ],
    bad: [
      { id: '' },
      { id: long(65) },
      { id: 'é'.repeat(33) }, // 33 characters, 66 bytes
      { type: '' },
      { type: 'Request' },
      { type: 'has space' },
      { type: long(65) },
      { source: long(65) },
      { session_id: long(129) },
      { name: long(129) },
      { status: long(33) },
      { duration_ms: -1 },
      { bytes: -1 },
      { error: long(4097) },
      { attrs: '[]' },
      { attrs: '"text"' },
      { attrs: '1' },
      { attrs: 'null' },
    ],
  },
  dead_letter_queue: {
    valid: { original_payload: '{"type":"request"}', failure_reason: 'rejected' },
    ok: [
      { retry_count: 5, max_retries: 5, status: 'failed' },
      { retry_count: 0, max_retries: 0 },
      { status: 'retrying' },
      { status: 'recovered' },
      { status: 'failed', next_retry_at: null },
    ],
    bad: [
      { status: 'bogus' },
      { status: 'Pending' },
      { retry_count: 6 }, // default max_retries 5
      { retry_count: 2, max_retries: 1 },
      { retry_count: 1, max_retries: 0 },
      { retry_count: -1 },
      { max_retries: -1 },
      { next_retry_at: null }, // unresolved and never due: it would be stuck for ever
      { status: 'retrying', next_retry_at: null },
    ],
  },
  feature_flags: {
    valid: { key: 'new-ui' },
    ok: [{ rollout_percent: 0 }, { rollout_percent: 100 }, { key: long(64), variant: long(64) },
      { rules: '[{"attribute":"plan","in":["pro"]}]' }],
    bad: [
      { key: '' },
      { key: 'Upper' },
      { key: long(65) },
      { rollout_percent: -1 },
      { rollout_percent: 101 },
      { variant: long(65) },
      { description: long(1025) },
      { version: 0 },
      { rules: '{"attribute":"plan"}' }, // rules are an array or null
    ],
  },
  dashboard_state: {
    valid: { client_id: 'client-a', key: 'layout', value: '{}' },
    ok: [{ client_id: long(128), key: long(128) }],
    bad: [{ client_id: '' }, { client_id: long(129) }, { key: '' }, { key: long(129) },
      { version: 0 }],
  },
  metrics_rollup: {
    valid: { tier: 'minute', bucket: '2026-01-01T00:01:00Z', type: 'request' },
    ok: [
      { tier: 'hour', bucket: '2026-01-01T01:00:00Z' },
      { tier: 'day', bucket: '2026-01-01T00:00:00Z', latency: '{"3":1}' },
    ],
    bad: [
      { bucket: '2026-01-01T00:01:30Z' },
      { bucket: '2026-01-01T00:01:00.5Z' },
      { tier: 'hour' }, // 00:01 is not an hour
      { tier: 'day', bucket: '2026-01-01T01:00:00Z' },
      { tier: 'week' },
      { count: -1 },
      { errors: -1 },
      { bytes: -1 },
      { duration_count: -1 },
    ],
  },
  sessions: {
    valid: { session_id: 's-1', first_seen: '2026-01-01T00:00:00Z', last_seen: '2026-01-01T00:00:00Z' },
    ok: [{ session_id: long(128) }],
    bad: [
      { session_id: '' },
      { session_id: long(129) },
      { events: -1 },
      { errors: -1 },
      { tool_calls: -1 },
      { duration_count: -1 },
    ],
  },
};

function insert(table, row) {
  const cols = Object.keys(row);
  return admin.query(
    `INSERT INTO monitoring.${table} (${cols.join(', ')})
     VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
    cols.map((c) => row[c]),
  );
}

async function rolledBack(fn) {
  await admin.query('BEGIN');
  try {
    return await fn();
  } finally {
    await admin.query('ROLLBACK');
  }
}

const show = (o) => JSON.stringify(o, (k, v) => (typeof v === 'string' && v.length > 20
  ? `${v.slice(0, 3)}…(${v.length})` : v));

describe('check constraints reject bad rows', () => {
  for (const [table, { valid, ok, bad }] of Object.entries(REJECTS)) {
    for (const change of [{}, ...ok]) {
      test(`${table} accepts ${show(change)}`, async () => {
        const r = await rolledBack(() => insert(table, { ...valid, ...change }));
        assert.equal(r.rowCount, 1);
      });
    }
    for (const change of bad) {
      test(`${table} rejects ${show(change)}`, async () => {
        const err = await rolledBack(() =>
          rejectsWith(insert(table, { ...valid, ...change }), CHECK_VIOLATION));
        assert.equal(err.table, table);
      });
    }
  }

  // rollup_folded holds one row from its migration on: a second, or a 'through' off a minute,
  // is refused.
  test('rollup_folded: a second row, or a through off a minute, is rejected', async () => {
    await rolledBack(() => rejectsWith(
      admin.query("INSERT INTO monitoring.rollup_folded (one, through) VALUES (false, now())"),
      CHECK_VIOLATION));
    await rolledBack(() => rejectsWith(
      admin.query("UPDATE monitoring.rollup_folded SET through = through + interval '30 s'"),
      CHECK_VIOLATION));
  });

  // An UPDATE cannot get round them either.
  const UPDATES = [
    ['retry_count past max_retries', 'retry_count = max_retries + 1'],
    ['max_retries below retry_count', 'max_retries = retry_count - 1'],
    ['an unknown status', "status = 'done'"],
  ];
  for (const [what, set] of UPDATES) {
    test(`dead_letter_queue: an UPDATE setting ${what} is rejected`, async () => {
      await rolledBack(async () => {
        await admin.query(`INSERT INTO monitoring.dead_letter_queue
                             (original_payload, failure_reason, retry_count, max_retries)
                           VALUES ('{}', 'x', 3, 5)`);
        await rejectsWith(admin.query(`UPDATE monitoring.dead_letter_queue SET ${set}`),
          CHECK_VIOLATION);
      });
    });
  }
});

// ---- indexes ----

describe('indexes', () => {
  // [table, columns, unique, partial]
  const INDEXES = [
    ['dashboard_state', 'client_id, key', true, false],
    ['dashboard_state', 'updated_at', false, false],
    ['dead_letter_queue', 'created_at', false, false],
    ['dead_letter_queue', 'id', true, false],
    ['dead_letter_queue', 'next_retry_at', false, true],
    ['dead_letter_queue', 'status', false, false],
    ['feature_flags', 'key', true, false],
    ['metrics_rollup', 'tier, bucket, type, source, name', true, false],
    ['monitoring_events', 'id', true, false],
    ['monitoring_events', 'seq', true, false],
    ['monitoring_events', 'session_id, ts', false, false],
    ['monitoring_events', 'ts', false, false],
    ['monitoring_events', 'type, ts', false, false],
    ['rollup_folded', 'one', true, false],
    ['schema_migrations', 'version', true, false],
    ['sessions', 'last_seen, session_id', false, false],
    ['sessions', 'session_id', true, false],
    ['sessions', 'source, last_seen, session_id', false, false],
  ];

  test('every table has exactly the indexes DESIGN §3 names', async () => {
    const rows = await q(`SELECT tablename, indexdef FROM pg_indexes
                           WHERE schemaname = 'monitoring'`);
    const got = rows
      .map((r) => {
        const m = /^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree \((.*?)\)( WHERE .*)?$/.exec(
          r.indexdef);
        assert.ok(m, `unexpected index definition: ${r.indexdef}`);
        return [r.tablename, m[2], Boolean(m[1]), Boolean(m[3])];
      })
      .sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
    assert.deepEqual(got, INDEXES);
  });

  test('the due-items index is partial: pending and retrying items only', async () => {
    const rows = await q(`SELECT indexdef FROM pg_indexes
                           WHERE schemaname = 'monitoring' AND tablename = 'dead_letter_queue'
                             AND indexdef LIKE '%(next_retry_at)%'`);
    assert.equal(rows.length, 1);
    const where = /\) WHERE (.*)$/.exec(rows[0].indexdef);
    assert.ok(where, `not partial: ${rows[0].indexdef}`);
    assert.match(where[1], /'pending'/);
    assert.match(where[1], /'retrying'/);
    assert.doesNotMatch(where[1], /'recovered'|'failed'/);
  });
});

// ---- views, functions, security switches, publication ----

describe('views, functions, row level security, publication', () => {
  test('views dlq_pending_retry and dlq_summary, with their columns', async () => {
    const rows = await q(`SELECT viewname FROM pg_views WHERE schemaname = 'monitoring'
                           ORDER BY viewname`);
    assert.deepEqual(rows.map((r) => r.viewname),
      ['dlq_pending_retry', 'dlq_summary', 'metrics_rollup_exact']);
    const cols = async (v) => (await columnsOf(v)).map(([n, t]) => [n, t]);
    assert.deepEqual(
      await cols('dlq_pending_retry'),
      TABLES.dead_letter_queue.map(([n, t]) => [n, t]),
    );
    assert.deepEqual(await cols('dlq_summary'), [
      ['status', 'text'],
      ['items', 'bigint'],
      ['avg_retry_count', 'numeric'],
      ['oldest_created_at', TS],
      ['newest_created_at', TS],
    ]);
  });

  const FUNCTIONS = [
    ['current_client_id', '', 'text'],
    ['dlq_claim_due', 'p_limit integer, p_lease interval', 'SETOF monitoring.dead_letter_queue'],
    ['dlq_cleanup', 'p_older_than interval', 'bigint'],
    [
      'dlq_increment_retry',
      `p_id bigint, p_reason text, p_next_retry_at ${TS}`,
      'monitoring.dead_letter_queue',
    ],
    ['dlq_mark_failed', 'p_id bigint, p_reason text', 'monitoring.dead_letter_queue'],
    ['dlq_mark_recovered', 'p_id bigint', 'monitoring.dead_letter_queue'],
    [
      'dlq_stats',
      '',
      'TABLE(total_pending bigint, total_recovered bigint, total_failed bigint, ' +
        `avg_retry_count ${F8}, oldest_pending_age_hours ${F8})`,
    ],
    ['loghist_add', 'a jsonb, b jsonb', 'jsonb'],
    ['loghist_sum', 'jsonb', 'jsonb'],
    ['notify_flags', '', 'trigger'],
    ['notify_state', '', 'trigger'],
    ['rollup_fold', `p_until ${TS}, p_max interval`, TS],
    ['set_anon_read', 'p_enabled boolean', 'void'],
  ];
  test('functions: exactly these, with these signatures', async () => {
    const rows = await q(`SELECT proname, pg_get_function_identity_arguments(oid) AS args,
                                 pg_get_function_result(oid) AS result
                            FROM pg_proc WHERE pronamespace = 'monitoring'::regnamespace
                           ORDER BY proname`);
    assert.deepEqual(rows.map((r) => [r.proname, r.args, r.result]), FUNCTIONS);
  });

  test('dlq_claim_due leases for 5 minutes by default, dlq_mark_failed needs no reason',
    async () => {
      const rows = await q(`SELECT proname, pg_get_function_arguments(oid) AS args
                              FROM pg_proc WHERE pronamespace = 'monitoring'::regnamespace
                               AND proname IN ('dlq_claim_due', 'dlq_mark_failed')
                             ORDER BY proname`);
      assert.match(rows[0].args, /p_lease interval DEFAULT '00:05:00'::interval/);
      assert.match(rows[1].args, /p_reason text DEFAULT NULL::text/);
    });

  test('row level security is on for every table', async () => {
    const rows = await q(`SELECT relname, relrowsecurity FROM pg_class
                           WHERE relnamespace = 'monitoring'::regnamespace AND relkind = 'r'
                           ORDER BY relname`);
    assert.deepEqual(
      rows.map((r) => [r.relname, r.relrowsecurity]),
      Object.keys(TABLES).sort().map((t) => [t, true]),
    );
  });

  test('publication telltale_events covers monitoring.monitoring_events, and only it',
    async () => {
      const pub = await q(`SELECT puballtables, pubinsert, pubupdate, pubdelete
                             FROM pg_publication WHERE pubname = 'telltale_events'`);
      assert.deepEqual(pub, [
        { puballtables: false, pubinsert: true, pubupdate: true, pubdelete: true },
      ]);
      const tables = await q(`SELECT schemaname, tablename FROM pg_publication_tables
                               WHERE pubname = 'telltale_events'`);
      assert.deepEqual(tables, [{ schemaname: 'monitoring', tablename: 'monitoring_events' }]);
    });
});
