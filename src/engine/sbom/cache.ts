// The per-layer cache: what a layer holds for the inventory (its LayerFacts), on disk under
// ROOT/sbom/layers/<diff ID hex>.json and in memory, keyed by diff ID — a layer's content never changes,
// so a second inventory of the image, or of another image sharing its base, reads only new layers.
// Entries written by another cataloguer version are ignored (and replaced).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';
import { CATALOGUER_VERSION } from './catalogue.js';
import type { LayerFacts } from './fragments.js';

interface Entry {
  version: number;
  diffId: string;
  facts: LayerFacts;
}

const MEMORY = 64;

export class LayerCache {
  private readonly memory = new Map<string, LayerFacts>();
  private readonly dir: string;

  constructor(
    root: string,
    private readonly version = CATALOGUER_VERSION,
  ) {
    this.dir = path.join(root, 'sbom', 'layers');
  }

  private file(diffId: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(diffId)) throw new Error(`not a diff ID: ${diffId}`);
    return path.join(this.dir, diffId.slice(7) + '.json');
  }

  async get(diffId: string): Promise<LayerFacts | undefined> {
    const m = this.memory.get(diffId);
    if (m) return m;
    let e: Entry | undefined;
    try {
      e = await readJsonIfExists<Entry>(this.file(diffId));
    } catch {
      return undefined; // a damaged entry is read again from the layer
    }
    if (!e || e.version !== this.version || e.diffId !== diffId) return undefined;
    this.remember(diffId, e.facts);
    return e.facts;
  }

  async put(diffId: string, facts: LayerFacts): Promise<void> {
    this.remember(diffId, facts);
    await fs.mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(this.file(diffId), { version: this.version, diffId, facts } satisfies Entry);
  }

  private remember(diffId: string, facts: LayerFacts): void {
    this.memory.delete(diffId);
    this.memory.set(diffId, facts);
    if (this.memory.size > MEMORY) this.memory.delete(this.memory.keys().next().value!);
  }

  /** Drop entries of layers no longer stored (called with the diff IDs still in use). */
  async prune(keep: Set<string>): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return;
    }
    for (const n of names) {
      const id = 'sha256:' + n.replace(/\.json$/, '');
      if (n.endsWith('.json') && !keep.has(id)) {
        this.memory.delete(id);
        await fs.rm(path.join(this.dir, n), { force: true });
      }
    }
  }
}
