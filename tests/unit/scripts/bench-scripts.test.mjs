// bench-scripts.test.mjs -- the helper scripts (scripts/with-pg, scripts/pg-server, bench/cost.sh)
// and the C benches' command lines: --help prints the usage and exits 0; a bad option, value or
// environment variable is refused before anything starts, exit 2 and a message naming it; a
// signal to with-pg reaches its command. The rows of a fresh-user trial where they instead ran
// '--help' as a command, started a server on a typo, ran the full benchmark or left a process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const WITH_PG = join(REPO, 'scripts', 'with-pg');
const PG_SERVER = join(REPO, 'scripts', 'pg-server');
const COST = join(REPO, 'bench', 'cost.sh');
const BUILD = join(REPO, 'build');
const TMP = mkdtempSync(join(tmpdir(), 'bench-scripts-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const A_FILE = join(TMP, 'a-file'); // exists, and is not a directory
writeFileSync(A_FILE, 'not a database\n');

function run(cmd, args, env = {}, timeout = 20_000) {
  const r = spawnSync(cmd, args, {
    cwd: REPO, encoding: 'utf8', timeout, env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// A postgres still running on the instance in 'dir'.
function postgresOf(dir) {
  return spawnSync('pgrep', ['-f', `postgres -D ${dir}/data`], { encoding: 'utf8' }).stdout.trim();
}

// ---- scripts/with-pg ----

test('with-pg --help prints what it gives the command and exits 0', () => {
  const { code, stdout, out } = run(WITH_PG, ['--help']);
  assert.equal(code, 0, out);
  assert.match(stdout, /^usage: scripts\/with-pg COMMAND/);
  for (const word of ['TT_PG_URL', 'TT_PG_DIR', 'TT_PG_PORT', 'TT_PG_DURABLE=1', 'fsync']) {
    assert.ok(stdout.includes(word), `usage without ${word}: ${stdout}`);
  }
});

test('with-pg without a command: usage on stderr, exit 2', () => {
  const { code, stdout, stderr } = run(WITH_PG, []);
  assert.equal(code, 2, stderr);
  assert.equal(stdout, '');
  assert.match(stderr, /usage: scripts\/with-pg COMMAND/);
});

for (const value of ['no', 'yes', 'true', '2', ' 1']) {
  test(`with-pg with TT_PG_DURABLE='${value}': refused before PostgreSQL starts, exit 2`, () => {
    const { code, out } = run(WITH_PG, ['sh', '-c', 'echo command ran'], { TT_PG_DURABLE: value });
    assert.equal(code, 2, out);
    assert.match(out, /TT_PG_DURABLE is 1 \(fsync on\) or 0, empty or unset \(fsync off\)/);
    assert.doesNotMatch(out, /command ran/);
  });
}

for (const [value, fsync] of [['', 'off'], ['0', 'off'], ['1', 'on']]) {
  test(`with-pg with TT_PG_DURABLE='${value}': fsync ${fsync}`, () => {
    const show = 'psql "$TT_PG_URL" -Atc "show fsync"';
    const { code, out } = run(WITH_PG, ['sh', '-c', show], { TT_PG_DURABLE: value }, 90_000);
    assert.equal(code, 0, out);
    assert.equal(out.trim(), fsync);
  });
}

// The command records its pid and the server's directory, then waits to be killed.
const WAITER = "require('fs').writeFileSync(process.argv[1], process.pid + ' ' + " +
  'process.env.TT_PG_DIR); setInterval(() => {}, 1000)';

for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]]) {
  test(`${signal} to with-pg reaches its command, then PostgreSQL stops: exit ${status}`,
    { timeout: 120_000 }, async () => {
      const record = join(TMP, `waiter-${signal}`);
      const withPg = spawn(WITH_PG, [process.execPath, '-e', WAITER, record],
        { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((resolve) => withPg.on('exit', (code, sig) => resolve({ code, sig })));
      let pid = 0, dir = '';
      try {
        while (!existsSync(record) || readFileSync(record, 'utf8') === '') {
          assert.equal(withPg.exitCode, null, 'with-pg exited before its command started');
          await sleep(100);
        }
        [pid, dir] = readFileSync(record, 'utf8').split(' ');
        pid = Number(pid);
        withPg.kill(signal);
        const guard = sleep(60_000).then(() => 'hung');
        const result = await Promise.race([exited, guard]);
        assert.notEqual(result, 'hung', `with-pg did not exit after ${signal}`);
        assert.deepEqual(result, { code: status, sig: null });
        assert.ok(!alive(pid), `its command (pid ${pid}) still runs`);
        assert.ok(dir.startsWith('/tmp/telltale-pg.'), dir);
        assert.ok(!existsSync(dir), `${dir} not removed`);
        assert.equal(postgresOf(dir), '', `a postgres of ${dir} still runs`);
      } finally {
        if (withPg.exitCode === null && withPg.signalCode === null) withPg.kill('SIGKILL');
        if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
        if (dir && existsSync(dir)) run(PG_SERVER, ['stop', dir]);
      }
    });
}

// ---- scripts/pg-server ----

test('pg-server --help prints its usage, with start --fast (fsync off), and exits 0', () => {
  const { code, stdout, out } = run(PG_SERVER, ['--help']);
  assert.equal(code, 0, out);
  assert.match(stdout, /^usage: scripts\/pg-server start \[--fast\]/);
  assert.match(stdout, /--fast: fsync off/);
  for (const cmd of ['stop DIR', 'down DIR', 'up DIR']) assert.ok(stdout.includes(cmd), stdout);
});

for (const args of [['start', '--bogus'], ['start', '--fast', 'x'], ['start', 'fast']]) {
  test(`pg-server ${args.join(' ')}: refused, nothing started, exit 2`, () => {
    const { code, stdout, out } = run(PG_SERVER, args, {}, 90_000);
    const started = /TT_PG_DIR=(\S+)/.exec(stdout);
    if (started) run(PG_SERVER, ['stop', started[1]]);
    assert.equal(code, 2, out);
    assert.equal(started, null, 'a server was started');
    assert.match(out, /pg-server: start takes only --fast, not '/);
    assert.match(out, /usage: scripts\/pg-server /);
  });
}

for (const args of [['stop'], ['up'], ['down'], ['stop', '/tmp/telltale-pg.a', 'b']]) {
  test(`pg-server ${args.join(' ')}: a usage error, exit 2`, () => {
    const { code, out } = run(PG_SERVER, args);
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^pg-server: ${args[0]} takes one DIR`));
    assert.match(out, /usage: scripts\/pg-server /);
    assert.doesNotMatch(out, /line \d+/);
  });
}

test('pg-server without a command or with an unknown one: exit 2', () => {
  for (const args of [[], ['begin']]) {
    const { code, out } = run(PG_SERVER, args);
    assert.equal(code, 2, out);
    assert.match(out, /usage: scripts\/pg-server /);
  }
});

// ---- bench/cost.sh ----

// BUILD without a bench_ingest: a cost.sh that let the value through stops there, not in a run.
const NO_BUILD = join(TMP, 'no-build');

test('bench/cost.sh --help prints its usage, N and STORE with what they take, and exits 0', () => {
  const { code, stdout, out } = run(COST, ['--help']);
  assert.equal(code, 0, out);
  assert.match(stdout, /^usage: .*bench\/cost\.sh \[BIN \.\.\.\]/);
  assert.match(stdout, /N +events .* from 1 to 10000000/);
  assert.match(stdout, /STORE +a postgres:\/\/ URL.*empty or unset: SQLite/);
});

for (const n of ['0', 'abc', '-5', '1e5', '20000000']) {
  test(`bench/cost.sh with N=${n}: refused by cost.sh, exit 2`, () => {
    const { code, out } = run(COST, [], { N: n, STORE: '', BUILD: NO_BUILD });
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^cost\\.sh: N is an integer from 1 to 10000000, not '${n}'`));
    assert.doesNotMatch(out, /--events/);
  });
}

for (const store of ['bogus', 'mysql://localhost/x', 'sqlite:/x.db']) {
  test(`bench/cost.sh with STORE=${store}: refused by cost.sh, exit 2`, () => {
    const { code, out } = run(COST, [], { N: '1000', STORE: store, BUILD: NO_BUILD });
    assert.equal(code, 2, out);
    assert.ok(out.startsWith(
      `cost.sh: STORE is a postgres:// URL (empty or unset: SQLite), not '${store}'`), out);
    assert.doesNotMatch(out, /--store/);
  });
}

for (const [args, message] of [
  [['/tmp'], /^cost\.sh: \/tmp: not an executable file/],
  [['/nonexistent/telltale'], /^cost\.sh: \/nonexistent\/telltale: not an executable file/],
  [['--bogus'], /^cost\.sh: unknown option --bogus/],
]) {
  test(`bench/cost.sh ${args.join(' ')}: refused up front, exit 2`, () => {
    const { code, out } = run(COST, args, { N: '1000', STORE: '', BUILD: NO_BUILD });
    assert.equal(code, 2, out);
    assert.match(out, message);
    assert.doesNotMatch(out, /did not report its port/);
  });
}

// ---- the C benches ----

test('bench_ingest --bin DIRECTORY: not an executable file, exit 2', () => {
  const { code, out } = run(join(BUILD, 'bench_ingest'), ['--events', '100', '--bin', TMP]);
  assert.equal(code, 2, out);
  assert.match(out, new RegExp(`^bench_ingest: --bin ${TMP}: not an executable file`));
  assert.match(out, /usage: bench_ingest /);
});

// Small sizes and a directory of the test's own first: a binary that ignores the option under
// test runs a short bench there instead of the full one in /tmp.
const SMALL = ['--events', '2000', '--sessions', '10', '--dir', TMP];

test('bench_sessions --help prints its usage, every option, and runs nothing', () => {
  const { code, stdout, out } = run(join(BUILD, 'bench_sessions'), [...SMALL, '--rounds', '1', '--help']);
  assert.equal(code, 0, out);
  assert.match(stdout, /^usage: bench_sessions /);
  for (const opt of ['--events', '--sessions', '--rounds', '--dir', '--store']) {
    assert.ok(stdout.includes(opt), `usage without ${opt}: ${stdout}`);
  }
  assert.doesNotMatch(out, /load \(/);
});

for (const [args, message] of [
  [['--bogus', '1'], /unknown option --bogus/],
  [['--rounds', '1', '--verbose'], /unknown option --verbose/],
  [['--rounds'], /--rounds needs a value/],
  [['--rounds', 'abc'], /--rounds takes an integer from 1 to 100, not 'abc'/],
  [['--rounds', '101'], /--rounds takes an integer from 1 to 100, not '101'/],
  [['--events', '1e5'], /--events takes an integer from 1 to 100000000, not '1e5'/],
  [['--sessions', '2000'], /--sessions takes at most half of --events \(1000\), not 2000/],
  [['--dir', '/nonexistent'], /--dir \/nonexistent: not a directory/],
  [['--store', 'mysql://localhost/x'], /--store takes a postgres:\/\/ URL or sqlite:PATH, not 'mysql/],
  [['--store', 'sqlite:'], /--store takes a postgres:\/\/ URL or sqlite:PATH, not 'sqlite:'/],
  [['--store', `sqlite:${A_FILE}`], /--store sqlite:.*a-file: the file exists; give a new one/],
]) {
  test(`bench_sessions ${args.join(' ')}: exit 2, said why`, () => {
    const { code, out } = run(join(BUILD, 'bench_sessions'), [...SMALL, ...args]);
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^bench_sessions: ${message.source}`));
    assert.match(out, /usage: bench_sessions /);
  });
}

test('bench_sessions --store sqlite:PATH runs on that new SQLite file, as the default does', () => {
  const db = join(TMP, 'sessions.db');
  const { code, out } = run(join(BUILD, 'bench_sessions'),
    [...SMALL, '--rounds', '1', '--store', `sqlite:${db}`], {}, 60_000);
  assert.equal(code, 0, out);
  assert.match(out, /^bench_sessions: sqlite, 2000 events in 10 sessions/);
  assert.match(out, /ratio scan \/ rollups: /);
  assert.ok(existsSync(db), 'the named file is kept');
});

test('bench_index_slices --help prints its usage and runs nothing', () => {
  const { code, stdout, out } = run(join(BUILD, 'bench_index_slices'),
    ['--events', '2000', '--dir', TMP, '--help']);
  assert.equal(code, 0, out);
  assert.match(stdout, /^usage: bench_index_slices \[--events N\] \[--sessions N\] \[--commit N\] \[--dir PATH\]/);
  assert.doesNotMatch(out, /commits of/);
});

for (const [args, message] of [
  [['--bogus', '1'], /unknown option --bogus/],
  [['--commit'], /--commit needs a value/],
  [['--commit', '0'], /--commit takes an integer from 1 to 1000000, not '0'/],
  [['--sessions', 'abc'], /--sessions takes an integer from 1 to 100000000, not 'abc'/],
  [['--dir', A_FILE], /--dir .*a-file: not a directory/],
]) {
  test(`bench_index_slices ${args.join(' ')}: exit 2, said why`, () => {
    const { code, out } = run(join(BUILD, 'bench_index_slices'),
      ['--events', '2000', '--dir', TMP, ...args]);
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^bench_index_slices: ${message.source}`));
    assert.match(out, /usage: bench_index_slices /);
  });
}
