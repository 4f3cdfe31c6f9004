// Go's fmt package semantics for the JSON-shaped values templates see: %v printing
// (maps as map[k:v], slices as [a b], <nil>), Sprint/Sprintln spacing, and Sprintf verbs.
// Integral numbers stand for Go ints, others for float64 (Docker's structs use int64 for sizes and ids).

export type Value = unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Integral numbers within int64 stand for Go ints; everything else for float64. */
export function isGoInt(n: number): boolean {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 63;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v);
}

/** Go's byte-wise ordering of map keys (UTF-16 order differs only beyond the BMP). */
export function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Name of the Go type a JSON value decodes to, for error messages and %!verb(type=...). */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return isGoInt(v) ? 'int' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

/** fmt's %v. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return '[' + v.map(formatValue).join(' ') + ']';
  if (v instanceof Date) return v.toISOString();
  if (isPlainObject(v)) return 'map[' + sortedKeys(v).map((k) => `${k}:${formatValue(v[k])}`).join(' ') + ']';
  return String(v);
}

export function formatNumber(n: number): string {
  if (isGoInt(n)) return BigInt(n).toString();
  return formatFloat(n, 'g', -1);
}

// ---- floats, after strconv.FormatFloat

interface Digits {
  d: string; // significant digits without trailing zeros ("" for zero)
  dp: number; // decimal point position relative to d
}

function digitsOf(abs: number, sig: number | undefined): Digits {
  if (abs === 0) return { d: '', dp: 0 };
  const e = sig === undefined ? abs.toExponential() : abs.toExponential(Math.min(100, Math.max(0, sig - 1)));
  const [mant = '', exp = '0'] = e.split('e');
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(exp) + 1 };
}

function fmtE(x: Digits, prec: number, e: string): string {
  const first = x.d[0] ?? '0';
  let s = first;
  if (prec > 0) s += '.' + x.d.slice(1, 1 + prec).padEnd(prec, '0');
  const exp = x.d === '' ? 0 : x.dp - 1;
  return s + e + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
}

function fmtF(x: Digits, decimals: number): string {
  let s = x.dp > 0 ? x.d.slice(0, x.dp).padEnd(x.dp, '0') : '0';
  if (decimals > 0) {
    let frac = '';
    for (let i = 0; i < decimals; i++) {
      const j = x.dp + i;
      frac += j < 0 ? '0' : (x.d[j] ?? '0');
    }
    s += '.' + frac;
  }
  return s;
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt e/E/f/g/G; prec -1 means shortest. */
export function formatFloat(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  let body: string;
  if (fmt === 'f') {
    const x = digitsOf(abs, undefined);
    body = prec < 0 ? fmtF(x, Math.max(0, x.d.length - x.dp)) : fixed(abs, prec);
  } else if (fmt === 'e' || fmt === 'E') {
    const x = digitsOf(abs, prec < 0 ? undefined : prec + 1);
    body = fmtE(x, prec < 0 ? Math.max(0, x.d.length - 1) : prec, fmt);
  } else {
    body = formatG(abs, prec, fmt === 'g' ? 'e' : 'E');
  }
  return (neg ? '-' : '') + body;
}

function fixed(abs: number, prec: number): string {
  if (abs < 1e21 && prec <= 70) {
    // toFixed rounds exact ties up; Go rounds them to even (%.0f of 2.5 is "2").
    const wide = abs.toFixed(prec + 30);
    if (wide.endsWith('5' + '0'.repeat(29))) {
      const down = wide.slice(0, wide.length - 30).replace(/\.$/, '');
      if (Number(down.slice(-1)) % 2 === 0) return down;
    }
    return abs.toFixed(prec);
  }
  if (abs < 1e21) return abs.toFixed(Math.min(prec, 100));
  const x = digitsOf(abs, undefined);
  return fmtF(x, prec);
}

function formatG(abs: number, prec: number, e: string): string {
  const shortest = prec < 0;
  let p = prec === 0 ? 1 : prec;
  const x = digitsOf(abs, shortest ? undefined : p);
  let eprec = p;
  if (shortest) {
    eprec = 6;
    p = x.d.length;
  } else if (eprec > x.d.length && x.d.length >= x.dp) {
    eprec = x.d.length;
  }
  const exp = x.dp - 1;
  if (x.d !== '' && (exp < -4 || exp >= eprec)) {
    return fmtE(x, Math.min(p, Math.max(x.d.length, 1)) - 1, e);
  }
  if (p > x.dp) p = x.d.length;
  return fmtF(x, Math.max(p - x.dp, 0));
}

// ---- Sprint / Sprintln

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

// ---- Sprintf

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
  verb: string;
}

