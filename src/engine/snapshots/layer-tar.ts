// What every reader of a layer tar needs: its compression detected by magic bytes, its whiteout names,
// and the size Docker counts for its members.
import path from 'node:path';
import { Readable } from 'node:stream';
import { bunzip2Stream, gunzipStream, unxzStream, unzstdStream } from '../../lib/gzip.js';

export type Whiteout = { kind: 'file'; path: string } | { kind: 'opaque'; dir: string };

/** Map a tar entry name to the whiteout it stands for, if any. */
export function whiteoutOf(name: string): Whiteout | undefined {
  const clean = name.replace(/^\.?\//, '').replace(/\/$/, '');
  const base = path.posix.basename(clean);
  const dir = path.posix.dirname(clean);
  if (base === '.wh..wh..opq') return { kind: 'opaque', dir };
  if (base.startsWith('.wh.')) return { kind: 'file', path: path.posix.join(dir, base.slice(4)) };
  return undefined;
}

/** gzip, zstd, xz and bzip2 (dockerd's DecompressStream's formats) are detected by their magic bytes, so callers need not know the media type. A failing
 *  source (truncated upload, network error) fails the iteration rather than stalling it. */
export async function* decompressed(src: AsyncIterable<Buffer> | Readable): AsyncGenerator<Buffer> {
  const it = (src as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };
  const decompress = decompressorFor(head);
  if (!decompress) {
    yield* rest();
    return;
  }
  // A failing source destroys the decompressor's output with the error, which ends the loop below.
  for await (const c of decompress(Readable.from(rest()))) yield c as Buffer;
}

/** The formats dockerd's DecompressStream knows, by their magic bytes (a tar starts with a file name). */
function decompressorFor(head: Buffer): ((src: Readable) => Readable) | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return gunzipStream;
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return unzstdStream;
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return unxzStream;
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return bunzip2Stream;
  return undefined;
}

/** Bytes a layer's files take as Docker counts them (overlay2 DiffSize: regular file sizes and
 *  symlink target lengths, hard links once), from a tar header. */
export function entrySize(h: { type?: string | null; size?: number | null; linkname?: string | null }): number {
  if (h.type === 'file' || h.type === 'contiguous-file') return h.size ?? 0;
  if (h.type === 'symlink') return Buffer.byteLength(h.linkname ?? '');
  return 0;
}
