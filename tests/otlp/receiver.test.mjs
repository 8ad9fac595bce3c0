// receiver.test.mjs -- the OTLP/HTTP receiver's answers, as the OTLP specification asks them
// ("OTLP/HTTP Response"): partial success, errors as google.rpc.Status in the request's
// encoding, an exporter's retry stored once, and back-pressure that makes the official
// exporter retry. Protobuf answers are read with the official serializers
// (@opentelemetry/otlp-transformer), the exporters' own.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Daemon, STORE_KIND, post, test, uid, waitFor } from '../integration/lib/daemon.mjs';
import { Outage } from '../integration/lib/outage.mjs';
import { events, exporterBase, postOtlp, spanEventId, status } from './lib/otlp.mjs';

const daemons = [];
after(async () => Promise.all(daemons.map((d) => d.cleanup())));

async function start(opts = {}) {
  const d = await Daemon.start({ label: 'otlp-receiver', ...opts });
  daemons.push(d);
  return d;
}

// Finished spans, as an SDK hands them to its exporter.
function makeSpans(service, names) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('receiver-suite');
  for (const name of names) {
    tracer.startSpan(name, { attributes: { 'mcp.session.id': `${service}-session` } }).end();
  }
  return memory.getFinishedSpans();
}

const exportOnce = (exporter, spans) => new Promise((resolve) => exporter.export(spans, resolve));

const jsonSpan = (traceId, spanId, name) => ({
  traceId, spanId, name, kind: 1, startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
  endTimeUnixNano: String(BigInt(Date.now() + 3) * 1_000_000n),
});
const jsonTraces = (service, spans) => JSON.stringify({
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'hand' }, spans }],
  }],
});

test('partial success: a span without valid ids is refused, the rest kept (JSON and protobuf)', async () => {
  const d = await start();
  const trace = '0af7651916cd43dd8448eb211c80319c';
  const r = await postOtlp(d, '/v1/traces', jsonTraces('partial-json', [
    jsonSpan(trace, 'b7ad6b7169203331', 'kept'), jsonSpan(trace, 'b7ad', 'refused'),
  ]), 'application/json');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json');
  const answer = JSON.parse(r.text);
  assert.equal(Number(answer.partialSuccess.rejectedSpans), 1);
  assert.match(answer.partialSuccess.errorMessage, /span_id/);
  const stored = (await events(d)).filter((e) => e.source === 'partial-json');
  assert.deepEqual(stored.map((e) => e.id), [spanEventId(trace, 'b7ad6b7169203331')]);

  const [good, bad] = makeSpans('partial-proto', ['kept', 'refused']);
  const broken = Object.create(bad, { spanContext: { value: () => ({ ...bad.spanContext(), spanId: 'abcd' }) } });
  const p = await postOtlp(d, '/v1/traces', ProtobufTraceSerializer.serializeRequest([good, broken]),
                           'application/x-protobuf');
  assert.equal(p.status, 200);
  assert.equal(p.headers.get('content-type'), 'application/x-protobuf');
  const decoded = ProtobufTraceSerializer.deserializeResponse(new Uint8Array(p.bytes));
  assert.equal(Number(decoded.partialSuccess.rejectedSpans), 1);
  assert.match(decoded.partialSuccess.errorMessage, /span_id/);
  const ids = (await events(d)).filter((e) => e.source === 'partial-proto').map((e) => e.id);
  assert.deepEqual(ids, [spanEventId(good.spanContext().traceId, good.spanContext().spanId)]);

  // Everything accepted: an empty response, in each encoding.
  const all = await postOtlp(d, '/v1/traces', ProtobufTraceSerializer.serializeRequest([good]), 'application/x-protobuf');
  assert.equal(all.status, 200);
  assert.deepEqual(ProtobufTraceSerializer.deserializeResponse(new Uint8Array(all.bytes)).partialSuccess, undefined);
});

