// The SBOM service: the package inventory of an image, read from its layers without running it.
// `inventoryOf(source)` takes a stored image, an image archive (`docker save` tar) or a remote
// reference (layers fetched from the registry, nothing stored as an image). Each layer is catalogued
// once (cache.ts) and the layers are merged with their whiteouts (assemble.ts).
import path from 'node:path';
import type { ImageSbom } from '../../api/sbom.js';
import type { AuthConfig } from '../../distribution/auth.js';
import type { ImagesService } from '../images/service.js';
import { LayerCache } from './cache.js';
import { catalogueLayer } from './catalogue.js';
import type { LayerFacts } from './fragments.js';
import { dirView, type LayerView } from './view.js';
import { chainIds } from '../snapshots/layers.js';
import { archiveInventory } from './archive.js';
import { remoteInventory } from './remote.js';
import { layerRefs, sbomOf, type LayerReader } from './inventory.js';

export { layerRefs, sbomOf, type LayerReader } from './inventory.js';

/** What to inventory: a stored image (name or ID), an image archive on the daemon's host, or a remote reference. */
export type SbomSource = { image: string } | { archive: string } | { remote: string; auth?: AuthConfig; platform?: string };

export interface SbomOptions {
  root: string;
  images: ImagesService;
  /** Registries where plain HTTP is allowed (berthd --insecure-registry). */
  insecure?: string[];
}

export class SbomService implements LayerReader {
  readonly cache: LayerCache;
  /** Layers being catalogued, so two requests for one image read each layer once. */
  private readonly inFlight = new Map<string, Promise<LayerFacts>>();

  constructor(private readonly o: SbomOptions) {
    this.cache = new LayerCache(o.root);
  }

  /** Drop cached layers no stored image uses (at start: remote and archive layers are not kept across restarts). */
  async prune(): Promise<void> {
    await this.cache.prune(new Set(this.o.images.store.all().flatMap((r) => r.layers.map((l) => l.diffId))));
  }

  async inventoryOf(source: SbomSource): Promise<ImageSbom> {
    if ('image' in source) return this.ofImage(source.image);
    if ('archive' in source) return archiveInventory(source.archive, this);
    return remoteInventory(source.remote, { auth: source.auth ?? {}, platform: source.platform, insecure: this.o.insecure ?? [] }, this);
  }

  async facts(diffId: string, view: () => Promise<LayerView>): Promise<LayerFacts> {
    const hit = await this.cache.get(diffId);
    if (hit) return hit;
    let p = this.inFlight.get(diffId);
    if (!p) {
      p = (async () => {
        const facts = await catalogueLayer(await view());
        await this.cache.put(diffId, facts);
        return facts;
      })().finally(() => this.inFlight.delete(diffId));
      this.inFlight.set(diffId, p);
    }
    return p;
  }

  /** Push the image's SBOM (CycloneDX) to a registry as an OCI 1.1 referrer of `ref`'s manifest. */
  async attach(image: string, ref: string, auth: AuthConfig): Promise<{ digest: string; subject: string; artifactType: string }> {
    const { attachSbom } = await import('./attach.js');
    return attachSbom(await this.inventoryOf({ image }), ref, { auth, insecure: this.o.insecure ?? [] });
  }

  cached(diffId: string): Promise<LayerFacts | undefined> {
    return this.cache.get(diffId);
  }

  store(diffId: string, facts: LayerFacts): Promise<void> {
    return this.cache.put(diffId, facts);
  }

  private async ofImage(name: string): Promise<ImageSbom> {
    const images = this.o.images;
    const rec = await images.resolve(name);
    const config = await images.imageConfig(rec.id);
    const refs = layerRefs(config);
    const chains = chainIds(refs.map((r) => r.diffId));
    const layers = await Promise.all(
      refs.map(async (ref, i) => ({ ref, facts: await this.facts(ref.diffId, async () => dirView(path.join(images.layers.layerDir(chains[i]!), 'diff'))) })),
    );
    return sbomOf({ id: rec.id, repoTags: rec.repoTags, repoDigests: rec.repoDigests, os: config.os, architecture: config.architecture }, layers);
  }
}

