// What a container changed, read from its overlay snapshot: the upper dir holds every added or modified
// entry, overlay whiteouts (0:0 character devices) for deleted ones and `trusted.overlay.opaque=y` on
// directories that hide everything below them. Two consumers:
//   - `changes()`: Docker's A/C/D list (`docker diff`), compared against the image's merged layers as
//     dockerd's overlay2 driver does (its "naive diff": a directory is C only when its mode or owner
//     changed or something inside it changed; a file when its mode, owner, size or mtime did);
//   - `layerTar()`: the upper dir as an image layer, whiteouts converted back to the image format
//     (`.wh.NAME` for a deleted entry, `.wh..wh..opq` in an opaque directory), for `commit` and the builder.
// Both read the upper dir directly: no mount is needed, so they work on running and stopped containers.
import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { CommandError, run, startProcess } from '../../lib/exec.js';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/** Docker's change kinds (archive.ChangeType): the Engine API sends the numbers. */
export const ChangeKind = { Modify: 0, Add: 1, Delete: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

type St = BigIntStats;

async function lstatOrUndefined(p: string): Promise<St | undefined> {
  try {
    return await fs.lstat(p, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** An overlay whiteout: a character device 0:0. */
export function isWhiteout(st: { isCharacterDevice(): boolean; rdev: number | bigint }): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

/** getfattr's dump escapes bytes outside printable ASCII (and backslash) as \ooo. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = s[i] === '\\' ? /^[0-7]{3}/.exec(s.slice(i + 1)) : null;
    if (m) {
      bytes.push(parseInt(m[0], 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!));
  }
  return Buffer.from(bytes).toString();
}

/** The directories under `dir` (relative paths, '' for `dir` itself) marked opaque, from one getfattr pass. */
export async function opaqueDirs(dir: string): Promise<Set<string>> {
  const r = await run(['getfattr', '-R', '-P', '-d', '-m', '^trusted\\.overlay\\.opaque$', '.'], { cwd: dir, allowFailure: true });
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice('# file: '.length));
    else if (file !== undefined && line === `${OPAQUE_XATTR}="y"`) out.add(path.posix.normalize(file).replace(/^\.\/?/, ''));
  }
  return out;
}

/** The opaque directories of committed layer dirs, by layer dir: a layer never changes (a chain ID names
 *  its content), so each is read once per daemon — or told by the commit that made it. The oldest
 *  answers go beyond LAYER_OPAQUE_KEPT layers (read again if asked). */
const layerOpaque = new Map<string, Promise<Set<string>>>();
const LAYER_OPAQUE_KEPT = 4096;

function keepLayerOpaque(dir: string, set: Promise<Set<string>>): void {
  layerOpaque.delete(dir);
  layerOpaque.set(dir, set);
  if (layerOpaque.size > LAYER_OPAQUE_KEPT) layerOpaque.delete(layerOpaque.keys().next().value!);
}

/** A committed layer dir's opaque directories (getfattr once per layer). */
export function layerOpaqueDirs(dir: string): Promise<Set<string>> {
  let set = layerOpaque.get(dir);
  if (!set) {
    const reading = opaqueDirs(dir);
    keepLayerOpaque(dir, reading);
    reading.catch(() => layerOpaque.get(dir) === reading && layerOpaque.delete(dir));
    set = reading;
  }
  return set;
}

/** What a commit found (or will have found) in the directory it made a layer dir (no need to read it again). */
export function knowLayerOpaqueDirs(dir: string, opaque: Set<string> | Promise<Set<string>>): void {
  keepLayerOpaque(dir, Promise.resolve(opaque));
}

/**
 * Read-only overlay layers (top first) seen merged as overlayfs presents them: the topmost layer with an
 * entry decides it, a whiteout deletes it, a directory merges with the same directory below unless it
 * is opaque (or something other than a directory lies below it).
 */
export class LayerView {
  private readonly opaque = new Map<number, Promise<Set<string>>>();

  /** `opaqueOf` lists a layer's opaque directories; without it no directory is taken as opaque. */
  constructor(
    private readonly dirs: string[],
    private readonly opaqueOf?: (dir: string) => Promise<Set<string>>,
  ) {}

  private async isOpaque(layer: number, rel: string): Promise<boolean> {
    if (!this.opaqueOf) return false;
    let set = this.opaque.get(layer);
    if (!set) {
      set = this.opaqueOf(this.dirs[layer]!);
      this.opaque.set(layer, set);
    }
    return (await set).has(rel);
  }

  /** The layers whose `rel` directory makes up the merged directory, top first; undefined when `rel` is not a directory. */
  private async dirLayers(rel: string): Promise<number[] | undefined> {
    let layers = this.dirs.map((_, i) => i);
    const parts = rel.split('/').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const next: number[] = [];
      for (const l of layers) {
        const st = await lstatOrUndefined(path.join(this.dirs[l]!, sub));
        if (!st) continue;
        if (!st.isDirectory()) {
          if (!next.length) return undefined; // the topmost entry is a file, a link or a whiteout
          break;
        }
        next.push(l);
        if (await this.isOpaque(l, sub)) break;
      }
      if (!next.length) return undefined;
      layers = next;
    }
    return layers;
  }

  /** lstat of a path ("/a/b") in the merged view; undefined when it does not exist. */
  async lstat(p: string): Promise<St | undefined> {
    return (await this.locate(p))?.st;
  }

  /** A path ("/a/b") in the merged view: the layer dir whose entry it is (the topmost that has it) and
   *  that entry's lstat; undefined when it does not exist. */
  async locate(p: string): Promise<{ dir: string; st: St } | undefined> {
    const rel = p.split('/').filter(Boolean).join('/');
    if (!rel) {
      const st = await lstatOrUndefined(this.dirs[0] ?? '/nonexistent');
      return st && { dir: this.dirs[0]!, st };
    }
    const top = await this.inTopmost(rel);
    if (top) return isWhiteout(top.st) ? undefined : top;
    const parent = await this.dirLayers(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel));
    if (!parent) return undefined;
    for (const l of parent) {
      const st = await lstatOrUndefined(path.join(this.dirs[l]!, rel));
      if (st) return isWhiteout(st) ? undefined : { dir: this.dirs[l]!, st };
    }
    return undefined;
  }

  /** The topmost layer's entry for `rel` reached through directories of its own: it decides whatever lies
   *  below, so no opaque list is needed (one of a layer still being hashed is known late, pending.ts). */
  private async inTopmost(rel: string): Promise<{ dir: string; st: St } | undefined> {
    const dir = this.dirs[0];
    if (dir === undefined) return undefined;
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) if (!(await lstatOrUndefined(path.join(dir, ...parts.slice(0, i))))?.isDirectory()) return undefined;
    const st = await lstatOrUndefined(path.join(dir, rel));
    return st && { dir, st };
  }

  /** The names in a merged directory ("/a"), sorted. */
  async readdir(p: string): Promise<string[]> {
    const rel = p.split('/').filter(Boolean).join('/');
    const layers = await this.dirLayers(rel);
    if (!layers) return [];
    const seen = new Map<string, boolean>();
    for (const l of layers) {
      const names = await fs.readdir(path.join(this.dirs[l]!, rel)).catch((): string[] => []);
      for (const n of names) {
        if (seen.has(n)) continue;
        const st = await lstatOrUndefined(path.join(this.dirs[l]!, rel, n));
        seen.set(n, !!st && !isWhiteout(st));
      }
    }
    return [...seen].filter(([, present]) => present).map(([n]) => n).sort();
  }
}