export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, verb: '' };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = true;
      else break;
    }
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' ? Math.trunc(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = num();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = num() ?? 0;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    i += verb.length;
    spec.verb = verb;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatArg(args[argi++], spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`)).join(', ') + ')';
  }
  return out;
}

function badVerb(v: unknown, verb: string): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function pad(s: string, spec: Spec, zeroOk = true): string {
  const w = spec.width ?? 0;
  const len = Array.from(s).length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? (s[0] as string) : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function formatArg(v: unknown, spec: Spec): string {
  const verb = spec.verb;
  if (verb === 'T') return pad(goTypeName(v), spec, false);
  if (v === null || v === undefined) return verb === 'v' ? pad('<nil>', spec, false) : badVerb(v, verb);
  if (typeof v === 'boolean') return verb === 'v' || verb === 't' ? pad(String(v), spec, false) : badVerb(v, verb);
  if (typeof v === 'string') return formatString(v, spec);
  if (typeof v === 'number' || typeof v === 'bigint') return formatNumberArg(Number(v), spec);
  if (Array.isArray(v)) return formatArray(v, spec);
  if (isPlainObject(v)) return formatMap(v, spec);
  return pad(formatValue(v), spec, false);
}

function formatArray(v: unknown[], spec: Spec): string {
  const inner = { ...spec, width: undefined, minus: false, zero: false };
  const parts = v.map((e) => (spec.verb === 'v' ? formatValue(e) : formatArg(e, inner)));
  return pad('[' + parts.join(' ') + ']', spec, false);
}

function formatMap(m: Record<string, unknown>, spec: Spec): string {
  const inner = { ...spec, width: undefined, minus: false, zero: false };
  const f = (e: unknown): string => (spec.verb === 'v' ? formatValue(e) : formatArg(e, inner));
  return pad('map[' + sortedKeys(m).map((k) => `${f(k)}:${f(m[k])}`).join(' ') + ']', spec, false);
}

function formatString(s: string, spec: Spec): string {
  let t = s;
  switch (spec.verb) {
    case 'v':
    case 's':
      if (spec.prec !== undefined) t = Array.from(s).slice(0, spec.prec).join('');
      return pad(t, spec);
    case 'q':
      return pad(spec.sharp && !/[`\p{C}]/u.test(s) ? '`' + s + '`' : goQuote(s, spec.plus), spec);
    case 'x':
    case 'X': {
      const hex = Buffer.from(s, 'utf8').toString('hex');
      t = spec.space ? (hex.match(/../g) ?? []).join(' ') : hex;
      return pad(spec.verb === 'X' ? t.toUpperCase() : t, spec);
    }
    default:
      return badVerb(s, spec.verb);
  }
}

function signed(abs: string, neg: boolean, spec: Spec): string {
  return (neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + abs;
}

function formatNumberArg(n: number, spec: Spec): string {
  const isInt = isGoInt(n);
  const v = spec.verb;
  if ('eEfFgG'.includes(v) || (v === 'v' && !isInt)) {
    const f = v === 'v' ? 'g' : v === 'F' ? 'f' : (v as 'e' | 'E' | 'f' | 'g' | 'G');
    const def = f === 'g' || f === 'G' ? -1 : 6;
    const s = formatFloat(Math.abs(n), f, spec.prec ?? def);
    const finite = Number.isFinite(n);
    return pad(finite ? signed(s, n < 0, spec) : formatFloat(n, f, 0), spec, finite);
  }
  if (!isInt) return badVerb(n, v);
  return formatInteger(n, spec);
}

function formatInteger(n: number, spec: Spec): string {
  const neg = n < 0;
  const big = BigInt(Math.abs(n));
  let digits: string;
  switch (spec.verb) {
    case 'v':
    case 'd':
      digits = big.toString(10);
      break;
    case 'b':
      digits = big.toString(2);
      break;
    case 'o':
    case 'O':
      digits = big.toString(8);
      break;
    case 'x':
      digits = big.toString(16);
      break;
    case 'X':
      digits = big.toString(16).toUpperCase();
      break;
    case 'c':
      return pad(String.fromCodePoint(n), spec, false);
    case 'q':
      return pad(goQuoteRune(n, spec.plus), spec, false);
    case 'U':
      return pad('U+' + big.toString(16).toUpperCase().padStart(4, '0'), spec, false);
    default:
      return badVerb(n, spec.verb);
  }
  if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
  if (spec.verb === 'O') digits = '0o' + digits;
  else if (spec.sharp && spec.verb === 'o' && !digits.startsWith('0')) digits = '0' + digits;
  else if (spec.sharp && spec.verb === 'x') digits = '0x' + digits;
  else if (spec.sharp && spec.verb === 'X') digits = '0X' + digits;
  else if (spec.sharp && spec.verb === 'b') digits = '0b' + digits;
  return pad(signed(digits, neg, spec), spec, spec.prec === undefined);
}

// ---- strconv.Quote

const QUOTE_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\' };

function escapeRune(ch: string, quote: string, asciiOnly: boolean): string {
  if (ch === quote) return '\\' + ch;
  const named = QUOTE_ESCAPES[ch];
  if (named) return named;
  const cp = ch.codePointAt(0) ?? 0;
  const printable = cp === 0x20 || !/[\p{C}\p{Z}]/u.test(ch);
  if (printable && (!asciiOnly || cp < 0x80)) return ch;
  if (cp < 0x80) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** strconv.Quote (or QuoteToASCII with +). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"', asciiOnly);
  return out + '"';
}

function goQuoteRune(n: number, asciiOnly: boolean): string {
  const ch = n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '\ufffd';
  return "'" + escapeRune(ch, "'", asciiOnly) + "'";
}
