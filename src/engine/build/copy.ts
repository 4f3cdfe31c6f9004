// COPY and ADD as Docker does them: sources (with wildcards) inside their root, a directory's contents
// copied rather than the directory, a destination that is a directory when it ends in "/" or there are
// several sources, owner 0:0 unless --chown, modes and modification times kept unless --chmod, symlinks
// copied as symlinks, and every path resolved inside its root (a symlink in the image cannot lead a copy
// out of it). The content hash of the sources (names, modes, link targets, bytes — not times) keys the cache.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../lib/errors.js';
import { inParallel } from '../../lib/concurrency.js';

export interface CopyOwner {
  uid: number;
  gid: number;
}

/** Resolve `p` (absolute, in the root's terms) inside `root`, following symlinks without leaving it. */
export async function resolveInRoot(root: string, p: string, followLast = true): Promise<string> {
  const parts = p.split('/').filter((x) => x && x !== '.');
  let cur = '/';
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '..') {
      cur = path.posix.dirname(cur);
      continue;
    }
    const next = path.posix.join(cur, part);
    const last = i === parts.length - 1;
    const st = await fs.lstat(path.join(root, next)).catch(() => undefined);
    if (st?.isSymbolicLink() && (!last || followLast)) {
      if (++hops > 40) throw new InvalidParameter(`too many levels of symbolic links in ${p}`);
      const target = await fs.readlink(path.join(root, next));
      const rest = parts.slice(i + 1);
      parts.splice(0, parts.length, ...(target.startsWith('/') ? target : path.posix.join(cur, target)).split('/').filter((x) => x && x !== '.'), ...rest);
      cur = '/';
      i = -1;
      continue;
    }
    cur = next;
  }
  return path.join(root, cur);
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
    const full = await resolveInRoot(root, '/' + clean);
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

/** Content hash of the sources for the cache key: paths, types, modes, link targets and bytes. */
export async function hashSources(root: string, sources: string[]): Promise<string> {
  // Names first (one readdir per directory), then the entries read many at a time, hashed in name order.
  const names: string[] = [];
  const list = async (rel: string): Promise<void> => {
    names.push(rel);
    const st = await fs.lstat(path.join(root, rel));
    if (!st.isDirectory()) return;
    for (const n of (await fs.readdir(path.join(root, rel))).sort()) await list(path.posix.join(rel, n));
  };
  for (const s of sources) await list(s);
  const digests: string[] = new Array(names.length);
  await inParallel(
    names.map((rel, i) => async () => {
      const full = path.join(root, rel);
      const st = await fs.lstat(full);
      const h = createHash('sha256').update(`${rel}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(await fs.readlink(full));
      else if (st.isFile()) {
        if (st.size < 1 << 20) h.update(await fs.readFile(full));
        else for await (const c of createReadStream(full)) h.update(c as Buffer);
      }
      digests[i] = h.digest('hex');
    }),
    32,
  );
  return createHash('sha256').update(digests.join('\n')).digest('hex');
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
}

/** Copy the (already expanded) sources into the destination root with Docker's rules. */
export async function copyFiles(req: CopyRequest): Promise<void> {
  const asDir = req.destIsDir || req.sources.length > 1;
  for (const src of req.sources) {
    const from = await resolveInRoot(req.srcRoot, '/' + src);
    const st = await fs.stat(from).catch(() => fs.lstat(from));
    if (st.isDirectory()) {
      const to = await ensureDir(req.destRoot, req.dest, req.owner);
      await copyTree(from, to, req.owner, req.mode);
    } else {
      const target = asDir ? path.posix.join(req.dest, path.posix.basename(src)) : req.dest;
      if (asDir) await ensureDir(req.destRoot, req.dest, req.owner);
      else await ensureDir(req.destRoot, path.posix.dirname(req.dest), req.owner);
      const parent = await resolveInRoot(req.destRoot, path.posix.dirname(target));
      let to = path.join(parent, path.posix.basename(target));
      const existing = await fs.stat(to).catch(() => undefined);
      if (existing?.isDirectory()) to = path.join(to, path.posix.basename(src));
      await copyEntry(from, to, st, req.owner, req.mode);
    }
  }
}

/** mkdir -p inside the root; new directories get the copy's owner (Docker's --chown applies to them). */
async function ensureDir(root: string, dir: string, owner?: CopyOwner): Promise<string> {
  const parts = dir.split('/').filter(Boolean);
  let cur = '/';
  for (const part of parts) {
    const next = await resolveInRoot(root, path.posix.join(cur, part));
    const st = await fs.stat(next).catch(() => undefined);
    if (!st) {
      await fs.mkdir(next, { mode: 0o755 });
      await fs.lchown(next, owner?.uid ?? 0, owner?.gid ?? 0);
    } else if (!st.isDirectory()) throw new InvalidParameter(`cannot copy to ${dir}: ${path.posix.join(cur, part)} is not a directory`);
    cur = path.posix.join(cur, part);
  }
  return resolveInRoot(root, dir);
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
