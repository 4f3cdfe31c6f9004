// A build step's new layer is the upper dir of its overlay snapshot. The upper dir already has the layer
// store's on-disk form (overlay whiteouts), so it is moved into the layer store as is; the layer tar (whose
// digest is the diff ID) comes from snapshots/diff.ts (whiteouts back to `.wh.` entries), the same
// conversion `commit` uses. The tar is only hashed here: the content store keeps the blob as a lazy record
// and makes the same tar again from the layer's directory when the blob is read (save, push).
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../../lib/fsutil.js';
import type { FileContentStore } from '../../../content/store.js';
import { LAYER_TAR } from '../../images/service.js';
import type { LayerRef } from '../../images/store.js';
import { chainId as chainIdOf, type LayerInfo, type LayerStore } from '../../snapshots/layers.js';
import { layerTar } from '../../snapshots/diff.js';

/** Store the upper dir as a layer over `parent`: directory in the layer store, lazy blob in the content store. */
export async function commitUpper(content: FileContentStore, layers: LayerStore, upperDir: string, parent: string | undefined): Promise<{ ref: LayerRef; info: LayerInfo }> {
  const { stream, done } = await layerTar(upperDir);
  // The blob is the uncompressed layer tar: its digest is the diff ID too.
  const hash = createHash('sha256');
  let tarSize = 0;
  const hashed = (async () => {
    for await (const c of stream) {
      hash.update(c as Buffer);
      tarSize += (c as Buffer).length;
    }
  })();
  const [, { size }] = await Promise.all([hashed, done]);
  const diffId = 'sha256:' + hash.digest('hex');
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
  await content.putLazy(diffId, { size: tarSize, chainId: info.chainId });
  return { ref: { diffId, digest: diffId, mediaType: LAYER_TAR, size: tarSize }, info };
}
