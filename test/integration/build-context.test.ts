// The kept build context (engine/builder/contexts.ts, client/build-context.ts): berth's CLI sends only what
// changed, and every build still sees exactly the directory as it is now — edits, deletions, mode changes,
// a file turned into a directory, a changed .dockerignore. Images built earlier keep their files when the
// context changes (COPY hard-links from the kept copy), RUN's rw bind mounts never write into the kept copy,
// and bad sync requests are refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EngineClient } from '../../src/client/engine.js';
import { resolveHost } from '../../src/client/host.js';
import { contextEntries, tarPaths } from '../../src/client/build-context.js';
import { listingDigest, listingJSON, type ContextSyncAnswer } from '../../src/api/build-context.js';
import { ApiError } from '../../src/client/errors.js';
import { TestDaemon } from './harness.js';

const LIST = `FROM busybox
COPY . /ctx/
RUN cd /ctx && find . | sort | while read f; do if [ -f "$f" ]; then echo "$f $(stat -c %a "$f") $(cat "$f")"; else echo "$f $(stat -c %a "$f")"; fi; done > /listing
CMD ["cat", "/listing"]
`;

describe('build context sync', () => {
  let d: TestDaemon;
  let ctx: string;
  let client: EngineClient;

  const write = async (name: string, content: string) => {
    await fs.mkdir(path.dirname(path.join(ctx, name)), { recursive: true });
    await fs.writeFile(path.join(ctx, name), content);
  };
  const buildAndList = async (tag: string): Promise<string> => {
    const b = await d.berth(['build', '-q', '-t', tag, ctx]);
    assert.equal(b.code, 0, b.stderr + b.stdout);
    const r = await d.berth(['run', '--rm', tag]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const need = async (): Promise<string[]> => {
    // What berthd would ask for now (the session is then left to expire: nothing is applied).
    const key = 'a'.repeat(64);
    const entries = await contextEntries(ctx, new Set(['Dockerfile', '.dockerignore']));
    const res = await client.json<{ Need: string[] }>({ method: 'POST', path: '/build/context', body: { Key: key, Entries: entries } });
    return res.Need;
  };

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    ctx = await fs.mkdtemp('/tmp/bt-sync-');
    client = new EngineClient(resolveHost(d.host));
    await write('Dockerfile', LIST);
    await write('a.txt', 'one');
    await write('dir/b.txt', 'two');
    await write('gone.txt', 'bye');
  });
  after(async () => {
    await fs.rm(ctx, { recursive: true, force: true });
    await d.cleanup();
  });

  it('builds what the directory holds now, through edits, deletions, mode changes and .dockerignore', async () => {
    const first = await buildAndList('sync:1');
    assert.match(first, /\.\/a\.txt 644 one\n/);
    assert.match(first, /\.\/gone\.txt 644 bye\n/);
    await write('a.txt', 'ONE, longer now');
    await fs.rm(path.join(ctx, 'gone.txt'));
    await fs.chmod(path.join(ctx, 'dir/b.txt'), 0o600);
    await fs.rm(path.join(ctx, 'dir'), { recursive: true });
    await write('dir', 'now a file');
    await write('sub/new.txt', 'new');
    // The Dockerfile and .dockerignore are used, but COPY does not see them when ignored (as Docker).
    await write('.dockerignore', 'sub\nDockerfile\n.dockerignore\n');
    const second = await buildAndList('sync:2');
    assert.match(second, /\.\/a\.txt 644 ONE, longer now\n/);
    assert.match(second, /\.\/dir 644 now a file\n/);
    assert.doesNotMatch(second, /gone\.txt|b\.txt|new\.txt|Dockerfile|dockerignore/);
    await write('.dockerignore', '');
    await fs.chmod(path.join(ctx, 'a.txt'), 0o755);
    const third = await buildAndList('sync:3');
    assert.match(third, /\.\/sub\/new\.txt 644 new\n/);
    assert.match(third, /\.\/a\.txt 755 ONE, longer now\n/);
    assert.match(third, /\.\/Dockerfile 644 FROM busybox/);
  });

  it('keeps the files of images built earlier when the context changes', async () => {
    await write('a.txt', 'edited after sync:3');
    const b = await d.berth(['build', '-q', '-t', 'sync:4', ctx]);
    assert.equal(b.code, 0, b.stderr);
    const old = await d.berth(['run', '--rm', 'sync:3', 'cat', '/ctx/a.txt']);
    assert.equal(old.stdout, 'ONE, longer now');
    const now = await d.berth(['run', '--rm', 'sync:4', 'cat', '/ctx/a.txt']);
    assert.equal(now.stdout, 'edited after sync:3');
    // The layer shares the kept file (a hard link), rather than holding a copy.
    const contexts = path.join(d.root, 'build', 'contexts');
    const [key] = (await fs.readdir(contexts)).filter((k) => /^[0-9a-f]{64}$/.test(k));
    assert.equal((await fs.stat(path.join(contexts, key!, 'files', 'a.txt'))).nlink, 2);
  });

  /** Send a sync session's files with a build that fails on purpose once they are applied (no Dockerfile
   *  named "none": a 400 before any output, as dockerd answers); the context was used all the same. */
  async function applyAndFail(session: string, need: string[]): Promise<void> {
    const input = need.length ? tarPaths(ctx, need) : Buffer.alloc(0);
    await assert.rejects(
      client.request({ method: 'POST', path: '/build', query: { dockerfile: 'none' }, headers: { 'X-Berth-Context-Session': session }, input, contentType: 'application/x-tar' }),
      (e: ApiError) => e.status === 400 && /Cannot locate specified Dockerfile: none/.test(e.message),
    );
  }

  it('sends nothing again for an unchanged directory, and only what changed', async () => {
    const b = await d.berth(['build', '-q', ctx]);
    assert.equal(b.code, 0, b.stderr);
    // The kept copy is per directory: a fresh key has nothing yet, so everything is needed.
    assert.ok((await need()).includes('a.txt'));
    const key = 'b'.repeat(64);
    const entries = await contextEntries(ctx, new Set(['Dockerfile', '.dockerignore']));
    const first = await client.json<{ Session: string; Need: string[] }>({ method: 'POST', path: '/build/context', body: { Key: key, Entries: entries } });
    assert.equal(first.Need.length, entries.length);
    // Apply it (an empty build fails on purpose after applying: no Dockerfile named "none").
    await applyAndFail(first.Session, first.Need);
    const again = await client.json<{ Session: string; Need: string[] }>({ method: 'POST', path: '/build/context', body: { Key: key, Entries: entries } });
    assert.deepEqual(again.Need, []);
    await applyAndFail(again.Session, []);
    await write('a.txt', 'one more change');
    const changed = await client.json<{ Session: string; Need: string[] }>({ method: 'POST', path: '/build/context', body: { Key: key, Entries: await contextEntries(ctx, new Set(['Dockerfile'])) } });
    assert.deepEqual(changed.Need, ['a.txt']);
    await applyAndFail(changed.Session, []);
  });

  it('answers a listing\'s digest alone: nothing to send when the kept copy has that listing, else asks for the entries', async () => {
    const key = 'd'.repeat(64);
    const sync = (body: object) => client.json<ContextSyncAnswer>({ method: 'POST', path: '/build/context', body: { Key: key, ...body } });
    const entries = await contextEntries(ctx, new Set());
    const digest = listingDigest(listingJSON(entries));
    // Nothing kept yet under this key.
    assert.deepEqual(await sync({ Digest: digest }), { Session: '', Need: [], NeedEntries: true });
    const full = await sync({ Entries: entries });
    assert.equal(full.Need.length, entries.length);
    await applyAndFail(full.Session, full.Need);
    const known = await sync({ Digest: digest });
    assert.deepEqual(known.Need, []);
    assert.match(known.Session, /^[0-9a-f]{32}$/);
    assert.equal(known.NeedEntries, undefined);
    await applyAndFail(known.Session, []);
    // Any change makes another listing, and so another digest: the entries are asked for.
    await write('a.txt', 'changed once more');
    const now = listingDigest(listingJSON(await contextEntries(ctx, new Set())));
    assert.notEqual(now, digest);
    assert.equal((await sync({ Digest: now })).NeedEntries, true);
    await assert.rejects(sync({}), (e: ApiError) => e.status === 400 && /needs Key \(64 hex digits\) and Entries \(or the Digest of the entries\)/.test(e.message));
    await assert.rejects(sync({ Key: 'nothex', Digest: digest }), (e: ApiError) => e.status === 400 && /invalid context key/.test(e.message));
  });

  it('never lets a RUN rw bind mount write into the kept context', async () => {
    await write('Dockerfile', `FROM busybox
RUN --mount=type=bind,target=/c,rw echo scribbled > /c/a.txt && cat /c/a.txt
COPY a.txt /a.txt
CMD ["cat", "/a.txt"]
`);
    await write('a.txt', 'pristine');
    const b = await d.berth(['build', '-q', '-t', 'sync:rw', ctx]);
    assert.equal(b.code, 0, b.stderr + b.stdout);
    assert.equal((await d.berth(['run', '--rm', 'sync:rw'])).stdout, 'pristine');
  });

  it('counts kept contexts as build cache ("source.local"), and builder prune removes them', async () => {
    const df = await client.json<{ BuildCache: { ID: string; Type: string; Description: string; Size: number; InUse: boolean }[] }>({ method: 'GET', path: '/system/df' });
    const kept = df.BuildCache.filter((e) => e.Type === 'source.local');
    assert.ok(kept.length >= 2, JSON.stringify(df.BuildCache));
    assert.ok(kept.every((e) => e.Description === 'local source for context' && !e.InUse));
    const pruned = await d.berth(['builder', 'prune', '-af']);
    assert.equal(pruned.code, 0, pruned.stderr);
    for (const e of kept) assert.match(pruned.stdout, new RegExp(e.ID));
    assert.deepEqual((await fs.readdir(path.join(d.root, 'build', 'contexts'))).filter((k) => /^[0-9a-f]{64}$/.test(k)), []);
    // The next build sends the whole directory again, and works.
    assert.equal((await d.berth(['run', '--rm', (await d.berth(['build', '-q', ctx])).stdout.trim()])).stdout, 'pristine');
  });

  it('keeps the 16 most recently used contexts', async () => {
    const entries = await contextEntries(ctx, new Set());
    const keys = Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
    for (const key of keys) {
      const { Session, Need } = await client.json<{ Session: string; Need: string[] }>({ method: 'POST', path: '/build/context', body: { Key: key, Entries: entries } });
      // Applied, then the build fails on purpose (no Dockerfile named "none"): the context was used all the same.
      await applyAndFail(Session, Need);
    }
    const kept = (await fs.readdir(path.join(d.root, 'build', 'contexts'))).filter((k) => /^[0-9a-f]{64}$/.test(k));
    assert.equal(kept.length, 16);
    assert.deepEqual(kept.sort(), keys.slice(1).sort(), 'the 16 most recently used; the older ones went');
  });

  it('refuses bad sync requests and unknown sessions with clear messages', async () => {
    await assert.rejects(client.json({ method: 'POST', path: '/build/context', body: { Key: 'nothex', Entries: [] } }), (e: ApiError) => e.status === 400 && /invalid context key/.test(e.message));
    await assert.rejects(client.json({ method: 'POST', path: '/build/context', body: { Key: 'c'.repeat(64), Entries: [['../etc/passwd', 'f', 420, 1, '1']] } }), (e: ApiError) => e.status === 400 && /invalid build context path "\.\.\/etc\/passwd"/.test(e.message));
    await assert.rejects(client.json({ method: 'POST', path: '/build/context', body: { Key: 'c'.repeat(64), Entries: [['a', 'x', 420, 1, '1']] } }), (e: ApiError) => e.status === 400 && /invalid build context entry/.test(e.message));
    // Refused before any output: an HTTP error status, as dockerd answers a build that fails that early.
    await assert.rejects(
      client.request({ method: 'POST', path: '/build', headers: { 'X-Berth-Context-Session': 'f'.repeat(32) }, input: Buffer.alloc(0), contentType: 'application/x-tar' }),
      (e: ApiError) => e.status === 400 && /build context session f{32} is unknown or expired: run the build again/.test(e.message),
    );
  });
});
