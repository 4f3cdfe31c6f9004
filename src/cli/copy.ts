// Copying files between the local filesystem and a container (`docker cp`, `docker compose cp`): the
// docker CLI's behaviour, messages and copy rules (docker/cli cp.go with moby/go-archive's
// CopyTo/PrepareArchiveCopy on this side; the daemon's archive API on the other).
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { copyStream } from '../lib/stdcopy.js';
import {
  GoMode,
  assertsDirectory,
  getRebaseName,
  goBase,
  goClean,
  goModeHas,
  hasTrailingSeparator,
  preserveTrailingDotOrSeparator,
  splitPathDirEntry,
} from '../lib/copypath.js';
import { startProcess } from '../lib/exec.js';
import { escapesDestination, extractLinkName, extractName, rebaseArchive, rewriteTar } from '../lib/tar-rewrite.js';
import { humanSize } from '../lib/units.js';
import { StatusError, writeOut, type Context } from './command.js';

const enc = encodeURIComponent;

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName: string;
}

/** A Go-style error text for a failed file-system call: "lstat /x: no such file or directory". */
function fsError(e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  if (!err.code || !err.syscall) return err;
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'not a directory',
    EACCES: 'permission denied',
    EEXIST: 'file exists',
    EISDIR: 'is a directory',
  };
  return new StatusError(`${err.syscall} ${err.path ?? ''}: ${text[err.code] ?? err.message}`, 1);
}

async function lstatGo(p: string): Promise<Stats> {
  return fs.lstat(p).catch((e: unknown) => {
    throw fsError(e);
  });
}

function decodeStat(header: string | string[] | undefined): PathStat {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) throw new StatusError('unable to get resource stat from response', 1);
  return JSON.parse(Buffer.from(raw, 'base64').toString()) as PathStat;
}

/** Copy an archive to stdout; a reader that goes away (`| head`) ends the copy quietly. */
export async function toStdout(ctx: Context, src: Readable): Promise<void> {
  let closed = false;
  const onError = () => {
    closed = true;
    src.destroy();
  };
  ctx.stdout.on('error', onError);
  try {
    await copyStream(src, ctx.stdout);
  } catch (e) {
    if (!closed) throw e;
  } finally {
    ctx.stdout.off('error', onError);
  }
}

/** docker's splitCpArg: "container:path", or a local path (absolute, or starting with "."). */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.slice(0, i).startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

function resolveLocalPath(p: string): string {
  return preserveTrailingDotOrSeparator(path.resolve(p), p);
}

/** command.ValidateOutputPathFileMode. */
function validateFileMode(mode: number): string | undefined {
  if (goModeHas(mode, GoMode.Device)) return 'got a device';
  if (goModeHas(mode, GoMode.Irregular)) return 'got an irregular file';
  return undefined;
}

