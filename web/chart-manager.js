// chart-manager.js -- the live charts: events per second, latency p50/p95/p99, and (when given
// an element) events per second by source.
//
// Events go into a MetricsWindow; once a second the charts are redrawn from it, one
// point per second over the window, and subscribers get the header's one-minute summary.
// Charts follow their container's size.

import uPlot from './vendor/uPlot.esm.js';
import { formatCount, formatMs, formatRate } from './format.js';
import { MetricsWindow } from './metrics-window.js';
import { Topic } from './observable.js';

const COLORS = {
  axis: '#8a94a6',
  grid: 'rgba(128, 128, 128, 0.16)', // visible on the dark and the light theme
  rate: '#4c9aff',
  rateFill: 'rgba(76, 154, 255, 0.14)',
  errors: '#ff6b6b',
  p50: '#3ecf8e',
  p95: '#f5b942',
  p99: '#ff6b6b',
};

const HEIGHT = 220;
const SOURCE_COLORS = ['#4c9aff', '#3ecf8e', '#f5b942', '#b48eff', '#ff6b6b', '#8a94a6'];

const pad = (n) => String(n).padStart(2, '0');

// 24-hour local time, like the event table; seconds only where they say something.
function timeTicks(u, ticks) {
  return ticks.map((t) => {
    const d = new Date(t * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return d.getSeconds() === 0 ? hm : `${hm}:${pad(d.getSeconds())}`;
  });
}

// Grid lines at 1, 2 and 5 times each power of ten: uPlot's default log splits draw all
// nine per decade, which crowds a short chart.
function logSplits(u, axisIdx, min, max) {
  const out = [];
  for (let p = Math.floor(Math.log10(min)); 10 ** p <= max; p++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** p;
      if (v >= min && v <= max) {
        out.push(v);
      }
    }
  }
  return out;
}

// Axis labels at round values: "0", "2.5", "1000", "20 ms", "1 s" (no "0.0" or "20.0 ms").
const trim = (x) => String(Number(x.toPrecision(3)));
const countTick = (v) => (v < 10_000 ? trim(v) : formatCount(v));
const msTick = (v) => (v >= 1000 ? `${trim(v / 1000)} s` : `${trim(v)} ms`);

function axes(formatY, extraY = {}) {
  const common = {
    stroke: COLORS.axis,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
    font: '11px system-ui, sans-serif',
  };
  return [
    { ...common, values: timeTicks },
    { ...common, size: 64, values: (u, ticks) => ticks.map((v) => (v == null ? '' : formatY(v))), ...extraY },
  ];
}

function line(label, stroke, format, extra = {}) {
  return { label, stroke, width: 1.5, points: { show: false }, value: (u, v) => format(v), ...extra };
}

export class ChartManager {
  #metrics;
  #rate;
  #latency;
  #timer = null;
  #observer;
  #summaries = new Topic();
  #sourcesEl = null;
  #sources = null;
  #sourceNames = '';

  constructor(rateEl, latencyEl, { windowS = 300, sourcesEl = null } = {}) {
    this.#sourcesEl = sourcesEl;
    this.#metrics = new MetricsWindow({ windowS });
    const empty = this.#metrics.series();
    const rateOpts = {
      width: rateEl.clientWidth || 600,
      height: HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: axes(countTick),
      series: [
        {},
        line('events/s', COLORS.rate, formatRate, { fill: COLORS.rateFill }),
        line('errors/s', COLORS.errors, formatRate),
      ],
    };
    const latencyOpts = {
      width: latencyEl.clientWidth || 600,
      height: HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      // Latencies are roughly log-normal: on a log axis p50 and p99 both stay readable.
      scales: { x: { time: true }, y: { distr: 3 } },
      axes: axes(msTick, { splits: logSplits }),
      series: [
        {},
        line('p50', COLORS.p50, formatMs),
        line('p95', COLORS.p95, formatMs),
        // Dashed: at low rates p99 often equals p95 and would hide it.
        line('p99', COLORS.p99, formatMs, { dash: [5, 4] }),
      ],
    };
    this.#rate = new uPlot(rateOpts, [empty.x, empty.rate, empty.errors], rateEl);
    this.#latency = new uPlot(latencyOpts, [empty.x, empty.p50, empty.p95, empty.p99], latencyEl);

    this.#observer = new ResizeObserver(() => {
      this.#rate.setSize({ width: rateEl.clientWidth, height: HEIGHT });
      this.#latency.setSize({ width: latencyEl.clientWidth, height: HEIGHT });
      this.#sources?.setSize({ width: this.#sourcesEl.clientWidth, height: HEIGHT });
    });
    this.#observer.observe(rateEl);
    this.#observer.observe(latencyEl);
    if (sourcesEl) {
      this.#observer.observe(sourcesEl);
    }
  }

  // One line per source; the chart is rebuilt when the busiest sources change (rarely).
  #drawSources(now) {
    const el = this.#sourcesEl;
    const s = this.#metrics.sourceSeries(now, 5);
    const key = s.names.join('\n');
    if (!this.#sources || key !== this.#sourceNames) {
      this.#sources?.destroy();
      this.#sourceNames = key;
      this.#sources = new uPlot({
        width: el.clientWidth || 600,
        height: HEIGHT,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: axes(countTick),
        series: [{}, ...s.names.map((n, i) => line(n, SOURCE_COLORS[i % SOURCE_COLORS.length], formatRate))],
      }, [s.x, ...s.values], el);
    } else {
      this.#sources.setData([s.x, ...s.values]);
    }
  }

  add(events) {
    const now = Date.now();
    for (const ev of events) {
      this.#metrics.add(ev, now);
    }
  }

  clear() {
    this.#metrics.clear();
    this.#redraw();
  }

  start() {
    if (this.#timer === null) {
      this.#redraw();
      // Redraw just after each second turns, when the previous second is complete.
      const tick = () => {
        this.#redraw();
        this.#timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 20);
      };
      this.#timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 20);
    }
  }

  stop() {
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  // fn({ spanS, count, rate, errorRate, p50, p95, p99 }) once a second.
  subscribe(fn) {
    return this.#summaries.subscribe(fn);
  }

  #redraw() {
    const now = Date.now();
    const s = this.#metrics.series(now);
    this.#rate.setData([s.x, s.rate, s.errors]);
    // A log axis cannot show 0 ms: draw it at a microsecond, the bottom of any real range.
    const positive = (ys) => ys.map((v) => (v === null ? null : Math.max(v, 0.001)));
    this.#latency.setData([s.x, positive(s.p50), positive(s.p95), positive(s.p99)]);
    if (this.#sourcesEl) {
      this.#drawSources(now);
    }
    this.#summaries.emit(this.#metrics.summary(now));
  }
}
