// api-client.test.mjs -- the one place the key and URLs are made: headers on fetch, ?apikey= on
// WebSocket URLs, paths relative to the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiFetch, apiJson, apiKey, baseUrl, setApiKey, wsUrl } from '../../../web/api-client.js';

test('baseUrl and wsUrl follow the page, also under a path prefix and https', () => {
  assert.equal(baseUrl('http://h:8080/'), 'http://h:8080/');
  assert.equal(baseUrl('https://h/tt/index.html?x=1#y'), 'https://h/tt/');
  setApiKey('');
  assert.equal(wsUrl('/ws', 'http://h:8080/'), 'ws://h:8080/ws');
  assert.equal(wsUrl('ws', 'https://h/tt/'), 'wss://h/tt/ws');
});

test('with a key: apikey and Bearer headers on fetch, ?apikey= on WebSocket URLs', async () => {
  setApiKey('k 1');
  assert.equal(apiKey.get(), 'k 1');
  assert.equal(wsUrl('/ws', 'http://h/'), 'ws://h/ws?apikey=k+1');
  let seen;
  const fetchFn = async (url, init) => {
    seen = { url, init };
    return new Response('{"ok":1}', { status: 200 });
  };
  const r = await apiJson('/api/v1/status', { method: 'POST', body: '{}' }, { fetchFn, href: 'http://h/tt/' });
  assert.equal(seen.url, 'http://h/tt/api/v1/status');
  assert.equal(seen.init.headers.get('apikey'), 'k 1');
  assert.equal(seen.init.headers.get('authorization'), 'Bearer k 1');
  assert.equal(seen.init.headers.get('content-type'), 'application/json');
  assert.deepEqual(r.body, { ok: 1 });
  setApiKey('');
  await apiFetch('/x', {}, { fetchFn, href: 'http://h/' });
  assert.equal(seen.init.headers.get('apikey'), null, 'no key, no header');
});

test('apiJson: a network failure is status 0, a non-JSON body is null', async () => {
  const down = await apiJson('/x', {}, { fetchFn: async () => { throw new TypeError('failed'); }, href: 'http://h/' });
  assert.equal(down.status, 0);
  assert.equal(down.ok, false);
  const text = await apiJson('/x', {}, { fetchFn: async () => new Response('nope', { status: 404 }), href: 'http://h/' });
  assert.equal(text.status, 404);
  assert.equal(text.body, null);
});
