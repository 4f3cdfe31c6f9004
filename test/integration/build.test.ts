// The builder as a user sees it: Dockerfiles in the styles people write (multi-stage with a non-root user
// and a HEALTHCHECK, a compile stage copied into scratch, COPY --chown), the step cache (hits, and a
// changed source file rebuilding from the first step that copies it), heredocs, .dockerignore, stages
// that overlap in time, the bad inputs, and the real docker CLI's legacy builder against berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { context, PrivateDockerd, TestDaemon } from './harness.js';

/** The lines of the step named like `part` in `berth build --progress=plain`'s output ("#N …"). */
function plainStep(out: string, part: string): string {
  const header = out.split('\n').find((l) => /^#\d+ \[/.test(l) && l.includes(part));
  const n = header?.split(' ')[0];
  return n ? out.split('\n').filter((l) => l.startsWith(`${n} `)).join('\n') : '';
}

const APP_DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS base
ENV APP_HOME=/app \\
    GREETING="hello world"
WORKDIR $APP_HOME
RUN echo "$GREETING" > /greeting && echo "svc:x:1234:1234::/app:/bin/sh" >> /etc/passwd && echo "svc:x:1234:" >> /etc/group

FROM base AS deps
COPY package.json ./
RUN wc -c < package.json > /tmp/deps.txt

FROM base
COPY --from=deps /tmp/deps.txt /app/deps.txt
COPY --chown=svc:svc src/ /app/src/
USER svc
EXPOSE 8080
LABEL org.example.name="demo app"
HEALTHCHECK --interval=30s --timeout=10s --retries=3 CMD test -f /app/deps.txt
CMD ["sh", "-c", "cat /greeting; ls -ln /app/src; id -u"]
`;

describe('build', () => {
  let d: TestDaemon;
  let ctx: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    ctx = await context({ Dockerfile: APP_DOCKERFILE, 'package.json': '{"name":"demo"}\n', 'src/index.js': 'console.log(1)\n', 'src/lib.js': 'module.exports = 2\n', 'secret.env': 'TOKEN=x\n', '.dockerignore': 'secret.env\n' });
  });
  after(async () => {
    await fs.rm(ctx, { recursive: true, force: true });
    await d.cleanup();
  });

  it('builds a multi-stage image with a non-root user, COPY --chown and a HEALTHCHECK', async () => {
    const r = await d.berth(['build', '--progress=plain', '-t', 'demo:1', '-t', 'demo:latest', ctx]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /\n#(\d+) naming to docker\.io\/library\/demo:1 done\n#\1 naming to docker\.io\/library\/demo:latest done\n#\1 DONE \d+\.\ds\n$/);
    const run = await d.berth(['run', '--rm', 'demo:1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^hello world\n/);
    assert.match(run.stdout, /1234 +1234 +15 .* index\.js/);
    assert.match(run.stdout, /\n1234\n$/);
    const cfg = JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .Config}}', 'demo:1'])).stdout);
    assert.equal(cfg.User, 'svc');
    assert.equal(cfg.WorkingDir, '/app');
    assert.deepEqual(cfg.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(cfg.Labels, { 'org.example.name': 'demo app' });
    assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'test -f /app/deps.txt'], Interval: 30e9, Timeout: 10e9, Retries: 3 });
    assert.deepEqual(cfg.Cmd, ['sh', '-c', 'cat /greeting; ls -ln /app/src; id -u']);
    assert.ok(cfg.Env.includes('GREETING=hello world') && cfg.Env.includes('APP_HOME=/app'));
    const deps = await d.berth(['run', '--rm', 'demo:1', 'cat', '/app/deps.txt']);
    assert.equal(deps.stdout.trim(), '16');
  });

  it('reuses the cache, and a changed source rebuilds from the first step that copies it', async () => {
    const again = await d.berth(['build', '--progress=plain', '-t', 'demo:1', ctx]);
    assert.equal(again.code, 0, again.stderr);
    for (const step of ['RUN echo "$GREETING"', 'COPY package.json', 'RUN wc -c', 'COPY --from=deps', 'COPY --chown=svc:svc src/', 'USER svc']) {
      assert.match(plainStep(again.stderr, step), /\n#\d+ CACHED$/, `${step} is a cache hit`);
    }
    // A build served wholly from the cache is the same image, ID included (as docker build's).
    const idOf = async (ref: string) => (await d.berth(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout;
    assert.equal((await d.berth(['build', '-q', ctx])).stdout.trim(), (await idOf('demo:1')).trim());
    await fs.writeFile(path.join(ctx, 'src/index.js'), 'console.log(2)\n');
    const changed = await d.berth(['build', '--progress=plain', '-t', 'demo:2', ctx]);
    assert.equal(changed.code, 0, changed.stderr);
    const stepOf = (part: string) => plainStep(changed.stderr, part);
    assert.match(stepOf('RUN echo "$GREETING"'), /CACHED/);
    assert.match(stepOf('COPY --from=deps'), /CACHED/);
    assert.doesNotMatch(stepOf('COPY --chown=svc:svc src/'), /CACHED/, 'the COPY of the changed file runs');
    assert.match(stepOf('COPY --chown=svc:svc src/'), /berth: cache miss: the files it copies changed/, 'and says why');
    assert.match(stepOf('USER svc'), /berth: cache miss: an earlier step changed/);
    assert.doesNotMatch(stepOf('USER svc'), /CACHED/);
    assert.notEqual(await idOf('demo:2'), await idOf('demo:1'));
    const nocache = await d.berth(['build', '--no-cache', '-q', ctx]);
    assert.match(nocache.stdout, /^sha256:[0-9a-f]{64}\n$/);
  });

  it('leaves out what .dockerignore excludes', async () => {
    const c = await context({ Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx | sort | tr "\\n" " "\n', 'a.txt': 'a', 'b.log': 'b', 'keep.log': 'k', 'node_modules/x/y.js': 'y', '.dockerignore': '*.log\n!keep.log\nnode_modules\n' });
    try {
      const r = await d.berth(['build', '--progress=plain', '-t', 'ign', c]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /\n#\d+ \d+\.\d{3} Dockerfile a\.txt keep\.log \n/);
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('runs heredocs and copies a compile stage into scratch', async () => {
    const c = await context({
      Dockerfile: `FROM busybox AS build
RUN <<EOF
mkdir -p /out
cp /bin/busybox /out/busybox
echo built > /out/stamp
EOF
COPY <<EOT /out/motd
hello from a heredoc
EOT

FROM scratch
COPY --from=build /out/ /
ENTRYPOINT ["/busybox"]
CMD ["cat", "/motd", "/stamp"]
`,
    });
    try {
      const r = await d.berth(['build', '-t', 'tiny', c]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const run = await d.berth(['run', '--rm', 'tiny']);
      assert.equal(run.stdout, 'hello from a heredoc\nbuilt\n');
      const layers = JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'tiny'])).stdout);
      assert.equal(layers.length, 1, 'scratch plus one COPY');
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('mounts caches, secrets, binds and tmpfs in RUN, and keeps none of them in the image', async () => {
    const c = await context({
      Dockerfile: `FROM busybox
RUN --mount=type=cache,target=/var/cache/app,id=appcache sh -c 'date >> /var/cache/app/runs; wc -l < /var/cache/app/runs > /runs'
RUN --mount=type=secret,id=token cat /run/secrets/token > /tmp/seen && test -s /tmp/seen && rm /tmp/seen
RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/x > /copied
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo t > /scratch/f && mount | grep -q " /scratch "'
`,
      'data/x': 'from the context\n',
    });
    const secret = path.join(c, '..', `${path.basename(c)}.secret`);
    await fs.writeFile(secret, 's3cr3t-value\n');
    try {
      const r1 = await d.berth(['build', '--secret', `id=token,src=${secret}`, '-t', 'mounts', c]);
      assert.equal(r1.code, 0, r1.stderr + r1.stdout);
      // The cache mount outlives the build: a second uncached run sees the first one's file.
      const r2 = await d.berth(['build', '--no-cache', '--secret', `id=token,src=${secret}`, '-t', 'mounts', c]);
      assert.equal(r2.code, 0, r2.stderr + r2.stdout);
      const run = await d.berth(['run', '--rm', 'mounts', 'sh', '-c', 'cat /runs /copied; ls /run/secrets /var/cache/app /scratch 2>&1 | grep -c "No such file"']);
      assert.equal(run.stdout, '2\nfrom the context\n3\n', 'cache persisted; mount points and contents left out');
      const saved = await d.berth(['save', 'mounts']);
      assert.doesNotMatch(saved.stdout, /s3cr3t-value/, 'the secret is in no layer');
      const hist = await d.berth(['history', '--no-trunc', 'mounts']);
      assert.doesNotMatch(hist.stdout, /s3cr3t-value/);
      const missing = await d.berth(['build', '--no-cache', c]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stdout + missing.stderr, /\/run\/secrets\/token/, 'without --secret the file is absent (required=false, as BuildKit)');
    } finally {
      await fs.rm(c, { recursive: true, force: true });
      await fs.rm(secret, { force: true });
    }
  });

  it('runs independent stages at the same time', async () => {
    // A rendezvous through a shared cache mount: each stage's RUN marks its arrival and waits for the
    // other's mark. Stages run one after the other would never meet (the wait gives up: exit 9).
    const nonce = Date.now().toString(36);
    const stage = (me: string, other: string) =>
      `FROM busybox AS ${me}\nRUN --mount=type=cache,target=/sync,id=par-${nonce} touch /sync/${me}; i=0; until [ -e /sync/${other} ]; do i=$((i+1)); [ $i -lt 1200 ] || exit 9; sleep 0.05; done; echo met > /${me}\n`;
    const c = await context({ Dockerfile: `${stage('one', 'two')}\n${stage('two', 'one')}\nFROM busybox\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n` });
    try {
      const built = await d.berth(['build', '--no-cache', '-t', 'par', c]);
      assert.equal(built.code, 0, built.stderr + built.stdout);
      assert.equal((await d.berth(['run', '--rm', 'par', 'cat', '/one', '/two'])).stdout, 'met\nmet\n', 'each stage saw the other running');
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('stops the other stages when one fails, and answers only once they have ended', async () => {
    const c = await context({ Dockerfile: 'FROM busybox AS slow\nRUN sleep 120\n\nFROM busybox AS bad\nRUN sleep 1; exit 7\n\nFROM busybox\nCOPY --from=slow /etc/hostname /a\nCOPY --from=bad /etc/hostname /b\n' });
    try {
      // Without cancelling, the build would take the whole two minutes of the slow stage.
      const r = await d.berth(['build', '--progress=plain', c], { timeoutMs: 60_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /returned a non-zero code: 7/);
      assert.match(r.stderr, /#2 CANCELED/, r.stderr);
      const runc = await import('node:child_process').then((m) => m.spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'list', '-q'], { encoding: 'utf8' }));
      assert.equal(runc.stdout, '', 'no build container left running');
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('refuses bad Dockerfiles with the file and line, and leaves only valid cache behind', async () => {
    const imagesBefore = (await d.berth(['images', '-aq'])).stdout;
    const cases: [string, RegExp][] = [
      ['FROM busybox\nFROBNICATE now\n', /failed to parse Dockerfile: line 2: unknown instruction: FROBNICATE/],
      ['RUN true\n', /line 1: no build stage in current context/],
      ['FROM busybox\nCOPY missing.txt /x\n', /"missing\.txt" not found/],
      ['FROM busybox\nCOPY --from=127.0.0.1:1/nowhere /a /b\n', /127\.0\.0\.1:1\/nowhere/], // no registry there: nothing leaves the machine
      ['FROM busybox\nRUN echo failing; exit 3\n', /The command '\/bin\/sh -c echo failing; exit 3' returned a non-zero code: 3/],
      ['FROM busybox\nCOPY onlyone\n', /line 2: COPY requires at least two arguments/],
      ['FROM busybox\nCOPY ../outside /x\n', /Forbidden path outside the build context: \.\.\/outside/],
    ];
    for (const [dockerfile, msg] of cases) {
      const c = await context({ Dockerfile: dockerfile });
      try {
        const r = await d.berth(['build', c]);
        assert.notEqual(r.code, 0, dockerfile);
        assert.match(r.stderr + r.stdout, msg, dockerfile);
      } finally {
        await fs.rm(c, { recursive: true, force: true });
      }
    }
    const fail = await d.berth(['build', '--progress=plain', '-'], { input: 'FROM busybox\nRUN echo the-last-words; exit 4\n' });
    assert.match(fail.stderr, /\n#\d+ \d+\.\d{3} the-last-words\n/, 'the failing step’s output is shown');
    const leftovers = (await fs.readdir(path.join(d.root, 'snapshots'))).filter((k) => k.startsWith('build-'));
    assert.deepEqual(leftovers, [], 'no build snapshot left behind');
    assert.deepEqual(await fs.readdir(path.join(d.root, 'build', 'tmp')).catch(() => []), []);
    assert.equal((await d.berth(['images', '-aq'])).stdout, imagesBefore, 'no half-built image');
  });

  it('builds what dockerd builds: the same config and the same file tree', { skip: !existsSync('/usr/sbin/dockerd') && 'no dockerd' }, async () => {
    const c = await context({
      Dockerfile: `FROM busybox
ENV A=1 B="two words"
WORKDIR /app
COPY src/ ./src/
COPY --chown=1000:1000 a.txt /app/
RUN mkdir -p /data/sub && echo hi > /data/sub/x && ln -s /data/sub/x /app/link && rm /etc/group
USER 1000
EXPOSE 8080/tcp 53/udp
LABEL k=v other="with space"
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD true
VOLUME /data
ENTRYPOINT ["sh", "-c"]
CMD ["echo hi"]
`,
      'src/one.txt': '1\n',
      'src/deep/two.txt': '22\n',
      'a.txt': 'a\n',
    });
    const ref = await PrivateDockerd.start();
    try {
      assert.equal((await d.berth(['build', '-t', 'cmp', c])).code, 0);
      const archive = path.join(c, '..', `${path.basename(c)}.tar`);
      assert.equal((await d.berth(['save', '-o', archive, 'busybox'])).code, 0);
      assert.equal((await ref.docker(['load', '-i', archive])).code, 0);
      await fs.rm(archive, { force: true });
      const built = await ref.docker(['build', '-t', 'cmp', c], { DOCKER_BUILDKIT: '0' });
      assert.equal(built.code, 0, built.stderr + built.stdout);
      const fields = '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Config.User}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Labels}} {{json .Config.Healthcheck}} {{.Config.StopSignal}}';
      const ours = await d.berth(['image', 'inspect', '-f', fields, 'cmp']);
      const theirs = await ref.docker(['image', 'inspect', '-f', fields, 'cmp']);
      assert.equal(ours.stdout, theirs.stdout);
      const tree = ['sh', '-c', 'for p in $(find /app /data /etc | sort); do stat -c "%n %F %a %u %g %s" $p; done; readlink /app/link'];
      const a = await d.berth(['run', '--rm', '--entrypoint', '', '-u', '0', '--network', 'none', 'cmp', ...tree]);
      const b = await ref.docker(['run', '--rm', '--entrypoint', '', '-u', '0', '--network', 'none', 'cmp', ...tree]);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(a.stdout, b.stdout);
      // The built layers are kept as directories (lazy blobs): `save` makes their tars again, and dockerd
      // loads them with the same image ID.
      const lazy = path.join(d.root, 'content', 'lazy');
      assert.ok((await fs.readdir(lazy)).length > 0, 'build layers are lazy blobs');
      assert.equal((await d.berth(['tag', 'cmp', 'cmp-berth:1'])).code, 0);
      const saved = path.join(c, '..', `${path.basename(c)}-built.tar`);
      const save = await d.berth(['save', '-o', saved, 'cmp-berth:1']);
      assert.equal(save.code, 0, save.stderr);
      assert.equal((await ref.docker(['load', '-i', saved])).code, 0);
      await fs.rm(saved, { force: true });
      const ids = [await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'cmp-berth:1']), await ref.docker(['image', 'inspect', '-f', '{{.Id}}', 'cmp-berth:1'])];
      assert.equal(ids[1]!.stdout, ids[0]!.stdout, 'the same image ID in dockerd');
      assert.equal((await ref.docker(['run', '--rm', '--network', 'none', '--entrypoint', '', '-u', '0', 'cmp-berth:1', ...tree])).stdout, a.stdout);
    } finally {
      await ref.stop();
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('works with the docker CLI legacy builder (DOCKER_BUILDKIT=0)', { skip: !existsSync('/usr/local/bin/docker') && 'no docker CLI' }, async () => {
    const r = await d.docker(['build', '-t', 'viadocker', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Successfully tagged viadocker:latest/);
    const run = await d.docker(['run', '--rm', 'viadocker', 'cat', '/greeting']);
    assert.equal(run.stdout, 'hello world\n');
  });
});
