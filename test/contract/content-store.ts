// The content store's contract (src/content/content-store.ts): what any implementation must do, run by
// content-store.test.ts against each one. A store under test comes with hooks for what the interface
// cannot express on its own: reopening the store as a restarted daemon would, leaving a crashed writer
// behind, counting leftovers of writes, and damaging a stored blob.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { has, putBytes, putStream, readBytes, readJson, type ContentStore } from '../../src/content/content-store.js';
import { InvalidParameter, NotFound } from '../../src/lib/errors.js';

export interface StoreUnderTest {
  store: ContentStore;
  cleanup(): Promise<void>;
  /** The same store opened again (its init run), as after a daemon restart. */
  reopen(): Promise<ContentStore>;
  /** Leave behind what a writer killed while writing `bytes` leaves (a partial ingest). */
  crashWriter(bytes: Buffer): Promise<void>;
  /** How many unfinished writes the store keeps on its disk (ingest files). */
  leftovers(): Promise<number>;
  /** Cut a stored blob down to `size` bytes behind the store's back; omitted when there is no disk. */
  truncate?(digest: string, size: number): Promise<void>;
}

export const digestOf = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function walked(store: ContentStore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const i of store.walk()) out.set(i.digest, i.size);
  return out;
}

async function write(store: ContentStore, chunks: Buffer[], expected?: { digest?: string; size?: number }) {
  const w = await store.writer();
  for (const c of chunks) await new Promise<void>((resolve, reject) => w.stream.write(c, (e) => (e ? reject(e) : resolve())));
  return w.commit(expected);
}

