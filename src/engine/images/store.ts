// Image records (ROOT/images/<id>.json) and the tag index (ROOT/repositories.json).
// Written blob → record → tag, each atomically, so a crash leaves either the old state or the new.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../lib/fsutil.js';

export interface LayerRef {
  diffId: string;
  /** The blob in the content store (may be compressed). */
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  /** "sha256:<config digest hex>" */
  id: string;
  layers: LayerRef[];
  repoDigests: string[];
  lastTagTime?: string;
}

export class ImageStore {
  private readonly records = new Map<string, ImageRecord>();
  /** normalised reference → image ID */
  private tags: Record<string, string> = {};
  private readonly dir: string;
  private readonly tagsFile: string;

  constructor(root: string) {
    this.dir = path.join(root, 'images');
    this.tagsFile = path.join(root, 'repositories.json');
  }

  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await removeTempFiles(this.dir);
    await removeTempFiles(path.dirname(this.tagsFile));
    for (const name of await fs.readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const rec = await readJsonIfExists<ImageRecord>(path.join(this.dir, name));
      if (rec) this.records.set(rec.id, rec);
    }
    const tags = (await readJsonIfExists<Record<string, string>>(this.tagsFile)) ?? {};
    // A tag whose image record never made it to disk is dropped.
    this.tags = Object.fromEntries(Object.entries(tags).filter(([, id]) => this.records.has(id)));
  }

  get(id: string): ImageRecord | undefined {
    return this.records.get(id);
  }

  all(): ImageRecord[] {
    return [...this.records.values()];
  }

  async save(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, rec.id.replace('sha256:', '') + '.json'), rec);
    this.records.set(rec.id, rec);
  }

  async delete(id: string): Promise<void> {
    await fs.rm(path.join(this.dir, id.replace('sha256:', '') + '.json'), { force: true });
    this.records.delete(id);
  }

  idForTag(ref: string): string | undefined {
    return this.tags[ref];
  }

  tagsOf(id: string): string[] {
    return Object.keys(this.tags).filter((t) => this.tags[t] === id);
  }

  async setTags(changes: Record<string, string | undefined>): Promise<void> {
    const next = { ...this.tags };
    for (const [ref, id] of Object.entries(changes)) {
      if (id) next[ref] = id;
      else delete next[ref];
    }
    await writeJsonAtomic(this.tagsFile, next);
    this.tags = next;
  }
}
