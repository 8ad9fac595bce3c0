// sdk-scenario.mjs -- one service instrumented with @opentelemetry/sdk-node exporting its spans,
// logs and metrics to telltale with the exporters it is given, then everything read back from
// telltale and checked against what the SDK itself recorded (an in-memory span exporter beside
// the OTLP one). Run once per encoding, each in its own process (the SDK registers globals).

import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, metrics, trace } from '@opentelemetry/api';
import { SeverityNumber, logs } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { events, hrNanos, spanEventId } from './otlp.mjs';

// Produces the telemetry of one MCP-like service through the SDK, exported by the given
// exporters; returns the spans as the SDK recorded them.
export async function produce({ service, session, traceExporter, logExporter, metricExporter }) {
  const memory = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': service }),
    autoDetectResources: false,
    spanProcessors: [new BatchSpanProcessor(traceExporter), new SimpleSpanProcessor(memory)],
    logRecordProcessors: [new BatchLogRecordProcessor({ exporter: logExporter })],
    metricReader: new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 }),
    instrumentations: [],
  });
  sdk.start();
  const tracer = trace.getTracer('otlp-suite');
  await tracer.startActiveSpan('agent turn', { kind: SpanKind.SERVER, attributes: { 'gen_ai.conversation.id': session } }, async (root) => {
    await tracer.startActiveSpan('tools/call get_weather', {
      kind: SpanKind.SERVER,
      attributes: {
        'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'get_weather', 'gen_ai.operation.name': 'execute_tool',
        'mcp.session.id': session, 'jsonrpc.request.id': '7', 'gen_ai.usage.input_tokens': 42,
        'gen_ai.request.model': 'test-model',
      },
    }, async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      span.end();
    });
    await tracer.startActiveSpan('tools/call delete_disk', {
      kind: SpanKind.SERVER,
      attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'delete_disk', 'mcp.session.id': session, 'error.type': 'PermissionError' },
    }, async (span) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'not allowed to delete the disk' });
      span.end();
    });
    root.end();
  });
  const logger = logs.getLogger('otlp-suite');
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'session opened', attributes: { 'mcp.session.id': session } });
  logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'disk full', attributes: { 'mcp.session.id': session } });
  const meter = metrics.getMeter('otlp-suite');
  meter.createCounter('tt.requests').add(3, { route: '/x' });
  const latency = meter.createHistogram('tt.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100] } });
  latency.record(5);
  latency.record(15);
  meter.createGauge('tt.queue').record(7);
  const spans = memory.getFinishedSpans();
  await sdk.shutdown(); // flushes all three signals
  return spans;
}

// Reads back what telltale stored for 'service' and checks it against the SDK's own spans.
export async function check(d, { service, session, spans }) {
  const all = (await events(d)).filter((e) => e.source === service);
  const byId = new Map(all.map((e) => [e.id, e]));
  assert.equal(spans.length, 3);
  for (const s of spans) {
    const { traceId, spanId } = s.spanContext();
    const ev = byId.get(spanEventId(traceId, spanId));
    assert.ok(ev, `span ${s.name} stored as ${spanEventId(traceId, spanId)}; stored: ${JSON.stringify(all.map((e) => e.id))}`);
    const start = hrNanos(s.startTime), end = hrNanos(s.endTime);
    assert.equal(Date.parse(ev.ts), Number(start / 1_000_000n), `ts of ${s.name}`);
    assert.ok(Math.abs(ev.duration_ms - Number(end - start) / 1e6) < 1e-6, `duration of ${s.name}: ${ev.duration_ms}`);
    assert.equal(ev.attrs.trace_id, traceId);
    assert.equal(ev.attrs.span_id, spanId);
    const parent = s.parentSpanContext?.spanId ?? s.parentSpanId;
    assert.equal(ev.attrs.parent_span_id, parent, `parent of ${s.name}`);
    assert.equal(ev.session_id, session, `session of ${s.name}`);
  }
  const tool = all.find((e) => e.name === 'get_weather');
  assert.equal(tool.type, 'tool_call');
  assert.equal(tool.status, 'ok');
  assert.equal(tool.attrs['gen_ai.usage.input_tokens'], 42);
  assert.equal(tool.attrs['gen_ai.request.model'], 'test-model');
  assert.equal(tool.attrs.resource['service.name'], service);
  const failed = all.find((e) => e.name === 'delete_disk');
  assert.equal(failed.type, 'tool_call');
  assert.equal(failed.status, 'error');
  assert.equal(failed.error, 'not allowed to delete the disk');
  const turn = all.find((e) => e.name === 'agent turn');
  assert.equal(turn.type, 'request');
  assert.equal(turn.attrs.parent_span_id, undefined, 'the root span has no parent');

  const logged = all.filter((e) => e.type === 'log');
  assert.equal(logged.length, 2, JSON.stringify(logged));
  const bad = logged.find((e) => e.status === 'error');
  assert.equal(bad.error, 'disk full');
  assert.equal(bad.session_id, session);
  assert.equal(bad.attrs.severity_number, SeverityNumber.ERROR);
  assert.equal(logged.find((e) => e.status === 'info').attrs.body, 'session opened');

  const metric = (name) => all.filter((e) => e.type === 'metric' && e.name === name);
  assert.equal(metric('tt.requests').length, 1);
  assert.equal(metric('tt.requests')[0].value, 3);
  assert.equal(metric('tt.requests')[0].attrs.route, '/x');
  assert.equal(metric('tt.requests')[0].attrs['metric.kind'], 'sum');
  assert.equal(metric('tt.queue')[0].value, 7);
  assert.equal(metric('tt.queue')[0].attrs['metric.kind'], 'gauge');
  const h = metric('tt.latency')[0];
  assert.equal(h.attrs['metric.kind'], 'histogram');
  assert.equal(h.attrs.count, 2);
  assert.equal(h.value, 20);
  assert.deepEqual(h.attrs.explicit_bounds, [10, 100]);
  assert.deepEqual(h.attrs.bucket_counts, [1, 1, 0]);
  assert.equal(h.attrs['metric.unit'], 'ms');
}
