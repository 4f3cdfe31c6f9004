// A build step's new layer is the upper dir of its overlay snapshot (or a directory a COPY --link filled),
// committed into the layer store as it is (snapshots/commit.ts). The tar is only hashed there: the content
// store keeps the blob as a lazy record and makes the same tar again from the layer's directory when the
// blob is read (save, push).
import type { FileContentStore } from '../../../content/store.js';
import { LAYER_TAR } from '../../images/service.js';
import type { LayerRef } from '../../images/store.js';
import { commitDir } from '../../snapshots/commit.js';
import type { LayerInfo, LayerStore } from '../../snapshots/layers.js';

/** Store the upper dir as a layer over `parent`: directory in the layer store, lazy blob in the content store. */
export async function commitUpper(content: FileContentStore, layers: LayerStore, upperDir: string, parent: string | undefined, opts: { overlay?: boolean } = {}): Promise<{ ref: LayerRef; info: LayerInfo }> {
  const info = await commitDir(layers, upperDir, parent, opts);
  await content.putLazy(info.diffId, { size: info.tarSize, chainId: info.chainId });
  return { ref: { diffId: info.diffId, digest: info.diffId, mediaType: LAYER_TAR, size: info.tarSize }, info };
}
