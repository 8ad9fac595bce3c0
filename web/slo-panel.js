// slo-panel.js -- service level objectives measured live against targets the operator sets.
//
// Each objective: a measured value, its target, and a burn (how fast the budget goes):
// measured ÷ target for "at most" objectives, downtime ÷ allowed downtime for uptime.
// green ≤ 1, amber ≤ 2, red above. Targets live in cross-session state (`slo.targets`).

import { formatMs, formatPercent } from './format.js';

export const SLO_DEFAULTS = Object.freeze({ realtime_p99_ms: 1000, page_load_ms: 2000, error_rate: 0.05, uptime: 0.999 });

const OBJECTIVES = [
  { key: 'realtime_p99_ms', label: 'live delivery latency p99', fmt: formatMs, atMost: true, unit: 'ms' },
  { key: 'page_load_ms', label: 'page load to first live event', fmt: formatMs, atMost: true, unit: 'ms' },
  { key: 'error_rate', label: 'error rate (1 min)', fmt: formatPercent, atMost: true, unit: '%' },
  { key: 'uptime', label: 'live uptime (this page)', fmt: (v) => formatPercent(v), atMost: false, unit: '%' },
];

export function burnOf(measured, target, atMost) {
  if (measured == null || !Number.isFinite(measured) || !Number.isFinite(target) || target <= 0) {
    return null;
  }
  if (atMost) {
    return measured / target;
  }
  const allowed = 1 - target;
  return allowed > 0 ? (1 - measured) / allowed : measured >= target ? 0 : Infinity;
}

export function colourOf(burn) {
  if (burn === null) {
    return 'none';
  }
  return burn <= 1 ? 'green' : burn <= 2 ? 'amber' : 'red';
}

export class SloPanel {
  #tbody;
  #state;
  #cells = {};

  constructor(tbody, { state }) {
    this.#tbody = tbody;
    this.#state = state;
    const rows = OBJECTIVES.map((o) => {
      const tr = document.createElement('tr');
      tr.dataset.slo = o.key;
      const name = document.createElement('td');
      name.textContent = o.label;
      const target = document.createElement('td');
      target.className = 'num';
      const input = document.createElement('input');
      input.type = 'number';
      input.min = '0';
      input.step = 'any';
      input.className = 'slo-target';
      input.setAttribute('aria-label', `${o.label} target (${o.unit})`);
      input.value = String(this.#display(o, this.targets()[o.key]));
      input.addEventListener('change', () => {
        const v = Number(input.value);
        if (Number.isFinite(v) && v > 0) {
          const t = { ...this.targets(), [o.key]: o.unit === '%' ? v / 100 : v };
          state.set('slo.targets', t);
        }
      });
      target.append(input);
      const now = document.createElement('td');
      now.className = 'num';
      const burn = document.createElement('td');
      burn.className = 'num burn';
      tr.append(name, target, now, burn);
      this.#cells[o.key] = { tr, input, now, burn };
      return tr;
    });
    tbody.replaceChildren(...rows);
    state.subscribe(({ key }) => {
      if (key === 'slo.targets') {
        for (const o of OBJECTIVES) {
          if (document.activeElement !== this.#cells[o.key].input) {
            this.#cells[o.key].input.value = String(this.#display(o, this.targets()[o.key]));
          }
        }
      }
    });
  }

  targets() {
    return { ...SLO_DEFAULTS, ...(this.#state.get('slo.targets') ?? {}) };
  }

  #display(o, v) {
    return o.unit === '%' ? Number((v * 100).toPrecision(6)) : v;
  }

  // measured: { realtime_p99_ms, page_load_ms, error_rate, uptime }
  update(measured) {
    const t = this.targets();
    for (const o of OBJECTIVES) {
      const c = this.#cells[o.key];
      const m = measured[o.key];
      const burn = burnOf(m, t[o.key], o.atMost);
      c.now.textContent = m == null ? '—' : o.fmt(m);
      c.burn.textContent = burn === null ? '—' : burn === Infinity ? '∞' : burn.toFixed(2);
      c.tr.dataset.colour = colourOf(burn);
    }
  }
}
