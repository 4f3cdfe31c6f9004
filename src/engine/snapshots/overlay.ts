// The overlayfs snapshotter: a container's root filesystem is an overlay of its image's layers
// (lower dirs, read-only, shared), an init layer of its own, plus its own upper and work dirs.
// It implements types.ts's Snapshotter: it returns the overlay mount of a snapshot, the caller mounts it
// (mount.ts; rootfs.ts shares a container's mounted rootfs). Committed snapshots are the layer store's
// layers (layers.ts), named by chain ID; an active snapshot is ROOT/snapshots/<key>: upper, work, init
// and the `parent` record. A snapshot is made in a temporary directory renamed into place, so one a
// crash cut short is never taken for a snapshot (init() removes it).
//
// A container's snapshot has an init layer (ROOT/snapshots/<key>/init), Docker's "-init" layer: the
// mount points runc needs (/proc, /sys, /dev/pts, /dev/shm, /dev/console, /etc/hosts, /etc/hostname,
// /etc/resolv.conf) and the /etc/mtab link, created only where the image lacks them. It sits between the
// image and the upper dir, so runc never writes them into the upper dir: `diff` and `commit` see only
// what the container did.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Conflict, NotFound } from '../../lib/errors.js';
import { spreadSubfolders } from '../../lib/fsutil.js';
import { LayerStore } from './layers.js';
import { commitDir } from './commit.js';
import { LayerView, layerOpaqueDirs, upperSize } from './diff.js';
import type { Committed, Info, Mount, PrepareOptions, Snapshotter } from './snapshotter.js';

/** Docker's init layer (daemon/initlayer): path → "dir", "file" or a symlink target. */
const INIT_ENTRIES: [string, string][] = [
  ['/dev/pts', 'dir'],
  ['/dev/shm', 'dir'],
  ['/proc', 'dir'],
  ['/sys', 'dir'],
  ['/etc/resolv.conf', 'file'],
  ['/etc/hosts', 'file'],
  ['/etc/hostname', 'file'],
  ['/dev/console', 'file'],
  ['/etc/mtab', '/proc/mounts'],
];


/** The record that makes a directory under ROOT/snapshots a snapshot (its parent chain ID, or empty). */
const RECORD = 'parent';
/** Marks a view (read-only snapshot). */
const READONLY = 'readonly';
/** Marks a snapshot mounted with overlayfs's `volatile` (PrepareOptions.volatile). */
const VOLATILE = 'volatile';
/** Directories being made or removed: never snapshots, removed by init(). */
const TMP = '.tmp-';

export class OverlaySnapshotter implements Snapshotter {
  /** The committed snapshots: image layers by chain ID (pull, load and build extract into it). */
  readonly layers: LayerStore;
  private readonly dir: string;

  constructor(root: string) {
    this.layers = new LayerStore(path.join(root, 'layers'));
    this.dir = path.join(root, 'snapshots');
  }

  /** Half-made (or half-removed) snapshots a crash left go: a temporary directory, or one without its record. */
  async init(): Promise<void> {
    await this.layers.init();
    await fs.mkdir(this.dir, { recursive: true });
    spreadSubfolders(this.dir);
    for (const name of await fs.readdir(this.dir)) {
      const d = path.join(this.dir, name);
      if (name.includes(TMP) || !(await exists(path.join(d, RECORD)))) await fs.rm(d, { recursive: true, force: true });
    }
  }

  private keyDir(key: string): string {
    return path.join(this.dir, key);
  }

  async prepare(key: string, parent: string | undefined, opts: PrepareOptions = {}): Promise<Mount[]> {
    const image = await this.imageDirs(parent); // the parent must be committed
    await this.create(key, parent, async (d) => {
      // Side by side: each create waits on the disk (~0.5 ms here), not on the others.
      await Promise.all([
        fs.mkdir(path.join(d, 'upper')),
        fs.mkdir(path.join(d, 'work')),
        opts.init ? this.createInit(path.join(d, 'init'), image) : undefined,
        opts.volatile ? fs.writeFile(path.join(d, VOLATILE), '') : undefined,
      ]);
    });
    return this.mountsOf(key, { readonly: false, volatile: !!opts.volatile }, image);
  }

  async view(key: string, parent: string | undefined): Promise<Mount[]> {
    const image = await this.imageDirs(parent);
    await this.create(key, parent, (d) => fs.writeFile(path.join(d, READONLY), ''));
    return this.mountsOf(key, { readonly: true }, image);
  }

