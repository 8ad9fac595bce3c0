// idle.test.mjs -- an idle Realtime channel stays joined: supabase-js heartbeats every 25 s
// on topic "phoenix", and telltale answers them, so past a minute of silence the channel has
// never been dropped or rejoined and still receives rows. Store-independent and a minute
// long, so the Makefile runs it once (on SQLite), not in every store and sanitizer pass.

import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { Daemon, post, sleep, test } from '../integration/lib/daemon.mjs';
import { VSNS, client, collected, subscribe } from './lib.mjs';

const EVENTS = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };

describe('an idle channel', () => {
  test('heartbeats keep both serializers\' channels joined past 60 s', { timeout: 120_000 }, async () => {
    const d = await Daemon.start({ label: 'telltale (idle)' });
    const clients = VSNS.map((vsn) => client(d, { vsn }));
    try {
      const got = VSNS.map(() => []);
      const channels = clients.map((c, i) => c.channel('idle')
        .on('postgres_changes', EVENTS, (p) => got[i].push(p.new)));
      await Promise.all(channels.map((ch) => subscribe(ch)));
      await sleep(65_000);
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
