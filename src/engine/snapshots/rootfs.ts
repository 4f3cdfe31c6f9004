// A container's mounted root filesystem, shared: the container's run mounts its snapshot (mount/unmount),
// and cp/export borrow it (borrow), mounting it when the container is stopped. A borrowed mount outlives
// the run's unmount until the last borrower lets go; a container started while its snapshot is borrowed
// runs on that mount. Readers of a snapshot's writable layer (diff, commit) hold it (hold). Removing a
// snapshot waits for its borrowers and holders. The snapshotter only returns mounts; this is the caller
// side that mounts them (mount.ts) and counts who uses them.
import { isMounted, mountAll, unmount } from './mount.js';
import type { Snapshotter } from './snapshotter.js';

interface Borrow {
  key: string;
  count: number;
  /** The container's run has it mounted too: the last borrower must not unmount it. */
  ownedByRun: boolean;
}

export class RootfsMounts {
  /** Borrowed mounts by target path. */
  private readonly borrowed = new Map<string, Borrow>();
  /** Readers of a snapshot's upper dir (diff, commit) by key. */
  private readonly holds = new Map<string, number>();
  /** Mount operations on one target run one at a time. */
  private readonly targetLocks = new Map<string, Promise<unknown>>();
  private readonly released = new Set<() => void>();

  constructor(private readonly snapshotter: Snapshotter) {}

  private locked<T>(target: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.targetLocks.get(target) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.targetLocks.set(target, next);
    void next.finally(() => {
      if (this.targetLocks.get(target) === next) this.targetLocks.delete(target);
    }).catch(() => undefined);
    return next;
  }

  private async doMount(key: string, target: string): Promise<void> {
    await mountAll(await this.snapshotter.mounts(key), target);
  }

  /** Mount a snapshot for its container's run. */
  async mount(key: string, target: string): Promise<void> {
    await this.locked(target, async () => {
      const b = this.borrowed.get(target);
      if (b) b.ownedByRun = true;
      if (!isMounted(target)) await this.doMount(key, target);
    });
  }

  /** The run no longer needs the mount: unmounted now, or when the last borrower lets go. */
  async unmount(target: string): Promise<void> {
    await this.locked(target, async () => {
      const b = this.borrowed.get(target);
      if (b) {
        b.ownedByRun = false;
        return;
      }
      await unmount(target);
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
        if (!b.ownedByRun) await unmount(target).catch(() => undefined);
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
    await this.snapshotter.remove(key);
  }
}