/** Go's time comparison in archive.sameFsTime: equal, or the same second with one side lacking nanoseconds. */
function sameFsTime(a: bigint, b: bigint): boolean {
  const s = 1_000_000_000n;
  return a === b || (a / s === b / s && (a % s === 0n || b % s === 0n));
}

/** archive.statDifferent: mode, owner or device differ; for non-directories also mtime or size. */
function statDifferent(oldSt: St, newSt: St): boolean {
  if (oldSt.mode !== newSt.mode || oldSt.uid !== newSt.uid || oldSt.gid !== newSt.gid || oldSt.rdev !== newSt.rdev) return true;
  return !newSt.isDirectory() && (!sameFsTime(oldSt.mtimeNs, newSt.mtimeNs) || oldSt.size !== newSt.size);
}

/**
 * Docker's change list for a snapshot: `upper` against `lower` (the image's layers, plus the init layer,
 * seen merged). Within a directory entries come in name order, deletions of an opaque directory's former
 * content after them; a directory with changes inside is listed (C) before them.
 */
export async function changes(upper: string, lower: LayerView): Promise<Change[]> {
  const opaque = await opaqueDirs(upper);
  const walk = async (rel: string): Promise<Change[]> => {
    const out: Change[] = [];
    // As dockerd lists them: a directory's additions and changes first, then its deletions.
    const deleted: Change[] = [];
    const names = (await fs.readdir(path.join(upper, rel)).catch((): string[] => [])).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = '/' + r;
      const st = await lstatOrUndefined(path.join(upper, r));
      if (!st) continue; // removed while we looked (a running container)
      if (isWhiteout(st)) {
        if (await lower.lstat(p)) deleted.push({ Path: p, Kind: ChangeKind.Delete });
        continue;
      }
      const old = await lower.lstat(p);
      const mark = out.length;
      let listed = false;
      if (!old) {
        out.push({ Path: p, Kind: ChangeKind.Add });
        listed = true;
      } else if (statDifferent(old, st)) {
        out.push({ Path: p, Kind: ChangeKind.Modify });
        listed = true;
      }
      if (!st.isDirectory()) continue;
      const inner = await walk(r);
      if (opaque.has(r) && old?.isDirectory()) {
        const kept = new Set(await fs.readdir(path.join(upper, r)).catch((): string[] => []));
        for (const n of await lower.readdir(p)) if (!kept.has(n)) inner.push({ Path: `${p}/${n}`, Kind: ChangeKind.Delete });
      }
      if (inner.length && !listed) out.splice(mark, 0, { Path: p, Kind: ChangeKind.Modify });
      out.push(...inner);
    }
    return [...out, ...deleted];
  };
  return walk('');
}

