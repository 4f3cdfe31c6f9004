// Files in and out of a container, as dockerd's archive API does it: stat a path (HEAD .../archive),
// a tar of a path (GET .../archive, `cp CONTAINER:SRC`), a tar extracted into a directory
// (PUT .../archive, `cp SRC CONTAINER:DEST`), and the whole filesystem (`export`).
//
// Paths are container paths. Symlinks are resolved inside the container's root (an absolute link
// target means the container's "/"), so nothing leads outside it. Reading and writing the files is done
// by a helper confined to the container's root, as dockerd confines its archive code: in a private
// mount namespace (the container's volumes and /etc/hosts, /etc/hostname, /etc/resolv.conf bound in,
// so copies see what the container sees), chroot(2) into the rootfs, then Debian's static busybox `tar`
// (bound onto a tmpfs over the container's /proc, which a stopped container's view leaves empty and
// which is hidden from what the helper reads). A symlink the container swaps in while a copy runs can
// therefore lead nowhere but into the container itself.
//
// A stopped container's rootfs is not mounted: its snapshot is borrowed (mounted for the operation);
// a start meanwhile runs on the same mount, a removal waits for the operation to end.
import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { GoMode, goBase, goFileMode, goModeHas, preserveTrailingDotOrSeparator } from '../../lib/copypath.js';
import { InvalidParameter, NotFound, SystemError } from '../../lib/errors.js';
import { CommandError, startProcess } from '../../lib/exec.js';
import { cleanHeader, escapesDestination, extractLinkName, extractName, rebaseEntryName, rewriteTar, stripDotSlash } from '../../lib/tar-rewrite.js';
import type { EventsService } from '../events.js';
import { decompressed } from '../snapshots/layers.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { upperDirOf } from '../snapshots/mount.js';
import type { RootfsMounts } from '../snapshots/rootfs.js';
import { resolveUser } from '../runtime/user.js';
import { containerFiles } from './files.js';
import type { ImagesService } from '../images/service.js';
import { changes, type Change } from '../snapshots/diff.js';
import { commitContainer, type CommitOptions } from './commit.js';
import type { ContainerRecord } from './record.js';
import type { ContainersService } from './service.js';

/** The rewritten archives' buffer: 1 MiB between the helper's tar and the HTTP response. */
const ARCHIVE_BUFFER = { highWaterMark: 1 << 20 };

/** Something mounted into the container at `destination` from the host path `source`. */
export interface ContainerMount {
  destination: string;
  source: string;
  readOnly: boolean;
}

/** Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header). Mode is Go's os.FileMode. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface FilesOptions {
  containers: ContainersService;
  images: ImagesService;
  /** The overlay snapshotter: `docker diff` reads its layers (lowerView). */
  snapshotter: OverlaySnapshotter;
  rootfs: RootfsMounts;
  events: EventsService;
}

const BUSYBOX = '/bin/busybox';
/** Where the helper's busybox lives inside the confined view (a tmpfs over the container's /proc). */
const HELPER_DIR = '/proc/.berth';
const MAX_SYMLINKS = 255;

// ---- paths (Docker's archive path rules) ----

/** The path as Docker takes it: absolute in the container, trailing "/." or "/" kept. */
export function containerAbsPath(p: string): string {
  return preserveTrailingDotOrSeparator(path.posix.join('/', p), p);
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC. */
function goTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, frac ? `.${frac}Z` : 'Z');
}

