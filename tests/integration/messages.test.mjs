// messages.test.mjs -- exact messages and metrics (issue 15): each CLI option error names the
// option as the user typed it and what it accepts; each subcommand shows and accepts only its
// own options; every metric docs/OPERATIONS.md lists exists with every label value it promises,
// `forced_open` transitions included; DLQ retries back off as documented and the DLQ gauges are
// current at the scrape; GET /api/v1/events filters by name, reads repeated filters as "any of",
// refuses a repeated cursor or limit, and answers 100 events when no limit is given.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { BIN, Daemon, REPO, STORE_KIND, api, makeTmpDir, post, settled, test, uid, waitFor } from './lib/daemon.mjs';
import { poisonOff, poisonOn } from './lib/poison.mjs';
import { RawConn } from './lib/raw.mjs';

const run = (args) => spawnSync(BIN, args, { encoding: 'utf8', input: '' });

let d;
before(async () => {
  d = await Daemon.start({ label: 'messages', args: ['--dlq-retry-base', '20s', '--dlq-retry-cap', '1h'] });
});
after(async () => {
  await d?.cleanup();
});

// ---- the command line ----

test('each option error names the option as typed and what it accepts, exit 2', () => {
  const cases = [
    [['serve', '--demo', 'true'], /unexpected argument 'true' after --demo: --demo is a switch.*--demo=true or --demo=false/],
    [['dlq', 'list', '--status'], /telltale dlq list: --status needs a value: pending, retrying, recovered or failed/],
    [['dlq', 'list', '--status', 'bogus'], /invalid --status 'bogus': expected pending, retrying, recovered or failed/],
    [['dlq', 'list', '--status=bogus'], /invalid --status 'bogus'/],
    [['dlq', 'list', '--limit', '0'], /invalid --limit '0': expected an integer from 1 to 1000/],
    [['dlq', 'purge', '--older-than', 'banana'], /invalid --older-than 'banana': expected a duration such as 30d/],
    [['dlq', 'purge'], /telltale dlq purge: needs --older-than: a duration such as 30d/],
    [['dlq', 'stats', '--status', 'failed'], /telltale dlq stats: unknown option '--status': dlq stats accepts --url and --help/],
    [['dlq', 'frob'], /unknown command 'frob': expected list, stats, retry, recover, fail or purge/],
    [['flags', 'set', 'x', '--rollout', '101'], /invalid --rollout '101': expected a whole percentage from 0 to 100/],
    [['flags', 'set', 'x', '--rules', '['], /invalid --rules '\[': expected a JSON array of rules/],
    [['migrate', '--batch-size', '0'], /unknown option '--batch-size': migrate accepts --store, --check and --help/],
    [['migrate', '--store'], /--store needs a value: sqlite:PATH or postgres:\/\//],
    [['serve', '--batch-size'], /--batch-size needs a value: an integer from 1 to 100000/],
    [['send', '--batch-size', 'x'], /invalid --batch-size 'x'/],
    [['version', '--store', 'x'], /telltale version: unexpected argument '--store': version takes no options/],
  ];
  for (const [args, says] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `telltale ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, says, `telltale ${args.join(' ')}`);
    assert.doesNotMatch(r.stderr, /older_than/, 'the query parameter is not the option the user typed');
  }
});

test('a PostgreSQL URL libpq could not connect with is a usage error at start-up, saying why, never repeating it', () => {
  const cases = [
    ['postgres://u:secretpw@', /a user is named but no host after the '@'/],
    ['postgresql://u:secretpw@/db', /no host after the '@'/],
    ['postgres://u:secretpw@:5432/db', /no host after the '@'/],
    ['postgres://u:secretpw@[::1:1/db', /IPv6 host address in URI: "the URL"/],
    ['postgres://u:secretpw@h:notaport/db', /the port is no number from 1 to 65535/],
    ['postgres://u:secretpw@h:99999/db', /the port is no number from 1 to 65535/],
    ['postgres://u:secretpw@h/db?sslmode=bogus', /sslmode is disable, allow, prefer, require, verify-ca or verify-full/],
    ['postgres://u:secretpw@h/db?bogus=1', /invalid URI query parameter: "bogus"/],
  ];
  for (const [url, why] of cases) {
    for (const args of [['migrate', '--check', '--store', url], ['serve', '--store', url, '--listen', '127.0.0.1:0']]) {
      const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 2, `telltale ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /invalid --store \(TELLTALE_STORE\): expected sqlite:PATH or postgres:\/\/USER:PASSWORD@HOST:PORT\/DB \(/);
      assert.match(r.stderr, why, url);
      assert.doesNotMatch(r.stderr, /secretpw/, 'the password is never repeated');
    }
  }
  const env = { ...process.env, DATABASE_URL: 'postgres://u:secretpw@h:x/db' };
  delete env.TELLTALE_STORE;
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000, env });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^telltale serve: invalid DATABASE_URL: expected .*\(the port is no number from 1 to 65535\)\n$/);
  assert.doesNotMatch(r.stderr, /secretpw/);
});

