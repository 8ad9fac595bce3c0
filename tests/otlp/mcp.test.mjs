// mcp.test.mjs -- an MCP server built with the official @modelcontextprotocol/sdk, instrumented
// with OpenTelemetry as the MCP semantic conventions describe (semantic-conventions-genai
// v0.1.0: a SERVER span "tools/call {tool}" per call with mcp.method.name, gen_ai.tool.name,
// gen_ai.operation.name, mcp.session.id, jsonrpc.request.id and, on failure, error.type), its
// spans exported by sdk-node's OTLP/HTTP protobuf exporter to telltale. Two MCP clients talk to
// it over Streamable HTTP; every tool call appears in telltale in its client's session, with its
// name, its duration as the SDK measured it, and its error.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { after } from 'node:test';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { Daemon, test } from '../integration/lib/daemon.mjs';
import { events, exporterBase, hrNanos } from './lib/otlp.mjs';

const daemons = [];
after(async () => Promise.all(daemons.map((d) => d.cleanup())));

const tracer = () => trace.getTracer('mcp-server-instrumentation');

// Registers a tool whose every call is a span of the MCP conventions. (The SDK calls a tool
// without an input schema with (extra) alone.)
function instrumentedTool(server, name, config, fn) {
  const call = (args, extra) => tracer().startActiveSpan(`tools/call ${name}`, {
    kind: SpanKind.SERVER,
    attributes: {
      'mcp.method.name': 'tools/call', 'gen_ai.tool.name': name, 'gen_ai.operation.name': 'execute_tool',
      'mcp.session.id': extra.sessionId, 'jsonrpc.request.id': String(extra.requestId), 'network.transport': 'tcp',
    },
  }, async (span) => {
    try {
      return await fn(args, extra);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      span.setAttribute('error.type', err.name);
      throw err;
    } finally {
      span.end();
    }
  });
  server.registerTool(name, config, config.inputSchema ? call : (extra) => call({}, extra));
}

function newMcpServer() {
  const server = new McpServer({ name: 'telltale-test-mcp', version: '1.0.0' });
  instrumentedTool(server, 'add', { description: 'adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
  instrumentedTool(server, 'wait', { description: 'waits a little', inputSchema: { ms: z.number() } },
    async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: 'done' }] };
    });
  instrumentedTool(server, 'explode', { description: 'always fails' }, async () => {
    const err = new Error('the tool exploded');
    err.name = 'ToolExplosion';
    throw err;
  });
  return server;
}

// A Streamable HTTP MCP endpoint, one server and transport per session (the SDK's stateful
// pattern); each new session is an "initialize" span (session_start in telltale).
async function startMcpHttp() {
  const sessions = new Map();
  const httpServer = http.createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    let transport = id && sessions.get(id);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, transport);
          tracer().startSpan('initialize', {
            kind: SpanKind.SERVER,
            attributes: { 'mcp.method.name': 'initialize', 'mcp.session.id': sessionId },
          }).end();
        },
      });
      await newMcpServer().connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    url: new URL(`http://127.0.0.1:${httpServer.address().port}/mcp`),
    close: async () => {
      await Promise.all([...sessions.values()].map((t) => t.close()));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

test('every MCP tool call is an event in its session, with its name, duration and error', async (t) => {
  const d = await Daemon.start({ label: 'otlp-mcp' });
  daemons.push(d);
  const to = await exporterBase(d);
  t.after(() => to.close());
  t.diagnostic(to.why);
  const memory = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': 'mcp-server' }),
    autoDetectResources: false,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${to.base}/v1/traces` })),
                     new SimpleSpanProcessor(memory)],
    instrumentations: [],
  });
  sdk.start();
  const mcp = await startMcpHttp();
  const clients = [];
  for (let i = 0; i < 2; i++) {
    const transport = new StreamableHTTPClientTransport(mcp.url);
    const client = new Client({ name: `client-${i}`, version: '1.0.0' });
    await client.connect(transport);
    clients.push({ client, transport });
  }
  const [one, two] = clients;
  assert.equal((await one.client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).content[0].text, '5');
  assert.equal((await one.client.callTool({ name: 'wait', arguments: { ms: 15 } })).content[0].text, 'done');
  const failed = await one.client.callTool({ name: 'explode', arguments: {} });
  assert.equal(failed.isError, true);
  assert.equal((await two.client.callTool({ name: 'add', arguments: { a: 1, b: 1 } })).content[0].text, '2');
  const sessions = clients.map((c) => c.transport.sessionId);
  assert.ok(sessions[0] && sessions[1] && sessions[0] !== sessions[1]);
  for (const c of clients) {
    await c.client.close();
  }
  await mcp.close();
  const spans = memory.getFinishedSpans();
  await sdk.shutdown();

  const stored = (await events(d)).filter((e) => e.source === 'mcp-server');
  const calls = spans.filter((s) => s.name.startsWith('tools/call '));
  assert.equal(calls.length, 4);
  for (const s of calls) {
    const { traceId, spanId } = s.spanContext();
    const ev = stored.find((e) => e.id === `${traceId}${spanId}`);
    assert.ok(ev, `the call ${s.name} is stored`);
    assert.equal(ev.type, 'tool_call');
    assert.equal(ev.name, s.attributes['gen_ai.tool.name']);
    assert.equal(ev.session_id, s.attributes['mcp.session.id']);
    assert.ok(Math.abs(ev.duration_ms - Number(hrNanos(s.endTime) - hrNanos(s.startTime)) / 1e6) < 1e-6);
    assert.equal(ev.attrs['jsonrpc.request.id'], s.attributes['jsonrpc.request.id']);
  }
  const inSession = (sid) => stored.filter((e) => e.session_id === sid && e.type === 'tool_call');
  assert.deepEqual(inSession(sessions[0]).map((e) => e.name).sort(), ['add', 'explode', 'wait']);
  assert.deepEqual(inSession(sessions[1]).map((e) => e.name), ['add']);
  const exploded = inSession(sessions[0]).find((e) => e.name === 'explode');
  assert.equal(exploded.status, 'error');
  assert.equal(exploded.error, 'the tool exploded');
  assert.equal(exploded.attrs['error.type'], 'ToolExplosion');
  assert.ok(inSession(sessions[0]).filter((e) => e.name !== 'explode').every((e) => e.status === 'ok'));
  const wait = inSession(sessions[0]).find((e) => e.name === 'wait');
  assert.ok(wait.duration_ms > 0);
  for (const sid of sessions) {
    const starts = stored.filter((e) => e.session_id === sid && e.type === 'session_start');
    assert.equal(starts.length, 1, `one session_start for ${sid}`);
    assert.equal(starts[0].name, 'initialize');
  }
});
