// otlp.mjs -- what the OTLP suites share: where an OpenTelemetry exporter should send to reach a
// daemon, and reading back what telltale stored.
//
// The official Node exporters stream their bodies (Transfer-Encoding: chunked, no
// Content-Length). Until telltale's HTTP edge reads chunked request bodies (issue 10, branch
// http11), telltale answers those 411; then, and only then, the exporters are pointed at a
// de-chunking relay that buffers each body and forwards it byte for byte with a Content-Length,
// and the answer back unchanged. The relay is chosen by asking telltale itself (a chunked POST),
// so once chunked bodies are read the exporters talk to telltale directly.

import http from 'node:http';
import { request } from 'node:http';
import { settled } from '../../integration/lib/daemon.mjs';

// POSTs a tiny chunked body; true when telltale reads it (anything but 411).
async function readsChunked(base) {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode !== 411));
    });
    req.on('error', reject);
    req.write('{');
    req.end('}');
  });
}

// A relay that buffers a request body and forwards it with a Content-Length. Records every
// request it passed on ({method, path, status}).
export async function startRelay(base) {
  const target = new URL(base);
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const out = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (up) => {
        seen.push({ method: req.method, path: req.url, status: up.statusCode });
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// The base URL an exporter should use for daemon d (and a close function for the relay, if one
// was needed). 'why' says which, for the test's diagnostics.
export async function exporterBase(d) {
  if (await readsChunked(d.base)) {
    return { base: d.base, close: async () => {}, why: 'exporters talk to telltale directly' };
  }
  const relay = await startRelay(d.base);
  return {
    base: relay.url,
    close: relay.close,
    why: 'telltale answers chunked bodies 411 on this branch: exporters go through a de-chunking relay',
  };
}

// What the daemon stored, once what it acknowledged has left the spool (PostgreSQL).
export async function events(d, query = '') {
  await settled(d);
  const r = await fetch(`${d.base}/api/v1/events?limit=10000${query}`);
  if (r.status !== 200) {
    throw new Error(`GET /api/v1/events: ${r.status} ${await r.text()}`);
  }
  return (await r.json()).events;
}

export async function status(d) {
  return (await fetch(`${d.base}/api/v1/status`)).json();
}

// Posts a body to an OTLP path with a Content-Length (fetch sets it), returning status, headers
// and the raw answer.
export async function postOtlp(d, path, body, contentType) {
  const r = await fetch(`${d.base}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const bytes = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, bytes, text: bytes.toString('utf8') };
}

// A span's telltale id: trace id and span id, in hex (DESIGN §2).
export const spanEventId = (traceId, spanId) => `${traceId}${spanId}`.toLowerCase();

// Nanoseconds of an OpenTelemetry HrTime ([seconds, nanos]).
export const hrNanos = ([s, ns]) => BigInt(s) * 1_000_000_000n + BigInt(ns);
