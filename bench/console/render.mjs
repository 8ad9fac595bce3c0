// render.mjs -- bench/console: what live traffic costs the migration console's page, on each
// data-source mode. Two measurements (a benchmark: nothing asserted):
//
//   frames  -- 5,000 events/s for --seconds (default 30) per round: animation frames the page
//              missed, counted in the page from requestAnimationFrame (an interval longer than
//              two 16.7 ms budgets; the frames missed are interval/16.7 - 1, rounded down), and
//              Chromium's long-animation-frame entries (frames over 50 ms of work). The peer is
//              the same page with no traffic (mode legacy, idle), in the same rounds.
//   memory  -- 1,000 events/s for --minutes (default 10), one page per mode side by side in one
//              browser: each page's JS heap after a forced garbage collection (CDP
//              HeapProfiler.collectGarbage, then Performance.getMetrics JSHeapUsedSize) and its
//              DOM node count, once a minute.
//
//   node bench/console/render.mjs frames [--seconds 30] [--rounds 2] [--rate 5000] [--modes legacy,realtime,dual]
//   node bench/console/render.mjs memory [--minutes 10] [--rate 1000]
//
// A real daemon (SQLite, or PostgreSQL with TELLTALE_TEST_STORE=postgres under scripts/with-pg),
// Debian's Chromium, the mode forced through the page's own override; the producer posts a
// batch every 100 ms from this process (what it reached is printed: on a loaded machine it
// may fall short of the rate asked for).

import { Daemon, STORE_KIND, post } from '../../tests/integration/lib/daemon.mjs';
import { launchBrowser } from '../../tests/e2e/lib/browser.mjs';
import { parseOptions, usage } from '../lib/options.mjs';

const MODES = ['legacy', 'realtime', 'dual'];
// Each measurement its own options: one given to the other would do nothing.
const SPECS = {
  frames: {
    seconds: { int: [1, 3600], def: 30 }, rounds: { int: [1, 100], def: 2 },
    rate: { int: [1, 1_000_000], def: 5000 }, modes: { choices: MODES, def: MODES.join(',') },
  },
  memory: { minutes: { int: [1, 1440], def: 10 }, rate: { int: [1, 1_000_000], def: 1000 } },
};
const ABOUT = {
  frames: 'animation frames the console page misses under live traffic, per data-source mode',
  memory: "the console page's JS heap and DOM nodes under live traffic, once a minute, per mode",
};
const argv = process.argv.slice(2);
const what = argv[0];
if (!Object.hasOwn(SPECS, what)) {
  const help = what === '--help' || what === '-h';
  if (!help) console.error(`the first argument is frames or memory, not '${what ?? ''}'\n`);
  (help ? console.log : console.error)(Object.keys(SPECS)
    .map((w) => usage(SPECS[w], ABOUT[w], `${w} [options]`)).join('\n\n'));
  process.exit(help ? 0 : 2);
}
const o = parseOptions(argv.slice(1), SPECS[what], ABOUT[what], `${what} [options]`);
const TICK_MS = 100;
const BATCH_MAX = 1000; // events per POST (TELLTALE_MAX_BATCH's default)

// Counts, in the page, animation-frame intervals and long animation frames from `start()`.
function frameProbe() {
  const budget = 1000 / 60;
  const s = { on: false, frames: 0, late: 0, missed: 0, worst: 0, loaf: 0, loafMs: 0, last: 0 };
  const loop = (t) => {
    if (s.on) {
      const gap = t - s.last;
      s.frames++;
      s.worst = Math.max(s.worst, gap);
      if (gap > 2 * budget) {
        s.late++;
        s.missed += Math.floor(gap / budget) - 1;
      }
    }
    s.last = t;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (s.on) {
          s.loaf++;
          s.loafMs += e.duration;
        }
      }
    }).observe({ type: 'long-animation-frame' });
  } catch {
    s.loaf = null; // not in this Chromium
  }
  window.__frames = {
    start() {
      Object.assign(s, { on: true, frames: 0, late: 0, missed: 0, worst: 0, loaf: s.loaf === null ? null : 0, loafMs: 0 });
    },
    stop() {
      s.on = false;
      return { ...s };
    },
  };
}

// Posts `rate` events/s in a batch every TICK_MS until stop(); resolves with what it sent.
function produce(daemon, rate, tag) {
  let sent = 0;
  let n = 0;
  let running = true;
  const per = Math.round((rate * TICK_MS) / 1000);
  const t0 = performance.now();
  const done = (async () => {
    for (let tick = 0; running; tick++) {
      const due = t0 + tick * TICK_MS;
      const wait = due - performance.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
      }
      for (let left = per; left > 0; left -= BATCH_MAX) {
        const k = Math.min(left, BATCH_MAX);
        const events = Array.from({ length: k }, () => ({
          id: `${tag}-${n++}`, type: 'request', source: `svc${n % 5}`, name: `op${n % 7}`,
          status: n % 50 === 0 ? 'error' : 'ok', duration_ms: 1 + (n % 90),
        }));
        const r = await post(daemon, events);
        if (r.status === 202) {
          sent += k;
        }
      }
    }
    return { sent, seconds: (performance.now() - t0) / 1000 };
  })();
  return { stop: () => { running = false; return done; } };
}

