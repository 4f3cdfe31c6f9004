// Layers extracted once each into ROOT/layers/<chainID>/diff, the lower dirs of overlay mounts.
// GNU tar processes do the extraction (extract.ts, run on a worker thread: extract-worker.ts); the same
// pass hashes the uncompressed stream for the diff ID and spots whiteouts, which are then converted to
// overlayfs form in one batch: `.wh.NAME` → a 0:0 char device NAME, `.wh..wh..opq` → xattr
// trusted.overlay.opaque=y on its directory.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { InvalidParameter } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { readJsonIfExists, spreadSubfolders, writeJsonAtomic } from '../../lib/fsutil.js';
import { untarOffThread } from './extract-worker.js';
import { traced, traceStart } from '../../lib/trace.js';
import type { Whiteout } from './layer-tar.js';

export { decompressed, entrySize, whiteoutOf, type Whiteout } from './layer-tar.js';

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

export class LayerStore {
  /** Layers a build made before their diff IDs are known (builder/executors/pending.ts), by provisional
   *  chain ID: their folders (outside the store, or moved into it since) and provisional infos. They are
   *  the lower dirs of the build's next steps, so every lookup by chain ID sees them; never on disk. */
  private readonly staged = new Map<string, { dir: string; info: LayerInfo }>();

  constructor(readonly dir: string) {}

  stage(info: LayerInfo, dir: string): void {
    this.staged.set(info.chainId, { dir, info });
  }

  unstage(chain: string): void {
    this.staged.delete(chain);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    spreadSubfolders(this.dir);
    for (const name of await fs.readdir(this.dir)) {
      if (name.includes('.tmp-')) await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
    }
  }

  layerDir(chain: string): string {
    return this.staged.get(chain)?.dir ?? path.join(this.dir, chain.replace('sha256:', ''));
  }

  async info(chain: string): Promise<LayerInfo | undefined> {
    const staged = this.staged.get(chain);
    if (staged) return staged.info;
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
      const { diffId, tarSize, size, whiteouts } = await untarOffThread(src, diffDir);
      if (expectedDiffId && diffId !== expectedDiffId) {
        throw new InvalidParameter(`layer diff ID mismatch: expected ${expectedDiffId}, got ${diffId}; the layer was not stored`);
      }
      if (whiteouts.length) await traced('extract: whiteouts', convertWhiteouts(diffDir, whiteouts));
      const saved = traceStart('extract: layer.json + rename');
      const info: LayerInfo = { chainId: chainId(parent, diffId), diffId, size, tarSize, ...(parent ? { parent } : {}) };
      await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
      try {
        await fs.rename(tmp, this.layerDir(info.chainId));
      } catch (e) {
        // The same layer was extracted meanwhile (another load): keep that one.
        if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
      saved();
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
