// bench-options.test.mjs -- the benches refuse a bad option before anything starts: exit 2 and
// a message naming the option and what it takes (bench/lib/options.mjs for the Node benches,
// bench_ingest's own parser in C), the rows of a fresh-user trial where they instead ran on
// NaN, filled memory, printed a stack trace or ran the full default benchmark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

// Each refused in the option parser, before a daemon, a peer or a temporary directory exists.
const REFUSED = [
  ['bench/peers/ingest.mjs', ['--batch', '0'], /--batch takes an integer from 1 to 100000, not '0'/],
  ['bench/peers/ingest.mjs', ['--events', 'abc'], /--events takes an integer .* not 'abc'/],
  ['bench/peers/ingest.mjs', ['--events', '1e5'], /--events takes an integer .* not '1e5'/],
  ['bench/peers/ingest.mjs', ['--sessions', 'abc'], /--sessions takes an integer/],
  ['bench/peers/ingest.mjs', ['--rounds', '0'], /--rounds takes an integer from 1/],
  ['bench/peers/ingest.mjs', ['--connections', '0'], /--connections takes an integer from 1/],
  ['bench/peers/ingest.mjs', ['--ids', 'foo'], /--ids is one of supplied, server, not 'foo'/],
  ['bench/peers/ingest.mjs', ['--influx-session', 'x'], /--influx-session is one of tag, field/],
  ['bench/peers/ingest.mjs', ['--probe', 'x'], /--probe is one of post, health/],
  ['bench/peers/ingest.mjs', ['--peers', 'influx,mysql'], /--peers is one of .* not 'mysql'/],
  ['bench/peers/ingest.mjs', ['--bin-before', '/nonexistent/telltale'], /no such executable/],
  ['bench/peers/ingest.mjs', ['--bacth', '10'], /unknown or incomplete option --bacth/],
  ['bench/peers/ingest.mjs', ['--rounds'], /unknown or incomplete option --rounds/],
  ['bench/fanout/run.mjs', ['--rates', '100,abc'], /--rates takes an integer .* not 'abc'/],
  ['bench/fanout/run.mjs', ['--paths', 'ws,zz'], /--paths is one of .* not 'zz'/],
  ['bench/fanout/cost.mjs', ['--bin', '/nonexistent/telltale'], /no such executable/],
  ['bench/realtime/run.mjs', ['--rate', 'abc'], /--rate takes an integer/],
  ['bench/realtime/run.mjs', ['--vsn', '3.0.0'], /--vsn is one of 1\.0\.0, 2\.0\.0/],
  ['bench/otlp/run.mjs', ['--spans', '0'], /--spans takes an integer from 1/],
  ['bench/sqlite/pages.mjs', ['--variants', 'foo'], /--variants takes .* not 'foo'/],
  ['bench/console/first-event.mjs', ['--rounds', '0'], /--rounds takes an integer from 1/],
  ['bench/console/render.mjs', ['frames', '--rate', 'abc'], /--rate takes an integer/],
];

for (const [script, args, message] of REFUSED) {
  test(`${script} ${args.join(' ')}: exit 2, said why`, () => {
    const { code, out } = run(process.execPath, [script, ...args]);
    assert.equal(code, 2, out);
    assert.match(out, message);
    assert.doesNotMatch(out, /\n\s+at /, 'a stack trace instead of a message');
  });
}

const BENCH_INGEST = join(REPO, 'build', 'bench_ingest');

test('bench_ingest --help prints its usage and runs nothing', () => {
  const { code, out } = run(BENCH_INGEST, ['--help']);
  assert.equal(code, 0, out);
  assert.match(out, /^usage: bench_ingest /);
  assert.doesNotMatch(out, /events\/s/);
});

for (const [args, message] of [
  [['--events'], /--events needs a value/],
  [['--events', '1e5'], /--events takes an integer from 1 to 100000000, not '1e5'/],
  [['--batch', '0'], /--batch takes an integer from 1 to 100000, not '0'/],
  [['--rounds', '40'], /--rounds takes an integer from 1 to 32, not '40'/],
  [['--ts', 'now'], /--ts is fixed or live, not 'now'/],
  [['--store', 'sqlite:x'], /--store takes a postgres:\/\/ URL/],
  [['--bin', '/nonexistent/telltale'], /--bin \/nonexistent\/telltale: no such executable/],
  [['--foo', '1'], /unknown option --foo/],
]) {
  test(`bench_ingest ${args.join(' ')}: exit 2, said why`, () => {
    const { code, out } = run(BENCH_INGEST, args);
    assert.equal(code, 2, out);
    assert.match(out, message);
    assert.match(out, /usage: bench_ingest /);
  });
}
