// filter-bar.js -- the controls above the event table: type, source and session filters.
//
// The choices offered are the values seen so far; the table reports them after each
// render. Options are rebuilt only when the set of values changes, so an open dropdown
// is not disturbed by traffic.

function sameList(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function fillSelect(select, values, allLabel) {
  const current = select.value;
  const options = [new Option(allLabel, '')];
  for (const v of values) {
    options.push(new Option(v, v));
  }
  // Keep a chosen value selectable even if it has aged out of the seen values.
  if (current && !values.includes(current)) {
    options.push(new Option(current, current));
  }
  select.replaceChildren(...options);
  select.value = current;
}

export class FilterBar {
  #els;
  #table;
  #lists = { types: [], sources: [], sessions: [] };

  // els: { type: <select>, source: <select>, session: <input list=...>, sessions:
  // <datalist>, clear: <button>, count: element showing "shown of kept" }
  constructor(els, table) {
    this.#els = els;
    this.#table = table;
    els.session.form?.addEventListener('submit', (e) => e.preventDefault());
    els.type.addEventListener('change', () => table.setFilter({ type: els.type.value }));
    els.source.addEventListener('change', () => table.setFilter({ source: els.source.value }));
    els.session.addEventListener('input', () => table.setFilter({ session: els.session.value.trim() }));
    els.clear.addEventListener('click', () => {
      els.type.value = '';
      els.source.value = '';
      els.session.value = '';
      table.setFilter({ type: '', source: '', session: '' });
    });
    table.subscribe((state) => this.#update(state));
  }

  #update({ kept, shown, types, sources, sessions }) {
    const sortedTypes = [...types].sort();
    const sortedSources = [...sources].sort();
    if (!sameList(sortedTypes, this.#lists.types)) {
      this.#lists.types = sortedTypes;
      fillSelect(this.#els.type, sortedTypes, 'all types');
    }
    if (!sameList(sortedSources, this.#lists.sources)) {
      this.#lists.sources = sortedSources;
      fillSelect(this.#els.source, sortedSources, 'all sources');
    }
    const recentSessions = sessions.slice(-50).reverse();
    if (!sameList(recentSessions, this.#lists.sessions)) {
      this.#lists.sessions = recentSessions;
      this.#els.sessions.replaceChildren(...recentSessions.map((s) => new Option(s)));
    }
    const f = this.#table.filter;
    const filtered = Boolean(f.type || f.source || f.session);
    this.#els.count.textContent = filtered ? `${shown} of ${kept} events` : `${kept} events`;
    this.#els.clear.disabled = !filtered;
  }
}