test('one secret for two roles, or a key that is the JWT secret, stops start-up naming both settings', () => {
  const k = 'one-key-for-two-roles-0123456789abcdef';
  const cases = [
    [['--service-key', k, '--ingest-key', k], /TELLTALE_SERVICE_KEY and TELLTALE_INGEST_KEY are the same secret/],
    [['--ingest-key', k, '--anon-key', k], /TELLTALE_INGEST_KEY and TELLTALE_ANON_KEY are the same secret/],
    [['--anon-key', k, '--jwt-secret', k], /TELLTALE_ANON_KEY and TELLTALE_JWT_SECRET are the same secret: .*could sign tokens of any role/],
  ];
  for (const [args, says] of cases) {
    const r = spawnSync(BIN, ['serve', '--store', 'sqlite::memory:', '--listen', '127.0.0.1:0', ...args],
      { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, new RegExp(k), 'the secret is never repeated');
  }
});

test('a SQLite path that cannot be created is named with its reason, by migrate --check and serve', () => {
  const where = '/nonexistent-telltale-dir/sub/x.db';
  const check = run(['migrate', '--check', '--store', `sqlite:${where}`]);
  assert.equal(check.status, 1, check.stdout + check.stderr);
  assert.match(check.stderr, /cannot create sqlite file '\/nonexistent-telltale-dir\/sub\/x\.db': directory '\/nonexistent-telltale-dir\/sub' does not exist/);
  assert.doesNotMatch(check.stdout, /missing privileges: none/, '--check does not call an unreachable file fine');
  const serve = spawnSync(BIN, ['serve', '--store', `sqlite:${where}`, '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(serve.status, 1);
  assert.match(serve.stderr, /directory '\/nonexistent-telltale-dir\/sub' does not exist/);
});

test('a port in use: the start fails naming --listen / TELLTALE_LISTEN', () => {
  const db = `sqlite:${path.join(makeTmpDir(), 'second.db')}`;
  const r = spawnSync(BIN, ['serve', '--store', db, '--listen', `127.0.0.1:${d.port}`], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${d.port} \\(address in use or not local\\?\\): choose another with --listen / TELLTALE_LISTEN`));
});

test('an in-memory or empty SQLite URL is refused with what to write instead', () => {
  for (const url of ['sqlite::memory:', 'sqlite:file::memory:?cache=shared']) {
    const r = spawnSync(BIN, ['serve', '--store', url, '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /is an in-memory database: telltale keeps events durably, so give a file/);
  }
  // 'sqlite:' is malformed before any file is looked for: a usage error, as serve says it.
  const m = run(['migrate', '--store', 'sqlite:']);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /invalid --store \(TELLTALE_STORE\): expected sqlite:PATH/);
});

test('a SQLite file migrated by a newer telltale: migrate --check says so and exits 1, as migrate and serve refuse it', () => {
  const file = path.join(makeTmpDir(), 'newer.db');
  const url = `sqlite:${file}`;
  assert.equal(run(['migrate', '--store', url]).status, 0);
  const bump = spawnSync('sqlite3', [file, "INSERT INTO schema_migrations (version, name, applied_at) SELECT max(version) + 1, 'from_the_future', 0 FROM schema_migrations"], { encoding: 'utf8' });
  assert.equal(bump.status, 0, bump.stderr);
  const says = /telltale migrate: the database is at schema version (\d+), newer than this telltale knows \((\d+)\): use a newer telltale/;
  for (const args of [['migrate', '--check', '--store', url], ['migrate', '--store', url]]) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    const m = r.stderr.match(says);
    assert.ok(m, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(Number(m[1]), Number(m[2]) + 1);
    assert.doesNotMatch(r.stdout, /pending: none/, 'never "nothing to do"');
  }
});

test('migrate --help shows only migrate\'s options', () => {
  const r = run(['migrate', '--help']);
  assert.equal(r.status, 0);
  const options = [...r.stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(options, ['--store', '--check']);
  const send = run(['send', '--help']);
  const sendOptions = [...send.stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(sendOptions, ['--url', '--key', '--batch-size', '--flush-ms']);
});

// ---- metrics ----

async function scrape() {
  const r = await api(d, 'GET', '/metrics');
  assert.equal(r.status, 200);
  return r.text;
}

// The table of docs/OPERATIONS.md, "## Metrics": [{name, label, values, pgOnly}].
function documentedMetrics() {
  const ops = readFileSync(path.join(REPO, 'docs', 'OPERATIONS.md'), 'utf8');
  const section = ops.slice(ops.indexOf('\n## Metrics'), ops.indexOf('\n## ', ops.indexOf('\n## Metrics') + 5));
  const rows = section.split('\n').filter((l) => l.startsWith('| `telltale_'));
  assert.ok(rows.length >= 20, `the Metrics table has its rows (${rows.length})`);
  return rows.map((l) => {
    const cells = l.split('|').map((c) => c.trim());
    const name = /`(telltale_[a-z_]+)`/.exec(cells[1])[1];
    const label = /^`([a-z_]+)`/.exec(cells[3])?.[1] ?? null;
    const values = label && label !== 'le' ? [...cells[3].split(':').slice(1).join(':').matchAll(/`([^`]+)`/g)].map((m) => m[1]) : [];
    return { name, type: cells[2], label, values, pgOnly: cells[4].includes('PostgreSQL only') };
  }).concat();
}

test('every metric OPERATIONS lists exists, with every label value it promises', async () => {
  const text = await scrape();
  const docs = readFileSync(path.join(REPO, 'docs', 'OPERATIONS.md'), 'utf8');
  const listed = documentedMetrics();
  for (const m of listed) {
    if (m.pgOnly && STORE_KIND !== 'postgres') {
      continue;
    }
    const series = m.type === 'histogram' ? `${m.name}_bucket` : m.name;
    assert.match(text, new RegExp(`^# TYPE ${m.name} ${m.type}$`, 'm'), `${m.name} is a ${m.type}`);
    if (m.values.length === 0) {
      assert.match(text, new RegExp(`^${series}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'), `${series} has a sample`);
    }
    for (const v of m.values) {
      assert.match(text, new RegExp(`^${series}\\{${m.label}="${v}"\\} [0-9.e+-]+$`, 'm'),
                   `${series}{${m.label}="${v}"} is exposed`);
    }
  }
  // And every metric the rest of OPERATIONS names is in the table.
  const names = new Set(listed.map((m) => m.name));
  // PostgreSQL names that are not metrics: the publication and the example roles.
  const sqlNames = new Set(['telltale_events', 'telltale_app', 'telltale_owner']);
  for (const [, name] of docs.matchAll(/`(telltale_[a-z_]+)/g)) {
    if (sqlNames.has(name)) {
      continue;
    }
    if (name.endsWith('_')) {
      assert.ok([...names].some((n) => n.startsWith(name)), `${name}* names a listed metric`);
      continue;
    }
    assert.ok(names.has(name), `${name} is named in OPERATIONS but not in its Metrics table`);
  }
});

test('a body over --max-body is counted as too_large, in /metrics and /api/v1/status', async () => {
  const small = await Daemon.start({ label: 'max-body', args: ['--max-body', '1KiB'] });
  try {
    const big = JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ type: 'x', name: `n${i}`.padEnd(40, 'x') })));
    assert.ok(big.length > 1024);
    const r = await api(small, 'POST', '/api/v1/events', { body: big, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 413, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'body_too_large');
    const st = await api(small, 'GET', '/api/v1/status');
    assert.equal(st.json.ingest.requests_too_large, 1);
    const m = await api(small, 'GET', '/metrics');
    assert.match(m.text, /^telltale_requests_rejected_total\{reason="too_large"\} 1$/m);
  } finally {
    await small.cleanup();
  }
});

test('a body the edge cannot read is counted as invalid, whatever refused it', async () => {
  // Refused before any handler: a form and text/plain (415), no Content-Type (415), a coding
  // not taken (415), gzip that does not decode (400), a body on GET (400), malformed chunked
  // framing (400). Each must raise reason="invalid" by one, as a 400 from the parser does.
  const own = await Daemon.start({ label: 'edge-invalid' });
  try {
    const invalid = async () => Number((await api(own, 'GET', '/metrics')).text
      .match(/^telltale_requests_rejected_total\{reason="invalid"\} (\d+)$/m)[1]);
    const status = async () => (await api(own, 'GET', '/api/v1/status')).json.ingest.requests_invalid;
    const raw = async (head, body = '') => {
      const c = await RawConn.connect(own.port);
      await c.write(`${head}\r\nHost: x\r\nConnection: close\r\n\r\n${body}`);
      const [res] = await c.responses(1, 5_000);
      await c.destroy();
      return res?.status;
    };
    const post = 'POST /api/v1/events HTTP/1.1';
    const body = '{"type":"x"}';
    const cases = [
      [`${post}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}`, body, 415],
      [`${post}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}`, body, 415],
      [`${post}\r\nContent-Length: ${body.length}`, body, 415],
      [`${post}\r\nContent-Type: application/json\r\nContent-Encoding: br\r\nContent-Length: ${body.length}`, body, 415],
      [`${post}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}`, body, 400],
      [`GET /api/v1/events HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`, body, 400],
      [`${post}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, 'zz\r\n{}\r\n0\r\n\r\n', 400],
    ];
    for (const [head, b, want] of cases) {
      const before = await invalid();
      const got = await raw(head, b);
      assert.equal(got, want, head);
      assert.equal(await invalid(), before + 1, `${head.split('\r\n').slice(1).join('; ')}: counted as invalid`);
    }
    assert.equal(await status(), cases.length, '/api/v1/status says the same');
  } finally {
    await own.cleanup();
  }
});

// systemd's notification socket, played by a datagram listener (Node has no unix datagrams):
// each message one line, its newlines shown as '|'.
async function notifyListener(dir) {
  const sock = path.join(dir, 'notify.sock');
  const code = 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n' +
               'print("bound",flush=True)\nwhile True:\n print(s.recv(65536).decode().replace("\\n","|"),flush=True)\n';
  const child = spawn('python3', ['-c', code, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  child.stdout.setEncoding('utf8');
  let partial = '';
  child.stdout.on('data', (s) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop();
    lines.push(...parts);
  });
  await waitFor('the notification socket', () => lines.includes('bound'));
  return { sock, lines, stop: () => child.kill() };
}

test('systemd hears ready, then stopping, and the shipping phase only where there is a spool', async () => {
  const dir = makeTmpDir();
  const n = await notifyListener(dir);
  try {
    const own = await Daemon.start({ label: 'sd-notify', env: { NOTIFY_SOCKET: n.sock } });
    await waitFor('READY=1', () => n.lines.some((l) => l.startsWith('READY=1|')));
    await own.stop();
    await waitFor('STOPPING=1', () => n.lines.some((l) => l.startsWith('STOPPING=1|')));
    const said = n.lines.filter((l) => l !== 'bound');
    assert.match(said[0], /^READY=1\|STATUS=serving on /, said.join('\n'));
    const shipping = said.some((l) => l.includes('shipping the spool'));
    // SQLite has no spool (OPERATIONS, "Readiness and shutdown phases"): it used to say it
    // was shipping one anyway.
    assert.equal(shipping, STORE_KIND === 'postgres', said.join('\n'));
    await own.cleanup();
  } finally {
    n.stop();
  }
});

test('an operator forcing the breaker open is counted: to="forced_open", then to="closed"', async () => {
  const count = (text, to) => Number(new RegExp(`^telltale_breaker_transitions_total\\{to="${to}"\\} (\\d+)$`, 'm').exec(text)[1]);
  const before0 = await scrape();
  const put = async (state) => {
    const r = await api(d, 'PUT', '/api/v1/breaker', { json: { state } });
    assert.ok(r.status >= 200 && r.status < 300, `PUT breaker ${state}: ${r.status}`);
  };
  // The breaker belongs to the writer's thread: a PUT is answered 202 and applied there.
  const counted = (to, n) => waitFor(`telltale_breaker_transitions_total{to="${to}"} ${n}`,
                                     async () => count(await scrape(), to) === n);
  try {
    await put('forced_open');
    await counted('forced_open', count(before0, 'forced_open') + 1);
    assert.match(await scrape(), /^telltale_breaker_state\{state="forced_open"\} 1$/m);
    await put('disabled');
    await counted('disabled', count(before0, 'disabled') + 1);
  } finally {
    await put('closed');
  }
  await counted('closed', count(before0, 'closed') + 1);
  assert.match(await scrape(), /^telltale_breaker_state\{state="closed"\} 1$/m);
});

test('a dead letter: pending in the next scrape, its retry due after the documented backoff', async () => {
  await poisonOn(d);
  try {
    const id = uid('poison');
    assert.equal((await post(d, [{ id, type: 'order', attrs: { poison: true } }])).status, 202);
    await settled(d);
    // The item is pending (or being retried) from its insertion on: the scrape says so at once.
    const item = (await api(d, 'GET', '/api/v1/dlq')).json.items.find((i) => i.payload.id === id);
    assert.ok(item, 'the dead letter exists');
    assert.match(await scrape(), /^telltale_dlq_items\{status="pending"\} 1$/m);
    // Its first retry fails (the trigger is still there); the next is due in [base/2, base]:
    // 10 s to 20 s after it, by --dlq-retry-base 20s (times as the store recorded them).
    const retried = await waitFor('the first retry', async () => {
      const it = (await api(d, 'GET', '/api/v1/dlq')).json.items.find((i) => i.payload.id === id);
      return it.retry_count === 1 && it.status === 'pending' ? it : null;
    });
    const gap = Date.parse(retried.next_retry_at) - Date.parse(retried.last_retry_at);
    assert.ok(gap >= 9_000 && gap <= 21_000, `next retry ${gap} ms after the last, expected 10-20 s`);
    assert.match(await scrape(), /^telltale_dlq_items\{status="pending"\} 1$/m);
  } finally {
    await poisonOff(d);
  }
});

// ---- GET /api/v1/events ----

test('events: filter by name, repeated filters mean "any of", a repeated limit is refused', async () => {
  const tag = uid('f');
  const events = [
    { id: `${tag}-1`, type: 'fa', name: '/login', session_id: tag },
    { id: `${tag}-2`, type: 'fb', name: '/logout', session_id: tag },
    { id: `${tag}-3`, type: 'fc', name: '/login', session_id: tag },
  ];
  assert.equal((await post(d, events)).status, 202);
  await settled(d);
  const ids = async (q) => {
    const r = await api(d, 'GET', `/api/v1/events?session_id=${tag}&${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.events.map((e) => e.id).sort();
  };
  assert.deepEqual(await ids('name=/login'), [`${tag}-1`, `${tag}-3`]);
  assert.deepEqual(await ids('name=%2Flogout'), [`${tag}-2`]);
  assert.deepEqual(await ids('type=fa&type=fb'), [`${tag}-1`, `${tag}-2`]);
  assert.deepEqual(await ids('type=fa&type=fb&name=/login'), [`${tag}-1`]);
  for (const q of ['limit=1&limit=2', 'after_seq=0&after_seq=5']) {
    const r = await api(d, 'GET', `/api/v1/events?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.code, 'invalid_parameter');
    assert.match(r.json.error.message, /given more than once/);
  }
});

test('events: without limit, 100 come back (the documented default)', async () => {
  const session = uid('many');
  assert.equal((await post(d, Array.from({ length: 130 }, () => ({ id: uid('m'), type: 'm', session_id: session })))).status, 202);
  await settled(d);
  const r = await api(d, 'GET', `/api/v1/events?session_id=${session}`);
  assert.equal(r.json.events.length, 100);
  const design = readFileSync(path.join(REPO, 'docs', 'DESIGN.md'), 'utf8');
  assert.match(design, /`limit` \(1–10000, default 100\)/);
});

// ---- the second fresh-user trial of the day --------------------------------------------------

test('an empty query, or an empty component of one, is nothing: no parameter named "" or "/"', async () => {
  for (const route of ['/health?', '/health?&', '/api/v1/events?type=a&', '/api/v1/events?&limit=1', '/api/v1/status?']) {
    const r = await api(d, 'GET', route);
    assert.equal(r.status, 200, `${route}: ${r.text}`);
  }
  const r = await api(d, 'GET', '/rest/v1/monitoring_events?select=seq&limit=1&');
  assert.equal(r.status, 200, r.text);
  const named = await api(d, 'GET', '/api/v1/events?=x');
  assert.equal(named.status, 400, 'a component with a value but no name is still refused');
});

test('/rest/v1 refuses select, order, limit or offset given twice (PGRST100), not settled by one', async () => {
  for (const q of ['select=seq&limit=1&limit=3', 'select=seq&order=seq.desc&order=seq.asc', 'select=seq&select=id', 'offset=1&offset=2']) {
    const r = await api(d, 'GET', `/rest/v1/monitoring_events?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.json.code, 'PGRST100');
    assert.match(r.json.message, /is given more than once: give it once$/);
  }
  const r = await api(d, 'GET', '/rest/v1/monitoring_events?select=seq&seq=gt.0&seq=lt.5');
  assert.equal(r.status, 200, `a column filter may repeat (ANDed): ${r.text}`);
});

test('an ingest string error says its whole reason (it was cut at 64 bytes)', async () => {
  const r = await api(d, 'POST', '/api/v1/events', { body: '{"type":"a","name":"\\q"}', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /^invalid string \(control character, bad escape, \\u0000, or unterminated\) at byte \d+$/);
});

test('--otlp-listen on the address of --listen is a usage error (it was taken, then crashed at exit)', () => {
  for (const otlp of ['127.0.0.1:18176', 'localhost:18176']) {
    const r = spawnSync(BIN, ['serve', '--store', 'sqlite::memory:', '--listen', '127.0.0.1:18176', '--otlp-listen', otlp],
      { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 2, `${otlp}: ${r.stderr}`);
    assert.match(r.stderr, /--otlp-listen \/ TELLTALE_OTLP_LISTEN \(127\.0\.0\.1:18176\) is the address of --listen \/ TELLTALE_LISTEN/);
  }
});

test('an empty TELLTALE_CACERT is a bad value of the CLI (exit 2), not the system trust store', () => {
  for (const args of [['dlq', 'stats'], ['flags', 'list'], ['send', '{"type":"a"}']]) {
    const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, TELLTALE_CACERT: '', TELLTALE_URL: d.base } });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /invalid TELLTALE_CACERT '': expected the path of the PEM file/);
  }
});

test('serve --help says --max-body is counted on any route, as sent and once decoded', () => {
  const r = run(['serve', '--help']);
  assert.match(r.stdout, /--max-body\s+TELLTALE_MAX_BODY\s+largest request body, on any route: as sent, and again once decoded/);
});

test('serve --help lists the values of every enumerated setting and the form of every other', () => {
  const r = run(['serve', '--help']);
  assert.match(r.stdout, /^  --log\s+TELLTALE_LOG\s+.*\(one of: error, warn, info, debug; default info\)$/m);
  assert.match(r.stdout, /^  --log-format\s+TELLTALE_LOG_FORMAT\s+.*\(one of: text, json; default text\)$/m);
  assert.match(r.stdout, /^  --retry-jitter\s+TELLTALE_RETRY_JITTER\s+.*\(one of: full, decorrelated; default full\)$/m);
  assert.match(r.stdout, /^  --demo\s+TELLTALE_DEMO\s+.*\(a switch, or one of: false, true, 0, 1, no, yes; default false\)$/m);
  assert.match(r.stdout, /^  --flush-ms\s+TELLTALE_FLUSH_MS\s+.*\(milliseconds from 0 to 10000; default 5\)$/m);
  const lines = r.stdout.split('\n').filter((l) => /^  --/.test(l));
  assert.ok(lines.length > 50, r.stdout);
  for (const line of lines) {
    assert.match(line, /\([^()]*(\([^()]*\)[^()]*)*; default [^;]+\)$/, `says what it accepts and its default: ${line}`);
  }
});

test('a key with a byte outside visible ASCII stops start-up, as the CLI refuses it (same variables)', () => {
  for (const [args, env, says] of [
    [['--service-key', 'abcdefgh ijklmnopq'], {}, /invalid --service-key \(TELLTALE_SERVICE_KEY\): expected a key of 16 to 511 bytes of visible ASCII/],
    [[], { TELLTALE_INGEST_KEY: 'abcdefgh\tijklmnopq' }, /invalid TELLTALE_INGEST_KEY: expected a key of 16 to 511 bytes of visible ASCII/],
    [['--anon-key=abcdefghijklmnopq\u00e9'], {}, /invalid --anon-key \(TELLTALE_ANON_KEY\)/],
  ]) {
    const r = spawnSync(BIN, ['serve', '--store', 'sqlite::memory:', '--listen', '127.0.0.1:0', ...args],
      { encoding: 'utf8', timeout: 20000, env: { ...process.env, ...env } });
    assert.equal(r.status, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, /ijklmnopq/, 'the key is never repeated');
  }
});

test('telltale --help and --version are the commands help and version, as README says', () => {
  assert.equal(run(['--version']).stdout, run(['version']).stdout);
  assert.match(run(['--version']).stdout, /^telltale \d+\.\d+\.\d+\n$/);
  assert.equal(run(['--help']).stdout, run(['help']).stdout);
  assert.equal(run(['--version']).status, 0);
});
