// realtime-adapter.js -- the Realtime live path: a supabase-js channel on monitoring_events.
//
// The same face as WsAdapter (status, events, cursor, start, stop), over the official
// supabase-js client. Gap-free across reconnects by telltale's `after_seq` extension of the
// postgres_changes binding: the adapter keeps `after_seq` in its binding object equal to its
// cursor, and realtime-js sends the same binding objects when it rejoins, so the server
// replays what was committed while the page was away, then the live tail (DESIGN §5,
// Realtime, "Gap-free"). A server that ignores the extension (a real Supabase project)
// still streams the live tail; the adapter then backfills from `/rest/v1` by seq
// (`seq=gt.N`) after each rejoin.
//
// Reconnects: realtime-js re-opens its socket after the delay the client was configured
// with (supabase-client.js: exponential backoff with full jitter) and rejoins the channel.

import { Topic, Value } from './observable.js';

export const EVENTS_BINDING = Object.freeze({
  event: 'INSERT',
  schema: 'monitoring',
  table: 'monitoring_events',
});

// A monitoring_events row (PostgreSQL's to_json form) as an event: absent fields are null
// in a row and left out of an event.
export function rowToEvent(row) {
  const ev = {};
  for (const [k, v] of Object.entries(row ?? {})) {
    if (v !== null && v !== undefined) {
      ev[k] = v;
    }
  }
  if (typeof ev.seq === 'string' && /^\d+$/.test(ev.seq)) {
    ev.seq = Number(ev.seq);
  }
  return ev;
}

let channelCount = 0;

export class RealtimeAdapter {
  status = new Value({ state: 'connecting', attempt: 0, retryAt: null, serverSeq: null });
  events = new Topic();
  reset = new Topic();
  flags = new Topic(); // broadcasts on the `flags` topic
  messages = new Topic(); // other broadcasts (e.g. state pushes)

  #client;
  #opts;
  #channel = null;
  #flagChannel = null;
  #stateChannel = null;
  #binding = null;
  #cursor = null;
  #catchUpTo = null;
  #running = false;
  #joins = 0;
  #attempt = 0;
  #queue = [];
  #flushScheduled = false;
  #holding = null; // live rows held back while a REST backfill runs
  #backfilling = false;

