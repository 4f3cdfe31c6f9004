// berth's vulnerability database on disk: OSV records in an indexed form that opens in milliseconds.
//
//   <dir>/current            the name of the active generation (replaced atomically by rename)
//   <dir>/gen-<id>/meta.json  counts per ecosystem, skipped records, source, import time
//   <dir>/gen-<id>/records.jsonl  one validated OSV record per line
//   <dir>/gen-<id>/index.bin  sorted keys "<ecosystem>\0<name>" → (offset, length) of their records
//
// Opening reads meta.json; the index (a few MB for 100,000 records) is read on the first lookup and
// binary-searched; only the records a lookup returns are parsed. An import builds a new generation
// beside the active one and switches `current` only when it is complete: a corrupt or truncated
// archive is refused and the old database stays as it was.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import tarStream from 'tar-stream';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import type { VulnDbMeta, VulnDbStatus } from '../../api/vulndb.js';
import { baseEcosystem, normalizeName, validateRecord, type OsvRecord } from './osv.js';

export const DB_FORMAT = 1;
const INDEX_MAGIC = Buffer.from('BVIDX001');

export type DbMeta = VulnDbMeta;
export type DbStatus = VulnDbStatus;

/** One file of an import: its name and contents. */
export interface SourceFile {
  name: string;
  data: Buffer;
}

export class CorruptArchive extends InvalidParameter {}

export class VulnDb {
  private index?: Buffer;
  private entries = 0;
  private keysStart = 0;
  private postingsStart = 0;
  private fd?: number;

  private constructor(
    readonly dir: string,
    readonly genDir: string,
    readonly meta: DbMeta,
  ) {}

  /** Open the active database under `dir`; NotFound when none was imported. */
  static open(dir: string): VulnDb {
    let gen: string;
    try {
      gen = fs.readFileSync(path.join(dir, 'current'), 'utf8').trim();
    } catch {
      throw new NotFound(`no vulnerability database in ${dir}: import one with \`berth scan db import FILE\` or \`berth scan db pull REF\``);
    }
    const genDir = path.join(dir, gen);
    let meta: DbMeta;
    try {
      meta = JSON.parse(fs.readFileSync(path.join(genDir, 'meta.json'), 'utf8')) as DbMeta;
    } catch (e) {
      throw new NotFound(`the vulnerability database in ${genDir} is unreadable (${(e as Error).message}): import it again`);
    }
    if (meta.format !== DB_FORMAT) throw new InvalidParameter(`the vulnerability database in ${genDir} has format ${meta.format}, berth reads ${DB_FORMAT}: import it again`);
    return new VulnDb(dir, genDir, meta);
  }

