// Durations and byte sizes as compose files write them. Durations: Go units plus "d" and "w"
// (str2duration, as compose-go accepts), printed back the way Go's time.Duration prints them
// ("90s" → "1m30s"), as `docker compose config` shows them. Sizes: a number of bytes or "512m"
// (go-units RAMInBytes, binary multiples).
import { ComposeError } from '../types.js';
import { ramInBytes } from '../../lib/units.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
};

export function parseDurationNs(value: unknown): bigint {
  const text = typeof value === 'number' ? String(value) : String(value ?? '');
  const quoted = JSON.stringify(text);
  let s = text;
  const neg = s.startsWith('-');
  if (neg || s.startsWith('+')) s = s.slice(1);
  if (s === '0') return 0n;
  if (s === '') throw new ComposeError(`time: invalid duration ${quoted}`);
  let total = 0n;
  while (s) {
    const m = /^(\d*)(?:\.(\d*))?([^\d.]*)/.exec(s)!;
    const [all, int = '', frac, unit = ''] = m;
    if (!int && !frac) throw new ComposeError(`time: invalid duration ${quoted}`);
    if (!unit) throw new ComposeError(`time: missing unit in duration ${quoted}`);
    const ns = UNIT_NS[unit];
    if (ns === undefined) throw new ComposeError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += BigInt(int || '0') * ns;
    if (frac) total += BigInt(Math.trunc(Number(`0.${frac}`) * Number(ns)));
    s = s.slice(all.length);
  }
  return neg ? -total : total;
}

/** Go's time.Duration.String(). */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const [unit, div] = u < 1_000n ? ['ns', 1n] : u < 1_000_000n ? ['µs', 1_000n] : ['ms', 1_000_000n];
    out = fraction(u, div) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u %= 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u %= 60_000_000_000n;
    out = `${fraction(u, 1_000_000_000n)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}

function fraction(v: bigint, div: bigint): string {
  const int = v / div;
  const rest = v % div;
  if (rest === 0n) return String(int);
  const digits = String(div).length - 1;
  return `${int}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** A duration as the model keeps it: Go's rendering of the value. */
export function normaliseDuration(value: unknown): string {
  return formatDuration(parseDurationNs(value));
}

/** Bytes from a number or a size ("512m", "1g", "-1"). */
export function toBytes(value: unknown): number {
  if (typeof value === 'number') return Math.trunc(value);
  const s = String(value);
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  try {
    return ramInBytes(s);
  } catch (err) {
    throw new ComposeError((err as Error).message);
  }
}
