// observable.test.mjs -- Topic and Value from web/observable.js: delivery order,
// unsubscribe, isolation of a throwing subscriber, and Value's replay of its latest value.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topic, Value } from '../../../web/observable.js';

test('Topic delivers each value to every subscriber, in subscription order', () => {
  const t = new Topic();
  const got = [];
  t.subscribe((v) => got.push(['a', v]));
  t.subscribe((v) => got.push(['b', v]));
  t.emit(1);
  t.emit(2);
  assert.deepEqual(got, [['a', 1], ['b', 1], ['a', 2], ['b', 2]]);
});

test('Topic with no subscribers emits nothing and does not throw', () => {
  const t = new Topic();
  t.emit('x');
});

test('the function subscribe returns unsubscribes exactly that subscriber', () => {
  const t = new Topic();
  const got = [];
  const offA = t.subscribe((v) => got.push(`a${v}`));
  t.subscribe((v) => got.push(`b${v}`));
  t.emit(1);
  offA();
  t.emit(2);
  offA(); // a second call is harmless
  t.emit(3);
  assert.deepEqual(got, ['a1', 'b1', 'b2', 'b3']);
});

test('the same function subscribed twice is called once per emit', () => {
  const t = new Topic();
  let calls = 0;
  const fn = () => calls++;
  t.subscribe(fn);
  t.subscribe(fn);
  t.emit();
  assert.equal(calls, 1);
});

test('a throwing subscriber is logged and does not stop the others nor the emitter', (t) => {
  const logged = t.mock.method(console, 'error', () => {});
  const topic = new Topic();
  const got = [];
  const boom = new Error('broken view');
  topic.subscribe((v) => got.push(`before ${v}`));
  topic.subscribe(() => {
    throw boom;
  });
  topic.subscribe((v) => got.push(`after ${v}`));
  topic.emit(7);
  assert.deepEqual(got, ['before 7', 'after 7']);
  assert.equal(logged.mock.callCount(), 1);
  assert.equal(logged.mock.calls[0].arguments[0], boom);
});

test('an emit goes to the subscribers present when it started', () => {
  const topic = new Topic();
  const got = [];
  let offB;
  topic.subscribe((v) => {
    got.push(`a${v}`);
    if (v === 1) {
      offB(); // b is still called for this emit: emit walks a snapshot
      topic.subscribe((w) => got.push(`c${w}`)); // c only from the next emit
    }
  });
  offB = topic.subscribe((v) => got.push(`b${v}`));
  topic.emit(1);
  topic.emit(2);
  assert.deepEqual(got, ['a1', 'b1', 'a2', 'c2']);
});

test('Value hands its current value to a new subscriber at once, then every set', () => {
  const v = new Value({ n: 0 });
  const got = [];
  v.subscribe((x) => got.push(x.n));
  v.set({ n: 1 });
  v.set({ n: 2 });
  assert.deepEqual(got, [0, 1, 2]);
  assert.deepEqual(v.get(), { n: 2 });
});

test('a late Value subscriber starts from the latest value, not the initial one', () => {
  const v = new Value('initial');
  v.set('first');
  v.set('latest');
  const got = [];
  v.subscribe((x) => got.push(x));
  assert.deepEqual(got, ['latest']);
});

test('Value without an initial value starts undefined; set of the same value emits again', () => {
  const v = new Value();
  const got = [];
  const off = v.subscribe((x) => got.push(x));
  v.set(5);
  v.set(5);
  off();
  v.set(6);
  assert.deepEqual(got, [undefined, 5, 5]);
  assert.equal(v.get(), 6);
});