/** Bytes the snapshot adds, as Docker counts a container's SizeRw: regular files and symlink targets,
 *  hard links once; directories and whiteouts count nothing. */
export async function upperSize(upper: string): Promise<number> {
  const r = await run(['find', upper, '-xdev', '(', '-type', 'f', '-o', '-type', 'l', ')', '-printf', '%i %n %s\n'], { allowFailure: true });
  const seen = new Set<string>();
  let size = 0;
  for (const line of r.stdout.split('\n')) {
    const [ino, links, bytes] = line.split(' ');
    if (!bytes) continue;
    if (Number(links) > 1) {
      if (seen.has(ino!)) continue;
      seen.add(ino!);
    }
    size += Number(bytes);
  }
  return size;
}

interface UpperPlan {
  opaque: Set<string>;
  /** Paths (relative, in name order) GNU tar archives as they are. */
  paths: string[];
  /** Image-format whiteout entries: `.wh.NAME` files and `.wh..wh..opq` markers. */
  markers: { name: string; mode: number; uid: number; gid: number; mtime: Date }[];
  /** Docker's layer size: regular file bytes and symlink target lengths (hard links once). */
  size: number;
}

/** An entry of an upper dir: find's type letter (f, d, l, c, …), size, inode and link count. */
interface UpperEntry {
  rel: string;
  type: string;
  size: number;
  ino: string;
  nlink: number;
}

/** Up to this many entries an upper dir is listed from Node (an lstat each); beyond, by one find. */
const SMALL_UPPER = 64;

/** A small upper dir's entries, or undefined when it has more than SMALL_UPPER. */
async function listSmall(upper: string): Promise<UpperEntry[] | undefined> {
  const names: string[] = [];
  const dirs = [''];
  while (dirs.length) {
    const rel = dirs.shift()!;
    for (const e of await fs.readdir(path.join(upper, rel), { withFileTypes: true }).catch(() => [])) {
      if (names.length >= SMALL_UPPER) return undefined;
      const r = rel ? `${rel}/${e.name}` : e.name;
      names.push(r);
      if (e.isDirectory()) dirs.push(r);
    }
  }
  const stats = await Promise.all(names.map((r) => lstatOrUndefined(path.join(upper, r))));
  const type = (st: St) => (st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : 'o');
  return names.flatMap((rel, i) => {
    const st = stats[i];
    return st ? [{ rel, type: type(st), size: Number(st.size), ino: String(st.ino), nlink: Number(st.nlink) }] : [];
  });
}

/** Every entry of an upper dir from one find: ~8 ms for 2,000 entries, where an lstat each from Node
 *  took 20-70 ms here. */
async function listWithFind(upper: string): Promise<UpperEntry[]> {
  if (!upper || !(await lstatOrUndefined(upper))?.isDirectory()) return [];
  const found = await run(['find', '.', '-mindepth', '1', '-printf', '%y %s %i %n %P\\0'], { cwd: upper, allowFailure: true });
  return found.stdout
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [type, size, ino, nlink] = line.split(' ', 4);
      return { type: type!, size: Number(size), ino: ino!, nlink: Number(nlink), rel: line.slice(type!.length + size!.length + ino!.length + nlink!.length + 4) };
    });
}

/** `overlay`: false for a directory that never was an overlay's upper dir (a layer built apart): it
 *  holds no whiteouts nor opaque markers, so no getfattr pass looks for them. */
