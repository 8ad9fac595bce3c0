// app.js -- wires the migration console together and exposes it as the page's one global, `app`.
//
//   FeatureFlagClient ─dashboard.data_source─┐   CrossSessionState ─override─┐
//                                            ▼                               ▼
//                     DashboardCore (mode; WsAdapter /ws and/or RealtimeAdapter supabase-js)
//                         │ events, each id once           │ paths, agreement
//                         ▼                                ▼
//        EventTable, ChartManager, SessionTracker     SourcePanel, AgreementPanel, StatusBar
//   /api/v1/status (polled) ─► StatusBar, ResiliencePanel;  /api/v1/metrics ─► RollupChart
//
// Every request and WebSocket URL goes through api-client.js (the key lives there).

import { dialogAsk, ensureKey } from './access-key.js';
import { AgreementPanel } from './agreement-panel.js';
import { apiJson, apiKey, setApiKey, wsUrl } from './api-client.js';
import { fullJitterDelay } from './backoff.js';
import { ChartManager } from './chart-manager.js';
import { CrossSessionState } from './cross-session-state.js';
import { DashboardCore, isMode } from './dashboard-core.js';
import { EventTable, scrollView } from './event-table.js';
import { FeatureFlagClient } from './feature-flag-client.js';
import { FilterBar } from './filter-bar.js';
import { Value } from './observable.js';
import { RealtimeAdapter } from './realtime-adapter.js';
import { ResiliencePanel } from './resilience-panel.js';
import { RollupChart } from './rollup-chart.js';
import { SessionTracker } from './session-tracker.js';
import { SessionsPanel } from './sessions-panel.js';
import { SloPanel } from './slo-panel.js';
import { SourcePanel } from './source-panel.js';
import { StatusBar } from './status-bar.js';
import { createSupabaseClient, setRealtimeEndpoint } from './supabase-client.js';
import { ThemeToggle } from './theme.js';
import { WsAdapter } from './ws-adapter.js';

// Every seq applied since the page loaded, in arrival order, so tests (and anyone in the
// console) can check that nothing was missed or applied twice. Bounded: past the limit
// the oldest half is forgotten.
const SEQ_LOG_LIMIT = 200_000;
const FLAG = 'dashboard.data_source';
const OVERRIDE = 'dashboard.data_source_override';

const $ = (id) => document.getElementById(id);

// With keys configured the API answers 401 until the user gives one (asked once per tab); every
// request and WebSocket URL then carries it (api-client.js).
setApiKey(await ensureKey({
  fetchFn: (url, init) => fetch(url, init),
  storage: sessionStorage,
  ask: dialogAsk($('key-dialog')),
}));

// This dashboard's identity for flags (rollout bucket) and cross-session state.
function clientId() {
  const k = 'telltale.client_id';
  let id = localStorage.getItem(k);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(k, id);
  }
  return id;
}

const cid = clientId();
const state = new CrossSessionState({ clientId: cid, fetchJson: apiJson });
const flags = new FeatureFlagClient({ fetchJson: apiJson, clientId: cid });
const serverStatus = new Value(null);
const legacyStats = new Value(null);

let supabase = null; // created when the Realtime path first starts
function realtimeClient() {
  supabase ??= createSupabaseClient();
  return supabase;
}

const pushes = (a) => {
  a.flags.subscribe((f) => flags.applyPush(f));
  a.messages.subscribe((m) => {
    if (m?.type === 'state') {
      state.applyPush(m);
    }
  });
  return a;
};

const core = new DashboardCore({
  makeAdapter(path, { initialCursor }) {
    if (path === 'legacy') {
      const a = new WsAdapter(() => wsUrl('ws'), {
        initialCursor,
        stateClientId: cid,
        delay: (attempt, rnd) => fullJitterDelay(attempt, 250, 10_000, rnd),
      });
      a.stats.subscribe((s) => legacyStats.set(s));
      return pushes(a);
    }
    const { client, endpoint } = realtimeClient();
    return pushes(new RealtimeAdapter(client, { initialCursor, serverReplays: !endpoint.custom, stateClientId: endpoint.custom ? null : cid }));
  },
});

