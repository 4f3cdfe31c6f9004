// Content digests as the OCI image spec writes them: "<algorithm>:<hex>"; berth produces sha256 only.
import { createHash } from 'node:crypto';

/** The digest of a blob held in memory (a manifest, a config). */
export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}
