// The builder's solver (engine/builder/solver/): a vertex two stages share — the same digest, the same
// parent and definition — runs once in a build, as BuildKit merges identical vertices, even with
// --no-cache; different work in those stages still runs for each. COPY --from copies are what Docker's
// are (owner root, mode and content kept) whether a file is hard-linked from its layer or copied, and a
// later change to the copy never reaches the stage it came from.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { context, TestDaemon } from './harness.js';

const DOCKERFILE = `FROM busybox AS a
RUN head -c 16 /dev/urandom | od -An -tx1 > /r
RUN echo a > /who

FROM busybox AS b
RUN head -c 16 /dev/urandom | od -An -tx1 > /r
RUN echo b > /who

FROM busybox
COPY --from=a /r /ra
COPY --from=b /r /rb
COPY --from=a /who /wa
COPY --from=b /who /wb
CMD ["sh", "-c", "cat /ra /rb /wa /wb"]
`;

describe('build solver', () => {
  let d: TestDaemon;
  let ctx: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    ctx = await context({ Dockerfile: DOCKERFILE });
  });
  after(async () => {
    await fs.rm(ctx, { recursive: true, force: true });
    await d.cleanup();
  });

  it('runs a step two stages share once, and the steps they differ in for each', async () => {
    const r = await d.berth(['build', '--no-cache', '-t', 'shared:1', ctx]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const run = await d.berth(['run', '--rm', 'shared:1']);
    assert.equal(run.code, 0, run.stderr);
    const [ra, rb, wa, wb] = run.stdout.trim().split('\n').map((l) => l.trim());
    assert.match(ra!, /^([0-9a-f]{2} ){15}[0-9a-f]{2}$/);
    assert.equal(rb, ra);
    assert.deepEqual([wa, wb], ['a', 'b']);
  });

  it('COPY --from gives root-owned files with their mode, and changing them later leaves the source stage as it was', async () => {
    const dir = await context({
      Dockerfile: `FROM busybox AS src
RUN mkdir /dir && echo plain > /dir/plain && chmod 640 /dir/plain && echo owned > /owned && chown 1000:1000 /owned && ln -s /dir /via

FROM busybox AS out
COPY --from=src /dir/plain /plain
COPY --from=src /owned /owned
COPY --from=src /via/plain /via-plain
RUN echo appended >> /plain && echo appended >> /via-plain
CMD ["sh", "-c", "stat -c '%n %u:%g %a' /plain /owned /via-plain && cat /plain /via-plain"]

FROM src AS check
CMD ["cat", "/dir/plain"]
`,
    });
    try {
      for (const target of ['out', 'check']) {
        const r = await d.berth(['build', '--target', target, '-t', `linked:${target}`, dir]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
      }
      const out = await d.berth(['run', '--rm', 'linked:out']);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(out.stdout.trim().split('\n'), ['/plain 0:0 640', '/owned 0:0 644', '/via-plain 0:0 640', 'plain', 'appended', 'plain', 'appended']);
      const check = await d.berth(['run', '--rm', 'linked:check']);
      assert.equal(check.stdout, 'plain\n', 'the stage keeps its own file');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  // COPY and WORKDIR write new paths straight into the step's layer (no mount) and leave the rest to the
  // merged filesystem: either way the image shows what Docker's would.
  it('COPY and WORKDIR keep the existing directories they write into, and a COPY over a deleted directory shows only the new files', async () => {
    const dir = await context({
      Dockerfile: `FROM busybox
RUN mkdir -p /data/old /keep /lnk-target && echo old > /data/old/f && chown 1000:1000 /keep && chmod 750 /keep && ln -s /lnk-target /lnk
RUN rm -rf /data/old
COPY new/ /data/old/
COPY one.txt /keep/sub/one.txt
COPY --chown=nobody:nogroup one.txt /keep/two.txt
COPY one.txt /lnk/one.txt
WORKDIR /keep/wd
COPY --from=busybox /bin/busybox /keep/bb
CMD ["sh", "-c", "ls /data/old && stat -c '%n %a %u:%g' /keep /keep/sub /keep/sub/one.txt /keep/two.txt /keep/wd /lnk-target/one.txt /keep/bb"]
`,
      'new/n.txt': 'new\n',
      'one.txt': 'one\n',
    });
    try {
      const r = await d.berth(['build', '-t', 'direct:1', dir]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const out = await d.berth(['run', '--rm', 'direct:1']);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(out.stdout.trim().split('\n'), [
        'n.txt',
        '/keep 750 1000:1000',
        '/keep/sub 755 0:0',
        '/keep/sub/one.txt 644 0:0',
        '/keep/two.txt 644 65534:65534',
        '/keep/wd 755 0:0',
        '/lnk-target/one.txt 644 0:0',
        '/keep/bb 755 0:0',
      ]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
