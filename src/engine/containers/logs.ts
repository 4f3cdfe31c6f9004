// Reading a container's log (Docker's json-file format, written and rotated by berth-shim) across its
// rotated files — FILE.1 … FILE.(n-1), each plain or gzipped (FILE.K.gz, `compress=true` and the local
// driver) — with --since/--until/--tail and follow.
//
// The files are opened together and their inodes checked against the names afterwards, so a rotation
// in the middle of opening is noticed and the set opened again. --tail reads plain files backwards from
// their end (a compressed one forwards, keeping the last N). Follow continues exactly where the first
// read stopped (readLogs leaves a cursor for followLogs when the query follows) and survives rotation:
// the old file is drained to its end, then the files rotated since are found — by inode while they are
// plain, else by their entries' times against the last entry read — and read before the new file.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  log: string;
  /** RFC3339Nano, as stored. */
  time: string;
}

export interface LogQuery {
  stdout: boolean;
  stderr: boolean;
  /** Seconds since the epoch (fractional), 0 = no bound. */
  since: number;
  until: number;
  /** The same to the nanosecond, when known (apiTimeNs): the API's "seconds.nanoseconds" is exact. */
  sinceNs?: bigint;
  untilNs?: bigint;
  /** -1 = all. */
  tail: number;
  follow: boolean;
}

/** Nanoseconds since the epoch of an RFC3339Nano time, as a bigint (JS dates only keep ms). */
export function timeToNs(t: string): bigint {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(t);
  if (!m) return BigInt(Date.parse(t)) * 1_000_000n;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(Date.parse(m[1] + 'Z')) * 1_000_000n + BigInt(frac);
}

/** The API's since/until ("1700000000.123456789", as the docker CLI sends them) in exact nanoseconds;
 *  undefined when absent or not of that form. */
export function apiTimeNs(v: string | null | undefined): bigint | undefined {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v ?? '');
  if (!m) return undefined;
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Seconds (a float from the API's "seconds.nanoseconds": ~0.2 µs precise) in ns at a whole µs:
 *  rounded down for a lower bound and up for an upper one, so an entry at exactly --since/--until is in. */
function secondsToNs(s: number, up = false): bigint {
  return BigInt(up ? Math.ceil(s * 1e6) : Math.floor(s * 1e6)) * 1000n;
}

const CHUNK = 1 << 20;
const MAX_INDEX = 1000;

/** One file of a container's log, opened. */
interface LogSource {
  name: string;
  gz: boolean;
  fh: FileHandle;
  ino: number;
  size: number;
}

/** Where follow picks up after readLogs: the current file, the offset after its last complete line,
 *  and the time of the last entry on disk then. */
interface Cursor {
  ino: number;
  offset: number;
  lastTime?: string;
}

/** readLogs → followLogs hand-over, keyed by the query object both are given. */
const cursors = new WeakMap<LogQuery, Cursor>();

async function openSource(name: string, gz: boolean): Promise<LogSource | undefined> {
  let fh: FileHandle;
  try {
    fh = await fs.open(name, 'r');
  } catch {
    return undefined;
  }
  const st = await fh.stat();
  return { name, gz, fh, ino: st.ino, size: st.size };
}

/** FILE.k, else FILE.k.gz. */
async function openRotated(file: string, k: number): Promise<LogSource | undefined> {
  return (await openSource(`${file}.${k}`, false)) ?? (await openSource(`${file}.${k}.gz`, true));
}

async function closeAll(srcs: LogSource[]): Promise<void> {
  await Promise.all(srcs.map((s) => s.fh.close().catch(() => undefined)));
}

/** The rotated files oldest first, then the current one (when it exists). */
async function openLogSet(file: string): Promise<LogSource[]> {
  for (let attempt = 0; ; attempt++) {
    const set: LogSource[] = [];
    const current = await openSource(file, false);
    let k = 1;
    for (; k < MAX_INDEX; k++) {
      const s = await openRotated(file, k);
      if (!s) break;
      set.unshift(s);
    }
    if (current) set.push(current);
    if (attempt >= 4 || (await stillInPlace(file, set, k))) return set;
    await closeAll(set);
  }
}

/** Whether the files opened are still under their names and the first index found missing still is:
 *  else a rotation ran while they were opened (it shifts every name, with a moving gap). */
async function stillInPlace(file: string, set: LogSource[], missing?: number): Promise<boolean> {
  for (const s of set) {
    const st = await fs.stat(s.name).catch(() => undefined);
    if (!st || st.ino !== s.ino) return false;
  }
  if (missing === undefined) return true;
  for (const name of [`${file}.${missing}`, `${file}.${missing}.gz`]) {
    if (await fs.stat(name).then(() => true, () => false)) return false;
  }
  return true;
}

/** Complete lines of a plain file from `state.offset` to its end; the offset advances past each. */
async function* plainLinesForward(fh: FileHandle, state: { offset: number }): AsyncGenerator<string> {
  let carry = Buffer.alloc(0);
  let pos = state.offset;
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) return; // a trailing partial line is left for a later read
    pos += bytesRead;
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      const line = data.toString('utf8', start, nl);
      start = nl + 1;
      state.offset = pos - (data.length - start);
      if (line) yield line;
    }
    carry = Buffer.from(data.subarray(start));
  }
}

