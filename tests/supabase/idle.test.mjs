// idle.test.mjs -- an idle Realtime channel stays joined: supabase-js heartbeats every 25 s
// on topic "phoenix", and telltale answers them, so after three answered heartbeats (more
// than a minute of silence) the channel has never been dropped or rejoined and still
// receives rows. Store-independent and more than a minute long, so the Makefile runs it
// once (on SQLite), not in every store and sanitizer pass.

import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { Daemon, post, test, waitFor } from '../integration/lib/daemon.mjs';
import { VSNS, client, collected, subscribe } from './lib.mjs';

const EVENTS = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };

describe('an idle channel', () => {
  test('heartbeats keep both serializers\' channels joined past 60 s', { timeout: 150_000 }, async () => {
    const d = await Daemon.start({ label: 'telltale (idle)' });
    // The client heartbeats every 25 s; three answered ones span more than a minute of
    // silence on the channel.
    const answered = VSNS.map(() => 0);
    const clients = VSNS.map((vsn, i) => client(d, { vsn, realtime: {
      heartbeatCallback: (status) => { answered[i] += status === 'ok' ? 1 : 0; },
    } }));
    try {
      const got = VSNS.map(() => []);
      const channels = clients.map((c, i) => c.channel('idle')
        .on('postgres_changes', EVENTS, (p) => got[i].push(p.new)));
      await Promise.all(channels.map((ch) => subscribe(ch)));
      await waitFor('three answered heartbeats on each connection',
                    () => answered.every((n) => n >= 3), { timeoutMs: 100_000, intervalMs: 500 });
      for (const ch of channels) {
        assert.deepEqual(ch.statuses, ['SUBSCRIBED'], 'joined once, never dropped or rejoined');
        assert.equal(ch.state, 'joined');
      }
      const r = await post(d, [{ type: 'idle' }, { type: 'idle' }, { type: 'idle' }]);
      assert.equal(r.status, 202, r.text);
      for (const list of got) {
        await collected(list, 3, 'rows after the idle minute');
      }
    } finally {
      await Promise.all(clients.map((c) => c.removeAllChannels()));
      await d.stop();
      await d.cleanup();
    }
  });
});
