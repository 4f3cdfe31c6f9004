// The build cache as a user sees it: `system df` (berth's and the docker CLI's) counts the step layers only
// the cache keeps and the RUN cache mounts, a cache hit is recorded, `builder prune` (filters, --all,
// --keep-storage) and `system prune` give the space back and say how much; COPY --link layers are reused
// over a changed base; layers hashed while the next steps run give the same image (save's tars match the
// diff IDs) and a failed build keeps its steps done; --platform and FROM --platform accept this host's
// platform only; build --network.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { context, TestDaemon } from './harness.js';
import { humanSize } from '../../src/lib/units.js';
import type { BuildCacheUsage } from '../../src/engine/housekeeping.js';

/** An entry as the API sends it (Description is always set for build cache entries). */
type CacheEntry = BuildCacheUsage & { Description: string };

function getJson<T>(d: TestDaemon, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method: 'GET', path: p }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve(JSON.parse(text) as T));
    });
    req.on('error', reject);
    req.end();
  });
}

const cacheOf = async (d: TestDaemon, version = '1.44') => (await getJson<{ BuildCache: CacheEntry[] }>(d, `/v${version}/system/df`)).BuildCache;
const execFileP = promisify(execFile);
const cacheRow = (out: string) => /^Build Cache .*$/m.exec(out)?.[0].split(/\s{2,}/);
const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
const otherArch = arch === 'amd64' ? 'arm64' : 'amd64';


// A stage whose layer no image keeps (300 kB), a cache mount (50 kB), and a final image.
const CACHE_DOCKERFILE = `FROM busybox AS gen
RUN --mount=type=cache,target=/cache,id=bc-test head -c 50000 /dev/zero > /cache/blob && head -c 300000 /dev/zero > /big && echo done > /small
FROM busybox
COPY --from=gen /small /small
RUN echo final > /final
`;

