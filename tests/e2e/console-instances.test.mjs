// console-instances.test.mjs -- the migration console against two telltale instances on one
// PostgreSQL (DESIGN §1: on PostgreSQL both paths carry every instance's commits):
// pages attached to different instances, events ingested at instance A shown by a page served
// by instance B, `telltale flags set` at one instance switching pages on both, the dashboard
// state written through one instance adopted by the same dashboard's page on the other, and
// dual-mode agreement at 100 % on both instances' pages.
//
// Runs only on PostgreSQL (SQLite has one writer and no change feed between processes):
//   scripts/with-pg sh -c 'TELLTALE_TEST_STORE=postgres node --test tests/e2e/console-instances.test.mjs'
// (the Makefile's e2e target does). Screenshots go to build/e2e-shots/console-instances.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, Daemon, STORE_KIND, allEvents, createPgDatabase, post, uid, waitFor } from '../integration/lib/daemon.mjs';
import { ConsoleErrors, batch, launchBrowser, screenshot, shotsDir, sourceView, stepper } from './lib/browser.mjs';

const skip = STORE_KIND !== 'postgres' &&
  'two instances need one PostgreSQL: TELLTALE_TEST_STORE=postgres under scripts/with-pg';

describe('migration console on two instances', { skip }, () => {
  const SHOTS = skip ? '' : shotsDir('console-instances');
  let a;
  let b;
  let browser;
  const contexts = [];
  const errors = new ConsoleErrors([
    /status of 404/, // a route this telltale does not serve: the panel says "not available"
    /status of 412/, // optimistic concurrency on the state route: cross-session-state rereads
  ]);
  let last = null; // the page a failure screenshot shows

  before(async () => {
    const store = await createPgDatabase();
    [a, b] = await Promise.all(['a', 'b'].map((n) => Daemon.start({ store, label: `instance-${n}` })));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await a?.cleanup();
    await b?.cleanup();
  });

  const step = stepper({ errors, dir: SHOTS, page: () => last, daemons: () => [a, b] });

  // A page of dashboard `clientId` (a fresh one by default) served by `daemon`, in a browser
  // context of its own (no localStorage or BroadcastChannel shared with another page), with
  // the override `mode` if given.
  async function open(daemon, { clientId = crypto.randomUUID(), mode = null } = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(ctx);
    await ctx.addInitScript(([id, m]) => {
      if (!localStorage.getItem('telltale.client_id')) {
        localStorage.setItem('telltale.client_id', id);
        if (m) {
          localStorage.setItem('telltale.state.dashboard.data_source_override',
                               JSON.stringify({ value: m, version: 0, dirty: false }));
        }
      }
    }, [clientId, mode]);
    const p = errors.watch(await ctx.newPage());
    await p.goto(`${daemon.base}/`);
    await p.evaluate(() => {
      window.__sameDocument = true; // gone if the page ever reloads
    });
    last = p;
    return p;
  }

  const connected = (p, mode) => waitFor(`${mode} connected`, async () => {
    const v = await sourceView(p);
    return v.mode === mode &&
           (mode === 'realtime' ? v.legacy === 'off' : v.legacy === 'connected') &&
           (mode === 'legacy' ? v.realtime === 'off' : v.realtime === 'connected');
  }, { timeoutMs: 30_000, intervalMs: 100 });

  const applied = (p) => p.evaluate(() => window.app.appliedSeqs());

  async function postAll(d, events, size = 1000) {
    for (let i = 0; i < events.length; i += size) {
      const r = await post(d, events.slice(i, i + size));
      assert.equal(r.status, 202, r.text);
    }
  }

  // Every stored seq of ids under `prefix` applied on the page, each once; returns them.
  async function allShown(p, prefix, timeoutMs = 60_000) {
    const want = (await allEvents(a)).filter((e) => e.id.startsWith(prefix)).map((e) => e.seq);
    await waitFor(`the page to apply all ${want.length} ${prefix} events`, async () => {
      const have = new Set(await applied(p));
      return want.every((s) => have.has(s));
    }, { timeoutMs, intervalMs: 200 });
    const seqs = await applied(p);
    assert.equal(new Set(seqs).size, seqs.length, 'no seq applied twice');
    return want;
  }

  // What the page applied since it loaded is the store's run of seqs over the same range.
  async function assertContiguous(p) {
    const seqs = await applied(p);
    const store = (await allEvents(a)).map((e) => e.seq).filter((s) => s >= seqs[0] && s <= seqs.at(-1));
    assert.deepEqual(seqs, store, 'the page\'s seqs are the store\'s, without gap or repeat');
  }

  const flagsSet = (d, ...args) => {
    const r = spawnSync(BIN, ['flags', 'set', 'dashboard.data_source', ...args, '--url', d.base],
                        { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `telltale flags set ${args.join(' ')}: ${r.stderr}`);
  };

  const shot = (name, p) => screenshot(p, SHOTS, name);

  step('Realtime on a page served by B shows the events ingested at A, live and without a gap', async () => {
    const p = await open(b, { mode: 'realtime' });
    await connected(p, 'realtime');
    const prefix = uid('at-a');
    await postAll(a, batch(prefix, 200));
    await allShown(p, prefix);
    await assertContiguous(p);
    await shot('b-realtime-events-from-a', p);
  });

  // Shared by the two /ws steps: 20 events committed at A, then 20 at B.
  const wsIds = { a: uid('ws-a'), b: uid('ws-b') };

  step('/ws on B carries every instance\'s commits (DESIGN §1), live and in seq order', async () => {
    const p = await open(b, { mode: 'legacy' });
    await connected(p, 'legacy');
    await postAll(a, batch(wsIds.a, 20));
    await postAll(b, batch(wsIds.b, 20));
    await allShown(p, wsIds.a);
    await allShown(p, wsIds.b);
    await assertContiguous(p);
  });

  step('a /ws page that connects to B later catches up with A\'s events too', async () => {
    const fresh = await open(b, { mode: 'legacy' });
    await connected(fresh, 'legacy');
    await allShown(fresh, wsIds.b);
    await allShown(fresh, wsIds.a);
    await assertContiguous(fresh);
  }, 60_000);

  step('dual mode on a page of each instance: every event once, on both paths: 100 % agreement', async (t) => {
    const pa = await open(a, { mode: 'dual' });
    const pb = await open(b, { mode: 'dual' });
    await connected(pa, 'dual');
    await connected(pb, 'dual');
    const n = 1000;
    const prefix = uid('dual');
    for (let i = 0; i < 4; i++) { // interleaved: each instance's commits between the other's
      for (const [name, d] of [['a', a], ['b', b]]) {
        await postAll(d, batch(`${prefix}-${name}${i}`, n / 4));
      }
    }
    for (const p of [pa, pb]) {
      await allShown(p, prefix);
      await assertContiguous(p);
    }
    for (const [p, own] of [[pa, 'a'], [pb, 'b']]) {
      const ag = await waitFor(`page on ${own}: every event settled in the agreement`, async () => {
        const s = await p.evaluate(() => window.app.core.agreement.get());
        return s && s.pending === 0 && s.both + s.legacyOnly + s.realtimeOnly >= 2 * n && s;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      t.diagnostic(`page on instance ${own}: ${JSON.stringify({ both: ag.both, legacyOnly: ag.legacyOnly, realtimeOnly: ag.realtimeOnly })}`);
      assert.equal(ag.both, 2 * n, `page on ${own}: both instances' events on both paths`);
      assert.equal(ag.legacyOnly, 0, `page on ${own}: legacy-only ids ${ag.legacyOnlyIds}`);
      assert.equal(ag.realtimeOnly, 0, `page on ${own}: realtime-only ids ${ag.realtimeOnlyIds}`);
    }
    await shot('dual-page-on-b-agreement', pb);
  }, 180_000);

  step('telltale flags set through A switches pages on both instances live', async () => {
    const pages = [await open(a), await open(b)];
    try {
      for (const p of pages) {
        await connected(p, 'legacy');
      }
      for (const variant of ['realtime', 'dual', 'legacy']) {
        flagsSet(a, '--enable', '--variant', variant, '--rollout', '100');
        for (const p of pages) {
          await connected(p, variant);
          assert.match(await p.locator('#source-reason').textContent(), /flag dashboard\.data_source/);
        }
      }
      for (const p of pages) {
        assert.equal(await p.evaluate(() => window.__sameDocument), true, 'no reload');
      }
    } finally {
      spawnSync(BIN, ['flags', 'delete', 'dashboard.data_source', '--url', a.base]);
    }
  });

  step('one dashboard on both instances: the override written through A is adopted by its page on B, and back', async () => {
    const clientId = crypto.randomUUID();
    const pa = await open(a, { clientId });
    const pb = await open(b, { clientId });
    await connected(pa, 'legacy');
    await connected(pb, 'legacy');
    const set = async (p, mode) => {
      await p.selectOption('#mode-override', mode);
      await connected(p, mode);
    };
    await set(pa, 'realtime');
    await connected(pb, 'realtime');
    assert.equal(await pb.locator('#mode-override').inputValue(), 'realtime');
    await set(pb, 'dual');
    await connected(pa, 'dual');
    assert.equal(await pa.locator('#mode-override').inputValue(), 'dual');
    for (const p of [pa, pb]) {
      assert.equal(await p.evaluate(() => window.__sameDocument), true, 'no reload');
    }
    await shot('state-from-b-on-a', pa);
  });
});