export function encodePathStat(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

function notFoundError(p: string, ref: string): NotFound {
  return new NotFound(`Could not find the file ${p} in container ${ref}`);
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A container's filesystem as berthd sees it from the host: the rootfs plus what is mounted into it.
 * Container paths map to host paths through the deepest mount above them; symlinks resolve in scope.
 */
export class RootView {
  private readonly mounts: ContainerMount[];

  constructor(
    readonly rootfs: string,
    mounts: ContainerMount[],
  ) {
    this.mounts = [...mounts].sort((a, b) => b.destination.length - a.destination.length);
  }

  /** The mount a clean container path lies in, if any. */
  mountOf(p: string): ContainerMount | undefined {
    return this.mounts.find((m) => p === m.destination || p.startsWith(m.destination === '/' ? '/' : m.destination + '/'));
  }

  /** The host path of a clean (symlink-free) container path. */
  host(p: string): string {
    const m = this.mountOf(p);
    if (!m) return path.join(this.rootfs, p);
    return path.join(m.source, p.slice(m.destination.length));
  }

  async lstat(p: string): Promise<BigIntStats> {
    return fs.lstat(this.host(p), { bigint: true });
  }

  /**
   * moby/sys/symlink's FollowSymlinkInScope: every symlink in `p` resolved with the container's root as
   * "/" ("..” stops there); the last element only when `followLast`. A missing element ends the
   * resolution (the rest is joined as it is). Returns a clean container path. `pending`: symlinks not
   * on disk yet (container path → target) that count as if they were.
   */
  async resolve(p: string, followLast = true, pending?: ReadonlyMap<string, string>): Promise<string> {
    const parts = p.split('/').filter((s) => s !== '' && s !== '.');
    let cur = '/';
    let links = 0;
    while (parts.length) {
      const part = parts.shift()!;
      if (part === '..') {
        cur = path.posix.dirname(cur);
        continue;
      }
      const next = path.posix.join(cur, part);
      if (!followLast && parts.length === 0) return next;
      const pendingTarget = pending?.get(next);
      if (pendingTarget !== undefined) {
        if (++links > MAX_SYMLINKS) throw new InvalidParameter(`too many links in ${p}`);
        if (pendingTarget.startsWith('/')) cur = '/';
        parts.unshift(...pendingTarget.split('/').filter((s) => s !== '' && s !== '.'));
        continue;
      }
      let st: BigIntStats;
      try {
        st = await this.lstat(next);
      } catch (e) {
        if (!isMissing(e)) throw e;
        return path.posix.join(next, ...parts);
      }
      if (!st.isSymbolicLink()) {
        cur = next;
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new InvalidParameter(`too many links in ${p}`);
      const target = await fs.readlink(this.host(next));
      if (target.startsWith('/')) cur = '/';
      parts.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
    }
    return cur;
  }

  /** Docker's container path stat: lstat of the path (the last element followed only for a trailing
   *  "/" or "/."), with the fully resolved target of a symlink. */
  async stat(absPath: string): Promise<PathStat> {
    const trailing = absPath.endsWith('/') || absPath.endsWith('/.');
    const clean = path.posix.normalize(absPath);
    const resolved = trailing ? await this.resolve(clean, true) : path.posix.join(await this.resolve(path.posix.dirname(clean), true), path.posix.basename(clean));
    const st = await this.lstat(resolved === '' ? '/' : resolved);
    const linkTarget = st.isSymbolicLink() ? await this.resolve(resolved, true) : '';
    return { name: goBase(absPath), size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTime(st.mtimeNs), linkTarget };
  }
}

// ---- the confined helper ----

interface HelperBind {
  source: string;
  /** Clean, resolved container path (already existing). */
  destination: string;
  readOnly: boolean;
}

/**
 * Run busybox `args` chrooted into `rootfs` in a private mount namespace, with `binds` bound in first.
 * stdin/stdout are pipes; failure rejects `exited` with the helper's stderr.
 */
function spawnHelper(rootfs: string, binds: HelperBind[], args: string[]): { child: ReturnType<typeof startProcess>; exited: Promise<void> } {
  const script = [
    'set -e',
    'r=$1; shift',
    `mount -t tmpfs -o mode=0755,size=4m berth-archive "$r/proc"`,
    `mkdir "$r${HELPER_DIR}"`,
    `: > "$r${HELPER_DIR}/busybox"`,
    `mount --bind ${BUSYBOX} "$r${HELPER_DIR}/busybox"`,
    'while [ "$1" != "--" ]; do',
    '  mount --rbind "$1" "$r$2"',
    '  if [ "$3" = ro ]; then mount -o remount,bind,ro "$r$2"; fi',
    '  shift 3',
    'done',
    'shift',
    `exec chroot "$r" ${HELPER_DIR}/busybox "$@"`,
  ].join('\n');
  const bindArgs = binds.flatMap((b) => [b.source, b.destination, b.readOnly ? 'ro' : 'rw']);
  const argv = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'berth-archive', rootfs, ...bindArgs, '--', ...args];
  const child = startProcess(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new CommandError(argv, null, e.message)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      // busybox prefixes its messages with "tar: "; the rest is what went wrong inside the container.
      reject(new SystemError(stderr.trim().replace(/^tar: /gm, '') || `archive helper failed (exit ${code})`));
    });
  });
  exited.catch(() => undefined);
  return { child, exited };
}

