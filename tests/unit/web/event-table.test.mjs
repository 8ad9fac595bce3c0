// event-table.test.mjs -- web/event-table.js's logic: rows ordered by seq (a replayed
// event goes where it belongs), the `max` newest kept, client-side filters, the distinct
// values offered to the filter bar, batched rendering, and each row built once.
//
// EventTable needs document.createElement and a tbody only to hold rows; a stand-in of a
// few lines records what it is given (text only -- it has no innerHTML), so the tests
// read the order and the cells back from it. Timers are node:test's mock timers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventTable } from '../../../web/event-table.js';

class FakeElement {
  constructor(tagName) {
    this.tagName = tagName;
    this.className = '';
    this.textContent = '';
    this.title = '';
    this.dataset = {};
    this.children = [];
  }

  append(...nodes) {
    this.children.push(...nodes);
  }

  replaceChildren(...nodes) {
    this.children = nodes;
  }
}

let savedDocument;
before(() => {
  savedDocument = Object.getOwnPropertyDescriptor(globalThis, 'document');
  Object.defineProperty(globalThis, 'document', {
    value: { createElement: (tag) => new FakeElement(tag) },
    configurable: true,
    writable: true,
  });
});
after(() => {
  if (savedDocument) {
    Object.defineProperty(globalThis, 'document', savedDocument);
  } else {
    delete globalThis.document;
  }
});

const ev = (seq, extra = {}) => ({ seq, type: 'request', source: 'api', ...extra });

function setup(t, opts = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const tbody = new FakeElement('tbody');
  const table = new EventTable(tbody, { renderEveryMs: 200, ...opts });
  const renders = [];
  table.subscribe((s) => renders.push(s));
  const shown = () => tbody.children.map((tr) => Number(tr.dataset.seq));
  const flush = () => t.mock.timers.tick(200);
  return { table, tbody, renders, shown, flush };
}

test('rows are newest first by seq, whatever order the events arrive in', (t) => {
  const { table, shown, flush } = setup(t);
  table.add([ev(5), ev(3), ev(9)]);
  table.add([ev(7)]);
  table.add([ev(1), ev(10)]);
  table.add([ev(4)]); // replayed after a reconnect: goes between 5 and 3, not on top
  flush();
  assert.deepEqual(shown(), [10, 9, 7, 5, 4, 3, 1]);
});

test('only the `max` highest seqs are kept; an older event past the limit is dropped', (t) => {
  const { table, renders, shown, flush } = setup(t, { max: 3 });
  assert.equal(table.max, 3);
  table.add([ev(1), ev(2), ev(3), ev(4), ev(5)]);
  table.add([ev(0)]);
  table.add([ev(4.5)]);
  flush();
  assert.deepEqual(shown(), [5, 4.5, 4]);
  assert.equal(renders.at(-1).kept, 3);
});

test('rendering is batched: one render per renderEveryMs however many adds', (t) => {
  const { table, renders, shown } = setup(t);
  table.add([ev(1)]);
  t.mock.timers.tick(100);
  table.add([ev(2)]);
  table.add([ev(3)]);
  assert.equal(renders.length, 0);
  assert.deepEqual(shown(), []);
  t.mock.timers.tick(99);
  assert.equal(renders.length, 0);
  t.mock.timers.tick(1); // 200 ms after the first add
  assert.equal(renders.length, 1);
  assert.deepEqual(shown(), [3, 2, 1]);
  t.mock.timers.tick(1000);
  assert.equal(renders.length, 1); // nothing new, no render
});

test('filters: type and source exactly, session by substring, \'\' for everything', (t) => {
  const { table, renders, shown, flush } = setup(t);
  table.add([
    ev(1, { type: 'request', source: 'api', session_id: 'sess-alpha' }),
    ev(2, { type: 'error', source: 'api', session_id: 'sess-beta' }),
    ev(3, { type: 'request', source: 'worker', session_id: 'alpha-2' }),
    ev(4, { type: 'requests', source: 'api' }),
  ]);
  flush();
  table.setFilter({ type: 'request' }); // renders at once
  assert.deepEqual(shown(), [3, 1]);
  assert.deepEqual(renders.at(-1).shown, 2);
  table.setFilter({ source: 'api' });
  assert.deepEqual(shown(), [1]);
  assert.deepEqual(table.filter, { type: 'request', source: 'api', session: '' });
  table.setFilter({ type: '', source: '', session: 'alpha' });
  assert.deepEqual(shown(), [3, 1]);
  table.setFilter({ session: 'nomatch' });
  assert.deepEqual(shown(), []);
  assert.deepEqual([renders.at(-1).kept, renders.at(-1).shown], [4, 0]);
  table.setFilter({ session: '' });
  assert.deepEqual(shown(), [4, 3, 2, 1]);
});

test('the filter getter returns a copy', (t) => {
  const { table } = setup(t);
  const f = table.filter;
  f.type = 'error';
  assert.deepEqual(table.filter, { type: '', source: '', session: '' });
});

test('distinct types, sources and sessions are offered most recently seen last', (t) => {
  const { table, renders, flush } = setup(t);
  table.add([
    ev(1, { type: 'a', source: 's1', session_id: 'x' }),
    ev(2, { type: 'b', source: 's2' }),
    ev(3, { type: 'a', source: '', session_id: 'y' }),
    ev(4, { type: 7, source: null, session_id: 'x' }), // not strings: not offered
  ]);
  flush();
  const r = renders.at(-1);
  assert.deepEqual(r.types, ['b', 'a']);
  assert.deepEqual(r.sources, ['s1', 's2']);
  assert.deepEqual(r.sessions, ['y', 'x']);
});

