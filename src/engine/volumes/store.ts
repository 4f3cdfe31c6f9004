// Volume records on disk, laid out as dockerd's local driver lays them out: ROOT/volumes/<name>/_data
// holds the data (the Mountpoint), ROOT/volumes/<name>/volume.json the metadata (driver, labels,
// options, creation time), written atomically. A volume is created data directory first, record last;
// it is removed by renaming its directory out of the way first (".removing-…", swept at start), so a
// crash leaves a whole volume or none.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NotFound, SystemError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { mountsUnder } from '../../lib/mountinfo.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../lib/fsutil.js';

export interface VolumeRecord {
  name: string;
  driver: string;
  /** RFC 3339, seconds (dockerd's CreatedAt). */
  createdAt: string;
  labels: Record<string, string> | null;
  /** The local driver's options: type, device, o (mount(8)'s -t, source and -o). */
  options: Record<string, string> | null;
}

const RECORD = 'volume.json';
const DATA = '_data';
const REMOVING = '.removing-';

export class VolumeStore {
  private readonly byName = new Map<string, VolumeRecord>();

  constructor(readonly dir: string) {}

  /** Read every record; finish removals and creations a crash interrupted. */
  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o701 });
    await removeTempFiles(this.dir);
    for (const name of await fs.readdir(this.dir)) {
      const dir = path.join(this.dir, name);
      if (name.startsWith(REMOVING)) {
        await removeTree(dir);
        continue;
      }
      if (name.startsWith('.')) continue;
      await removeTempFiles(dir);
      const rec = await readJsonIfExists<VolumeRecord>(path.join(dir, RECORD)).catch(() => undefined);
      if (rec) {
        this.byName.set(rec.name, rec);
        continue;
      }
      // A creation interrupted before its record: nothing can have used it yet.
      if ((await fs.readdir(path.join(dir, DATA)).catch(() => [])).length === 0) await removeTree(dir);
    }
  }

  all(): VolumeRecord[] {
    return [...this.byName.values()];
  }

  tryGet(name: string): VolumeRecord | undefined {
    return this.byName.get(name);
  }

  /** dockerd's "get NAME: no such volume". */
  get(name: string): VolumeRecord {
    const rec = this.byName.get(name);
    if (!rec) throw new NotFound(`get ${name}: no such volume`);
    return rec;
  }

  volumeDir(name: string): string {
    return path.join(this.dir, name);
  }

  dataPath(name: string): string {
    return path.join(this.dir, name, DATA);
  }

  async create(rec: VolumeRecord): Promise<void> {
    const dir = this.volumeDir(rec.name);
    await fs.mkdir(dir, { recursive: true, mode: 0o701 });
    await fs.mkdir(path.join(dir, DATA), { recursive: true, mode: 0o755 });
    await writeJsonAtomic(path.join(dir, RECORD), rec);
    this.byName.set(rec.name, rec);
  }

  /** Gone from the listing at once; the directory is renamed away, then deleted. */
  async remove(name: string): Promise<void> {
    const dir = this.volumeDir(name);
    await unmountUnder(dir);
    const away = path.join(this.dir, `${REMOVING}${name}-${randomBytes(4).toString('hex')}`);
    await fs.rename(dir, away).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    this.byName.delete(name);
    await removeTree(away);
  }
}

export function isMountPoint(p: string): boolean {
  return mountsUnder(p).includes(p);
}

/** Unmount whatever is mounted at or under `dir`; refuse to go on when something stays mounted
 *  (deleting through a bind mount would delete the host's files). */
export async function unmountUnder(dir: string): Promise<void> {
  for (const mp of mountsUnder(dir)) await run(['umount', mp], { allowFailure: true });
  const left = mountsUnder(dir);
  if (left.length) throw new SystemError(`cannot remove ${dir}: ${left[0]} is still mounted`);
}

async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await fs.rm(dir, { recursive: true, force: true });
}