export class ContainerFilesService {
  /**
   * The container's volumes and the binds it inherited as host paths (destination → source, read-only
   * or not), set by the volumes service; its own host-path binds are read from the host config
   * (`-v /host:/ctr`, `--mount type=bind`).
   */
  volumeMounts?: (rec: ContainerRecord) => ContainerMount[];

  constructor(private readonly o: FilesOptions) {}

  /** What is mounted into the container besides its rootfs, as dockerd's mountVolumes sees it. */
  async mountsOf(rec: ContainerRecord): Promise<ContainerMount[]> {
    const out: ContainerMount[] = [];
    const files = containerFiles(this.o.containers.store.dir(rec.id));
    for (const [destination, source] of [
      ['/etc/hosts', files.hostsPath],
      ['/etc/hostname', files.hostnamePath],
      ['/etc/resolv.conf', files.resolvConfPath],
    ] as const) {
      if (await fs.lstat(source).then(() => true, () => false)) out.push({ destination, source, readOnly: false });
    }
    // Volumes (and binds inherited through --volumes-from) from the volumes service; the container's
    // own binds from its host config.
    if (this.volumeMounts) out.push(...this.volumeMounts(rec));
    for (const b of rec.hostConfig.Binds ?? []) {
      const [source = '', destination = '', mode = ''] = b.split(':');
      if (source.startsWith('/') && destination.startsWith('/')) out.push({ source, destination: path.posix.normalize(destination), readOnly: mode.split(',').includes('ro') });
    }
    for (const m of rec.hostConfig.Mounts ?? []) {
      if (m.Type === 'bind' && m.Source && m.Target) out.push({ source: m.Source, destination: path.posix.normalize(m.Target), readOnly: !!m.ReadOnly });
    }
    return out;
  }

  private emit(rec: ContainerRecord, action: string): void {
    this.o.events.emit('container', action, rec.id, { ...(rec.config.Labels ?? {}), image: rec.imageRef, name: rec.name.slice(1) });
  }

  /** Borrow the container's mounted rootfs for `fn`; the view includes its mounts. */
  private async withView<T>(rec: ContainerRecord, fn: (view: RootView, release: () => Promise<void>) => Promise<T>): Promise<T> {
    if (rec.state.status === 'removing') throw new InvalidParameter(`container ${rec.id} is marked for removal`);
    const rootfs = this.o.containers.rootfs(rec.id);
    const release = await this.o.rootfs.borrow(rec.id, rootfs);
    try {
      return await fn(new RootView(rootfs, await this.mountsOf(rec)), release);
    } catch (e) {
      await release();
      throw e;
    }
  }

