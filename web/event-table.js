// event-table.js -- the live tail: the newest events, newest first, filtered client-side.
//
// Keeps at most `max` events, ordered by seq (an event replayed after a reconnect goes
// where it belongs, not on top). Each row's DOM is built once, with textContent only,
// the first time it is shown. Rendering is batched: at most one every `renderEveryMs`,
// however fast events arrive, and at once when the filter changes.

import { formatBytes, formatClock, formatMs } from './format.js';
import { eventTimeMs } from './metrics-window.js';
import { Topic } from './observable.js';

const SEEN_LIMIT = 200; // distinct types / sources / sessions offered in the filters

function cell(text, className) {
  const td = document.createElement('td');
  if (className) {
    td.className = className;
  }
  td.textContent = text ?? '';
  return td;
}

function detail(ev) {
  if (ev.error) {
    return ev.error;
  }
  if (ev.value != null) {
    return `value ${ev.value}`;
  }
  return ev.attrs ? JSON.stringify(ev.attrs) : '';
}

function buildRow(ev) {
  const tr = document.createElement('tr');
  tr.dataset.seq = ev.seq;
  tr.dataset.type = ev.type ?? '';
  if (ev.status) {
    tr.dataset.status = ev.status;
  }
  const type = document.createElement('span');
  type.className = 'badge';
  type.dataset.type = ev.type ?? '';
  type.textContent = ev.type ?? '';
  const typeCell = cell('', 'c-type');
  typeCell.append(type);

  const text = detail(ev);
  const detailCell = cell(text, 'c-detail');
  detailCell.title = text;

  tr.append(
    cell(formatClock(eventTimeMs(ev)), 'c-time'),
    cell(String(ev.seq), 'c-seq num'),
    typeCell,
    cell(ev.source, 'c-source'),
    cell(ev.session_id, 'c-session'),
    cell(ev.name, 'c-name'),
    cell(ev.status, 'c-status'),
    cell(ev.duration_ms != null ? formatMs(ev.duration_ms) : '', 'c-duration num'),
    cell(formatBytes(ev.bytes), 'c-bytes num'),
    detailCell,
  );
  return tr;
}

// Remembers distinct values, most recently seen last, forgetting the oldest past a limit.
class Seen {
  #values = new Map();

  add(v) {
    if (typeof v !== 'string' || v === '') {
      return false;
    }
    const isNew = !this.#values.has(v);
    this.#values.delete(v);
    this.#values.set(v, true);
    if (this.#values.size > SEEN_LIMIT) {
      this.#values.delete(this.#values.keys().next().value);
    }
    return isNew;
  }

  list() {
    return [...this.#values.keys()];
  }

  clear() {
    this.#values.clear();
  }
}

export class EventTable {
  #tbody;
  #max;
  #renderEveryMs;
  #rows = []; // { ev, tr }, seq descending
  #filter = { type: '', source: '', session: '' };
  #seen = { types: new Seen(), sources: new Seen(), sessions: new Seen() };
  #shown = 0;
  #timer = null;
  #changes = new Topic();
  #pausedAt = null; // while paused, rows above this seq wait

  constructor(tbody, { max = 500, renderEveryMs = 200 } = {}) {
    this.#tbody = tbody;
    this.#max = max;
    this.#renderEveryMs = renderEveryMs;
  }

  add(events) {
    for (const ev of events) {
      this.#insert({ ev, tr: null });
      this.#seen.types.add(ev.type);
      this.#seen.sources.add(ev.source);
      this.#seen.sessions.add(ev.session_id);
    }
    if (this.#rows.length > this.#max) {
      this.#rows.length = this.#max;
    }
    if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#render(), this.#renderEveryMs);
    }
  }

  clear() {
    this.#rows = [];
    for (const s of Object.values(this.#seen)) {
      s.clear();
    }
    this.#render();
  }

  // How many events the table keeps at most.
  get max() {
    return this.#max;
  }

  get filter() {
    return { ...this.#filter };
  }

  // Any of { type, source, session }; '' matches everything. The session filter matches
  // any session id containing it.
  setFilter(partial) {
    this.#filter = { ...this.#filter, ...partial };
    this.#render();
  }

  get paused() {
    return this.#pausedAt !== null;
  }

  // Pausing freezes the view at the newest row shown (events keep being kept, and filters
  // still apply); resuming shows what came meanwhile.
  setPaused(paused) {
    this.#pausedAt = paused ? (this.#rows[0]?.ev.seq ?? 0) : null;
    this.#render();
  }

  // fn({ kept, shown, types, sources, sessions, waiting? }) after every render (`waiting`,
  // the rows held back, only while paused).
  subscribe(fn) {
    return this.#changes.subscribe(fn);
  }

  #insert(row) {
    const rows = this.#rows;
    const seq = row.ev.seq;
    if (rows.length === 0 || seq > rows[0].ev.seq) {
      rows.unshift(row);
      return;
    }
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid].ev.seq > seq) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    rows.splice(lo, 0, row);
  }

  #matches(ev) {
    const f = this.#filter;
    return (!f.type || ev.type === f.type) &&
           (!f.source || ev.source === f.source) &&
           (!f.session || (ev.session_id ?? '').includes(f.session));
  }

  #render() {
    clearTimeout(this.#timer);
    this.#timer = null;
    const visible = [];
    let waiting = 0;
    for (const row of this.#rows) {
      if (this.#pausedAt !== null && row.ev.seq > this.#pausedAt) {
        waiting++;
        continue;
      }
      if (this.#matches(row.ev)) {
        row.tr ??= buildRow(row.ev);
        visible.push(row.tr);
      }
    }
    this.#tbody.replaceChildren(...visible);
    this.#shown = visible.length;
    this.#changes.emit({
      kept: this.#rows.length,
      shown: this.#shown,
      types: this.#seen.types.list(),
      sources: this.#seen.sources.list(),
      sessions: this.#seen.sessions.list(),
      ...(this.#pausedAt !== null ? { waiting } : {}),
    });
  }
}
