// dashboard.test.mjs -- the dashboard in Debian's Chromium against the real daemon.
//
// Starts `telltale serve --demo` on a temporary SQLite file, opens the dashboard and
// checks what a user would see: live events in the table, both charts drawing, the
// connection indicator, the type filter. Then it crashes the daemon (SIGKILL) and checks
// that the page reconnects and resumes without missing or repeating a single event.
//
// Run: node --test tests/e2e/   (TELLTALE_BIN overrides <repo>/build/telltale,
// CHROMIUM_BIN overrides /usr/bin/chromium). Screenshots of failures go to
// build/e2e-shots/dashboard (tests/e2e/lib/browser.mjs). Every wait polls a condition with a
// deadline.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, waitFor } from '../integration/lib/daemon.mjs';
import { ConsoleErrors, launchBrowser, shotsDir, stepper } from './lib/browser.mjs';

// waitFor with this suite's pace: a poll every 100 ms, 15 s unless told.
const until = (what, fn, { timeoutMs = 15_000, intervalMs = 100 } = {}) => waitFor(what, fn, { timeoutMs, intervalMs });

const daemons = new Set(); // every process started, so that none outlives the suite

// One `telltale serve --demo` process.
class Daemon {
  log = [];
  #child;
  #exited;

  static async start(db, listen) {
    const d = new Daemon();
    await d.#spawn(db, listen);
    return d;
  }

  async #spawn(db, listen) {
    const child = spawn(BIN, ['serve', '--demo', '--listen', listen, '--store', `sqlite:${db}`],
                        { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    daemons.add(this);
    this.#exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
    const keep = (line) => {
      this.log.push(line);
      if (this.log.length > 200) {
        this.log.shift();
      }
    };
    child.stdout.setEncoding('utf8').on('data', (s) => s.split('\n').forEach(keep));
    const listening = new Promise((resolve, reject) => {
      let buf = '';
      child.stderr.setEncoding('utf8').on('data', (s) => {
        buf += s;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          keep(line);
          const m = /listening on http:\/\/(\S+):(\d+)/.exec(line);
          if (m) {
            resolve({ host: m[1], port: Number(m[2]) });
          }
        }
      });
      child.once('error', reject);
      this.#exited.then(({ code, sig }) =>
        reject(new Error(`telltale exited (${code ?? sig}) before listening:\n${this.log.join('\n')}`)));
    });
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`telltale did not print "listening on" within 15 s:\n${this.log.join('\n')}`)), 15_000).unref());
    let host;
    let port;
    try {
      ({ host, port } = await Promise.race([listening, timeout]));
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    this.port = port;
    this.url = `http://${host}:${port}`;
  }

  get running() {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async kill(signal = 'SIGKILL') {
    if (this.running) {
      this.#child.kill(signal);
    }
    return this.#exited;
  }

  async json(route) {
    const res = await fetch(this.url + route);
    assert.equal(res.status, 200, `GET ${route}`);
    return res.json();
  }

  // Every seq in the store, ascending, read the way any client would: by after_seq pages.
  async storeSeqs() {
    const seqs = [];
    for (let after = 0; ;) {
      const { events } = await this.json(`/api/v1/events?after_seq=${after}&limit=10000`);
      if (events.length === 0) {
        return seqs;
      }
      for (const ev of events) {
        seqs.push(ev.seq);
      }
      after = events.at(-1).seq;
    }
  }
}

// Restarts on a fixed port; the old socket may linger a moment after a kill.
function startOnPort(db, port) {
  return until(`telltale to listen again on port ${port}`,
               () => Daemon.start(db, `127.0.0.1:${port}`), { timeoutMs: 20_000, intervalMs: 250 });
}

