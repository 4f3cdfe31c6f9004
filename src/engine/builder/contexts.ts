// Build contexts kept between builds (berth's answer to resending the whole context every time, as
// BuildKit's file sync does): berth's CLI first sends the context's file list with each entry's type,
// mode, size and modification time; berthd answers with the entries it lacks or holds in another
// version, and the build request then carries only those. The copy lives under build/contexts/<key>,
// where the key names the client's directory, with the content digest of each file version (copy.ts's
// DigestCache) so an unchanged file is never read again for a cache key. The Dockerfile comes as text
// with the list, so the build starts while the files are still arriving.
// The docker CLI keeps sending whole tars, which the build service handles as before.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameter } from '../../lib/errors.js';
import { dirSize, readJsonIfExists, spreadSubfolders } from '../../lib/fsutil.js';
import { writeRecord } from './records.js';
import type { BuildCacheUsage } from '../housekeeping.js';
import { DigestCache, type CachedDigest } from './executors/digests.js';
import { listingDigest, listingJSON, type ContextEntry } from '../../api/build-context.js';


/** A sync in progress: the entries to apply and the lock on the context it holds. */
interface Session {
  key: string;
  entries: ContextEntry[];
  /** The Dockerfile's text, sent with the list: the build starts before the files arrive. */
  dockerfile?: string;
  removed: string[];
  /** The entries the client sends. */
  need: string[];
  /** Those of them that are files or links: replaced, never rewritten. */
  replaced: string[];
  release: () => void;
  timer: NodeJS.Timeout;
}

interface UseMeta {
  lastUsedAt: string;
  usageCount: number;
}

/** How long a session waits for its build request before its lock is given up. */
const SESSION_TTL_MS = 60_000;
/** Contexts kept; the least recently used ones go first. */
const MAX_CONTEXTS = 16;

/** A kept context as the last sync left it, held in memory (berthd is the only writer of the copy, and a
 *  context is used by one build at a time): its manifest by path, and its digests for that manifest. */
interface Kept {
  manifest: ContextEntry[];
  byPath: Map<string, ContextEntry>;
  /** The manifest's listing digest (api/build-context.ts): a client whose listing has it changed nothing. */
  digest: string;
  digests?: DigestCache;
}

