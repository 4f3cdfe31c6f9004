// Containers outlive berthd: they keep running and logging while it is down, their exits are
// recorded, and a berthd killed in the middle of create/start/rm/load leaves no torn state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon, busyboxTar, mountsUnder, runCmd } from './harness.js';
import { waitFor } from './waits.js';

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
    // It exits only once told to (the file appears), which happens while berthd is down.
    const exiter = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 7'])).stdout.trim();
    const pid = Number((await d.berth(['inspect', '-f', '{{.State.Pid}}', id])).stdout);
    const exiterPid = Number((await d.berth(['inspect', '-f', '{{.State.Pid}}', exiter])).stdout);
    const logFile = path.join(d.root, 'containers', id, `${id}-json.log`);
    const lines = async () => (await fs.readFile(logFile, 'utf8')).split('\n').filter(Boolean).length;
    await waitFor(async () => (await lines()) >= 3, 'the first log lines');
    await d.stopProcess('SIGKILL');
    const linesBefore = await lines();
    await waitFor(async () => (await lines()) > linesBefore + 5, 'more log lines written while berthd is down');
    process.kill(pid, 0); // still alive while berthd is down
    // The exit happens while berthd is down: its shim records it.
    assert.equal((await runCmd(['nsenter', '-t', String(exiterPid), '-m', 'touch', '/tmp/go'])).code, 0);
    await waitFor(() => !alive(exiterPid), 'the second container to exit while berthd is down');
    const linesDuring = await lines();
    await d.startProcess();
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id])).stdout, `running ${pid}\n`);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', exiter])).stdout, 'exited 7\n');
    const logs = (await d.berth(['logs', id])).stdout.split('\n').filter(Boolean);
    assert.ok(logs.length >= linesDuring, `logs after the restart (${logs.length}) include those written while berthd was down (${linesDuring})`);
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
      // The kill lands at several points of the operation (these delays place the fault; nothing waits on them).
      for (const delay of [5, 20, 60, 150]) {
        const name = `crash-${op}-${delay}`;
        const image = `crash/${name}:latest`;
        if (op === 'start' || op === 'rm') assert.equal((await d.berth(['create', '--name', name, 'busybox', 'sleep', '300'])).code, 0);
        if (op === 'rm') assert.equal((await d.berth(['start', name])).code, 0);
        const tar = await busyboxTar();
        const archive = path.join(d.dir, 'saved.tar');
        if (op === 'load') {
          await d.berth(['tag', 'busybox', image]);
          assert.equal((await d.berth(['save', '-o', archive, image])).code, 0);
          assert.equal((await d.berth(['rmi', image])).code, 0);
        }
        const pending =
          op === 'create'
            ? d.berth(['create', '--name', name, 'busybox', 'sleep', '300'])
            : op === 'start'
              ? d.berth(['start', name])
              : op === 'rm'
                ? d.berth(['rm', '-f', name])
                : op === 'import'
                  ? d.berth(['import', tar, image])
                  : d.berth(['load', '-i', archive]);
        await sleep(delay);
        await d.stopProcess('SIGKILL');
        const answered = await pending;
        await d.startProcess();
        await assertConsistent(d);
        await assertOutcome(d, op, name, image, answered.code === 0);
        await d.berth(['rm', '-f', name]);
        if (op === 'import' || op === 'load') await d.berth(['rmi', image]);
      }
    });
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * What became of the operation the kill interrupted: done or not done, never half. An operation the CLI
 * saw succeed is durable; whatever the outcome, the user can carry on (start what exists, create again
 * what does not, import again).
 */
