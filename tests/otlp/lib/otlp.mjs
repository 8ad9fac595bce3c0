// otlp.mjs -- what the OTLP suites share: where an OpenTelemetry exporter should send to reach a
// daemon, and reading back what telltale stored.
//
// The official Node exporters stream their bodies (Transfer-Encoding: chunked, no
// Content-Length): telltale's HTTP edge reads them (DESIGN §5, "The HTTP edge"), so the
// exporters talk to the daemon directly.

import { settled } from '../../integration/lib/daemon.mjs';

// The base URL an exporter should use for daemon d; 'close' and 'why' are kept for the suites'
// diagnostics.
export async function exporterBase(d) {
  return { base: d.base, close: async () => {}, why: 'exporters talk to telltale directly' };
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