  /** Make a snapshot in a temporary directory, with its record, and rename it into place. */
  private async create(key: string, parent: string | undefined, fill: (dir: string) => Promise<void>): Promise<void> {
    if (key.includes(TMP) || key.includes('/') || key.startsWith('sha256:')) throw new Conflict(`invalid snapshot key ${key}`);
    const tmp = `${this.keyDir(key)}${TMP}${randomBytes(6).toString('hex')}`;
    await fs.mkdir(tmp, { recursive: true });
    try {
      // The record beside the content: nothing reads a temporary directory, the rename publishes both.
      await Promise.all([fill(tmp), fs.writeFile(path.join(tmp, RECORD), parent ?? '')]);
      await fs.rename(tmp, this.keyDir(key));
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw new Conflict(`snapshot ${key} already exists`);
      throw e;
    }
  }

  /** A snapshot's record: its parent and whether it is a view; undefined when there is no such snapshot. */
  private async record(key: string): Promise<{ parent?: string; readonly: boolean; volatile: boolean } | undefined> {
    const d = this.keyDir(key);
    let p: string;
    try {
      p = (await fs.readFile(path.join(d, RECORD), 'utf8')).trim();
    } catch {
      return undefined;
    }
    return { ...(p ? { parent: p } : {}), readonly: await exists(path.join(d, READONLY)), volatile: await exists(path.join(d, VOLATILE)) };
  }

  /** The image's layer dirs under a snapshot, top first. */
  private async imageDirs(parent: string | undefined): Promise<string[]> {
    if (!parent) return [];
    return (await this.layers.ancestry(parent)).map((c) => path.join(this.layers.layerDir(c), 'diff'));
  }

  async mounts(key: string): Promise<Mount[]> {
    const rec = await this.record(key);
    if (!rec) throw new NotFound(`no such snapshot: ${key}`);
    return this.mountsOf(key, rec, await this.imageDirs(rec.parent));
  }

  /** The mounts of snapshot `key` over the image layer dirs `image` (top first). */
  private async mountsOf(key: string, rec: { readonly: boolean; volatile?: boolean }, image: string[]): Promise<Mount[]> {
    const d = this.keyDir(key);
    const lower = [...image];
    if (rec.readonly) {
      // Overlay needs two lower dirs without an upper one: a single layer is bind-mounted (as containerd).
      if (lower.length > 1) return [{ type: 'overlay', source: 'overlay', options: ['ro', `lowerdir=${lower.join(':')}`] }];
      if (!lower.length) await fs.mkdir(path.join(d, 'empty'), { recursive: true });
      return [{ type: 'bind', source: lower[0] ?? path.join(d, 'empty'), options: ['bind', 'ro'] }];
    }
    const init = path.join(d, 'init');
    if (await exists(init)) lower.unshift(init);
    if (!lower.length) {
      const empty = path.join(d, 'empty');
      await fs.mkdir(empty, { recursive: true });
      lower.push(empty);
    }
    const options = [`lowerdir=${lower.join(':')}`, `upperdir=${path.join(d, 'upper')}`, `workdir=${path.join(d, 'work')}`];
    return [{ type: 'overlay', source: 'overlay', options: rec.volatile ? [...options, 'volatile'] : options }];
  }

  /** The active snapshot's upper dir becomes a layer over its parent (moved, not copied: the layer store
   *  keeps overlay whiteouts too); the diff ID is the digest of its layer tar. The caller unmounts first. */
  async commit(key: string): Promise<Committed> {
    const rec = await this.record(key);
    if (!rec || rec.readonly) throw new NotFound(`no such active snapshot: ${key}`);
    const info = await commitDir(this.layers, path.join(this.keyDir(key), 'upper'), rec.parent);
    await this.remove(key);
    return { chainId: info.chainId, diffId: info.diffId, size: info.size, tarSize: info.tarSize };
  }

