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
  ['bench/peers/ingest.mjs', ['--bin-before', '/nonexistent/telltale'], /not an executable file/],
  ['bench/peers/ingest.mjs', ['--bacth', '10'], /unknown option --bacth \(known: --events .* --help\)/],
  ['bench/fanout/run.mjs', ['--rates', '100,abc'], /--rates takes an integer .* not 'abc'/],
  ['bench/fanout/run.mjs', ['--paths', 'ws,zz'], /--paths is one of .* not 'zz'/],
  ['bench/fanout/cost.mjs', ['--bin', '/nonexistent/telltale'], /not an executable file/],
  ['bench/realtime/run.mjs', ['--rate', 'abc'], /--rate takes an integer/],
  ['bench/realtime/run.mjs', ['--vsn', '3.0.0'], /--vsn is one of 1\.0\.0, 2\.0\.0/],
  ['bench/otlp/run.mjs', ['--spans', '0'], /--spans takes an integer from 1/],
  ['bench/sqlite/pages.mjs', ['--variants', 'foo'], /--variants is one of .* not 'foo'/],
  ['bench/console/first-event.mjs', ['--rounds', '0'], /--rounds takes an integer from 1/],
  ['bench/console/render.mjs', ['frames', '--rate', 'abc'], /--rate takes an integer/],
  ['bench/flags/run.mjs', ['--foo', '1'], /unknown option --foo \(known: --flags --seconds --concurrency --flips --help\)/],
  ['bench/edge/trial.mjs', ['--foo', '1'], /unknown option --foo/],
  // A missing value is said so, not "unknown".
  ['bench/peers/ingest.mjs', ['--rounds'], /^--rounds needs a value/],
  ['bench/peers/ingest.mjs', ['--events', '--batch', '10'], /^--events needs a value/],
  ['bench/flags/run.mjs', ['--flips'], /^--flips needs a value/],
  // An option given twice: no silent last-one-wins.
  ['bench/peers/ingest.mjs', ['--events', '2000', '--events', '3000'], /^--events is given twice/],
  ['bench/otlp/run.mjs', ['--spans=10', '--spans', '20'], /^--spans is given twice/],
  // A directory or a plain file is not a binary: refused before a spawn (EACCES) or a hang.
  ['bench/peers/ingest.mjs', ['--bin', '/tmp'], /--bin \/tmp: not an executable file \(build one: make build\)/],
  ['bench/peers/ingest.mjs', ['--bin-before', '/tmp'], /--bin-before \/tmp: not an executable file/],
  ['bench/fanout/cost.mjs', ['--bin', '/tmp'], /--bin \/tmp: not an executable file/],
  ['bench/fanout/cost.mjs', ['--bin', 'Makefile'], /--bin Makefile: not an executable file/],
  // Options that would silently do nothing: refused, with why.
  ['bench/peers/ingest.mjs', ['--probe', 'post'], /--probe needs --probe-gap-ms/],
  ['bench/peers/ingest.mjs', ['--probe-gap-ms', '0'], /--probe-gap-ms takes an integer from 1 to 60000, not '0'/],
  ['bench/peers/ingest.mjs', ['--peers', ''], /--peers takes a comma-separated list, not ''/],
  ['bench/peers/ingest.mjs', ['--influx-session', 'field', '--peers', 'sqlite'], /--influx-session needs influx in --peers/],
  ['bench/fanout/run.mjs', ['--rates', ''], /--rates takes a comma-separated list/],
  ['bench/fanout/run.mjs', ['--paths', ','], /--paths takes a comma-separated list/],
  ['bench/sqlite/pages.mjs', ['--sessions', ''], /--sessions takes a comma-separated list/],
  ['bench/sqlite/pages.mjs', ['--commits', '0'], /--commits takes an integer from 1/],
  ['bench/sqlite/pages.mjs', ['--slice', '500'], /--slice needs --variants with sliced/],
  ['bench/sqlite/pages.mjs', ['--batch', '10', '--variants', 'before'], /--batch needs --variants with after or sliced/],
  ['bench/console/render.mjs', ['memory', '--seconds', '5'], /unknown option --seconds \(known: --minutes --rate --help\)/],
  ['bench/console/render.mjs', ['frames', '--minutes', '3'], /unknown option --minutes/],
  ['bench/console/render.mjs', ['frames', '--modes', 'dual,x'], /--modes is one of legacy, realtime, dual, not 'x'/],
  ['bench/console/render.mjs', ['sideways'], /the first argument is frames or memory, not 'sideways'/],
  ['bench/flags/run.mjs', ['--flips', '0'], /--flips takes an integer from 1/],
];

