// format.test.mjs -- web/format.js: the exact text of every formatter at 0, at each unit
// and precision boundary, for huge values, for negatives, and for missing or non-finite
// input (each formatter's placeholder).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
} from '../../../web/format.js';

// Each row is [input, expected text].
function table(fn, rows) {
  for (const [input, expected] of rows) {
    assert.equal(fn(input), expected, `${fn.name}(${String(input)})`);
  }
}

const MISSING = [null, undefined, NaN, Infinity, -Infinity];

test('formatClock: local wall-clock time with zero-padded fields and milliseconds', () => {
  // Built from local fields, so the expectation holds in every time zone.
  table(formatClock, [
    [new Date(2024, 0, 2, 3, 4, 5, 6).getTime(), '03:04:05.006'],
    [new Date(2024, 11, 31, 23, 59, 59, 999).getTime(), '23:59:59.999'],
    [new Date(2024, 5, 1, 0, 0, 0, 0).getTime(), '00:00:00.000'],
    [new Date(2024, 5, 1, 12, 30, 0, 50).getTime(), '12:30:00.050'],
  ]);
  table(formatClock, [[NaN, '—'], [Infinity, '—'], [undefined, '—']]);
});

test('formatMs: two decimals below 1 ms, one below 100 ms, whole ms below 10 s, then seconds', () => {
  table(formatMs, [
    [0, '0.00 ms'],
    [0.004, '0.00 ms'],
    [0.5, '0.50 ms'],
    [0.994, '0.99 ms'],
    [1, '1.0 ms'],
    [12.34, '12.3 ms'],
    [99.94, '99.9 ms'],
    [100, '100 ms'],
    [123.4, '123 ms'],
    [123.5, '124 ms'],
    [9999.4, '9999 ms'],
    [10_000, '10.0 s'],
    [12_345, '12.3 s'],
    [3_600_000, '3600.0 s'],
    [1e12, '1000000000.0 s'],
  ]);
  table(formatMs, MISSING.map((v) => [v, '—']));
});

test('formatBytes: bytes below 1 KiB, then binary units, one decimal below 10', () => {
  table(formatBytes, [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [5.25 * 1024 ** 3, '5.3 GiB'],
    [2 ** 40, '1.0 TiB'],
    // TiB is the largest unit: bigger sizes stay in it rather than running out of units.
    [2 ** 50, '1024 TiB'],
    [2 ** 60, '1048576 TiB'],
  ]);
  // An absent size is an empty table cell, not a dash.
  table(formatBytes, MISSING.map((v) => [v, '']));
});

test('formatCount: whole numbers below 10 000, then k with one decimal below 100k, then M', () => {
  table(formatCount, [
    [0, '0'],
    [0.4, '0'],
    [1, '1'],
    [9999, '9999'],
    [9999.4, '9999'],
    [10_000, '10.0k'],
    [12_345, '12.3k'],
    [99_949, '99.9k'],
    [100_000, '100k'],
    [999_499, '999k'],
    [1_000_000, '1.0M'],
    [12_345_678, '12.3M'],
    [99_949_999, '99.9M'],
    [100_000_000, '100M'],
    [1e15, '1000000000M'],
  ]);
  table(formatCount, MISSING.map((v) => [v, '—']));
});

test('formatRate: one decimal below 10 per second, formatCount above', () => {
  table(formatRate, [
    [0, '0.0'],
    [0.04, '0.0'],
    [0.05, '0.1'],
    [9.94, '9.9'],
    [10, '10'],
    [123.6, '124'],
    [12_345, '12.3k'],
    [2_500_000, '2.5M'],
  ]);
  table(formatRate, MISSING.map((v) => [v, '—']));
});

test('formatPercent: a fraction as a percentage, one decimal below 10%', () => {
  table(formatPercent, [
    [0, '0.0%'],
    [0.0004, '0.0%'],
    [0.0005, '0.1%'],
    [0.05, '5.0%'],
    [0.1, '10%'],
    [0.123, '12%'],
    [0.5, '50%'],
    [1, '100%'],
    [1.5, '150%'],
  ]);
  table(formatPercent, MISSING.map((v) => [v, '—']));
});

test('formatDuration: whole seconds, then minutes+seconds, hours+minutes, days+hours', () => {
  table(formatDuration, [
    [0, '0s'],
    [0.9, '0s'],
    [59.9, '59s'],
    [60, '1m 0s'],
    [61, '1m 1s'],
    [3599, '59m 59s'],
    [3600, '1h 0m'],
    [3661, '1h 1m'],
    [86_399, '23h 59m'],
    [86_400, '1d 0h'],
    [90_061, '1d 1h'],
    [1e9, '11574d 1h'],
  ]);
  table(formatDuration, MISSING.map((v) => [v, '—']));
});

test('negative inputs (outside the event contract) keep their sign', () => {
  assert.equal(formatCount(-3), '-3');
  assert.equal(formatRate(-2), '-2.0');
  assert.equal(formatDuration(-5), '-5s');
  assert.equal(formatBytes(-1), '-1 B');
});

// A value just under a unit boundary must not round up to a number that belongs to the
// next unit ("1000k", "1024 KiB", "10000 ms"): it is shown in the next unit.
test('a value that rounds up to the next unit is shown in that unit', () => {
  table(formatMs, [[9999.49, '9999 ms'], [9999.5, '10.0 s'], [9999.9, '10.0 s']]);
  table(formatBytes, [
    [1024 * 1023, '1023 KiB'],
    [1024 * 1023.4, '1023 KiB'],
    [1024 * 1023.5, '1.0 MiB'],
    [1024 * 1024 - 1, '1.0 MiB'],
    [1024 ** 3 - 1, '1.0 GiB'],
    [1024 ** 4 - 1, '1.0 TiB'],
  ]);
  table(formatCount, [[999_499, '999k'], [999_500, '1.0M'], [999_999, '1.0M']]);
  table(formatRate, [[999_999, '1.0M']]);
});
