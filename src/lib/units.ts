// Sizes and durations as Docker prints and parses them (docker/go-units, Go's time.ParseDuration).

import { InvalidParameter } from './errors.js';

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, abbrs: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return [size, abbrs[i] as string];
}

/** Go's fmt "%.<prec>g": prec significant digits, trailing zeros dropped, exponent form
 *  ("1e+03") when the exponent is < -4 or >= the precision. */
export function formatG(v: number, prec: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const p = Math.max(1, prec);
  const [mant = '', expStr = '0'] = Math.abs(v).toExponential(p - 1).split('e');
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  const exp = Number(expStr);
  const sign = v < 0 ? '-' : '';
  // %e is used when the exponent is < -4 or >= precision (shrunk to the digit count, as strconv does).
  const eprec = p > digits.length && digits.length >= exp + 1 ? digits.length : p;
  if (exp < -4 || exp >= eprec) {
    const frac = digits.slice(1);
    return `${sign}${digits[0]}${frac ? '.' + frac : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}${frac ? '.' + frac : ''}`;
}

/** go-units HumanSizeWithPrecision(size, 3), as docker prints image sizes: "2.13MB", "0B", "999B". */
export function humanSize(bytes: number, precision = 3): string {
  const [size, unit] = sizeAndUnit(bytes, 1000, DECIMAL_ABBRS);
  return formatG(size, precision) + unit;
}

/** go-units BytesSize: binary units, "%.4g": 2129920 → "2.031MiB". */
export function bytesSize(bytes: number): string {
  const [size, unit] = sizeAndUnit(bytes, 1024, BINARY_ABBRS);
  return formatG(size, 4) + unit;
}

/** go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "2 hours", ... */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Hours round to nearest, as go-units does (int(d.Hours() + 0.5)).
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

const DECIMAL_MULT: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY_MULT: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Go's strconv.ParseFloat for decimal notation (what sizes are written in). */
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** go-units parseSize: a number, then an optional suffix (b, k, kb, kib, ...), case-insensitive. */
function parseSize(s: string, mult: Record<string, number>): number {
  let num: string;
  let sfx: string;
  const space = s.indexOf(' ');
  if (space >= 0) {
    num = s.slice(0, space);
    sfx = s.slice(space + 1);
  } else {
    const sep = Math.max(...Array.from('0123456789.', (c) => s.lastIndexOf(c)));
    if (sep < 0) throw new InvalidParameter(`invalid size: '${s}'`);
    num = s.slice(0, sep + 1);
    sfx = s.slice(sep + 1);
  }
  if (!FLOAT_RE.test(num)) throw new InvalidParameter(`invalid size: '${s}'`);
  const size = Number(num);
  if (size < 0) throw new InvalidParameter(`invalid size: '${s}'`);
  if (sfx === '') return Math.trunc(size);
  return Math.trunc(size * suffixMultiplier(sfx, mult));
}

function suffixMultiplier(suffix: string, mult: Record<string, number>): number {
  const sfx = suffix.toLowerCase();
  const bad = (): never => {
    throw new InvalidParameter(`invalid suffix: '${sfx}'`);
  };
  if (sfx.length > 3) bad();
  if (sfx[0] === 'b') return sfx.length === 1 ? 1 : bad();
  const m = mult[sfx[0] as string] ?? bad();
  if (sfx.length === 2 && sfx[1] !== 'b') bad();
  if (sfx.length === 3 && sfx.slice(1) !== 'ib') bad();
  return m;
}

/** go-units RAMInBytes: "512m" → 536870912 (binary multipliers, as docker run --memory). */
export function ramInBytes(s: string): number {
  return parseSize(s, BINARY_MULT);
}

/** go-units FromHumanSize: "10m" → 10000000 (decimal), as used by --log-opt max-size... */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL_MULT);
}

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_NS = 2n ** 63n;

/** Go time.ParseDuration: "1m30s", "500ms", "2h", "-1.5h" → milliseconds (fractional below 1ms).
 *  Throws InvalidParameter with Go's wording when malformed. */
export function parseDuration(s: string): number {
  const ns = parseDurationNanos(s);
  return Number(ns) / 1e6;
}

/** time.ParseDuration in integer nanoseconds, with Go's int64 overflow rule. */
export function parseDurationNanos(orig: string): bigint {
  const quoted = JSON.stringify(orig);
  const invalid = (): never => {
    throw new InvalidParameter(`time: invalid duration ${quoted}`);
  };
  let s = orig;
  const neg = s.startsWith('-');
  if (s.startsWith('-') || s.startsWith('+')) s = s.slice(1);
  if (s === '0') return 0n;
  if (s === '') invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const [all = '', intPart = '', frac] = m ?? [];
    if (intPart === '' && (frac === undefined || frac === '')) invalid();
    s = s.slice(all.length);
    const unitMatch = /^[^0-9.]+/.exec(s);
    if (!unitMatch) throw new InvalidParameter(`time: missing unit in duration ${quoted}`);
    const unitText = unitMatch[0];
    const unit = NS_PER_UNIT[unitText];
    if (unit === undefined) throw new InvalidParameter(`time: unknown unit ${JSON.stringify(unitText)} in duration ${quoted}`);
    s = s.slice(unitText.length);
    let v = BigInt(intPart || '0') * unit;
    // Like Go, the fraction contributes float64(f) * unit / scale, truncated.
    if (frac) v += BigInt(Math.trunc(Number('0.' + frac) * Number(unit)));
    total += v;
    if (total > MAX_NS - (neg ? 0n : 1n)) invalid();
  }
  return neg ? -total : total;
}