for (const [script, args, message] of REFUSED) {
  test(`${script} ${args.join(' ')}: exit 2, said why`, () => {
    const { code, out } = run(process.execPath, [script, ...args]);
    assert.equal(code, 2, out);
    assert.match(out, message);
    assert.doesNotMatch(out, /\n\s+at /, 'a stack trace instead of a message');
  });
}

// --help (-h): the usage made from the spec -- each option, what it takes, its default -- on
// stdout, exit 0, nothing run.
const HELP = [
  ['bench/otlp/run.mjs', ['--help'], [/--spans +an integer from 1 to 10000000; default 20000/]],
  ['bench/sqlite/pages.mjs', ['-h'], [/--variants +some of before, percommit, after, sliced, none, comma-separated; default before,percommit,after,none/]],
  ['bench/peers/ingest.mjs', ['--events', '5', '--help'], [/--events +an integer from 1 to 100000000; default 1000000/,
    /--probe-gap-ms +an integer from 1 to 60000; default not set/, /--probe +one of post, health; default post \(needs --probe-gap-ms\)/,
    /--bin +an executable file; default \S+build\/telltale/]],
  ['bench/realtime/run.mjs', ['--help'], [/--vsn +one of 1\.0\.0, 2\.0\.0; default 2\.0\.0/]],
  ['bench/fanout/cost.mjs', ['--help'], [/--bin +an executable file, may repeat; default \S+build\/telltale/]],
  ['bench/fanout/run.mjs', ['--help'], [/--rates +integers from 1 to 1000000, comma-separated; default 100,200,400,800,1200,1600/]],
  ['bench/console/first-event.mjs', ['--help'], [/--rounds +an integer from 1 to 100; default 5/]],
  ['bench/console/render.mjs', ['--help'], [/render\.mjs frames \[options\]/, /render\.mjs memory \[options\]/, /--minutes +an integer from 1 to 1440; default 10/]],
  ['bench/console/render.mjs', ['frames', '-h'], [/--modes +some of legacy, realtime, dual, comma-separated; default legacy,realtime,dual/]],
  ['bench/flags/run.mjs', ['--help'], [/--flips +an integer from 1 to 100000; default 100/]],
  ['bench/edge/trial.mjs', ['--help'], [/^usage: node bench\/edge\/trial\.mjs\n/]],
];

for (const [script, args, lines] of HELP) {
  test(`${script} ${args.join(' ')}: the usage, exit 0`, () => {
    const r = spawnSync(process.execPath, [script, ...args], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: node ${script.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /\n\S.*\n/, 'a line saying what the bench measures');
    for (const line of lines) assert.match(r.stdout, line);
    assert.equal(r.stderr, '', 'nothing started');
  });
}

// A daemon that fails to start ends the wait at once (it waited 120 s, or for ever when the
// spawn itself failed): /bin/false exits at once under callgrind.
test('bench/fanout/cost.mjs --bin /bin/false: exit 1 at once, said why', () => {
  const { code, out } = run(process.execPath, ['bench/fanout/cost.mjs', '--bin', '/bin/false', '--events', '1']);
  assert.equal(code, 1, out);
  assert.match(out, /waiting for the daemon to listen: (exited|spawn valgrind ENOENT)/);
  assert.doesNotMatch(out, /\n\s+at /, 'a stack trace instead of a message');
});

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
