// run.mjs -- spans per second end to end through telltale's OTLP/HTTP receiver, protobuf and
// JSON, against NDJSON ingest (POST /api/v1/events) of the same spans as the events telltale
// makes of them, in the same run (BENCHMARKS.md "OTLP").
//
//   node bench/otlp/run.mjs [--spans 20000] [--batch 512] [--connections 4] [--rounds 3]
//
// Spans are made by the OpenTelemetry SDK (BasicTracerProvider) with MCP attributes and encoded
// once, before timing, by the official serializers (@opentelemetry/otlp-transformer), as the
// exporters would send them: --batch spans per request (the SDK's default export batch is 512).
// Each encoding gets a fresh daemon (SQLite, default settings) and spans of its own, so nothing
// is a duplicate; --connections requests are in flight at once. A span counts once its answer
// (200 / 202, i.e. durable) arrived. Rounds alternate the encodings; medians are reported.

import { performance } from 'node:perf_hooks';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Daemon } from '../../tests/integration/lib/daemon.mjs';
import { parseOptions } from '../lib/options.mjs';

function options() {
  return parseOptions(process.argv.slice(2), {
    spans: { int: [1, 10_000_000], def: 20000 },
    batch: { int: [1, 100_000], def: 512 },
    connections: { int: [1, 256], def: 4 },
    rounds: { int: [1, 100], def: 3 },
  }, "spans/s through telltale's OTLP/HTTP receiver (protobuf, JSON) against NDJSON ingest");
}

function makeSpans(n) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-mcp' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('bench');
  for (let i = 0; i < n; i++) {
    const tool = `tool_${i % 16}`;
    tracer.startSpan(`tools/call ${tool}`, {
      kind: 1,
      attributes: {
        'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool, 'gen_ai.operation.name': 'execute_tool',
        'mcp.session.id': `session-${i % 64}`, 'jsonrpc.request.id': String(i), 'gen_ai.usage.input_tokens': i % 500,
      },
    }).end();
  }
  return memory.getFinishedSpans();
}

const nanos = ([s, ns]) => BigInt(s) * 1_000_000_000n + BigInt(ns);

// The event telltale makes of a span (DESIGN §2), as an NDJSON line.
function asEvent(s) {
  const { traceId, spanId } = s.spanContext();
  const start = nanos(s.startTime), end = nanos(s.endTime);
  return JSON.stringify({
    id: `${traceId}${spanId}`, ts: Number(start / 1_000_000n), type: 'tool_call', source: 'bench-mcp',
    session_id: s.attributes['mcp.session.id'], name: s.attributes['gen_ai.tool.name'], status: 'ok',
    duration_ms: Number(end - start) / 1e6,
    attrs: { trace_id: traceId, span_id: spanId, 'span.name': s.name, 'span.kind': 'internal',
             'otel.scope.name': 'bench', ...s.attributes, resource: { 'service.name': 'bench-mcp' } },
  });
}

const ENCODINGS = {
  ndjson: { path: '/api/v1/events', type: 'application/x-ndjson', ok: 202, encode: (b) => b.map(asEvent).join('\n') },
  protobuf: { path: '/v1/traces', type: 'application/x-protobuf', ok: 200, encode: (b) => ProtobufTraceSerializer.serializeRequest(b) },
  json: { path: '/v1/traces', type: 'application/json', ok: 200, encode: (b) => JsonTraceSerializer.serializeRequest(b) },
};

async function runOnce(enc, o) {
  const spec = ENCODINGS[enc];
  const spans = makeSpans(o.spans);
  const bodies = [];
  for (let i = 0; i < spans.length; i += o.batch) {
    bodies.push({ body: spec.encode(spans.slice(i, i + o.batch)), n: Math.min(o.batch, spans.length - i) });
  }
  const bytes = bodies.reduce((a, b) => a + b.body.length, 0);
  const d = await Daemon.start({ label: `bench-${enc}` });
  try {
    let next = 0, done = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.connections }, async () => {
      while (next < bodies.length) {
        const { body, n } = bodies[next++];
        const r = await fetch(`${d.base}${spec.path}`, { method: 'POST', headers: { 'content-type': spec.type }, body });
        await r.arrayBuffer();
        if (r.status !== spec.ok) {
          throw new Error(`${enc}: ${r.status}`);
        }
        done += n;
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    return { rate: done / secs, bytesPerSpan: bytes / spans.length };
  } finally {
    await d.cleanup();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const o = options();
const results = Object.fromEntries(Object.keys(ENCODINGS).map((k) => [k, []]));
let sizes = {};
for (let r = 0; r < o.rounds; r++) {
  for (const enc of Object.keys(ENCODINGS)) {
    const { rate, bytesPerSpan } = await runOnce(enc, o);
    results[enc].push(rate);
    sizes[enc] = bytesPerSpan;
    console.error(`round ${r + 1} ${enc}: ${rate.toFixed(0)} spans/s`);
  }
}
const base = median(results.ndjson);
console.log(`${o.spans} spans, ${o.batch} per request, ${o.connections} connections, median of ${o.rounds} rounds`);
console.log('| encoding | bytes per span | spans/s | vs NDJSON |');
console.log('|---|---:|---:|---:|');
for (const enc of Object.keys(ENCODINGS)) {
  const m = median(results[enc]);
  console.log(`| ${enc} | ${sizes[enc].toFixed(0)} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
}
