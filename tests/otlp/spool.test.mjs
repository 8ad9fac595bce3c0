// spool.test.mjs -- a stopped PostgreSQL is absorbed by the spool for OTLP as for any ingest
// (DESIGN §4.3): the official exporter's export is answered 200 while the store is away, and the
// spans reach the store by themselves once it is back. PostgreSQL only (the spool is for a
// remote store): run under scripts/with-pg with TELLTALE_TEST_STORE=postgres.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Daemon, STORE_KIND, test, waitFor } from '../integration/lib/daemon.mjs';
import { Outage } from '../integration/lib/outage.mjs';
import { events, exporterBase, spanEventId, status } from './lib/otlp.mjs';

const daemons = [];
after(async () => Promise.all(daemons.map((d) => d.cleanup())));

test('a stopped PostgreSQL: the export is spooled (200), and stored once it is back',
     { skip: STORE_KIND !== 'postgres' && 'PostgreSQL only (TELLTALE_TEST_STORE=postgres)', timeout: 120_000 },
     async (t) => {
  const d = await Daemon.start({ label: 'otlp-spool' });
  daemons.push(d);
  const to = await exporterBase(d);
  t.after(() => to.close());
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'spooled' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  for (const name of ['one', 'two', 'three']) {
    provider.getTracer('spool-suite').startSpan(name).end();
  }
  const spans = memory.getFinishedSpans();
  const outage = new Outage(d);
  t.after(() => outage.end());
  await outage.begin();
  const exporter = new OTLPTraceExporter({ url: `${to.base}/v1/traces` });
  const result = await new Promise((resolve) => exporter.export(spans, resolve));
  assert.equal(result.code, 0, String(result.error));
  const st = await status(d);
  assert.ok(st.spool.events >= 3, `spool backlog: ${JSON.stringify(st.spool)}`);
  await outage.end();
  const ids = spans.map((s) => spanEventId(s.spanContext().traceId, s.spanContext().spanId)).sort();
  const stored = await waitFor('the spooled spans in the store', async () => {
    const got = (await events(d)).filter((e) => e.source === 'spooled');
    return got.length >= 3 && got;
  }, { timeoutMs: 60_000 });
  assert.deepEqual(stored.map((e) => e.id).sort(), ids);
  await exporter.shutdown();
});
