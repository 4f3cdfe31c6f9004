// Shared by the inventory's sources (stored image, archive, remote): layers as LayerRefs, the reader
// that catalogues each layer once, and the final merge into an ImageSbom.
import type { ImageSbom, LayerRef } from '../../api/sbom.js';
import type { OciImageConfig } from '../../api/image-config.js';
import { assemble } from './assemble.js';
import type { LayerFacts } from './fragments.js';
import type { LayerView } from './view.js';

/** The layers as LayerRefs: diff IDs and, from history, the step that made each (empty layers skipped). */
export function layerRefs(config: OciImageConfig): LayerRef[] {
  const steps = (config.history ?? []).filter((h) => !h.empty_layer);
  return config.rootfs.diff_ids.map((diffId, index) => ({ index, diffId, ...(steps[index]?.created_by ? { createdBy: steps[index]!.created_by } : {}) }));
}

/** Catalogues a layer once per diff ID: cached facts, or the view read now (and cached). */
export interface LayerReader {
  facts(diffId: string, view: () => Promise<LayerView>): Promise<LayerFacts>;
  /** Only the cache (for sources that cannot choose which layers to read). */
  cached(diffId: string): Promise<LayerFacts | undefined>;
  store(diffId: string, facts: LayerFacts): Promise<void>;
}

export function sbomOf(image: ImageSbom['image'], layers: { ref: LayerRef; facts: LayerFacts }[]): ImageSbom {
  const inv = assemble(layers);
  return { image, ...(inv.distro ? { distro: inv.distro } : {}), layers: layers.map((l) => l.ref), packages: inv.packages, warnings: inv.warnings };
}
