// Dockerfiles as users write them, where berth once differed from Docker (issue 10): a stage's WORKDIR
// that a later step prepares again (EEXIST), heredocs with a #! line run by their interpreter (as BuildKit
// does) and heredocs given to COPY, the docker CLI 20.10 with BuildKit on told to use DOCKER_BUILDKIT=0,
// and the classic builder's step IDs being images one can run (how people debug a failed build).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar, context, PrivateDockerd, runCmd, TestDaemon, type RunResult } from './harness.js';

/** An image holding the host's /bin/bash (also as /bin/sh) and the libraries it loads (busybox has no bash). */
async function importBash(d: TestDaemon): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bash-img-'));
  try {
    const root = path.join(dir, 'rootfs');
    const libs = spawnSync('ldd', ['/bin/bash'], { encoding: 'utf8' }).stdout.match(/\/\S+/g) ?? [];
    assert.ok(libs.length > 0, 'ldd lists the libraries of /bin/bash');
    for (const f of ['/bin/bash', ...libs]) {
      await fs.mkdir(path.join(root, path.dirname(f)), { recursive: true });
      await fs.copyFile(f, path.join(root, f));
      await fs.chmod(path.join(root, f), 0o755);
    }
    // RUN runs `/bin/sh -c /dev/pipes/EOS` (as BuildKit does): the image needs a /bin/sh, here bash itself.
    await fs.symlink('bash', path.join(root, 'bin/sh'));
    const tar = path.join(dir, 'bash.tar');
    assert.equal(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status, 0);
    const r = await d.berth(['import', tar, 'hostbash:latest']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('build compatibility', () => {
  let d: TestDaemon;
  const dirs: string[] = [];
  const ctx = async (files: Record<string, string>) => {
    const c = await context(files);
    dirs.push(c);
    return c;
  };
  const build = async (files: Record<string, string>, tag: string) => {
    const r = await d.berth(['build', '-t', tag, await ctx(files)]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return r;
  };
  const run = async (image: string, ...cmd: string[]) => {
    const r = await d.berth(['run', '--rm', '--network', 'none', image, ...cmd]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return r.stdout;
  };
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => {
    for (const c of dirs) await fs.rm(c, { recursive: true, force: true });
    await d.cleanup();
  });

  describe('WORKDIR', () => {
    it('builds the stage of issue 10 (WORKDIR, COPY into ".", ARG, RUN, then COPY --from into scratch)', async () => {
      await build(
        {
          Dockerfile: `FROM busybox AS builder
RUN mkdir -p /var/cache/x
WORKDIR /src
COPY hello.txt .
ARG VERSION=1.0.0
RUN mkdir -p /out/etc && cp hello.txt /out/hello-$VERSION && echo v=$VERSION > /out/etc/version

FROM scratch
COPY --from=builder /out/ /
COPY --from=builder /bin/busybox /busybox
ENTRYPOINT ["/busybox"]
`,
          'hello.txt': 'hello\n',
        },
        'wd-issue',
      );
      assert.equal(await run('wd-issue', 'cat', '/hello-1.0.0', '/etc/version'), 'hello\nv=1.0.0\n');
    });

    it('makes the directory, also relative, repeated, existing in the base, a symlink to a directory', async () => {
      await build(
        {
          Dockerfile: `FROM busybox
RUN mkdir -p /real/dir && ln -s /real/dir /linked
WORKDIR /etc
WORKDIR /app
WORKDIR /app
WORKDIR sub
COPY f.txt .
RUN pwd > /pwd1 && test -f /app/sub/f.txt
WORKDIR /linked
COPY f.txt ./
RUN pwd > /pwd2 && test -f /real/dir/f.txt
WORKDIR /linked
RUN touch made-in-link
WORKDIR /new/deep/path
`,
          'f.txt': 'f\n',
        },
        'wd-cases',
      );
      // The process starts in the resolved directory (runc's chdir), as under dockerd.
      assert.equal(await run('wd-cases', 'cat', '/pwd1', '/pwd2'), '/app/sub\n/real/dir\n');
      assert.equal(await run('wd-cases', 'sh', '-c', 'test -L /linked && ls /real/dir | sort | tr "\\n" " "; stat -c "%F %a %u" /new/deep/path'), 'f.txt made-in-link directory 755 0\n');
      const wd = await d.berth(['image', 'inspect', '-f', '{{.Config.WorkingDir}}', 'wd-cases']);
      assert.equal(wd.stdout.trim(), '/new/deep/path');
    });

    it("creates the directory owned by USER (BuildKit's rule), so that user can write in it", async () => {
      await build(
        {
          Dockerfile: `FROM busybox
RUN echo "wd:x:1234:1234::/home/wd:/bin/sh" >> /etc/passwd && echo "wd:x:1234:" >> /etc/group
USER wd
WORKDIR /home/wd/work
RUN touch mine && id -u > uid
`,
        },
        'wd-user',
      );
      assert.equal(await run('wd-user', 'sh', '-c', 'stat -c "%u %g" /home/wd/work; cat /home/wd/work/uid'), '1234 1234\n1234\n');
    });

    it('refuses a WORKDIR that is a file with a clear error naming the step', async () => {
      const r = await d.berth(['build', await ctx({ Dockerfile: 'FROM busybox\nRUN echo x > /afile\nWORKDIR /afile\n' })]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /WORKDIR \/afile/);
      assert.match(r.stderr + r.stdout, /not a directory/);
      assert.doesNotMatch(r.stderr + r.stdout, /EEXIST|ENOTDIR/);
    });
  });

  describe('heredocs', () => {
    it('runs a RUN heredoc with a #! line under that interpreter (busybox sh features, env, flags)', async () => {
      await build(
        {
          Dockerfile: `FROM busybox
RUN mkdir -p /usr/bin && ln -s /bin/env /usr/bin/env
RUN <<EOS
#!/bin/sh
set -eu
echo "\${0}" > /script-name
x="a-b-c"
echo "\${x//-/+}" > /subst
EOS
RUN <<EOS
#!/bin/busybox sh
echo "$(( 6 * 7 ))" > /arith
EOS
RUN <<EOS
#!/usr/bin/env sh
echo via-env > /env
EOS
RUN <<EOS
#!/bin/sh -e
echo "$-" > /e-flag
EOS
`,
        },
        'hd-shebang',
      );
      assert.equal(await run('hd-shebang', 'cat', '/subst', '/arith', '/env'), 'a+b+c\n42\nvia-env\n');
      assert.match(await run('hd-shebang', 'cat', '/e-flag'), /e/, 'the #! line\'s flag (-e) reached the shell');
      assert.match(await run('hd-shebang', 'cat', '/script-name'), /^\/dev\/pipes\/EOS\n$/, 'the heredoc ran as a script file, as in BuildKit');
      // The script is mounted for the step only: not in the image.
      assert.equal(await run('hd-shebang', 'sh', '-c', 'ls /dev/pipes 2>&1 | grep -c "No such file"'), '1\n');
    });

    it('runs a #!/bin/bash heredoc with bash (set -o pipefail, arrays)', async () => {
      await importBash(d);
      await build(
        {
          Dockerfile: `FROM hostbash
RUN <<EOS
#!/bin/bash
set -euo pipefail
arr=(one two three)
echo "\${#arr[@]} \${arr[1]} $BASH_VERSION" > /bash-out
EOS
`,
        },
        'hd-bash',
      );
      const out = await run('hd-bash', '/bin/bash', '-c', 'read -r line < /bash-out; echo "$line"');
      assert.match(out, /^3 two \d+\.\d+/);
    });

    it("gives a command's heredocs to the shell, as BuildKit does (expanded unless quoted, several at once)", async () => {
      await build(
        {
          Dockerfile: `FROM busybox
ENV WHO=shell
RUN cat <<EOF > /expanded && cat <<'RAW' > /raw
who=$WHO
EOF
who=$WHO
RAW
RUN <<ONE sh && <<TWO sh
echo one > /one
ONE
echo two > /two
TWO
`,
        },
        'hd-cmd',
      );
      assert.equal(await run('hd-cmd', 'cat', '/expanded', '/raw', '/one', '/two'), 'who=shell\nwho=$WHO\none\ntwo\n');
    });

    it('fails a heredoc whose interpreter is not in the image with an error naming the step', async () => {
      const r = await d.berth(['build', await ctx({ Dockerfile: 'FROM busybox\nRUN true\nRUN <<EOS\n#!/bin/nosuchshell\necho hi\nEOS\n' })]);
      assert.notEqual(r.code, 0);
      const out = r.stderr + r.stdout;
      assert.match(out, /\/bin\/nosuchshell/);
      assert.match(out, /RUN <<EOS/);
      assert.match(out, /Dockerfile:3/);
    });

    it('writes COPY heredocs as files, with --chmod and variables', async () => {
      await build(
        {
          Dockerfile: `FROM busybox
ARG WHO=world
COPY --chmod=755 <<EOF /app/run.sh
#!/bin/sh
echo "hello \${WHO}"
EOF
COPY <<'EOF' /app/raw.txt
keep \${WHO}
EOF
CMD ["/app/run.sh"]
`,
        },
        'hd-copy',
      );
      assert.equal(await run('hd-copy'), 'hello world\n');
      assert.equal(await run('hd-copy', 'sh', '-c', 'stat -c "%a %u" /app/run.sh; cat /app/raw.txt'), '755 0\nkeep ${WHO}\n');
    });
  });

  describe("the classic builder's step IDs", () => {
    /** What a user sees of the step images on one engine, by step (IDs differ between engines; this does not). */
    async function stepShape(docker: (args: string[]) => Promise<RunResult>, dir: string) {
      const ids = async (args: string[]) => (await docker(['images', '-q', '--no-trunc', ...args])).stdout.split('\n').filter(Boolean).map((i) => i.slice(7, 19));
      const built = await docker(['build', '-t', 'steps:1', dir]);
      assert.equal(built.code, 0, built.stderr + built.stdout);
      const steps = [...built.stdout.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
      assert.equal(steps.at(-1), /Successfully built ([0-9a-f]{12})/.exec(built.stdout)?.[1], 'the last step is the image built');
      const [shown, all] = [await ids([]), await ids(['-a'])];
      const listed = steps.map((id) => (shown.includes(id) ? 'shown' : all.includes(id) ? 'hidden' : 'absent'));
      const parents: boolean[] = [];
      for (let i = 1; i < steps.length; i++) parents.push((await docker(['image', 'inspect', '-f', '{{.Parent}}', steps[i]!])).stdout.slice(7, 19) === steps[i - 1]);
      const childConflict = (await docker(['rmi', steps.at(-2)!])).stderr.replace(/[0-9a-f]{12}/g, 'ID');
      const rmi = await docker(['rmi', 'steps:1']);
      const left = await ids(['-a']);
      return { count: steps.length, listed, parents, childConflict, rmi: rmi.stdout.split('\n')[0], afterRmi: steps.map((id) => left.includes(id)) };
    }

    it('are images one can run to debug a failed step (docker run, berth run)', async () => {
      const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nENV X=set\nRUN cat /missing\n' });
      const r = await d.docker(['build', dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.notEqual(r.code, 0);
      const last = [...r.stdout.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!).at(-1);
      assert.ok(last, r.stdout);
      const viaDocker = await d.docker(['run', '--rm', '--network', 'none', last, 'sh', '-c', 'cat /one; echo $X']);
      assert.equal(viaDocker.stdout, 'one\nset\n', viaDocker.stderr);
      assert.equal(await run(last, 'cat', '/one'), 'one\n');
    });

    it("are the classic builder's only: berth build (BuildKit's way, also with -q) makes the image alone", async () => {
      const all = async () => (await d.berth(['images', '-aq'])).stdout.split('\n').filter(Boolean);
      const before = await all();
      for (const args of [['-q'], ['--progress=plain']]) {
        const dir = await ctx({ Dockerfile: `FROM busybox\nRUN echo ${args[0]} > /x\nENV Y=2\n` });
        const r = await d.berth(['build', ...args, dir]);
        assert.equal(r.code, 0, r.stderr);
      }
      const added = (await all()).filter((i) => !before.includes(i));
      assert.equal(added.length, 2, 'one image per build: ' + added.join(' '));
      for (const id of added) assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Parent}}', id])).stdout.trim(), '', 'no Parent, as BuildKit');
    });

    it('come in Dockerfile order under their Step lines, though stages run at the same time', async () => {
      const dir = await ctx({ Dockerfile: 'FROM busybox AS one\nRUN echo one > /one\n\nFROM busybox AS two\nRUN echo two > /two\n\nFROM busybox\nCOPY --from=two /two /two\nCOPY --from=one /one /one\n' });
      const r = await d.docker(['build', '--no-cache', dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const steps = [...r.stdout.matchAll(/^Step (\d+)\/7 : /gm)].map((m) => Number(m[1]));
      assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7], r.stdout);
      // Each Step line is followed by its own lines: the FROM steps by busybox's ID, a RUN by its output.
      const busybox = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.slice(7, 19);
      assert.match(r.stdout, new RegExp(`Step 1/7 : FROM busybox AS one\\n ---> ${busybox}\\nStep 2/7 : RUN echo one > /one\\n ---> Running in [0-9a-f]{12}\\n ---> [0-9a-f]{12}\\nStep 3/7 : FROM busybox AS two\\n ---> ${busybox}\\n`));
    });

    it('are listed, chained, kept and removed as dockerd 20.10 does them', async () => {
      const dir = await ctx({ Dockerfile: 'FROM busybox\nWORKDIR /w\nRUN echo one > one\nENV X=1\nCOPY f.txt .\nRUN cat f.txt one > both\nCMD ["cat", "both"]\n', 'f.txt': 'f\n' });
      const env = { DOCKER_BUILDKIT: '0' };
      const ours = await stepShape((args) => d.docker(args, { env }), dir);
      const ref = await PrivateDockerd.start();
      try {
        assert.equal((await ref.docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest'])).code, 0);
        const theirs = await stepShape((args) => ref.docker(args, env), dir);
        assert.deepEqual(ours, theirs);
        assert.equal(ours.count, 7);
        // An untagged build (a dangling image): image prune takes it with its step images, and nothing else.
        const prunedShape = async (docker: (args: string[]) => Promise<RunResult>) => {
          const ids = async () => (await docker(['images', '-aq'])).stdout.split('\n').filter(Boolean);
          const before = await ids();
          assert.equal((await docker(['build', '-q', dir])).code, 0);
          const added = (await ids()).filter((i) => !before.includes(i));
          assert.equal((await docker(['image', 'prune', '-f'])).code, 0);
          const after = await ids();
          return { added: added.length, left: added.filter((i) => after.includes(i)).length };
        };
        const prunedOurs = await prunedShape((args) => d.docker(args, { env }));
        assert.deepEqual(prunedOurs, await prunedShape((args) => ref.docker(args, env)));
        assert.deepEqual(prunedOurs, { added: 6, left: 0 }, 'six step images came, and went with the dangling image');
      } finally {
        await ref.stop();
      }
    });
  });

  describe('clients', () => {
    it('tells the docker CLI 20.10 with BuildKit on to use DOCKER_BUILDKIT=0', async () => {
      const c = await ctx({ Dockerfile: 'FROM busybox\nRUN true\n' });
      const r = await runCmd(['/usr/bin/docker', 'build', c], { env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /DOCKER_BUILDKIT=0/, r.stderr);
      assert.doesNotMatch(r.stderr, /remote parameter/);
    });
  });

  describe('--cache-from', () => {
    // Which steps of each build are cache hits (` ---> Using cache`), by step number.
    const hits = (out: string) => [...out.matchAll(/^Step (\d+)\/\d+ : .*\n ---> Using cache$/gm)].map((m) => Number(m[1]));
    async function cacheFromShape(docker: (args: string[]) => Promise<RunResult>, dir: string, other: string) {
      const build = async (...args: string[]) => {
        const r = await docker(['build', ...args]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        return hits(r.stdout);
      };
      const first = await build('-t', 'cf1', dir);
      const fromCf1 = await build('-t', 'cf2', '--cache-from', 'cf1', dir);
      assert.equal((await docker(['rmi', 'cf2'])).code, 0);
      const fromMissing = await build('-t', 'cf2', '--cache-from', 'nosuchtag', dir);
      // The steps just run again (their results newer than cf1's): cf1's history still gives hits.
      const cf1Again = await build('-t', 'cf3', '--cache-from', 'cf1', dir);
      const sameImage = (await docker(['image', 'inspect', '-f', '{{.Id}}', 'cf1', 'cf3'])).stdout.split('\n').filter(Boolean);
      // Another image sharing the first step: only that step is a hit.
      await build('-t', 'cfother', other);
      const fromOther = await build('--cache-from', 'cfother', dir);
      const noCacheFrom = await build(dir);
      return { first, fromCf1, fromMissing, cf1Again, sameAsCf1: sameImage[0] === sameImage[1], fromOther, noCacheFrom };
    }

    it('uses only the cache in the named images\' history, as dockerd 20.10 does (docker CLI, DOCKER_BUILDKIT=0)', async () => {
      const dir = await ctx({ Dockerfile: 'FROM busybox\nENV FOO=bar\nRUN touch baz\nRUN touch bax\n' });
      const other = await ctx({ Dockerfile: 'FROM busybox\nENV FOO=bar\nRUN touch other\n' });
      const env = { DOCKER_BUILDKIT: '0' };
      const ours = await cacheFromShape((args) => d.docker(args, { env }), dir, other);
      assert.deepEqual(ours, { first: [], fromCf1: [2, 3, 4], fromMissing: [], cf1Again: [2, 3, 4], sameAsCf1: true, fromOther: [2], noCacheFrom: [2, 3, 4] });
      const ref = await PrivateDockerd.start();
      try {
        assert.equal((await ref.docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest'])).code, 0);
        assert.deepEqual(ours, await cacheFromShape((args) => ref.docker(args, env), dir, other));
      } finally {
        await ref.stop();
      }
    });

    it('berth build --cache-from: hits only in the named image, which may come from elsewhere (save and load)', async () => {
      const dir = await ctx({ Dockerfile: 'FROM busybox\nENV CF=berth\nWORKDIR /w\nRUN echo made > made\nCMD ["cat", "made"]\n' });
      const b = async (...args: string[]) => {
        const r = await d.berth(['build', '--progress=plain', ...args, dir]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        return [...(r.stderr + r.stdout).matchAll(/^#\d+ \[\d+\/\d+\] (\w+).*\n#\d+ CACHED$/gm)].map((m) => m[1]);
      };
      assert.deepEqual(await b('-t', 'cfb1'), []);
      assert.deepEqual(await b('--cache-from', 'nosuchtag'), [], 'no image, no cache');
      // The cache now holds the run above, not cfb1's steps; cfb1 itself is what gives the hits.
      assert.deepEqual(await b('-t', 'cfb2', '--cache-from', 'cfb1'), ['ENV', 'WORKDIR', 'RUN', 'CMD']);
      const ids = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'cfb1', 'cfb2'])).stdout.split('\n').filter(Boolean);
      assert.equal(ids[0], ids[1], 'the same image again');
      assert.equal(await run('cfb2'), 'made\n');
      // From elsewhere: the image saved, the cache pruned and the image loaded back: its history and layers
      // are all there is, and they give the hits (COPY-free steps: their history says all they do).
      const tar = path.join(await ctx({}), 'cfb1.tar');
      assert.equal((await d.berth(['save', '-o', tar, 'cfb1'])).code, 0);
      for (const args of [['rmi', 'cfb1', 'cfb2'], ['builder', 'prune', '-af'], ['load', '-i', tar]]) assert.equal((await d.berth(args)).code, 0, args.join(' '));
      assert.deepEqual(await b('-t', 'cfb3', '--cache-from', 'cfb1'), ['ENV', 'WORKDIR', 'RUN', 'CMD']);
      assert.equal(await run('cfb3'), 'made\n');
    });

    it('never takes from the named image what its history does not say (build args, copied files, heredoc scripts)', async () => {
      const files = { Dockerfile: 'FROM busybox\nARG V=1\nRUN echo $V > /v\n', 'f.txt': 'one\n' };
      const dir = await ctx(files);
      const copyDir = await ctx({ Dockerfile: 'FROM busybox\nCOPY f.txt /f.txt\n', 'f.txt': 'one\n' });
      const script = (word: string) => `FROM busybox\nRUN <<EOS\n#!/bin/sh\necho ${word} > /s\nEOS\n`;
      const scriptDir = await ctx({ Dockerfile: script('one') });
      const b = async (d2: string, ...args: string[]) => {
        const r = await d.berth(['build', '--progress=plain', ...args, d2]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        return (r.stderr + r.stdout).match(/#\d+ CACHED$/gm)?.length ?? 0;
      };
      await b(dir, '-t', 'cfargs');
      await b(copyDir, '-t', 'cfcopy');
      await b(scriptDir, '-t', 'cfscript');
      assert.equal((await d.berth(['builder', 'prune', '-af'])).code, 0);
      // Only the images' history is left to give hits: a RUN seeing another build arg, a COPY of other
      // content and another heredoc script must run again.
      assert.equal(await b(dir, '-t', 'cfargs2', '--build-arg', 'V=2', '--cache-from', 'cfargs'), 0);
      assert.equal(await run('cfargs2', 'cat', '/v'), '2\n');
      await fs.writeFile(path.join(copyDir, 'f.txt'), 'two\n');
      assert.equal(await b(copyDir, '-t', 'cfcopy2', '--cache-from', 'cfcopy'), 0);
      assert.equal(await run('cfcopy2', 'cat', '/f.txt'), 'two\n');
      await fs.writeFile(path.join(scriptDir, 'Dockerfile'), script('two'));
      assert.equal(await b(scriptDir, '-t', 'cfscript2', '--cache-from', 'cfscript'), 0);
      assert.equal(await run('cfscript2', 'cat', '/s'), 'two\n');
    });
  });
});
