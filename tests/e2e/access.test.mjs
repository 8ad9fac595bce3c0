// access.test.mjs -- the dashboard against a telltale with keys, in Debian's Chromium: the
// static files load without a key; the page asks for one in a <dialog> when the API answers
// 401, says why when a key is refused (unknown, or a producer's key that cannot read), keeps
// the accepted key for the tab (a reload does not ask again; a new tab's session does), and
// streams live events over /ws with the key as its apikey parameter.
//
// Run: node --test tests/e2e/   (TELLTALE_BIN, CHROMIUM_BIN as in dashboard.test.mjs). The key
// dialog's screenshot goes to build/e2e-shots/access.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, waitFor } from '../integration/lib/daemon.mjs';
import { launchBrowser, screenshot, shotsDir } from './lib/browser.mjs';

const SERVICE = 'e2e-service-key-0123456789';
const INGEST = 'e2e-ingest-key-0123456789';
const SHOTS = shotsDir('access');

const until = (what, fn, { timeoutMs = 15_000, intervalMs = 100 } = {}) => waitFor(what, fn, { timeoutMs, intervalMs });

describe('dashboard with keys', () => {
  let tmp;
  let child;
  let base;
  let browser;
  const log = [];

  before(async () => {
    assert.ok(existsSync(BIN), `no daemon at ${BIN}`);
    tmp = mkdtempSync(path.join(tmpdir(), 'telltale-e2e-access-'));
    child = spawn(BIN, ['serve', '--demo', '--listen', '127.0.0.1:0', '--store', `sqlite:${tmp}/t.db`],
                  { stdio: ['ignore', 'pipe', 'pipe'],
                    env: { ...process.env, TELLTALE_SERVICE_KEY: SERVICE, TELLTALE_INGEST_KEY: INGEST } });
    base = await new Promise((resolve, reject) => {
      let buf = '';
      child.stderr.setEncoding('utf8').on('data', (s) => {
        buf += s;
        log.push(s);
        const m = /listening on http:\/\/(\S+):(\d+)/.exec(buf);
        if (m) {
          resolve(`http://${m[1]}:${m[2]}`);
        }
      });
      child.once('exit', (code) => reject(new Error(`telltale exited (${code}): ${buf}`)));
      setTimeout(() => reject(new Error(`telltale did not start: ${buf}`)), 15_000).unref();
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    child?.kill('SIGKILL');
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('asks once per tab, explains refusals, then streams with the key', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const statuses = new Map(); // path -> status, for every response the page got
    const pageErrors = [];
    page.on('response', (res) => statuses.set(new URL(res.url()).pathname, res.status()));
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${base}/`);

    const dialog = page.locator('#key-dialog');
    await until('the key dialog', () => dialog.isVisible());
    for (const asset of ['/', '/app.js', '/access-key.js', '/style.css', '/vendor/uPlot.esm.js']) {
      assert.equal(statuses.get(asset), 200, `${asset} loads without a key`);
    }
    assert.equal(statuses.get('/api/v1/status'), 401);
    assert.match(await page.locator('#key-dialog [data-role="reason"]').textContent(), /needs a key/);

    await page.fill('#key-input', 'not-the-key-at-all');
    await page.click('#key-dialog button[type="submit"]');
    await until('the refusal', async () =>
      /not accepted/.test(await page.locator('#key-dialog [data-role="reason"]').textContent()));
    await screenshot(page, SHOTS, 'key-dialog-refused');
    await page.fill('#key-input', INGEST);
    await page.click('#key-dialog button[type="submit"]');
    await until('the producer key refused', async () =>
      /cannot read/.test(await page.locator('#key-dialog [data-role="reason"]').textContent()));
    await page.fill('#key-input', SERVICE);
    await page.click('#key-dialog button[type="submit"]');

    await until('the dialog to close', async () => !(await dialog.isVisible()));
    await until('live events on the page', () =>
      page.evaluate(() => window.app?.hasKey && window.app.adapter.status.get().state === 'connected' &&
                          document.querySelectorAll('#events-body tr').length > 0));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('telltale.apikey')), SERVICE);
    // localStorage holds the console's own settings (client id, flag cache), never the key
    const kept = await page.evaluate(() => Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`));
    assert.ok(!kept.some((kv) => kv.includes(SERVICE)), `the key is not kept beyond the tab: ${kept}`);

    // A reload in the same tab: no prompt.
    await page.reload();
    await until('connected again without asking', () =>
      page.evaluate(() => window.app?.adapter.status.get().state === 'connected'));
    assert.equal(await dialog.isVisible(), false);
    assert.deepEqual(pageErrors, []);
    await context.close();

    // Another browser session: asked again.
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(`${base}/`);
    await until('the dialog in a new session', () => second.locator('#key-dialog').isVisible());
    await other.close();
  });
});
