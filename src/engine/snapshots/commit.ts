// A directory of changes in overlay's form (an active snapshot's upper dir, or a layer built apart) made a
// committed layer: its layer tar (whiteouts back to `.wh.` entries, diff.ts) is hashed for the diff ID and
// the directory is moved into the layer store as is. Used by the snapshotter's commit and by the builder.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../lib/fsutil.js';
import { traced } from '../../lib/trace.js';
import { knowLayerOpaqueDirs, layerTar } from './diff.js';
import { chainId as chainIdOf, type LayerInfo, type LayerStore } from './layers.js';

/** Move `dir` into the layer store as the layer over `parent` (a chain ID); the directory is gone after.
 *  `overlay: false`: `dir` was filled directly, never an overlay's upper dir (no whiteouts to look for). */
export async function commitDir(layers: LayerStore, dir: string, parent: string | undefined, opts: { overlay?: boolean } = {}): Promise<LayerInfo> {
  const { stream, done, opaque } = await traced('commit: plan', layerTar(dir, opts));
  // The blob is the uncompressed layer tar: its digest is the diff ID too.
  const hash = createHash('sha256');
  let tarSize = 0;
  const hashed = (async () => {
    for await (const c of stream) {
      hash.update(c as Buffer);
      tarSize += (c as Buffer).length;
    }
  })();
  const [, { size }] = await traced('commit: tar + hash', Promise.all([hashed, done]));
  const diffId = 'sha256:' + hash.digest('hex');
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