// OTLP/JSON lets 64-bit integers be numbers (times in ns, intValue): the I-JSON bound that every
// other JSON route holds (integers within ±(2^53-1), DESIGN §5) does not apply, and they are read
// as doubles, as before it (DESIGN §2: a time within 256 ns).
test('OTLP/JSON takes times and intValue as numbers beyond 2^53, which other JSON routes refuse', async () => {
  const d = await start();
  const startNs = BigInt(Date.UTC(2030, 0, 1)) * 1_000_000n + 123_456_789n;
  const span = { ...jsonSpan('0af7651916cd43dd8448eb211c80319d', 'b7ad6b7169203332', 'numbers'),
    startTimeUnixNano: 'START', endTimeUnixNano: 'END', attributes: [{ key: 'big', value: { intValue: 'BIG' } }] };
  const body = jsonTraces('otlp-numbers', [span]).replace('"START"', String(startNs))
    .replace('"END"', String(startNs + 250_000_000n)).replace('"BIG"', '9007199254740993');
  assert.match(body, /"startTimeUnixNano":\d{19},"endTimeUnixNano":\d{19}/);
  const r = await postOtlp(d, '/v1/traces', body, 'application/json');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, '{}');
  const [ev] = (await events(d)).filter((e) => e.source === 'otlp-numbers');
  assert.equal(ev.ts, '2030-01-01T00:00:00.123Z');
  assert.ok(Math.abs(ev.duration_ms - 250) < 0.001, String(ev.duration_ms));
  // An intValue beyond ±(2^53-1) is kept as its decimal string (I-JSON, RFC 7493 §2.2), so the
  // stored event reads back under the ingest rules; here the JSON number was read as a double.
  assert.equal(ev.attrs.big, '9007199254740992', 'beyond 2^53 an intValue is a string in attrs');
  const plain = await postOtlp(d, '/api/v1/events', '{"type":"a","attrs":{"n":9007199254740993}}', 'application/json');
  assert.equal(plain.status, 400, plain.text);
});

test('bytes from the body sizes: their sum within 0..2^53-1, else left out and the span counted as cut, never stored out of range', async () => {
  const d = await start();
  const trace = '0af7651916cd43dd8448eb211c80319e';
  const sized = (id, req, resp) => ({ ...jsonSpan(trace, id, `sized-${id}`), attributes: [
    { key: 'http.request.body.size', value: { intValue: req } },
    { key: 'http.response.body.size', value: { intValue: resp } }] });
  const r = await postOtlp(d, '/v1/traces', jsonTraces('otlp-bytes', [
    sized('b7ad6b7169203341', '100', '200'),
    sized('b7ad6b7169203342', '9007199254740990', '1'),
    sized('b7ad6b7169203343', '9007199254740991', '1'),
    sized('b7ad6b7169203344', '9007199254740993', '0'),
    sized('b7ad6b7169203345', '9223372036854775807', '1'),
  ]), 'application/json');
  assert.equal(r.status, 200, r.text);
  const answer = JSON.parse(r.text);
  assert.equal(Number(answer.partialSuccess.rejectedSpans ?? 0), 0, r.text);
  assert.match(answer.partialSuccess.errorMessage, /3 .*cut/, r.text);
  const byId = Object.fromEntries((await events(d)).filter((e) => e.source === 'otlp-bytes')
    .map((e) => [e.id.slice(-16), e]));
  assert.equal(byId.b7ad6b7169203341.bytes, 300);
  assert.equal(byId.b7ad6b7169203342.bytes, 9007199254740991);
  for (const id of ['b7ad6b7169203343', 'b7ad6b7169203344', 'b7ad6b7169203345']) {
    assert.ok(byId[id], `${id} kept`);
    assert.equal(byId[id].bytes, undefined, `${id}: no bytes beyond 2^53-1`);
  }
  assert.equal(byId.b7ad6b7169203345.attrs['http.request.body.size'], '9223372036854775807',
               'the attribute keeps what was sent');
  const dlq = await (await fetch(`${d.base}/api/v1/dlq/stats`)).json();
  assert.deepEqual([dlq.total_pending, dlq.total_failed], [0, 0], `nothing in the dead letter queue: ${JSON.stringify(dlq)}`);
});

