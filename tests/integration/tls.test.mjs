// tls.test.mjs -- telltale on 0.0.0.0 with keys, serving https and wss on one port from a
// throwaway certificate (openssl req): curl (--cacert) and the official supabase-js client
// (NODE_EXTRA_CA_CERTS) over it; the certificate reloaded on SIGHUP, a bad pair refused while
// the old one keeps serving; the settings' startup errors. DESIGN §5 "Access", OPERATIONS
// "Exposing telltale safely".

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { spawnSync, spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { BIN, Daemon, REPO, makeTmpDir, test, uid, waitFor, withTimeout } from './lib/daemon.mjs';

const SERVICE = 'tls-service-key-0123456789';
const INGEST = 'tls-ingest-key-0123456789';

// A self-signed certificate for 127.0.0.1 and localhost, with its key, in dir (name-cert.pem,
// name-key.pem).
function makeCert(dir, name) {
  const cert = path.join(dir, `${name}-cert.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                                  '-out', cert, '-days', '1', '-subj', `/CN=telltale-${name}`,
                                  '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
                      { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert, key };
}

// curl over https; returns {code, status, body, stderr}.
function curl(args) {
  const r = spawnSync('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', ...args],
                      { encoding: 'utf8' });
  const out = r.stdout ?? '';
  const cut = out.lastIndexOf('\n');
  return { code: r.status, status: Number(out.slice(cut + 1)), body: out.slice(0, cut), stderr: r.stderr };
}

describe('https and wss on 0.0.0.0 with keys', () => {
  let dir;
  let a;
  let b;
  let d;
  let url;
  before(async () => {
    dir = makeTmpDir('telltale-tls-');
    a = makeCert(dir, 'a');
    b = makeCert(dir, 'b');
    // The daemon reads these two paths; the tests swap what is in them.
    copyFileSync(a.cert, path.join(dir, 'cert.pem'));
    copyFileSync(a.key, path.join(dir, 'key.pem'));
    d = await Daemon.start({
      label: 'tls',
      args: ['--listen', '0.0.0.0:0', '--tls-cert', path.join(dir, 'cert.pem'),
             '--tls-key', path.join(dir, 'key.pem')],
      env: { TELLTALE_SERVICE_KEY: SERVICE, TELLTALE_INGEST_KEY: INGEST },
    });
    assert.equal(d.scheme, 'https');
    assert.equal(d.host, '0.0.0.0');
    assert.doesNotMatch(d.stderr, /over plain HTTP/, 'no clear-text warning when serving https');
    url = `https://127.0.0.1:${d.port}`;
  });
  after(async () => {
    await d?.stop();
  });

  test('curl: https with the certificate, keys checked, HTTP/1.1', () => {
    let r = curl(['--cacert', a.cert, `${url}/health`]);
    assert.equal(r.status, 200, r.stderr);
    r = curl(['--cacert', a.cert, `${url}/api/v1/status`]);
    assert.equal(r.status, 401);
    const v = spawnSync('curl', ['-sS', '--max-time', '10', '--cacert', a.cert, '-H', `apikey: ${SERVICE}`,
                                 '-o', '/dev/null', '-w', '%{http_code} %{http_version}', `${url}/api/v1/status`],
                        { encoding: 'utf8' });
    assert.equal(v.stdout, '200 1.1', 'the key is taken; ALPN offers http/1.1 only');
    r = curl(['--cacert', a.cert, '-H', `authorization: Bearer ${INGEST}`, '-H', 'content-type: application/json',
              '--data', JSON.stringify({ id: uid('tls'), type: 'tls_curl' }), `${url}/api/v1/events`]);
    assert.equal(r.status, 202, r.body);
    // Without the CA curl refuses the self-signed certificate; plain HTTP is not served there.
    assert.notEqual(curl([`${url}/health`]).code, 0);
    assert.notEqual(curl([`http://127.0.0.1:${d.port}/health`]).status, 200);
  });

  test('telltale send over https: TELLTALE_CACERT names the private CA; without it the error says so', () => {
    const send = (env) => {
      const all = { ...process.env, TELLTALE_KEY: INGEST, ...env };
      for (const [k, v] of Object.entries(all)) {
        if (v === undefined) {
          delete all[k]; // unset, not empty (an empty TELLTALE_CACERT is a usage error)
        }
      }
      return spawnSync(BIN, ['send', '--url', url, JSON.stringify({ type: 'tls_send' })],
                       { encoding: 'utf8', timeout: 30_000, env: all });
    };
    let r = send({ TELLTALE_CACERT: a.cert });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /accepted 1;/);
    r = send({ TELLTALE_CACERT: undefined });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /set TELLTALE_CACERT to its PEM file/);
    r = send({ TELLTALE_CACERT: '/nonexistent/ca.pem' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the file TELLTALE_CACERT names cannot be read as PEM certificates/);
    // Another CA's certificate: curl's own reason, and what to look at
    r = send({ TELLTALE_CACERT: b.cert });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SSL certificate problem: .*\(the daemon's certificate is not signed by the CA of TELLTALE_CACERT/);
  });

  test('the CLI names the scheme when the URL says http:// to a TLS port, or https:// to a plain one', async () => {
    const run = (base) => spawnSync(BIN, ['send', '--url', base, JSON.stringify({ type: 'tls_scheme' })],
                                    { encoding: 'utf8', timeout: 30_000,
                                      env: { ...process.env, TELLTALE_KEY: INGEST, TELLTALE_CACERT: a.cert } });
    let r = run(`http://127.0.0.1:${d.port}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /a daemon serving TLS, with --tls-cert, closes a plain request: the URL then starts with https:\/\//);
    const plain = await Daemon.start({ label: 'tls-plain' });
    try {
      r = run(`https://127.0.0.1:${plain.port}`);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /wrong version number.*a daemon without --tls-cert serves plain HTTP: the URL then starts with http:\/\//);
    } finally {
      await plain.stop();
    }
  });

  test('supabase-js (NODE_EXTRA_CA_CERTS): REST over https, Realtime over wss', async () => {
    const child = spawn(process.execPath, [path.join(REPO, 'tests/integration/lib/tls-supabase-client.mjs'),
                                           url, SERVICE],
                        { env: { ...process.env, NODE_EXTRA_CA_CERTS: a.cert }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (s) => { out += s; });
    child.stderr.on('data', (s) => { err += s; });
    const code = await withTimeout(new Promise((resolve) => child.once('exit', resolve)), 30_000,
                                   'the supabase-js client');
    assert.equal(code, 0, err);
    const got = JSON.parse(out.trim());
    assert.equal(got.rest, 200);
    assert.match(got.realtime, /^tls-/);
  });

  test('SIGHUP rereads the certificate; a key that does not match keeps the old one', async () => {
    copyFileSync(b.cert, path.join(dir, 'cert.pem'));
    copyFileSync(b.key, path.join(dir, 'key.pem'));
    d.signal('SIGHUP');
    await waitFor('the reload to be logged', () => /SIGHUP: TLS certificate reloaded/.test(d.stderr));
    assert.equal(curl(['--cacert', b.cert, `${url}/health`]).status, 200);
    assert.notEqual(curl(['--cacert', a.cert, `${url}/health`]).code, 0, 'the old certificate is gone');

    copyFileSync(a.key, path.join(dir, 'key.pem')); // b's certificate with a's key
    d.signal('SIGHUP');
    await waitFor('the refusal to be logged', () => /TLS certificate not reloaded: .*not a private key matching/.test(d.stderr));
    assert.equal(curl(['--cacert', b.cert, `${url}/health`]).status, 200, 'still serving b');

    writeFileSync(path.join(dir, 'key.pem'), 'not a key');
    d.signal('SIGHUP');
    await waitFor('the second refusal', () =>
      /TLS certificate not reloaded: TELLTALE_TLS_KEY \(--tls-key\) '[^']*key\.pem' is not a PEM private key/.test(d.stderr));
    assert.equal(curl(['--cacert', b.cert, `${url}/health`]).status, 200, 'still serving b');

    rmSync(path.join(dir, 'key.pem')); // a file that cannot be read: the same refusal
    d.signal('SIGHUP');
    await waitFor('the third refusal', () =>
      /TLS certificate not reloaded: cannot read TELLTALE_TLS_KEY \(--tls-key\) '[^']*key\.pem': No such file or directory/.test(d.stderr));
    assert.equal(curl(['--cacert', b.cert, `${url}/health`]).status, 200, 'still serving b');
    const refusals = d.stderr.split('\n').filter((l) => /TLS certificate not reloaded/.test(l));
    assert.equal(refusals.length, 3, refusals.join('\n'));
    for (const line of refusals) {
      assert.match(line, /: kept the certificate in use$/, 'every failed reload says the pair in use stays');
    }
  });
});

