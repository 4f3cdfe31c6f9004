// A small per-layer file view the cataloguers read through: which files match, and their bytes. Two
// implementations: an extracted layer directory (berth's overlay form: whiteouts are 0:0 character
// devices, opaque directories carry trusted.overlay.opaque=y) and a layer tar stream (image archives,
// remote layers; whiteouts as `.wh.NAME` and `.wh..wh..opq`).
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';
import { isWhiteout, opaqueDirs } from '../snapshots/diff.js';
import { decompressed, whiteoutOf } from '../snapshots/layers.js';

export interface LayerFile {
  /** Path in the layer, no leading slash ("var/lib/dpkg/status"). */
  path: string;
  mode: number;
  size: number;
  /** The whole file (small files: package databases, manifests). */
  read(): Promise<Buffer>;
  /** The file in pieces (large files: binaries). */
  chunks(): AsyncIterable<Buffer>;
  /** Random access, where the view has it (directories, not tar streams). */
  readAt?(offset: number, length: number): Promise<Buffer>;
}

/** What a view asks before reading a file. `mode` is known only for entries whose name passed `wantsMode`. */
export interface FileFilter {
  /** The name alone decides: read it. */
  wantsName(p: string): boolean;
  /** The name might matter if the mode says so (executables); the view then looks at the mode. */
  wantsMode(p: string): boolean;
  /** With the mode known: read it. */
  wantsFile(p: string, mode: number, size: number): boolean;
}

export interface LayerVisit {
  /** Called for each wanted regular file, one at a time (a tar stream cannot go back). */
  file(f: LayerFile): Promise<void>;
  deleted(p: string): void;
  opaque(dir: string): void;
}

export interface LayerView {
  visit(filter: FileFilter, v: LayerVisit): Promise<void>;
}

const MAX_SMALL = 64 * 1024 * 1024;

/** An extracted layer directory (ROOT/layers/<chain>/diff). */
export function dirView(diffDir: string): LayerView {
  return {
    async visit(filter, v) {
      // getfattr runs while the tree is walked (its result is only needed at the end).
      const opaque = opaqueDirs(diffDir);
      opaque.catch(() => undefined);
      const entries = await fs.readdir(diffDir, { recursive: true, withFileTypes: true });
      const files: LayerFile[] = [];
      const statted: { rel: string; full: string }[] = [];
      for (const e of entries) {
        const full = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        const rel = path.relative(diffDir, full);
        if (e.isCharacterDevice()) {
          const st = await fs.lstat(full);
          if (isWhiteout(st)) v.deleted(rel);
          continue;
        }
        if (!e.isFile()) continue;
        if (filter.wantsName(rel)) statted.push({ rel, full });
        else if (filter.wantsMode(rel)) statted.push({ rel, full });
      }
      for (let i = 0; i < statted.length; i += 64) {
        const batch = statted.slice(i, i + 64);
        const sts = await Promise.all(batch.map((b) => fs.lstat(b.full)));
        batch.forEach((b, j) => {
          const st = sts[j]!;
          const mode = Number(st.mode) & 0o7777;
          if (!filter.wantsName(b.rel) && !filter.wantsFile(b.rel, mode, st.size)) return;
          files.push({
            path: b.rel,
            mode,
            size: st.size,
            read: () => fs.readFile(b.full),
            chunks: () => createReadStream(b.full, { highWaterMark: 1024 * 1024 }),
            readAt: async (offset, length) => {
              const fh = await fs.open(b.full, 'r');
              try {
                const buf = Buffer.alloc(length);
                const { bytesRead } = await fh.read(buf, 0, length, offset);
                return buf.subarray(0, bytesRead);
              } finally {
                await fh.close();
              }
            },
          });
        });
      }
      // A few files at a time: reads overlap, the cataloguers' work stays ordered per file.
      for (let i = 0; i < files.length; i += 8) await Promise.all(files.slice(i, i + 8).map((f) => v.file(f)));
      for (const d of await opaque) v.opaque(d);
    },
  };
}

/** A layer as a tar stream (compressed or not: detected by magic bytes). Consumes the stream. */
/** `onData` sees the uncompressed bytes (to hash the diff ID on the way). */
export function tarView(src: Readable | AsyncIterable<Buffer> | Buffer[], onData?: (c: Buffer) => void): LayerView {
  return {
    async visit(filter, v) {
      const extract = tarStream.extract();
      const plain = async function* () {
        for await (const c of decompressed(Array.isArray(src) ? Readable.from(src) : src)) {
          onData?.(c);
          yield c;
        }
      };
      const feed = pipeline(Readable.from(plain()), extract);
      const walk = (async () => {
        for await (const entry of extract) {
          const h = entry.header;
          const name = h.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
          const wh = whiteoutOf(name);
          const mode = (h.mode ?? 0) & 0o7777;
          const size = h.size ?? 0;
          if (wh) {
            if (wh.kind === 'opaque') v.opaque(wh.dir === '.' ? '' : wh.dir);
            else v.deleted(wh.path);
          } else if ((h.type === 'file' || h.type === 'contiguous-file') && (filter.wantsName(name) || (filter.wantsMode(name) && filter.wantsFile(name, mode, size)))) {
            let used = false;
            const once = () => {
              if (used) throw new Error(`${name}: read twice from a tar stream`);
              used = true;
            };
            await v.file({
              path: name,
              mode,
              size,
              read: async () => {
                once();
                if (size > MAX_SMALL) throw new Error(`${name} is too large to read (${size} bytes)`);
                const parts: Buffer[] = [];
                for await (const c of entry) parts.push(c as Buffer);
                return Buffer.concat(parts);
              },
              chunks: () => (once(), entry as AsyncIterable<Buffer>),
            });
          }
          entry.resume();
        }
      })();
      // A truncated stream may leave tar-stream's iterator unsettled: the feed's failure decides then.
      await Promise.race([walk.then(() => feed), feed.then(() => walk)]);
    },
  };
}