async function planUpper(upper: string, overlay: boolean): Promise<UpperPlan> {
  // The opaque markers are read (a getfattr process) while the tree is listed. Only character devices
  // (whiteouts?) and opaque directories are stat'ed again.
  const opaqueRead = overlay ? opaqueDirs(upper) : Promise.resolve(new Set<string>());
  opaqueRead.catch(() => undefined);
  const entries = ((await listSmall(upper)) ?? (await listWithFind(upper)))
    // Depth first, siblings in name order: '/' sorts before any character of a name.
    .map((e) => ({ ...e, key: e.rel.replaceAll('/', '\0') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const opaque = await opaqueRead;
  const plan: UpperPlan = { opaque, paths: [], markers: [], size: 0 };
  const inodes = new Set<string>();
  for (const { type, size, ino, nlink, rel: r } of entries) {
    const name = path.posix.basename(r);
    const parent = path.posix.dirname(r) === '.' ? '' : path.posix.dirname(r);
    const st = type === 'c' || (type === 'd' && opaque.has(r)) ? await lstatOrUndefined(path.join(upper, r)) : undefined;
    if (type === 'c' && !st) continue; // gone meanwhile (a running container)
    if (st && isWhiteout(st)) {
      // Docker's overlay whiteout converter: a 0600 empty file named .wh.NAME.
      plan.markers.push({ name: (parent ? parent + '/' : '') + WHITEOUT_PREFIX + name, mode: 0o600, uid: 0, gid: 0, mtime: new Date(Number(st.mtimeMs)) });
      continue;
    }
    plan.paths.push(r);
    if (type === 'f' && !(nlink > 1 && inodes.has(ino))) {
      plan.size += size;
      if (nlink > 1) inodes.add(ino);
    } else if (type === 'l') plan.size += size;
    if (type === 'd' && st) {
      // It inherits the directory's permission bits and owner, as Docker writes it.
      plan.markers.push({ name: `${r}/${WHITEOUT_OPAQUE}`, mode: Number(st.mode) & 0o777, uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeMs)) });
    }
  }
  return plan;
}

/** The whiteout entries as a tar fragment (tar-stream's output without its two closing zero blocks). */
async function markersTar(markers: UpperPlan['markers'], finalize: boolean): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const m of markers) pack.entry({ name: m.name, type: 'file', size: 0, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime }, '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const all = Buffer.concat(chunks);
  return finalize ? all : all.subarray(0, all.length - 1024);
}

export interface LayerTar {
  stream: Readable;
  /** Settles when the whole tar was produced (or failed): Docker's layer size of what it holds. */
  done: Promise<{ size: number }>;
  /** True when the snapshot changed nothing: the tar is the empty archive (Docker's empty layer). */
  empty: boolean;
  /** The directories (relative) marked opaque. */
  opaque: Set<string>;
}

/**
 * The upper dir as an image layer tar, streamed: first the whiteout entries (`.wh.NAME`, `.wh..wh..opq`),
 * then every other entry in name order by GNU tar (owners numeric, hard links, devices, and the
 * `security.capability` xattr as Docker keeps it; overlay's own `trusted.overlay.*` xattrs are left out).
 * The same upper dir always gives the same bytes except for modification times. An unchanged snapshot
 * gives the 1024-byte empty archive, whose digest is Docker's empty layer diff ID.
 */
export async function layerTar(upper: string, opts: { overlay?: boolean } = {}): Promise<LayerTar> {
  const plan = await planUpper(upper, opts.overlay ?? true);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  if (!plan.paths.length) {
    out.end(await markersTar(plan.markers, true));
    return { stream: out, done: Promise.resolve({ size: 0 }), empty: !plan.markers.length, opaque: plan.opaque };
  }
  out.write(await markersTar(plan.markers, false));
  const argv = [
    'tar', '-c', '-f', '-', '-C', upper, '--no-recursion', '--null', '-T', '-', '--numeric-owner', '--format=posix',
    '--pax-option=delete=atime,delete=ctime', '--xattrs', '--xattrs-include=security.capability',
  ];
  const child = startProcess(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.on('error', () => undefined);
  child.stdin.end(plan.paths.map((p) => p + '\0').join(''));
  child.stdout.pipe(out);
  const done = new Promise<{ size: number }>((resolve, reject) => {
    child.on('error', (e) => reject(new CommandError(argv, null, e.message)));
    child.on('close', (code) => {
      // 1: a file changed while it was read (a running container committed without --pause).
      if (code === 0 || code === 1) return resolve({ size: plan.size });
      const err = new CommandError(argv, code, stderr);
      out.destroy(err);
      reject(err);
    });
  });
  done.catch(() => undefined);
  return { stream: out, done, empty: false, opaque: plan.opaque };
}
