// The content store's interface, in containerd's manner (content.Store): blobs addressed by digest,
// read through readers, written through writers that verify on commit. No file path is handed out, so
// an implementation may keep blobs anywhere (files, lazily made tars, memory, a remote store).
// Convenience functions (has, readBytes, readText, readJson, putStream, putBytes) are written over the
// interface below; the contract every implementation must meet is test/contract/content-store.ts.
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameter, NotFound } from '../lib/errors.js';

/** What the store knows about a blob (containerd's content.Info). */
export interface ContentInfo {
  digest: string;
  size: number;
  /** When the blob was stored, in ms since the epoch (a blob is written once; GC spares fresh ones). */
  createdAt: number;
}

/** What a writer's commit is checked against; a commit that does not match stores nothing. */
export interface Expected {
  digest?: string;
  size?: number;
}

/** Random access to one blob (containerd's content.ReaderAt): the registry server serves ranges with it. */
export interface ReaderAt {
  /** The blob's size (asked for only when needed: the registry server knows it already). */
  size(): Promise<number>;
  /** Read up to `length` bytes at `position` into `buf` at `offset`; 0 at the end of the blob. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A blob being written (containerd's content.Writer). Bytes go into `stream` (a temporary ingest, never
 * visible as a blob); `commit` waits for the stream to finish, verifies digest and size and only then
 * gives the blob its name. A failed commit or `abort` leaves nothing behind.
 */
export interface ContentWriter {
  readonly stream: Writable;
  commit(expected?: Expected): Promise<ContentInfo>;
  abort(): Promise<void>;
}

export interface ContentStore {
  /** NotFound when the store has no such blob. */
  info(digest: string): Promise<ContentInfo>;
  /** The blob's bytes from `start` (default 0); the stream fails with NotFound when the blob is missing. */
  reader(digest: string, opts?: { start?: number }): Readable;
  /** Random access to the blob; NotFound when missing. The caller closes it. */
  readerAt(digest: string): Promise<ReaderAt>;
  writer(): Promise<ContentWriter>;
  /** Every blob in the store. */
  walk(): AsyncIterable<ContentInfo>;
  /** Remove a blob; removing a missing one is not an error. */
  delete(digest: string): Promise<void>;
}

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) throw new InvalidParameter(`invalid digest: ${digest}`);
  return digest;
}

export async function has(store: ContentStore, digest: string): Promise<boolean> {
  try {
    await store.info(digest);
    return true;
  } catch (e) {
    if (e instanceof NotFound) return false;
    throw e;
  }
}

export async function readBytes(store: ContentStore, digest: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of store.reader(digest)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function readText(store: ContentStore, digest: string): Promise<string> {
  return (await readBytes(store, digest)).toString('utf8');
}

export async function readJson<T>(store: ContentStore, digest: string): Promise<T> {
  const text = await readText(store, digest);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InvalidParameter(`blob ${digest} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Stream a blob in; verified against `expected` before it becomes visible. */
export async function putStream(store: ContentStore, src: Readable, expected: Expected = {}): Promise<ContentInfo> {
  const w = await store.writer();
  try {
    await pipeline(src, w.stream);
    return await w.commit(expected);
  } catch (e) {
    await w.abort();
    throw e;
  }
}

export async function putBytes(store: ContentStore, data: Buffer | string, expectedDigest?: string): Promise<ContentInfo> {
  const w = await store.writer();
  try {
    await new Promise<void>((resolve, reject) => {
      w.stream.once('error', reject);
      w.stream.end(Buffer.from(data), () => resolve());
    });
    return await w.commit({ digest: expectedDigest });
  } catch (e) {
    await w.abort();
    throw e;
  }
}
