// berthd killed with SIGKILL in the middle of everyday work, then started again: it starts every time,
// cleans what the crash left (mounts, runtime containers, shims, network namespaces and veths), every
// created container can start, and every running one is still managed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO, TestDaemon, context, mountsUnder, type RunResult } from './harness.js';

interface Inspect {
  Id: string;
  Name: string;
  State: { Status: string; Pid: number };
  NetworkSettings: { Networks: Record<string, { IPAddress: string; NetworkID: string }> };
}

/** A seeded generator (mulberry32), so a failing round can be replayed with CRASH_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shim processes of this daemon (their state dir is under its exec root), by the state dir's name. */
function shims(execRoot: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('berth-shim')) continue;
      const dir = argv.find((a) => a.startsWith(path.join(execRoot, 'c') + '/'));
      if (dir) out.set(path.basename(dir), Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** PIDs whose command line contains `text` (NUL-separated arguments). */
function processesOf(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Host ends of veth pairs enslaved to these bridges. */
function vethsOn(bridges: string[]): string[] {
  const out: string[] = [];
  for (const b of bridges) {
    const r = spawnSync('ip', ['-o', 'link', 'show', 'master', b], { encoding: 'utf8' });
    for (const line of r.stdout.split('\n')) {
      const name = /^\d+: ([^@:]+)/.exec(line)?.[1];
      if (name) out.push(name);
    }
  }
  return out;
}

/** Poll a condition (a state to reach, not a delay): true once it holds, false after `tries`. */
async function eventually(cond: () => boolean | Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('berthd killed during a build RUN step', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('starts again, unmounts what the step left mounted, ends the step, and logs what it cleaned', async () => {
    const ctx = await context({ Dockerfile: 'FROM busybox\nRUN echo step-started && sleep 987\n' });
    const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '-H', d.host, 'build', '-t', 'crash-build', ctx], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
    let out = '';
    const started = new Promise<void>((resolve) => {
      const see = (b: Buffer) => {
        out += String(b);
        // the step's own output ("#2 0.402 step-started"), not the step's name, which has the words too
        if (/(^|\n)(#\d+ [\d.]+ )?step-started\n/.test(out)) resolve();
      };
      child.stdout.on('data', see);
      child.stderr.on('data', see);
    });
    const ended = new Promise((r) => child.once('close', r));
    await started;
    const buildMounts = mountsUnder(path.join(d.root, 'build'));
    assert.ok(buildMounts.length > 0, 'the RUN step has its rootfs mounted');
    await d.stopProcess('SIGKILL');
    await ended;
    d.log = '';
    await d.startProcess();
    assert.deepEqual(mountsUnder(path.join(d.root, 'build')), [], 'nothing left mounted under the build dir');
    assert.match(d.log, /recovery: unmounted leftover .*\/build\/tmp\//);
    const runc = spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'list', '-q'], { encoding: 'utf8' });
    assert.equal(runc.stdout.trim(), '', 'no runtime container is left');
    assert.ok(await eventually(() => processesOf('sleep\x00987').length === 0), `the step's process is ended: ${processesOf('sleep\x00987').join(' ')}`);
    // And builds work again.
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo again > /again\n');
    const again = await d.berth(['build', '-q', '-t', 'crash-build', ctx]);
    assert.equal(again.code, 0, again.stderr);
    await fs.rm(ctx, { recursive: true, force: true });
  });

  it('starts again when a leftover cannot be removed, and cleans the others', async () => {
    // One leftover that resists removal (an immutable file), one mount left by a crash.
    const stuck = path.join(d.root, 'build', 'tmp', 'stuck');
    const mounted = path.join(d.root, 'build', 'tmp', 'left', 'rootfs');
    await fs.mkdir(stuck, { recursive: true });
    await fs.mkdir(mounted, { recursive: true });
    await fs.writeFile(path.join(stuck, 'immutable'), '');
    assert.equal(spawnSync('chattr', ['+i', path.join(stuck, 'immutable')]).status, 0);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mounted]).status, 0);
    try {
      await d.stopProcess('SIGKILL');
      d.log = '';
      await d.startProcess();
      assert.deepEqual(mountsUnder(path.join(d.root, 'build')), []);
      assert.match(d.log, /recovery: unmounted leftover .*\/build\/tmp\/left\/rootfs/);
      assert.equal((await d.berth(['run', '--rm', 'busybox', 'true'])).code, 0);
    } finally {
      spawnSync('chattr', ['-i', path.join(stuck, 'immutable')]);
      spawnSync('umount', [mounted]);
    }
  });
});