/** command.ValidateOutputPath: the parent exists; an existing path is a directory or a regular file. */
async function validateOutputPath(p: string): Promise<void> {
  const dir = path.dirname(goClean(p));
  if (dir && dir !== '.') {
    const st = await fs.stat(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
    if (st === null) throw new StatusError(`invalid output path: directory ${JSON.stringify(dir)} does not exist`, 1);
  }
  const st = await fs.stat(p).catch(() => undefined);
  if (st && !st.isDirectory() && !st.isFile()) throw new StatusError(`invalid output path: ${JSON.stringify(p)} must be a directory or a regular file`, 1);
}

/** archive.PrepareArchiveCopy: where to extract, and the archive renamed for the destination. */
function prepareArchiveCopy(src: Readable, srcInfo: CopyInfo, dstInfo: CopyInfo): { dstDir: string; content: Readable } {
  const { dir: dstDir, base: dstBase } = splitPathDirEntry(dstInfo.path);
  let srcBase = splitPathDirEntry(srcInfo.path).base;
  if (dstInfo.exists && dstInfo.isDir) return { dstDir: dstInfo.path, content: src };
  if (dstInfo.exists && srcInfo.isDir) throw new StatusError('cannot copy directory', 1);
  if (!dstInfo.exists && !srcInfo.isDir && assertsDirectory(dstInfo.path)) throw new StatusError('no such directory', 1);
  if (srcInfo.rebaseName) srcBase = srcInfo.rebaseName;
  return { dstDir, content: rebaseArchive(src, srcBase, dstBase) };
}

/** archive.CopyInfoDestinationPath on the local side: symlinks followed, the parent must exist. */
async function copyInfoDestinationPath(p: string): Promise<CopyInfo> {
  let cur = p;
  let st = await fs.lstat(cur).catch(() => undefined);
  for (let n = 0; st?.isSymbolicLink(); n++) {
    if (n > 10) throw new StatusError(`too many symlinks in ${p}`, 1);
    let target = await fs.readlink(cur);
    if (!target.startsWith('/')) target = path.join(splitPathDirEntry(cur).dir, target);
    cur = target;
    st = await fs.lstat(cur).catch(() => undefined);
  }
  if (st) return { path: cur, exists: true, isDir: st.isDirectory(), rebaseName: '' };
  const parent = splitPathDirEntry(cur).dir;
  const pst = await fs.stat(parent).catch((e: unknown) => {
    throw fsError(e);
  });
  if (!pst.isDirectory()) throw new StatusError('not a directory', 1);
  return { path: cur, exists: false, isDir: false, rebaseName: '' };
}

/** Extract a tar from a container into a local directory, with docker's checks (nothing outside the
 *  directory, no directory replaced by a file or the reverse); owners kept only with -a. */
async function untarLocal(content: Readable, dstDir: string, keepOwners: boolean): Promise<void> {
  const { out: checked } = rewriteTar(content, async (h) => {
    const name = extractName(h.name);
    if (name === '.' || name === '') return null;
    if (escapesDestination(name)) throw new StatusError(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dstDir)}`, 1);
    const target = path.join(dstDir, name);
    if (h.type === 'link') {
      const link = extractLinkName(h.linkname);
      if (escapesDestination(link)) throw new StatusError(`invalid hardlink ${JSON.stringify(path.join(dstDir, link))} -> ${JSON.stringify(h.name)}`, 1);
    }
    const existing = await fs.lstat(target).catch(() => undefined);
    if (existing?.isDirectory() && h.type !== 'directory') throw new StatusError(`cannot overwrite directory ${JSON.stringify(target)} with non-directory ${JSON.stringify(dstDir)}`, 1);
    if (existing && !existing.isDirectory() && h.type === 'directory') throw new StatusError(`cannot overwrite non-directory ${JSON.stringify(target)} with directory ${JSON.stringify(dstDir)}`, 1);
    return { ...h, name, uname: '', gname: '', pax: undefined };
  });
  const argv = ['tar', '-x', '-f', '-', '-C', dstDir, '-p', keepOwners ? '--same-owner' : '--no-same-owner', '--numeric-owner'];
  const child = startProcess(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let failure: Error | undefined;
  checked.on('error', (e) => {
    failure = e;
    child.stdin.destroy();
    child.kill();
  });
  checked.pipe(child.stdin);
  const code = await exited;
  if (failure) throw failure;
  if (code !== 0) throw new StatusError(stderr.trim() || `tar failed (exit ${code})`, 1);
}

export interface CpConfig {
  container: string;
  sourcePath: string;
  destPath: string;
  followLink: boolean;
  copyUIDGID: boolean;
  quiet: boolean;
}

async function statPath(ctx: Context, container: string, p: string): Promise<PathStat> {
  const res = await ctx.client().request({ method: 'HEAD', path: `/containers/${enc(container)}/archive`, query: { path: p } });
  res.resume();
  return decodeStat(res.headers['x-docker-container-path-stat']);
}

export async function copyFromContainer(ctx: Context, c: CpConfig): Promise<void> {
  let dstPath = c.destPath;
  let srcPath = c.sourcePath;
  if (dstPath !== '-') dstPath = resolveLocalPath(dstPath);
  await validateOutputPath(dstPath);
  let rebaseName = '';
  if (c.followLink) {
    const st = await statPath(ctx, c.container, srcPath).catch(() => undefined);
    if (st && goModeHas(st.mode, GoMode.Symlink)) {
      let target = st.linkTarget;
      if (!target.startsWith('/')) target = path.posix.join(splitPathDirEntry(srcPath).dir, target);
      ({ resolved: srcPath, rebaseName } = getRebaseName(srcPath, target));
    }
  }
  const res = await ctx.client().request({ path: `/containers/${enc(c.container)}/archive`, query: { path: srcPath } });
  const stat = decodeStat(res.headers['x-docker-container-path-stat']);
  if (dstPath === '-') {
    await toStdout(ctx, res);
    return;
  }
  const isDir = goModeHas(stat.mode, GoMode.Dir);
  // The response stays paused while the destination is looked at (a 'data' listener would set it flowing
  // and drop what arrives before tar reads it): counted as it is piped.
  const dstInfo = await copyInfoDestinationPath(dstPath);
  const counted = countBytes(res);
  let content: Readable = counted.stream;
  if (rebaseName) content = rebaseArchive(content, splitPathDirEntry(srcPath).base, rebaseName);
  const copied = () => counted.bytes;
  const prepared = prepareArchiveCopy(content, { path: srcPath, exists: true, isDir, rebaseName }, dstInfo);
  await untarLocal(prepared.content, prepared.dstDir, c.copyUIDGID);
  if (!c.quiet) await writeOut(ctx.stderr, `Successfully copied ${humanSize(isDir ? copied() : stat.size)} to ${dstPath}\n`);
}

/** `src` passed through, its bytes counted (a 'data' listener on `src` itself would set it flowing before
 *  anything reads it). */
function countBytes(src: Readable): { stream: Readable; readonly bytes: number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  src.once('error', (e) => stream.destroy(e));
  src.pipe(stream);
  return {
    stream,
    get bytes() {
      return bytes;
    },
  };
}

/** archive.CopyInfoSourcePath: symlinks before the last element resolved (the last one too with -L). */
async function copyInfoSourcePath(p: string, followLink: boolean): Promise<CopyInfo> {
  let resolved: string;
  let rebaseName = '';
  if (followLink) {
    const real = await fs.realpath(p).catch((e: unknown) => {
      throw fsError(e);
    });
    ({ resolved, rebaseName } = getRebaseName(p, real));
  } else {
    const { dir, base } = { dir: p.slice(0, p.lastIndexOf('/') + 1) || '.', base: p.slice(p.lastIndexOf('/') + 1) };
    const realDir = await fs.realpath(dir).catch((e: unknown) => {
      throw fsError(e);
    });
    resolved = (realDir === '/' ? '' : realDir) + '/' + base;
    if (hasTrailingSeparator(p) && goBase(p) !== goBase(resolved)) rebaseName = goBase(p);
  }
  const st = await lstatGo(resolved);
  return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName };
}

/** archive.TarResource: the resource by its base name (renamed to rebaseName), numeric owners. */
function tarResource(info: CopyInfo): Readable {
  const { dir, base } = splitPathDirEntry(info.path);
  const argv = ['tar', '-c', '-f', '-', '-C', dir, '--numeric-owner', '--', base];
  const child = startProcess(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => (code === 0 ? out.end() : out.destroy(new StatusError(stderr.trim() || `tar failed (exit ${code})`, 1))));
  return info.rebaseName ? rebaseArchive(out, base, info.rebaseName) : out;
}

/** localContentSize: regular file bytes under a path. */
async function localContentSize(p: string): Promise<number> {
  const st = await fs.lstat(p);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let total = 0;
  for (const e of await fs.readdir(p, { withFileTypes: true })) {
    if (e.isDirectory()) total += await localContentSize(path.join(p, e.name));
    else if (e.isFile()) total += (await fs.lstat(path.join(p, e.name))).size;
  }
  return total;
}

export async function copyToContainer(ctx: Context, c: CpConfig): Promise<void> {
  let srcPath = c.sourcePath;
  const dstPath = c.destPath;
  if (srcPath !== '-') srcPath = resolveLocalPath(srcPath);
  const dstInfo: CopyInfo = { path: dstPath, exists: false, isDir: false, rebaseName: '' };
  let dst = await statPath(ctx, c.container, dstPath).catch(() => undefined);
  if (dst) {
    if (goModeHas(dst.mode, GoMode.Symlink)) {
      let target = dst.linkTarget;
      if (!target.startsWith('/')) target = path.posix.join(splitPathDirEntry(dstPath).dir, target);
      dstInfo.path = target;
      dst = await statPath(ctx, c.container, target).catch(() => undefined);
    }
    if (dst) {
      const bad = validateFileMode(dst.mode);
      if (bad) throw new StatusError(`destination "${c.container}:${dstPath}" must be a directory or a regular file: ${bad}`, 1);
      dstInfo.exists = true;
      dstInfo.isDir = goModeHas(dst.mode, GoMode.Dir);
    }
  }
  let content: Readable;
  let resolvedDst: string;
  let size = -1;
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new StatusError(`destination "${c.container}:${dstPath}" must be a directory`, 1);
    content = ctx.stdin;
    resolvedDst = dstInfo.path;
  } else {
    const srcInfo = await copyInfoSourcePath(srcPath, c.followLink);
    size = await localContentSize(srcInfo.path).catch(() => -1);
    const prepared = prepareArchiveCopy(tarResource(srcInfo), srcInfo, dstInfo);
    content = prepared.content;
    resolvedDst = prepared.dstDir;
  }
  const counted = countBytes(content);
  await ctx.client().call({
    method: 'PUT',
    path: `/containers/${enc(c.container)}/archive`,
    query: { path: resolvedDst, noOverwriteDirNonDir: true, copyUIDGID: c.copyUIDGID || undefined },
    input: counted.stream,
  });
  if (!c.quiet) await writeOut(ctx.stderr, `Successfully copied ${humanSize(size >= 0 ? size : counted.bytes)} to ${c.container}:${dstPath}\n`);
}
