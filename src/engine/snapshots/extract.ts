// A layer tar written into an empty directory by GNU tar (ownership, devices, xattrs, hard links — which
// Node cannot do itself), spread over several tar processes. Creating a file is mostly a wait on the
// file system (~0.5 ms a create on this machine's ext4, latency rather than CPU: four tar processes
// extract four copies of the Debian base in 3.6 s where one takes 5.2 s), so creations in parallel
// overlap. One pass over the stream hashes it for the diff ID, reads each header (whiteouts, sizes,
// unsafe paths) and sends each member's raw records to a tar process:
//   - files, symbolic links, devices and FIFOs: to one of the workers, by their folder;
//   - directories and hard links: to a last tar run once the workers are done, so a directory gets its
//     mode, owner and times after everything in it was made (as GNU tar itself sets them at its end),
//     and a hard link's target exists;
//   - once a member could depend on the order of the ones before (a path seen twice, a path under one
//     that was not a directory, a global pax header, a member type not listed above), it and all the
//     rest go to the last tar, in order, after the workers: the result is the one a single tar gives.
// No byte of a member reaches a tar before its header was checked.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameter } from '../../lib/errors.js';
import { CommandError, startProcess } from '../../lib/exec.js';
import { TarFormatError, TarWalker, type TarMember } from '../../lib/tar-walk.js';
import { decompressed, entrySize, whiteoutOf, type Whiteout } from './layer-tar.js';
import { traceStart } from '../../lib/trace.js';

/** Workers for one layer: creations overlap well beyond the core count on a waiting disk. */
const WORKERS = Math.min(8, Math.max(2, availableParallelism() * 2));
/** The first members go to one worker: a small layer (a build's, a config file) needs one process. */
const HEAD_MEMBERS = 256;
/** Records held for the last tar before it may start; beyond this the rest goes serially. */
const MAX_HELD = 32 << 20;
const END_OF_ARCHIVE = Buffer.alloc(1024);
/** Bytes queued for one tar before the stream waits for it. */
const BACKLOG = 8 << 20;

export interface Untarred {
  diffId: string;
  tarSize: number;
  size: number;
  whiteouts: Whiteout[];
}

type Dest = number | 'last';

/** Member types a worker may make in any order relative to the others (the rest go serially). */
const PARALLEL_TYPES = new Set(['file', 'symlink', 'character-device', 'block-device', 'fifo', 'directory', 'link']);

/** One `tar -x` process fed through its stdin. */
class TarProcess {
  private readonly child;
  private stderr = '';
  private readonly exited: Promise<number>;
  private readonly argv: string[];

  constructor(dest: string) {
    this.argv = ['tar', '-x', '--numeric-owner', '-p', '--xattrs', '--xattrs-include=*', '-C', dest];
    this.child = startProcess(this.argv[0]!, this.argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d) => (this.stderr += String(d)));
    this.child.stdin!.on('error', () => undefined); // an early exit is reported through its exit code
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? 1)));
  }

  /** Queue `parts` for tar; waits only while more than BACKLOG bytes wait for it, so each worker goes at
   *  its own pace (a round's bytes mostly go to one or two of them). */
  write(parts: Buffer[]): Promise<void> {
    const stdin = this.child.stdin!;
    if (this.child.exitCode !== null) return Promise.resolve();
    for (const p of parts) stdin.write(p);
    if (stdin.writableLength <= BACKLOG) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => (stdin.off('drain', done), stdin.off('close', done), resolve());
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }

  /** End the archive and wait for tar; throws with its message when it failed. */
  async close(): Promise<void> {
    await this.write([END_OF_ARCHIVE]);
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0) throw new CommandError(this.argv, code, this.stderr);
  }

  async kill(): Promise<void> {
    this.child.kill();
    await this.exited;
  }
}

/** Where each member goes, and what the checks learn on the way. */
class Router {
  readonly whiteouts: Whiteout[] = [];
  size = 0;
  /** Set once the rest of the archive must go to the last tar, in order. */
  serial = false;
  private members = 0;
  private readonly seen = new Set<string>();
  private readonly notDirs = new Set<string>();
  private readonly symlinks = new Set<string>();
  /** Folders the workers' members need, made before those members are sent (see `untar`). */
  private readonly folders = new Set<string>();
  private newFolders: string[] = [];

  constructor(private readonly workers: number) {}

  /** Folders to make before this round's bytes reach the workers. */
  takeFolders(): string[] {
    const out = this.newFolders;
    this.newFolders = [];
    return out;
  }

  route = (m: TarMember): Dest => {
    const p = memberPath(m.name);
    const underNonDir = this.underNonDirectory(m, p);
    const w = whiteoutOf(m.name);
    if (w) this.whiteouts.push(w);
    this.size += entrySize(m);
    if (!this.serial && this.dependsOnOrder(m, p, underNonDir)) this.serial = true;
    this.seen.add(p);
    if (m.type !== 'directory') this.notDirs.add(p);
    if (m.type === 'symlink') this.symlinks.add(p);
    if (this.serial || m.type === 'directory' || m.type === 'link') return 'last';
    const folder = p.slice(0, Math.max(0, p.lastIndexOf('/')));
    if (folder && !this.folders.has(folder)) {
      this.folders.add(folder);
      this.newFolders.push(folder);
    }
    return this.members++ < HEAD_MEMBERS ? 0 : folderHash(p) % this.workers;
  };

