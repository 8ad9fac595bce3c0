// agreement-panel.js -- dual mode's evidence: events on both paths, on one only (with the
// ids of the last few), and each path's delivery latency.

import { formatCount, formatMs, formatPercent } from './format.js';

export class AgreementPanel {
  constructor(root, { core }) {
    const $ = (id) => root.querySelector(`#${id}`);
    core.agreement.subscribe((a) => {
      root.dataset.active = String(a !== null);
      if (!a) {
        return;
      }
      $('ag-pct').textContent = a.agreement === null ? '—' : formatPercent(a.agreement);
      $('ag-pct').dataset.ok = String(a.agreement === 1);
      $('ag-both').textContent = formatCount(a.both);
      $('ag-legacy').textContent = formatCount(a.legacyOnly);
      $('ag-realtime').textContent = formatCount(a.realtimeOnly);
      $('ag-pending').textContent = formatCount(a.pending);
      const lat = (l) => (l.n ? `${formatMs(l.p50)} · ${formatMs(l.p99)}` : '—');
      $('ag-lat-legacy').textContent = lat(a.latency.legacy);
      $('ag-lat-realtime').textContent = lat(a.latency.realtime);
      $('ag-legacy-ids').textContent = a.legacyOnlyIds.join(', ') || '—';
      $('ag-realtime-ids').textContent = a.realtimeOnlyIds.join(', ') || '—';
    });
  }
}