  /** An active or view snapshot (none: nothing to do), or a committed one nothing lies over. */
  async remove(key: string): Promise<void> {
    if (key.startsWith('sha256:')) return this.removeCommitted(key);
    // Renamed first, so a crash half-way through leaves a temporary directory, not half a snapshot.
    const gone = `${this.keyDir(key)}${TMP}rm-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(this.keyDir(key), gone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    await fs.rm(gone, { recursive: true, force: true });
  }

  private async removeCommitted(chain: string): Promise<void> {
    const child = (await this.walk()).find((i) => i.parent === chain);
    if (child) throw new Conflict(`snapshot ${chain} has a child (${child.key}): remove it first`);
    await this.layers.remove(chain);
  }

  async usage(key: string): Promise<number> {
    return upperSize(path.join(this.keyDir(key), 'upper'));
  }

  async walk(): Promise<Info[]> {
    const out: Info[] = [];
    for (const key of await this.activeKeys()) {
      const rec = await this.record(key);
      if (rec) out.push({ key, ...(rec.parent ? { parent: rec.parent } : {}), kind: rec.readonly ? 'view' : 'active' });
    }
    for (const chain of await this.layers.all()) {
      const info = await this.layers.info(chain);
      if (info) out.push({ key: chain, ...(info.parent ? { parent: info.parent } : {}), kind: 'committed' });
    }
    return out;
  }

  private async activeKeys(): Promise<string[]> {
    return (await fs.readdir(this.dir)).filter((n) => !n.includes(TMP));
  }

  // ---- overlay-specific (not in the Snapshotter interface) ----

  /** The layers under an active snapshot's upper dir (its init layer, then the image's), seen merged:
   *  what `docker diff` compares the upper dir against. */
  async lowerView(key: string): Promise<LayerView> {
    const dirs = await this.imageDirs((await this.record(key))?.parent);
    const init = path.join(this.keyDir(key), 'init');
    if (await exists(init)) dirs.unshift(init);
    return new LayerView(dirs, (d) => (d === init ? Promise.resolve(new Set<string>()) : layerOpaqueDirs(d)));
  }

  /** True while a snapshot's parent chain includes `chain` (its layers must not be deleted). */
  async inUse(chain: string): Promise<boolean> {
    for (const key of await this.activeKeys()) {
      const parent = (await this.record(key))?.parent;
      if (parent && (await this.layers.ancestry(parent).catch((): string[] => [])).includes(chain)) return true;
    }
    return false;
  }

  /** Docker's init layer: the entries the image lacks, their missing parents as root's 0755 directories,
   *  parents the image has copied with their mode, owner and times (so the merged directory looks the same). */
  private async createInit(init: string, imageDirs: string[]): Promise<void> {
    await fs.mkdir(init);
    const image = new LayerView(imageDirs);
    const stats = new Map<string, ReturnType<LayerView['lstat']>>();
    const lstat = (p: string): ReturnType<LayerView['lstat']> => {
      let st = stats.get(p);
      if (!st) stats.set(p, (st = image.lstat(p)));
      return st;
    };
    // The plan first (the image's entries looked up side by side), then the creations level by level,
    // each level's side by side: a create waits on the disk (~0.5 ms here), not on the others.
    const dirs = new Map<string, { copy?: Awaited<ReturnType<LayerView['lstat']>> }>();
    const leaves: [string, string][] = [];
    const planned = await Promise.all(
      INIT_ENTRIES.map(async ([p, type]) => {
        if (await lstat(p)) return undefined;
        const parents = path.posix.dirname(p).split('/').filter(Boolean).map((_, i, a) => '/' + a.slice(0, i + 1).join('/'));
        const sts = await Promise.all(parents.map((q) => lstat(q)));
        // e.g. /etc is a symlink in the image: runc follows it, we leave it alone
        if (sts.some((st) => st && !st.isDirectory())) return undefined;
        return { p, type, parents: parents.map((q, i) => ({ q, st: sts[i] })) };
      }),
    );
    for (const e of planned) {
      if (!e) continue;
      for (const { q, st } of e.parents) if (!dirs.has(q)) dirs.set(q, { copy: st ?? undefined });
      if (e.type === 'dir') dirs.set(e.p, dirs.get(e.p) ?? {});
      else leaves.push([e.p, e.type]);
    }
    const depth = (p: string) => p.split('/').length;
    const levels = [...new Set([...dirs.keys()].map(depth))].sort((a, b) => a - b);
    for (const level of levels) {
      await Promise.all(
        [...dirs].filter(([q]) => depth(q) === level).map(async ([q, { copy }]) => {
          const dir = path.join(init, q);
          await fs.mkdir(dir, { mode: 0o755 });
          if (copy) {
            await fs.chmod(dir, Number(copy.mode) & 0o7777);
            await fs.lchown(dir, Number(copy.uid), Number(copy.gid));
          }
        }),
      );
    }
    await Promise.all(
      leaves.map(async ([p, type]) => {
        const target = path.join(init, p);
        if (type === 'file') await (await fs.open(target, 'wx', 0o755)).close();
        else await fs.symlink(type, target);
      }),
    );
    // Times last: creating an entry changes its directory's.
    await Promise.all(
      [...dirs].filter(([, d]) => d.copy).map(([q, { copy }]) => fs.utimes(path.join(init, q), new Date(Number(copy!.atimeMs)), new Date(Number(copy!.mtimeMs)))),
    );
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}