async function assertOutcome(d: TestDaemon, op: string, name: string, image: string, succeeded: boolean): Promise<void> {
  const status = (await d.berth(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim();
  if (op === 'create') {
    if (succeeded) assert.equal(status, 'created', 'a create that answered is durable');
    if (status === '') assert.equal((await d.berth(['create', '--name', name, 'busybox', 'sleep', '300'])).code, 0, 'the name is free again');
    const start = await d.berth(['start', name]);
    assert.equal(start.code, 0, `the created container starts: ${start.stderr}`);
  } else if (op === 'start') {
    if (succeeded) assert.equal(status, 'running', 'a start that answered is durable');
    assert.match(status, /^(created|running|exited)$/);
    const start = await d.berth(['start', name]);
    assert.equal(start.code, 0, `it starts (again): ${start.stderr}`);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', name])).stdout, 'running\n');
  } else if (op === 'rm') {
    if (succeeded) assert.equal(status, '', 'a removal that answered is durable');
    if (status) assert.equal((await d.berth(['rm', '-f', name])).code, 0, 'a removal cut short can be done again');
    assert.equal((await d.berth(['inspect', name])).code, 1);
  } else {
    const present = (await d.berth(['image', 'inspect', image])).code === 0;
    if (succeeded) assert.ok(present, `an ${op} that answered is durable`);
    if (!present) {
      const again = op === 'import' ? await d.berth(['import', await busyboxTar(), image]) : await d.berth(['load', '-i', path.join(d.dir, 'saved.tar')]);
      assert.equal(again.code, 0, `the ${op} can be done again: ${again.stderr}`);
    }
    const run = await d.berth(['run', '--rm', '--entrypoint', '/bin/echo', image, 'ok']);
    assert.equal(run.stdout, 'ok\n', `the ${op}ed image runs: ${run.stderr}`);
  }
}

/**
 * Every listed container inspects and has its directory, and every directory is listed; exactly the running
 * containers have a rootfs mount; no partial blobs; busybox and every other listed image inspect.
 */
async function assertConsistent(d: TestDaemon): Promise<void> {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();
  const running: string[] = [];
  for (const id of ids) {
    const r = await d.berth(['inspect', '-f', '{{.State.Status}}', id]);
    assert.equal(r.code, 0, r.stderr);
    if (/running|paused/.test(r.stdout)) running.push(id);
  }
  const dirs = (await fs.readdir(path.join(d.root, 'containers'))).sort();
  assert.deepEqual(dirs, ids, 'the containers on disk are exactly those listed');
  const mounted = [...new Set(mountsUnder(d.root).map((m) => m.split('/').slice(-2, -1)[0]!))].sort();
  assert.deepEqual(mounted, running.sort(), 'exactly the running containers have a rootfs mount');
  const ingest = await fs.readdir(path.join(d.root, 'content', 'ingest')).catch(() => []);
  assert.deepEqual(ingest, [], 'no partial blobs');
  const images = (await d.berth(['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const busybox = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
  assert.ok(images.includes(busybox), 'busybox is still listed');
  for (const img of images) assert.equal((await d.berth(['image', 'inspect', img])).code, 0, `image ${img} inspects`);
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
    // Four runs (the first and three restarts) end in four `die` events; the decision whether to restart
    // again is taken as the fourth is emitted, so the state read after it is final.
    const since = (await d.berth(['inspect', '-f', '{{.Created}}', 'crashy'])).stdout.trim();
    const count = async (action: string) => (await d.berth(['events', '--since', since, '--until', '0s', '--filter', 'container=crashy', '--filter', `event=${action}`, '--format', '{{.Action}}'])).stdout.split('\n').filter(Boolean).length;
    await waitFor(async () => (await count('die')) >= 4, 'the fourth run to die');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}}', 'crashy'])).stdout, 'exited 3 2 false\n');
    assert.equal(await count('start'), 4, 'started once and restarted three times');
    assert.equal(await count('die'), 4);
    await d.berth(['rm', '-f', 'crashy']);
  });

  it('brings back always containers at daemon start, but not a manually stopped unless-stopped one', async () => {
    await d.berth(['run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sleep', '300']);
    await d.berth(['run', '-d', '--name', 'uls', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
    assert.equal((await d.berth(['stop', '-t', '0', 'alw', 'uls'])).code, 0);
    await d.stopProcess();
    await d.startProcess();
    await waitFor(async () => (await d.berth(['inspect', '-f', '{{.State.Status}}', 'alw'])).stdout === 'running\n', 'the always container to run again');
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
    await waitFor(async () => (await status(name)) === want, `health of ${name} to be ${want}`);
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
