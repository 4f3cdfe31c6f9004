// A directory of changes in overlay's form (an active snapshot's upper dir, or a layer built apart) made a
// committed layer: its layer tar (whiteouts back to `.wh.` entries, diff.ts) is hashed for the diff ID and
// the directory is moved into the layer store as is. Used by the snapshotter's commit and by the builder,
// which may hash a layer while its next steps run (builder/executors/pending.ts): hence two halves.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../lib/fsutil.js';
import { traced } from '../../lib/trace.js';
import { knowLayerOpaqueDirs, layerTar } from './diff.js';
import { chainId as chainIdOf, type LayerInfo, type LayerStore } from './layers.js';

/** What hashing a layer dir found: its diff ID, sizes, and its opaque directories. */
export interface HashedLayer {
  diffId: string;
  /** Bytes of the layer's files. */
  size: number;
  /** Bytes of its uncompressed tar. */
  tarSize: number;
  opaque: Set<string>;
}

/** The diff ID of a layer dir: the sha256 of its layer tar (the blob is the uncompressed tar).
 *  `planned` learns the opaque directories as soon as they are read, before the hashing. */
export async function hashLayerDir(dir: string, opts: { overlay?: boolean } = {}, planned?: (opaque: Set<string>) => void): Promise<HashedLayer> {
  const { stream, done, opaque } = await traced('commit: plan', layerTar(dir, opts));
  planned?.(opaque);
  const hash = createHash('sha256');
  let tarSize = 0;
  const hashed = (async () => {
    for await (const c of stream) {
      hash.update(c as Buffer);
      tarSize += (c as Buffer).length;
    }
  })();
  const [, { size }] = await traced('commit: tar + hash', Promise.all([hashed, done]));
  return { diffId: 'sha256:' + hash.digest('hex'), size, tarSize, opaque };
}

/** Move a hashed `dir` into the layer store as the layer over `parent` (a chain ID); the directory is gone after. */
export async function storeLayerDir(layers: LayerStore, dir: string, parent: string | undefined, hashed: HashedLayer): Promise<LayerInfo> {
  const { diffId, size, tarSize, opaque } = hashed;
  const info: LayerInfo = { chainId: chainIdOf(parent, diffId), diffId, size, tarSize, ...(parent ? { parent } : {}) };
  const dest = layers.layerDir(info.chainId);
  if (!(await layers.info(info.chainId))) {
    // The same layer may be committed meanwhile (two build stages): each moves its directory into its own
    // temporary folder (the layer store's init removes those) and the first rename wins.
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp-${process.pid}`;
    await fs.mkdir(tmp, { recursive: true });
    await fs.rename(dir, path.join(tmp, 'diff'));
    await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
    try {
      await fs.rename(tmp, dest);
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
  knowLayerOpaqueDirs(path.join(dest, 'diff'), opaque);
  return info;
}

/** Hash `dir` and move it into the layer store as the layer over `parent`; the directory is gone after.
 *  `overlay: false`: `dir` was filled directly, never an overlay's upper dir (no whiteouts to look for). */
export async function commitDir(layers: LayerStore, dir: string, parent: string | undefined, opts: { overlay?: boolean } = {}): Promise<LayerInfo> {
  return storeLayerDir(layers, dir, parent, await hashLayerDir(dir, opts));
}
