// `berth registry gc`: mark every blob a manifest refers to (configs, layers, and through indexes their
// child manifests), in every repository, then sweep the blobs nobody marked. With --delete-untagged,
// manifests no tag reaches (directly, through an index, or as a referrer of a kept manifest) are deleted
// first and mark nothing. A blob that any kept manifest names is never deleted. Run it while the server
// is stopped or in --read-only mode (a push in progress has blobs no manifest names yet); it refuses to
// run beside a writable server on the same root.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { humanSize } from '../lib/units.js';
import { manifestRefs } from './manifests.js';
import { RegistryStorage } from './storage.js';
import { readBytes } from '../content/content-store.js';

export interface GcOptions {
  root: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** One line per action and the summary. */
  log: (line: string) => void;
}

export interface GcResult {
  marked: number;
  blobsDeleted: string[];
  manifestsDeleted: string[];
  bytesFreed: number;
}

/** The file each running server keeps in its root: its PID and whether it may write. */
export function serveMarker(pid: number): string {
  return `serve-${pid}.json`;
}

/** A live server on the root that may write, if any (markers of dead processes are ignored). */
async function writableServer(root: string): Promise<number | undefined> {
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    if (!/^serve-\d+\.json$/.test(name)) continue;
    try {
      const info = JSON.parse(await fs.readFile(path.join(root, name), 'utf8')) as { pid: number; readOnly: boolean };
      process.kill(info.pid, 0);
      if (!info.readOnly) return info.pid;
    } catch {
      // gone
    }
  }
  return undefined;
}

export async function collectGarbage(opts: GcOptions): Promise<GcResult> {
  const pid = await writableServer(opts.root);
  if (pid !== undefined && !opts.dryRun) {
    throw new Error(`a registry server (pid ${pid}) is serving ${opts.root} with writes allowed: stop it or restart it with --read-only before collecting garbage`);
  }
  const storage = new RegistryStorage(opts.root);
  if (!(await storage.content.hasLayout())) throw new Error(`${opts.root} holds no registry content`);
  // No init(): it would clear the content store's ingest folder under a running server's feet.
  const marked = new Set<string>();
  const manifestsDeleted: string[] = [];
  const repos = await storage.repositories();
  for (const name of repos) {
    const { revisions, tags } = await storage.contents(name);
    const bodies = new Map<string, Buffer | undefined>();
    const body = async (d: string): Promise<Buffer | undefined> => {
      if (!bodies.has(d)) bodies.set(d, await readBytes(storage.content, d).catch(() => undefined));
      return bodies.get(d);
    };
    // Which manifests stay: all of them, or (with --delete-untagged) those reachable from a tag.
    const keep = new Set<string>(opts.deleteUntagged ? [...tags.values()].filter((d) => revisions.has(d)) : revisions.keys());
    const reach = async (): Promise<void> => {
      const queue = [...keep];
      while (queue.length) {
        const d = queue.pop()!;
        const b = await body(d);
        if (!b) continue;
        for (const c of manifestRefs(b).children) {
          if (revisions.has(c) && !keep.has(c)) {
            keep.add(c);
            queue.push(c);
          }
        }
      }
    };
    await reach();
    if (opts.deleteUntagged) {
      // Referrers (signatures, SBOMs) of a kept manifest stay with it.
      let grew = true;
      while (grew) {
        grew = false;
        for (const [d, rev] of revisions) {
          if (!keep.has(d) && rev.subject && keep.has(rev.subject)) {
            keep.add(d);
            grew = true;
          }
        }
        if (grew) await reach();
      }
      for (const d of revisions.keys()) {
        if (keep.has(d)) continue;
        opts.log(`${opts.dryRun ? 'would delete' : 'deleting'} manifest ${name}@${d} (untagged)`);
        manifestsDeleted.push(`${name}@${d}`);
        if (!opts.dryRun) await storage.deleteManifest(name, d);
      }
    }
    for (const d of keep) {
      marked.add(d);
      const b = await body(d);
      if (b) for (const blob of manifestRefs(b).blobs) marked.add(blob);
    }
  }
  // Sweep.
  const blobsDeleted: string[] = [];
  let bytesFreed = 0;
  const doomed = new Set<string>();
  for await (const blob of storage.content.walk()) {
    if (marked.has(blob.digest) || !/^sha256:[a-f0-9]{64}$/.test(blob.digest)) continue;
    opts.log(`${opts.dryRun ? 'would delete' : 'deleting'} blob ${blob.digest} (${blob.size} bytes)`);
    blobsDeleted.push(blob.digest);
    doomed.add(blob.digest);
    bytesFreed += blob.size;
    if (!opts.dryRun) await storage.content.delete(blob.digest);
  }
  if (!opts.dryRun) {
    // Links to what is gone go too, so the repository no longer claims the blob.
    for (const name of repos) {
      for (const d of (await storage.contents(name)).layers) if (doomed.has(d)) await storage.unlinkBlob(name, d).catch(() => undefined);
    }
  }
  const verb = opts.dryRun ? 'would be deleted' : 'deleted';
  opts.log(
    `${marked.size} blobs marked, ${blobsDeleted.length} blobs and ${manifestsDeleted.length} manifests ${verb}, ${bytesFreed} bytes (${humanSize(bytesFreed)}) ${opts.dryRun ? 'would be freed' : 'freed'}`,
  );
  return { marked: marked.size, blobsDeleted, manifestsDeleted, bytesFreed };
}