// Opens a socket and resolves once it is connected (TLS: once the handshake is done).
function opened(sock, event) {
  return new Promise((resolve, reject) => {
    sock.once(event, () => resolve(sock));
    sock.once('error', reject);
  });
}

// Writes 'text' on sock and resolves with what comes back up to and including 'until'.
function exchange(sock, text, until) {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (chunk) => {
      got += chunk;
      if (got.includes(until)) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.setEncoding('utf8').on('data', onData);
    sock.once('error', reject);
    sock.write(text);
  });
}

describe('SIGTERM with TLS connections held open', () => {
  let dir;
  let pair;
  let d;
  const held = [];
  before(async () => {
    dir = makeTmpDir('telltale-tls-stop-');
    pair = makeCert(dir, 'stop');
    d = await Daemon.start({ label: 'tls-stop', args: ['--tls-cert', pair.cert, '--tls-key', pair.key] });
  });
  after(async () => {
    held.forEach((s) => s.destroy());
    await d?.cleanup();
  });

  test('the daemon stops as a plain one does: exit 0, no handle left open, the acknowledged kept', async () => {
    d.signal('SIGHUP');
    await waitFor('the reload to be logged', () => /SIGHUP: TLS certificate reloaded/.test(d.stderr));
    const tlsOpts = { host: '127.0.0.1', port: d.port, ca: readFileSync(pair.cert), servername: 'localhost' };
    // Connected, and nothing sent: the TLS handshake never begins.
    held.push(await opened(net.connect(d.port, '127.0.0.1'), 'connect'));
    // Half a ClientHello (its record header says 200 bytes; 15 come).
    const half = await opened(net.connect(d.port, '127.0.0.1'), 'connect');
    half.write(Buffer.from('16030100c8010000c40303000102030405060708', 'hex'));
    held.push(half);
    // A finished handshake, no request yet.
    held.push(await opened(tls.connect(tlsOpts), 'secureConnect'));
    // Kept alive after a request: an event acknowledged on it.
    const kept = await opened(tls.connect(tlsOpts), 'secureConnect');
    const id = uid('tls-stop');
    const body = JSON.stringify({ id, type: 'tls_stop' });
    const answer = await exchange(kept, 'POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\n' +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, '}');
    assert.match(answer, /^HTTP\/1\.1 202 /, answer);
    held.push(kept);
    // A wss connection.
    const ws = await opened(tls.connect(tlsOpts), 'secureConnect');
    const up = await exchange(ws, 'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n', '\r\n\r\n');
    assert.match(up, /^HTTP\/1\.1 101 /, up);
    held.push(ws);
    // A request, and then a reset instead of reading the answer: libh2o's close of it waits
    // on a write that never completes.
    const raw = await opened(net.connect(d.port, '127.0.0.1'), 'connect');
    const reset = await opened(tls.connect({ ...tlsOpts, socket: raw }), 'secureConnect');
    await new Promise((resolve) => reset.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n', resolve));
    raw.resetAndDestroy();
    // A whole request on one more connection, answered: the daemon has accepted every
    // connection above (accepts are taken in the order they came).
    assert.equal(curl(['--cacert', pair.cert, `https://localhost:${d.port}/health`]).status, 200);

    // h2o closes a connection still in its handshake by its own timer, 10 s after the
    // accept; a daemon that waits for it has not stopped within this deadline (a hang, not a
    // measurement: a plain daemon stops once its requests are answered and its WebSocket
    // clients told).
    const result = await d.stop({ timeoutMs: 8_000 });
    assert.equal(result.code, 0);
    assert.match(d.stderr, /stopped/);
    assert.doesNotMatch(d.stderr, /handles still open/);

    await d.restart();
    const r = curl(['--cacert', pair.cert, `https://localhost:${d.port}/api/v1/events?limit=10`]);
    assert.equal(r.status, 200, r.body);
    assert.ok(JSON.parse(r.body).events.some((e) => e.id === id), 'the acknowledged event is stored');
  });
});

describe('TLS clients that reset after a request', () => {
  let dir;
  let d;
  before(async () => {
    dir = makeTmpDir('telltale-tls-reset-');
    const pair = makeCert(dir, 'reset');
    d = await Daemon.start({ label: 'tls-reset', args: ['--tls-cert', pair.cert, '--tls-key', pair.key,
      '--max-connections-per-address', '2', '--idle-timeout', '500ms'] });
    d.pair = pair;
  });
  after(async () => {
    await d?.cleanup();
  });

  test('give their place under the connection limits back (the idle timeout ends the half-closed socket)', async () => {
    const tlsOpts = { host: '127.0.0.1', port: d.port, ca: readFileSync(d.pair.cert), servername: 'localhost' };
    const resetAfterRequest = async () => {
      const raw = await opened(net.connect(d.port, '127.0.0.1'), 'connect');
      const s = await opened(tls.connect({ ...tlsOpts, socket: raw }), 'secureConnect');
      await new Promise((resolve) => s.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n', resolve));
      raw.resetAndDestroy();
    };
    // Twice the per-address limit, one after another: each place must come back, or the
    // third and later are refused at accept (their handshake fails) and so is every client
    // of this address from then on.
    for (let i = 0; i < 4; i++) {
      await waitFor(`reset client ${i + 1} admitted`, async () => {
        try {
          await resetAfterRequest();
          return true;
        } catch {
          return false;
        }
      });
    }
    await waitFor('a client of the address served again', () =>
      curl(['--cacert', d.pair.cert, `https://localhost:${d.port}/health`]).status === 200);
  });
});

describe('TLS settings at startup', () => {
  const run = (args) => spawnSync(BIN, ['serve', '--store', `sqlite:${path.join(makeTmpDir(), 't.db')}`, ...args],
                                  { encoding: 'utf8', timeout: 20_000 });

  test('a certificate without a key (or the reverse) is a usage error naming both settings', () => {
    const r = run(['--listen', '127.0.0.1:0', '--tls-cert', '/nonexistent/cert.pem']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /TELLTALE_TLS_CERT \(--tls-cert\) and TELLTALE_TLS_KEY \(--tls-key\)/);
  });

  test('an unreadable certificate fails the start, naming the setting and why', () => {
    const r = run(['--listen', '127.0.0.1:0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key',
                   '/nonexistent/key.pem']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot start: cannot listen on 127\.0\.0\.1:0 with TLS: cannot read TELLTALE_TLS_CERT \(--tls-cert\) '\/nonexistent\/cert.pem': No such file or directory/);
  });

  // Start-up says what a SIGHUP reload says of the same files (tls.c's tls_load), naming the
  // one at fault.
  describe('an unusable pair fails the start, saying which file and what is wrong', () => {
    let dir;
    let a;
    let b;
    let junk;
    before(() => {
      dir = makeTmpDir('telltale-tls-start-');
      a = makeCert(dir, 'a');
      b = makeCert(dir, 'b');
      junk = path.join(dir, 'junk.pem');
      writeFileSync(junk, 'not PEM at all\n');
    });
    const start = (cert, key) => {
      const r = run(['--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key]);
      assert.equal(r.status, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /listening on/);
      return r.stderr;
    };

    test('an unreadable key', () => {
      const err = start(a.cert, path.join(dir, 'missing-key.pem'));
      assert.match(err, /with TLS: cannot read TELLTALE_TLS_KEY \(--tls-key\) '[^']*missing-key\.pem': No such file or directory/);
      assert.doesNotMatch(err, /TELLTALE_TLS_CERT/, 'the certificate is not blamed');
    });

    test('a certificate that is not PEM', () => {
      assert.match(start(junk, a.key), /with TLS: TELLTALE_TLS_CERT \(--tls-cert\) '[^']*junk\.pem' is not a PEM certificate/);
    });

    test('a key that is not PEM (a certificate given as the key)', () => {
      assert.match(start(a.cert, a.cert), /with TLS: TELLTALE_TLS_KEY \(--tls-key\) '[^']*a-cert\.pem' is not a PEM private key/);
    });

    test('a key that does not match the certificate', () => {
      assert.match(start(a.cert, b.key), /with TLS: TELLTALE_TLS_KEY \(--tls-key\) '[^']*b-key\.pem' is not a private key matching TELLTALE_TLS_CERT \(--tls-cert\) '[^']*a-cert\.pem'/);
    });
  });

  test('0.0.0.0 without keys is refused, naming --listen and the key settings', () => {
    const r = run(['--listen', '0.0.0.0:0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--listen \/ TELLTALE_LISTEN/);
    assert.match(r.stderr, /TELLTALE_SERVICE_KEY \(--service-key\)/);
    assert.match(r.stderr, /TELLTALE_INGEST_KEY/);
  });

  test('0.0.0.0 with keys over plain HTTP starts, warning that keys cross the network in clear', async () => {
    const d = await Daemon.start({ label: 'plain', args: ['--listen', '0.0.0.0:0'],
                                   env: { TELLTALE_SERVICE_KEY: SERVICE } });
    try {
      assert.match(d.stderr, /listening on 0\.0\.0\.0 \(--listen \/ TELLTALE_LISTEN\) over plain HTTP: keys and events cross the network in clear text/);
    } finally {
      await d.stop();
    }
  });
});
