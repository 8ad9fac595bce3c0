// format.js -- how numbers, times and sizes read on the dashboard, in one place.

const pad = (n, width = 2) => String(n).padStart(width, '0');

// Local wall-clock time with milliseconds: events arrive faster than once a second.
export function formatClock(ms) {
  if (!Number.isFinite(ms)) {
    return '—';
  }
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatMs(ms) {
  if (ms == null || !Number.isFinite(ms)) {
    return '—';
  }
  if (ms < 1) {
    return `${ms.toFixed(2)} ms`;
  }
  if (ms < 100) {
    return `${ms.toFixed(1)} ms`;
  }
  if (ms < 9_999.5) { // what rounds to 10000 ms reads as 10.0 s
    return `${Math.round(ms)} ms`;
  }
  return `${(ms / 1000).toFixed(1)} s`;
}

export function formatBytes(n) {
  if (n == null || !Number.isFinite(n)) {
    return '';
  }
  if (n < 1024) {
    return `${n} B`;
  }
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  // 1023.5 and up would print as "1024": that is the next unit's 1.0.
  while (v >= 1023.5 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n) {
  if (n == null || !Number.isFinite(n)) {
    return '—';
  }
  if (n < 10_000) {
    return String(Math.round(n));
  }
  if (n < 999_500) { // what rounds to 1000k reads as 1.0M
    return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  }
  return `${(n / 1_000_000).toFixed(n < 100_000_000 ? 1 : 0)}M`;
}

export function formatRate(perSecond) {
  if (perSecond == null || !Number.isFinite(perSecond)) {
    return '—';
  }
  return perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}

export function formatPercent(fraction) {
  if (fraction == null || !Number.isFinite(fraction)) {
    return '—';
  }
  const pct = fraction * 100;
  return `${pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) {
    return '—';
  }
  const s = Math.floor(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${s % 60}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