  /** Whether an earlier member of this layer that is not a directory lies on `p`'s way. One that is a
   *  symbolic link could make GNU tar write outside the layer (tar follows it): such layers are refused. */
  private underNonDirectory(m: TarMember, p: string): boolean {
    let found = false;
    for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
      const prefix = p.slice(0, i);
      if (this.symlinks.has(prefix)) throw new InvalidParameter(`refusing layer: ${m.name} lies under the symbolic link ${prefix} of the same layer`);
      if (this.notDirs.has(prefix)) found = true;
    }
    return found;
  }

  private dependsOnOrder(m: TarMember, p: string, underNonDir: boolean): boolean {
    // GNU tar refuses names with "..": it says so itself, in order.
    if (p === '..' || p.startsWith('../')) return true;
    return !PARALLEL_TYPES.has(m.type) || this.seen.has(p) || underNonDir;
  }
}

/** Normalised member path ("./a/b/" → "a/b"). */
export function memberPath(name: string): string {
  return path.posix.normalize(name.replace(/^\.?\/+/, '')).replace(/\/$/, '');
}

/** FNV-1a of the member's folder: a folder's files go to one worker (its directory lock stays with one). */
function folderHash(p: string): number {
  const end = p.lastIndexOf('/');
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Decompress, hash, check and extract a layer into the empty directory `dest`. */
export async function untar(src: Readable, dest: string): Promise<Untarred> {
  const router = new Router(WORKERS);
  const walker = new TarWalker<Dest>(router.route);
  const workers: (TarProcess | undefined)[] = [];
  let last: TarProcess | undefined;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const hash = createHash('sha256');
  let tarSize = 0;
  // One round of writes in flight while the next chunk is hashed and its headers read.
  let inFlight: Promise<unknown> = Promise.resolve();
  const startLast = async () => {
    await inFlight;
    await Promise.all(workers.map((w) => w?.close()));
    workers.length = 0;
    last = new TarProcess(dest);
    if (held.length) await last.write(held);
    held = [];
  };
  const streamed = traceStart('extract: stream');
  try {
    for await (const chunk of coalesce(decompressed(src), 1 << 20)) {
      hash.update(chunk);
      tarSize += chunk.length;
      if (walker.atEnd) continue;
      const out = walker.push(chunk);
      const lastParts = out.get('last');
      out.delete('last');
      if (lastParts && !last) {
        held.push(...lastParts);
        heldBytes += lastParts.reduce((n, b) => n + b.length, 0);
        if (heldBytes > MAX_HELD) router.serial = true;
      }
      // GNU tar makes a missing folder itself, but fails when another tar makes it between its open's
      // ENOENT and its mkdir; so the workers' folders are made first (as tar would: 0777 less the umask).
      // The last tar then gives the ones the archive lists their mode, owner and times.
      const folders = router.takeFolders();
      await inFlight;
      if (folders.length) await Promise.all(folders.map((f) => fs.mkdir(path.join(dest, f), { recursive: true, mode: 0o777 })));
      const writes: Promise<void>[] = [];
      for (const [i, parts] of out as Map<number, Buffer[]>) writes.push((workers[i] ??= new TarProcess(dest)).write(parts));
      if (router.serial && !last) {
        await Promise.all(writes);
        await startLast();
      } else if (lastParts && last) writes.push(last.write(lastParts));
      inFlight = Promise.all(writes);
      inFlight.catch(() => undefined); // awaited with the next chunk, or below
    }
    walker.finish();
    await inFlight;
    streamed();
  } catch (e) {
    await Promise.all([...workers, last].map((w) => w?.kill()));
    if (e instanceof InvalidParameter || e instanceof CommandError) throw e;
    if (e instanceof TarFormatError) throw new InvalidParameter(`invalid layer tar: ${e.message}`);
    throw new InvalidParameter(`reading layer: ${(e as Error).message}`);
  }
  try {
    const closed = traceStart('extract: workers close');
    await Promise.all(workers.map((w) => w?.close()));
    closed();
    const lastDone = traceStart('extract: last tar');
    if (!last && held.length) await startLast();
    await last?.close();
    lastDone();
  } catch (e) {
    await Promise.all([...workers, last].map((w) => w?.kill()));
    throw e;
  }
  return { diffId: 'sha256:' + hash.digest('hex'), tarSize, size: router.size, whiteouts: router.whiteouts };
}

/** Pipe-sized pieces (64 KiB) joined into ~`min`-byte ones: each piece costs awaited writes above. */
async function* coalesce(src: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const c of src) {
    parts.push(c);
    size += c.length;
    if (size >= min) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size) yield Buffer.concat(parts, size);
}