async function readerAtBytes(store: ContentStore, digest: string, position = 0): Promise<Buffer> {
  const r = await store.readerAt(digest);
  try {
    const buf = Buffer.alloc((await r.size()) - position);
    let got = 0;
    while (got < buf.length) {
      const n = await r.read(buf, got, buf.length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    await r.close();
  }
}

const isNotFound = (e: unknown): boolean => e instanceof NotFound;

export function contentStoreSuite(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  const withStore = (fn: (t: StoreUnderTest) => Promise<void>) => async () => {
    const t = await makeStore();
    try {
      await fn(t);
    } finally {
      await t.cleanup();
    }
  };

  describe(`content store contract: ${name}`, () => {
    it('write and commit, then info, reader and readerAt give the same bytes', withStore(async ({ store }) => {
      const data = Buffer.concat([Buffer.from('hello '), Buffer.alloc(700_000, 7), Buffer.from(' world')]);
      const info = await write(store, [data.subarray(0, 6), data.subarray(6, 300_000), data.subarray(300_000)], { digest: digestOf(data), size: data.length });
      assert.equal(info.digest, digestOf(data));
      assert.equal(info.size, data.length);
      const got = await store.info(info.digest);
      assert.equal(got.digest, info.digest);
      assert.equal(got.size, data.length);
      assert.ok(got.createdAt > Date.now() - 60_000 && got.createdAt <= Date.now() + 1000, `createdAt ${got.createdAt}`);
      assert.ok((await readBytes(store, info.digest)).equals(data));
      assert.ok((await readerAtBytes(store, info.digest)).equals(data));
      assert.ok((await readerAtBytes(store, info.digest, 123_456)).equals(data.subarray(123_456)));
      const parts: Buffer[] = [];
      for await (const c of store.reader(info.digest, { start: 5 })) parts.push(c as Buffer);
      assert.ok(Buffer.concat(parts).equals(data.subarray(5)));
    }));

    it('commits without expectations, and an empty blob', withStore(async ({ store }) => {
      const info = await write(store, [Buffer.from('no expectations')]);
      assert.equal(info.digest, digestOf(Buffer.from('no expectations')));
      const empty = await write(store, [], { size: 0 });
      assert.equal(empty.size, 0);
      assert.equal((await readBytes(store, empty.digest)).length, 0);
    }));

    it('a commit with the wrong digest fails and stores nothing', withStore(async (t) => {
      const data = Buffer.from('the real bytes');
      await assert.rejects(write(t.store, [data], { digest: digestOf(Buffer.from('other bytes')) }), InvalidParameter);
      await assert.rejects(t.store.info(digestOf(data)), isNotFound);
      await assert.rejects(t.store.info(digestOf(Buffer.from('other bytes'))), isNotFound);
      assert.equal((await walked(t.store)).size, 0);
      assert.equal(await t.leftovers(), 0);
    }));

    it('a commit with the wrong size fails and stores nothing', withStore(async (t) => {
      const data = Buffer.from('twelve bytes');
      await assert.rejects(write(t.store, [data], { digest: digestOf(data), size: data.length + 1 }), InvalidParameter);
      await assert.rejects(t.store.info(digestOf(data)), isNotFound);
      assert.equal((await walked(t.store)).size, 0);
      assert.equal(await t.leftovers(), 0);
    }));

    it('an aborted writer leaves nothing', withStore(async (t) => {
      const w = await t.store.writer();
      w.stream.write(Buffer.from('half of a blob'));
      await w.abort();
      assert.equal((await walked(t.store)).size, 0);
      await assert.rejects(t.store.info(digestOf(Buffer.from('half of a blob'))), isNotFound);
      assert.equal(await t.leftovers(), 0);
    }));

    it('a failing source stream leaves nothing (putStream)', withStore(async (t) => {
      const src = Readable.from(
        (async function* () {
          yield Buffer.from('some bytes');
          throw new Error('network went away');
        })(),
      );
      await assert.rejects(putStream(t.store, src), /network went away/);
      assert.equal((await walked(t.store)).size, 0);
      assert.equal(await t.leftovers(), 0);
    }));

    it('concurrent writers of the same content both succeed and one blob exists', withStore(async (t) => {
      const data = Buffer.alloc(2_000_000, 'x');
      const d = digestOf(data);
      const results = await Promise.all([0, 1, 2].map(() => write(t.store, [data.subarray(0, 1_000_000), data.subarray(1_000_000)], { digest: d, size: data.length })));
      for (const r of results) assert.equal(r.digest, d);
      assert.deepEqual([...(await walked(t.store))], [[d, data.length]]);
      assert.ok((await readBytes(t.store, d)).equals(data));
      assert.equal(await t.leftovers(), 0);
    }));

    it('delete then info, reader and readerAt say NotFound; deleting a missing blob is no error', withStore(async ({ store }) => {
      const { digest } = await putBytes(store, 'to be deleted');
      await store.delete(digest);
      await assert.rejects(store.info(digest), isNotFound);
      await assert.rejects(readBytes(store, digest), isNotFound);
      await assert.rejects(store.readerAt(digest), isNotFound);
      assert.equal(await has(store, digest), false);
      await store.delete(digest);
    }));

    it('walk lists exactly the committed blobs', withStore(async ({ store }) => {
      const want = new Map<string, number>();
      for (const s of ['a', 'bb', 'ccc', '{"json":true}']) {
        const { digest, size } = await putBytes(store, s);
        want.set(digest, size);
      }
      const w = await store.writer();
      w.stream.write(Buffer.from('never committed'));
      await putBytes(store, 'wrong', digestOf(Buffer.from('right'))).catch(() => undefined);
      assert.deepEqual(await walked(store), want);
      await w.abort();
      assert.deepEqual(await readJson(store, digestOf(Buffer.from('{"json":true}'))), { json: true });
    }));

    it('a missing digest: info, reader and readerAt say NotFound', withStore(async ({ store }) => {
      const d = digestOf(Buffer.from('never stored'));
      await assert.rejects(store.info(d), isNotFound);
      await assert.rejects(readBytes(store, d), isNotFound);
      await assert.rejects(store.readerAt(d), isNotFound);
    }));

    it('an invalid digest is refused', withStore(async ({ store }) => {
      await assert.rejects(store.info('sha256:../../etc/passwd'), InvalidParameter);
      await assert.rejects(store.info('md5:abc'), InvalidParameter);
    }));

    it('crash safety: a crashed writer leaves no blob, and reopening clears its ingest', withStore(async (t) => {
      const { digest } = await putBytes(t.store, 'kept across the crash');
      const partial = Buffer.alloc(100_000, 'p');
      await t.crashWriter(partial);
      assert.ok((await t.leftovers()) > 0, 'the crashed writer left its ingest (the hook works)');
      assert.deepEqual([...(await walked(t.store)).keys()], [digest]);
      await assert.rejects(t.store.info(digestOf(partial)), isNotFound);
      const store = await t.reopen();
      assert.equal(await t.leftovers(), 0);
      assert.deepEqual([...(await walked(store)).keys()], [digest]);
      assert.equal((await readBytes(store, digest)).toString(), 'kept across the crash');
    }));

    it('a blob damaged on disk is not served silently as whole', withStore(async (t) => {
      if (!t.truncate) return;
      const data = Buffer.alloc(600_000, 'd');
      const { digest } = await putBytes(t.store, data);
      await t.truncate(digest, 1000);
      // A full read hashes what it reads: a short blob fails at its end instead of passing as complete.
      await assert.rejects(readBytes(t.store, digest), /damaged/);
      // info reports what is on disk (checking the digest would read the whole blob): the registry
      // server compares it with the size it linked and stops a short response (src/registry/server.ts).
      assert.equal((await t.store.info(digest)).size, 1000);
    }));
  });
}
