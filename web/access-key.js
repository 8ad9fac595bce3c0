// access-key.js -- the key the dashboard reads with, when telltale has keys (DESIGN §5
// "Access"): asked for once when the API answers 401 (or 403: a key that cannot read), kept
// for the tab in sessionStorage (gone when the tab closes, never in localStorage), and sent
// as the `apikey` header with fetch and the `apikey` URL parameter on /ws (browsers cannot
// set headers on a WebSocket). The static files load without it.
//
// Pure except for what is passed in: fetch, the storage and the prompt are arguments, so
// tests/unit/web/access-key.test.mjs drives it without a browser.

export const STORAGE_KEY = 'telltale.apikey';

// Headers carrying 'key' (none when there is no key).
export function keyHeaders(key) {
  return key ? { apikey: key } : {};
}

// 'url' with the key as its apikey parameter (unchanged when there is no key).
export function withKey(url, key) {
  if (!key) {
    return url;
  }
  const u = new URL(url);
  u.searchParams.set('apikey', key);
  return u.href;
}

// Finds a key the API takes: the tab's stored one, else none, else what ask(reason) gives
// (a Promise of the key, reason saying why it asks). probeUrl is a route readers may GET.
// Resolves with the key ('' when telltale needs none); the key is stored for the tab.
// A network failure rejects (the page retries by reloading); the prompt asks until a key works.
export async function ensureKey({ fetchFn, storage, ask, probeUrl = 'api/v1/status' }) {
  let key = storage.getItem(STORAGE_KEY) ?? '';
  let reason = 'telltale needs a key to show its data.';
  for (;;) {
    const res = await fetchFn(probeUrl, { headers: keyHeaders(key), cache: 'no-store' });
    if (res.status !== 401 && res.status !== 403) {
      if (key) {
        storage.setItem(STORAGE_KEY, key);
      }
      return key;
    }
    storage.removeItem(STORAGE_KEY);
    if (key) {
      reason = res.status === 401
        ? 'That key was not accepted. Try another.'
        : 'That key cannot read the dashboard (it may be a producer key). Use a reader key.';
    }
    key = (await ask(reason)).trim();
  }
}

// The prompt, as a modal <dialog> of the page: resolves with what the user submits.
export function dialogAsk(dialog) {
  const form = dialog.querySelector('form');
  const input = dialog.querySelector('input');
  const message = dialog.querySelector('[data-role="reason"]');
  return (reason) => new Promise((resolve) => {
    message.textContent = reason;
    input.value = '';
    form.onsubmit = (e) => {
      e.preventDefault();
      if (input.value.trim() === '') {
        input.focus();
        return;
      }
      dialog.close();
      resolve(input.value);
    };
    dialog.oncancel = (e) => e.preventDefault(); // Escape: nothing to show without a key
    dialog.showModal();
    input.focus();
  });
}
