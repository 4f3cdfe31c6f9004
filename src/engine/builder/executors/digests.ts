// The content digests that key COPY/ADD: the sources' names, modes, link targets and bytes (not times),
// each entry's digest cached by its version so that a kept context is not read again (contexts.ts).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { inParallel } from '../../../lib/concurrency.js';

/** A digest cached for one version of an entry (its `version` names that version: type, mode, size, mtime). */
export interface CachedDigest {
  version: string;
  digest: string;
}

/** An entry to hash: its path, full mode (type bits too) and what names its version. */
interface HashEntry {
  rel: string;
  mode: number;
  kind: 'f' | 'd' | 'l';
  version: string;
}

const TYPE_BITS = { f: 0o100000, d: 0o040000, l: 0o120000 } as const;

/** The entry digests of a kept build context, and its file list (the client's manifest): the tree is
 *  walked from the list, not the disk, and a file whose type, mode, size and mtime are unchanged keeps its
 *  digest without being read again. The kept copy changes only through the sync, which replaces a changed
 *  file by a new one (contexts.ts), so the list and the files agree. */
export class DigestCache {
  changed = false;
  /** Tree hashes (hashSources' answers) for this list: its entries and their digests are fixed. */
  readonly trees = new Map<string, string>();
  private readonly index = new Map<string, { kind: 'f' | 'd' | 'l'; mode: number; version: string }>();
  private readonly children = new Map<string, string[]>();

  constructor(
    private readonly entries: Map<string, CachedDigest>,
    list: [string, 'f' | 'd' | 'l', number, number, string][],
  ) {
    for (const [rel, kind, perm, size, mtime] of list) {
      this.index.set(rel, { kind, mode: TYPE_BITS[kind] | perm, version: `${kind}:${perm}:${size}:${mtime}` });
      const parent = path.posix.dirname(rel);
      const names = this.children.get(parent) ?? [];
      names.push(path.posix.basename(rel));
      this.children.set(parent, names);
    }
    for (const names of this.children.values()) names.sort();
  }

  static from(saved: Record<string, CachedDigest> | undefined, list: [string, 'f' | 'd' | 'l', number, number, string][]): DigestCache {
    return new DigestCache(new Map(Object.entries(saved ?? {})), list);
  }

  /** The cache for another list of the same context: the digests known carry over (each is used only for
   *  its entry's version), without reading them from the disk again. */
  over(list: [string, 'f' | 'd' | 'l', number, number, string][]): DigestCache {
    return new DigestCache(this.entries, list);
  }

  /** The entries of `rel`'s tree from the list, in hashing order; undefined when the list lacks it. */
  tree(rel: string, rootMode: number): HashEntry[] | undefined {
    const clean = rel.replace(/\/+$/, '') || '.'; // "src/" names "src"
    const e = clean === '.' ? { kind: 'd' as const, mode: rootMode, version: '' } : this.index.get(clean);
    if (!e) return undefined;
    const out: HashEntry[] = [{ rel, ...e }];
    if (e.kind === 'd') for (const n of this.children.get(clean) ?? []) out.push(...this.tree(clean === '.' ? n : `${clean}/${n}`, rootMode)!);
    return out;
  }

  get(rel: string, version: string): string | undefined {
    const c = this.entries.get(rel);
    return c && c.version === version ? c.digest : undefined;
  }

  set(rel: string, version: string, digest: string): void {
    this.entries.set(rel, { version, digest });
    this.changed = true;
  }

  /** The digests of the entries still in the context, for saving. */
  toJSON(): Record<string, CachedDigest> {
    return Object.fromEntries([...this.entries].filter(([k]) => this.index.has(k)));
  }
}

/** An entry's tree from the disk: every stat, siblings and subtrees in parallel, in name order. */
async function statTree(root: string, rel: string): Promise<HashEntry[]> {
  const st = await fs.lstat(path.join(root, rel), { bigint: true });
  const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f';
  const here: HashEntry = { rel, mode: Number(st.mode), kind, version: `${st.ino}:${st.mtimeNs}:${st.size}:${st.mode}` };
  if (kind !== 'd') return [here];
  const names = (await fs.readdir(path.join(root, rel))).sort();
  const children = await Promise.all(names.map((n) => statTree(root, path.posix.join(rel, n))));
  return [here, ...children.flat()];
}

/** Content hash of the sources for the cache key: paths, types, modes, link targets and bytes. */
export async function hashSources(root: string, sources: string[], cache?: DigestCache): Promise<string> {
  const rootMode = cache ? (await fs.lstat(root)).mode : 0;
  const memo = `${rootMode}\0${JSON.stringify(sources)}`;
  const known = cache?.trees.get(memo);
  if (known) return known;
  const found: HashEntry[] = [];
  let listed = !!cache;
  for (const s of sources) {
    const t = cache?.tree(s, rootMode);
    if (!t) listed = false;
    found.push(...(t ?? (await statTree(root, s))));
  }
  const digests: string[] = new Array(found.length);
  await inParallel(
    found.map(({ rel, mode, kind, version }, i) => async () => {
      const known = kind === 'f' ? cache?.get(rel, version) : undefined;
      if (known) {
        digests[i] = known;
        return;
      }
      const full = path.join(root, rel);
      const h = createHash('sha256').update(`${rel}\0${mode}\0`);
      if (kind === 'l') h.update(await fs.readlink(full));
      else if (kind === 'f') {
        const fh = await fs.open(full, 'r');
        try {
          if ((await fh.stat()).size < 1 << 20) h.update(await fh.readFile());
          else for await (const c of fh.createReadStream({ autoClose: false })) h.update(c as Buffer);
        } finally {
          await fh.close();
        }
      }
      digests[i] = h.digest('hex');
      if (kind === 'f') cache?.set(rel, version, digests[i]!);
    }),
    32,
  );
  const tree = createHash('sha256').update(digests.join('\n')).digest('hex');
  // Only a tree the list holds wholly is remembered (one read from the disk may change).
  if (listed) cache!.trees.set(memo, tree);
  return tree;
}
