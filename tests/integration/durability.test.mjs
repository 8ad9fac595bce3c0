// durability.test.mjs -- "acknowledged means durable" (DESIGN §4.1): producers post events and
// record each one the moment its 202 (or WebSocket ack) arrives; the daemon is killed with
// SIGKILL while they are still posting; restarted on the same SQLite file, it must hold every
// acknowledged event, once. Several rounds on the same file, each killed at a different point.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, Ledger, post, test, uid, waitFor } from './lib/daemon.mjs';
import { WsClient } from './lib/wsclient.mjs';

const ROUNDS = 4;
const KILL_AFTER = [150, 600, 60, 300]; // acknowledged events in the round before the kill

let d;

after(async () => {
  await d?.cleanup();
});

// Posts batches over HTTP until a request fails (the daemon is gone) or 'max' batches.
async function httpProducer(ledger, round, counter, max = 5000) {
  for (let i = 0; i < max; i++) {
    const evs = Array.from({ length: 1 + (i % 7) }, () => ({ id: uid(`r${round}h`), type: 'durable' }));
    const ids = evs.map((e) => e.id);
    ledger.unsure(ids); // from here on it may be stored, acknowledged or not
    let r;
    try {
      r = await post(d, evs, { timeoutMs: 5_000 });
    } catch {
      return; // connection refused or reset: the daemon was killed
    }
    if (r.status !== 202) {
      throw new Error(`a valid batch was answered ${r.status}: ${r.text}`);
    }
    ledger.ack(ids);
    counter.acked += ids.length;
  }
}

// Ingests batches over /ws, one in flight at a time, recording each ack.
async function wsProducer(ledger, round, counter, max = 5000) {
  let c;
  try {
    c = await WsClient.connect(d.wsUrl);
  } catch {
    return;
  }
  for (let i = 0; i < max && c.closeInfo === null; i++) {
    const evs = Array.from({ length: 3 }, () => ({ id: uid(`r${round}w`), type: 'durable' }));
    const ids = evs.map((e) => e.id);
    ledger.unsure(ids);
    c.send({ type: 'ingest', ref: i, events: evs });
    try {
      await c.until(`ack ${i}`, (x) => x.messages.some((m) => m.ref === i), 5_000);
    } catch {
      break; // closed by the kill
    }
    const answer = c.messages.find((m) => m.ref === i);
    if (answer.type !== 'ack') {
      throw new Error(`a valid ingest was answered ${JSON.stringify(answer)}`);
    }
    ledger.ack(ids);
    counter.acked += ids.length;
  }
  c.ws.terminate();
}

test(`kill -9 while producers post: every acknowledged event survives (${ROUNDS} rounds)`, async () => {
  const ledger = new Ledger();
  d = await Daemon.start({ label: 'durability' });
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) {
      await d.restart();
      await ledger.check(d); // what was acknowledged before the last kill is all there
    }
    const counter = { acked: 0 };
    const producers = [
      httpProducer(ledger, round, counter),
      httpProducer(ledger, round, counter),
      httpProducer(ledger, round, counter),
      wsProducer(ledger, round, counter),
    ];
    let finished = 0;
    const failures = [];
    producers.forEach((p) => p.catch((err) => failures.push(err)).finally(() => finished++));
    await waitFor(`${KILL_AFTER[round]} acknowledged events in round ${round}`,
                  () => failures.length > 0 || counter.acked >= KILL_AFTER[round], { timeoutMs: 20_000 });
    if (failures.length > 0) {
      throw failures[0]; // a valid batch refused before the kill
    }
    assert.equal(finished, 0, 'the producers are still posting when the daemon is killed');
    const exit = await d.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await Promise.all(producers);
  }
  await d.restart();
  const stored = await ledger.check(d);
  assert.ok(ledger.accepted.size >= KILL_AFTER.reduce((a, b) => a + b, 0),
            `${ledger.accepted.size} acknowledged events`);
  const seqs = stored.map((e) => e.seq);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'seq strictly increases across restarts');
  await d.stop(); // a clean exit (code 0) after all those crashes
});
