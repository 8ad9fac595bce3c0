// docs.test.mjs -- the examples of README.md and docs/OPERATIONS.md run as written, so the docs
// cannot drift from the program (issue 15). A fenced block preceded by the line `<!-- run -->`
// is run against a real daemon: `sh` blocks with bash (`set -eo pipefail`), `js` blocks as an
// ES module with node, beside the repository's node_modules. What the runner changes, and only
// that: the daemon's real address for `localhost:8080` / `127.0.0.1:8080`, this build's binary
// for `./build/telltale` and `telltale` on PATH, TELLTALE_URL set to the daemon. A comment line
// in an sh block that shows output (`# {...}`, `# accepted ...`, `# exit N`, `# N`) must appear
// in what the block printed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { BIN, Daemon, REPO, test } from '../integration/lib/daemon.mjs';

// [{file, line, lang, code}] for every block marked to run.
export function runnableBlocks(file) {
  const lines = readFileSync(path.join(REPO, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '<!-- run -->') {
      continue;
    }
    const open = /^```(\w+)/.exec(lines[i + 1] ?? '');
    assert.ok(open, `${file}:${i + 1}: <!-- run --> is not followed by a fenced block`);
    const end = lines.indexOf('```', i + 2);
    assert.ok(end > i, `${file}:${i + 2}: the block is not closed`);
    blocks.push({ file, line: i + 2, lang: open[1], code: lines.slice(i + 2, end).join('\n') });
  }
  return blocks;
}

// The output a block promises in its comments.
function promisedOutput(code) {
  return code.split('\n').map((l) => l.trim())
    .filter((l) => /^# (\{|accepted |exit \d|\d+$)/.test(l)).map((l) => l.slice(2));
}

let d;
let dir;
before(async () => {
  d = await Daemon.start({ label: 'docs' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'telltale-docs-'));
  symlinkSync(BIN, path.join(dir, 'telltale'));
});
after(async () => {
  await d?.cleanup();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
  }
});

function localize(code) {
  return code.replaceAll('localhost:8080', `${d.host}:${d.port}`)
    .replaceAll('127.0.0.1:8080', `${d.host}:${d.port}`)
    .replaceAll('./build/telltale', BIN);
}

function runBlock(b) {
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, TELLTALE_URL: d.base };
  if (b.lang === 'sh') {
    return spawnSync('bash', ['-c', `set -eo pipefail\n${localize(b.code)}`],
                     { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  }
  const file = path.join(REPO, 'tests', 'docs', `.run-${process.pid}-${b.line}.mjs`);
  writeFileSync(file, localize(b.code));
  try {
    return spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  } finally {
    rmSync(file, { force: true });
  }
}

for (const file of ['README.md', 'docs/OPERATIONS.md']) {
  describe(file, () => {
    const blocks = runnableBlocks(file);
    test(`${file} marks its runnable examples`, () => {
      assert.ok(blocks.length >= 1, `no <!-- run --> block in ${file}`);
    });
    for (const b of blocks) {
      test(`${file}:${b.line} (${b.lang}) runs as written`, () => {
        assert.ok(['sh', 'js'].includes(b.lang), `${file}:${b.line}: cannot run a ${b.lang} block`);
        const r = runBlock(b);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.equal(r.status, 0, `${file}:${b.line} exited ${r.status}:\n${out}`);
        for (const want of promisedOutput(b.code)) {
          // curl -s ends its JSON without a newline: a JSON line is found anywhere in the output.
          const seen = want.startsWith('{') ? r.stdout.includes(want)
                                            : r.stdout.split('\n').some((l) => l.trim() === want);
          assert.ok(seen,
                    `${file}:${b.line} promises the line ${JSON.stringify(want)}; it printed:\n${out}`);
        }
      });
    }
  });
}

// What a fresh clone needs, as README says it (the fresh-user trial): `make build` alone does not
// run scripts/setup, and the supabase-js example names the Node its pinned release declares.
test('README says make build needs scripts/setup once, and which Node the pinned supabase-js declares', () => {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const make = readFileSync(path.join(REPO, 'Makefile'), 'utf8');
  if (!/^build:.*\bsetup\b/m.test(make)) {
    assert.match(readme, /`make\s+build`[^.]*\.?[^.]*run `scripts\/setup` once/, 'README: make build needs scripts/setup');
  }
  const pinned = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).devDependencies?.['@supabase/supabase-js'] ??
    JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).dependencies['@supabase/supabase-js'];
  const engines = JSON.parse(readFileSync(path.join(REPO, 'node_modules', '@supabase', 'supabase-js', 'package.json'), 'utf8')).engines.node;
  const major = /(\d+)/.exec(engines)[1];
  const example = readme.slice(readme.indexOf('// npm install @supabase/supabase-js'), readme.indexOf("import { createClient }"));
  assert.ok(example.includes(`supabase-js ${pinned}`), `the example names the pinned ${pinned}: ${example}`);
  assert.ok(example.includes(`Node ${major} or later`), `the example says Node ${major} or later (engines ${engines})`);
  assert.doesNotMatch(readme, /Node 18/, 'no Node 18 claim');
});
