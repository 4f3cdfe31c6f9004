// The CLI's native front end and its warm server (docs/notes/cli.md): a command behaves byte for byte the
// same whether bin/berth ran it in a fresh Node process (BERTH_CLI_DIRECT=1) or handed it to a warm one:
// stdout, stderr and exit status, stdin piped in, a terminal (script(1) gives it a pty), the working
// directory and environment, Ctrl-C relayed to a foreground `logs -f`. The warm server restarts when the
// CLI is rebuilt and recovers when killed; everything it started is ended by PID at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, TestDaemon, runCmd, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const BERTH = path.join(REPO, 'bin/berth');
const MAIN_JS = path.join(REPO, 'dist/src/cli/main.js');

describe('the CLI front end and its warm server', () => {
  let d: TestDaemon;
  let runDir: string;
  let work: string;
  /** Commands served by a child that had served one before (read-only commands reuse their child). */
  let reused = 0;
  const warmEnv = (): NodeJS.ProcessEnv => ({ BERTH_CLI_DIRECT: '', BERTH_CLI_RUNDIR: runDir, BERTH_CLI_TRACE: '1' });

  /** The pids of the warm servers in runDir (from their pid files). */
  const serverPids = (): number[] =>
    readdirSync(runDir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => Number(readFileSync(path.join(runDir, f), 'utf8')))
      .filter((p) => p > 0);

  const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

  /** Live processes started for this test's warm servers (the servers, their children): found by their
   *  command line or environment naming runDir. */
  const leftovers = (): number[] =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
      .filter((p) => {
        try {
          return alive(Number(p)) && (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(runDir) || readFileSync(`/proc/${p}/environ`, 'utf8').includes(`BERTH_CLI_RUNDIR=${runDir}`));
        } catch {
          return false;
        }
      })
      .map(Number);
  const describe_ = (pids: number[]): string => pids.map((p) => `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')}`).join('; ');

  /** Run through the front end; asserts it was served warm and strips the trace lines. */
  async function warm(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; sh?: boolean } = {}): Promise<RunResult> {
    const argv = opts.sh ? ['sh', '-c', args[0]!] : [BERTH, '-H', d.host, ...args];
    const r = await runCmd(argv, { input: opts.input, cwd: opts.cwd, env: { ...warmEnv(), DOCKER_CONFIG: path.join(d.dir, 'docker-config'), ...opts.env } });
    assert.match(r.stderr, /berth-cli: .* handed to the warm child \d+/, `${args.join(' ')} was not served warm: ${r.stderr}`);
    if (/berth-cli child: command ([2-9]|\d\d+),/.test(r.stderr)) reused++;
    return { ...r, stderr: r.stderr.replace(/^berth-cli( child)?: .*\n/gm, '') };
  }

  async function direct(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; sh?: boolean } = {}): Promise<RunResult> {
    const argv = opts.sh ? ['sh', '-c', args[0]!] : [BERTH, '-H', d.host, ...args];
    return runCmd(argv, { input: opts.input, cwd: opts.cwd, env: { BERTH_CLI_DIRECT: '1', DOCKER_CONFIG: path.join(d.dir, 'docker-config'), ...opts.env } });
  }

  /** The first command starts the server (and runs directly); wait until it answers. */
  async function serverUp(): Promise<void> {
    await runCmd([BERTH, '--version'], { env: warmEnv() });
    await waitFor(() => readdirSync(runDir).some((f) => f.endsWith('.sock')) && serverPids().length > 0, 'the warm CLI server');
  }

  before(async () => {
    d = await TestDaemon.start();
    runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cli-warm-'));
    await fs.chmod(runDir, 0o700);
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cli-work-'));
    await d.importBusybox();
    const r = await d.berth(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'seq 1 5; echo to-stderr >&2; exec sleep 600']);
    assert.equal(r.code, 0, r.stderr);
    await serverUp();
  });

  after(async () => {
    try {
      for (const pid of serverPids()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await waitFor(() => leftovers().length === 0, 'the warm servers and their children to exit', { timeoutMs: 20_000 }).catch((e: Error) => {
        const left = leftovers();
        for (const pid of left) process.kill(pid, 'SIGKILL');
        throw new Error(`${e.message}: ${describe_(left)}`);
      });
    } finally {
      await fs.rm(runDir, { recursive: true, force: true });
      await fs.rm(work, { recursive: true, force: true });
      await d?.cleanup();
    }
  });

  it('prints the same bytes and exits with the same status both ways', async () => {
    const cases: string[][] = [
      ['version', '--format', '{{.Client.Version}} {{.Server.Version}}'],
      ['--version'],
      ['ps', '--format', '{{.Names}} {{.Image}} {{.Command}}'],
      ['ps', '-a', '-q', '--no-trunc'],
      ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'],
      ['inspect', 'talker'],
      ['inspect', 'no-such-thing'],
      ['logs', '--tail', '3', 'talker'],
      ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'],
      ['ps', '--no-such-flag'],
      ['no-such-command'],
      ['container', 'nope'],
      ['image', 'ls', '--help'],
      [],
    ];
    for (const args of cases) {
      const a = await direct(args);
      const b = await warm(args);
      assert.deepEqual(b, a, `berth ${args.join(' ')}`);
    }
    // Read-only commands one after another: served by children that served one before, same bytes.
    for (let round = 0; round < 2; round++) {
      for (const args of cases.slice(0, 8)) assert.deepEqual(await warm(args), await direct(args), `berth ${args.join(' ')} (round ${round})`);
    }
    assert.ok(reused > 0, 'a warm child served more than one command');
  });

  it('changes the engine the same both ways, in a script’s rhythm through reused children; one that read a prompt ends', async () => {
    for (const args of [['rm', 'no-such'], ['rmi', 'no-such:1'], ['stop', 'no-such'], ['network', 'rm', 'no-such'], ['volume', 'rm', 'no-such'], ['tag', 'no-such', 'x:1']]) {
      assert.deepEqual(await warm(args), await direct(args), `berth ${args.join(' ')}`);
    }
    const before = reused;
    const made = await warm(['create', '--name', 'warm-made', 'busybox', 'true']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await warm(['tag', 'busybox', 'warm-tag:1'])).code, 0);
    assert.equal((await warm(['ps', '-a', '--filter', 'name=warm-made', '--format', '{{.Names}}'])).stdout, 'warm-made\n');
    const rm = await warm(['rm', 'warm-made']);
    assert.equal(rm.stdout + rm.stderr + rm.code, 'warm-made\n0');
    const rmi = await warm(['rmi', 'warm-tag:1']);
    assert.equal(rmi.stdout + rmi.stderr + rmi.code, 'Untagged: warm-tag:1\n0');
    assert.equal((await warm(['ps', '-a', '--filter', 'name=warm-made', '--format', '{{.Names}}'])).stdout, '');
    assert.ok(reused > before, 'the changes were served by reused children');
    // A prune that asks reads stdin: the same answer both ways, and that child ends (a next command would
    // find its stdin read).
    const asked = await runCmd([BERTH, '-H', d.host, 'container', 'prune'], { input: 'n\n', env: { ...warmEnv(), DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
    const child = Number(/handed to the warm child (\d+)/.exec(asked.stderr)?.[1]);
    assert.ok(child > 0, asked.stderr);
    const answer = { ...asked, stderr: asked.stderr.replace(/^berth-cli( child)?: .*\n/gm, '') };
    assert.deepEqual(answer, await direct(['container', 'prune'], { input: 'n\n' }));
    await waitFor(() => !alive(child), 'the child that read a prompt to end');
  });

  it('builds the same both ways, and a reused child sees every change to the context', async () => {
    const ctx = path.join(work, 'ctx');
    await fs.mkdir(ctx);
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\n');
    await fs.writeFile(path.join(ctx, 'a.txt'), 'one');
    await fs.writeFile(path.join(work, 'Failing'), 'FROM busybox\nRUN echo failing; exit 7\n');
    const cases = [
      ['build', '-q', '-t', 'warm:1', ctx],
      ['build', '-q', '-f', path.join(work, 'Failing'), ctx],
      ['build', '-q', '-f', 'no-such-Dockerfile', ctx],
      ['build', '-q', path.join(work, 'no-such-dir')],
    ];
    for (const args of cases) assert.deepEqual(await warm(args), await direct(args), `berth ${args.join(' ')}`);
    // One change at a time, each built warm: the image holds what the directory holds now.
    const seen = async (): Promise<string> => {
      const b = await warm(['build', '-q', '-t', 'warm:2', ctx]);
      assert.equal(b.code, 0, b.stderr);
      const r = await d.berth(['run', '--rm', 'warm:2', 'sh', '-c', 'cd /ctx && for f in $(ls -A | sort); do echo "$f $(stat -c "%a %Y" $f) $(cat $f)"; done']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const servedBefore = reused;
    assert.match(await seen(), /^a\.txt 644 \d+ one$/m);
    await fs.writeFile(path.join(ctx, 'a.txt'), 'two');
    assert.match(await seen(), /^a\.txt 644 \d+ two$/m);
    await fs.chmod(path.join(ctx, 'a.txt'), 0o600);
    assert.match(await seen(), /^a\.txt 600 \d+ two$/m);
    // A new mtime alone: the build's kept copy of the context has it (COPY's cache, as BuildKit's, does
    // not look at mtimes, so the image may keep the cached layer).
    utimesSync(path.join(ctx, 'a.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    await seen();
    const contexts = path.join(d.root, 'build', 'contexts');
    const kept = readdirSync(contexts).map((k) => path.join(contexts, k, 'files', 'a.txt')).filter((f) => existsSync(f));
    assert.equal(kept.length, 1);
    assert.equal((await fs.stat(kept[0]!)).mtimeMs, Date.parse('2020-01-02T03:04:05Z'));
    await fs.writeFile(path.join(ctx, '.dockerignore'), 'a.txt\n');
    assert.doesNotMatch(await seen(), /^a\.txt /m);
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\nRUN echo changed > /ctx/b.txt\n');
    assert.match(await seen(), /^b\.txt 644 \d+ changed$/m);
    assert.ok(reused > servedBefore, 'a warm child served more than one build');
  });

  it('runs compose the same both ways, and a reused child sees the project and environment change', async () => {
    const proj = path.join(work, 'proj');
    await fs.mkdir(proj);
    await fs.writeFile(path.join(proj, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n    command: sleep 600\n    environment:\n      GREETING: ${GREETING:-none}\n');
    const both = async (args: string[]) => assert.deepEqual(await warm(args, { cwd: proj }), await direct(args, { cwd: proj }), `berth ${args.join(' ')}`);
    await both(['compose', 'config']);
    await both(['compose', 'no-such-verb']);
    // Commands that change the project are compared from the same starting point.
    const fromScratch = async (args: string[], setup: string[]) => {
      const a = await warm(args, { cwd: proj });
      await direct(setup, { cwd: proj });
      assert.deepEqual(a, await direct(args, { cwd: proj }), `berth ${args.join(' ')}`);
    };
    await fromScratch(['compose', 'up', '-d'], ['compose', 'down', '-t', '1']);
    await both(['compose', 'up', '-d']);
    await both(['compose', 'ps', '--format', '{{.Service}} {{.State}}']);
    await fromScratch(['compose', 'down', '-t', '1'], ['compose', 'up', '-d']);
    const servedBefore = reused;
    for (const greeting of ['hello', 'bye']) {
      const r = await warm(['compose', 'up', '-d'], { cwd: proj, env: { GREETING: greeting } });
      assert.equal(r.code, 0, r.stderr);
      const env = await warm(['compose', 'exec', '-T', 'app', 'sh', '-c', 'echo $GREETING'], { cwd: proj });
      assert.equal(env.stdout, `${greeting}\n`);
    }
    await fs.writeFile(path.join(proj, 'compose.yaml'), 'services:\n  app:\n    image: busybox\n    command: sleep 601\n');
    assert.equal((await warm(['compose', 'up', '-d'], { cwd: proj })).code, 0);
    assert.match((await warm(['compose', 'ps', '--format', '{{.Command}}'], { cwd: proj })).stdout, /sleep 601/);
    assert.equal((await warm(['compose', 'down', '-t', '1'], { cwd: proj })).code, 0);
    assert.ok(reused > servedBefore, 'a warm child served more than one compose command');
  });

  it('passes stdin, the working directory and the environment', async () => {
    const pipe = ['echo hi from stdin | "$B" -H "$H" run --rm -i busybox cat'];
    const env = { B: BERTH, H: d.host };
    const a = await direct(pipe, { sh: true, env });
    const b = await warm(pipe, { sh: true, env });
    assert.deepEqual(b, a);
    assert.equal(b.stdout, 'hi from stdin\n');

    // BERTH_HOST from the environment; a relative path from the working directory.
    const cp = ['cp', 'talker:/etc/hostname', 'copied'];
    const viaEnv = await runCmd([BERTH, ...cp], { cwd: work, env: { ...warmEnv(), BERTH_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stderr, /handed to the warm child/);
    assert.equal((await fs.readFile(path.join(work, 'copied'), 'utf8')).trim(), (await d.berth(['inspect', '-f', '{{.Config.Hostname}}', 'talker'])).stdout.trim());
  });

  it('gives the command the terminal (script(1) makes a pty)', async () => {
    const line = ['script -qec \'stty rows 31 cols 97; "$B" -H "$H" run --rm -t busybox sh -c "stty size; [ -t 0 ] && echo tty"\' /dev/null'];
    const env = { B: BERTH, H: d.host };
    const a = await direct(line, { sh: true, env });
    // (No trace here: it would go to the terminal too. The server is up, so this is served warm.)
    const b = await runCmd(['sh', '-c', line[0]!], { env: { ...warmEnv(), ...env, BERTH_CLI_TRACE: '' } });
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(b, a);
    assert.match(b.stdout, /31 97\r*\n/);
    assert.match(b.stdout, /tty/);
  });

  it('relays Ctrl-C to a foreground logs -f and dies of it like a direct run', async () => {
    const follow = async (env: NodeJS.ProcessEnv): Promise<{ signal: string | null; code: number | null; out: string; child?: number }> => {
      const p = spawn(BERTH, ['-H', d.host, 'logs', '-f', 'talker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => (out += String(c)));
      p.stderr.on('data', (c: Buffer) => (err += String(c)));
      const exited = new Promise<[number | null, string | null]>((r) => p.once('exit', (code, signal) => r([code, signal])));
      await waitFor(() => out.includes('5\n'), 'logs -f to print the log');
      p.kill('SIGINT');
      const [code, signal] = await exited;
      const child = /handed to the warm child (\d+)/.exec(err)?.[1];
      return { signal, code, out, child: child ? Number(child) : undefined };
    };
    const a = await follow({ BERTH_CLI_DIRECT: '1' });
    const b = await follow(warmEnv());
    assert.ok(b.child, 'served warm');
    assert.deepEqual({ ...b, child: undefined }, { ...a, child: undefined });
    await waitFor(() => !alive(b.child!), 'the warm child to be gone');
  });

  it('restarts when the CLI is rebuilt and recovers when killed', async () => {
    const [old] = serverPids();
    assert.ok(old);
    // A rebuild (main.js's mtime changes): the old server must not serve the new build's commands.
    const now = new Date();
    utimesSync(MAIN_JS, now, new Date(now.getTime() + 1000));
    const first = await runCmd([BERTH, '--version'], { env: warmEnv() });
    assert.match(first.stderr, /no warm server: starting one/);
    await waitFor(() => !alive(old), 'the old server to exit');
    await waitFor(() => serverPids().length === 1 && serverPids()[0] !== old, 'a new server');
    assert.equal((await warm(['--version'])).code, 0);

    // Killed outright: the next command runs directly and starts a new one.
    const [killed] = serverPids();
    process.kill(killed!, 'SIGKILL');
    await waitFor(() => !alive(killed!), 'the killed server to be gone');
    // (Its threads may hold the listening socket a moment longer: then the command meets EOF instead of
    // a refused connection, and still runs directly.)
    const r = await runCmd([BERTH, '--version'], { env: warmEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no warm server|went away before taking the command: starting one/);
    await waitFor(() => serverPids().some((p) => p !== killed && alive(p)), 'a new server');
    assert.equal((await warm(['ps', '-q'])).code, 0);
    // The killed server's idle children noticed and left: what is left is the new server and its pool.
    const ppid = (p: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
    await waitFor(() => leftovers().every((p) => serverPids().includes(p) || serverPids().includes(ppid(p))), 'the old children to exit').catch((e: Error) => {
      throw new Error(`${e.message}: servers ${serverPids().join(' ')}; ${describe_(leftovers())}`);
    });
  });
});
