// tls-supabase-client.mjs -- run as a child process with NODE_EXTRA_CA_CERTS naming the
// throwaway certificate (Node reads it only at start): the official supabase-js client over
// https (REST select) and wss (Realtime postgres_changes), then an insert seen live.
// argv: BASE_URL SERVICE_KEY. Prints one JSON line {"rest":..., "realtime":...}; exits 1 on
// failure.

import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

const [base, key] = process.argv.slice(2);
const console_warn = console.warn;
console.warn = (...a) => (String(a[0]).includes('Node.js 20') ? undefined : console_warn(...a));

const sb = createClient(base, key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  db: { schema: 'monitoring' },
  realtime: { transport: WebSocket },
});

const deadline = (ms, what) => new Promise((_, reject) =>
  setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref());

async function main() {
  const rest = await sb.from('monitoring_events').select('seq').limit(1);
  if (rest.error) {
    throw new Error(`REST over https: ${JSON.stringify(rest.error)}`);
  }
  const id = `tls-${process.pid}-${Date.now()}`;
  const seen = new Promise((resolve) => {
    const ch = sb.channel('tls')
      .on('postgres_changes', { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' },
          (p) => p.new.id === id && resolve(p.new))
      .subscribe(async (status, err) => {
        if (status === 'SUBSCRIBED') {
          const ins = await sb.from('monitoring_events').insert({ id, type: 'tls_test' });
          if (ins.error) {
            resolve({ error: ins.error });
          }
        } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
          resolve({ error: String(err ?? status) });
        }
      });
    return ch;
  });
  const row = await Promise.race([seen, deadline(15_000, 'the insert over wss')]);
  if (row.error) {
    throw new Error(`Realtime over wss: ${JSON.stringify(row.error)}`);
  }
  process.stdout.write(`${JSON.stringify({ rest: rest.status, realtime: row.id })}\n`);
  await sb.removeAllChannels();
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
