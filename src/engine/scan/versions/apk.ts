// Alpine package versions as apk-tools orders them (Gentoo-style):
//   digits{.digits}[letter]{_suffix[digits]}[-rN]
// Pre-release suffixes _alpha < _beta < _pre < _rc sort before the bare version; post-release suffixes
// _cvs < _svn < _git < _hg < _p after it. A component with leading zeros (`1.01`) is compared as a
// fraction: it sorts below any component without them (apk-tools' rule). Written from the behaviour of
// apk-tools' version.c (token by token: kinds must match, values compared, then the shorter side decides).

/** Token kinds in the order apk-tools ranks them when one version runs out of same-kind tokens. */
const enum Kind {
  Invalid = -1,
  DigitOrZero = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  RevisionNo = 5,
  End = 6,
}

const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Token {
  kind: Kind;
  value: number;
}

/** Split a version into (kind, value) tokens as apk-tools walks it; the last token has kind End or Invalid. */
export function apkTokens(v: string): Token[] {
  const out: Token[] = [];
  let kind: Kind = Kind.Digit;
  let p = 0;
  const isDigit = (i: number): boolean => i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57;
  if (v.length === 0) return [{ kind: Kind.End, value: 0 }];
  for (;;) {
    if (p >= v.length) {
      out.push({ kind: Kind.End, value: 0 });
      return out;
    }
    let value = 0;
    let forced: Kind | undefined;
    const start = p;
    if (kind === Kind.DigitOrZero && v[p] === '0') {
      while (p < v.length && v[p] === '0') p++;
      value = -(p - start);
      forced = Kind.Digit;
    } else if (kind === Kind.DigitOrZero || kind === Kind.Digit || kind === Kind.SuffixNo || kind === Kind.RevisionNo) {
      while (isDigit(p)) value = value * 10 + (v.charCodeAt(p++) - 48);
    } else if (kind === Kind.Letter) {
      value = v.charCodeAt(p++);
    } else if (kind === Kind.Suffix) {
      const rest = v.slice(p);
      const pre = PRE.findIndex((s) => rest.startsWith(s));
      if (pre >= 0) {
        value = pre - PRE.length;
        p += PRE[pre]!.length;
      } else {
        const post = POST.findIndex((s) => rest.startsWith(s));
        if (post < 0) {
          out.push({ kind: Kind.Invalid, value: -1 });
          return out;
        }
        value = post;
        p += POST[post]!.length;
      }
    } else {
      out.push({ kind: Kind.Invalid, value: -1 });
      return out;
    }
    out.push({ kind, value });
    if (p >= v.length) {
      out.push({ kind: Kind.End, value: 0 });
      return out;
    }
    if (forced !== undefined) {
      kind = forced;
      continue;
    }
    // What comes next, and whether it may follow what we just read.
    let next: Kind = Kind.Invalid;
    const c = v[p]!;
    if ((kind === Kind.Digit || kind === Kind.DigitOrZero) && c >= 'a' && c <= 'z') next = Kind.Letter;
    else if (kind === Kind.Letter && isDigit(p)) next = Kind.Digit;
    else if (kind === Kind.Suffix && isDigit(p)) next = Kind.SuffixNo;
    else {
      if (c === '.') next = Kind.DigitOrZero;
      else if (c === '_') next = Kind.Suffix;
      else if (c === '-') {
        if (v[p + 1] === 'r') {
          next = Kind.RevisionNo;
          p++;
        }
      }
      p++;
    }
    if (next < kind) {
      const allowed =
        (next === Kind.DigitOrZero && kind === Kind.Digit) ||
        (next === Kind.Suffix && kind === Kind.SuffixNo) ||
        (next === Kind.Digit && kind === Kind.Letter);
      if (!allowed) next = Kind.Invalid;
    }
    kind = next;
    if (kind === Kind.Invalid) {
      out.push({ kind, value: -1 });
      return out;
    }
    if (p >= v.length) {
      // "1." or "1_": apk-tools reads an empty token here and then ends.
      out.push({ kind, value: 0 });
      out.push({ kind: Kind.End, value: 0 });
      return out;
    }
  }
}

/** True when apk-tools accepts the string as a version. */
export function isApkVersion(v: string): boolean {
  if (typeof v !== 'string' || v.length === 0) return false;
  const t = apkTokens(v);
  return t[t.length - 1]!.kind === Kind.End;
}

/** -1, 0 or 1; null when either side is not an apk version. */
export function compareApk(a: string, b: string): number | null {
  if (!isApkVersion(a) || !isApkVersion(b)) return null;
  const ta = apkTokens(a);
  const tb = apkTokens(b);
  // Walk token by token while both continue with the same kind of token and equal values.
  for (let i = 0; ; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
    const nx = ta[i + 1];
    const ny = tb[i + 1];
    if (!nx || !ny) return 0;
    if (nx.kind !== ny.kind) return tail(ta, i + 1, tb);
    if (nx.kind === Kind.End) return 0;
  }
}

/** The values so far are equal and the kinds differ at i: the longer version wins unless it continues
 * with a pre-release suffix. */
function tail(ta: Token[], i: number, tb: Token[]): number {
  const x = ta[i]!;
  const y = tb[i]!;
  if (x.kind === Kind.Suffix && x.value < 0) return -1;
  if (y.kind === Kind.Suffix && y.value < 0) return 1;
  if (x.kind > y.kind) return -1;
  if (y.kind > x.kind) return 1;
  return 0;
}