test('errors are google.rpc.Status in the request encoding: 400, 415, 405, 413', async () => {
  const d = await start({ args: ['--max-body', '64KiB'] });
  const bad = await postOtlp(d, '/v1/logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}', 'application/json');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(bad.text), { code: 3, message: "field 'trace_id' must be a hex string" });

  const notJson = await postOtlp(d, '/v1/metrics', '{"resourceMetrics": [', 'application/json');
  assert.equal(notJson.status, 400);
  assert.equal(JSON.parse(notJson.text).code, 3);

  const garbage = await postOtlp(d, '/v1/traces', Buffer.from([0x0a, 0xff, 0xff, 0x01]), 'application/x-protobuf');
  assert.equal(garbage.status, 400);
  assert.equal(garbage.headers.get('content-type'), 'application/x-protobuf');
  // google.rpc.Status: field 1 (code) varint 3, then field 2 (message), a string.
  assert.deepEqual([...garbage.bytes.subarray(0, 3)], [0x08, 0x03, 0x12]);
  assert.match(garbage.text, /not a valid otlp.ExportTraceServiceRequest/);

  assert.equal((await status(d)).ingest.requests_invalid, 3, 'the three bad bodies are counted');

  const other = await postOtlp(d, '/v1/traces', 'hello', 'text/plain');
  assert.equal(other.status, 415);
  // text/plain is refused by the HTTP edge before the route (DESIGN §5, "The HTTP edge"),
  // in the route's error shape; another type by the route itself.
  assert.match(JSON.parse(other.text).message, /media type this route reads/);
  const xml = await postOtlp(d, '/v1/traces', '<a/>', 'application/xml');
  assert.equal(xml.status, 415);
  assert.match(JSON.parse(xml.text).message, /x-protobuf or application\/json/);

  const get = await fetch(`${d.base}/v1/traces`);
  assert.equal(get.status, 405);
  assert.equal((await get.json()).code, 12);

  const big = await postOtlp(d, '/v1/traces', jsonTraces('big', [{ ...jsonSpan('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 'x'.repeat(70_000)) }]), 'application/json');
  assert.equal(big.status, 413);
  assert.equal(JSON.parse(big.text).code, 3);
  assert.ok(await d.alive());
});

test('a body of 32 KiB or more is read on a worker thread and answered alike: partial success, 400, both encodings', async () => {
  const d = await start();
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = (i) => (0x1000000000000000n + BigInt(i)).toString(16);
  const spans = Array.from({ length: 400 }, (_, i) => jsonSpan(trace, spanId(i), `large-${i}`));
  spans[123] = jsonSpan(trace, 'b7ad', 'refused'); // not 8 bytes: refused, the rest kept
  const body = jsonTraces('large-json', spans);
  assert.ok(body.length >= 32 * 1024, `${body.length} bytes`);
  const r = await postOtlp(d, '/v1/traces', body, 'application/json');
  assert.equal(r.status, 200, r.text);
  assert.equal(Number(JSON.parse(r.text).partialSuccess.rejectedSpans), 1);
  assert.equal((await events(d)).filter((e) => e.source === 'large-json').length, 399);

  const proto = ProtobufTraceSerializer.serializeRequest(makeSpans('large-proto', Array.from({ length: 400 }, (_, i) => `p${i}-${'n'.repeat(80)}`)));
  assert.ok(proto.length >= 32 * 1024, `${proto.length} bytes`);
  const p = await postOtlp(d, '/v1/traces', proto, 'application/x-protobuf');
  assert.equal(p.status, 200);
  assert.equal((await events(d)).filter((e) => e.source === 'large-proto').length, 400);

  const invalidBefore = (await status(d)).ingest.requests_invalid;
  const cut = await postOtlp(d, '/v1/traces', proto.subarray(0, proto.length - 5), 'application/x-protobuf');
  assert.equal(cut.status, 400);
  assert.match(cut.text, /not a valid otlp.ExportTraceServiceRequest/);
  const badJson = await postOtlp(d, '/v1/traces', body.replace(spanId(300), 'zz'), 'application/json');
  assert.equal(badJson.status, 400, badJson.text);
  assert.equal(JSON.parse(badJson.text).code, 3);
  assert.equal((await status(d)).ingest.requests_invalid, invalidBefore + 2, 'both counted as invalid');
  assert.ok(await d.alive());
});

test("an exporter's retry of the same export is stored once (spans, and log records by content)", async (t) => {
  const d = await start();
  const to = await exporterBase(d);
  t.after(() => to.close());
  const spans = makeSpans('retry', ['a', 'b', 'c']);
  const exporter = new OTLPTraceExporter({ url: `${to.base}/v1/traces` });
  assert.equal((await exportOnce(exporter, spans)).code, 0);
  assert.equal((await exportOnce(exporter, spans)).code, 0);
  await exporter.shutdown();
  const stored = (await events(d)).filter((e) => e.source === 'retry');
  assert.equal(stored.length, 3, JSON.stringify(stored.map((e) => e.id)));

  const logs = JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'retry-logs' } }] },
    scopeLogs: [{ logRecords: [
      { timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), severityNumber: 9, body: { stringValue: 'one' } },
      { timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), severityNumber: 17, body: { stringValue: 'two' } },
    ] }] }] });
  for (let i = 0; i < 2; i++) {
    const r = await postOtlp(d, '/v1/logs', logs, 'application/json');
    assert.equal(r.status, 200, r.text);
  }
  const logged = (await events(d)).filter((e) => e.source === 'retry-logs');
  assert.equal(logged.length, 2);
  assert.deepEqual(logged.map((e) => e.status).sort(), ['error', 'info']);
});

