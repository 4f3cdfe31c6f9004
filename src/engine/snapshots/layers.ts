// Layers extracted once each into ROOT/layers/<chainID>/diff, the lower dirs of overlay mounts.
// GNU tar does the extraction (ownership, devices, xattrs, hard links — which Node cannot do
// itself); the same pass hashes the uncompressed stream for the diff ID and spots whiteouts, which
// are then converted to overlayfs form in one batch: `.wh.NAME` → a 0:0 char device NAME,
// `.wh..wh..opq` → xattr trusted.overlay.opaque=y on its directory.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { InvalidParameter } from '../../lib/errors.js';
import { CommandError, run } from '../../lib/exec.js';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of the uncompressed layer tar. */
  size: number;
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

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One shell script for all whiteouts of a layer: one process instead of one per entry. */
export function whiteoutScript(whiteouts: Whiteout[]): string {
  const lines = ['set -e'];
  for (const w of whiteouts) {
    if (w.kind === 'opaque') {
      lines.push(`rm -f -- ${shQuote(path.posix.join(w.dir, '.wh..wh..opq'))}`);
      lines.push(`setfattr -n trusted.overlay.opaque -v y -- ${shQuote(w.dir)}`);
    } else {
      const marker = path.posix.join(path.posix.dirname(w.path), '.wh.' + path.posix.basename(w.path));
      lines.push(`rm -f -- ${shQuote(marker)}`);
      lines.push(`rm -rf -- ${shQuote(w.path)}`);
      lines.push(`mknod -- ${shQuote(w.path)} c 0 0`);
    }
  }
  return lines.join('\n') + '\n';
}

function write(w: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (w.write(chunk)) return resolve();
    const onDrain = () => (w.off('error', reject), resolve());
    w.once('drain', onDrain);
    w.once('error', reject);
  });
}

/** gzip is detected by its magic bytes, so callers need not know the media type. */
export async function* decompressed(src: Readable): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value as Buffer;
  const rest = Readable.from(
    (async function* () {
      yield head;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
    })(),
  );
  const stream = head[0] === 0x1f && head[1] === 0x8b ? rest.pipe(createGunzip()) : rest;
  for await (const c of stream) yield c as Buffer;
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

  /** Extract a layer tar (plain or gzip) over `parent`. Verifies the diff ID when one is expected. */
  async extract(src: Readable, parent: string | undefined, expectedDiffId?: string): Promise<LayerInfo> {
    if (expectedDiffId) {
      const existing = await this.info(chainId(parent, expectedDiffId));
      if (existing) {
        src.resume();
        return existing;
      }
    }
    const tmp = path.join(this.dir, `${randomBytes(6).toString('hex')}.tmp-${process.pid}`);
    const diffDir = path.join(tmp, 'diff');
    await fs.mkdir(diffDir, { recursive: true });
    try {
      const { diffId, size, whiteouts } = await this.untar(src, diffDir);
      if (expectedDiffId && diffId !== expectedDiffId) {
        throw new InvalidParameter(`layer diff ID mismatch: expected ${expectedDiffId}, got ${diffId}`);
      }
      if (whiteouts.length) await run(['sh', '-c', whiteoutScript(whiteouts)], { cwd: diffDir });
      const info: LayerInfo = { chainId: chainId(parent, diffId), diffId, size, ...(parent ? { parent } : {}) };
      await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
      try {
        await fs.rename(tmp, this.layerDir(info.chainId));
      } catch (e) {
        // Another extraction of the same layer won the race: keep theirs.
        if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
      return info;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  private async untar(src: Readable, dest: string): Promise<{ diffId: string; size: number; whiteouts: Whiteout[] }> {
    const argv = ['tar', '-x', '--numeric-owner', '-p', '--xattrs', '--xattrs-include=*', '-C', dest];
    const tar = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
    const whiteouts: Whiteout[] = [];
    const headers = tarStream.extract();
    const headersIn = headers as unknown as Writable;
    headers.on('entry', (h, stream, next) => {
      const w = whiteoutOf(h.name);
      if (w) whiteouts.push(w);
      stream.on('end', next);
      stream.resume();
    });
    const parsed = new Promise<void>((resolve, reject) => {
      headers.on('finish', resolve);
      headers.on('error', reject);
    });
    const hash = createHash('sha256');
    let size = 0;
    tar.stdin.on('error', () => undefined);
    try {
      for await (const chunk of decompressed(src)) {
        hash.update(chunk);
        size += chunk.length;
        await Promise.all([write(headersIn, chunk), tar.exitCode === null ? write(tar.stdin, chunk) : Promise.resolve()]);
      }
      headersIn.end();
      tar.stdin.end();
    } catch (e) {
      tar.kill();
      throw new InvalidParameter(`reading layer: ${(e as Error).message}`);
    }
    const code = await exited;
    if (code !== 0) throw new CommandError(argv, code, stderr);
    await parsed.catch((e: Error) => {
      throw new InvalidParameter(`invalid layer tar: ${e.message}`);
    });
    return { diffId: 'sha256:' + hash.digest('hex'), size, whiteouts };
  }

  async remove(chain: string): Promise<void> {
    await fs.rm(this.layerDir(chain), { recursive: true, force: true });
  }

  async all(): Promise<string[]> {
    return (await fs.readdir(this.dir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }
}