// The header's connection indicator: the worst state of the running paths.
const RANK = { connected: 0, connecting: 1, reconnecting: 2, offline: 3 };
const liveStatus = new Value({ state: 'connecting', attempt: 0, retryAt: null, serverSeq: null });
core.paths.subscribe((paths) => {
  const running = Object.values(paths).filter(Boolean);
  if (running.length === 0) {
    return;
  }
  const worst = running.reduce((w, s) => ((RANK[s.state] ?? 1) > (RANK[w.state] ?? 1) ? s : w));
  const next = { state: worst.state, attempt: worst.attempt ?? 0, retryAt: worst.retryAt ?? null, serverSeq: worst.serverSeq ?? null };
  if (JSON.stringify(next) !== JSON.stringify(liveStatus.get())) {
    liveStatus.set(next);
  }
});
core.mode.subscribe((m) => {
  if (m === 'realtime') {
    legacyStats.set(null); // no /ws stats: the header reads /api/v1/status instead
  }
});

const charts = new ChartManager($('chart-rate'), $('chart-latency'), { windowS: 300, sourcesEl: $('chart-sources') });
const tableView = scrollView($('events-body').closest('.table-wrap'), $('events-body'),
                             $('events-pad-top'), $('events-pad-bottom'));
const table = new EventTable($('events-body'), { max: 500, view: tableView });
tableView.onChange(() => table.viewChanged());
const tracker = new SessionTracker({ fetchJson: apiJson });

new FilterBar({
  type: $('f-type'),
  source: $('f-source'),
  session: $('f-session'),
  sessions: $('f-sessions'),
  clear: $('f-clear'),
  count: $('events-count'),
}, table);

new StatusBar({
  conn: $('conn'),
  connLabel: $('conn-label'),
  rate: $('m-rate'),
  total: $('m-total'),
  errorRate: $('m-errors'),
  p95: $('m-p95'),
  conns: $('m-conns'),
  uptime: $('m-uptime'),
  server: $('server-info'),
}, { adapter: { status: liveStatus, stats: legacyStats }, charts, serverStatus });

const source = new SourcePanel({
  root: $('source'),
  mode: $('source-mode'),
  dots: { legacy: $('dot-legacy'), realtime: $('dot-realtime') },
  override: $('mode-override'),
  reason: $('source-reason'),
  banner: $('banner'),
}, { core, onOverride: (v) => state.set(OVERRIDE, v) });

new AgreementPanel($('agreement'), { core });
new ThemeToggle($('theme-toggle'), { state });
const resilience = new ResiliencePanel({
  breaker: $('res-breaker'),
  transitions: $('res-transitions'),
  queue: $('res-queue'),
  spool: $('res-spool'),
  dlq: $('res-dlq'),
  store: $('res-store'),
  history: $('res-history'),
  body: $('dlq-body'),
  recover: $('dlq-recover'),
  purge: $('dlq-purge'),
  msg: $('dlq-msg'),
}, { fetchJson: apiJson, status: serverStatus });
const sessions = new SessionsPanel({
  note: $('sessions-note'),
  list: $('sessions-list'),
  title: $('timeline-title'),
  rows: $('timeline-rows'),
}, { tracker });
const slo = new SloPanel($('slo-body'), { state });
const rollups = new RollupChart($('chart-rollup'), $('rollup-note'),
                                [...document.querySelectorAll('#rollups [data-range]')], { fetchJson: apiJson });

// ---- mode: operator override, else the flag -------------------------------------------

function resolveMode() {
  const o = state.get(OVERRIDE, 'auto');
  if (isMode(o)) {
    return [o, 'operator override'];
  }
  const v = flags.values.get()[FLAG];
  if (isMode(v?.value)) {
    return [v.value, `flag ${FLAG} (${v.from}${v.reason ? `, ${v.reason}` : ''})`];
  }
  return ['legacy', 'default'];
}

function applyMode() {
  const [mode, why] = resolveMode();
  source.showOverride(state.get(OVERRIDE, 'auto'));
  source.showReason(why);
  core.setMode(mode, why);
}

// ---- events ----------------------------------------------------------------------------

