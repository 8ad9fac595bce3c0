// hostile-limits.test.mjs -- bounded memory (DESIGN §4.4) against clients that push the
// bounds: a /ws consumer that stops reading is dropped with 1008 instead of buffering without
// bound (while a reading client is not), and a flood of ingest into a tiny queue gets 429 with
// Retry-After. Each test runs its own daemon with small limits; after each, the daemon still
// serves and holds exactly what it acknowledged, and exits cleanly.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, Ledger, allEvents, api, post, test, uid, waitFor } from './lib/daemon.mjs';
import { RawWs } from './lib/raw.mjs';
import { WsClient } from './lib/wsclient.mjs';

const daemons = [];

after(async () => {
  for (const d of daemons) {
    await d.cleanup();
  }
});

const status = async (d) => (await api(d, 'GET', '/api/v1/status')).json;

test('slow consumer: a /ws client that stops reading is closed with 1008; a reading one is not', async () => {
  const d = await Daemon.start({ label: 'slow-consumer', args: ['--ws-max-buffer', '65536'] });
  daemons.push(d);
  const ledger = new Ledger();
  const reader = await WsClient.connect(d.wsUrl);
  await reader.next('hello', (m) => m.type === 'hello');
  const stalled = await RawWs.connect(d.port);
  assert.ok(await stalled.waitMessage((m) => m.type === 'hello'), 'hello');
  stalled.conn.socket.pause(); // stop reading: the kernel buffers fill, then the server's queue

  // Batches of 20 events of ~1 KB: each broadcast (~20 KB) fits the 64 KiB per-client bound,
  // so only a client that does not read can overflow it.
  const pad = 'x'.repeat(900);
  let dropped = false;
  for (let i = 0; i < 1000 && !dropped; i++) { // bounded: ~20 MB at most
    await ledger.postAccepted(d, Array.from({ length: 20 }, (_, k) => ({ id: uid('flood'), type: 'slow', attrs: { pad, k } })));
    if (i % 10 === 9) {
      dropped = (await status(d)).websocket.slow_dropped >= 1;
    }
  }
  assert.ok(dropped, 'the server dropped the client that does not read');

  stalled.conn.socket.resume(); // read what was queued before the close, then the close frame
  const close = await stalled.waitClose(15_000);
  assert.equal(close.code, 1008, `close ${JSON.stringify(close)}`);
  assert.match(close.reason, /slow/);
  await stalled.destroy();

  // The reading client was not dropped and got every event, in order.
  await reader.sync(15_000);
  assert.equal(reader.closeInfo, null, 'the reading client is still connected');
  const stored = await ledger.check(d);
  assert.deepEqual(reader.eventSeqs(), stored.map((e) => e.seq));
  const st = await status(d);
  assert.equal(st.websocket.slow_dropped, 1, 'exactly one client was dropped');
  assert.equal(st.websocket.clients, 1);
  await reader.close();
  await d.stop();
});

test('flood into a tiny queue (--queue-max 100): 429 with Retry-After, then it recovers', async () => {
  const d = await Daemon.start({
    label: 'tiny-queue',
    args: ['--queue-max', '100', '--max-events', '100', '--flush-ms', '2000'],
  });
  daemons.push(d);
  const ledger = new Ledger();
  // 100 events fill the queue; the persister holds them up to 2 s for a fuller batch.
  const fill = Array.from({ length: 100 }, () => ({ id: uid('fill'), type: 'fill' }));
  ledger.unsure(fill.map((e) => e.id));
  const filling = post(d, fill);
  await waitFor('the queue to be full', async () => (await status(d)).queue.inflight >= 100);

  const flood = await Promise.all(Array.from({ length: 30 }, (_, i) => {
    const ev = { id: `flood-${i}`, type: 'flood' };
    return post(d, ev).then((r) => ({ r, ev }));
  }));
  for (const { r, ev } of flood) {
    if (r.status === 202) {
      ledger.ack([ev.id]); // would be fine only if the queue had drained meanwhile
      continue;
    }
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, 'overloaded');
    assert.ok(Number(r.headers.get('retry-after')) >= 1, `Retry-After: ${r.headers.get('retry-after')}`);
  }
  assert.ok(flood.filter(({ r }) => r.status === 429).length >= 25, 'the flood was refused');

  const ws = await WsClient.connect(d.wsUrl);
  ws.send({ type: 'ingest', ref: 'ws-flood', events: [{ id: 'ws-flood-1', type: 'flood' }] });
  const answer = await ws.next('answer', (m) => m.ref === 'ws-flood');
  if (answer.type === 'ack') {
    ledger.ack(['ws-flood-1']);
  } else {
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.equal(answer.error.code, 'overloaded');
  }
  await ws.close();

  const filled = await filling;
  assert.equal(filled.status, 202, filled.text);
  ledger.ack(fill.map((e) => e.id));
  // Room again: ingest is accepted.
  await ledger.postAccepted(d, [{ id: uid('after'), type: 'after' }]);
  await ledger.check(d);
  const st = await status(d);
  assert.ok(st.ingest.requests_overloaded >= 25, `requests_overloaded ${st.ingest.requests_overloaded}`);
  assert.equal((await allEvents(d)).filter((e) => e.type === 'flood').length,
               flood.filter(({ r }) => r.status === 202).length + (answer.type === 'ack' ? 1 : 0),
               'no refused event was stored');
  await d.stop();
});
