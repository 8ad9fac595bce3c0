// poison.mjs -- makes the store itself refuse some events, as an operator's constraint would:
// a trigger that rejects every event whose attrs.poison is true (check_violation in
// PostgreSQL, a constraint error in SQLite). The daemon must isolate those events into the
// dead letter queue and store the rest of their batches.

import { spawnSync } from 'node:child_process';

const SQLITE_TRIGGER = `CREATE TRIGGER IF NOT EXISTS telltale_test_poison
  BEFORE INSERT ON monitoring_events
  WHEN json_extract(NEW.attrs, '$.poison') = 1
  BEGIN SELECT RAISE(ABORT, 'poison event refused by a test trigger'); END;`;

const PG_TRIGGER = `
  CREATE OR REPLACE FUNCTION monitoring.telltale_test_poison() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.attrs->>'poison' = 'true' THEN
      RAISE EXCEPTION 'poison event refused by a test trigger' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END $$;
  DROP TRIGGER IF EXISTS telltale_test_poison ON monitoring.monitoring_events;
  CREATE TRIGGER telltale_test_poison BEFORE INSERT ON monitoring.monitoring_events
    FOR EACH ROW EXECUTE FUNCTION monitoring.telltale_test_poison();`;

async function sql(d, text) {
  if (d.store.startsWith('sqlite:')) {
    const r = spawnSync('sqlite3', [d.store.slice(7)], { input: `.timeout 5000\n${text}\n`, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`sqlite3: ${r.stderr}`);
    }
    return r.stdout;
  }
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: d.store });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

export async function poisonOn(d) {
  await sql(d, d.store.startsWith('sqlite:') ? SQLITE_TRIGGER : PG_TRIGGER);
}

export async function poisonOff(d) {
  await sql(d, d.store.startsWith('sqlite:')
    ? 'DROP TRIGGER IF EXISTS telltale_test_poison;'
    : 'DROP TRIGGER IF EXISTS telltale_test_poison ON monitoring.monitoring_events;');
}

export { sql };
