// Containers outlive berthd: they keep running and logging while it is down, their exits are
// recorded, and a berthd killed in the middle of create/start/rm/load leaves no torn state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon, busyboxTar, mountsUnder } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('daemon restarts', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('keeps containers running and logging while berthd is down', async () => {
    const id = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done'])).stdout.trim();
    const exiter = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'sleep 1; exit 7'])).stdout.trim();
    const pid = Number((await d.berth(['inspect', '-f', '{{.State.Pid}}', id])).stdout);
    await sleep(300);
    await d.stopProcess('SIGKILL');
    const linesBefore = (await fs.readFile(path.join(d.root, 'containers', id, `${id}-json.log`), 'utf8')).split('\n').length;
    await sleep(1500);
    process.kill(pid, 0); // still alive while berthd is down
    const linesDuring = (await fs.readFile(path.join(d.root, 'containers', id, `${id}-json.log`), 'utf8')).split('\n').length;
    assert.ok(linesDuring > linesBefore + 5, 'the container kept logging while berthd was down');
    await d.startProcess();
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id])).stdout, `running ${pid}\n`);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', exiter])).stdout, 'exited 7\n');
    const logs = (await d.berth(['logs', id])).stdout.split('\n').filter(Boolean);
    assert.ok(logs.length >= linesDuring - 1);
    // and berthd still controls it
    assert.equal((await d.berth(['stop', '-t', '1', id])).code, 0);
    assert.match((await d.berth(['inspect', '-f', '{{.State.Status}}', id])).stdout, /exited/);
    await d.berth(['rm', id, exiter]);
  });

  it('refuses a second berthd on the same root', async () => {
    const second = await TestDaemon.start().catch((e: Error) => e);
    if (second instanceof TestDaemon) await second.cleanup();
    // The same root: start directly to compare.
    const r = await import('./harness.js').then((h) =>
      h.runCmd([process.execPath, `${h.REPO}/dist/src/daemon/main.js`, '--root', d.root, '--exec-root', d.execRoot, '-H', `unix://${d.dir}/other.sock`]),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another berthd \(pid \d+\) is already running/);
  });

  for (const op of ['create', 'start', 'rm', 'import', 'load'] as const) {
    it(`survives SIGKILL in the middle of ${op}`, async () => {
      for (const delay of [5, 20, 60, 150]) {
        const name = `crash-${op}-${delay}`;
        if (op === 'start' || op === 'rm') await d.berth(['create', '--name', name, 'busybox', 'sleep', '300']);
        if (op === 'rm') await d.berth(['start', name]);
        const tar = await busyboxTar();
        const archive = path.join(d.dir, 'saved.tar');
        if (op === 'load') {
          await d.berth(['tag', 'busybox', `crash/${name}`]);
          assert.equal((await d.berth(['save', '-o', archive, `crash/${name}`])).code, 0);
          await d.berth(['rmi', `crash/${name}`]);
        }
        const pending =
          op === 'create'
            ? d.berth(['create', '--name', name, 'busybox', 'sleep', '300'])
            : op === 'start'
              ? d.berth(['start', name])
              : op === 'rm'
                ? d.berth(['rm', '-f', name])
                : op === 'import'
                  ? d.berth(['import', tar, `crash/${name}`])
                  : d.berth(['load', '-i', archive]);
        await sleep(delay);
        await d.stopProcess('SIGKILL');
        await pending;
        await d.startProcess();
        await assertConsistent(d);
        await d.berth(['rm', '-f', name]);
        if (op === 'import' || op === 'load') await d.berth(['rmi', `crash/${name}`]);
      }
    });
  }
});

