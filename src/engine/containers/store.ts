// Container records on disk (ROOT/containers/<id>/container.json) and the in-memory indexes over them.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';
import type { ContainerRecord } from './record.js';

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** Removed IDs: a late save (an exit's bookkeeping racing `rm -f`) must not bring a record back. */
  private readonly removed = new Set<string>();
  /** Per-container chain of disk writes, so a save and a delete never interleave. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  /** Load every record; directories a crash left without a record are returned for cleaning. */
  async load(): Promise<{ orphans: string[] }> {
    await fs.mkdir(this.root, { recursive: true });
    const orphans: string[] = [];
    for (const name of await fs.readdir(this.root)) {
      const rec = /^[0-9a-f]{64}$/.test(name) ? await readJsonIfExists<ContainerRecord>(path.join(this.root, name, 'container.json')) : undefined;
      if (rec) this.byId.set(rec.id, rec);
      else orphans.push(path.join(this.root, name));
    }
    return { orphans };
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Find by full ID, unique ID prefix, or name (with or without the leading slash), as dockerd does. */
  get(ref: string): ContainerRecord {
    if (!ref) throw new InvalidParameter('container name or ID cannot be empty');
    const exact = this.byId.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const matches = this.all().filter((c) => c.id.startsWith(ref));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new InvalidParameter(`multiple IDs found with provided prefix: ${ref}`);
    throw new NotFound(`No such container: ${ref}`);
  }

  tryGet(ref: string): ContainerRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  byName(name: string): ContainerRecord | undefined {
    const n = name.startsWith('/') ? name : '/' + name;
    return this.all().find((c) => c.name === n);
  }

  nameTaken(name: string): boolean {
    return this.byName(name) !== undefined;
  }

  assertNameFree(name: string): void {
    const other = this.byName(name);
    if (other) {
      throw new Conflict(
        `Conflict. The container name "${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /** `durable: false` for the states a machine crash makes moot (running, removing): written atomically
   *  without fsync (writeFileAtomic), ~2 ms less on a start and an exit on this disk. */
  async save(rec: ContainerRecord, opts: { durable?: boolean } = {}): Promise<void> {
    await this.queue(rec.id, async () => {
      if (this.removed.has(rec.id)) return;
      await fs.mkdir(this.dir(rec.id), { recursive: true });
      await writeJsonAtomic(path.join(this.dir(rec.id), 'container.json'), rec, opts);
      this.byId.set(rec.id, rec);
    });
  }

  /** Forget a record and delete its directory (the record file first, so a crash never leaves a half one). */
  async delete(id: string): Promise<void> {
    this.removed.add(id);
    this.byId.delete(id);
    await this.queue(id, async () => {
      await fs.rm(path.join(this.dir(id), 'container.json'), { force: true });
      await fs.rm(this.dir(id), { recursive: true, force: true });
    });
  }

  private async queue(id: string, write: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(id) ?? Promise.resolve()).then(write);
    const settled = next.catch(() => undefined);
    this.writes.set(id, settled);
    try {
      await next;
    } finally {
      if (this.writes.get(id) === settled) this.writes.delete(id);
    }
  }
}
