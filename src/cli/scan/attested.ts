// `berth scan --key PUB REMOTE-REF`: the public keys berthd verifies a remote image's attached SBOM with
// (src/engine/scan/attested.ts), sent as the X-Berth-Trust header. `--key` given: those files (an
// unreadable one is an error); otherwise the trusted keys of content trust (BERTH_TRUST_KEYS, else
// ~/.berth/trust/*.pub) when there are any — none is not an error: the layers are scanned, as before.
import { readFileSync } from 'node:fs';
import { StatusError, type Context } from '../command.js';
import { trustedKeys } from '../trust.js';

export function sbomKeys(ctx: Context, files: string[]): { name: string; pem: string }[] {
  if (!files.length) {
    try {
      return trustedKeys(ctx.env);
    } catch {
      return [];
    }
  }
  return files.map((file) => {
    try {
      return { name: file, pem: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new StatusError(`cannot read key ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 1);
    }
  });
}

export function sbomKeysHeader(ctx: Context, files: string[]): Record<string, string> {
  const keys = sbomKeys(ctx, files);
  return keys.length ? { 'X-Berth-Trust': Buffer.from(JSON.stringify(keys)).toString('base64') } : {};
}
