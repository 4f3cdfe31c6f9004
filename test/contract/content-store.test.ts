// The content store contract run against berth's implementation (src/content/store.ts): plain (as the
// registry server uses it) and with a lazy source (as the images service uses it, build layers kept as
// their files), plus the lazy blobs' own behaviour.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readBytes } from '../../src/content/content-store.js';
import { FileContentStore, type LazyBlob } from '../../src/content/store.js';
import { NotFound } from '../../src/lib/errors.js';
import { contentStoreSuite, digestOf, type StoreUnderTest } from './content-store.js';

const STORE_MODULE = new URL('../../src/content/store.js', import.meta.url).href;

/** A child process opens a writer on `root`, writes `bytes`, says so, and is killed before it commits. */
async function killedWriter(root: string, bytes: Buffer): Promise<void> {
  const script = `
    const { FileContentStore } = await import(${JSON.stringify(STORE_MODULE)});
    const w = await new FileContentStore(process.argv[1]).writer();
    const data = Buffer.alloc(${bytes.length}, ${bytes[0] ?? 0});
    w.stream.write(data, () => process.stdout.write('written\\n'));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('written') && resolve());
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before writing`)));
  });
  child.kill('SIGKILL');
  await exited;
}

async function fileStore(lazySource?: (s: FileContentStore) => FileContentStore['lazySource']): Promise<StoreUnderTest & { store: FileContentStore }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-content-'));
  const open = async (): Promise<FileContentStore> => {
    const s = new FileContentStore(root);
    s.lazySource = lazySource?.(s);
    await s.init();
    return s;
  };
  const t = {
    store: await open(),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
    reopen: async () => (t.store = await open()),
    crashWriter: (bytes: Buffer) => killedWriter(root, bytes),
    leftovers: async () => (await fs.readdir(path.join(root, 'content', 'ingest'))).length,
    truncate: (digest: string, size: number) => fs.truncate(path.join(root, 'content', 'sha256', digest.slice('sha256:'.length)), size),
  };
  return t;
}

/** Lazy blobs made from an in-memory map of chain ID → bytes (the layer store in the daemon). */
function memorySource(layers: Map<string, Buffer>): FileContentStore['lazySource'] {
  return {
    exists: async (b: LazyBlob) => layers.has(b.chainId),
    open: async (b: LazyBlob) => Readable.from([layers.get(b.chainId)!]),
  };
}

contentStoreSuite('FileContentStore', () => fileStore());
contentStoreSuite('FileContentStore with lazy blobs', () => fileStore(() => memorySource(new Map())));

describe('FileContentStore lazy blobs', () => {
  const withLazy = (fn: (t: StoreUnderTest & { store: FileContentStore }, layers: Map<string, Buffer>) => Promise<void>) => async () => {
    const layers = new Map<string, Buffer>();
    const t = await fileStore(() => memorySource(layers));
    try {
      await fn(t, layers);
    } finally {
      await t.cleanup();
    }
  };

  it('a lazy blob is listed, has its info, and is made (once) when read', withLazy(async ({ store }, layers) => {
    const tar = Buffer.alloc(300_000, 't');
    const digest = digestOf(tar);
    layers.set('chain-1', tar);
    await store.putLazy(digest, { size: tar.length, chainId: 'chain-1' });
    assert.equal((await store.info(digest)).size, tar.length);
    const walked = [];
    for await (const i of store.walk()) walked.push(i.digest);
    assert.deepEqual(walked, [digest]);
    const [a, b] = await Promise.all([readBytes(store, digest), readBytes(store, digest)]);
    assert.ok(a.equals(tar) && b.equals(tar));
    layers.delete('chain-1');
    assert.ok((await readBytes(store, digest)).equals(tar), 'stored once read: the layer is no longer needed');
  }));

  it('a lazy blob whose layer is gone is NotFound; one whose tar does not match fails and stores nothing', withLazy(async ({ store }, layers) => {
    const gone = digestOf(Buffer.from('gone'));
    await store.putLazy(gone, { size: 4, chainId: 'missing' });
    await assert.rejects(store.info(gone), (e) => e instanceof NotFound);
    await assert.rejects(readBytes(store, gone), (e) => e instanceof NotFound);
    const wrong = digestOf(Buffer.from('expected'));
    layers.set('chain-2', Buffer.from('something else'));
    await store.putLazy(wrong, { size: 8, chainId: 'chain-2' });
    await assert.rejects(readBytes(store, wrong), /mismatch/);
    await assert.rejects(store.readerAt(wrong), /mismatch/);
  }));

  it('delete removes a lazy record', withLazy(async ({ store }, layers) => {
    const tar = Buffer.from('layer tar');
    layers.set('c', tar);
    await store.putLazy(digestOf(tar), { size: tar.length, chainId: 'c' });
    await store.delete(digestOf(tar));
    await assert.rejects(store.info(digestOf(tar)), (e) => e instanceof NotFound);
  }));
});