/** Every listed container inspects; only running ones have a rootfs mount; no orphans or temp files. */
async function assertConsistent(d: TestDaemon): Promise<void> {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const running = new Set<string>();
  for (const id of ids) {
    const r = await d.berth(['inspect', '-f', '{{.State.Status}}', id]);
    assert.equal(r.code, 0, r.stderr);
    if (/running|paused/.test(r.stdout)) running.add(id);
  }
  for (const m of mountsUnder(d.root)) {
    const id = m.split('/').slice(-2, -1)[0]!;
    assert.ok(running.has(id), `leaked mount ${m}`);
  }
  const dirs = await fs.readdir(path.join(d.root, 'containers'));
  for (const dir of dirs) assert.ok(ids.includes(dir), `orphan container dir ${dir}`);
  const ingest = await fs.readdir(path.join(d.root, 'content', 'ingest')).catch(() => []);
  assert.deepEqual(ingest, [], 'no partial blobs');
  const images = (await d.berth(['images', '-q'])).stdout.split('\n').filter(Boolean);
  for (const img of images) assert.equal((await d.berth(['image', 'inspect', img])).code, 0);
}

describe('restart policies', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('restarts an on-failure:3 container exactly 3 times, then leaves it stopped', async () => {
    await d.berth(['run', '-d', '--name', 'crashy', '--restart', 'on-failure:3', 'busybox', 'sh', '-c', 'exit 2']);
    for (let i = 0; i < 100; i++) {
      const s = (await d.berth(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'crashy'])).stdout;
      if (s === 'exited 3\n') break;
      await sleep(100);
    }
    await sleep(1500); // the back-off would have fired a 4th time by now
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', 'crashy'])).stdout, 'exited 3 2\n');
    await d.berth(['rm', '-f', 'crashy']);
  });

  it('brings back always containers at daemon start, but not a manually stopped unless-stopped one', async () => {
    await d.berth(['run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sleep', '300']);
    await d.berth(['run', '-d', '--name', 'uls', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
    assert.equal((await d.berth(['stop', '-t', '0', 'alw', 'uls'])).code, 0);
    await d.stopProcess();
    await d.startProcess();
    for (let i = 0; i < 50 && (await d.berth(['inspect', '-f', '{{.State.Status}}', 'alw'])).stdout !== 'running\n'; i++) await sleep(100);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'alw'])).stdout, 'running\n');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'uls'])).stdout, 'exited\n');
    await d.berth(['rm', '-f', 'alw', 'uls']);
  });
});

describe('health checks', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  const status = async (name: string) => (await d.berth(['inspect', '-f', '{{.State.Health.Status}}', name])).stdout.trim();
  async function waitStatus(name: string, want: string): Promise<void> {
    for (let i = 0; i < 100 && (await status(name)) !== want; i++) await sleep(100);
    assert.equal(await status(name), want);
  }

  it('turns unhealthy after retries failures, healthy when the probe passes, and shows it in ps', async () => {
    await d.berth(['run', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '300']);
    assert.equal(await status('hc'), 'starting');
    await waitStatus('hc', 'unhealthy');
    assert.ok(Number((await d.berth(['inspect', '-f', '{{.State.Health.FailingStreak}}', 'hc'])).stdout) >= 2);
    await d.berth(['exec', 'hc', 'touch', '/tmp/ok']);
    await waitStatus('hc', 'healthy');
    assert.match((await d.berth(['ps', '--format', '{{.Status}}', '--filter', 'name=hc'])).stdout, /^Up .* \(healthy\)\n$/);
    const log = JSON.parse((await d.berth(['inspect', '-f', '{{json .State.Health.Log}}', 'hc'])).stdout) as { ExitCode: number }[];
    assert.ok(log.length >= 1 && log.length <= 5);
    assert.equal(log[log.length - 1]!.ExitCode, 0);
    await d.berth(['rm', '-f', 'hc']);
  });

  it('kills a probe that hangs at its timeout', async () => {
    await d.berth(['run', '-d', '--name', 'hang', '--health-cmd', 'sleep 30', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
    await waitStatus('hang', 'unhealthy');
    const out = (await d.berth(['inspect', '-f', '{{(index .State.Health.Log 0).Output}}', 'hang'])).stdout;
    assert.match(out, /Health check exceeded timeout/);
    await d.berth(['rm', '-f', 'hang']);
  });
});