async function openPage(browser, daemon, mode) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await ctx.addInitScript((m) => {
    localStorage.setItem('telltale.state.dashboard.data_source_override',
                         JSON.stringify({ value: m, version: 0, dirty: false }));
  }, mode);
  await ctx.addInitScript(frameProbe);
  const page = await ctx.newPage();
  await page.goto(`${daemon.base}/`);
  await page.waitForFunction((m) => {
    const p = window.app?.core.paths.get();
    const want = m === 'dual' ? ['legacy', 'realtime'] : [m];
    return want.every((k) => p?.[k]?.state === 'connected');
  }, mode, { timeout: 30_000, polling: 100 });
  return { ctx, page };
}

// The highest seq the page has shown: events applied, counted by the store's numbering.
const applied = (page) => page.evaluate(() => window.app.core.maxSeq);

async function frames(browser, daemon) {
  const { seconds, rounds, rate, modes } = o;
  const runs = [['idle', 'legacy', 0], ...modes.map((m) => [m, m, rate])];
  const out = Object.fromEntries(runs.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, mode, rps] of runs) {
      const { ctx, page } = await openPage(browser, daemon, mode);
      const before = await applied(page);
      await page.evaluate(() => window.__frames.start());
      const prod = rps ? produce(daemon, rps, `f${r}${name}${Date.now()}`) : null;
      await new Promise((res) => setTimeout(res, seconds * 1000));
      const f = await page.evaluate(() => window.__frames.stop());
      const sent = prod ? await prod.stop() : { sent: 0, seconds };
      const got = (await applied(page)) - before;
      out[name].push({ ...f, sent: sent.sent / sent.seconds, shown: got / seconds, seconds });
      console.error(`round ${r + 1} ${name}: ${JSON.stringify(out[name].at(-1))}`);
      await ctx.close();
    }
  }
  console.log(`store ${STORE_KIND}, ${rounds} rounds of ${seconds} s per mode at ${rate} events/s (idle: no traffic)`);
  console.log('| mode | events/s sent | events/s applied | frames | frames missed | intervals > 33 ms | worst interval ms | long animation frames (ms) |');
  console.log('|---|---|---|---|---|---|---|---|');
  const sum = (xs, k) => xs.reduce((a, x) => a + (x[k] ?? 0), 0);
  for (const [name] of runs) {
    const xs = out[name];
    const n = xs.length;
    console.log(`| ${name} | ${(sum(xs, 'sent') / n).toFixed(0)} | ${(sum(xs, 'shown') / n).toFixed(0)} | ` +
                `${sum(xs, 'frames')} | ${sum(xs, 'missed')} | ${sum(xs, 'late')} | ` +
                `${Math.max(...xs.map((x) => x.worst)).toFixed(0)} | ${sum(xs, 'loaf')} (${sum(xs, 'loafMs').toFixed(0)}) |`);
  }
}

async function memory(browser, daemon) {
  const { minutes, rate } = o;
  const pages = [];
  for (const mode of MODES) {
    const { ctx, page } = await openPage(browser, daemon, mode);
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    pages.push({ mode, ctx, page, cdp, samples: [] });
  }
  const sample = async (minute) => {
    for (const p of pages) {
      await p.cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await p.cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      p.samples.push({ minute, heapMB: m.JSHeapUsedSize / 2 ** 20, nodes: m.Nodes, listeners: m.JSEventListeners,
                       applied: await applied(p.page) });
      console.error(`minute ${minute} ${p.mode}: ${JSON.stringify(p.samples.at(-1))}`);
    }
  };
  await sample(0);
  const prod = produce(daemon, rate, `m${Date.now()}`);
  for (let m = 1; m <= minutes; m++) {
    await new Promise((res) => setTimeout(res, 60_000));
    await sample(m);
  }
  const sent = await prod.stop();
  console.log(`store ${STORE_KIND}, ${minutes} min at ${rate} events/s asked (${(sent.sent / sent.seconds).toFixed(0)} sent), three pages side by side`);
  console.log('| mode | events applied | JS heap MB at start | after 1 min | at the end | max | DOM nodes start → end |');
  console.log('|---|---|---|---|---|---|---|');
  for (const p of pages) {
    const s = p.samples;
    const f = (x) => x.toFixed(1);
    console.log(`| ${p.mode} | ${s.at(-1).applied - s[0].applied} | ${f(s[0].heapMB)} | ${f(s[Math.min(1, s.length - 1)].heapMB)} | ` +
                `${f(s.at(-1).heapMB)} | ${f(Math.max(...s.map((x) => x.heapMB)))} | ${s[0].nodes} → ${s.at(-1).nodes} |`);
  }
  for (const p of pages) {
    await p.ctx.close();
  }
}

const daemon = await Daemon.start({ label: 'telltale (bench render)' });
const browser = await launchBrowser();
try {
  await (what === 'frames' ? frames(browser, daemon) : memory(browser, daemon));
} finally {
  await browser.close();
  await daemon.cleanup();
}