describe('dashboard', () => {
  let tmp;
  let db;
  let daemon;
  let browser;
  let page;
  const SHOTS = shotsDir('dashboard');
  // The console probes routes a telltale may not serve (flags, state, sessions, rollups) and
  // says so on the page; the browser logs each 404 as an error.
  const errors = new ConsoleErrors([/Failed to load resource: the server responded with a status of 404/]);

  before(async () => {
    assert.ok(existsSync(BIN), `no daemon at ${BIN}: build it first or set TELLTALE_BIN`);
    tmp = mkdtempSync(path.join(tmpdir(), 'telltale-e2e-'));
    db = path.join(tmp, 't.db');
    daemon = await Daemon.start(db, '127.0.0.1:0');
    browser = await launchBrowser();
    page = errors.watch(await browser.newPage({ viewport: { width: 1440, height: 900 } }));
    await page.goto(daemon.url + '/');
  });

  after(async () => {
    await browser?.close();
    await Promise.all([...daemons].map((d) => d.kill()));
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  // A test body with the failure evidence: a screenshot, the daemon's log, console errors.
  const step = stepper({ errors, dir: SHOTS, page: () => page, daemons: () => [daemon] });

  const connState = () => page.evaluate(() => ({
    state: document.getElementById('conn').dataset.state,
    label: document.getElementById('conn-label').textContent,
  }));

  const tableRows = () => page.evaluate(() =>
    [...document.querySelectorAll('#events-body tr')].map((tr) => ({
      seq: Number(tr.dataset.seq),
      type: tr.dataset.type,
    })));

  step('connects and shows live demo events as they arrive', async () => {
    await until('the indicator to say connected', async () => {
      const s = await connState();
      return s.state === 'connected' && s.label === 'connected';
    });
    const first = await until('a first event row', async () => {
      const rows = await tableRows();
      return rows.length > 0 && rows;
    });
    // New events go on top; the table keeps more until it reaches its bound, and only the
    // rows in the scrolled view (and a few each side) are in the DOM.
    const max = await page.evaluate(() => window.app.table.max);
    const kept = () => page.evaluate(() => Number(/^(\d+) events$/.exec(document.getElementById('events-count').textContent)?.[1]));
    const keptFirst = await kept();
    const grown = await until('more events kept, newer rows on top', async () => {
      const rows = await tableRows();
      const k = await kept();
      return (k > keptFirst || k === max) && rows[0].seq > first[0].seq && { rows, k };
    });
    assert.ok(grown.k <= max, `at most ${max} events kept`);
    const inView = await page.evaluate(() => {
      const wrap = document.querySelector('.table-wrap');
      const row = document.querySelector('#events-body tr');
      return Math.ceil(wrap.clientHeight / row.getBoundingClientRect().height) + 2 * 10 + 1;
    });
    assert.ok(grown.rows.length <= Math.min(grown.k, inView),
              `${grown.rows.length} rows in the DOM of ${grown.k} kept (a view holds ${inView})`);
    const seqs = grown.rows.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'rows are newest first');
    assert.equal(new Set(seqs).size, seqs.length, 'no event shown twice');
  });

  step('draws both charts from the live data', async () => {
    const count = await page.locator('.chart canvas').count();
    assert.ok(count >= 2, `chart canvases: ${count}`);
    // A series is drawn once a complete second holds data: look for its colour.
    const inked = (selector, rgb) => page.evaluate(([sel, [r, g, b]]) => {
      const canvas = document.querySelector(`${sel} canvas`);
      if (!canvas || canvas.width === 0 || canvas.height === 0) {
        return false;
      }
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 &&
            Math.abs(data[i + 2] - b) < 40) {
          n++;
        }
      }
      return n > 10 && { width: canvas.width, height: canvas.height, pixels: n };
    }, [selector, rgb]);
    await until('the events/s line', () => inked('#chart-rate', [0x4c, 0x9a, 0xff]));
    await until('the p50 latency line', () => inked('#chart-latency', [0x3e, 0xcf, 0x8e]));
  });

  step('filtering by type shows only that type', async () => {
    const wanted = 'tool_call';
    await until(`rows of ${wanted} and of another type`, async () => {
      const rows = await tableRows();
      return rows.some((r) => r.type === wanted) && rows.some((r) => r.type !== wanted);
    });
    await until(`${wanted} among the type filter's choices`, () =>
      page.evaluate((t) => [...document.querySelectorAll('#f-type option')].some((o) => o.value === t), wanted));
    await page.selectOption('#f-type', wanted);
    // Live events keep arriving; whatever is shown must be of the chosen type only.
    await until(`only ${wanted} rows`, async () => {
      const rows = await tableRows();
      return rows.length > 0 && rows.every((r) => r.type === wanted);
    });
    const shown = await tableRows();
    const kept = await page.evaluate(() => document.getElementById('events-count').textContent);
    assert.match(kept, /^\d+ of \d+ events$/, 'the counter says the view is filtered');

    await page.click('#f-clear');
    await until('other types to come back, and the counter unfiltered', async () => {
      const rows = await tableRows();
      const count = await page.evaluate(() => document.getElementById('events-count').textContent);
      return rows.length >= shown.length && rows.some((r) => r.type !== wanted) && /^\d+ events$/.test(count);
    });
  });

  step('after a crash it reconnects and resumes without a gap or a duplicate', async (t) => {
    const port = daemon.port;
    const cursorAtKill = await page.evaluate(() => window.app.adapter.cursor);
    errors.down = true;
    await daemon.kill('SIGKILL');

    await until('the indicator to say reconnecting', async () => {
      const s = await connState();
      return s.state === 'reconnecting' && /^reconnecting/.test(s.label) && s;
    });

    // Make sure the page has something to resume: while it cannot reach the dashboard's
    // port, a daemon on another port commits demo events the page has never seen.
    const gapMaker = await Daemon.start(db, '127.0.0.1:0');
    await until('the store to move past what the page has seen', async () => {
      const seqs = await gapMaker.storeSeqs();
      return seqs.filter((s) => s > cursorAtKill).length >= 5;
    });
    await gapMaker.kill('SIGKILL');

    daemon = await startOnPort(db, port);
    await until('the indicator to say connected again', async () => {
      const s = await connState();
      return s.state === 'connected' && s.label === 'connected';
    }, { timeoutMs: 30_000 });
    errors.down = false;

    // Wait until the page is past the replay: its cursor (everything up to it applied)
    // beyond what the store held when the daemon restarted. Its newest event is not
    // enough: live events may be shown before the replay of older ones arrives.
    const storeAtRestart = await daemon.storeSeqs();
    const restartMax = storeAtRestart.at(-1);
    // On timeout, still compare below: the missing seqs say more than the timeout.
    const stalled = await until('the replay and then live events from the restarted daemon',
      () => page.evaluate((m) => window.app.adapter.cursor > m, restartMax),
      { timeoutMs: 30_000 }).then(() => null, (err) => err);

    const applied = await page.evaluate(() => window.app.appliedSeqs());
    const store = await daemon.storeSeqs();
    const first = applied[0];
    const last = applied.at(-1);
    const inStore = new Set(store);
    const onPage = new Map();
    for (const s of applied) {
      onPage.set(s, (onPage.get(s) ?? 0) + 1);
    }
    const duplicates = [...onPage].filter(([, n]) => n > 1).map(([s]) => s);
    const missing = store.filter((s) => s >= first && s <= last && !onPage.has(s));
    const unknown = applied.filter((s) => !inStore.has(s));
    const replayed = applied.filter((s) => s > cursorAtKill && s <= restartMax).length;
    t.diagnostic(`page applied ${applied.length} events, seq ${first}..${last}; ` +
                 `${replayed} of them arrived by resume after the crash`);
    assert.deepEqual(duplicates, [], 'seqs applied more than once');
    assert.deepEqual(missing.slice(0, 50), [], `seqs in the store but not on the page (${missing.length})`);
    assert.deepEqual(unknown.slice(0, 50), [], 'seqs on the page that the store does not have');
    if (stalled) {
      throw stalled;
    }
    assert.ok(replayed >= 5, 'the page received the events committed while it was away');
  });
});
