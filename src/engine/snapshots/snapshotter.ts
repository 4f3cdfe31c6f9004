// The overlayfs snapshotter: a container's root filesystem is an overlay of its image's layers
// (lower dirs, read-only, shared), an init layer of its own, plus its own upper and work dirs.
// mount(8) does the mounting: Node has no mount(2), and one mount per container start costs ~2 ms (see README).
//
// A container's snapshot has an init layer (ROOT/snapshots/<key>/init), Docker's "-init" layer: the
// mount points runc needs (/proc, /sys, /dev/pts, /dev/shm, /dev/console, /etc/hosts, /etc/hostname,
// /etc/resolv.conf) and the /etc/mtab link, created only where the image lacks them. It sits between the
// image and the upper dir, so runc never writes them into the upper dir: `diff` and `commit` see only
// what the container did.
//
// A snapshot's mount is shared: the container's run mounts it (mount/unmount), and cp/export borrow it
// (borrow), mounting it when the container is stopped. A borrowed mount outlives the run's unmount
// until the last borrower lets go; a container started while its snapshot is borrowed runs on that mount.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../lib/exec.js';
import { LayerStore } from './layers.js';
import { LayerView, opaqueDirs, upperSize } from './diff.js';

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

interface Borrow {
  key: string;
  count: number;
  /** The container's run has it mounted too: the last borrower must not unmount it. */
  ownedByRun: boolean;
}

export class Snapshotter {
  readonly layers: LayerStore;
  private readonly dir: string;
  /** Borrowed mounts by target path. */
  private readonly borrowed = new Map<string, Borrow>();
  /** Readers of a snapshot's upper dir (diff, commit) by key. */
  private readonly holds = new Map<string, number>();
  /** Mount operations on one target run one at a time. */
  private readonly targetLocks = new Map<string, Promise<unknown>>();
  private readonly released = new Set<() => void>();
  /** Opaque directories of extracted layers (immutable, so computed once per layer). */
  private readonly layerOpaque = new Map<string, Promise<Set<string>>>();

  constructor(root: string) {
    this.layers = new LayerStore(path.join(root, 'layers'));
    this.dir = path.join(root, 'snapshots');
  }

  async init(): Promise<void> {
    await this.layers.init();
    await fs.mkdir(this.dir, { recursive: true });
  }

  layersRoot(): string {
    return this.layers.dir;
  }

  private keyDir(key: string): string {
    return path.join(this.dir, key);
  }

  upperDir(key: string): string {
    return path.join(this.keyDir(key), 'upper');
  }

  initDir(key: string): string {
    return path.join(this.keyDir(key), 'init');
  }

  async keys(): Promise<string[]> {
    return fs.readdir(this.dir);
  }

  /** A snapshot over the layers of `parentChainId`; with `init`, Docker's init layer between them and
   *  the upper dir (a container's snapshot: the mount points runc needs stay out of the upper dir). */
  async prepare(key: string, parentChainId: string | undefined, opts: { init?: boolean } = {}): Promise<void> {
    const d = this.keyDir(key);
    await fs.mkdir(path.join(d, 'upper'), { recursive: true });
    await fs.mkdir(path.join(d, 'work'), { recursive: true });
    await fs.writeFile(path.join(d, 'parent'), parentChainId ?? '');
    if (opts.init) await this.createInit(key, parentChainId);
  }

  private async parentOf(key: string): Promise<string | undefined> {
    const p = (await fs.readFile(path.join(this.keyDir(key), 'parent'), 'utf8').catch(() => '')).trim();
    return p || undefined;
  }

  /** The image's layer dirs under a snapshot, top first. */
  private async imageDirs(parent: string | undefined): Promise<string[]> {
    if (!parent) return [];
    return (await this.layers.ancestry(parent)).map((c) => path.join(this.layers.layerDir(c), 'diff'));
  }

  /** Docker's init layer: the entries the image lacks, their missing parents as root's 0755 directories,
   *  parents the image has copied with their mode, owner and times (so the merged directory looks the same). */
  private async createInit(key: string, parent: string | undefined): Promise<void> {
    const init = this.initDir(key);
    await fs.rm(init, { recursive: true, force: true });
    await fs.mkdir(init);
    const image = new LayerView(await this.imageDirs(parent));
    const made = new Set<string>();
    const copied: { dir: string; atime: Date; mtime: Date }[] = [];
    for (const [p, type] of INIT_ENTRIES) {
      if (await image.lstat(p)) continue;
      const parents = path.posix.dirname(p).split('/').filter(Boolean).map((_, i, a) => '/' + a.slice(0, i + 1).join('/'));
      let blocked = false;
      for (const q of parents) {
        if (made.has(q)) continue;
        const st = await image.lstat(q);
        if (st && !st.isDirectory()) {
          blocked = true; // e.g. /etc is a symlink in the image: runc follows it, we leave it alone
          break;
        }
        const dir = path.join(init, q);
        await fs.mkdir(dir, { mode: 0o755 });
        if (st) {
          await fs.chmod(dir, Number(st.mode) & 0o7777);
          await fs.lchown(dir, Number(st.uid), Number(st.gid));
          copied.push({ dir, atime: new Date(Number(st.atimeMs)), mtime: new Date(Number(st.mtimeMs)) });
        }
        made.add(q);
      }
      if (blocked) continue;
      const target = path.join(init, p);
      if (type === 'dir') {
        await fs.mkdir(target, { mode: 0o755 });
        made.add(p);
      } else if (type === 'file') await (await fs.open(target, 'wx', 0o755)).close();
      else await fs.symlink(type, target);
    }
    for (const c of copied.reverse()) await fs.utimes(c.dir, c.atime, c.mtime);
  }

