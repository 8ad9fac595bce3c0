// resilience-panel.js -- the write path's health: breaker (state and history), queue, spool
// backlog, dead letter queue stats and items, with retry / fail per item and recover / purge
// for all (these need a service-role key when access control is on).

import { formatBytes, formatClock, formatCount } from './format.js';

const HISTORY = 8;

function td(text, cls) {
  const c = document.createElement('td');
  c.textContent = text ?? '';
  if (cls) {
    c.className = cls;
  }
  return c;
}

// New lines for the breaker's history, newest first, from one /api/v1/status `breaker`
// object `b` and what the page saw before (`prev`: {state, transitions}, or null on the first
// read). The server keeps counts and its last transition ({from, to, reason}), not a list:
// the first read starts the history from that transition (it happened before this page); a
// later one names the transition the server reports, and how many more happened between two
// reads. Returns { lines, seen } (`seen` is the next `prev`).
export function breakerLines(prev, b, nowMs) {
  const seen = { state: b.state ?? null, transitions: Number.isFinite(b.transitions) ? b.transitions : null };
  const last = b.last_transition;
  const says = (t) => `${t.from} → ${t.to}${t.reason ? ` (${t.reason})` : ''}`;
  const lines = [];
  if (!prev) {
    if (seen.state) {
      lines.push(`${formatClock(nowMs)} ${seen.state}`);
    }
    if (last?.from && last?.to) {
      lines.push(`before this page: ${says(last)}${seen.transitions > 1 ? `, ${formatCount(seen.transitions)} transitions since start` : ''}`);
    }
    return { lines, seen };
  }
  const more = seen.transitions !== null && prev.transitions !== null ? seen.transitions - prev.transitions : null;
  if (more > 0 && last?.from && last?.to) {
    lines.push(`${formatClock(nowMs)} ${says(last)}${more > 1 ? ` (+${more - 1} more since the last read)` : ''}`);
  } else if (more === null && seen.state && seen.state !== prev.state) {
    lines.push(`${formatClock(nowMs)} ${prev.state ? `${prev.state} → ` : ''}${seen.state}`);
  }
  return { lines, seen };
}

export class ResiliencePanel {
  #els;
  #fetchJson;
  #lastBreaker = null; // {state, transitions} as last read, null before the first
  #history = [];
  #dlqKey = '';

  // els: { breaker, transitions, queue, spool, dlq, store, history, body, recover, purge, msg }
  constructor(els, { fetchJson, status }) {
    this.#els = els;
    this.#fetchJson = fetchJson;
    status.subscribe((s) => {
      if (s) {
        this.#render(s);
      } else if (this.#lastBreaker !== null) {
        this.#els.store.textContent = 'unreachable'; // figures below are the last known
      }
    });
    els.recover.addEventListener('click', () => this.#act('POST', '/api/v1/dlq/recover', 'recover'));
    els.purge.addEventListener('click', () => this.#act('DELETE', '/api/v1/dlq?older_than=30d', 'purge'));
  }

  async refreshDlq() {
    const res = await this.#fetchJson('/api/v1/dlq?limit=50', { method: 'GET' });
    if (!res.ok) {
      this.#els.msg.textContent = res.status === 401 || res.status === 403 ? 'the DLQ needs a service-role key' : '';
      return;
    }
    const items = res.body?.items ?? [];
    const key = JSON.stringify(items.map((i) => [i.id, i.status, i.retry_count]));
    if (key === this.#dlqKey) {
      return; // unchanged: leave the rows (and the focus) alone
    }
    this.#dlqKey = key;
    const rows = items.map((it) => {
      const tr = document.createElement('tr');
      tr.dataset.id = it.id;
      tr.dataset.status = it.status;
      const ev = it.payload ?? {};
      const act = document.createElement('td');
      if (it.status === 'pending' || it.status === 'failed') {
        const retry = document.createElement('button');
        retry.type = 'button';
        retry.textContent = 'retry';
        retry.className = 'dlq-retry';
        retry.addEventListener('click', () => this.#act('POST', `/api/v1/dlq/${it.id}/retry`, `retry ${it.id}`));
        act.append(retry);
      }
      if (it.status === 'pending') {
        const fail = document.createElement('button');
        fail.type = 'button';
        fail.textContent = 'give up';
        fail.addEventListener('click', () => this.#act('POST', `/api/v1/dlq/${it.id}/fail`, `give up ${it.id}`));
        act.append(fail);
      }
      const reason = td(it.failure_reason, 'reason');
      reason.title = it.failure_reason ?? '';
      tr.append(td(String(it.id), 'num'), td(it.status, 'status'), td(`${it.retry_count}/${it.max_retries}`, 'num'),
                reason, td([ev.type, ev.id].filter(Boolean).join(' · ')), act);
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const c = td('no dead letters', 'muted');
      c.colSpan = 6;
      tr.append(c);
      rows.push(tr);
    }
    this.#els.body.replaceChildren(...rows);
  }

  async #act(method, path, what) {
    const res = await this.#fetchJson(path, { method });
    const n = res.body ? Object.entries(res.body).map(([k, v]) => `${k} ${v}`).join(', ') : '';
    this.#els.msg.textContent = res.ok ? `${what}: ${n || 'done'}`
      : `${what}: HTTP ${res.status}${res.body?.error?.message ? ` — ${res.body.error.message}` : ''}`;
    this.#dlqKey = '';
    await this.refreshDlq();
  }

  #render(s) {
    const e = this.#els;
    const b = s.breaker ?? {};
    e.breaker.textContent = b.state ?? '—';
    e.breaker.dataset.state = b.state ?? '';
    e.transitions.textContent = `${formatCount(b.transitions)} (opened ${formatCount(b.opened)})`;
    const q = s.queue ?? {};
    e.queue.textContent = `${formatCount(q.waiting)} + ${formatCount(q.inflight)} / ${formatCount(q.capacity)}`;
    e.queue.title = 'waiting + in flight / capacity (events)';
    const sp = s.spool ?? {};
    e.spool.textContent = sp.enabled === false ? 'off (embedded store)'
      : `${formatCount(sp.events ?? sp.backlog_events)} events · ${formatBytes(sp.bytes ?? sp.backlog_bytes) || '0 B'}`;
    const d = s.dlq ?? {};
    e.dlq.textContent = `${formatCount(d.total_pending)} · ${formatCount(d.total_recovered)} · ${formatCount(d.total_failed)}`;
    e.dlq.dataset.pending = String((d.total_pending ?? 0) > 0);
    e.store.textContent = `${s.store?.kind ?? '—'} · ${s.phase ?? ''}`;
    if (!b.state) {
      return;
    }
    const { lines, seen } = breakerLines(this.#lastBreaker, b, Date.now());
    this.#lastBreaker = seen;
    if (lines.length) {
      this.#history.unshift(...lines);
      this.#history.length = Math.min(this.#history.length, HISTORY);
      e.history.replaceChildren(...this.#history.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
    }
  }
}
