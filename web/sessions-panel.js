// sessions-panel.js -- sessions, and one session's timeline as a waterfall: each event a bar
// at its start offset, as long as its duration, indented under its parent span, errors red.

import { formatMs } from './format.js';

export class SessionsPanel {
  #els;
  #tracker;
  #selected = null;
  #listKey = '';

  // els: { note, list, title, rows }
  constructor(els, { tracker }) {
    this.#els = els;
    this.#tracker = tracker;
    tracker.available.subscribe((a) => {
      els.note.textContent = a === false
        ? 'Session route not available on this server (GET /api/v1/sessions answered 404): showing the sessions seen live on this page.'
        : '';
      els.note.dataset.unavailable = String(a === false);
    });
    tracker.subscribe((list) => this.#renderList(list));
  }

  #renderList(list) {
    const key = JSON.stringify(list.slice(0, 50).map((s) => [s.id, s.state, s.events, s.errors]));
    if (key === this.#listKey) {
      return;
    }
    this.#listKey = key;
    const items = list.slice(0, 50).map((s) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'session';
      b.dataset.id = s.id;
      b.dataset.state = s.state;
      b.setAttribute('aria-pressed', String(s.id === this.#selected));
      const id = document.createElement('span');
      id.className = 'sid';
      id.textContent = s.id;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${s.state} · ${s.events} ev · ${s.toolCalls} tools${s.errors ? ` · ${s.errors} err` : ''}${s.p95 != null ? ` · p95 ${formatMs(s.p95)}` : ''}`;
      b.append(id, meta);
      b.addEventListener('click', () => this.open(s.id));
      li.append(b);
      return li;
    });
    this.#els.list.replaceChildren(...items);
  }

  async open(id) {
    this.#selected = id;
    for (const b of this.#els.list.querySelectorAll('button.session')) {
      b.setAttribute('aria-pressed', String(b.dataset.id === id));
    }
    const tl = await this.#tracker.timeline(id);
    if (this.#selected !== id) {
      return;
    }
    this.#els.title.textContent = `${id} — ${tl.rows.length} events over ${formatMs(tl.spanMs)}${tl.from === 'live' ? ' (from this page\'s live events)' : ''}`;
    const rows = tl.rows.map((r) => {
      const row = document.createElement('div');
      row.className = 'wf-row';
      row.dataset.error = String(r.error);
      row.dataset.depth = String(Math.min(r.depth, 6));
      row.dataset.seq = r.ev.seq ?? '';
      const label = document.createElement('span');
      label.className = 'wf-label';
      label.textContent = `${r.ev.name ?? r.ev.type}`;
      label.title = `${r.ev.type} ${r.ev.name ?? ''} ${r.ev.status ?? ''} ${r.ev.error ?? ''}`.trim();
      const track = document.createElement('span');
      track.className = 'wf-track';
      const bar = document.createElement('span');
      bar.className = 'wf-bar';
      // Geometry is set through the CSSOM: the CSP forbids style attributes, not this.
      bar.style.left = `${(100 * r.offsetMs) / tl.spanMs}%`;
      bar.style.width = `max(2px, ${(100 * r.durationMs) / tl.spanMs}%)`;
      track.append(bar);
      const dur = document.createElement('span');
      dur.className = 'wf-dur';
      dur.textContent = r.durationMs ? formatMs(r.durationMs) : '';
      row.append(label, track, dur);
      return row;
    });
    this.#els.rows.replaceChildren(...rows);
  }
}
