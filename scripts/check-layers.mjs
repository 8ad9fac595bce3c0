#!/usr/bin/env node
// check-layers.mjs -- reads the #include "..." graph of src/ and fails, naming each fault, when
//   1. an include points the wrong way between areas (docs/ARCHITECTURE.md, "Layers"): a file
//      may include headers of its own area and of the areas below it, never above or beside;
//   2. two .c files use each other, directly or round a longer cycle: each names a function the
//      other defines (a tangle, whatever headers declare them);
//   3. a file is longer than MAX_LINES: a module that big holds more than one idea.
//
//   node scripts/check-layers.mjs [src]      exit 0: clean; 1: faults, one per line; 2: usage
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, basename, extname } from 'node:path';

// Lowest first. Areas on one rank are siblings: neither may include the other.
const RANKS = [
  ['os'], // system calls: clock, randomness, logging, sd_notify
  ['core'], // pure logic: no I/O, no threads
  ['otlp'], // OTLP decoded and mapped to events: pure, like core
  ['store'], // the store interface and its engines
  ['pipeline'], // the ingest gateway, queue, persister, spool, shipper
  ['http'], // the listener: knows no resource
  ['rest'], // the PostgREST subset
  ['live'], // the live streams: /ws and Realtime (render rows as rest does)
  ['api'], // /api/v1 (reports on the live streams)
  ['server'], // the composition of the front
  ['cli'], // subcommands
  ['.'], // main.c
];

// File cycles known to remain, keyed by their files (sorted, space-separated), each with why
// it is still there. The check fails on any other cycle, and on an entry that no longer
// exists.
const KNOWN_CYCLES = new Map([]);

const MAX_LINES = 600;

const root = process.argv[2] ?? 'src';
if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
  console.error(`usage: check-layers.mjs [SRC_DIR] (no directory '${root}')`);
  process.exit(2);
}

function* walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (/\.[ch]$/.test(name)) yield relative(root, p);
  }
}

const files = [...walk(root)];
const rankOf = new Map(RANKS.flatMap((areas, i) => areas.map((a) => [a, i])));
const areaOf = (file) => (dirname(file) === '.' ? '.' : dirname(file).split('/')[0]);

// The functions each .c file defines for others: a definition starts at column 0, is not
// static, and its body's brace opens a line of its own (the project's format).
const defined = new Map();
const texts = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
for (const f of files.filter((f) => f.endsWith('.c'))) {
  const src = texts.get(f).replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of src.matchAll(/^(?!static\b)[A-Za-z_][\w \t*]*?\b(\w+)\([^;{]*\)\s*\n\{/gm)) {
    if (!defined.has(m[1])) defined.set(m[1], f);
  }
}
const includes = new Map(
  files.map((f) => [
    f,
    [...texts.get(f).matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)]
      .map((m) => m[1])
      .filter((h) => files.includes(h)),
  ]),
);

const faults = [];

// 1. Wrong-way arrows.
for (const [file, hs] of includes) {
  const from = areaOf(file);
  if (!rankOf.has(from)) {
    faults.push(`${file}: area '${from}' has no place in the layers (scripts/check-layers.mjs)`);
    continue;
  }
  for (const h of hs) {
    const to = areaOf(h);
    if (to === from) continue;
    if (!rankOf.has(to)) continue; // reported for its own files
    if (rankOf.get(to) >= rankOf.get(from)) {
      const how = rankOf.get(to) === rankOf.get(from) ? 'beside' : 'above';
      faults.push(`${file} includes ${h}: '${to}' is ${how} '${from}' (wrong-way arrow)`);
    }
  }
}

// 2. Cycles between files: a .c file uses another when it names a function the other defines
// (a call, or the function handed over as a callback). A dependency one way is a layer; both
// ways is a tangle. (Registering a callback through a table or a struct from above, as the
// areas do with http, is how a lower file calls up without naming anything above it.)
const edges = new Map();
for (const f of files.filter((f) => f.endsWith('.c'))) {
  const src = texts.get(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
  const used = new Set();
  for (const name of new Set(src.match(/\b[a-z_][a-z0-9_]*\b/g) ?? [])) {
    const owner = defined.get(name);
    if (owner !== undefined && owner !== f) used.add(owner);
  }
  edges.set(f, used);
}

function cycles() {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), found = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index++); stack.push(v); on.add(v);
    for (const w of [...edges.get(v)].sort()) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

// One cycle through the component, from its first file: the shortest way back (breadth-first).
function oneCycle(scc) {
  const inScc = new Set(scc), start = scc[0], prev = new Map([[start, null]]), queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of [...edges.get(v)].sort()) {
      if (!inScc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)) path.splice(1, 0, u);
        return [...path, start].join(' -> ');
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
  }
  return scc.join(', ');
}

const seen = new Set();
for (const scc of cycles()) {
  const key = scc.join(' ');
  seen.add(key);
  if (!KNOWN_CYCLES.has(key)) {
    faults.push(`cycle among ${scc.join(', ')}: ${oneCycle(scc)}`);
  }
}
for (const c of KNOWN_CYCLES.keys()) {
  if (!seen.has(c)) faults.push(`KNOWN_CYCLES lists '${c}', which no longer exists: remove it`);
}

// 3. File size.
for (const [file, text] of texts) {
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) faults.push(`${file}: ${lines} lines (at most ${MAX_LINES}: split it by concept)`);
}

if (faults.length > 0) {
  for (const f of faults) console.error(`layers: ${f}`);
  console.error(`layers: ${faults.length} fault(s) in ${files.length} files`);
  process.exit(1);
}
console.log(`layers: ${files.length} files: every include points down, no file cycle, none over ${MAX_LINES} lines` +
  (KNOWN_CYCLES.size ? ` (${KNOWN_CYCLES.size} known, listed in scripts/check-layers.mjs)` : ''));
