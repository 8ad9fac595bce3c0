// send.test.mjs -- `telltale send` as a shipper (issue 15): a live log reaches the store while
// its input is still open (--flush-ms); a daemon with small limits gets every event, a batch it
// refuses as too large being split (413) and an event too large on its own reported by line
// number; a bad line is reported by its real line number with the count accepted before it, and
// the rest is sent; Retry-After is honoured and counted; a key goes out as supabase-js sends it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after } from 'node:test';
import { BIN, Daemon, REPO, allEvents, test, uid, waitFor, withTimeout } from './lib/daemon.mjs';

const daemons = [];
after(async () => {
  for (const d of daemons) {
    await d.cleanup();
  }
});

// Starts `telltale send ARGS`; returns {child, done} where done resolves {code, stdout, stderr}.
function startSend(args, env = {}) {
  const child = spawn(BIN, ['send', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdin.on('error', () => {}); // send may exit (usage error) before reading its input
  const done = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done: withTimeout(done, 60_000, `telltale send ${args.join(' ')}`) };
}

async function send(args, input, env) {
  const { child, done } = startSend(args, env);
  child.stdin.end(input);
  return done;
}

async function storedIds(d) {
  return new Set((await allEvents(d)).map((e) => e.id));
}

test('a live log reaches the store while send still reads (--flush-ms)', async () => {
  const d = await Daemon.start();
  daemons.push(d);
  const [a, b] = [uid('live'), uid('live')];
  const { child, done } = startSend(['--url', d.base, '--flush-ms', '100']);
  child.stdin.write(`${JSON.stringify({ id: a, type: 'a' })}\n`);
  // Standard input stays open: only the timer can have sent it.
  await waitFor(`event ${a} stored while stdin is open`, async () => (await storedIds(d)).has(a));
  child.stdin.end(`${JSON.stringify({ id: b, type: 'b' })}\n`);
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^accepted 2; refused 0; retried 0; requests 2\n$/);
  assert.ok((await storedIds(d)).has(b));
  await d.stop();
});

test('small daemon limits: batches split on 413, an event too large alone is reported by line', async () => {
  const d = await Daemon.start({ args: ['--max-body', '16KiB', '--max-events', '50'] });
  daemons.push(d);
  const ids = Array.from({ length: 120 }, () => uid('split'));
  const lines = ids.map((id) => JSON.stringify({ id, type: 'request', attrs: { pad: 'x'.repeat(400) } }));
  // Line 61: valid, but larger than the daemon's whole body limit.
  const big = uid('big');
  lines.splice(60, 0, JSON.stringify({ id: big, type: 'request', error: 'e'.repeat(4000),
                                       attrs: { pad: 'y'.repeat(15000) } }));
  const r = await send(['--url', d.base], `${lines.join('\n')}\n`);
  assert.equal(r.code, 1, `one event was refused: exit 1\n${r.stderr}`);
  assert.match(r.stderr, /^telltale send: line 61 refused: HTTP 413 body_too_large/m);
  assert.equal(r.stderr.match(/refused/g).length, 1, r.stderr);
  assert.match(r.stdout, /^accepted 120; refused 1 \(body_too_large 1\);/);
  const stored = await storedIds(d);
  assert.equal(ids.filter((id) => stored.has(id)).length, 120);
  assert.equal(stored.has(big), false);
  await d.stop();
});

test('after a 413, later batches go out in pieces of the size that fitted', async () => {
  const d = await Daemon.start({ args: ['--max-events', '50'] });
  daemons.push(d);
  const lines = Array.from({ length: 3000 }, () => JSON.stringify({ id: uid('fit'), type: 'x' }));
  const r = await send(['--url', d.base], lines.join('\n'));
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^accepted 3000; refused 0; retried 0; requests (\d+)\n$/);
  assert.ok(m, r.stdout);
  // The first batch of 1000 is halved down to 31 lines (63 requests); halving every batch again
  // would take 189 requests, sending the next two in pieces of 31 takes 2 x 33.
  assert.equal(Number(m[1]), 63 + 2 * 33, r.stdout);
  await d.stop();
});

