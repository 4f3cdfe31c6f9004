// The overlayfs snapshotter: a container's root filesystem is an overlay of its image's layers
// (lower dirs, read-only, shared) plus its own upper and work dirs. mount(8) does the mounting:
// Node has no mount(2), and one mount per container start costs ~2 ms (see README).
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../lib/exec.js';
import { LayerStore } from './layers.js';

export class Snapshotter {
  readonly layers: LayerStore;
  private readonly dir: string;

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

  async keys(): Promise<string[]> {
    return fs.readdir(this.dir);
  }

  async prepare(key: string, parentChainId: string | undefined): Promise<void> {
    const d = this.keyDir(key);
    await fs.mkdir(path.join(d, 'upper'), { recursive: true });
    await fs.mkdir(path.join(d, 'work'), { recursive: true });
    await fs.writeFile(path.join(d, 'parent'), parentChainId ?? '');
  }

  private async parentOf(key: string): Promise<string | undefined> {
    const p = (await fs.readFile(path.join(this.keyDir(key), 'parent'), 'utf8').catch(() => '')).trim();
    return p || undefined;
  }

  async mount(key: string, target: string): Promise<void> {
    if (isMounted(target)) return;
    const parent = await this.parentOf(key);
    // Lower dirs relative to the layers dir (mount runs there): the option string must fit in a
    // page (4096 bytes), and 64-hex names relative to it allow ~60 layers where absolute paths would not.
    let lower: string[];
    if (parent) {
      lower = (await this.layers.ancestry(parent)).map((c) => `${c.slice('sha256:'.length)}/diff`);
    } else {
      const empty = path.join(this.keyDir(key), 'empty');
      await fs.mkdir(empty, { recursive: true });
      lower = [empty];
    }
    const d = this.keyDir(key);
    const opts = `lowerdir=${lower.join(':')},upperdir=${path.join(d, 'upper')},workdir=${path.join(d, 'work')}`;
    await fs.mkdir(target, { recursive: true });
    await run(['mount', '-t', 'overlay', 'overlay', '-o', opts, target], { cwd: this.layers.dir });
  }

  async unmount(target: string): Promise<void> {
    if (!isMounted(target)) return;
    const r = await run(['umount', target], { allowFailure: true });
    if (r.exitCode !== 0 && isMounted(target)) await run(['umount', '-l', target]);
  }

  async remove(key: string): Promise<void> {
    await fs.rm(this.keyDir(key), { recursive: true, force: true });
  }

  async usage(key: string): Promise<number> {
    const r = await run(['du', '-sb', this.upperDir(key)], { allowFailure: true });
    return Number(r.stdout.split(/\s/)[0]) || 0;
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

/** Whether a path is a mount point, from /proc/self/mountinfo (field 5; octal escapes for spaces). */
export function isMounted(target: string): boolean {
  const abs = path.resolve(target);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === abs);
}
