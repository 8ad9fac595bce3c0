// status-bar.js -- the header: connection indicator and live counters.
//
// Throughput and totals come from the server's `stats` messages (what the daemon
// accepted, whatever reached this page); error rate and p95 are computed here from the
// events of the last minute. Before the first `stats`, throughput falls back to the
// page's own count.

import { formatCount, formatDuration, formatMs, formatPercent, formatRate } from './format.js';

function connectionLabel({ state, retryAt }, now) {
  switch (state) {
  case 'connected':
    return 'connected';
  case 'connecting':
    return 'connecting…';
  case 'reconnecting':
    if (retryAt !== null && retryAt > now) {
      return `reconnecting in ${Math.ceil((retryAt - now) / 1000)}s`;
    }
    return 'reconnecting…';
  default:
    return 'offline';
  }
}

export class StatusBar {
  #els;
  #status = null;
  #stats = null;
  #summary = null;
  #countdown = null;

  #server = null;

  // els: { conn, connLabel, rate, total, errorRate, p95, server, conns?, uptime? };
  // adapter: { status, stats } Values; serverStatus: a Value of /api/v1/status (optional).
  constructor(els, { adapter, charts, serverStatus }) {
    this.#els = els;
    serverStatus?.subscribe((s) => {
      this.#server = s;
      this.#renderCounters();
    });
    adapter.status.subscribe((s) => {
      this.#status = s;
      this.#renderConnection();
    });
    adapter.stats.subscribe((s) => {
      this.#stats = s;
      this.#renderCounters();
    });
    charts.subscribe((s) => {
      this.#summary = s;
      this.#renderCounters();
    });
  }

  #renderConnection() {
    const s = this.#status;
    this.#els.conn.dataset.state = s.state;
    this.#els.connLabel.textContent = connectionLabel(s, Date.now());
    // Count down to the next attempt; stop ticking once it is under way.
    const waiting = s.state === 'reconnecting' && s.retryAt !== null;
    if (waiting && this.#countdown === null) {
      this.#countdown = setInterval(() => this.#renderConnection(), 250);
    } else if (!waiting && this.#countdown !== null) {
      clearInterval(this.#countdown);
      this.#countdown = null;
    }
  }

  #renderCounters() {
    const st = this.#stats;
    const sum = this.#summary;
    const srv = this.#server;
    const els = this.#els;
    els.rate.textContent = formatRate(st?.events_per_s ?? srv?.ingest?.events_per_s ?? sum?.rate);
    els.total.textContent = formatCount(st?.accepted_total ?? srv?.ingest?.events_accepted);
    if (els.conns) {
      const ws = srv?.websocket?.clients ?? st?.ws_clients;
      const rt = srv?.realtime?.connections;
      els.conns.textContent = ws == null && rt == null ? '—' : formatCount((ws ?? 0) + (rt ?? 0));
      els.conns.title = `/ws ${ws ?? '—'} · Realtime ${rt ?? '—'}`;
    }
    if (els.uptime) {
      els.uptime.textContent = formatDuration(st?.uptime_s ?? srv?.uptime_s);
    }
    els.errorRate.textContent = formatPercent(sum?.errorRate);
    els.p95.textContent = formatMs(sum?.p95);
    if (st) {
      const parts = [`seq ${st.server_seq ?? '—'}`, `up ${formatDuration(st.uptime_s)}`,
                     `${formatCount(st.ws_clients)} live`, `queue ${formatCount(st.queue_depth)}`];
      if (st.rejected_total) {
        parts.push(`${formatCount(st.rejected_total)} rejected`);
      }
      els.server.textContent = parts.join(' · ');
    } else if (srv) {
      // No /ws stats (Realtime only): the polled status says the same things.
      els.server.textContent = [`seq ${srv.change_feed?.last_seq ?? srv.websocket?.last_seq ?? '—'}`,
        `up ${formatDuration(srv.uptime_s)}`, `v${srv.version ?? '?'}`,
        `queue ${formatCount(srv.queue?.waiting)}`].join(' · ');
    }
  }
}
