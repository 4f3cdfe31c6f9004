// The log reader (src/engine/containers/logs.ts) and the log options (log-config.ts) on files laid out
// as berth-shim writes them: FILE.N … FILE.1, plain or .gz, and the current FILE, possibly mid-line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { followLogs, readLogs, type LogEntry, type LogQuery } from '../../src/engine/containers/logs.js';
import { normalizeLogConfig, resolveLogOptions } from '../../src/engine/containers/log-config.js';
import { InvalidParameter } from '../../src/lib/errors.js';

const base = Date.parse('2024-05-01T10:00:00Z');
function record(i: number, len = 20): string {
  const t = new Date(base + i * 1000).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(i % 1_000_000).padStart(6, '0')}Z`);
  return JSON.stringify({ log: `line-${i}-${'x'.repeat(len)}\n`, stream: i % 7 === 3 ? 'stderr' : 'stdout', time: t }) + '\n';
}
function records(from: number, to: number, len?: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += record(i, len);
  return s;
}
const all: LogQuery = { stdout: true, stderr: true, since: 0, until: 0, tail: -1, follow: false };

async function collect(it: AsyncIterable<LogEntry>, out: number[] = []): Promise<number[]> {
  for await (const e of it) out.push(Number(/^line-(\d+)-/.exec(e.log)![1]));
  return out;
}
const range = (a: number, b: number) => Array.from({ length: b - a }, (_x, i) => a + i);

async function layout(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'logs-'));
  const file = path.join(dir, 'c-json.log');
  // long lines (5,000 bytes): the backwards reader crosses its 256 KiB chunks in the middle of lines
  await fs.writeFile(`${file}.3.gz`, zlib.gzipSync(records(0, 100, 5000)));
  await fs.writeFile(`${file}.2`, records(100, 200, 5000));
  await fs.writeFile(`${file}.1.gz`, zlib.gzipSync(records(200, 300, 5000)));
  await fs.writeFile(file, records(300, 400, 5000) + record(400).slice(0, 30)); // the shim mid-write
  return file;
}

test('readLogs reads plain and compressed rotated files oldest first, without a torn last line', async () => {
  const file = await layout();
  assert.deepEqual(await collect(readLogs(file, all)), range(0, 400));
  assert.deepEqual(await collect(readLogs(file, { ...all, stderr: false })), range(0, 400).filter((i) => i % 7 !== 3));
  await fs.rm(path.dirname(file), { recursive: true });
});

test('readLogs --tail counts back across plain and compressed files', async () => {
  const file = await layout();
  for (const n of [0, 1, 2, 99, 100, 101, 150, 250, 399, 400, 1000]) {
    assert.deepEqual(await collect(readLogs(file, { ...all, tail: n })), range(Math.max(0, 400 - n), 400), `tail ${n}`);
  }
  assert.deepEqual(await collect(readLogs(file, { ...all, tail: 3, stdout: false })), [360, 367, 374, 381, 388, 395].slice(-3));
  await fs.rm(path.dirname(file), { recursive: true });
});

test('readLogs --since/--until select by the records time', async () => {
  const file = await layout();
  const since = (base + 150_000) / 1000;
  const until = (base + 250_500) / 1000;
  assert.deepEqual(await collect(readLogs(file, { ...all, since, until })), range(150, 251));
  assert.deepEqual(await collect(readLogs(file, { ...all, since, until, tail: 5 })), range(246, 251));
  await fs.rm(path.dirname(file), { recursive: true });
});

test('followLogs continues after readLogs and through rotations, compressed or not', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'logs-'));
  const file = path.join(dir, 'c-json.log');
  await fs.writeFile(file, records(0, 10));
  const q: LogQuery = { ...all, follow: true };
  const first = await collect(readLogs(file, q));
  assert.deepEqual(first, range(0, 10));
  let stop = false;
  const abort = new AbortController();
  const seen: number[] = [];
  const followed = collect(followLogs(file, q, () => stop, abort.signal), seen);
  // A round rotates at most twice; the next starts once the reader has caught up, so a loaded machine
  // cannot rotate lines out of the kept files (max-file 4) before the reader got to them.
  const caughtUp = async (upTo: number) => {
    for (let i = 0; i < 500 && seen.length < upTo - 10; i++) await new Promise((r) => setTimeout(r, 20));
  };
  // the shim's rotation (max-file 4): shift, FILE → FILE.1, then compress FILE.1 in the background
  const rotate = async (compressNow: boolean) => {
    await fs.rm(`${file}.3`, { force: true });
    await fs.rm(`${file}.3.gz`, { force: true });
    for (let i = 3; i >= 1; i--) {
      for (const gz of ['', '.gz']) {
        const from = i === 1 ? file : `${file}.${i - 1}${gz}`;
        if (i === 1 && gz) continue;
        await fs.rename(from, `${file}.${i}${gz}`).catch(() => undefined);
      }
    }
    await fs.writeFile(file, '');
    if (compressNow) {
      // as the shim's compressor: a whole temporary file renamed into place, then the plain one removed
      await fs.writeFile(`${file}.gz-tmp`, zlib.gzipSync(await fs.readFile(`${file}.1`)));
      await fs.rename(`${file}.gz-tmp`, `${file}.1.gz`);
      await fs.rm(`${file}.1`);
    }
  };
  let n = 10;
  for (let round = 0; round < 8; round++) {
    // lines appended in pieces, sometimes rotated twice between the reader's polls
    await fs.appendFile(file, records(n, n + 5));
    await fs.appendFile(file, record(n + 5).slice(0, 17));
    await new Promise((r) => setTimeout(r, round % 2 ? 150 : 10));
    await fs.appendFile(file, record(n + 5).slice(17));
    n += 6;
    await rotate(round % 3 !== 0);
    if (round % 2) {
      await fs.appendFile(file, records(n, n + 3));
      n += 3;
      await rotate(true);
    }
    await caughtUp(n);
  }
  await fs.appendFile(file, records(n, n + 4));
  n += 4;
  // The container "stops" right after its last write: the follower's one last read must still catch up
  // through the rotations (no grace period to lean on).
  stop = true;
  assert.deepEqual(await followed, range(10, n));
  await fs.rm(dir, { recursive: true });
});

test('log options are validated as dockerd does, with the drivers defaults', () => {
  const bad = (type: string, config: Record<string, string>, message: string) =>
    assert.throws(() => normalizeLogConfig({ Type: type, Config: config }, {}), (e: unknown) => e instanceof InvalidParameter && e.message === message, message);
  bad('bogus', {}, "logger: no log driver named 'bogus' is registered");
  bad('json-file', { 'max-file': '0' }, 'max-file cannot be less than 1');
  bad('json-file', { compress: 'maybe' }, 'error reading compress log option: strconv.ParseBool: parsing "maybe": invalid syntax');
  bad('json-file', { compress: 'true', 'max-file': '1' }, 'compress cannot be true when max-file is less than 2 or max-size is not set');
  bad('json-file', { 'max-size': '0' }, 'max-size must be a positive number');
  bad('json-file', { 'max-size': '1q' }, "invalid value for max-size: 1q: invalid suffix: 'q'");
  bad('json-file', { foo: '1' }, "unknown log opt 'foo' for json-file log driver");
  bad('local', { 'max-file': '1' }, 'compression cannot be enabled when max file count is 1');
  bad('local', { 'max-file': '-1' }, 'max file count cannot be less than 0');
  bad('local', { tag: 'x' }, "unknown log opt 'tag' for log driver local");
  bad('json-file', { mode: 'sometimes' }, 'logger: logging mode not supported: sometimes');
  assert.deepEqual(resolveLogOptions('local', {}), { maxSize: 20_000_000, maxFile: 5, compress: true });
  assert.deepEqual(resolveLogOptions('json-file', {}), { maxSize: 10_000_000, maxFile: 3, compress: false });
  assert.deepEqual(resolveLogOptions('json-file', { compress: 'true', 'max-size': '1k' }), { maxSize: 1000, maxFile: 3, compress: true });
  assert.deepEqual(resolveLogOptions('local', { compress: 'false', 'max-file': '1' }), { maxSize: 20_000_000, maxFile: 1, compress: false });
  assert.equal(resolveLogOptions('none', {}), undefined);
  // the daemon's --log-opt under the container's own, for json-file only (as dockerd merges them)
  assert.deepEqual(normalizeLogConfig({ Type: '', Config: { 'max-file': '5' } }, { 'max-size': '1m', 'max-file': '2' }), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '5' } });
  assert.deepEqual(normalizeLogConfig({ Type: 'local', Config: {} }, { 'max-size': '1m' }), { Type: 'local', Config: {} });
});
