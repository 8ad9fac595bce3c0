// options.mjs -- the benches' command-line options, every value checked before anything starts:
// a count out of its bounds, a value not in its list, an unknown or incomplete option, or a
// binary that is not an executable file exits 2 with what is allowed, instead of a run on NaN,
// a silent default or a stack trace halfway through.
//
//   const o = parseOptions(process.argv.slice(2), SPEC);
//
// SPEC maps each option's camelCase name (--kebab-case on the command line) to its kind and
// default:
//   { int: [min, max], def }        an integer within the bounds
//   { ints: [min, max], def }       a comma-separated list of them (an array; def a string)
//   { choice: [values], def }       one of the values
//   { choices: [values], def }      a comma-separated list of them (an array; def a string)
//   { text: true, def }             any string
//   { bin: true, def, many }        an executable file; with many, the option may repeat (an
//                                   array, def an array)
import { accessSync, constants } from 'node:fs';

const kebab = (key) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (flag) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());

function fail(message) {
  console.error(`${message}; see the header of ${process.argv[1]}`);
  process.exit(2);
}

function toInt(flag, text, [min, max]) {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${flag} takes an integer from ${min} to ${max}, not '${text}'`);
  }
  return n;
}

function toChoice(flag, text, values) {
  if (!values.includes(text)) fail(`${flag} is one of ${values.join(', ')}, not '${text}'`);
  return text;
}

function toBin(flag, file) {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    fail(`${flag} ${file}: no such executable (build one: make build)`);
  }
  return file;
}

const list = (text) => String(text).split(',').filter(Boolean);

function convert(flag, spec, text) {
  if (spec.int) return toInt(flag, text, spec.int);
  if (spec.ints) return list(text).map((t) => toInt(flag, t, spec.ints));
  if (spec.choice) return toChoice(flag, text, spec.choice);
  if (spec.choices) return list(text).map((t) => toChoice(flag, t, spec.choices));
  if (spec.bin) return toBin(flag, text);
  return text;
}

export function parseOptions(argv, spec) {
  const given = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = camel(argv[i]);
    if (!argv[i].startsWith('--') || !(key in spec) || argv[i + 1] === undefined) {
      fail(`unknown or incomplete option ${argv[i]} (known: ` +
        `${Object.keys(spec).map((k) => `--${kebab(k)}`).join(' ')})`);
    }
    if (spec[key].many) (given[key] ??= []).push(argv[i + 1]);
    else given[key] = argv[i + 1];
  }
  const o = {};
  for (const [key, s] of Object.entries(spec)) {
    const flag = `--${kebab(key)}`;
    if (s.many) {
      o[key] = (given[key] ?? s.def).map((v) => convert(flag, s, v));
    } else if (key in given) {
      o[key] = convert(flag, s, given[key]);
    } else {
      o[key] = s.ints || s.choices || (s.bin && s.def) ? convert(flag, s, s.def) : s.def;
    }
  }
  return o;
}