  // client: a supabase-js client (createClient(...)). opts: { backfill, initialCursor,
  // channelName, backfillPage, serverReplays, stateClientId (a dashboard client id whose
  // state broadcasts, topic `state:<id>`, this adapter passes on as `state` messages) }.
  constructor(client, opts = {}) {
    this.#client = client;
    // serverReplays: the server honours `after_seq` (telltale); false for a real Supabase
    // project, where each (re)join is followed by a REST backfill instead.
    this.#opts = { backfill: 200, initialCursor: null, channelName: null, backfillPage: 1000,
                   serverReplays: true, stateClientId: null, ...opts };
  }

  get cursor() {
    return this.#cursor;
  }

  get catchingUp() {
    return this.#catchUpTo !== null && this.#cursor !== null && this.#cursor < this.#catchUpTo;
  }

  start() {
    if (this.#running) {
      return;
    }
    this.#running = true;
    this.#begin().catch((err) => console.error('telltale realtime:', err));
  }

  stop() {
    this.#running = false;
    const channels = [this.#channel, this.#flagChannel, this.#stateChannel];
    this.#channel = this.#flagChannel = this.#stateChannel = null;
    for (const ch of channels.filter(Boolean)) {
      this.#client.removeChannel(ch);
    }
    this.#setStatus('offline');
  }

  // The highest seq in the store, read through the REST API (null if it cannot be read).
  async headSeq() {
    try {
      const { data, error } = await this.#client.from('monitoring_events').select('seq')
        .order('seq', { ascending: false }).limit(1);
      if (error || !Array.isArray(data)) {
        return null;
      }
      return data.length ? Number(data[0].seq) : 0;
    } catch {
      return null;
    }
  }

  async #begin() {
    const head = await this.headSeq();
    if (!this.#running) {
      return;
    }
    const start = this.#opts.initialCursor;
    if (Number.isSafeInteger(start) && start >= 0 && (head === null || start <= head)) {
      this.#cursor = start;
    } else if (head !== null) {
      this.#cursor = Math.max(0, head - this.#opts.backfill);
    }
    this.#catchUpTo = head;
    this.#binding = { ...EVENTS_BINDING };
    if (this.#cursor !== null && this.#opts.serverReplays) {
      this.#binding.after_seq = this.#cursor;
    }
    const name = this.#opts.channelName ?? `telltale-dashboard-${Date.now().toString(36)}-${++channelCount}`;
    this.#channel = this.#client.channel(name)
      .on('postgres_changes', this.#binding, (payload) => this.#onRow(payload?.new))
      .subscribe((status, err) => this.#onChannelStatus(status, err));
    this.#flagChannel = this.#client.channel('flags')
      .on('broadcast', { event: '*' }, (msg) => {
        const p = msg?.payload;
        if (msg?.event === 'state') {
          this.messages.emit({ type: 'state', ...p });
        } else {
          this.flags.emit(p?.flags ?? p ?? {});
        }
      })
      .subscribe();
    const cid = this.#opts.stateClientId;
    if (cid) {
      this.#stateChannel = this.#client.channel(`state:${cid}`)
        .on('broadcast', { event: 'state' }, (msg) => this.messages.emit({ type: 'state', ...msg?.payload }))
        .subscribe();
    }
  }

  async #onChannelStatus(status, err) {
    if (!this.#running) {
      return;
    }
    switch (status) {
    case 'SUBSCRIBED': {
      this.#attempt = 0;
      if (!this.#opts.serverReplays) {
        this.#holding ??= []; // from now on, live rows wait for the backfill
      }
      this.#joins++;
      // Catching up until we know how far the store is (and then until we are there).
      this.#catchUpTo = Number.MAX_SAFE_INTEGER;
      this.#setStatus('connected');
      const head = await this.headSeq();
      this.#catchUpTo = head !== null && this.#cursor !== null && head > this.#cursor ? head : null;
      this.#setStatus('connected', head);
      if (!this.#opts.serverReplays) {
        // A server without after_seq does not replay: read what is missing by REST.
        this.#backfill(head).catch((e) => console.warn('telltale realtime: backfill', e));
      }
      break;
    }
    case 'CHANNEL_ERROR':
    case 'TIMED_OUT':
    case 'CLOSED':
      this.#attempt++;
      if (err) {
        console.warn(`telltale realtime: ${status}: ${err.message ?? err}`);
      }
      this.#setStatus('reconnecting');
      break;
    default:
      break;
    }
  }

  // Reads rows after the cursor up to `head` by REST, in pages (seq=gt.N). Rows the channel
  // delivers meanwhile are dropped by the cursor, so nothing is applied twice.
  async #backfill(head) {
    if (this.#backfilling) {
      return;
    }
    this.#backfilling = true;
    this.#holding ??= [];
    try {
      while (this.#running && head !== null && this.#cursor !== null && this.#cursor < head) {
        const { data, error } = await this.#client.from('monitoring_events').select('*')
          .gt('seq', this.#cursor).lte('seq', head).order('seq', { ascending: true })
          .limit(this.#opts.backfillPage);
        if (error || !Array.isArray(data) || data.length === 0) {
          break;
        }
        this.#enqueue(data);
        this.#flush();
      }
    } finally {
      this.#backfilling = false;
      const held = this.#holding ?? [];
      this.#holding = null;
      held.sort((a, b) => Number(a.seq) - Number(b.seq));
      this.#enqueue(held);
    }
  }

  #onRow(row) {
    if (!row) {
      return;
    }
    if (this.#holding) {
      this.#holding.push(row);
      return;
    }
    this.#enqueue([row]);
  }

  #enqueue(rows) {
    for (const row of rows) {
      const ev = rowToEvent(row);
      if (!Number.isSafeInteger(ev.seq)) {
        continue;
      }
      if (this.#cursor !== null && ev.seq <= this.#cursor) {
        continue; // already applied
      }
      this.#cursor = ev.seq;
      if (this.#binding && this.#opts.serverReplays) {
        this.#binding.after_seq = ev.seq;
      }
      this.#queue.push(ev);
    }
    // Rows arrive one message each: hand them to views in batches.
    if (!this.#flushScheduled && this.#queue.length) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush() {
    this.#flushScheduled = false;
    if (this.#queue.length === 0) {
      return;
    }
    const batch = this.#queue;
    this.#queue = [];
    if (this.#catchUpTo !== null && this.#cursor >= this.#catchUpTo) {
      this.#catchUpTo = null;
      this.#setStatus(this.status.get().state);
    }
    this.events.emit(batch);
  }

  #setStatus(state, serverSeq = this.status.get().serverSeq) {
    this.status.set({ state, attempt: this.#attempt, retryAt: null, serverSeq });
  }
}