describe('build cache', () => {
  let d: TestDaemon;
  const dirs: string[] = [];
  const ctx = async (files: Record<string, string>) => {
    const c = await context(files);
    dirs.push(c);
    return c;
  };
  // The accounting tests build from a Dockerfile on stdin: no kept context ("source.local", tested in
  // build-context.test.ts) joins the entries they count.
  const build = async (args: string[], opts: { ok?: boolean; input?: string } = {}) => {
    const r = await d.berth(['build', ...args], { input: opts.input });
    if (opts.ok !== false) assert.equal(r.code, 0, r.stderr + r.stdout);
    return r;
  };
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => {
    for (const c of dirs) await fs.rm(c, { recursive: true, force: true });
    await d.cleanup();
  });

  let genSize = 0;
  it('system df counts the layers only the cache keeps and the cache mounts, as the docker CLI shows them', async () => {
    assert.deepEqual(await cacheOf(d), []);
    await build(['-t', 'bc:1', '-'], { input: CACHE_DOCKERFILE });
    const cache = await cacheOf(d);
    assert.equal(cache.length, 4, JSON.stringify(cache));
    const gen = cache.find((e) => e.Description.startsWith('RUN --mount'))!;
    const copy = cache.find((e) => e.Description.startsWith('COPY'))!;
    const final = cache.find((e) => e.Description === 'RUN echo final > /final')!;
    const mount = cache.find((e) => e.Type === 'exec.cachemount')!;
    assert.ok(gen && copy && final && mount, JSON.stringify(cache));
    assert.deepEqual([gen.Type, gen.Shared, copy.Shared, final.Shared], ['regular', false, true, true], 'the image holds the final stage’s layers');
    assert.ok(gen.Size >= 300005 && gen.Size < 310000, `the stage's layer: ${gen.Size}`);
    assert.equal(mount.Size, 50000);
    assert.match(mount.Description, /^cached mount \/cache from exec \/bin\/sh -c head .* with id "bc-test"$/);
    assert.deepEqual(final.Parents, [copy.ID], 'the final RUN was made over the COPY');
    assert.equal(final.Parent, undefined, 'Parent is Parents from API 1.42 on');
    assert.equal((await cacheOf(d, '1.41')).find((e) => e.ID === final.ID)!.Parent, copy.ID);
    for (const e of cache) {
      assert.equal(e.InUse, false);
      assert.equal(e.UsageCount, 1);
      assert.ok(Date.parse(e.CreatedAt) > Date.now() - 120_000 && e.LastUsedAt === e.CreatedAt, JSON.stringify(e));
    }
    genSize = gen.Size;
    const total = humanSize(gen.Size + mount.Size, 4);
    const df = await d.berth(['system', 'df']);
    assert.deepEqual(cacheRow(df.stdout), ['Build Cache', '4', '0', total, total]);
    const v = await d.berth(['system', 'df', '-v']);
    assert.match(v.stdout, new RegExp(`\\nBuild cache usage: ${total}\\n\\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\\n`));
    assert.match(v.stdout, new RegExp(`\\n${gen.ID.slice(0, 12)} +regular +${humanSize(gen.Size, 3)} +.* ago +.* ago +1 +false\\n`));
    assert.match(v.stdout, new RegExp(`\\n${mount.ID.slice(0, 12)} +exec\\.cachemount +50kB +`));
    const theirs = await d.docker(['system', 'df']);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.deepEqual(cacheRow(theirs.stdout), cacheRow(df.stdout), 'the docker CLI shows the same Build Cache row');
    assert.match((await d.docker(['system', 'df', '-v'])).stdout, new RegExp(`Build cache usage: ${total}\\n`));
  });

  it('a cache hit records its use', async () => {
    const before = await cacheOf(d);
    const again = await build(['--progress=plain', '-t', 'bc:1', '-'], { input: CACHE_DOCKERFILE });
    assert.equal(again.stderr.match(/#\d+ CACHED\n/g)?.length, 3, 'the RUN, COPY and RUN steps are cache hits: ' + again.stderr);
    const after = await cacheOf(d);
    const regular = after.filter((x) => x.Type === 'regular');
    assert.equal(regular.length, 3, 'the RUN, COPY and RUN entries: ' + JSON.stringify(after));
    for (const e of regular) {
      const was = before.find((x) => x.ID === e.ID);
      assert.ok(was, `${e.Description} was there before`);
      assert.equal(e.UsageCount, 2, e.Description);
      assert.equal(e.CreatedAt, was.CreatedAt);
      // The hit happened during the second build, after the first had written the entry (ms resolution).
      assert.ok(Date.parse(e.LastUsedAt!) > Date.parse(was.LastUsedAt!), `${e.Description}: LastUsedAt moved on`);
    }
    assert.equal(after.find((x) => x.Type === 'exec.cachemount')!.UsageCount, 1, 'the RUN did not run again');
  });

  it('builder prune removes the dangling cache and reports the space; --all the rest', async () => {
    const cache = await cacheOf(d);
    const dangling = cache.filter((e) => !e.Shared);
    const r = await d.berth(['builder', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Deleted build cache objects:\n(\S+\n){2}\nTotal reclaimed space: \S+\n$/);
    assert.deepEqual(r.stdout.split('\n').slice(1, 3).sort(), dangling.map((e) => e.ID).sort());
    assert.equal(/Total reclaimed space: (\S+)/.exec(r.stdout)![1], humanSize(genSize + 50000, 4));
    const left = await cacheOf(d);
    assert.deepEqual(left.map((e) => e.Shared), [true, true]);
    assert.deepEqual(cacheRow((await d.berth(['system', 'df'])).stdout), ['Build Cache', '2', '0', '0B', '0B']);
    const all = await d.berth(['builder', 'prune', '-af']);
    assert.equal(all.stdout, `Deleted build cache objects:\n${left.map((e) => e.ID + '\n').join('')}\nTotal reclaimed space: 0B\n`, 'the image keeps their layers');
    assert.deepEqual(await cacheOf(d), []);
    assert.equal((await d.berth(['builder', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
  });

  it('builder prune filters and --keep-storage, and the docker CLI’s builder prune', async () => {
    await build(['-t', 'bc:1', '-'], { input: CACHE_DOCKERFILE });
    assert.equal((await d.berth(['builder', 'prune', '-f', '--filter', 'until=1h'])).stdout, 'Total reclaimed space: 0B\n', 'nothing is an hour old');
    assert.equal((await d.berth(['builder', 'prune', '-af', '--keep-storage', '1GB'])).stdout, 'Total reclaimed space: 0B\n', 'the cache is under 1 GB');
    const bad = await d.berth(['builder', 'prune', '-f', '--filter', 'colour=red']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "Error response from daemon: invalid filter 'colour'\n");
    const mount = (await cacheOf(d)).find((e) => e.Type === 'exec.cachemount')!;
    const prune = await d.docker(['builder', 'prune', '-f', '--filter', 'type=exec.cachemount']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.equal(prune.stdout, `Deleted build cache objects:\n${mount.ID}\n\nTotal reclaimed space: 50kB\n`);
    assert.deepEqual((await cacheOf(d)).map((e) => e.Type).sort(), ['regular', 'regular', 'regular']);
    // keep-storage: least recently used first, until the cache is that small.
    const byId = await d.berth(['builder', 'prune', '-f', '--keep-storage', '1000']);
    assert.match(byId.stdout, /^Deleted build cache objects:\n\S+\n\nTotal reclaimed space: 30\dkB\n$/);
    assert.deepEqual((await cacheOf(d)).map((e) => e.Shared), [true, true]);
  });

  it('system prune prunes the build cache too', async () => {
    await build(['-t', 'bc:1', '-'], { input: CACHE_DOCKERFILE + 'RUN echo again > /again\n' });
    const dangling = (await cacheOf(d)).filter((e) => !e.Shared);
    assert.equal(dangling.length, 2);
    const r = await d.berth(['system', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deleted build cache objects:\n(\S+\n){2}\nTotal reclaimed space: \S+\n$/);
    assert.ok(dangling.every((e) => r.stdout.includes(e.ID)));
    assert.ok((await cacheOf(d)).every((e) => e.Shared));
    const all = await d.berth(['system', 'prune', '-af']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await cacheOf(d), []);
    await d.importBusybox();
  });

  it('COPY --link makes a layer of its own, reused over a changed base', async () => {
    await build(['-t', 'base2', await ctx({ Dockerfile: 'FROM busybox\nRUN echo two > /two && echo "svc:x:1234:1234::/:/bin/sh" >> /etc/passwd && echo "svc:x:1234:" >> /etc/group\n' })]);
    const files = { 'app.txt': 'linked\n' };
    await build(['-t', 'link1', await ctx({ ...files, Dockerfile: 'FROM busybox\nCOPY --link app.txt /opt/app/\n' })]);
    const two = await build(['-t', 'link2', await ctx({ ...files, Dockerfile: 'FROM base2\nCOPY --link app.txt /opt/app/\n' })]);
    const layers = async (ref: string) => JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref])).stdout) as string[];
    const [l1, l2, b2] = [await layers('link1'), await layers('link2'), await layers('base2')];
    assert.equal(l2.length, b2.length + 1, 'the base’s layers, then the linked one');
    assert.deepEqual(l2.slice(0, -1), b2);
    assert.equal(l2.at(-1), l1.at(-1), 'the same layer (diff ID) over another base: ' + two.stdout);
    const run = await d.berth(['run', '--rm', 'link2', 'sh', '-c', 'cat /opt/app/app.txt /two; stat -c "%a %u %g" /opt /opt/app /opt/app/app.txt']);
    assert.equal(run.stdout, 'linked\ntwo\n755 0 0\n755 0 0\n644 0 0\n');
    // --chown names resolve in the parent's /etc/passwd.
    await build(['-t', 'link3', await ctx({ ...files, Dockerfile: 'FROM base2\nCOPY --link --chown=svc app.txt /srv/app.txt\n' })]);
    assert.equal((await d.berth(['run', '--rm', 'link3', 'stat', '-c', '%u %g', '/srv/app.txt'])).stdout, '1234 1234\n');
    // Changed content: another layer.
    await build(['-t', 'link4', await ctx({ 'app.txt': 'changed\n', Dockerfile: 'FROM base2\nCOPY --link app.txt /opt/app/\n' })]);
    assert.notEqual((await layers('link4')).at(-1), l1.at(-1));
    assert.deepEqual(await fs.readdir(path.join(d.root, 'build', 'tmp')).catch(() => []), [], 'nothing left behind');
  });

  // Each step's layer is hashed while the next steps run on it (executors/pending.ts): what a user can
  // check is that the image is the same — its diff IDs are its layer tars' digests, `save` gives them —
  // and that a failed build keeps the steps before the failure cached.
  it('layers hashed behind the steps: save gives layer tars matching the diff IDs, COPY --link and --from on fresh layers, a failed build keeps the steps done', async () => {
    const files = { 'app.txt': 'app\n', 'big.bin': 'x'.repeat(3 << 20) };
    const dockerfile = [
      'FROM busybox AS gen',
      'COPY big.bin /gen/big.bin',
      'RUN cp /gen/big.bin /gen/copy.bin && echo gen > /gen/done',
      'FROM busybox',
      'WORKDIR /srv',
      'COPY --from=gen /gen/done /gen/copy.bin ./',
      'RUN rm /bin/true && echo run > /srv/run.txt',
      'COPY --link app.txt /opt/app/',
      'COPY app.txt /srv/app.txt',
    ].join('\n');
    const c = await ctx({ ...files, Dockerfile: dockerfile });
    await build(['-t', 'hashed', c]);
    const run = await d.berth(['run', '--rm', 'hashed', 'sh', '-c', 'cat /srv/done /srv/run.txt /opt/app/app.txt /srv/app.txt; wc -c < /srv/copy.bin; ls /bin/true 2>&1 || :']);
    assert.equal(run.stdout, `gen\nrun\napp\napp\n${3 << 20}\nls: /bin/true: No such file or directory\n`);
    const out = await fs.mkdtemp('/tmp/bt-save-');
    dirs.push(out);
    assert.equal((await d.berth(['save', '-o', path.join(out, 'img.tar'), 'hashed'])).code, 0);
    await execFileP('tar', ['-xf', path.join(out, 'img.tar'), '-C', out]);
    const [manifest] = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    const config = JSON.parse(await fs.readFile(path.join(out, manifest!.Config), 'utf8')) as { rootfs: { diff_ids: string[] } };
    const digests = await Promise.all(manifest!.Layers.map(async (l) => 'sha256:' + createHash('sha256').update(await fs.readFile(path.join(out, l))).digest('hex')));
    assert.deepEqual(digests, config.rootfs.diff_ids);
    assert.deepEqual(JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'hashed'])).stdout), config.rootfs.diff_ids);
    // A failed build: the steps before the failure stay cached, and their layers are stored.
    const failing = await ctx({ ...files, Dockerfile: 'FROM busybox\nCOPY big.bin /b\nRUN echo one > /one\nRUN exit 3\n' });
    const failed = await build(['--progress=plain', failing], { ok: false });
    assert.notEqual(failed.code, 0);
    await fs.writeFile(path.join(failing, 'Dockerfile'), 'FROM busybox\nCOPY big.bin /b\nRUN echo one > /one\nRUN echo two > /two\n');
    const again = await build(['--progress=plain', '-t', 'after-fail', failing]);
    assert.match(again.stderr + again.stdout, /COPY big\.bin \/b\n#\d+ CACHED/);
    assert.match(again.stderr + again.stdout, /RUN echo one > \/one\n#\d+ CACHED/);
    assert.equal((await d.berth(['run', '--rm', 'after-fail', 'cat', '/one', '/two'])).stdout, 'one\ntwo\n');
    // Nothing staged is left: every layer folder is a stored layer.
    const names = await fs.readdir(path.join(d.root, 'layers'));
    assert.deepEqual(names.filter((n) => !/^[a-f0-9]{64}$/.test(n)), []);
  });

  it('--platform and FROM --platform: this host’s platform builds, any other is refused clearly', async () => {
    await build(['--platform', `linux/${arch}`, '-t', 'plat', await ctx({ Dockerfile: 'FROM --platform=$BUILDPLATFORM busybox\nARG TARGETPLATFORM\nRUN echo $TARGETPLATFORM > /tp\n' })]);
    assert.equal((await d.berth(['run', '--rm', 'plat', 'cat', '/tp'])).stdout, `linux/${arch}\n`);
    const other = await build(['--platform', `linux/${otherArch}`, await ctx({ Dockerfile: 'FROM busybox\n' })], { ok: false });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr + other.stdout, new RegExp(`platform "linux/${otherArch}" is not supported: only linux/${arch} builds here`));
    const from = await build([await ctx({ Dockerfile: 'ARG P=linux/s390x\nFROM --platform=$P busybox\n' })], { ok: false });
    assert.notEqual(from.code, 0);
    assert.match(from.stderr + from.stdout, new RegExp(`Dockerfile:2: FROM --platform=\\$P: platform "linux/s390x" is not supported: only linux/${arch} builds here`));
    const viaDocker = await d.docker(['build', '--platform', `linux/${otherArch}`, await ctx({ Dockerfile: 'FROM busybox\n' })], { env: { DOCKER_BUILDKIT: '0' } });
    assert.notEqual(viaDocker.code, 0);
    assert.match(viaDocker.stderr + viaDocker.stdout, new RegExp(`platform "linux/${otherArch}" is not supported`));
  });

  it('RUN under build --network none has no network', async () => {
    const c = await ctx({ Dockerfile: 'FROM busybox\nRUN cat /proc/net/dev > /netdev\n' });
    await build(['--network', 'none', '-t', 'netnone', c]);
    const none = (await d.berth(['run', '--rm', 'netnone', 'cat', '/netdev'])).stdout;
    assert.match(none, /\blo:/);
    assert.doesNotMatch(none, /eth0/);
    await build(['-t', 'netdefault', c]);
    assert.match((await d.berth(['run', '--rm', 'netdefault', 'cat', '/netdev'])).stdout, /eth0/, 'the bridge by default (not the cached none step)');
    const bad = await build(['--network', 'container:x', c], { ok: false });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /network mode "container:x" is not supported for builds: use default, bridge, none or host/);
    const viaDocker = await d.docker(['build', '--network', 'none', '-t', 'netdocker', await ctx({ Dockerfile: 'FROM busybox\nRUN cat /proc/net/dev > /netdev2\n' })], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    const netdev = await d.berth(['run', '--rm', 'netdocker', 'cat', '/netdev2']);
    assert.match(netdev.stdout, /\blo:/, 'the step ran and wrote its file');
    assert.doesNotMatch(netdev.stdout, /eth0/);
  });
});
