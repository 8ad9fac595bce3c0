// sdk-json.test.mjs -- a service instrumented with @opentelemetry/sdk-node exports traces, logs
// and metrics to telltale with the official OTLP/HTTP JSON exporters
// (@opentelemetry/exporter-*-otlp-http); everything comes back from telltale as DESIGN §2 maps it.

import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { after } from 'node:test';
import { Daemon, test } from '../integration/lib/daemon.mjs';
import { exporterBase } from './lib/otlp.mjs';
import { check, produce } from './lib/sdk-scenario.mjs';

const daemons = [];
after(async () => Promise.all(daemons.map((d) => d.cleanup())));

test('sdk-node with the JSON exporters: spans, logs and metric points stored as events', async (t) => {
  const d = await Daemon.start({ label: 'otlp-json' });
  daemons.push(d);
  const to = await exporterBase(d);
  t.after(() => to.close());
  t.diagnostic(to.why);
  const service = 'svc-json', session = 'session-json-1';
  const spans = await produce({
    service, session,
    traceExporter: new OTLPTraceExporter({ url: `${to.base}/v1/traces` }),
    logExporter: new OTLPLogExporter({ url: `${to.base}/v1/logs` }),
    metricExporter: new OTLPMetricExporter({ url: `${to.base}/v1/metrics` }),
  });
  await check(d, { service, session, spans });
});
