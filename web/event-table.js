// event-table.js -- the live tail: the newest events, newest first, filtered client-side.
//
// Keeps at most `max` events, ordered by seq (an event replayed after a reconnect goes
// where it belongs, not on top). Each row's DOM is built once, with textContent only,
// the first time it is shown. Rendering is batched: at most one every `renderEveryMs`,
// however fast events arrive, and at once when the filter changes.
//
// With a `view` (scrollView below), only the rows in the scrolled view and `overscan` rows on
// each side are in the DOM, between two spacers that keep the scroll height of them all:
// at 5,000 events/s every render replaces all `max` rows, and building and laying out 500
// table rows five times a second cost the page most of its frames (BENCHMARKS.md, the
// console's frames); a view of ~25 rows costs a twentieth.

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

  #view;
  #overscan;

  // view: null (every matching row in the DOM) or { measure() -> {top, height, rowHeight}
  // in px, pad(topPx, bottomPx) }; overscan: rows rendered beyond each edge of the view.
  constructor(tbody, { max = 500, renderEveryMs = 200, view = null, overscan = 10 } = {}) {
    this.#tbody = tbody;
    this.#max = max;
    this.#renderEveryMs = renderEveryMs;
    this.#view = view;
    this.#overscan = overscan;
  }

  // The view scrolled or resized: render the rows now in it (once per animation frame at
  // most, as scroll events come).
  viewChanged() {
    if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#render(), 0);
    }
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

  // The range of the n matching rows to put in the DOM: all without a view; else those in
  // it and `overscan` more each side, the spacers sized for the rest.
  #window(n) {
    if (!this.#view) {
      return [0, n];
    }
    const { top, height, rowHeight } = this.#view.measure();
    const h = rowHeight > 0 ? rowHeight : 24;
    const from = Math.min(n, Math.max(0, Math.floor(top / h) - this.#overscan));
    const to = Math.min(n, Math.max(from, Math.ceil((top + height) / h) + this.#overscan));
    this.#view.pad(from * h, (n - to) * h);
    return [from, to];
  }

  #render() {
    clearTimeout(this.#timer);
    this.#timer = null;
    const matching = [];
    let waiting = 0;
    for (const row of this.#rows) {
      if (this.#pausedAt !== null && row.ev.seq > this.#pausedAt) {
        waiting++;
      } else if (this.#matches(row.ev)) {
        matching.push(row);
      }
    }
    const [from, to] = this.#window(matching.length);
    const visible = [];
    for (let i = from; i < to; i++) {
      matching[i].tr ??= buildRow(matching[i].ev);
      visible.push(matching[i].tr);
    }
    this.#tbody.replaceChildren(...visible);
    this.#shown = matching.length;
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

// The DOM side of a view: `wrap` scrolls, `padTop` and `padBottom` are the spacer rows
// around the table body; the row height is measured from the first row shown (rows are one
// line: td white-space nowrap) and again after a resize. onChange(fn) calls fn on scroll
// and resize.
export function scrollView(wrap, tbody, padTop, padBottom) {
  let rowHeight = 0;
  addEventListener('resize', () => {
    rowHeight = 0;
  });
  return {
    measure() {
      if (!rowHeight && tbody.firstElementChild) {
        rowHeight = tbody.firstElementChild.getBoundingClientRect().height;
      }
      const head = wrap.querySelector('thead')?.getBoundingClientRect().height ?? 0;
      return { top: Math.max(0, wrap.scrollTop - head), height: wrap.clientHeight, rowHeight };
    },
    pad(top, bottom) {
      padTop.style.height = `${top}px`;
      padBottom.style.height = `${bottom}px`;
    },
    onChange(fn) {
      wrap.addEventListener('scroll', fn, { passive: true });
      addEventListener('resize', fn);
    },
  };
}
