// Debian package versions ([epoch:]upstream[-revision]) compared as dpkg does (deb-version(7), dpkg's
// verrevcmp): epochs numerically, then upstream and revision alternating non-digit runs (letters sort
// before other characters, `~` before everything, even the end) and digit runs (numerically).

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const UPSTREAM = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;

/** Parse a Debian version; null when it is not one (dpkg would reject it or warn about its syntax). */
export function parseDpkg(input: string): DpkgVersion | null {
  if (typeof input !== 'string') return null;
  const s = input.trim();
  if (s === '' || /\s/.test(s)) return null;
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) return null;
    epoch = Number(e);
    if (epoch > 2147483647) return null;
    rest = s.slice(colon + 1);
  }
  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (!REVISION.test(revision)) return null;
  }
  if (!UPSTREAM.test(upstream)) return null;
  return { epoch, upstream, revision };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The weight of one character in a non-digit run: `~` < end < letters < everything else. */
function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/** dpkg's comparison of one version part (upstream or revision). */
export function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const d = weight(a, i) - weight(b, j);
      if (d !== 0) return Math.sign(d);
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 48) i++;
    while (j < b.length && b.charCodeAt(j) === 48) j++;
    let firstDiff = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return Math.sign(firstDiff);
  }
  return 0;
}

export function compareParsedDpkg(a: DpkgVersion, b: DpkgVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return compareDpkgPart(a.upstream, b.upstream) || compareDpkgPart(a.revision, b.revision);
}

/** -1, 0 or 1; null when either side is not a Debian version. */
export function compareDpkg(a: string, b: string): number | null {
  const pa = parseDpkg(a);
  const pb = parseDpkg(b);
  if (!pa || !pb) return null;
  return compareParsedDpkg(pa, pb);
}