  /** Like open, undefined when there is no database. */
  static tryOpen(dir: string): VulnDb | undefined {
    try {
      return VulnDb.open(dir);
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  }

  status(): DbStatus {
    const size = ['meta.json', 'records.jsonl', 'index.bin'].reduce((n, f) => n + (fs.statSync(path.join(this.genDir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
    return {
      ...this.meta,
      path: this.genDir,
      ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(this.meta.importedAt)) / 1000)),
      sizeBytes: size,
    };
  }

  private loadIndex(): Buffer {
    if (this.index) return this.index;
    const buf = fs.readFileSync(path.join(this.genDir, 'index.bin'));
    if (buf.length < 16 || !buf.subarray(0, 8).equals(INDEX_MAGIC)) throw new InvalidParameter(`the vulnerability database index ${this.genDir}/index.bin is damaged: import the database again`);
    this.entries = buf.readUInt32LE(8);
    const keysSize = buf.readUInt32LE(12);
    this.keysStart = 16 + this.entries * 16;
    this.postingsStart = this.keysStart + keysSize;
    this.index = buf;
    return buf;
  }

  /** The records naming (ecosystem, name), parsed; [] when there are none. */
  lookup(ecosystem: string, name: string): OsvRecord[] {
    const idx = this.loadIndex();
    const key = Buffer.from(`${ecosystem}\0${normalizeName(ecosystem, name)}`);
    let lo = 0;
    let hi = this.entries - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = 16 + mid * 16;
      const ko = this.keysStart + idx.readUInt32LE(e);
      const c = idx.compare(key, 0, key.length, ko, ko + idx.readUInt32LE(e + 4));
      if (c === 0) return this.readPostings(idx.readUInt32LE(e + 8), idx.readUInt32LE(e + 12));
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return [];
  }

  private readPostings(first: number, count: number): OsvRecord[] {
    const idx = this.index!;
    this.fd ??= fs.openSync(path.join(this.genDir, 'records.jsonl'), 'r');
    const out: OsvRecord[] = [];
    for (let i = 0; i < count; i++) {
      const p = this.postingsStart + (first + i) * 12;
      const offset = idx.readDoubleLE(p);
      const length = idx.readUInt32LE(p + 8);
      const buf = Buffer.allocUnsafe(length);
      fs.readSync(this.fd, buf, 0, length, offset);
      out.push(JSON.parse(buf.toString('utf8')) as OsvRecord);
    }
    return out;
  }

  /** Every package key (`ecosystem`, `name`) in the database. */
  *keys(): Generator<{ ecosystem: string; name: string }> {
    const idx = this.loadIndex();
    for (let i = 0; i < this.entries; i++) {
      const e = 16 + i * 16;
      const ko = this.keysStart + idx.readUInt32LE(e);
      const [ecosystem, name] = idx.toString('utf8', ko, ko + idx.readUInt32LE(e + 4)).split('\0') as [string, string];
      yield { ecosystem, name };
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Import

export interface ImportOptions {
  /** Shown by status; defaults to the input's path. */
  source?: string;
}

/** Builds one generation: records appended to records.jsonl, postings collected for the index. */
class GenerationWriter {
  private fd: number;
  private offset = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly postings = new Map<string, Array<[number, number]>>();
  private readonly ids = new Set<string>();
  readonly meta: DbMeta;

  constructor(readonly dir: string, source: string) {
    this.fd = fs.openSync(path.join(dir, 'records.jsonl'), 'w');
    this.meta = { format: DB_FORMAT, source, importedAt: new Date().toISOString(), records: 0, ecosystems: {}, packages: 0, skipped: {}, skippedExamples: [], files: 0 };
  }

  private skip(reason: keyof DbMeta['skipped'], example: string): void {
    this.meta.skipped[reason] = (this.meta.skipped[reason] ?? 0) + 1;
    if (this.meta.skippedExamples.length < 10) this.meta.skippedExamples.push(example);
  }

  add(file: SourceFile): void {
    this.meta.files++;
    let raw: unknown;
    try {
      raw = JSON.parse(file.data.toString('utf8'));
    } catch (e) {
      this.skip('invalid-json', `${file.name}: ${(e as Error).message}`);
      return;
    }
    // A file may hold one record or a list of them.
    for (const item of Array.isArray(raw) ? raw : [raw]) this.addRecord(item, file.name);
  }

  private addRecord(raw: unknown, file: string): void {
    const v = validateRecord(raw);
    if ('skip' in v) {
      this.skip(v.skip, `${file}: ${v.reason}`);
      return;
    }
    const r = v.record;
    if (this.ids.has(r.id)) {
      this.skip('duplicate', `${file}: ${r.id} appears twice`);
      return;
    }
    this.ids.add(r.id);
    const line = Buffer.from(JSON.stringify(r) + '\n');
    const at: [number, number] = [this.offset, line.length - 1];
    this.offset += line.length;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 1 << 20) this.flush();
    const keys = new Set<string>();
    const ecos = new Set<string>();
    for (const a of r.affected) {
      keys.add(`${a.package.ecosystem}\0${normalizeName(a.package.ecosystem, a.package.name)}`);
      ecos.add(a.package.ecosystem);
    }
    for (const k of keys) {
      const list = this.postings.get(k);
      if (list) list.push(at);
      else this.postings.set(k, [at]);
    }
    for (const e of ecos) this.meta.ecosystems[e] = (this.meta.ecosystems[e] ?? 0) + 1;
    this.meta.records++;
  }

  private flush(): void {
    if (!this.pending.length) return;
    const buf = Buffer.concat(this.pending);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Write the index and meta.json, fsync everything. */
  finish(): DbMeta {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    const keys = [...this.postings.keys()].map((k) => Buffer.from(k)).sort(Buffer.compare);
    const keysSize = keys.reduce((n, k) => n + k.length, 0);
    const postingCount = [...this.postings.values()].reduce((n, l) => n + l.length, 0);
    const buf = Buffer.alloc(16 + keys.length * 16 + keysSize + postingCount * 12);
    INDEX_MAGIC.copy(buf, 0);
    buf.writeUInt32LE(keys.length, 8);
    buf.writeUInt32LE(keysSize, 12);
    let keyOff = 0;
    let post = 0;
    const keysStart = 16 + keys.length * 16;
    const postingsStart = keysStart + keysSize;
    keys.forEach((k, i) => {
      const list = this.postings.get(k.toString())!;
      const e = 16 + i * 16;
      buf.writeUInt32LE(keyOff, e);
      buf.writeUInt32LE(k.length, e + 4);
      buf.writeUInt32LE(post, e + 8);
      buf.writeUInt32LE(list.length, e + 12);
      k.copy(buf, keysStart + keyOff);
      keyOff += k.length;
      for (const [offset, length] of list) {
        const p = postingsStart + post * 12;
        buf.writeDoubleLE(offset, p);
        buf.writeUInt32LE(length, p + 8);
        post++;
      }
    });
    writeFileSynced(path.join(this.dir, 'index.bin'), buf);
    this.meta.packages = keys.length;
    writeFileSynced(path.join(this.dir, 'meta.json'), Buffer.from(JSON.stringify(this.meta, null, 2) + '\n'));
    return this.meta;
  }

  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

function writeFileSynced(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A fresh temporary generation directory under `dir` (invisible to readers until installed). */
export async function tempGeneration(dir: string): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-gen-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  return tmp;
}

/** Make a complete temporary generation the active database: rename it into place, switch `current`
 * (an atomic rename), then remove the generations before it. */
export async function installGeneration(dir: string, tmp: string): Promise<void> {
  const gen = path.basename(tmp).replace(/^\.tmp-/, '');
  await fsp.rename(tmp, path.join(dir, gen));
  const cur = path.join(dir, `current.${gen}`);
  writeFileSynced(cur, Buffer.from(gen + '\n'));
  await fsp.rename(cur, path.join(dir, 'current'));
  for (const e of await fsp.readdir(dir)) {
    if (e === gen || e === 'current' || !(e.startsWith('gen-') || e.startsWith('current.'))) continue;
    // A reader that still has the old generation open keeps its file descriptor.
    await fsp.rm(path.join(dir, e), { recursive: true, force: true });
  }
}

/** Build a new generation from `files` and make it the active database; the previous one is removed
 * only after the switch. Refused (nothing changed) when the input fails or holds no usable record. */
export async function importRecords(dir: string, files: AsyncIterable<SourceFile>, source: string): Promise<DbMeta> {
  const tmp = await tempGeneration(dir);
  const w = new GenerationWriter(tmp, source);
  try {
    for await (const f of files) w.add(f);
    if (w.meta.records === 0) {
      const skipped = Object.entries(w.meta.skipped).map(([k, n]) => `${n} ${k}`).join(', ');
      throw new InvalidParameter(
        `no usable OSV records in ${source} (${w.meta.files} JSON file(s)${skipped ? `, skipped: ${skipped}` : ''}${w.meta.skippedExamples[0] ? `; e.g. ${w.meta.skippedExamples[0]}` : ''}): the current database is unchanged`,
      );
    }
    const meta = w.finish();
    await installGeneration(dir, tmp);
    return meta;
  } catch (e) {
    w.abort();
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Import a zip archive, a tar archive, a directory of OSV JSON files, or one JSON file. */
export async function importPath(dir: string, input: string, o: ImportOptions = {}): Promise<DbMeta> {
  const source = o.source ?? input;
  let st: fs.Stats;
  try {
    st = await fsp.stat(input);
  } catch {
    throw new NotFound(`${input}: no such file or directory (give a zip of OSV records, as osv.dev's all.zip, or a directory of OSV JSON files)`);
  }
  if (st.isDirectory()) return importRecords(dir, directoryFiles(input), source);
  const head = Buffer.alloc(512);
  const fd = await fsp.open(input, 'r');
  let n: number;
  try {
    n = (await fd.read(head, 0, 512, 0)).bytesRead;
  } finally {
    await fd.close();
  }
  const kind = sniff(head.subarray(0, n));
  if (kind === 'zip') return importRecords(dir, zipFiles(input, source), source);
  if (kind === 'tar') return importRecords(dir, tarFiles(fs.createReadStream(input), source), source);
  if (kind === 'gzip') return importRecords(dir, tarFiles(fs.createReadStream(input).pipe(zlib.createGunzip()), source), source);
  if (kind === 'json') return importRecords(dir, singleFile(input), source);
  throw new CorruptArchive(`${source} is not a zip or tar archive of OSV records, nor an OSV JSON file: the current database is unchanged`);
}

export type InputKind = 'zip' | 'tar' | 'gzip' | 'json' | 'unknown';

/** Tell a zip (PK\3\4, or an empty one's PK\5\6), tar (ustar magic), gzip or JSON input by its first bytes. */
export function sniff(head: Buffer): InputKind {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  const t = head.toString('utf8').trimStart();
  if (t.startsWith('{') || t.startsWith('[')) return 'json';
  return 'unknown';
}

async function* singleFile(file: string): AsyncGenerator<SourceFile> {
  yield { name: path.basename(file), data: await fsp.readFile(file) };
}

async function* directoryFiles(root: string): AsyncGenerator<SourceFile> {
  const walk = async function* (d: string): AsyncGenerator<string> {
    const entries = await fsp.readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) yield* walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) yield p;
    }
  };
  for await (const p of walk(root)) yield { name: path.relative(root, p), data: await fsp.readFile(p) };
}

function corrupt(source: string, e: unknown): CorruptArchive {
  return new CorruptArchive(`the archive ${source} is corrupt or truncated (${(e as Error).message}): nothing imported, the current database is unchanged`);
}

/** The .json entries of a zip, each checked against its CRC-32 (yauzl checks sizes, not checksums).
 * yauzl reads the central directory (ZIP64 included); the archive is held in memory and each entry is
 * inflated synchronously from its slice, which is many times faster than a stream per entry. */
async function* zipFiles(file: string, source: string): AsyncGenerator<SourceFile> {
  const buf = await fsp.readFile(file);
  let zip: yauzl.ZipFile;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true, strictFileNames: false }, (err, z) => (err ? reject(err) : resolve(z!))));
  } catch (e) {
    throw corrupt(source, e);
  }
  const entries: yauzl.Entry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (en: yauzl.Entry) => {
        entries.push(en);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
  } catch (e) {
    throw corrupt(source, e);
  } finally {
    zip.close();
  }
  for (const entry of entries) {
    if (entry.fileName.endsWith('/') || !entry.fileName.endsWith('.json')) continue;
    yield { name: entry.fileName, data: entryData(buf, entry, source) };
  }
}

function entryData(buf: Buffer, entry: yauzl.Entry, source: string): Buffer {
  const at = entry.relativeOffsetOfLocalHeader;
  if (at + 30 > buf.length || buf.readUInt32LE(at) !== 0x04034b50) throw corrupt(source, new Error(`${entry.fileName}: no local file header at offset ${at}`));
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw corrupt(source, new Error(`${entry.fileName}: data runs past the end of the archive`));
  let data: Buffer;
  try {
    if (entry.compressionMethod === 0) data = buf.subarray(start, end);
    else if (entry.compressionMethod === 8) data = zlib.inflateRawSync(buf.subarray(start, end));
    else throw new Error(`compression method ${entry.compressionMethod} is not supported (use deflate)`);
  } catch (e) {
    throw corrupt(source, new Error(`${entry.fileName}: ${(e as Error).message}`));
  }
  if (data.length !== entry.uncompressedSize) throw corrupt(source, new Error(`${entry.fileName}: ${data.length} bytes, the directory says ${entry.uncompressedSize}`));
  if (zlib.crc32(data) !== entry.crc32) throw corrupt(source, new Error(`${entry.fileName}: CRC-32 mismatch`));
  return data;
}

/** The .json entries of a tar stream (the CLI sends a directory as one). */
export async function* tarFiles(stream: Readable, source: string): AsyncGenerator<SourceFile> {
  const extract = tarStream.extract();
  stream.on('error', (e) => extract.destroy(e));
  stream.pipe(extract);
  try {
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      if (entry.header.type === 'file' && entry.header.name.endsWith('.json')) yield { name: entry.header.name, data: Buffer.concat(parts) };
    }
  } catch (e) {
    throw corrupt(source, e);
  }
}

export { baseEcosystem };