  /** The layers under a snapshot's upper dir (its init layer, then the image's), seen merged. */
  async lowerView(key: string): Promise<LayerView> {
    const dirs = await this.imageDirs(await this.parentOf(key));
    const init = this.initDir(key);
    if (await exists(init)) dirs.unshift(init);
    return new LayerView(dirs, (d) => {
      if (d === init) return Promise.resolve(new Set<string>());
      let set = this.layerOpaque.get(d);
      if (!set) {
        set = opaqueDirs(d);
        this.layerOpaque.set(d, set);
      }
      return set;
    });
  }

  private locked<T>(target: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.targetLocks.get(target) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.targetLocks.set(target, next);
    void next.finally(() => {
      if (this.targetLocks.get(target) === next) this.targetLocks.delete(target);
    }).catch(() => undefined);
    return next;
  }

  /** Mount a snapshot for its container's run. */
  async mount(key: string, target: string): Promise<void> {
    await this.locked(target, async () => {
      const b = this.borrowed.get(target);
      if (b) b.ownedByRun = true;
      if (!isMounted(target)) await this.doMount(key, target);
    });
  }

  private async doMount(key: string, target: string): Promise<void> {
    const parent = await this.parentOf(key);
    // Lower dirs relative to the layers dir (mount runs there): the option string must fit in a
    // page (4096 bytes), and 64-hex names relative to it allow ~60 layers where absolute paths would not.
    const lower = parent ? (await this.layers.ancestry(parent)).map((c) => `${c.slice('sha256:'.length)}/diff`) : [];
    const init = this.initDir(key);
    if (await exists(init)) lower.unshift(init);
    if (!lower.length) {
      const empty = path.join(this.keyDir(key), 'empty');
      await fs.mkdir(empty, { recursive: true });
      lower.push(empty);
    }
    const d = this.keyDir(key);
    const opts = `lowerdir=${lower.join(':')},upperdir=${path.join(d, 'upper')},workdir=${path.join(d, 'work')}`;
    await fs.mkdir(target, { recursive: true });
    await run(['mount', '-t', 'overlay', 'overlay', '-o', opts, target], { cwd: this.layers.dir });
  }

  /** The run no longer needs the mount: unmounted now, or when the last borrower lets go. */
  async unmount(target: string): Promise<void> {
    await this.locked(target, async () => {
      const b = this.borrowed.get(target);
      if (b) {
        b.ownedByRun = false;
        return;
      }
      await doUnmount(target);
    });
  }

  /**
   * Borrow a snapshot's mounted filesystem at `target` (the container's rootfs path): mounted if it was
   * not. The returned function lets go (once); the mount goes unless the container's run holds it.
   */
  async borrow(key: string, target: string): Promise<() => Promise<void>> {
    await this.locked(target, async () => {
      let b = this.borrowed.get(target);
      if (!b) {
        b = { key, count: 0, ownedByRun: isMounted(target) };
        this.borrowed.set(target, b);
      }
      b.count++;
      if (isMounted(target)) return;
      try {
        await this.doMount(key, target);
      } catch (e) {
        if (--b.count === 0) this.borrowed.delete(target);
        throw e;
      }
    });
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await this.locked(target, async () => {
        const b = this.borrowed.get(target);
        if (!b || --b.count > 0) return;
        this.borrowed.delete(target);
        if (!b.ownedByRun) await doUnmount(target).catch(() => undefined);
      });
      this.wake();
    };
  }

  /** Hold a snapshot (its upper dir is being read: diff, commit) so that remove waits. */
  hold(key: string): () => void {
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.holds.get(key) ?? 1) - 1;
      if (n > 0) this.holds.set(key, n);
      else this.holds.delete(key);
      this.wake();
    };
  }

  private wake(): void {
    for (const w of [...this.released]) w();
  }

  private inUseByReaders(key: string): boolean {
    return (this.holds.get(key) ?? 0) > 0 || [...this.borrowed.values()].some((b) => b.key === key);
  }

  /** Delete a snapshot, once nobody borrows or holds it. */
  async remove(key: string): Promise<void> {
    while (this.inUseByReaders(key)) {
      await new Promise<void>((resolve) => {
        const w = () => {
          this.released.delete(w);
          resolve();
        };
        this.released.add(w);
      });
    }
    await fs.rm(this.keyDir(key), { recursive: true, force: true });
  }

  /** Bytes the container added, as Docker counts SizeRw (files and symlinks, not directories). */
  async usage(key: string): Promise<number> {
    return upperSize(this.upperDir(key));
  }

  /** True while a snapshot's parent chain includes `chain` (its layers must not be deleted). */
  async inUse(chain: string): Promise<boolean> {
    for (const key of await this.keys()) {
      const parent = await this.parentOf(key);
      if (parent && (await this.layers.ancestry(parent).catch((): string[] => [])).includes(chain)) return true;
    }
    return false;
  }
}

async function doUnmount(target: string): Promise<void> {
  if (!isMounted(target)) return;
  const r = await run(['umount', target], { allowFailure: true });
  if (r.exitCode !== 0 && isMounted(target)) await run(['umount', '-l', target]);
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Whether a path is a mount point, from /proc/self/mountinfo (field 5; octal escapes for spaces). */
export function isMounted(target: string): boolean {
  const abs = path.resolve(target);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === abs);
}
