// app.js -- wires the dashboard together and exposes it as the page's one global, `app`.
//
//   WsAdapter ──events──► EventTable ──► FilterBar
//       │          └────► ChartManager ──summary──► StatusBar
//       └──status, stats──────────────────────────► StatusBar

import { dialogAsk, ensureKey, withKey } from './access-key.js';
import { ChartManager } from './chart-manager.js';
import { EventTable } from './event-table.js';
import { FilterBar } from './filter-bar.js';
import { StatusBar } from './status-bar.js';
import { WsAdapter, liveUrl } from './ws-adapter.js';

// Every seq applied since the page loaded, in arrival order, so tests (and anyone in the
// console) can check that nothing was missed or applied twice. Bounded: past the limit
// the oldest half is forgotten.
const SEQ_LOG_LIMIT = 200_000;

const $ = (id) => document.getElementById(id);

// With keys configured the API answers 401 until the user gives one (asked once per tab).
const key = await ensureKey({
  fetchFn: (url, init) => fetch(url, init),
  storage: sessionStorage,
  ask: dialogAsk($('key-dialog')),
});

const adapter = new WsAdapter(withKey(liveUrl(), key));
const charts = new ChartManager($('chart-rate'), $('chart-latency'), { windowS: 300 });
const table = new EventTable($('events-body'), { max: 500 });

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
  server: $('server-info'),
}, { adapter, charts });

let seqLog = [];

adapter.events.subscribe((events) => {
  for (const ev of events) {
    seqLog.push(ev.seq);
  }
  if (seqLog.length > SEQ_LOG_LIMIT) {
    seqLog = seqLog.slice(seqLog.length - SEQ_LOG_LIMIT / 2);
  }
  table.add(events);
  charts.add(events);
});

adapter.reset.subscribe(() => {
  seqLog = [];
  table.clear();
  charts.clear();
});

charts.start();
adapter.start();

window.app = Object.freeze({
  adapter,
  hasKey: key !== '',
  charts,
  table,
  // Applied seqs, ascending; a seq applied twice appears twice.
  appliedSeqs: () => [...seqLog].sort((a, b) => a - b),
});
