#!/usr/bin/env node
// check-error-codes.mjs -- every error code the daemon can emit is in docs/DESIGN.md's error
// code tables, and every code those tables list is emitted by some source.
//
//   node scripts/check-error-codes.mjs [ROOT]     (ROOT: the repository, default this one)
//
// Exit 0 when both hold; else 1, naming each code missing from DESIGN (with the files that
// emit it) and each listed code no source emits.
//
// The codes are telltale's own, in {"error":{"code","message"}} on HTTP and /ws: lower-case
// snake_case literals in the C sources under src/ (src/cli/ is the client and emits none).
// /rest/v1's PostgREST codes (PGRST102, 23505) and OFREP's (FLAG_NOT_FOUND) are other
// vocabularies, upper case or digits, and are not read. A literal counts as a code where the
// sources pass one (each way is below; a new way of passing codes is added here):
//   - the argument named 'code' of any function declared with a 'const char *code' parameter
//     (http_respond_error, api_call_error, send_error, body_error, fail, refuse, ...), at calls
//     in the same file for a static function, anywhere for the others;
//   - what is assigned to a variable or member named code (code = ..., .code = ...,
//     e->code = ..., *code = ...), every literal of the expression (a ternary gives two);
//   - the second member of a positional (http_error){status, code, ...};
//   - a literal right after a 4xx or 5xx status in a list ({"text", 413, "body_too_large"}).
// DESIGN's tables are those whose header row is "| status | code | when |"; a row's codes are
// the backquoted names in its second column.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

// The text with comments blanked out; strings and character literals kept as they are.
function stripComments(src) {
  let out = '';
  for (let i = 0; i < src.length;) {
    const c = src[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        j += src[j] === '\\' ? 2 : 1;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      const j = end < 0 ? src.length : end + 2;
      out += src.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
    } else if (src.startsWith('//', i)) {
      const end = src.indexOf('\n', i);
      i = end < 0 ? src.length : end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// The top-level items of a list starting after the opening bracket at 'open' (a '(' or '{'),
// split at commas outside brackets and strings; 'stop' also ends an item list (';').
function items(text, open, stop = '') {
  const out = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i += text[i] === '\\' ? 2 : 1);
    } else if ('({['.includes(c)) {
      depth++;
    } else if (')}]'.includes(c) && depth-- === 0) {
      out.push(text.slice(start, i));
      return out;
    } else if ((c === ',' && depth === 0) || (stop.includes(c) && depth === 0)) {
      out.push(text.slice(start, i));
      if (c !== ',') {
        return out;
      }
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

// The code-like literals of an expression, leaving out those it only compares with
// (strcmp(he->code, "unauthorized") ? "PGRST301" : ...).
const literals = (expr) => [...expr.replace(/\bstrn?(?:case)?cmp\s*\([^()]*\)/g, '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).filter((s) => CODE.test(s));

// Functions with a 'const char *code' parameter: name -> [{file, pos, isStatic}].
const CODE_TAKER =
  /(\bstatic\s+)?[\w\s*]*?\b([a-z_][a-z0-9_]*)\s*\(([^()]*\bconst\s+char\s*\*\s*code\s*(?=[,)])[^()]*)\)/g;
function codeTakers(files) {
  const takers = new Map();
  for (const [file, text] of files) {
    for (const m of text.matchAll(CODE_TAKER)) {
      const params = items(`(${m[3]})`, 0);
      const pos = params.findIndex((p) => /\bconst\s+char\s*\*\s*code\s*$/.test(p.trim()));
      const list = takers.get(m[2]) ?? [];
      list.push({ file, pos, isStatic: Boolean(m[1]) });
      takers.set(m[2], list);
    }
  }
  return takers;
}

// Every code the sources under 'srcDir' emit: code -> Set of files.
export function emittedCodes(srcDir) {
  const files = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && !(d === srcDir && e.name === 'cli')) {
        walk(p);
      } else if (/\.[ch]$/.test(e.name)) {
        files.set(relative(dirname(srcDir), p), stripComments(readFileSync(p, 'utf8')));
      }
    }
  };
  walk(srcDir);
  const found = new Map();
  const add = (code, file) => found.set(code, (found.get(code) ?? new Set()).add(file));
  const takers = codeTakers(files);
  for (const [file, text] of files) {
    for (const [name, defs] of takers) {
      const def = defs.find((d) => d.file === file) ?? defs.find((d) => !d.isStatic);
      if (def === undefined || def.pos < 0) {
        continue;
      }
      for (const m of text.matchAll(new RegExp(`\\b${name}\\s*\\(`, 'g'))) {
        const arg = items(text, m.index + m[0].length - 1)[def.pos] ?? '';
        literals(arg).forEach((c) => add(c, file));
      }
    }
    for (const m of text.matchAll(/(?:\.|->|\*|\b)code\s*=(?!=)/g)) {
      literals(items(text, m.index + m[0].length - 1, ';')[0] ?? '').forEach((c) => add(c, file));
    }
    for (const m of text.matchAll(/\(http_error\)\s*\{/g)) {
      const [first, second = ''] = items(text, m.index + m[0].length - 1);
      if (!first.trim().startsWith('.')) {
        literals(second).forEach((c) => add(c, file));
      }
    }
    for (const m of text.matchAll(/\b[45]\d\d\s*,\s*"([^"\\]*)"/g)) {
      if (CODE.test(m[1])) {
        add(m[1], file);
      }
    }
  }
  return found;
}

// Every code DESIGN's error code tables list: code -> the row's status.
export function documentedCodes(designText) {
  const codes = new Map();
  const lines = designText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\|\s*status\s*\|\s*code\s*\|\s*when\s*\|/.test(lines[i])) {
      continue;
    }
    const rows = [];
    for (i += 2; i < lines.length && lines[i].trim() !== ''; i++) {
      if (lines[i].startsWith('|') || rows.length === 0) {
        rows.push(lines[i]);
      } else {
        rows[rows.length - 1] += `\n${lines[i]}`; /* a row wrapped onto the next line */
      }
    }
    for (const row of rows) {
      const cells = row.split('|');
      for (const m of (cells[2] ?? '').matchAll(/`([^`]+)`/g)) {
        codes.set(m[1], cells[1].trim());
      }
    }
  }
  return codes;
}

// The faults, one line each: codes emitted but not listed, codes listed but not emitted.
export function checkErrorCodes(root) {
  const emitted = emittedCodes(join(root, 'src'));
  const documented = documentedCodes(readFileSync(join(root, 'docs/DESIGN.md'), 'utf8'));
  const faults = [];
  for (const [code, files] of [...emitted].sort()) {
    if (!documented.has(code)) {
      faults.push(`${code}: emitted by ${[...files].sort().join(', ')}, not in DESIGN's error code tables`);
    }
  }
  for (const code of [...documented.keys()].sort()) {
    if (!emitted.has(code)) {
      faults.push(`${code}: listed in DESIGN's error code tables, emitted by no source`);
    }
  }
  return { emitted, documented, faults };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const { emitted, faults } = checkErrorCodes(root);
  for (const f of faults) {
    console.error(`error-codes: ${f}`);
  }
  if (faults.length > 0) {
    process.exit(1);
  }
  console.log(`error-codes: ${emitted.size} codes, each in DESIGN's tables, each emitted`);
}
