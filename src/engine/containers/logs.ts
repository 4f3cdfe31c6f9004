// Reading a container's json-file log (written by berth-shim in Docker's on-disk format),
// across rotated files, with --since/--until/--tail and follow.
import { createReadStream, promises as fs } from 'node:fs';
import readline from 'node:readline';

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

function secondsToNs(s: number): bigint {
  return BigInt(Math.round(s * 1e6)) * 1000n;
}

/** The log files oldest first: FILE.(n-1) … FILE.1, FILE. */
async function logFiles(file: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1; ; i++) {
    try {
      await fs.access(`${file}.${i}`);
      rotated.push(`${file}.${i}`);
    } catch {
      break;
    }
  }
  return [...rotated.reverse(), file];
}

async function* readEntries(file: string, start = 0): AsyncGenerator<LogEntry> {
  let stream;
  try {
    await fs.access(file);
    stream = createReadStream(file, { start });
  } catch {
    return;
  }
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    try {
      yield JSON.parse(line) as LogEntry;
    } catch {
      // a torn last line (the shim is mid-write): follow mode reads it again later
    }
  }
}

function makeFilter(q: LogQuery): (e: LogEntry) => boolean {
  const since = q.since ? secondsToNs(q.since) : 0n;
  const until = q.until ? secondsToNs(q.until) : 0n;
  return (e) => {
    if (e.stream === 'stdout' ? !q.stdout : !q.stderr) return false;
    if (!since && !until) return true;
    const t = timeToNs(e.time);
    return (!since || t >= since) && (!until || t <= until);
  };
}

/** Entries already on disk, honouring the query's filters and tail. */
export async function* readLogs(file: string, q: LogQuery): AsyncGenerator<LogEntry> {
  const keep = makeFilter(q);
  if (q.tail === 0) return;
  const ring: LogEntry[] = [];
  for (const f of await logFiles(file)) {
    for await (const e of readEntries(f)) {
      if (!keep(e)) continue;
      if (q.tail < 0) {
        yield e;
        continue;
      }
      ring.push(e);
      if (ring.length > q.tail) ring.shift();
    }
  }
  yield* ring;
}

/** After readLogs: new entries as the shim appends them, until `done()` says the container stopped
 *  (then one last read) or the consumer stops iterating. Handles rotation by watching the inode. */
export async function* followLogs(file: string, q: LogQuery, done: () => boolean, signal: AbortSignal): AsyncGenerator<LogEntry> {
  const keep = makeFilter({ ...q, since: q.since, until: 0 });
  let { ino, size: offset } = await statOrZero(file);
  while (!signal.aborted) {
    const finished = done();
    const st = await statOrZero(file);
    if (st.ino !== ino) {
      ino = st.ino;
      offset = 0;
    }
    if (st.size > offset) {
      const { entries, consumed } = await readCompleteLines(file, offset, st.size);
      offset += consumed;
      for (const e of entries) {
        if (q.until && timeToNs(e.time) > secondsToNs(q.until)) return;
        if (keep(e)) yield e;
      }
    }
    if (finished) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function statOrZero(file: string): Promise<{ ino: number; size: number }> {
  try {
    const st = await fs.stat(file);
    return { ino: st.ino, size: st.size };
  } catch {
    return { ino: 0, size: 0 };
  }
}

/** Parse whole lines between offsets; a trailing partial line is left for the next round. */
async function readCompleteLines(file: string, from: number, to: number): Promise<{ entries: LogEntry[]; consumed: number }> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    await fh.read(buf, 0, buf.length, from);
    const end = buf.lastIndexOf(0x0a) + 1;
    const entries = buf
      .subarray(0, end)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogEntry);
    return { entries, consumed: end };
  } finally {
    await fh.close();
  }
}