  /**
   * The binds the helper makes (parents first), each onto what the rootfs or an outer mount has at its
   * path. A mount point not made yet (a container never started) is made as dockerd's mountVolumes
   * does: a directory, or an empty file for a file source; one whose source is gone is skipped.
   */
  private async helperBinds(view: RootView, mounts: ContainerMount[]): Promise<HelperBind[]> {
    const binds: HelperBind[] = [];
    const outer: ContainerMount[] = [];
    for (const m of [...mounts].sort((a, b) => a.destination.length - b.destination.length)) {
      const under = new RootView(view.rootfs, outer);
      outer.push(m);
      const destination = await under.resolve(m.destination, true);
      const source = await fs.stat(m.source).catch(() => undefined);
      if (!source) continue;
      const target = under.host(destination);
      const st = await fs.lstat(target).catch(() => undefined);
      if (!st) {
        if (source.isDirectory()) await fs.mkdir(target, { recursive: true, mode: 0o755 });
        else {
          await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
          await fs.writeFile(target, '', { flag: 'wx', mode: 0o644 });
        }
      } else if (!st.isDirectory() && !st.isFile()) continue;
      binds.push({ source: m.source, destination, readOnly: m.readOnly });
    }
    return binds;
  }

  /** The helper runs from a tmpfs over the container's /proc: that must be a directory. */
  private async checkProc(view: RootView): Promise<void> {
    const proc = path.join(view.rootfs, 'proc');
    const st = await fs.lstat(proc).catch(() => undefined);
    if (!st) await fs.mkdir(proc, { mode: 0o755 });
    else if (!st.isDirectory()) throw new InvalidParameter('cannot copy files of this container: its /proc is not a directory');
  }

  /** `docker diff`: what the container added (A), changed (C) and deleted (D), against its image. */
  async changes(ref: string): Promise<Change[]> {
    const rec = this.o.containers.store.get(ref);
    const release = this.o.rootfs.hold(rec.id);
    try {
      return await changes(upperDirOf(await this.o.snapshotter.mounts(rec.id)) ?? '', await this.o.snapshotter.lowerView(rec.id));
    } finally {
      release();
    }
  }

  /** `docker commit`: see commit.ts. */
  async commit(ref: string, opts: CommitOptions): Promise<string> {
    return commitContainer({ containers: this.o.containers, images: this.o.images, snapshotter: this.o.snapshotter, rootfs: this.o.rootfs, events: this.o.events }, ref, opts);
  }

  /** HEAD /containers/{id}/archive. */
  async statPath(ref: string, p: string): Promise<PathStat> {
    const rec = this.o.containers.store.get(ref);
    return this.withView(rec, async (view, release) => {
      try {
        return await view.stat(containerAbsPath(p));
      } catch (e) {
        if (isMissing(e)) throw notFoundError(p, ref);
        throw e;
      } finally {
        await release();
      }
    });
  }

  /** GET /containers/{id}/archive: the stat, and a tar of the path whose entries start with its base name. */
  async archivePath(ref: string, p: string): Promise<{ stat: PathStat } & Archive> {
    const rec = this.o.containers.store.get(ref);
    return this.withView(rec, async (view, release) => {
      const absPath = containerAbsPath(p);
      let stat: PathStat;
      try {
        stat = await view.stat(absPath);
      } catch (e) {
        if (isMissing(e)) throw notFoundError(p, ref);
        throw e;
      }
      const isDir = goModeHas(stat.mode, GoMode.Dir);
      const clean = path.posix.normalize(absPath);
      // As dockerd: a directory is archived as "." inside it, anything else by name from its parent;
      // the first element is then renamed to the base name the caller asked for.
      const sourceDir = isDir ? await view.resolve(clean, true) : await view.resolve(path.posix.dirname(clean), true);
      const sourceBase = isDir ? '.' : path.posix.basename(clean);
      const rebaseName = goBase(absPath);
      await this.checkProc(view);
      const binds = await this.helperBinds(view, await this.mountsOf(rec));
      const { child, exited } = spawnHelper(view.rootfs, binds, ['tar', '-c', '-f', '-', '-C', sourceDir, sourceBase]);
      child.stdin!.end();
      const rebase = rebaseEntryName(sourceBase, rebaseName);
      const { out, done: rewritten } = rewriteTar(child.stdout!, (h) => {
        const name = sourceBase === '.' ? '.' + (stripDotSlash(h.name) ? '/' + stripDotSlash(h.name) : '') : stripDotSlash(h.name);
        if (isHelperPath(path.posix.join(sourceDir, name))) return null;
        const link = h.type === 'link' && h.linkname ? rebase(sourceBase === '.' ? './' + stripDotSlash(h.linkname) : stripDotSlash(h.linkname)) : undefined;
        return cleanHeader(h, rebase(name), link);
      }, ARCHIVE_BUFFER);
      const done = Promise.all([exited, rewritten]).then(() => undefined);
      done.catch((e: Error) => out.destroy(e)).finally(() => void release());
      this.emit(rec, 'archive-path');
      return { stat, stream: out, done, abort: () => abortHelper(child, out) };
    });
  }

