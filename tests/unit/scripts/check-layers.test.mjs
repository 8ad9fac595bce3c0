// check-layers.test.mjs -- scripts/check-layers.mjs fails, naming the fault, on each kind it
// checks (a wrong-way include, a cycle between .c files, a file too long), and passes a clean
// tree: the check in `make layers` can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../../scripts/check-layers.mjs');

// Runs the check on a tree made of 'files' ({path: text}); returns {code, out}.
function check(files) {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    try {
      const out = execFileSync('node', [SCRIPT, root], { encoding: 'utf8', stdio: 'pipe' });
      return { code: 0, out };
    } catch (e) {
      return { code: e.status, out: e.stderr + e.stdout };
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const fn = (name, body = '') => `int ${name}(void)\n{\n    ${body}return 0;\n}\n`;

test('a tree whose includes point down passes', () => {
  const r = check({
    'os/clock.h': 'int clock_now(void);\n',
    'os/clock.c': '#include "os/clock.h"\n' + fn('clock_now'),
    'core/event.c': '#include "os/clock.h"\n' + fn('event_new', 'clock_now(); '),
  });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /every include points down, no file cycle/);
});

test('an include from a lower area to a higher one is named', () => {
  const r = check({ 'core/a.h': '', 'os/x.c': '#include "core/a.h"\n' });
  assert.equal(r.code, 1);
  assert.match(r.out, /os\/x\.c includes core\/a\.h: 'core' is above 'os' \(wrong-way arrow\)/);
});

test('http including an area of the front is a wrong-way arrow', () => {
  const r = check({ 'api/api.h': '', 'http/http.c': '#include "api/api.h"\n' });
  assert.equal(r.code, 1);
  assert.match(r.out, /http\/http\.c includes api\/api\.h/);
});

test('two files that use each other are a cycle, named with its path', () => {
  const r = check({
    'live/a.c': fn('a_one', 'b_two(); '),
    'live/b.c': fn('b_two', 'a_one(); '),
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /cycle among live\/a\.c, live\/b\.c: live\/a\.c -> live\/b\.c -> live\/a\.c/);
});

test('a callback registered from above is not a cycle', () => {
  const r = check({
    'http/server.c': 'static int (*handler)(void);\n' + fn('server_run', 'handler(); '),
    'api/routes.c': fn('routes_add', 'server_run(); '),
  });
  assert.equal(r.code, 0, r.out);
});

test('a file over 600 lines is named', () => {
  const r = check({ 'core/big.c': '/* line */\n'.repeat(601) });
  assert.equal(r.code, 1);
  assert.match(r.out, /core\/big\.c: 601 lines \(at most 600/);
});

test('an area with no place in the layers is named', () => {
  const r = check({ 'misc/x.c': '' });
  assert.equal(r.code, 1);
  assert.match(r.out, /area 'misc' has no place in the layers/);
});
