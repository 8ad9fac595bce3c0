// outage.mjs -- takes the daemon's store away and gives it back, for real.
//
// SQLite: another process holds an exclusive lock on the file, so every write waits out
// SQLite's busy timeout and fails (SQLITE_BUSY) -- the embedded store's outage.
// PostgreSQL: the test server is stopped and started again (scripts/pg-server down/up, the
// server of $TT_PG_DIR), so connections are refused and dropped.

import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO, waitFor } from './daemon.mjs';

export class Outage {
  #locker = null;
  #active = false;

  constructor(d) {
    this.d = d;
  }

  get sqlite() {
    return this.d.store.startsWith('sqlite:');
  }

  async begin() {
    this.#active = true;
    if (this.sqlite) {
      const locker = spawn('sqlite3', [this.d.store.slice(7)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      locker.stdout.on('data', (s) => { out += s; });
      locker.stdin.write('.timeout 10000\nBEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
      await waitFor('the exclusive lock', () => out.includes('locked'));
      this.#locker = locker;
      return;
    }
    pgServer('down');
  }

  // Gives the store back; a no-op when it is not away.
  async end() {
    if (!this.#active) {
      return;
    }
    this.#active = false;
    if (this.sqlite) {
      const locker = this.#locker;
      this.#locker = null;
      locker.stdin.end('COMMIT;\n.quit\n');
      await new Promise((resolve) => locker.once('exit', resolve));
      return;
    }
    pgServer('up');
  }
}

function pgServer(verb) {
  const dir = process.env.TT_PG_DIR;
  if (!dir) {
    throw new Error('a PostgreSQL outage needs TT_PG_DIR (run under scripts/with-pg)');
  }
  const r = spawnSync(path.join(REPO, 'scripts', 'pg-server'), [verb, dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`pg-server ${verb}: ${r.stderr}`);
  }
}