  /**
   * PUT /containers/{id}/archive: extract a tar (plain or gzip) into the directory at `p`. With
   * `noOverwriteDirNonDir` (the docker CLI always sets it) a directory is never replaced by a file nor a
   * file by a directory; with `copyUIDGID` the files belong to the container's user (Config.User).
   */
  async extractToDir(ref: string, p: string, body: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}): Promise<void> {
    const rec = this.o.containers.store.get(ref);
    await this.withView(rec, async (view, release) => {
      try {
        const absPath = containerAbsPath(p);
        const dest = await view.resolve(absPath, true);
        let st: BigIntStats;
        try {
          st = await view.lstat(dest);
        } catch (e) {
          if (isMissing(e)) throw notFoundError(p, ref);
          throw e;
        }
        if (!st.isDirectory()) throw new InvalidParameter('extraction point is not a directory');
        const mount = view.mountOf(dest);
        if (mount?.readOnly) throw new InvalidParameter('mounted volume is marked read-only');
        if (!mount && rec.hostConfig.ReadonlyRootfs) throw new InvalidParameter('container rootfs is marked read-only');
        let owner: { uid: number; gid: number } | undefined;
        if (opts.copyUIDGID && rec.config.User) owner = await resolveUser(view.rootfs, rec.config.User);
        await this.checkProc(view);
        const binds = await this.helperBinds(view, await this.mountsOf(rec));
        await this.extract(view, dest, body, binds, { owner, noOverwriteDirNonDir: opts.noOverwriteDirNonDir ?? false });
      } finally {
        await release();
      }
    });
    this.emit(rec, 'extract-to-dir');
  }

  private async extract(view: RootView, dest: string, body: Readable, binds: HelperBind[], o: { owner?: { uid: number; gid: number }; noOverwriteDirNonDir: boolean }): Promise<void> {
    const src = Readable.from(decompressed(body));
    let failure: Error | undefined;
    // busybox tar makes the archive's symlinks (and hard links) only once every file is written, so an
    // entry through a symlink made earlier in the same archive would land in a new directory and the
    // link then fail: a partial extraction. So each entry is placed here, in the container's scope,
    // through those links as through the ones on disk (as dockerd's chrooted extraction does), and the
    // helper extracts at "/".
    const madeLinks = new Map<string, string>();
    const place = async (p: string) => path.posix.join(await view.resolve(path.posix.dirname(p), true, madeLinks), path.posix.basename(p));
    const { out, done: rewritten } = rewriteTar(src, async (h) => {
      const name = extractName(h.name);
      if (name === '.' || name === '') return null; // the destination itself is left as it is
      if (escapesDestination(name)) throw (failure = new InvalidParameter(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}`));
      let linkname: string | undefined;
      if (h.type === 'link') {
        const link = extractLinkName(h.linkname);
        if (escapesDestination(link)) throw (failure = new InvalidParameter(`invalid hardlink ${JSON.stringify(path.posix.join(dest, link))} -> ${JSON.stringify(h.name)}`));
        linkname = (await place(path.posix.join(dest, link))).slice(1);
      }
      const target = await place(path.posix.join(dest, name));
      if (target === '/') return null;
      if (h.type === 'symlink') madeLinks.set(target, h.linkname ?? '');
      else madeLinks.delete(target);
      if (o.noOverwriteDirNonDir) {
        const existing = await view.lstat(target).catch(() => undefined);
        const isDir = h.type === 'directory';
        if (existing?.isDirectory() && !isDir) throw (failure = new InvalidParameter(`cannot overwrite directory ${JSON.stringify(target)} with non-directory ${JSON.stringify(dest)}`));
        if (existing && !existing.isDirectory() && isDir) throw (failure = new InvalidParameter(`cannot overwrite non-directory ${JSON.stringify(target)} with directory ${JSON.stringify(dest)}`));
      }
      const header = cleanHeader(h, target.slice(1), linkname);
      if (o.owner) Object.assign(header, o.owner);
      return header;
    }, ARCHIVE_BUFFER);
    const { child, exited } = spawnHelper(view.rootfs, binds, ['tar', '-x', '--numeric-owner', '-f', '-', '-C', '/']);
    out.pipe(child.stdin!);
    // A refused entry or a broken upload stops the helper where it is (what it wrote before stays, as with dockerd).
    rewritten.catch(() => {
      child.stdin!.destroy();
      child.kill('SIGKILL');
    });
    const results = await Promise.allSettled([rewritten, exited]);
    if (failure) throw failure;
    for (const r of results) if (r.status === 'rejected') throw r.reason instanceof Error && r.reason.message.startsWith('Unexpected end') ? new InvalidParameter(`invalid tar archive: ${r.reason.message}`) : r.reason;
  }

  /** `export`: the container's whole filesystem (volumes excluded, as in Docker) as a tar. */
  async export(ref: string): Promise<Archive> {
    const rec = this.o.containers.store.get(ref);
    return this.withView(rec, async (view, release) => {
      await this.checkProc(view);
      const { child, exited } = spawnHelper(view.rootfs, [], ['tar', '-c', '-f', '-', '-C', '/', '.']);
      child.stdin!.end();
      const { out, done: rewritten } = rewriteTar(child.stdout!, (h) => {
        const name = stripDotSlash(h.name);
        if (!name || isHelperPath('/' + name)) return null;
        return cleanHeader(h, name, h.type === 'link' ? stripDotSlash(h.linkname ?? '') : undefined);
      }, ARCHIVE_BUFFER);
      const done = Promise.all([exited, rewritten]).then(() => undefined);
      done.catch((e: Error) => out.destroy(e)).finally(() => void release());
      this.emit(rec, 'export');
      return { stream: out, done, abort: () => abortHelper(child, out) };
    });
  }
}

function isHelperPath(containerPath: string): boolean {
  const p = path.posix.normalize(containerPath);
  return p === HELPER_DIR || p.startsWith(HELPER_DIR + '/');
}

/** An archive being produced by the helper. */
export interface Archive {
  stream: Readable;
  /** Settles when the whole archive was produced (the borrowed rootfs is released then). */
  done: Promise<void>;
  /** Stop producing it (the reader went away). */
  abort: () => void;
}

function abortHelper(child: ReturnType<typeof startProcess>, out: PassThrough): void {
  child.kill('SIGKILL');
  out.destroy();
}

/** Pipe a produced archive to a response, ending it; a reader that goes away stops the helper, and a
 *  failure cuts the response off (a tar without its end blocks is visibly truncated). */
export async function sendArchive(a: Archive, res: Writable): Promise<void> {
  let finished = false;
  res.once('close', () => {
    if (!finished) a.abort();
  });
  a.stream.pipe(res);
  try {
    await a.done;
  } catch {
    res.destroy();
  } finally {
    finished = true;
  }
}
