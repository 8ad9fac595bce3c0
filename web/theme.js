// theme.js -- dark and light: the system's choice unless the operator picks one (remembered
// in cross-session state). Cycles system → light → dark.

const NEXT = { system: 'light', light: 'dark', dark: 'system' };

export class ThemeToggle {
  constructor(button, { state }) {
    this.button = button;
    this.state = state;
    this.apply(state.get('theme', 'system'));
    button.addEventListener('click', () => {
      const next = NEXT[this.current] ?? 'system';
      this.apply(next);
      state.set('theme', next);
    });
    state.subscribe(({ key, value }) => {
      if (key === 'theme' && value !== this.current) {
        this.apply(value);
      }
    });
  }

  apply(theme) {
    this.current = NEXT[theme] ? theme : 'system';
    const root = document.documentElement;
    if (this.current === 'system') {
      delete root.dataset.theme;
    } else {
      root.dataset.theme = this.current;
    }
    const label = this.current === 'system' ? 'theme: follows the system' : `theme: ${this.current}`;
    this.button.title = label;
    this.button.setAttribute('aria-label', label);
    this.button.textContent = { system: '◐', light: '☀', dark: '☾' }[this.current];
  }
}
