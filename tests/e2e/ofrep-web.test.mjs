// ofrep-web.test.mjs -- the official OpenFeature web SDK (@openfeature/web-sdk with
// @openfeature/ofrep-web-provider) in Debian's Chromium, reading telltale's flags over OFREP's
// bulk evaluation from a page of another origin (so CORS preflights are exercised too).
//
// The SDK is bundled from node_modules with esbuild when the test runs (never committed) and
// served, with the page, by a server of
// the test's own on loopback. The
// provider polls; a flag changed with the API reaches the page (a 304 while nothing changed,
// a new ETag after). Run: node --test tests/e2e/ofrep-web.test.mjs (TELLTALE_BIN, CHROMIUM_BIN).

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createServer } from 'node:http';
import { build } from 'esbuild';
import { Daemon, REPO, api, test, uid, waitFor } from '../integration/lib/daemon.mjs';
import { launchBrowser } from './lib/browser.mjs';

let d;
let browser;
const closers = [];
const K = uid('web').toLowerCase().replace(/[^a-z0-9]/g, '');
const keys = { source: `${K}.source`, off: `${K}.off`, pro: `${K}.pro` };

async function bundle() {
  const entry = `
    import { OpenFeature } from '@openfeature/web-sdk';
    import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
    window.startFlags = async (baseUrl, context) => {
      await OpenFeature.setContext(context);
      await OpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl, pollInterval: 300, cacheMode: 'disabled' }));
      window.flags = OpenFeature.getClient();
    };`;
  const out = await build({ stdin: { contents: entry, resolveDir: REPO }, bundle: true, format: 'iife',
                            platform: 'browser', write: false, logLevel: 'error' });
  return out.outputFiles[0].text;
}

// The page comes from a server of its own on loopback: another origin than the daemon's (so the
// provider's requests are cross-origin, with CORS preflights), in the same address space (so
// Chromium's Local Network Access rules have nothing to refuse). The daemon lists that origin
// in --allow-origins, as an operator does for a web app of another site (DESIGN §5, "The HTTP
// edge": a POST from an origin not listed is refused).
let js = '';
let PAGE = '';
const server = createServer((req, res) => {
  const isJs = req.url.endsWith('.js');
  res.writeHead(200, { 'content-type': isJs ? 'text/javascript' : 'text/html' });
  res.end(isJs ? js : '<!doctype html><script src="sdk.js"></script>');
});

before(async () => {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  PAGE = `http://127.0.0.1:${server.address().port}/`;
  d = await Daemon.start({ label: 'ofrep-web', args: ['--allow-origins', PAGE.slice(0, -1)] });
  for (const [k, f] of [[keys.source, { enabled: true, variant: 'dual' }],
                        [keys.off, { enabled: false, variant: 'realtime' }],
                        [keys.pro, { enabled: true, rules: [{ attribute: 'plan', equals: 'pro' }] }]]) {
    assert.equal((await api(d, 'PUT', `/api/v1/flags/${k}`, { json: f })).status, 201);
  }
  browser = await launchBrowser();
});
after(async () => {
  for (const c of closers) {
    await c();
  }
  await browser?.close();
  await d?.cleanup();
});

test('the web SDK evaluates telltale flags in Chromium and sees a change', { timeout: 120_000 }, async () => {
  js = await bundle();
  const page = await browser.newPage();
  const statuses = [];
  page.on('response', (r) => {
    if (r.url().startsWith(d.base)) {
      statuses.push(`${r.request().method()} ${r.status()}`);
    }
  });
  page.on('requestfailed', (r) => statuses.push(`failed ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => statuses.push(`console ${m.text()}`));
  await page.goto(PAGE);
  await page.evaluate(([base, ctx]) => window.startFlags(base, ctx), [d.base, { targetingKey: 'user-1', plan: 'pro' }])
    .catch((err) => { throw new Error(`${err.message}; requests: ${statuses.join(' | ')}`); });
  const details = (key, def) => page.evaluate(([k, v]) => {
    const r = window.flags[typeof v === 'boolean' ? 'getBooleanDetails' : 'getStringDetails'](k, v);
    return { value: r.value, reason: r.reason, variant: r.variant, errorCode: r.errorCode };
  }, [key, def]);
  assert.deepEqual(await details(keys.source, 'legacy'), { value: 'dual', reason: 'STATIC', variant: 'dual', errorCode: undefined });
  assert.deepEqual(await details(keys.off, 'legacy'), { value: 'legacy', reason: 'DISABLED', variant: undefined, errorCode: undefined },
                   'a disabled flag: the caller\'s default, with the reason');
  assert.deepEqual((await details(keys.pro, false)).value, true);
  assert.equal((await details(keys.pro, false)).reason, 'TARGETING_MATCH');
  assert.equal((await details(`${K}.absent`, 'x')).errorCode, 'FLAG_NOT_FOUND');
  await waitFor('a poll answered 304 (ETag unchanged)', () => statuses.includes('POST 304'), { timeoutMs: 15_000 });
  // The page's origin is not the daemon's, and the provider posts application/json: each
  // answer above got through Chromium's CORS checks, preflight included (which CDP does not
  // report as a response of the page).
  assert.notEqual(new URL(PAGE).origin, new URL(d.base).origin);
  assert.equal((await api(d, 'PUT', `/api/v1/flags/${keys.source}`, { json: { enabled: true, variant: 'realtime' } })).status, 200);
  await waitFor('the page sees the new variant', async () => (await details(keys.source, 'legacy')).value === 'realtime',
                { timeoutMs: 15_000 });
  await page.close();
});
