// Python package versions (PEP 440, as the `packaging` library parses them): [N!]N(.N)*[{a|b|rc}N][.postN]
// [.devN][+local], with the specification's normalisations (case, `alpha`/`beta`/`c`/`pre`/`preview`,
// `rev`/`r`, `-N` as a post-release, separators `-`, `_`, `.` and implicit numbers, a leading `v`).
// Order: epoch, release (trailing zeros ignored), then dev-only releases before pre-releases before the
// final release, post-releases after it, dev releases of a pre/post before it, and a local version after
// the same public version (alphanumeric local segments before numeric ones).

export interface Pep440 {
  epoch: number;
  release: number[];
  pre?: { label: 'a' | 'b' | 'rc'; n: number };
  post?: number;
  dev?: number;
  local?: Array<string | number>;
}

const PEP440_RE = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

function num(s: string | undefined): number {
  return s === undefined ? 0 : Number(s);
}

/** Parse a PEP 440 version; null when it is not one. */
export function parsePep440(input: string): Pep440 | null {
  if (typeof input !== 'string') return null;
  const m = PEP440_RE.exec(input);
  if (!m || !m.groups) return null;
  const g = m.groups;
  const v: Pep440 = { epoch: num(g.epoch), release: g.release!.split('.').map(Number) };
  if (!Number.isSafeInteger(v.epoch) || v.release.some((n) => !Number.isSafeInteger(n))) return null;
  if (g.pre_l) {
    const l = g.pre_l.toLowerCase();
    const label = l === 'alpha' || l === 'a' ? 'a' : l === 'beta' || l === 'b' ? 'b' : 'rc';
    v.pre = { label, n: num(g.pre_n) };
  }
  if (g.post) v.post = num(g.post_n1 ?? g.post_n2);
  if (g.dev) v.dev = num(g.dev_n);
  if (g.local) v.local = g.local.toLowerCase().split(/[-_.]/).map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
  return v;
}

/** The canonical spelling (packaging's str(Version(...))). */
export function normalizePep440(input: string): string | null {
  const v = parsePep440(input);
  if (!v) return null;
  let s = v.epoch ? `${v.epoch}!` : '';
  s += v.release.join('.');
  if (v.pre) s += `${v.pre.label}${v.pre.n}`;
  if (v.post !== undefined) s += `.post${v.post}`;
  if (v.dev !== undefined) s += `.dev${v.dev}`;
  if (v.local) s += `+${v.local.join('.')}`;
  return s;
}

const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareParsedPep440(a: Pep440, b: Pep440): number {
  let c = cmp(a.epoch, b.epoch);
  if (c) return c;
  const ra = trimZeros(a.release);
  const rb = trimZeros(b.release);
  for (let i = 0; i < Math.max(ra.length, rb.length); i++) {
    if (i >= ra.length) return -1;
    if (i >= rb.length) return 1;
    c = cmp(ra[i]!, rb[i]!);
    if (c) return c;
  }
  // Pre-release key: a dev release of a final (no pre, no post) sorts before every pre-release.
  c = cmp(preKey(a), preKey(b));
  if (c) return c;
  if (a.pre && b.pre) {
    c = cmp(a.pre.n, b.pre.n);
    if (c) return c;
  }
  c = cmp(a.post === undefined ? -Infinity : a.post, b.post === undefined ? -Infinity : b.post);
  if (c) return c;
  c = cmp(a.dev === undefined ? Infinity : a.dev, b.dev === undefined ? Infinity : b.dev);
  if (c) return c;
  return compareLocal(a.local, b.local);
}

function trimZeros(r: number[]): number[] {
  let n = r.length;
  while (n > 1 && r[n - 1] === 0) n--;
  return r.slice(0, n);
}

function preKey(v: Pep440): number {
  if (!v.pre && v.post === undefined && v.dev !== undefined) return -Infinity;
  if (!v.pre) return Infinity;
  return PRE_RANK[v.pre.label];
}

function compareLocal(a: Array<string | number> | undefined, b: Array<string | number> | undefined): number {
  if (!a && !b) return 0;
  if (!a) return -1;
  if (!b) return 1;
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return 0;
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === 'number') return 1;
    else if (typeof y === 'number') return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
}

/** -1, 0 or 1; null when either side is not a PEP 440 version. */
export function comparePep440(a: string, b: string): number | null {
  const pa = parsePep440(a);
  const pb = parsePep440(b);
  if (!pa || !pb) return null;
  return compareParsedPep440(pa, pb);
}
