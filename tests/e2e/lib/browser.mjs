// browser.mjs -- what every browser suite (tests/e2e/*.test.mjs) and the console benchmarks
// (bench/console/) share: Debian's Chromium launched headless through playwright-core, the
// browser console watched for errors (with the ones a scenario expects named), full-page
// screenshots into build/e2e-shots/<suite>/, test steps that leave evidence when they fail,
// and a free loopback port.
//
// Chromium is $CHROMIUM_BIN, default /usr/bin/chromium (scripts/setup --test installs it).
// Screenshots go to $TELLTALE_SHOTS_DIR when set (the Makefile gives the PostgreSQL run its
// own), else build/e2e-shots/<suite>; they are never committed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from '../../integration/lib/daemon.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run'];

// Chromium, headless; fails naming the missing binary.
export async function launchBrowser() {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: set CHROMIUM_BIN (scripts/setup --test installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// The directory a suite's screenshots go to, created.
export function shotsDir(suite) {
  const dir = process.env.TELLTALE_SHOTS_DIR || path.join(REPO, 'build', 'e2e-shots', suite);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// A full-page screenshot from the top (the console's header is sticky: scrolled, it would sit
// mid-page), as <dir>/<name>.png; returns the file.
export async function screenshot(page, dir, name) {
  const file = path.join(dir, `${name.replace(/[^a-z0-9.-]+/gi, '-')}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// What a page logs while its daemon is down (each failed reconnect or poll).
const DOWN = /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/;

// The browser console's errors and uncaught exceptions of every watched page, but those
// matching `expected` (regexps for what the suite knows a page logs, each with its reason at
// the call) and, while `down` is set, the failed connections of a daemon that is stopped.
export class ConsoleErrors {
  list = [];
  down = false;
  #expected;

  constructor(expected = []) {
    this.#expected = expected;
  }

  watch(page) {
    page.on('console', (msg) => {
      const text = msg.text();
      if (msg.type() !== 'error' || this.#expected.some((re) => re.test(text)) ||
          (this.down && DOWN.test(text))) {
        return;
      }
      this.list.push(text);
    });
    page.on('pageerror', (err) => this.list.push(`uncaught: ${err.message}`));
    return page;
  }
}

// A test that fails on any console error logged while it ran, and on failure leaves a
// screenshot of `page()` named FAILED-<test> in `dir` and the tail of each daemon's log.
//   const step = stepper({ errors, dir, page: () => page, daemons: () => [daemon] });
//   step('name', async (t) => { ... }, timeoutMs, { todo: 'why' });
export function stepper({ errors, dir, page, daemons = () => [] }) {
  return (name, body, timeout = 120_000, opts = {}) => test(name, { timeout, ...opts }, async (t) => {
    const before = errors.list.length;
    try {
      await body(t);
      assert.deepEqual(errors.list.slice(before), [], 'browser console errors');
    } catch (err) {
      const p = page();
      const file = p ? await screenshot(p, dir, `FAILED-${name}`).catch(() => null) : null;
      t.diagnostic(`screenshot: ${file ?? 'none'} (directory ${dir})`);
      for (const d of daemons().filter(Boolean)) {
        t.diagnostic(`${d.label ?? 'daemon'} log (tail):`);
        const lines = typeof d.tail === 'function' ? d.tail(30).split('\n') : (d.log ?? []).slice(-30);
        for (const line of lines) {
          t.diagnostic(`  ${line}`);
        }
      }
      throw err;
    }
  });
}

// A TCP port free on 127.0.0.1 at the time of asking.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The console's view of its data source, as the suites read it.
export const sourceView = (page) => page.evaluate(() => ({
  mode: document.getElementById('source-mode').textContent,
  legacy: document.getElementById('dot-legacy').dataset.state,
  realtime: document.getElementById('dot-realtime').dataset.state,
  via: [...document.querySelectorAll('[data-via]')].map((b) => b.textContent),
  banner: document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent,
  conn: document.getElementById('conn').dataset.state,
}));

// Events as a producer sends them: `n` of them, ids `<prefix>-<i>`.
export function batch(prefix, n, extra = {}) {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`, type: 'request', source: 'e2e', name: `op${i % 7}`, status: 'ok',
    duration_ms: 1 + (i % 50), ...extra,
  }));
}
