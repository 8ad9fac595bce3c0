// rollup-chart.js -- history beyond the live window, read from rollups (`GET /api/v1/metrics`):
// events per second and p95 latency for 15 min, 1 h, 24 h, 7 d or 30 d. When the route
// answers 404 (a telltale without rollups) the chart says so instead.

import uPlot from './vendor/uPlot.esm.js';
import { formatMs, formatRate } from './format.js';
import { BUCKET_MS, RANGES, rollupPoints } from './rollup-data.js';

export class RollupChart {
  #el;
  #note;
  #fetchJson;
  #plot = null;
  #span = [0, 1]; // the x axis, epoch s: the range asked for, however few buckets came back
  range = '15m';

  constructor(el, note, buttons, { fetchJson }) {
    this.#el = el;
    this.#note = note;
    this.#fetchJson = fetchJson;
    for (const b of buttons) {
      b.addEventListener('click', () => {
        this.range = b.dataset.range;
        for (const o of buttons) {
          o.setAttribute('aria-pressed', String(o === b));
        }
        this.refresh();
      });
    }
    new ResizeObserver(() => this.#plot?.setSize({ width: el.clientWidth, height: 180 })).observe(el);
  }

  async refresh() {
    const r = RANGES[this.range];
    const since = new Date(Date.now() - r.ms).toISOString();
    const res = await this.#fetchJson(`/api/v1/metrics?bucket=${r.bucket}&since=${encodeURIComponent(since)}&group_by=source`, { method: 'GET' });
    if (!res.ok) {
      this.#el.dataset.unavailable = 'true';
      this.#note.textContent = res.status === 404
        ? 'Rollups not available on this server (GET /api/v1/metrics answered 404).'
        : `Rollups could not be read (HTTP ${res.status || 'unreachable'}).`;
      return;
    }
    this.#el.dataset.unavailable = 'false';
    const pts = rollupPoints(res.body, BUCKET_MS[r.bucket]);
    this.#note.textContent = pts.length ? '' : 'No rollups in this range yet.';
    const data = [pts.map((p) => p.t / 1000), pts.map((p) => p.rate), pts.map((p) => p.p95)];
    // uPlot spreads a lone point over years when it picks the x range itself.
    this.#span = [Date.parse(since) / 1000, Date.now() / 1000];
    if (!this.#plot) {
      this.#plot = new uPlot({
        width: this.#el.clientWidth || 600,
        height: 180,
        scales: { x: { time: true, range: () => this.#span }, ms: {} },
        axes: [{ stroke: '#8a94a6' }, { stroke: '#8a94a6' }, { side: 1, scale: 'ms', stroke: '#8a94a6', grid: { show: false } }],
        series: [{}, { label: 'events/s', stroke: '#4c9aff', value: (u, v) => formatRate(v) },
                 { label: 'p95', stroke: '#f5b942', scale: 'ms', value: (u, v) => formatMs(v) }],
      }, data, this.#el);
    } else {
      this.#plot.setData(data);
    }
  }
}