/** Lines of a gzipped file, all of it. A damaged file ends the reading of that file only. */
async function* gzLines(fh: FileHandle): AsyncGenerator<string> {
  const gunzip = zlib.createGunzip();
  // (not fh.createReadStream: a second one on the same FileHandle never reads once a first was destroyed)
  const input = Readable.from(fileChunks(fh), { objectMode: false });
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  gunzip.setEncoding('utf8'); // a character split between chunks stays whole
  let carry = '';
  try {
    for await (const chunk of gunzip) {
      const text = carry + String(chunk);
      const parts = text.split('\n');
      carry = parts.pop()!;
      for (const p of parts) if (p) yield p;
    }
    if (carry) yield carry;
  } catch {
    // truncated or corrupt: what was readable has been given
  } finally {
    input.unpipe(gunzip);
    input.destroy();
    gunzip.destroy();
  }
}

async function* fileChunks(fh: FileHandle): AsyncGenerator<Buffer> {
  for (let pos = 0; ; ) {
    const buf = Buffer.allocUnsafe(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Complete lines of a plain file backwards from `end`: the newest first. */
async function* plainLinesBackward(fh: FileHandle, end: number): AsyncGenerator<string> {
  let pos = end;
  let carry = Buffer.alloc(0);
  let first = true;
  while (pos > 0) {
    const n = Math.min(CHUNK / 4, pos);
    pos -= n;
    const buf = Buffer.allocUnsafe(n);
    await fh.read(buf, 0, n, pos);
    let data = carry.length ? Buffer.concat([buf, carry]) : buf;
    if (first) {
      // a trailing partial line (the shim mid-write) is not an entry yet
      const lastNl = data.lastIndexOf(0x0a);
      if (lastNl < 0 && pos > 0) {
        carry = data;
        continue;
      }
      data = data.subarray(0, lastNl + 1);
      first = false;
    }
    let endIdx = data.length;
    if (data[endIdx - 1] === 0x0a) endIdx--;
    // (lastIndexOf with a negative offset would count from the end: stop at 0)
    for (let nl = endIdx > 0 ? data.lastIndexOf(0x0a, endIdx - 1) : -1; nl >= 0; nl = endIdx > 0 ? data.lastIndexOf(0x0a, endIdx - 1) : -1) {
      if (endIdx > nl + 1) yield data.toString('utf8', nl + 1, endIdx);
      endIdx = nl;
    }
    carry = Buffer.from(data.subarray(0, endIdx));
  }
  if (carry.length && !first) yield carry.toString('utf8');
}

/** The offset just past the last complete line of a plain file of this size. */
async function lastLineEnd(fh: FileHandle, size: number): Promise<number> {
  let pos = size;
  while (pos > 0) {
    const n = Math.min(65536, pos);
    const buf = Buffer.allocUnsafe(n);
    await fh.read(buf, 0, n, pos - n);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return pos - n + nl + 1;
    pos -= n;
  }
  return 0;
}

function parse(line: string): LogEntry | undefined {
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined; // not a record (a damaged file): skipped
  }
}

function makeFilter(q: LogQuery): (e: LogEntry) => boolean {
  const since = q.sinceNs ?? (q.since ? secondsToNs(q.since) : 0n);
  const until = q.untilNs ?? (q.until ? secondsToNs(q.until, true) : 0n);
  return (e) => {
    if (e.stream === 'stdout' ? !q.stdout : !q.stderr) return false;
    if (!since && !until) return true;
    const t = timeToNs(e.time);
    return (!since || t >= since) && (!until || t <= until);
  };
}

/** Entries already on disk, honouring the query's filters and tail. With `follow`, leaves a cursor
 *  so followLogs(…, q, …) continues exactly after them. */
export async function* readLogs(file: string, q: LogQuery): AsyncGenerator<LogEntry> {
  const keep = makeFilter(q);
  const set = await openLogSet(file);
  try {
    const current = set.length && set[set.length - 1]!.name === file ? set[set.length - 1]! : undefined;
    let lastTime: string | undefined;
    let end = current?.size ?? 0;
    if (q.tail < 0) {
      for (const src of set) {
        const state = { offset: 0 };
        const lines = src.gz ? gzLines(src.fh) : plainLinesForward(src.fh, state);
        for await (const line of lines) {
          const e = parse(line);
          if (!e) continue;
          lastTime = e.time;
          if (keep(e)) yield e;
        }
        if (src === current) end = state.offset;
      }
    } else {
      // newest first until `tail` entries are found; then give them oldest first
      const found: LogEntry[][] = [];
      let need = q.tail;
      if (current) end = await lastLineEnd(current.fh, current.size);
      for (let i = set.length - 1; i >= 0 && (need > 0 || lastTime === undefined); i--) {
        const src = set[i]!;
        const got: LogEntry[] = [];
        if (src.gz) {
          let newest: string | undefined;
          for await (const line of gzLines(src.fh)) {
            const e = parse(line);
            if (!e) continue;
            newest = e.time;
            if (keep(e)) {
              got.push(e);
              if (got.length > need) got.shift();
            }
          }
          lastTime ??= newest;
        } else {
          for await (const line of plainLinesBackward(src.fh, src === current ? end : src.size)) {
            const e = parse(line);
            if (!e) continue;
            lastTime ??= e.time;
            if (need <= 0) break;
            if (keep(e)) {
              got.push(e);
              if (got.length >= need) break;
            }
          }
          got.reverse();
        }
        found.unshift(got);
        need -= got.length;
      }
      for (const g of found) yield* g;
    }
    if (q.follow) cursors.set(q, { ino: current?.ino ?? 0, offset: end, lastTime });
  } finally {
    await closeAll(set);
  }
}

/** After readLogs: new entries as the shim appends them, until `done()` says the container stopped
 *  (then one last read) or the consumer stops iterating. Follows the log through rotations. */
export async function* followLogs(file: string, q: LogQuery, done: () => boolean, signal: AbortSignal): AsyncGenerator<LogEntry> {
  const keep = makeFilter({ ...q, until: 0, untilNs: undefined });
  const until = q.untilNs ?? (q.until ? secondsToNs(q.until, true) : 0n);
  let cur = cursors.get(q);
  cursors.delete(q);
  let src = await openSource(file, false);
  let lastTime = cur?.lastTime;
  let state = { offset: 0 };
  /** Gives an entry; false once --until is passed. */
  const pass = (e: LogEntry): 'stop' | 'skip' | 'give' => {
    lastTime = e.time;
    if (until && timeToNs(e.time) > until) return 'stop';
    return keep(e) ? 'give' : 'skip';
  };
  try {
    if (!cur) cur = { ino: src?.ino ?? 0, offset: src ? await lastLineEnd(src.fh, src.size) : 0, lastTime };
    let ino = cur.ino;
    if (src && (src.ino === cur.ino || !cur.ino)) {
      state = { offset: cur.ino ? cur.offset : 0 };
      ino = src.ino;
    } else if (src) {
      // rotated between the first read and now: the rest of that file, then what came after it
      const newer = await catchUp(file, { ino, offset: cur.offset }, src.ino, lastTime);
      for (const e of newer) {
        const p = pass(e);
        if (p === 'stop') return;
        if (p === 'give') yield e;
      }
      ino = src.ino;
    }
    while (!signal.aborted) {
      const finished = done();
      if (src) {
        for await (const line of plainLinesForward(src.fh, state)) {
          const e = parse(line);
          if (!e) continue;
          const p = pass(e);
          if (p === 'stop') return;
          if (p === 'give') yield e;
          if (signal.aborted) return;
        }
      }
      const st = await fs.stat(file).catch(() => undefined);
      if (st && src && st.ino === ino && st.size < state.offset) state.offset = 0; // max-file 1: truncated in place
      if (st && (!src || st.ino !== ino)) {
        // Rotated: the shim closed the old file before renaming it, so what it holds now is final.
        if (src) {
          for await (const line of plainLinesForward(src.fh, state)) {
            const e = parse(line);
            if (!e) continue;
            const p = pass(e);
            if (p === 'stop') return;
            if (p === 'give') yield e;
          }
          await src.fh.close().catch(() => undefined);
          src = undefined;
        }
        // (the name may be missing for a moment, between the shim's rename and its new file: then the
        // catch-up from `ino`, the last file read, waits for the next round)
        const next = await openSource(file, false);
        if (next) {
          const newer = await catchUp(file, { ino }, next.ino, lastTime).catch(async (err: unknown) => {
            await next.fh.close().catch(() => undefined);
            throw err;
          });
          src = next;
          ino = next.ino;
          state = { offset: 0 };
          for (const e of newer) {
            const p = pass(e);
            if (p === 'stop') return;
            if (p === 'give') yield e;
          }
          continue;
        }
      }
      if (finished) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await src?.fh.close().catch(() => undefined);
  }
}

/** Entries of the files rotated after the old file (and before the current file `newIno`), oldest
 *  first — with the old file's own rest from `old.offset` when that is given. The old file is found by
 *  inode while it is plain, else (compressed since) by time: entries after `lastTime`, the last read. */
async function catchUp(file: string, old: { ino: number; offset?: number }, newIno: number, lastTime: string | undefined): Promise<LogEntry[]> {
  const last = lastTime ? timeToNs(lastTime) : undefined;
  for (let attempt = 0; ; attempt++) {
    const picked: { src: LogSource; after?: bigint; from?: number }[] = [];
    const seen: LogSource[] = [];
    let k = 1;
    let stoppedAt: LogSource | undefined;
    try {
      for (; k < MAX_INDEX; k++) {
        const src = await openRotated(file, k);
        if (!src) break;
        seen.push(src);
        if (!src.gz && src.ino === old.ino) {
          stoppedAt = src;
          if (old.offset !== undefined) picked.unshift({ src, from: old.offset });
          break;
        }
        if (src.ino === newIno) continue; // the current file, rotated meanwhile: it is read as current
        const first = await firstEntry(src);
        if (last !== undefined && first && timeToNs(first.time) <= last) {
          stoppedAt = src;
          picked.unshift({ src, after: last }); // the old file itself (compressed since) or one overlapping it
          break;
        }
        picked.unshift({ src });
      }
      // a rotation during the scan shifts every name: scan again (what was opened stays readable)
      if (attempt < 4 && !(await stillInPlace(file, seen, stoppedAt ? undefined : k))) continue;
      const out: LogEntry[] = [];
      for (const { src, after, from } of picked) {
        const lines = src.gz ? gzLines(src.fh) : plainLinesForward(src.fh, { offset: from ?? 0 });
        for await (const line of lines) {
          const e = parse(line);
          if (e && (after === undefined || timeToNs(e.time) > after)) out.push(e);
        }
      }
      return out;
    } finally {
      await closeAll(seen);
    }
  }
}

async function firstEntry(src: LogSource): Promise<LogEntry | undefined> {
  const lines = src.gz ? gzLines(src.fh) : plainLinesForward(src.fh, { offset: 0 });
  for await (const line of lines) {
    const e = parse(line);
    if (e) {
      await lines.return(undefined);
      return e;
    }
  }
  return undefined;
}
