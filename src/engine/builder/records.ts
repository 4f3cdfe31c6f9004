// The builder's own records (step results, miss reasons, the kept contexts' manifests and digests) are a
// cache: one lost or torn by a crash costs a cache miss or a resent context, never a wrong result (every
// reader takes an unreadable record for none, and a step's layers are checked before its record is used).
// So they are written atomically (a temporary file renamed over the old one) but not synced: a build writes
// two or three per step, and on this class of disk each fsync costs ~2.5 ms.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function writeRecord(file: string, value: unknown): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  await fs.writeFile(tmp, JSON.stringify(value) + '\n');
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