// On SQLite: with PostgreSQL a stopped store is absorbed by the spool instead (spool.test.mjs).
test('back-pressure: 429 with Retry-After makes the official exporter retry until it is taken',
     { skip: STORE_KIND === 'postgres' && 'SQLite only: on PostgreSQL the spool absorbs the outage' },
     async (t) => {
  const d = await start({ args: ['--queue-max', '100', '--max-events', '100'] });
  const to = await exporterBase(d);
  t.after(() => to.close());
  const outage = new Outage(d);
  t.after(() => outage.end());
  await outage.begin();
  // A hundred events fill the queue and stay there: the store is away.
  const fill = post(d, Array.from({ length: 100 }, () => ({ id: uid('fill'), type: 'fill' })));
  await waitFor('the queue to be full', async () => (await status(d)).queue.inflight >= 100);

  // What the exporter is told: 429, Retry-After, a google.rpc.Status RESOURCE_EXHAUSTED.
  const [probe] = makeSpans('pressure-probe', ['probe']);
  const refused = await postOtlp(d, '/v1/traces', ProtobufTraceSerializer.serializeRequest([probe]), 'application/x-protobuf');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, `Retry-After: ${refused.headers.get('retry-after')}`);
  assert.equal(refused.headers.get('content-type'), 'application/x-protobuf');
  assert.deepEqual([...refused.bytes.subarray(0, 2)], [0x08, 0x08]); // code = 8
  const before = (await status(d)).ingest.requests_overloaded;

  const spans = makeSpans('pressure', ['under-pressure']);
  const exporter = new OTLPTraceExporter({ url: `${to.base}/v1/traces`, timeoutMillis: 60_000 });
  const exported = exportOnce(exporter, spans);
  // Observed, not assumed: two refusals of this export mean the exporter came back after one.
  await waitFor('the exporter to be refused twice', async () => (await status(d)).ingest.requests_overloaded >= before + 2,
                { timeoutMs: 30_000 });
  await outage.end();
  const result = await exported;
  assert.equal(result.code, 0, String(result.error));
  await exporter.shutdown();
  await fill;
  const { traceId, spanId } = spans[0].spanContext();
  const stored = (await events(d)).filter((e) => e.id === spanEventId(traceId, spanId));
  assert.equal(stored.length, 1);
});

test('--otlp-listen: a second address takes the exporters too (and a bad one stops start-up)', async (t) => {
  const d = await start({ args: ['--otlp-listen', '127.0.0.1:0'] });
  const line = await waitFor('the second address', () => d.lines.find((l) => l.includes('also serving (--otlp-listen) on')));
  const second = /on (http:\/\/[^\s]+)/.exec(line)[1];
  assert.notEqual(second, d.base);
  const to = await exporterBase({ base: second });
  t.after(() => to.close());
  const spans = makeSpans('second-listener', ['via-4318']);
  const exporter = new OTLPTraceExporter({ url: `${to.base}/v1/traces` });
  assert.equal((await exportOnce(exporter, spans)).code, 0);
  await exporter.shutdown();
  const { traceId, spanId } = spans[0].spanContext();
  assert.deepEqual((await events(d)).filter((e) => e.source === 'second-listener').map((e) => e.id),
                   [spanEventId(traceId, spanId)]);
  await assert.rejects(Daemon.start({ label: 'bad-otlp-listen', args: ['--otlp-listen', 'nowhere'] }),
                       /invalid --otlp-listen/);
});