test('--batch-size sets the lines per request', async () => {
  const d = await Daemon.start({ args: ['--max-events', '50'] });
  daemons.push(d);
  const lines = Array.from({ length: 120 }, () => JSON.stringify({ id: uid('bs'), type: 'x' }));
  const r = await send(['--url', d.base, '--batch-size', '50'], lines.join('\n'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^accepted 120; refused 0; retried 0; requests 3\n$/);
  await d.stop();
});

test('a bad line among 25,000: its real line number, the count before it, the rest sent', { timeout: 120_000 }, async () => {
  const d = await Daemon.start();
  daemons.push(d);
  const lines = Array.from({ length: 25_000 }, (_, i) => JSON.stringify({ id: `bad-among-${i + 1}`, type: 'x' }));
  lines[14_999] = JSON.stringify({ id: 'bad-among-15000', type: 'x', oops: 1 });
  const r = await send(['--url', d.base], `${lines.join('\n')}\n`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^telltale send: line 15000 refused: HTTP 400 unknown_field: unknown field 'oops' .*\(14999 accepted so far\)$/m);
  assert.match(r.stdout, /^accepted 24999; refused 1 \(unknown_field 1\);/);
  const stored = await storedIds(d);
  assert.equal(stored.size, 24_999);
  assert.equal(stored.has('bad-among-15000'), false);
  await d.stop();
});

test('malformed lines are named by their line of input and the byte in that line, not in the request', async () => {
  const d = await Daemon.start();
  daemons.push(d);
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `malformed-${i + 1}`, type: 'x' }));
  lines[24] = '{"type":"x",}'; // line 25: the parser stops at the '}', byte 12 of the line
  lines[31] = '{"type":"x\u0001"}'; // line 32: a raw control byte (JS unescapes it) at byte 10
  const r = await send(['--url', d.base], `${lines.join('\n')}\n`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^telltale send: line 25 refused: HTTP 400 invalid_json: malformed JSON near byte 12 of the line/m);
  assert.match(r.stderr, /^telltale send: line 32 refused: HTTP 400 invalid_json: [^\n]* at byte 10 of the line/m);
  assert.match(r.stdout, /^accepted 38; refused 2 \(invalid_json 2\);/);
  await d.stop();
});

test('usage errors name the option and what it accepts (exit 2)', async () => {
  for (const [args, says] of [
    [['--batch-size', '0'], /--batch-size '0': expected an integer from 1 to 10000/],
    [['--flush-ms', 'soon'], /--flush-ms 'soon': expected an integer from 0 to 600000/],
    [['--flush-ms'], /--flush-ms needs a value/],
    [['--bogus'], /unknown option '--bogus': send accepts --url, --key, --batch-size, --flush-ms/],
  ]) {
    const r = await send(args, '');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says);
  }
});

