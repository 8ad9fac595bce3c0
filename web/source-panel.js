// source-panel.js -- where the live data comes from: the mode pill, a dot per path, the
// operator's override, the "via" badge on every live panel, and the banner while a path is
// down or catching up.
//
// The banner is fixed-position: it never pushes the panels around when it comes and goes.

const LABEL = { legacy: '/ws', realtime: 'Realtime', dual: '/ws + Realtime' };

export function bannerText(paths, nowMs = Date.now()) {
  const parts = [];
  for (const [path, s] of Object.entries(paths)) {
    if (!s) {
      continue;
    }
    const name = path === 'legacy' ? '/ws' : 'Realtime';
    if (s.state === 'reconnecting' || s.state === 'offline') {
      const wait = s.retryAt && s.retryAt > nowMs ? ` in ${Math.ceil((s.retryAt - nowMs) / 1000)}s` : '';
      parts.push(`${name} is down — reconnecting${wait} (attempt ${s.attempt + 1}); what it misses is replayed by seq on return`);
    } else if (s.state === 'connecting') {
      parts.push(`${name} connecting…`);
    } else if (s.catchingUp) {
      const behind = Number.isSafeInteger(s.serverSeq) && Number.isSafeInteger(s.cursor) ? ` (${Math.max(0, s.serverSeq - s.cursor)} behind)` : '';
      parts.push(`${name} catching up${behind}`);
    }
  }
  return parts.join(' · ');
}

export class SourcePanel {
  // els: { root, mode, dots: {legacy, realtime}, override, reason, banner }
  constructor(els, { core, onOverride }) {
    this.els = els;
    core.mode.subscribe((mode) => {
      els.root.dataset.mode = mode;
      els.mode.textContent = mode;
      for (const b of document.querySelectorAll('[data-via]')) {
        b.textContent = LABEL[mode];
        b.dataset.mode = mode;
        b.title = `live data via ${LABEL[mode]}`;
      }
    });
    core.paths.subscribe((paths) => {
      for (const p of ['legacy', 'realtime']) {
        els.dots[p].dataset.state = paths[p] ? (paths[p].catchingUp ? 'catching-up' : paths[p].state) : 'off';
      }
      const text = bannerText(paths);
      els.banner.hidden = text === '';
      els.banner.textContent = text;
      els.banner.dataset.kind = /down/.test(text) ? 'down' : 'catching-up';
    });
    els.override.addEventListener('change', () => onOverride(els.override.value));
  }

  showOverride(value) {
    this.els.override.value = value;
  }

  showReason(text) {
    this.els.reason.textContent = text;
  }
}
