// Layers extracted once each into ROOT/layers/<chainID>/diff, the lower dirs of overlay mounts.
// GNU tar does the extraction (ownership, devices, xattrs, hard links — which Node cannot do
// itself); the same pass hashes the uncompressed stream for the diff ID and spots whiteouts, which
// are then converted to overlayfs form in one batch: `.wh.NAME` → a 0:0 char device NAME,
// `.wh..wh..opq` → xattr trusted.overlay.opaque=y on its directory.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { bunzip2Stream, gunzipStream, unxzStream, unzstdStream } from '../../lib/gzip.js';
import * as tarStream from 'tar-stream';
import { InvalidParameter } from '../../lib/errors.js';
import { CommandError, run, startProcess } from '../../lib/exec.js';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of the layer's files as Docker counts them (image Size, history Size). */
  size: number;
  /** Bytes of the uncompressed layer tar. */
  tarSize: number;
}

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainId(parent: string | undefined, diffId: string): string {
  if (!parent) return diffId;
  return 'sha256:' + createHash('sha256').update(`${parent} ${diffId}`).digest('hex');
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainId(out[out.length - 1], d));
  return out;
}

export type Whiteout = { kind: 'file'; path: string } | { kind: 'opaque'; dir: string };

/** Map a tar entry name to the whiteout it stands for, if any. */
export function whiteoutOf(name: string): Whiteout | undefined {
  const clean = name.replace(/^\.?\//, '').replace(/\/$/, '');
  const base = path.posix.basename(clean);
  const dir = path.posix.dirname(clean);
  if (base === '.wh..wh..opq') return { kind: 'opaque', dir };
  if (base.startsWith('.wh.')) return { kind: 'file', path: path.posix.join(dir, base.slice(4)) };
  return undefined;
}

/** The markers (`.wh.NAME`, `.wh..wh..opq`) a layer's whiteouts leave after extraction. */
export function whiteoutMarkers(whiteouts: Whiteout[]): string[] {
  return whiteouts.map((w) =>
    w.kind === 'opaque' ? path.posix.join(w.dir, '.wh..wh..opq') : path.posix.join(path.posix.dirname(w.path), '.wh.' + path.posix.basename(w.path)),
  );
}

/** A tar of 0:0 character devices, one per whiteout: GNU tar makes them all in one process
 *  (mknod(1) takes one name per process, ~1 ms each). */
export async function whiteoutDevicesTar(whiteouts: Whiteout[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const w of whiteouts) {
    if (w.kind === 'file') pack.entry({ name: w.path, type: 'character-device', devmajor: 0, devminor: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `setfattr --restore` input setting trusted.overlay.opaque=y on each opaque directory: one
 *  process for all. Names are octal-escaped as getfattr dumps them, so any byte is safe. */
export function opaqueRestoreScript(whiteouts: Whiteout[]): string {
  const esc = (p: string) => [...Buffer.from(p)].map((c) => (/[A-Za-z0-9._/+@,=-]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : '\\' + c.toString(8).padStart(3, '0'))).join('');
  return whiteouts
    .filter((w) => w.kind === 'opaque')
    .map((w) => `# file: ${esc(w.kind === 'opaque' ? w.dir : '')}\ntrusted.overlay.opaque="y"\n\n`)
    .join('');
}

/** Convert a layer's whiteouts to overlayfs form inside `diffDir`: markers removed (Node),
 *  then all devices in one tar process and all opaque xattrs in one setfattr process. */
export async function convertWhiteouts(diffDir: string, whiteouts: Whiteout[]): Promise<void> {
  const markers = whiteoutMarkers(whiteouts);
  for (let i = 0; i < markers.length; i += 256) {
    await Promise.all(markers.slice(i, i + 256).map((m) => fs.rm(path.join(diffDir, m), { force: true })));
  }
  const files = whiteouts.filter((w) => w.kind === 'file');
  if (files.length) {
    // A whiteout replaces whatever the layer itself put at that path.
    await Promise.all(files.map((w) => fs.rm(path.join(diffDir, w.path), { recursive: true, force: true })));
    await run(['tar', '-x', '--numeric-owner', '-p', '-C', diffDir], { input: await whiteoutDevicesTar(files) });
  }
  const opaque = opaqueRestoreScript(whiteouts);
  if (opaque) await run(['setfattr', '--restore=-'], { input: opaque, cwd: diffDir });
}

function write(w: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (w.write(chunk)) return resolve();
    const onDrain = () => (w.off('error', reject), resolve());
    w.once('drain', onDrain);
    w.once('error', reject);
  });
}

/** Pipe-sized pieces (64 KiB) joined into ~`min`-byte ones: each piece costs two awaited writes below. */
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

/** gzip, zstd, xz and bzip2 (dockerd's DecompressStream's formats) are detected by their magic bytes, so callers need not know the media type. A failing
 *  source (truncated upload, network error) fails the iteration rather than stalling it. */
export async function* decompressed(src: AsyncIterable<Buffer> | Readable): AsyncGenerator<Buffer> {
  const it = (src as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };
  const decompress = decompressorFor(head);
  if (!decompress) {
    yield* rest();
    return;
  }
  // A failing source destroys the decompressor's output with the error, which ends the loop below.
  for await (const c of decompress(Readable.from(rest()))) yield c as Buffer;
}

/** The formats dockerd's DecompressStream knows, by their magic bytes (a tar starts with a file name). */
function decompressorFor(head: Buffer): ((src: Readable) => Readable) | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return gunzipStream;
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return unzstdStream;
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return unxzStream;
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return bunzip2Stream;
  return undefined;
}

/** Bytes a layer's files take as Docker counts them (overlay2 DiffSize: regular file sizes and
 *  symlink target lengths, hard links once), from a tar header. */
export function entrySize(h: { type?: string | null; size?: number | null; linkname?: string | null }): number {
  if (h.type === 'file' || h.type === 'contiguous-file') return h.size ?? 0;
  if (h.type === 'symlink') return Buffer.byteLength(h.linkname ?? '');
  return 0;
}

/** Normalised member path ("./a/b/" → "a/b"). */
function memberPath(name: string): string {
  return path.posix.normalize(name.replace(/^\.?\/+/, '')).replace(/\/$/, '');
}

/** A member under a symlink that the same layer created could make GNU tar write outside the
 *  layer (tar follows it): such layers are refused. */
function throughSymlink(name: string, symlinks: Set<string>): string | undefined {
  const parts = memberPath(name).split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (symlinks.has(prefix)) return prefix;
  }
  return undefined;
}

export class LayerStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of await fs.readdir(this.dir)) {
      if (name.includes('.tmp-')) await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
    }
  }

  layerDir(chain: string): string {
    return path.join(this.dir, chain.replace('sha256:', ''));
  }

  async info(chain: string): Promise<LayerInfo | undefined> {
    return readJsonIfExists<LayerInfo>(path.join(this.layerDir(chain), 'layer.json'));
  }

  /** Chain IDs from `top` down to the base layer. */
  async ancestry(top: string): Promise<string[]> {
    const out: string[] = [];
    for (let c: string | undefined = top; c; ) {
      const info = await this.info(c);
      if (!info) throw new InvalidParameter(`layer ${c} is missing from the layer store`);
      out.push(c);
      c = info.parent;
    }
    return out;
  }

  /** Extract a layer tar (plain or gzip) over `parent` into its chain ID folder, once: a layer
   *  already extracted is not extracted again. Verifies the diff ID when one is expected. */
  async extract(src: Readable, parent: string | undefined, expectedDiffId?: string): Promise<LayerInfo> {
    if (expectedDiffId) {
      const existing = await this.info(chainId(parent, expectedDiffId));
      if (existing) {
        src.destroy();
        return existing;
      }
    }
    const tmp = path.join(this.dir, `${randomBytes(6).toString('hex')}.tmp-${process.pid}`);
    const diffDir = path.join(tmp, 'diff');
    await fs.mkdir(diffDir, { recursive: true });
    try {
      const { diffId, tarSize, size, whiteouts } = await untar(src, diffDir);
      if (expectedDiffId && diffId !== expectedDiffId) {
        throw new InvalidParameter(`layer diff ID mismatch: expected ${expectedDiffId}, got ${diffId}; the layer was not stored`);
      }
      if (whiteouts.length) await convertWhiteouts(diffDir, whiteouts);
      const info: LayerInfo = { chainId: chainId(parent, diffId), diffId, size, tarSize, ...(parent ? { parent } : {}) };
      await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
      try {
        await fs.rename(tmp, this.layerDir(info.chainId));
      } catch (e) {
        // The same layer was extracted meanwhile (another load): keep that one.
        if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
      return info;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  /** When the layer folder got its name, in ms (GC spares layers fresher than an import in flight). */
  async mtime(chain: string): Promise<number> {
    return (await fs.stat(this.layerDir(chain)).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
  }

  async remove(chain: string): Promise<void> {
    await fs.rm(this.layerDir(chain), { recursive: true, force: true });
  }

  async all(): Promise<string[]> {
    return (await fs.readdir(this.dir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }
}

interface Untarred {
  diffId: string;
  tarSize: number;
  size: number;
  whiteouts: Whiteout[];
}

/** One pass over the (decompressed) layer: hash it for the diff ID, read its headers with
 *  tar-stream (whiteouts, sizes, unsafe paths) and feed GNU tar, which writes the files. */
async function untar(src: Readable, dest: string): Promise<Untarred> {
  const argv = ['tar', '-x', '--numeric-owner', '-p', '--xattrs', '--xattrs-include=*', '-C', dest];
  const tar = startProcess(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d) => (stderr += String(d)));
  tar.stdin.on('error', () => undefined); // an early exit is reported through its exit code
  const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  const whiteouts: Whiteout[] = [];
  const symlinks = new Set<string>();
  let size = 0;
  let unsafe: string | undefined;
  const headers = tarStream.extract();
  headers.on('entry', (h, stream, next) => {
    const w = whiteoutOf(h.name);
    if (w) whiteouts.push(w);
    size += entrySize(h);
    const via = throughSymlink(h.name, symlinks);
    if (via) unsafe ??= `${h.name} lies under the symbolic link ${via} of the same layer`;
    if (h.type === 'symlink') symlinks.add(memberPath(h.name));
    stream.on('end', next);
    stream.resume();
  });
  const parsed = new Promise<void>((resolve, reject) => {
    headers.on('finish', resolve);
    headers.on('error', reject);
  });
  parsed.catch(() => undefined);
  const headersIn = headers as unknown as Writable;
  const hash = createHash('sha256');
  let tarSize = 0;
  // GNU tar takes one chunk while the next is hashed and its headers read: one chunk in flight.
  let inFlight: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of coalesce(decompressed(src), 1 << 20)) {
      hash.update(chunk);
      tarSize += chunk.length;
      // Headers first, so an unsafe member is refused before GNU tar sees its bytes.
      await write(headersIn, chunk);
      if (unsafe) throw new InvalidParameter(`refusing layer: ${unsafe}`);
      await inFlight;
      if (tar.exitCode === null) {
        inFlight = write(tar.stdin, chunk);
        inFlight.catch(() => undefined); // awaited with the next chunk, or below
      }
    }
    await inFlight;
    headersIn.end();
    tar.stdin.end();
  } catch (e) {
    tar.kill();
    await exited;
    if (e instanceof InvalidParameter) throw e;
    throw new InvalidParameter(`reading layer: ${(e as Error).message}`);
  }
  const code = await exited;
  if (code !== 0) throw new CommandError(argv, code, stderr);
  await parsed.catch((e: Error) => {
    throw new InvalidParameter(`invalid layer tar: ${e.message}`);
  });
  return { diffId: 'sha256:' + hash.digest('hex'), tarSize, size, whiteouts };
}