// A stand-in daemon that records what it is sent: first 503 with Retry-After, then 202.
test('honours Retry-After, counts the retry, and sends the key as apikey and Bearer', async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      if (seen.length === 1) {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        res.end('{"error":{"code":"overloaded","message":"busy"}}');
      } else {
        res.writeHead(202, { 'Content-Type': 'application/json' });
        res.end('{"accepted":1,"duplicates":0}');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}`;
    const r = await send(['--url', url], '{"type":"k"}\n', { TELLTALE_KEY: 'k-0123456789abcdef' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^accepted 1; refused 0; retried 1; requests 1\n$/);
    assert.equal(seen.length, 2);
    for (const s of seen) {
      assert.equal(s.headers.apikey, 'k-0123456789abcdef');
      assert.equal(s.headers.authorization, 'Bearer k-0123456789abcdef');
      assert.equal(s.headers['content-type'], 'application/x-ndjson');
    }
    const flag = await send(['--url', url, '--key', 'flag-key-0123456789'], '{"type":"k"}\n');
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(seen[2].headers.apikey, 'flag-key-0123456789');
  } finally {
    server.close();
  }
});

// A stand-in daemon that accepts everything and keeps the lines it was sent.
async function recorder() {
  const lines = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const got = body.split('\n').filter(Boolean);
      lines.push(...got);
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ accepted: got.length, duplicates: 0 }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { lines, url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

test('SIGTERM: what send has read is sent, then the summary, exit 0', async () => {
  const rec = await recorder();
  try {
    const { child, done } = startSend(['--url', rec.url, '--batch-size', '2', '--flush-ms', '600000']);
    const write = (s) => new Promise((resolve) => child.stdin.write(s, resolve));
    await write('{"type":"a"}\n{"type":"b"}\n');
    // A full batch goes out at once: send is in its loop, its signal handlers set.
    await waitFor('the first batch', async () => rec.lines.length === 2);
    await write('{"type":"c"}\n'); // in the pipe; the batch would wait 10 minutes
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.deepEqual(rec.lines, ['{"type":"a"}', '{"type":"b"}', '{"type":"c"}']);
    assert.match(r.stdout, /^accepted 3; refused 0; retried 0; requests 2; interrupted by a signal/);
  } finally {
    rec.close();
  }
});

test('the daemon gone: send stops, says where, exits 1', async () => {
  const d = await Daemon.start();
  daemons.push(d);
  const base = d.base;
  await d.stop();
  const r = await send(['--url', base], '{"type":"x"}\n{"type":"y"}\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /connect/i);
  assert.match(r.stderr, /stopping at line 1 \(0 accepted so far\)/);
  assert.match(r.stdout, /stopped before the end/);
});


test('each EVENT argument is one JSON object or a non-empty array of objects, checked before anything is sent (exit 2)', async () => {
  const rec = await recorder();
  try {
    const stdin = /an EVENT is one JSON object, or an array of one or more objects; NDJSON \(one event per line\) goes on standard input \(a pipe, or telltale send < FILE\)\n$/;
    for (const [args, n, why] of [
      [['{"type":"a"}\n{"type":"b"}'], 1, 'holds more than one JSON value'],
      [['{"type":"a"}', '{"type":"a"} {"type":"b"}'], 2, 'holds more than one JSON value'],
      [['{"type":"a"}', '[{"type":"a"}]\n[{"type":"b"}]'], 2, 'holds more than one JSON value'],
      [['{"type":"a",}'], 1, 'is not JSON'],
      [['{"type":"a"}', '{"type":"b"}', 'type=c'], 3, 'is not JSON'],
      [['"x"'], 1, 'is neither a JSON object nor an array of objects'],
      [['[1, 2]'], 1, 'is neither a JSON object nor an array of objects'],
      [['[{"type":"a"}, "b"]'], 1, 'is neither a JSON object nor an array of objects'],
      [['[]'], 1, 'is neither a JSON object nor an array of objects'],
    ]) {
      const r = await send(['--url', rec.url, ...args], '');
      assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`telltale send: argument ${n} ${why}: `), `${JSON.stringify(args)}: ${r.stderr}`);
      assert.match(r.stderr, stdin);
      assert.doesNotMatch(r.stderr, /Content-Type/);
    }
    assert.deepEqual(rec.lines, [], 'nothing was sent');
  } finally {
    rec.close();
  }
  // An object is one event, an array several; whitespace around either is fine.
  const d = await Daemon.start();
  daemons.push(d);
  const ids = [uid('obj'), uid('arr'), uid('arr')];
  const r = await send(['--url', d.base, ` ${JSON.stringify({ id: ids[0], type: 'a' })}\n`,
                        JSON.stringify(ids.slice(1).map((id) => ({ id, type: 'b' })))], '');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^accepted 3; refused 0; retried 0; requests 2\n$/);
  const stored = await storedIds(d);
  assert.ok(ids.every((id) => stored.has(id)));
  await d.stop();
  // --help and OPERATIONS say what an argument may be.
  const help = await send(['--help'], '');
  assert.match(help.stdout.replace(/\s+/g, ' '), /Each EVENT argument is one JSON value, posted as one request: an object \(one event\), .* or an array of objects \(several\)/);
  const ops = readFileSync(path.join(REPO, 'docs', 'OPERATIONS.md'), 'utf8');
  assert.doesNotMatch(ops, /posts its arguments \(one event each\)/);
  assert.match(ops.replace(/\s+/g, ' '), /an object \(one event\) or an array of objects \(several\)/);
});

// 'accepted' counts events, so 'refused' does too: the daemon refuses a request whole, so every
// event of a refused array argument is refused, each under the reason, as bad NDJSON lines are
// counted one each. --help, OPERATIONS and DESIGN §5 say what each number counts.
test('a refused array argument counts every one of its events as refused, each under its reason', async () => {
  const d = await Daemon.start();
  daemons.push(d);
  const ids = [uid('ra'), uid('rb'), uid('rc')];
  const r = await send(['--url', d.base,
                        JSON.stringify([{ id: ids[0], type: 'a' }, { id: ids[1], type: 'b', oops: 1 }]),
                        JSON.stringify({ id: ids[2], type: 'c' })], '');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^telltale send: argument 1 refused \(its 2 events\): HTTP 400 unknown_field: /m);
  assert.match(r.stdout, /^accepted 1; refused 2 \(unknown_field 2\); retried 0; requests 2\n$/);
  const stored = await storedIds(d);
  assert.deepEqual(ids.map((id) => stored.has(id)), [false, false, true]);
  // The same two events as NDJSON lines: one refused, the other sent again and accepted.
  const lines = await send(['--url', d.base], `{"type":"a"}\n{"type":"b","oops":1}\n`);
  assert.match(lines.stdout, /^accepted 1; refused 1 \(unknown_field 1\); retried 0; requests 2\n$/);
  await d.stop();
  const help = (await send(['--help'], '')).stdout.replace(/\s+/g, ' ');
  assert.match(help, /'refused' the events not taken .* all the events of a refused argument/);
  for (const doc of ['OPERATIONS.md', 'DESIGN.md']) {
    const text = readFileSync(path.join(REPO, 'docs', doc), 'utf8').replace(/\s+/g, ' ');
    assert.match(text, /every event of a refused argument is counted as refused/, doc);
  }
});