test('at most 200 distinct values are offered; the least recently seen goes first', (t) => {
  const { table, renders, flush } = setup(t, { max: 1000 });
  table.add(Array.from({ length: 201 }, (_, i) => ev(i + 1, { session_id: `s${i}` })));
  flush();
  const sessions = renders.at(-1).sessions;
  assert.equal(sessions.length, 200);
  assert.equal(sessions[0], 's1');
  assert.equal(sessions.at(-1), 's200');
});

test('clear() empties the rows and the offered values and renders at once', (t) => {
  const { table, renders, shown, flush } = setup(t);
  table.add([ev(1, { session_id: 'x' }), ev(2)]);
  flush();
  table.add([ev(3)]); // pending render
  table.clear();
  assert.deepEqual(shown(), []);
  assert.deepEqual(renders.at(-1), { kept: 0, shown: 0, types: [], sources: [], sessions: [] });
  const n = renders.length;
  t.mock.timers.tick(1000);
  assert.equal(renders.length, n, 'the pending render was cancelled');
});

test('a row is built once with its cells as text, and reused across renders', (t) => {
  const { table, tbody, flush } = setup(t);
  const ts = new Date(2024, 0, 2, 3, 4, 5, 6).getTime();
  table.add([
    ev(42, {
      ts, type: 'tool_call', source: 'kimi', session_id: 's-1', name: '<b>search</b>',
      status: 'timeout', duration_ms: 1234.4, bytes: 2048, error: 'took too long',
    }),
  ]);
  flush();
  const tr = tbody.children[0];
  assert.equal(tr.dataset.seq, 42);
  assert.equal(tr.dataset.type, 'tool_call');
  assert.equal(tr.dataset.status, 'timeout');
  const text = (td) => td.textContent || td.children.map((c) => c.textContent).join('');
  assert.deepEqual(tr.children.map(text), [
    '03:04:05.006', '42', 'tool_call', 'kimi', 's-1', '<b>search</b>', 'timeout', '1234 ms',
    '2.0 KiB', 'took too long',
  ]);
  assert.deepEqual(tr.children.map((td) => td.className), [
    'c-time', 'c-seq num', 'c-type', 'c-source', 'c-session', 'c-name', 'c-status',
    'c-duration num', 'c-bytes num', 'c-detail',
  ]);
  assert.equal(tr.children[9].title, 'took too long');
  table.setFilter({ type: 'tool_call' });
  assert.equal(tbody.children[0], tr);
});

test('the detail cell: the error, else the value, else attrs as JSON, else empty', (t) => {
  const { table, tbody, flush } = setup(t);
  table.add([
    ev(1, { error: 'e', value: 1, attrs: { a: 1 } }),
    ev(2, { value: 0, attrs: { a: 1 } }),
    ev(3, { attrs: { a: [1, 'x'] } }),
    ev(4),
  ]);
  flush();
  assert.deepEqual(tbody.children.map((tr) => tr.children[9].textContent),
                   ['', '{"a":[1,"x"]}', 'value 0', 'e']);
  // Absent duration and bytes are empty cells.
  assert.deepEqual([tbody.children[3].children[7].textContent, tbody.children[3].children[8].textContent],
                   ['', '']);
});

test('pause freezes the view at the newest row; resume shows what came meanwhile', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const tbody = new FakeElement('tbody');
  const table = new EventTable(tbody, { renderEveryMs: 50 });
  const states = [];
  table.subscribe((s) => states.push(s));
  table.add([{ seq: 1, type: 'a' }, { seq: 2, type: 'a' }]);
  t.mock.timers.tick(50);
  table.setPaused(true);
  assert.equal(table.paused, true);
  table.add([{ seq: 3, type: 'a' }, { seq: 4, type: 'b' }]);
  t.mock.timers.tick(50);
  assert.deepEqual(tbody.children.map((tr) => tr.dataset.seq), [2, 1]);
  assert.equal(states.at(-1).waiting, 2);
  table.setPaused(false);
  assert.deepEqual(tbody.children.map((tr) => tr.dataset.seq), [4, 3, 2, 1]);
  assert.equal(states.at(-1).waiting, undefined);
});

test('with a view, only the rows in it and `overscan` each side are in the DOM; spacers hold the rest', (t) => {
  let view = { top: 0, height: 100, rowHeight: 20 }; // 5 rows in view
  const pads = [];
  const { table, renders, shown, flush } = setup(t, {
    max: 500, overscan: 2, view: { measure: () => view, pad: (top, bottom) => pads.push([top, bottom]) },
  });
  table.add(Array.from({ length: 100 }, (_, i) => ev(i + 1)));
  flush();
  assert.deepEqual(shown(), [100, 99, 98, 97, 96, 95, 94], 'the 5 in view and 2 below');
  assert.deepEqual(pads.at(-1), [0, 93 * 20]);
  assert.equal(renders.at(-1).shown, 100, 'the counter still counts every matching row');
  view = { top: 50 * 20, height: 100, rowHeight: 20 }; // scrolled to the 51st row
  table.viewChanged();
  t.mock.timers.tick(0);
  assert.deepEqual(shown(), [52, 51, 50, 49, 48, 47, 46, 45, 44]);
  assert.deepEqual(pads.at(-1), [48 * 20, 43 * 20]);
  table.setFilter({ type: 'none' });
  assert.deepEqual(shown(), []);
  assert.deepEqual(pads.at(-1), [0, 0], 'nothing matches: no spacer');
});
