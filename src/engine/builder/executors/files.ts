// COPY and ADD as Docker does them: sources (with wildcards) inside their root, a directory's contents
// copied rather than the directory, a destination that is a directory when it ends in "/" or there are
// several sources, owner 0:0 unless --chown, modes and modification times kept unless --chmod, symlinks
// copied as symlinks, and every path resolved inside its root (a symlink in the image cannot lead a copy
// out of it). The content hash of the sources that keys the cache is digests.ts's.
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../../lib/errors.js';
import { run, startProcess, type ChildProcess } from '../../../lib/exec.js';
import { secureJoin } from '../../../lib/securejoin.js';

export interface CopyOwner {
  uid: number;
  gid: number;
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expand a source pattern (relative to the root) into the matching paths, in name order. */
export async function expandSource(root: string, pattern: string): Promise<string[]> {
  const clean = path.posix.normalize('/' + pattern).slice(1) || '.';
  if (!/[*?[]/.test(clean)) {
    const full = await secureJoin(root, '/' + clean);
    return (await fs.lstat(full).catch(() => undefined)) ? [clean] : [];
  }
  let matches = [''];
  for (const seg of clean.split('/')) {
    const next: string[] = [];
    for (const base of matches) {
      if (!/[*?[]/.test(seg)) {
        next.push(path.posix.join(base, seg));
        continue;
      }
      const re = globToRegExp(seg);
      const names = await fs.readdir(path.join(root, base)).catch(() => [] as string[]);
      for (const n of names.sort()) if (re.test(n)) next.push(path.posix.join(base, n));
    }
    matches = next;
  }
  const out: string[] = [];
  for (const m of matches) if (await fs.lstat(path.join(root, m)).catch(() => undefined)) out.push(m);
  return out;
}

export interface CopyRequest {
  srcRoot: string;
  sources: string[];
  destRoot: string;
  /** Absolute path in the image (WORKDIR already applied). */
  dest: string;
  /** The destination was written with a trailing slash. */
  destIsDir: boolean;
  owner?: CopyOwner;
  mode?: number;
  /** Set when the sources are a kept context (immutable files owned by root): hard links then replace copies. */
  links?: HardLinks;
}

/** Copying by hard links: the links go straight into the snapshot's upper dir (links cannot cross the
 *  overlay mount), after it is unmounted. Only files that need no other owner or mode are linked, so the
 *  shared inode is never changed; overlayfs never writes a lower layer's file in place. */
export interface HardLinks {
  /** The upper-dir path of a path in the mounted rootfs. */
  upperOf(mergedPath: string): string;
  /** Sources read through a mount of image layers (COPY --from): the file in its layer dir to link, when
   *  the copy would be that very file (same owner and mode); undefined to copy it. Unset: the sources are
   *  a kept context, whose files are linked as they are. */
  layerFile?(src: string, from: string, st: Stats, owner: CopyOwner | undefined): Promise<string | undefined>;
  /** Links to make once the overlay is unmounted. */
  pending: (() => Promise<void>)[];
}

/** Copy the (already expanded) sources into the destination root with Docker's rules. */
export async function copyFiles(req: CopyRequest): Promise<void> {
  const asDir = req.destIsDir || req.sources.length > 1;
  for (const src of req.sources) {
    const from = await secureJoin(req.srcRoot, '/' + src);
    const st = await fs.stat(from).catch(() => fs.lstat(from));
    if (st.isDirectory()) {
      const to = await ensureDir(req.destRoot, req.dest, req.owner);
      // Into an empty directory nothing in the image can redirect a path: hard links, or GNU tar, copy the
      // tree far faster than one file at a time. Elsewhere each path is resolved inside the root.
      const empty = req.mode === undefined && !(await fs.readdir(to)).length;
      if (empty && linkable(req) && !req.links!.layerFile) await linkLater(req.links!, to, () => linkTree(from, req.links!.upperOf(to)));
      else if (empty) await copyTreeWithTar(from, to, req.owner);
      else await copyTree(from, to, req.owner, req.mode);
    } else {
      const target = asDir ? path.posix.join(req.dest, path.posix.basename(src)) : req.dest;
      if (asDir) await ensureDir(req.destRoot, req.dest, req.owner);
      else await ensureDir(req.destRoot, path.posix.dirname(req.dest), req.owner);
      const parent = await secureJoin(req.destRoot, path.posix.dirname(target));
      let to = path.join(parent, path.posix.basename(target));
      const existing = await fs.stat(to).catch(() => undefined);
      if (existing?.isDirectory()) to = path.join(to, path.posix.basename(src));
      const linkFrom = st.isFile() && path.dirname(to) === parent ? await linkSource(req, src, from, st) : undefined;
      if (linkFrom) {
        const upper = req.links!.upperOf(to);
        // What the merged view holds there now (a directory cannot be replaced by a file).
        const existing = await fs.lstat(to).catch(() => undefined);
        if (existing?.isDirectory()) throw new InvalidParameter(`cannot overwrite directory ${to} with a file`);
        await linkLater(req.links!, parent, async () => {
          await fs.rm(upper, { force: true });
          await fs.link(linkFrom, upper).catch(async (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EXDEV') throw e;
            await copyEntry(from, upper, st);
          });
        });
      } else await copyEntry(from, to, st, req.owner, req.mode);
    }
  }
}

/** mkdir -p inside the root (symlinks followed in scope; an existing directory is fine); new directories
 *  get `owner` (Docker's --chown, WORKDIR's USER). `what` names the step's purpose in the refusal. */
export async function ensureDir(root: string, dir: string, owner?: CopyOwner, what = 'copy to'): Promise<string> {
  const parts = dir.split('/').filter(Boolean);
  let cur = '/';
  for (const part of parts) {
    const next = await secureJoin(root, path.posix.join(cur, part));
    const st = await fs.stat(next).catch(() => undefined);
    if (!st) {
      await fs.mkdir(next, { mode: 0o755 });
      await fs.lchown(next, owner?.uid ?? 0, owner?.gid ?? 0);
    } else if (!st.isDirectory()) throw new InvalidParameter(`cannot ${what} ${dir}: ${path.posix.join(cur, part)} is not a directory`);
    cur = path.posix.join(cur, part);
  }
  return secureJoin(root, dir);
}

function linkable(req: CopyRequest): boolean {
  return !!req.links && req.mode === undefined && (req.owner?.uid ?? 0) === 0 && (req.owner?.gid ?? 0) === 0;
}

/** The file to hard-link for a source file, or undefined to copy it. */
async function linkSource(req: CopyRequest, src: string, from: string, st: Stats): Promise<string | undefined> {
  if (!req.links || req.mode !== undefined) return undefined;
  if (req.links.layerFile) return req.links.layerFile(src, from, st, req.owner);
  return linkable(req) ? from : undefined;
}

/** Queue `link` for after the unmount. The directory it writes into is copied up now (a chown to its own
 *  owner is enough), so it exists in the upper dir with its metadata. */
async function linkLater(links: HardLinks, dir: string, link: () => Promise<void>): Promise<void> {
  const st = await fs.lstat(dir);
  await fs.lchown(dir, st.uid, st.gid);
  links.pending.push(link);
}

/** The contents of `from` hard-linked into `to` (directories made anew with their metadata); `to` keeps its own. */
async function linkTree(from: string, to: string): Promise<void> {
  const st = await fs.lstat(to, { bigint: true });
  let r = await run(['cp', '-a', '-l', '--', from + '/.', to + '/'], { allowFailure: true });
  // Another file system under the daemon's root: copies, then.
  if (r.exitCode !== 0 && /cross-device/i.test(r.stderr)) r = await run(['cp', '-a', '--', from + '/.', to + '/'], { allowFailure: true });
  if (r.exitCode !== 0) throw new InvalidParameter(`copying ${from}: ${r.stderr.trim()}`);
  await fs.lchown(to, Number(st.uid), Number(st.gid));
  await fs.chmod(to, Number(st.mode) & 0o7777);
  await fs.utimes(to, Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
}

/** The contents of `from` into the empty directory `to`, owned by `owner` (else root), modes and times kept. */
async function copyTreeWithTar(from: string, to: string, owner?: CopyOwner): Promise<void> {
  const names = await fs.readdir(from);
  if (!names.length) return;
  const ids = [`--owner=${owner?.uid ?? 0}`, `--group=${owner?.gid ?? 0}`, '--numeric-owner'];
  const pack = startProcess('tar', ['-c', '-f', '-', '-C', from, ...ids, '--null', '--verbatim-files-from', '-T', '-']);
  const unpack = startProcess('tar', ['-x', '-f', '-', '-C', to, '--same-owner', '--same-permissions', '--numeric-owner'], { stdio: ['pipe', 'ignore', 'pipe'] });
  pack.stdin!.end(names.map((n) => n + '\0').join(''));
  pack.stdout!.pipe(unpack.stdin!);
  unpack.stdin!.on('error', () => undefined);
  const exited = (c: ChildProcess, what: string) =>
    new Promise<void>((resolve, reject) => {
      let err = '';
      c.stderr!.on('data', (d) => (err += String(d)));
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve() : reject(new InvalidParameter(`copying ${from}: tar ${what} failed: ${err.trim()}`))));
    });
  await Promise.all([exited(pack, 'create'), exited(unpack, 'extract')]);
}

async function copyTree(from: string, to: string, owner?: CopyOwner, mode?: number): Promise<void> {
  for (const name of await fs.readdir(from)) {
    const s = path.join(from, name);
    const st = await fs.lstat(s);
    const d = path.join(to, name);
    if (st.isDirectory()) {
      const existing = await fs.lstat(d).catch(() => undefined);
      if (existing && !existing.isDirectory()) await fs.rm(d, { force: true });
      if (!existing?.isDirectory()) await fs.mkdir(d);
      await copyTree(s, d, owner, mode);
      await setMeta(d, st, owner, mode);
    } else await copyEntry(s, d, st, owner, mode);
  }
}

async function copyEntry(from: string, to: string, st: Stats, owner?: CopyOwner, mode?: number): Promise<void> {
  const existing = await fs.lstat(to).catch(() => undefined);
  if (existing?.isDirectory() && !st.isDirectory()) throw new InvalidParameter(`cannot overwrite directory ${to} with a file`);
  if (existing) await fs.rm(to, { force: true });
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(from), to);
    await fs.lchown(to, owner?.uid ?? 0, owner?.gid ?? 0);
    return;
  }
  if (st.isFile()) await fs.copyFile(from, to);
  else if (st.isDirectory()) await fs.mkdir(to);
  else throw new InvalidParameter(`cannot copy ${path.basename(from)}: only regular files, directories and symbolic links can be copied`);
  await setMeta(to, st, owner, mode);
}

async function setMeta(p: string, st: Stats, owner?: CopyOwner, mode?: number): Promise<void> {
  await fs.lchown(p, owner?.uid ?? 0, owner?.gid ?? 0);
  await fs.chmod(p, mode ?? st.mode & 0o7777);
  await fs.utimes(p, st.atime, st.mtime);
}
