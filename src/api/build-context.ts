// berth's build-context sync (POST /build/context): what the client lists and the daemon compares.
import { createHash } from 'node:crypto';

/** One context entry as the client sees it: [path, type, mode, size, mtime in ns]. */
export type ContextEntry = [string, 'f' | 'd' | 'l', number, number, string];

/** The listing's JSON text, as the client sends it and as the daemon keeps it. */
export function listingJSON(entries: ContextEntry[]): string {
  return JSON.stringify(entries);
}

/** The listing's digest: the client sends it alone first, and the whole listing only when the daemon's
 *  kept copy has another (an unchanged directory then costs one small request). */
export function listingDigest(json: string): string {
  return 'sha256:' + createHash('sha256').update(json).digest('hex');
}

/** POST /build/context's answer: a session and the entries to send, or (asked with a digest the kept
 *  copy does not have) NeedEntries: send the whole listing. */
export interface ContextSyncAnswer {
  Session: string;
  Need: string[];
  NeedEntries?: boolean;
}
