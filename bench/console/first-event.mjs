// first-event.mjs -- bench/console: how long the migration console takes from navigation to
// its first event, and to its first live event, on each data-source mode.
//
//   node bench/console/first-event.mjs [--rounds 5]
//   TELLTALE_TEST_STORE=postgres scripts/with-pg node bench/console/first-event.mjs
//
// A real daemon with demo traffic (about 30 events/s), Debian's Chromium, a fresh browser
// context per round (no cache, no stored flags), the mode forced through the page's own
// override in localStorage. "first event": the page shows its first event (the backfill of
// recent history counts); "first live": the first event the server received after the
// navigation began. Rounds alternate the modes. A benchmark: nothing asserted.

import { Daemon, STORE_KIND } from '../../tests/integration/lib/daemon.mjs';
import { launchBrowser } from '../../tests/e2e/lib/browser.mjs';
import { parseOptions } from '../lib/options.mjs';

const MODES = ['legacy', 'realtime', 'dual'];

const { rounds } = parseOptions(process.argv.slice(2), { rounds: { int: [1, 100], def: 5 } },
  "ms from the console's navigation to its first event and first live event, per data-source mode");

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

const daemon = await Daemon.start({ label: 'telltale (bench console)', args: ['--demo'] });
const browser = await launchBrowser();
const results = Object.fromEntries(MODES.map((m) => [m, { first: [], live: [] }]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const mode of MODES) {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await ctx.addInitScript((m) => {
        localStorage.setItem('telltale.state.dashboard.data_source_override',
                             JSON.stringify({ value: m, version: 0, dirty: false }));
      }, mode);
      const page = await ctx.newPage();
      await page.goto(`${daemon.base}/`);
      const t = await page.waitForFunction(() => {
        const x = window.app?.timings();
        return x && x.firstLiveEventMs !== null && x;
      }, null, { timeout: 30_000, polling: 10 }).then((h) => h.jsonValue());
      results[mode].first.push(t.firstEventMs);
      results[mode].live.push(t.firstLiveEventMs);
      await ctx.close();
    }
  }
} finally {
  await browser.close();
  await daemon.cleanup();
}

console.log(`store ${STORE_KIND}, ${rounds} rounds per mode, ms from navigation start`);
console.log('| mode | first event p50 | max | first live event p50 | max |');
console.log('|---|---|---|---|---|');
for (const m of MODES) {
  const { first, live } = results[m];
  const f = (x) => x.toFixed(0);
  console.log(`| ${m} | ${f(pct(first, 50))} | ${f(Math.max(...first))} | ${f(pct(live, 50))} | ${f(Math.max(...live))} |`);
}
