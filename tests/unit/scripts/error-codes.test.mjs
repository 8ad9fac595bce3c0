// error-codes.test.mjs -- every error code the daemon's C sources can emit is in docs/DESIGN.md's
// error code tables, and every code listed there is emitted (scripts/check-error-codes.mjs);
// and the check finds each way a source passes a code, so it can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkErrorCodes, documentedCodes } from '../../../scripts/check-error-codes.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = join(REPO, 'scripts/check-error-codes.mjs');

test('this tree: each code the sources emit is in DESIGN\'s tables, each listed code is emitted', () => {
  const { emitted, faults } = checkErrorCodes(REPO);
  assert.deepEqual(faults, [], `\n${faults.join('\n')}`);
  // The check reads the sources at all: codes passed each way are among those found.
  for (const code of ['invalid_percent_encoding', 'invalid_websocket_handshake', 'precondition_failed',
                      'body_too_large', 'unauthorized', 'field_too_long', 'unknown_message']) {
    assert.ok(emitted.has(code), code);
  }
});

const DESIGN = (codes) => `# DESIGN

| status | code | when |
|---|---|---|
${codes.map((c) => `| 400 | \`${c}\` | a reason that
  wraps onto a second line |`).join('\n')}

Text after the table: \`not_a_code\` is no row.
`;

const SOURCES = {
  'src/http/http.h': 'void http_respond_error(http_req *r, int status, const char *code, const char *message);\n',
  'src/api/a.c': `
static void refuse(int x, const char *why, const char *code) { (void)x; }
void f(http_req *r, bool b) {
    http_respond_error(r, b ? 400 : 503, b ? "by_call_ternary" : "by_call",
                       "a message_like_text is the message, not the code");
    refuse(1, "not_the_code_arg", "by_static_call");
    /* http_respond_error(r, 400, "in_a_comment", "x"); */
    if (strcmp(e->code, "only_compared") == 0) {}
    http_respond_error(r, 400, "UPPER_CASE", "other vocabularies are not read");
}`,
  'src/core/b.c': `
void g(ingest_error *err, http_error *e, const char **code) {
    err->code = "by_member";
    *code = x ? "by_pointer" : "by_pointer_else";
    *e = (http_error){.status = 408, .code = "by_designated", .message = "m"};
    *e = (http_error){status, status == 401 ? "by_positional" : "by_positional_else", msg};
}
static const struct { const char *text; int status; const char *code; } t[] = {
    {"libh2o text", 413, "by_table"},
};`,
  'src/cli/c.c': 'void h(void) { http_respond_error(r, 400, "client_side", "the CLI emits none"); }\n',
};
const EMITTED = ['by_call', 'by_call_ternary', 'by_designated', 'by_member', 'by_pointer', 'by_pointer_else',
                 'by_positional', 'by_positional_else', 'by_static_call', 'by_table'];

// Writes a tree of 'files' ({path: text}), runs 'fn' on its root, removes it.
function withTree(files, fn) {
  const root = mkdtempSync(join(tmpdir(), 'error-codes-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function run(root) {
  try {
    return { code: 0, out: execFileSync('node', [SCRIPT, root], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (e) {
    return { code: e.status, out: e.stderr + e.stdout };
  }
}

test('each way of passing a code is found; comments, comparisons, messages, the CLI are not', () => {
  withTree({ ...SOURCES, 'docs/DESIGN.md': DESIGN(EMITTED) }, (root) => {
    const { emitted, faults } = checkErrorCodes(root);
    assert.deepEqual([...emitted.keys()].sort(), EMITTED);
    assert.deepEqual(faults, []);
    assert.equal(run(root).code, 0);
  });
});

test('a code missing from DESIGN, and a listed code nobody emits, each fail naming it', () => {
  const listed = EMITTED.filter((c) => c !== 'by_table').concat('never_emitted');
  withTree({ ...SOURCES, 'docs/DESIGN.md': DESIGN(listed) }, (root) => {
    const { code, out } = run(root);
    assert.equal(code, 1, out);
    assert.match(out, /by_table: emitted by src\/core\/b\.c, not in DESIGN's error code tables/);
    assert.match(out, /never_emitted: listed in DESIGN's error code tables, emitted by no source/);
    assert.equal(out.trim().split('\n').length, 2, out);
  });
});

test('a table row\'s codes are the backquoted names of its code column, wrapped rows too', () => {
  const codes = documentedCodes(`| status | code | when |
|---|---|---|
| 400 | \`a_one\`, \`a_two\` | names \`not_this\` in the reason, and
a route with a | in it \`nor_this\` |
| 503 | \`b\` | x |

| status | code | when |
|---|---|---|
| 404 | \`c\` | y |
`);
  assert.deepEqual([...codes.keys()].sort(), ['a_one', 'a_two', 'b', 'c']);
});
