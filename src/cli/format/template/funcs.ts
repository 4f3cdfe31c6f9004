// Template functions: Go text/template's builtins (funcs.go) and Docker's additions
// (docker/cli templates/templates.go: json, split, join, title, lower, upper, pad, truncate).

import { formatValue, goTypeName, isMap, sortedKeys, sprint, sprintf, sprintln } from './fmt.js';

/** A parameter's Go type: the executor checks arguments against it before the call. */
export type ParamType = 'any' | 'string' | 'int';

export interface TemplateFunc {
  params: ParamType[];
  /** Type of extra arguments when the function is variadic. */
  variadic?: ParamType;
  call(args: unknown[]): unknown;
}

/** An error a function returns; the executor reports it as "error calling <name>: <message>". */
export class FuncError extends Error {}

/** Go's truth: false, 0, "", nil, empty slices and maps are false; a missing value too. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

type Kind = 'bool' | 'int' | 'float' | 'string' | 'nil' | 'other';

function basicKind(v: unknown): Kind {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function numeric(k: Kind): boolean {
  return k === 'int' || k === 'float';
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    // JSON erases Go's int/float distinction, so numbers compare by value.
    if (k1 !== k2 && !(numeric(k1) && numeric(k2))) {
      if (k1 !== 'nil' && k2 !== 'nil') throw new FuncError('incompatible types for comparison');
      continue;
    }
    if (k1 === 'other') throw new FuncError(`non-comparable type ${formatValue(a)}: ${goTypeName(a)}`);
    if (a === b || (k1 === 'nil' && k2 === 'nil')) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'bool' || k1 === 'other' || k1 === 'nil' || k2 === 'bool' || k2 === 'other' || k2 === 'nil') {
    throw new FuncError('invalid type for comparison');
  }
  if (k1 !== k2 && !(numeric(k1) && numeric(k2))) throw new FuncError('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

function indexArg(i: unknown, len: number): number {
  if (i === null || i === undefined) throw new FuncError('cannot index slice/array with nil');
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new FuncError(`cannot index slice/array with type ${goTypeName(i)}`);
  if (i < 0 || i > len) throw new FuncError(`index out of range: ${i}`);
  return i;
}

function index(item: unknown, ...keys: unknown[]): unknown {
  if (item === undefined || item === null) throw new FuncError('index of untyped nil');
  let cur: unknown = item;
  for (const key of keys) {
    if (cur === undefined || cur === null) throw new FuncError('index of nil pointer');
    if (typeof cur === 'string' || Array.isArray(cur)) {
      const bytes = typeof cur === 'string' ? Buffer.from(cur, 'utf8') : cur;
      const x = indexArg(key, bytes.length);
      if (x === bytes.length) throw new FuncError(`index out of range: ${x}`);
      cur = bytes[x];
    } else if (isMap(cur)) {
      if (typeof key !== 'string') throw new FuncError(`value has type ${goTypeName(key)}; should be string`);
      cur = Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : undefined;
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(cur)}`);
    }
  }
  return cur;
}

function slice(item: unknown, ...idx: unknown[]): unknown {
  if (item === undefined || item === null) throw new FuncError('slice of untyped nil');
  if (idx.length > 3) throw new FuncError(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (idx.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = Buffer.byteLength(item, 'utf8');
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  }
  const bounds = [0, len];
  idx.forEach((x, i) => (bounds[i] = indexArg(x, len)));
  const [lo = 0, hi = len] = bounds;
  if (lo > hi) throw new FuncError(`invalid slice index: ${lo} > ${hi}`);
  if (idx.length === 3 && hi > (bounds[2] ?? len)) throw new FuncError(`invalid slice index: ${hi} > ${bounds[2]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(lo, hi).toString('utf8');
  return item.slice(lo, hi);
}

function length(v: unknown): number {
  if (v === undefined || v === null) throw new FuncError('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

/** Go's encoding/json output with SetEscapeHTML(false), as docker's json function uses. */
export function goJSON(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
  // Go escapes the JavaScript line terminators even without HTML escaping.
  return (s ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function join(elems: unknown, sep: unknown): string {
  if (elems === undefined || elems === null) return '';
  if (Array.isArray(elems)) return elems.map((e) => sprint([e])).join(String(sep));
  if (isMap(elems)) {
    const m = elems;
    return Object.keys(m)
      .map((k) => sprint([m[k]]))
      .sort()
      .join(String(sep));
  }
  throw new FuncError(`expected slice, got ${goTypeName(elems)}`);
}

function split(s: string, sep: string): string[] {
  return sep === '' ? Array.from(s) : s.split(sep);
}

/** strings.Title: upper-case letters that start a word (after anything but letters, digits, "_"). */
export function title(s: string): string {
  let prevSep = true;
  let out = '';
  for (const ch of s) {
    out += prevSep ? ch.toUpperCase() : ch;
    prevSep = isTitleSeparator(ch);
  }
  return out;
}

function isTitleSeparator(ch: string): boolean {
  if (/[0-9A-Za-z_]/.test(ch)) return false;
  if ((ch.codePointAt(0) ?? 0) < 0x80) return true;
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

function truncate(s: string, n: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length < n ? s : b.subarray(0, Math.max(0, n)).toString('utf8');
}

function pad(s: string, prefix: number, suffix: number): string {
  return s === '' ? s : ' '.repeat(Math.max(0, prefix)) + s + ' '.repeat(Math.max(0, suffix));
}

const HTML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

const fn = (params: ParamType[], call: (args: unknown[]) => unknown, variadic?: ParamType): TemplateFunc => ({ params, variadic, call });
const s0 = (a: unknown[]): string => a[0] as string;

/** "and" and "or" are absent: the executor evaluates them lazily itself. */
const builtins: Record<string, TemplateFunc> = {
  not: fn(['any'], (a) => !isTrue(a[0])),
  len: fn(['any'], (a) => length(a[0])),
  index: fn(['any'], (a) => index(a[0], ...a.slice(1)), 'any'),
  slice: fn(['any'], (a) => slice(a[0], ...a.slice(1)), 'any'),
  eq: fn(['any'], (a) => eq(a[0], ...a.slice(1)), 'any'),
  ne: fn(['any', 'any'], (a) => !eq(a[0], a[1])),
  lt: fn(['any', 'any'], (a) => lt(a[0], a[1])),
  le: fn(['any', 'any'], (a) => lt(a[0], a[1]) || eq(a[0], a[1])),
  gt: fn(['any', 'any'], (a) => !(lt(a[0], a[1]) || eq(a[0], a[1]))),
  ge: fn(['any', 'any'], (a) => !lt(a[0], a[1])),
  print: fn([], (a) => sprint(a), 'any'),
  println: fn([], (a) => sprintln(a), 'any'),
  printf: fn(['string'], (a) => sprintf(s0(a), a.slice(1)), 'any'),
  html: fn([], (a) => sprint(a).replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c] ?? c), 'any'),
  urlquery: fn([], (a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()), 'any'),
};

const docker: Record<string, TemplateFunc> = {
  json: fn(['any'], (a) => goJSON(a[0])),
  split: fn(['string', 'string'], (a) => split(s0(a), a[1] as string)),
  join: fn(['any', 'string'], (a) => join(a[0], a[1])),
  title: fn(['string'], (a) => title(s0(a))),
  lower: fn(['string'], (a) => s0(a).toLowerCase()),
  upper: fn(['string'], (a) => s0(a).toUpperCase()),
  pad: fn(['string', 'int', 'int'], (a) => pad(s0(a), a[1] as number, a[2] as number)),
  truncate: fn(['string', 'int'], (a) => truncate(s0(a), a[1] as number)),
};

/** docker/cli's HeaderFunctions: for table headers, the string functions return their input. */
const header: Record<string, TemplateFunc> = {
  json: fn(['any'], (a) => a[0]),
  split: fn(['any', 'any'], (a) => a[0]),
  join: fn(['any', 'any'], (a) => a[0]),
  title: fn(['any'], (a) => a[0]),
  lower: fn(['any'], (a) => a[0]),
  upper: fn(['any'], (a) => a[0]),
  truncate: fn(['any', 'any'], (a) => a[0]),
};

export const LAZY_FUNCS = new Set(['and', 'or']);

export function functionTable(headerMode: boolean): Record<string, TemplateFunc> {
  return headerMode ? { ...builtins, ...docker, ...header } : { ...builtins, ...docker };
}

export { sortedKeys };
