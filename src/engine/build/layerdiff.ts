// A build step's new layer is the upper dir of its overlay snapshot. The upper dir already has the layer
// store's on-disk form (overlay whiteouts), so it is moved into the layer store as is; the layer tar for
// the content store (and the diff ID) comes from snapshots/diff.ts (whiteouts back to `.wh.` entries),
// the same conversion `commit` uses.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../lib/fsutil.js';
import type { ContentStore } from '../content/store.js';
import { LAYER_TAR } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import { chainId as chainIdOf, type LayerInfo, type LayerStore } from '../snapshots/layers.js';
import { layerTar } from '../snapshots/diff.js';

/** Store the upper dir as a layer over `parent`: blob in the content store, directory in the layer store. */
export async function commitUpper(content: ContentStore, layers: LayerStore, upperDir: string, parent: string | undefined): Promise<{ ref: LayerRef; info: LayerInfo }> {
  const { stream, done } = await layerTar(upperDir);
  // The blob is the uncompressed layer tar: its digest is the diff ID too, hashed once.
  const [blob, { size }] = await Promise.all([content.put(stream), done]);
  const diffId = blob.digest;
  const tarSize = blob.size;
  const info: LayerInfo = { chainId: chainIdOf(parent, diffId), diffId, size, tarSize, ...(parent ? { parent } : {}) };
  const dest = layers.layerDir(info.chainId);
  if (!(await layers.info(info.chainId))) {
    // Two stages can make the same layer at the same time: each moves its upper dir into its own
    // temporary folder and the first rename wins.
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp-${process.pid}`;
    await fs.mkdir(tmp, { recursive: true });
    await fs.rename(upperDir, path.join(tmp, 'diff'));
    await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
    try {
      await fs.rename(tmp, dest);
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
  return { ref: { diffId, digest: blob.digest, mediaType: LAYER_TAR, size: blob.size }, info };
}
