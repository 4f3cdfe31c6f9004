// Docker's copy path rules (moby/go-archive copy.go), shared by berthd's archive API and the cp command:
// a trailing "/." means "the directory's contents", a trailing "/" asserts a directory, and archive entries
// start with the copied resource's base name, renamed to the destination's when needed.
import path from 'node:path';

/** Go's filepath.Clean for slash paths: no trailing slash (except "/"), "." for empty. */
export function goClean(p: string): string {
  const n = path.posix.normalize(p === '' ? '.' : p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Go's filepath.Base: "/" for the root, the last element otherwise ("." for "/etc/."). */
export function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's filepath.Dir. */
export function goDir(p: string): string {
  const i = p.lastIndexOf('/');
  return goClean(i < 0 ? '.' : p.slice(0, i + 1));
}

export function hasTrailingSeparator(p: string): boolean {
  return p.endsWith('/');
}

/** The last element is "." (a directory's contents). */
export function specifiesCurrentDir(p: string): boolean {
  return goBase(p) === '.';
}

/** The path asserts a directory: a trailing "/" or "/.". */
export function assertsDirectory(p: string): boolean {
  return hasTrailingSeparator(p) || specifiesCurrentDir(p);
}

/** archive.PreserveTrailingDotOrSeparator: keep a trailing "/." or "/" of `original` on the cleaned path. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!hasTrailingSeparator(out)) out += '/';
    out += '.';
  }
  if (!hasTrailingSeparator(out) && hasTrailingSeparator(original)) out += '/';
  return out;
}

/** archive.SplitPathDirEntry: directory and base name, a trailing "." kept as the base. */
export function splitPathDirEntry(p: string): { dir: string; base: string } {
  let cleaned = goClean(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return { dir: goDir(cleaned), base: goBase(cleaned) };
}

/** archive.GetRebaseName: the resolved path with the original's trailing "/." or "/", and the name the
 *  archive's first element must take when resolving changed it. */
export function getRebaseName(p: string, resolved: string): { resolved: string; rebaseName: string } {
  let r = resolved;
  if (specifiesCurrentDir(p) && !specifiesCurrentDir(r)) r += '/.';
  if (hasTrailingSeparator(p) && !hasTrailingSeparator(r)) r += '/';
  return { resolved: r, rebaseName: goBase(p) !== goBase(r) ? goBase(p) : '' };
}

/** archive's name rebaser: `oldBase` at the start of an entry name becomes `newBase`. */
export function nameRebaser(oldBase: string, newBase: string): (name: string) => string {
  const from = oldBase.replace(/\/+$/, '');
  const to = newBase.replace(/\/+$/, '');
  if (from === '') {
    return (name) => {
      const n = name.replace(/^\/+/, '');
      return to === '' ? n : `${to}/${n}`;
    };
  }
  return (name) => {
    if (!name.startsWith(from)) return name;
    const suffix = name.slice(from.length);
    if (suffix !== '' && !suffix.startsWith('/')) return name;
    return to + suffix;
  };
}

/** Go's os.FileMode bits (what the archive API's path stat carries as `mode`). */
export const GoMode = {
  Dir: 2 ** 31,
  Symlink: 2 ** 27,
  Device: 2 ** 26,
  NamedPipe: 2 ** 25,
  Socket: 2 ** 24,
  Setuid: 2 ** 23,
  Setgid: 2 ** 22,
  CharDevice: 2 ** 21,
  Sticky: 2 ** 20,
  Irregular: 2 ** 19,
} as const;

/** Whether a Go FileMode has a bit (modes exceed 32-bit signed range, so no `&`). */
export function goModeHas(mode: number, bit: number): boolean {
  return Math.floor(mode / bit) % 2 === 1;
}

/** Go's os.FileMode from a stat mode (type bits, setuid/setgid/sticky, permissions). */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000: m += GoMode.Dir; break;
    case 0o120000: m += GoMode.Symlink; break;
    case 0o020000: m += GoMode.Device + GoMode.CharDevice; break;
    case 0o060000: m += GoMode.Device; break;
    case 0o010000: m += GoMode.NamedPipe; break;
    case 0o140000: m += GoMode.Socket; break;
    case 0o100000: break;
    default: m += GoMode.Irregular;
  }
  if (mode & 0o4000) m += GoMode.Setuid;
  if (mode & 0o2000) m += GoMode.Setgid;
  if (mode & 0o1000) m += GoMode.Sticky;
  return m;
}