describe('crash rounds: SIGKILL at a random moment during mixed work', () => {
  let d: TestDaemon;
  let ctx: string;
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  const rand = random(seed);
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    ctx = await context({ Dockerfile: 'FROM busybox\nARG N\nRUN echo $N > /n && sleep 0.3\nRUN cat /n && sleep 0.3\n' });
  });
  after(async () => {
    await fs.rm(ctx, { recursive: true, force: true });
    await d.cleanup();
  });

  it('berthd starts every time, leaves nothing without its container, and still manages every container', async () => {
    process.stderr.write(`crash rounds: CRASH_SEED=${seed}\n`);
    for (let round = 0; round < 8; round++) {
      const ops: Promise<RunResult>[] = [
        d.docker(['run', '--rm', 'busybox', 'echo', 'hi']),
        d.docker(['run', '-d', '--name', `web${round}`, '-p', '127.0.0.1::80', 'busybox', 'sleep', '600']),
        d.docker(['network', 'create', `net${round}`]),
        d.docker(['volume', 'create', `vol${round}`]),
        d.docker(['run', '-d', '--name', `onnet${round}`, '--network', round ? `net${round - 1}` : 'bridge', '-v', `vol${round}:/data`, 'busybox', 'sleep', '600']),
        d.docker(['build', '-q', '--build-arg', `N=${seed}-${round}`, '-t', `img${round}`, ctx], { env: { DOCKER_BUILDKIT: '0' } }),
        d.docker(['create', '--name', `created${round}`, 'busybox', 'sleep', '600']),
      ];
      if (round > 0) ops.push(d.docker(['rm', '-f', `web${round - 1}`, `onnet${round - 1}`]));
      // The fault: a kill at a random moment of this work (not a wait for anything).
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 2500)));
      await d.stopProcess('SIGKILL');
      await Promise.all(ops);
      await d.startProcess(); // throws, with berthd's output, when it does not start
      await assertRecovered(d, round);
    }
  });
});

/** After a restart: every container accounted for, nothing left without its container. */
async function assertRecovered(d: TestDaemon, round: number): Promise<void> {
  const where = `round ${round}`;
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const inspect = async (): Promise<Inspect[]> => (ids.length ? (JSON.parse((await d.docker(['inspect', ...ids])).stdout) as Inspect[]) : []);
  // Every created container starts.
  for (const c of await inspect()) {
    if (c.State.Status !== 'created') continue;
    const r = await d.docker(['start', c.Id]);
    assert.equal(r.code, 0, `${where}: created container ${c.Name} does not start: ${r.stderr}`);
  }
  // A container that exited while berthd was down is reported running until its monitor, reconnected
  // at start, records the exit: wait for that, then every one still running must be alive.
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  let running: Inspect[] = [];
  const settled = await eventually(async () => {
    running = (await inspect()).filter((c) => c.State.Status === 'running');
    return running.every((c) => alive(c.State.Pid));
  });
  assert.ok(settled, `${where}: containers reported running whose process is gone: ${running.filter((c) => !alive(c.State.Pid)).map((c) => c.Name).join(' ')}`);
  // Every running one is still managed: berthd can exec in it.
  for (const c of running) {
    const r = await d.docker(['exec', c.Id, 'true']);
    assert.equal(r.code, 0, `${where}: exec in ${c.Name}: ${r.stderr}`);
  }
  const runningIds = new Set(running.map((c) => c.Id));
  // No runtime container, shim or mount without a running container.
  const runc = spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  assert.deepEqual(runc.filter((id) => !runningIds.has(id)), [], `${where}: runtime containers without a running container`);
  const stray = () => [...shims(d.execRoot).keys()].filter((dir) => ![...runningIds].some((id) => id.startsWith(dir)));
  assert.ok(await eventually(() => stray().length === 0), `${where}: shims without a running container: ${stray().join(' ')}`);
  const owns = (mp: string) => [...runningIds].some((id) => mp.includes(`/containers/${id}/`) || mp.endsWith(`/netns/${id.slice(0, 12)}`));
  const rootMounts = mountsUnder(d.root).filter((mp) => !owns(mp));
  assert.deepEqual(rootMounts, [], `${where}: mounts under the root without a running container`);
  // Network namespaces, veths and addresses (the networks service's reconciliation).
  const netns = mountsUnder(d.execRoot).filter((mp) => !owns(mp));
  assert.deepEqual(netns, [], `${where} [networks]: network namespaces without a running container`);
  const networks = JSON.parse((await d.docker(['network', 'inspect', ...(await d.docker(['network', 'ls', '-q'])).stdout.split('\n').filter(Boolean)])).stdout) as { Id: string; Driver: string; Options: Record<string, string> }[];
  const bridges = networks.filter((n) => n.Driver === 'bridge').map((n) => n.Options['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`);
  const endpoints = running.flatMap((c) => Object.values(c.NetworkSettings.Networks).filter((ep) => ep.IPAddress));
  assert.equal(vethsOn(bridges).length, endpoints.length, `${where} [networks]: veths on the bridges vs endpoints of running containers`);
  const addresses = endpoints.map((ep) => `${ep.NetworkID}/${ep.IPAddress}`);
  assert.equal(new Set(addresses).size, addresses.length, `${where} [networks]: an address handed out twice: ${addresses.join(' ')}`);
}
