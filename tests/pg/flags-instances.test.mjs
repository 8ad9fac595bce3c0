// flags-instances.test.mjs -- two telltale instances on one PostgreSQL: a flag flipped with
// `telltale flags set` at one instance reaches /ws clients and supabase-js Realtime clients
// (topic "flags") connected to either instance, and a dashboard-state change made at one
// reaches the client's sessions at the other -- through the change feed (the tables' triggers
// NOTIFY telltale_config at commit), without reconnecting.
//
// The server is $TT_PG_URL (scripts/with-pg), or one started for this file (lib/pg.mjs).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after } from 'node:test';
import { testServer } from './lib/pg.mjs';

process.env.TT_PG_URL ??= testServer().url; // before the daemon helpers read it
process.env.TELLTALE_TEST_STORE = 'postgres';
const { BIN, Daemon, api, createPgDatabase, test, uid, waitFor } = await import('../integration/lib/daemon.mjs');
const { WsClient } = await import('../integration/lib/wsclient.mjs');
const { client, collected, subscribe } = await import('../supabase/lib.mjs');

const daemons = [];
const closers = [];
after(async () => {
  for (const c of closers) {
    await c();
  }
  for (const d of daemons) {
    await d.cleanup();
  }
});

async function twoInstances() {
  const store = await createPgDatabase();
  const [a, b] = await Promise.all(['a', 'b'].map((n) => Daemon.start({ store, label: `instance-${n}` })));
  daemons.push(a, b);
  return [a, b];
}

test('telltale flags set at one instance reaches /ws and Realtime clients of both', { timeout: 120_000 }, async () => {
  const [a, b] = await twoInstances();
  const key = `dashboard.data_source.${uid('t').toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 64);
  const ws = [await WsClient.connect(a.wsUrl), await WsClient.connect(b.wsUrl)];
  closers.push(...ws.map((w) => () => w.close()));
  const rt = [client(a), client(b)];
  const heard = [[], []];
  for (const [i, sc] of rt.entries()) {
    closers.push(() => sc.removeAllChannels());
    await subscribe(sc.channel('flags').on('broadcast', { event: 'flags' }, (m) => heard[i].push(m.payload.flags)));
  }
  for (const [variant, rollout] of [['dual', '100'], ['realtime', '30'], ['legacy', '100']]) {
    const p = spawnSync(BIN, ['flags', 'set', key, '--enable', '--variant', variant, '--rollout', rollout,
                              '--url', a.base], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    const has = (flags) => flags?.[key]?.variant === variant && flags[key].rollout_percent === Number(rollout);
    for (const w of ws) {
      await w.until(`${variant} pushed over /ws`, (c) => c.messages.some((m) => m.type === 'flags' && has(m.flags)), 15_000);
    }
    for (const list of heard) {
      await waitFor(`${variant} on Realtime`, () => list.some(has), { timeoutMs: 15_000 });
    }
  }
  // the instance that did not write answers with the new flag too, over REST and OFREP
  const r = await api(b, 'POST', `/ofrep/v1/evaluate/flags/${key}`, { json: { context: { targetingKey: 'x' } } });
  assert.deepEqual([r.status, r.json.value], [200, 'legacy']);
  assert.equal(ws[1].closeInfo, null, 'no reconnection');
});

test('a dashboard-state change at one instance reaches the client\'s sessions at the other', { timeout: 120_000 }, async () => {
  const [a, b] = await twoInstances();
  const id = uid('client');
  const s = await WsClient.connect(b.wsUrl);
  closers.push(() => s.close());
  s.send({ type: 'state_subscribe', client_id: id });
  await s.until('subscribed', (c) => c.messages.some((m) => m.type === 'state_subscribed'));
  const sc = client(b);
  closers.push(() => sc.removeAllChannels());
  const heard = [];
  await subscribe(sc.channel(`state:${id}`).on('broadcast', { event: 'state' }, (m) => heard.push(m.payload)));
  const r = await api(a, 'PUT', `/api/v1/state/${id}/layout`, { json: { value: { cols: 4 } } });
  assert.equal(r.status, 201, r.text);
  await s.until('the state over /ws at the other instance',
                (c) => c.messages.some((m) => m.type === 'state' && m.state.layout?.value?.cols === 4), 15_000);
  await collected(heard, 1, 'the state over Realtime at the other instance', 15_000);
  assert.deepEqual(heard[0].state.layout.value, { cols: 4 });
});