export class ContextStore {
  private readonly sessions = new Map<string, Session>();
  private readonly locks = new Map<string, Promise<void>>();
  private readonly kept = new Map<string, Kept>();
  /** Each context's use.json as last written. */
  private readonly uses = new Map<string, UseMeta>();

  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    spreadSubfolders(this.dir);
  }

  /** Compare the client's entries with the kept copy: which entries the client must send. Holds the
   *  context's lock until the build that uses the session ends (or the session expires). */
  async diff(key: string, entries: ContextEntry[], dockerfile?: string): Promise<{ session: string; need: string[] }> {
    checkKey(key);
    for (const e of entries) checkEntry(e);
    const release = await this.lock(key);
    try {
      const { manifest: kept, byPath: before } = await this.keptOf(key);
      const need = entries.filter((e) => !sameEntry(before.get(e[0]), e)).map((e) => e[0]);
      // Gone, or now of another type (a file that became a directory must be removed first). When every
      // entry is the same and as many, nothing can be gone.
      let removed: string[] = [];
      if (need.length || kept.length !== entries.length) {
        const typeOf = new Map(entries.map((e) => [e[0], e[1]]));
        removed = kept.filter((b) => typeOf.get(b[0]) !== b[1]).map((b) => b[0]);
      }
      const replaced = needFiles(entries, need).filter((p) => before.has(p));
      return { session: this.open({ key, entries, dockerfile, removed, need, replaced, release }), need };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** The same for a client that sent only its listing's digest: when the kept copy's manifest has that
   *  digest, nothing changed (a session with nothing to send); otherwise undefined (the client then sends
   *  the whole listing to diff). */
  async diffDigest(key: string, digest: string, dockerfile?: string): Promise<{ session: string; need: string[] } | undefined> {
    checkKey(key);
    const release = await this.lock(key);
    try {
      const kept = await this.keptOf(key);
      if (!kept.manifest.length || kept.digest !== digest) {
        release();
        return undefined;
      }
      return { session: this.open({ key, entries: kept.manifest, dockerfile, removed: [], need: [], replaced: [], release }), need: [] };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** A new session (it expires, giving up its lock, unless a build uses it in time). */
  private open(s: Omit<Session, 'timer'>): string {
    const session = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.end(session), SESSION_TTL_MS);
    timer.unref();
    this.sessions.set(session, { ...s, timer });
    return session;
  }

  /** Run `use` on the kept copy while the session's tar (the entries the client sent) is applied to it:
   *  `ready` settles once it is, so steps that need no context files (FROM, most RUNs) start at once. */
  async use<T>(session: string, tar: Readable, extract: (src: Readable, dir: string) => Promise<void>, use: (dir: string, digests: DigestCache, ready: Promise<void>, dockerfile: string | undefined, key: string) => Promise<T>): Promise<T> {
    const s = this.sessions.get(session);
    if (!s) throw new InvalidParameter(`build context session ${session} is unknown or expired: run the build again`);
    clearTimeout(s.timer);
    this.sessions.delete(session);
    try {
      const files = this.filesDir(s.key);
      await fs.mkdir(files, { recursive: true });
      // The digests of the copy as the last build left it (apply forgets it at once).
      const before = this.kept.get(s.key)?.digests;
      const ready = this.apply(s, tar, extract, files);
      ready.catch(() => undefined); // reported to the steps that wait for it
      const digestsFile = path.join(this.dir, s.key, 'digests.json');
      // Nothing changed: the digests kept for this very manifest serve again (with their tree hashes).
      const unchanged = !s.need.length && !s.removed.length ? this.kept.get(s.key) : undefined;
      // Changed: the digests known (each checked against its entry's version) carry over to the new list.
      const digests = unchanged?.digests ?? before?.over(s.entries) ?? DigestCache.from(await readJsonIfExists<Record<string, CachedDigest>>(digestsFile).catch(() => undefined), s.entries);
      try {
        return await use(files, digests, ready, s.dockerfile, s.key);
      } finally {
        await ready.catch(() => undefined);
        if (digests.changed) {
          digests.changed = false;
          await writeRecord(digestsFile, digests.toJSON()).catch(() => undefined);
        }
        const kept = this.kept.get(s.key);
        if (kept && (kept.manifest === s.entries || (!s.need.length && !s.removed.length))) kept.digests = digests;
        // (Side by side: the answer to the build waits for both.)
        await Promise.all([this.noteUse(s.key), this.evict(s.key).catch(() => undefined)]);
      }
    } finally {
      s.release();
    }
  }

  /** Bring the kept copy to the session's entries. */
  private async apply(s: Session, tar: Readable, extract: (src: Readable, dir: string) => Promise<void>, files: string): Promise<void> {
    if (!s.need.length && !s.removed.length) {
      tar.resume();
      return;
    }
    // The manifest goes first: a crash (or a failure) while applying leaves no manifest, so the next
    // sync sends everything again.
    this.kept.delete(s.key);
    await fs.rm(this.manifestPath(s.key), { force: true });
    for (const p of s.removed.sort().reverse()) await fs.rm(path.join(files, p), { recursive: true, force: true });
    // Changed files get new inodes, never new content in place: image layers may share the old ones
    // (COPY hard-links from the kept copy).
    for (const p of s.replaced) await fs.rm(path.join(files, p), { force: true });
    if (s.need.length) await extract(tar, files);
    else tar.resume();
    await writeRecord(this.manifestPath(s.key), s.entries);
    this.kept.set(s.key, { manifest: s.entries, byPath: new Map(s.entries.map((e) => [e[0], e])), digest: listingDigest(listingJSON(s.entries)) });
  }

  /** The kept copy's manifest (empty when there is none), from memory or read once from the disk. */
  private async keptOf(key: string): Promise<Kept> {
    let k = this.kept.get(key);
    if (!k) {
      const manifest = (await readJsonIfExists<ContextEntry[]>(this.manifestPath(key)).catch(() => undefined)) ?? [];
      k = { manifest, byPath: new Map(manifest.map((e) => [e[0], e])), digest: listingDigest(listingJSON(manifest)) };
      if (manifest.length) this.kept.set(key, k);
    }
    return k;
  }

  /** The kept contexts as build cache entries (BuildKit lists them as "source.local"). */
  async usage(): Promise<BuildCacheUsage[]> {
    const out: BuildCacheUsage[] = [];
    for (const key of await this.keys()) {
      const dir = path.join(this.dir, key);
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st) continue;
      const meta = (await readJsonIfExists<UseMeta>(path.join(dir, 'use.json')).catch(() => undefined)) ?? { lastUsedAt: st.mtime.toISOString(), usageCount: 1 };
      out.push({ ID: key, Parent: '', Parents: [], Type: 'source.local', Description: 'local source for context', InUse: this.locks.has(key), Shared: false, Size: await dirSize(dir, { shared: 'skip' }), CreatedAt: st.birthtime.toISOString(), LastUsedAt: meta.lastUsedAt, UsageCount: meta.usageCount });
    }
    return out;
  }

  /** Remove a kept context (not while a build uses it); returns the bytes it held. */
  async remove(key: string): Promise<number> {
    if (!/^[a-f0-9]{64}$/.test(key) || this.locks.has(key)) return 0;
    const size = await dirSize(path.join(this.dir, key), { shared: 'skip' });
    this.kept.delete(key);
    this.uses.delete(key);
    await fs.rm(path.join(this.dir, key), { recursive: true, force: true });
    return size;
  }

  private async keys(): Promise<string[]> {
    return (await fs.readdir(this.dir).catch(() => [] as string[])).filter((k) => /^[a-f0-9]{64}$/.test(k));
  }

  /** Accounting for `system df` (LastUsedAt, UsageCount): not worth an fsync. The count is read from the
   *  disk once (berthd is its only writer), then kept here. */
  private async noteUse(key: string): Promise<void> {
    const file = path.join(this.dir, key, 'use.json');
    const before = this.uses.get(key) ?? (await readJsonIfExists<UseMeta>(file).catch(() => undefined)) ?? { lastUsedAt: '', usageCount: 0 };
    const meta = { lastUsedAt: new Date().toISOString(), usageCount: before.usageCount + 1 };
    this.uses.set(key, meta);
    await fs.writeFile(file, JSON.stringify(meta)).catch(() => undefined);
  }

  private end(session: string): void {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    s.release();
  }

  /** Keep the most recently used contexts only. */
  private async evict(current: string): Promise<void> {
    const keys = (await this.keys()).filter((k) => k !== current && !this.locks.has(k));
    if (keys.length < MAX_CONTEXTS) return;
    // use.json is rewritten by every build that uses the context: its time is the last use.
    const used = await Promise.all(keys.map(async (k) => ({ k, t: (await fs.stat(path.join(this.dir, k, 'use.json')).catch(() => ({ mtimeMs: 0 }))).mtimeMs })));
    used.sort((a, b) => a.t - b.t);
    for (const { k } of used.slice(0, keys.length - MAX_CONTEXTS + 1)) {
      this.kept.delete(k);
      this.uses.delete(k);
    }
    for (const { k } of used.slice(0, keys.length - MAX_CONTEXTS + 1)) await fs.rm(path.join(this.dir, k), { recursive: true, force: true });
  }

  /** One build at a time per context: the next waits for the previous one's release. */
  private async lock(key: string): Promise<() => void> {
    for (let held = this.locks.get(key); held; held = this.locks.get(key)) await held;
    let release!: () => void;
    this.locks.set(key, new Promise<void>((r) => (release = r)));
    return () => {
      this.locks.delete(key);
      release();
    };
  }

  private manifestPath(key: string): string {
    return path.join(this.dir, key, 'manifest.json');
  }

  private filesDir(key: string): string {
    return path.join(this.dir, key, 'files');
  }
}

function checkKey(key: string): void {
  if (!/^[a-f0-9]{64}$/.test(key)) throw new InvalidParameter('invalid context key: expected 64 hex digits');
}

function checkEntry(e: ContextEntry): void {
  const ok = Array.isArray(e) && e.length === 5 && typeof e[0] === 'string' && ['f', 'd', 'l'].includes(e[1]) && Number.isInteger(e[2]) && Number.isInteger(e[3]) && /^\d+$/.test(e[4]);
  if (!ok) throw new InvalidParameter(`invalid build context entry ${JSON.stringify(e)}: expected [path, "f"|"d"|"l", mode, size, mtime-ns]`);
  const p = e[0];
  if (!p || p.startsWith('/') || path.posix.normalize(p) !== p || p === '..' || p.startsWith('../')) throw new InvalidParameter(`invalid build context path "${p}": paths are relative and normalised`);
}

/** The needed entries that are not directories (a directory is updated in place by tar, never removed). */
function needFiles(entries: ContextEntry[], need: string[]): string[] {
  const dirs = new Set(entries.filter((e) => e[1] === 'd').map((e) => e[0]));
  return need.filter((p) => !dirs.has(p));
}

function sameEntry(a: ContextEntry | undefined, b: ContextEntry): boolean {
  return !!a && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}