let seqLog = [];
let firstEventMs = null; // ms from navigation start to the first event shown (maybe backfill)
let firstLiveEventMs = null; // ... to the first event the server received after the page began

core.subscribe((events) => {
  firstEventMs ??= performance.now();
  if (firstLiveEventMs === null && events.some((ev) => Date.parse(ev.received_at) >= performance.timeOrigin)) {
    firstLiveEventMs = performance.now();
  }
  for (const ev of events) {
    seqLog.push(ev.seq);
  }
  if (seqLog.length > SEQ_LOG_LIMIT) {
    seqLog = seqLog.slice(seqLog.length - SEQ_LOG_LIMIT / 2);
  }
  table.add(events);
  charts.add(events);
  tracker.add(events);
});

core.reset.subscribe(() => {
  seqLog = [];
  table.clear();
  charts.clear();
});

const pause = $('pause');
pause.addEventListener('click', () => {
  table.setPaused(!table.paused);
  pause.setAttribute('aria-pressed', String(table.paused));
  pause.textContent = table.paused ? 'resume' : 'pause';
});
table.subscribe(({ waiting }) => {
  if (table.paused) {
    pause.textContent = `resume (${waiting} new)`;
  }
});

// ---- once a second: agreement, SLOs, uptime ----------------------------------------------

let upS = 0;
let totalS = 0;
let lastSummary = null;
charts.subscribe((s) => {
  lastSummary = s;
});
setInterval(() => {
  core.tick();
  totalS++;
  upS += liveStatus.get().state === 'connected' ? 1 : 0;
  const mode = core.mode.get();
  const lat = core.latency(mode === 'legacy' ? 'legacy' : 'realtime');
  slo.update({
    realtime_p99_ms: lat.n ? lat.p99 : null,
    page_load_ms: firstLiveEventMs ?? firstEventMs,
    error_rate: lastSummary?.errorRate ?? null,
    uptime: totalS ? upS / totalS : null,
  });
}, 1000);

async function pollStatus() {
  const res = await apiJson('/api/v1/status');
  serverStatus.set(res.ok ? res.body : null);
}

function every(ms, fn) {
  fn();
  setInterval(fn, ms);
}

// ---- start -------------------------------------------------------------------------------

let started = false;
charts.start();
flags.values.subscribe(() => started && applyMode());
state.subscribe(({ key }) => key === OVERRIDE && started && applyMode());

async function start() {
  // The flag decides the first mode: wait for it a moment, no longer (cache or default then).
  await Promise.race([flags.start(), new Promise((r) => setTimeout(r, 1500))]);
  started = true;
  applyMode();
  state.load().catch(() => {});
  every(2000, pollStatus);
  every(3000, () => resilience.refreshDlq());
  every(5000, () => tracker.refresh());
  every(30_000, () => rollups.refresh());
  // A new key (the key dialog): new connections carry it, and what it may read is read again.
  let current = apiKey.get();
  apiKey.subscribe((key) => {
    if (key === current) {
      return; // the subscription's first call, or no change
    }
    current = key;
    supabase = null;
    core.restartPaths('key changed');
    flags.refresh();
    state.load().catch(() => {});
  });
}
start();

window.app = Object.freeze({
  core,
  flags,
  state,
  tracker,
  hasKey: apiKey.get() !== '',
  table,
  charts,
  sessions,
  clientId: cid,
  // The running path's adapter (legacy first): its cursor is what the table has applied.
  get adapter() {
    return core.adapter('legacy') ?? core.adapter('realtime');
  },
  // Milliseconds from navigation start to the first event shown and to the first live one.
  timings: () => ({ firstEventMs, firstLiveEventMs }),
  // Applied seqs, ascending; a seq applied twice appears twice.
  appliedSeqs: () => [...seqLog].sort((a, b) => a - b),
  // 'auto' | 'legacy' | 'realtime' | 'dual': the operator override (remembered).
  setMode: (m) => state.set(OVERRIDE, m),
  setApiKey,
  // Points the Realtime path at a real Supabase project (url, anon key); '' to undo. Reload.
  setRealtimeEndpoint,
});
