// trial.mjs -- the edge-library trial of docs/ARCHITECTURE.md "Decisions": the five cases of
// tests/integration/http11.test.mjs that libwebsockets 4.1.6, the first edge, could not pass
// (requests pipelined behind a body; a header section past 64 KiB; the trial's table was
// measured with telltale on lws, and decided the move to libh2o), sent as raw bytes to
// telltale (build/telltale: today on libh2o) and to stand-ins
// with the same two routes on libmicrohttpd 0.9.75 (bench/edge/mhd_stub.c) and on libh2o 2.2.5
// (bench/edge/h2o_stub.c). Prints, per
// case and server, the statuses answered; a case passes when every request is answered in order
// (and the oversized header section gets 431). Not a test: it informs a decision.
//
//   cc -O2 -o build/mhd_stub bench/edge/mhd_stub.c $(pkg-config --cflags --libs libmicrohttpd)
//   cc -O2 -o build/h2o_stub bench/edge/h2o_stub.c $(pkg-config --cflags --libs libh2o) -luv
//   node bench/edge/trial.mjs    (needs build/telltale, build/mhd_stub and build/h2o_stub)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RawConn, httpRequest } from '../../tests/integration/lib/raw.mjs';
import { parseOptions } from '../lib/options.mjs';

// No options: --help prints the usage, anything else is refused before a server starts.
parseOptions(process.argv.slice(2), {},
  'pipelined requests and a 70 kB header section against telltale, libmicrohttpd and libh2o', '');

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ev = (id) => Buffer.from(JSON.stringify({ id: `${id}-${process.pid}-${Math.random()}`, type: 'pipe' }));
const post = (id) => [httpRequest({ method: 'POST', path: '/api/v1/events', body: ev(id),
                                    headers: { 'Content-Type': 'application/json' } }), 202];
const get = () => [httpRequest({ path: '/health' }), 200];

const CASES = [
  ['POST then GET', () => [post('a'), get()]],
  ['POST, GET, GET', () => [post('b'), get(), get()]],
  ['GET then POST', () => [get(), post('c')]],
  ['POST, POST, GET', () => [post('d'), post('e'), get()]],
  ['70 kB header section', () => [[httpRequest({ path: '/health', headers: { Cookie: `a=${'x'.repeat(70_000)}` } }), 431]]],
];

function start(cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const seen = (b) => {
      out += b;
      const m = out.match(ready);
      if (m) resolve({ child, port: Number(m[1]) });
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

async function run(port, reqs) {
  const c = await RawConn.connect(port);
  try {
    await c.write(Buffer.concat(reqs.map((r) => r[0])));
    const rs = await c.responses(reqs.length, 3000);
    return rs.map((r) => r.status);
  } catch {
    return [];
  } finally {
    await c.destroy();
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'edge-trial-'));
const servers = [
  ['telltale (build/telltale)', await start(path.join(REPO, 'build/telltale'),
    ['serve', '--store', `sqlite:${dir}/t.db`, '--listen', '127.0.0.1:0'], /listening on http:\/\/127\.0\.0\.1:(\d+)/)],
  ['libmicrohttpd 0.9.75', await start(path.join(REPO, 'build/mhd_stub'), ['18391'], /listening on (\d+)/)],
  ['libh2o 2.2.5', await start(path.join(REPO, 'build/h2o_stub'), ['18392'], /listening on (\d+)/)],
];
try {
  for (const [name, make] of CASES) {
    const line = [name.padEnd(22)];
    for (const [server, s] of servers) {
      const reqs = make();
      const got = await run(s.port, reqs);
      const want = reqs.map((r) => r[1]);
      const pass = got.length === want.length && got.every((x, i) => x === want[i]);
      line.push(`${server}: ${pass ? 'pass' : 'FAIL'} [${got.join(',') || 'no answer'}]`);
    }
    console.log(line.join('  '));
  }
} finally {
  for (const [, s] of servers) s.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
