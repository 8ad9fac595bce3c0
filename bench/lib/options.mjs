// options.mjs -- the benches' command-line options, every value checked before anything starts:
// a count out of its bounds, a value not in its list, an empty list, an unknown option, one
// without its value or given twice, an option that needs another one not given, or a binary
// that is not an executable file exits 2 with what is allowed, instead of a run on NaN, a
// silent default or a stack trace halfway through. --help (-h) prints the usage made from the
// spec and exits 0.
//
//   const o = parseOptions(process.argv.slice(2), SPEC, 'what the bench measures, one line');
//
// Options are --name value or --name=value.
//
// SPEC maps each option's camelCase name (--kebab-case on the command line) to its kind and
// default (def undefined or '': not set unless given):
//   { int: [min, max], def }        an integer within the bounds
//   { ints: [min, max], def }       a comma-separated list of them (an array; def a string)
//   { choice: [values], def }       one of the values
//   { choices: [values], def }      a comma-separated list of them (an array; def a string)
//   { text: true, def }             any string
//   { bin: true, def, many }        an executable file; with many, the option may repeat (an
//                                   array, def an array)
// and to any kind, needs: 'otherKey' -- given without that option, it would do nothing: refused.
import { accessSync, constants, statSync } from 'node:fs';
import { relative } from 'node:path';

const kebab = (key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const camel = (flag) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const script = () => relative(process.cwd(), process.argv[1]);

// Whether argv gives --flag (for the checks a bench makes itself after parseOptions).
export const isGiven = (argv, flag) => argv.some((a) => a === flag || a.startsWith(`${flag}=`));

export function refuse(message) {
  console.error(`${message}; see ${script()} --help`);
  process.exit(2);
}

function toInt(flag, text, [min, max]) {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    refuse(`${flag} takes an integer from ${min} to ${max}, not '${text}'`);
  }
  return n;
}

function toChoice(flag, text, values) {
  if (!values.includes(text)) refuse(`${flag} is one of ${values.join(', ')}, not '${text}'`);
  return text;
}

function toBin(flag, file) {
  try {
    accessSync(file, constants.X_OK);
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch {
    refuse(`${flag} ${file}: not an executable file (build one: make build)`);
  }
  return file;
}

function toList(flag, text, spec) {
  const items = String(text).split(',').filter(Boolean);
  if (items.length === 0) refuse(`${flag} takes a comma-separated list, not '${text}'`);
  return items.map((t) => (spec.ints ? toInt(flag, t, spec.ints) : toChoice(flag, t, spec.choices)));
}

function convert(flag, spec, text) {
  if (spec.int) return toInt(flag, text, spec.int);
  if (spec.ints || spec.choices) return toList(flag, text, spec);
  if (spec.choice) return toChoice(flag, text, spec.choice);
  if (spec.bin) return toBin(flag, text);
  return text;
}

// One line per option: its values and its default.
export function usage(spec, about, synopsis = '[options]') {
  const what = (s) => (s.int ? `an integer from ${s.int[0]} to ${s.int[1]}`
    : s.ints ? `integers from ${s.ints[0]} to ${s.ints[1]}, comma-separated`
      : s.choice ? `one of ${s.choice.join(', ')}`
        : s.choices ? `some of ${s.choices.join(', ')}, comma-separated`
          : s.bin ? `an executable file${s.many ? ', may repeat' : ''}` : 'text');
  const def = (s) => ([s.def].flat().join(' ') || 'not set');
  const lines = Object.entries(spec).map(([key, s]) => `  ${kebab(key).padEnd(18)} ${what(s)}; ` +
    `default ${def(s)}${s.needs ? ` (needs ${kebab(s.needs)})` : ''}`);
  return [`usage: node ${script()} ${synopsis}`.trim(), about, ...lines,
    `(what is measured, and how: the header of ${script()})`].join('\n');
}

export function parseOptions(argv, spec, about = '', synopsis = undefined) {
  if (argv.some((a) => a === '--help' || a === '-h')) {
    console.log(usage(spec, about, synopsis));
    process.exit(0);
  }
  const given = {};
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].startsWith('--') ? argv[i].indexOf('=') : -1; // --name=value as well
    const [flag, value] = eq > 0 ? [argv[i].slice(0, eq), argv[i].slice(eq + 1)] : [argv[i], argv[++i]];
    const key = camel(flag);
    if (!flag.startsWith('--') || !Object.hasOwn(spec, key)) {
      refuse(`unknown option ${flag} (known: ${[...Object.keys(spec).map(kebab), '--help'].join(' ')})`);
    }
    if (value === undefined || (value.startsWith('--') && !spec[key].text)) {
      refuse(`${flag} needs a value`);
    }
    if (spec[key].many) (given[key] ??= []).push(value);
    else if (Object.hasOwn(given, key)) refuse(`${flag} is given twice`);
    else given[key] = value;
  }
  const o = {};
  for (const [key, s] of Object.entries(spec)) {
    const flag = kebab(key);
    if (s.many) {
      o[key] = (given[key] ?? s.def).map((v) => convert(flag, s, v));
    } else if (Object.hasOwn(given, key)) {
      o[key] = convert(flag, s, given[key]);
    } else {
      o[key] = s.ints || s.choices || (s.bin && s.def) ? convert(flag, s, s.def) : s.def;
    }
    if (s.needs && Object.hasOwn(given, key) && !Object.hasOwn(given, s.needs)) {
      refuse(`${flag} needs ${kebab(s.needs)} (without it, it does nothing)`);
    }
  }
  return o;
}
