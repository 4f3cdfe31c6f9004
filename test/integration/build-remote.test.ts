// Remote build contexts, as `docker build URL` takes them: a tarball or a Dockerfile alone at an http URL,
// and a git repository (`URL#ref:subdir`), fetched by the CLI. Both servers run on 127.0.0.1 for the test:
// a Node http server and `git daemon`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { context, TestDaemon } from './harness.js';
import { freePort, stopChild } from '../support/distribution.js';

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};

describe('remote build contexts', () => {
  let d: TestDaemon;
  let web: http.Server;
  let base: string;
  let repos: string;
  let gitd: ChildProcess;
  let gitPort: number;
  let tarball: Buffer;

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    const c = await context({ Dockerfile: 'FROM busybox\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n', 'msg.txt': 'from a tarball\n' });
    tarball = spawnSync('tar', ['-cz', '-C', c, '.']).stdout;
    await fs.rm(c, { recursive: true, force: true });
    web = http.createServer((req, res) => {
      if (req.url === '/ctx.tar.gz') res.end(tarball);
      else if (req.url === '/Dockerfile') res.end('FROM busybox\nCMD ["echo", "from a Dockerfile URL"]\n');
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

    // A repository with the context in app/ and a second branch.
    repos = await fs.mkdtemp('/tmp/bt-git-');
    const work = path.join(repos, 'work');
    await fs.mkdir(path.join(work, 'app'), { recursive: true });
    await fs.writeFile(path.join(work, 'app', 'Dockerfile'), 'FROM busybox\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n');
    await fs.writeFile(path.join(work, 'app', 'msg.txt'), 'from main\n');
    git(work, 'init', '-q', '-b', 'main');
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'main');
    git(work, 'checkout', '-q', '-b', 'release');
    await fs.writeFile(path.join(work, 'app', 'msg.txt'), 'from release\n');
    git(work, 'commit', '-q', '-am', 'release');
    git(work, 'checkout', '-q', 'main');
    git(repos, 'clone', '-q', '--bare', work, 'ctx.git');
    gitPort = await freePort();
    gitd = spawn('git', ['daemon', `--base-path=${repos}`, '--export-all', '--listen=127.0.0.1', `--port=${gitPort}`, '--reuseaddr', repos], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      if (spawnSync('git', ['ls-remote', `git://127.0.0.1:${gitPort}/ctx.git`]).status === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await stopChild(gitd);
    await new Promise((r) => web.close(r));
    await fs.rm(repos, { recursive: true, force: true });
    await d.cleanup();
  });

  it('builds from a tarball URL and from a Dockerfile URL', async () => {
    const b = await d.berth(['build', '-q', '-t', 'urlctx', `${base}/ctx.tar.gz`]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await d.berth(['run', '--rm', 'urlctx'])).stdout, 'from a tarball\n');
    const df = await d.berth(['build', '-q', '-t', 'urldf', `${base}/Dockerfile`]);
    assert.equal(df.code, 0, df.stderr);
    assert.equal((await d.berth(['run', '--rm', 'urldf'])).stdout, 'from a Dockerfile URL\n');
  });

  it('builds from a git repository: the default branch, or a ref and a subdirectory', async () => {
    const main = await d.berth(['build', '-q', '-t', 'gitmain', '-f', 'app/Dockerfile', `git://127.0.0.1:${gitPort}/ctx.git`]);
    assert.equal(main.code, 1, 'the context is the repository root: app/msg.txt is not msg.txt');
    assert.match(main.stderr, /"msg\.txt" not found/);
    const sub = await d.berth(['build', '-q', '-t', 'gitmain', `git://127.0.0.1:${gitPort}/ctx.git#main:app`]);
    assert.equal(sub.code, 0, sub.stderr);
    assert.equal((await d.berth(['run', '--rm', 'gitmain'])).stdout, 'from main\n');
    const rel = await d.berth(['build', '-q', '-t', 'gitrel', `git://127.0.0.1:${gitPort}/ctx.git#release:app`]);
    assert.equal(rel.code, 0, rel.stderr);
    assert.equal((await d.berth(['run', '--rm', 'gitrel'])).stdout, 'from release\n');
    const left = (await fs.readdir('/tmp')).filter((n) => n.startsWith('berth-git-'));
    assert.deepEqual(left, [], 'the clone is removed after the build');
  });

  it('says what went wrong with a remote context, exit 1', async () => {
    const missing = await d.berth(['build', `${base}/nothing.tar`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /unable to prepare context: unable to download remote context http:\/\/127\.0\.0\.1:\d+\/nothing\.tar: 404 Not Found/);
    const ref = await d.berth(['build', `git://127.0.0.1:${gitPort}/ctx.git#nosuchref`]);
    assert.equal(ref.code, 1);
    assert.match(ref.stderr, /unable to prepare context: unable to 'git clone' to temporary context directory: .*nosuchref/);
    const sub = await d.berth(['build', `git://127.0.0.1:${gitPort}/ctx.git#main:nowhere`]);
    assert.equal(sub.code, 1);
    assert.match(sub.stderr, /subdirectory nowhere not found/);
    const bz = await d.berth(['build', '-'], { input: Buffer.from('BZh91AY&SY') });
    assert.equal(bz.code, 1);
    assert.match(bz.stderr, /bzip2 and xz compressed contexts are not supported/);
  });
});
