// berth on cgroup v2 (Debian 12's default): layout detection, each container in its own cgroup of the
// unified tree and in a private cgroup namespace (as Docker there), stats from the v2 files, the v2
// freezer for pause, exec and health probes inside the container's cgroup. On a v1 or hybrid host the file
// runs itself in a private mount namespace with cgroup2 mounted on /sys/fs/cgroup (test/support/cgroup2.ts).
// Limits (memory, pids, cpu) need those controllers in the v2 tree: containers.test.ts and
// spec-runc.test.ts check them from the files of whichever layout the host has.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { TestDaemon } from './harness.js';
import { waitFor } from './waits.js';
import { statsOnce } from '../support/cgroups.js';
import { runUnderCgroup2, v2Controllers } from '../support/cgroup2.js';

// Before any test is declared: the outer process only waits for the inner one.
runUnderCgroup2();

describe('cgroup v2', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  const cgroupDir = (id: string) => `/sys/fs/cgroup/berth/${id}`;
  /** The unified hierarchy's line of /proc/<pid>/cgroup (a hybrid host lists its v1 hierarchies too). */
  const unified = (text: string) => text.split('\n').find((l) => l.startsWith('0::'));

  it('berthd detects the v2 layout', async () => {
    assert.equal((await d.berth(['info', '-f', '{{.CgroupVersion}} {{.CgroupDriver}}'])).stdout, '2 cgroupfs\n');
  });

  it('puts a container in its own cgroup of the unified tree and removes it with the container', async () => {
    const id = (await d.berth(['run', '-d', 'busybox', 'sleep', '600'])).stdout.trim();
    const pid = Number((await d.berth(['inspect', '-f', '{{.State.Pid}}', id])).stdout);
    assert.equal(unified(readFileSync(`/proc/${pid}/cgroup`, 'utf8')), `0::/berth/${id}`);
    assert.ok(readFileSync(`${cgroupDir(id)}/cgroup.procs`, 'utf8').split('\n').includes(String(pid)));
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
    assert.equal(existsSync(cgroupDir(id)), false, 'the container’s cgroup went with it');
  });

  it('gives the container a private cgroup namespace: it sees its own cgroup as the root, never the host’s tree', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'grep ^0:: /proc/self/cgroup; ls /sys/fs/cgroup']);
    assert.equal(r.code, 0, r.stderr);
    const [self, ...files] = r.stdout.trim().split('\n');
    assert.equal(self, '0::/');
    assert.ok(files.includes('cgroup.procs'), r.stdout);
    assert.ok(!files.includes('berth'), `the host's cgroups are not visible: ${r.stdout}`);
  });

  it('runs exec and health probes inside the container’s cgroup namespace', async () => {
    const run = await d.berth(['run', '-d', '--name', 'hc2', '--health-cmd', 'grep -qx 0::/ /proc/self/cgroup', '--health-interval', '200ms', 'busybox', 'sleep', '600']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(unified((await d.berth(['exec', 'hc2', 'cat', '/proc/self/cgroup'])).stdout), '0::/');
    await waitFor(async () => (await d.berth(['inspect', '-f', '{{.State.Health.Status}}', 'hc2'])).stdout === 'healthy\n', 'the probe to see 0::/ as its cgroup');
    assert.equal((await d.berth(['rm', '-f', 'hc2'])).code, 0);
  });

  it('reads CPU stats from cpu.stat of the container’s v2 cgroup', async () => {
    const id = (await d.berth(['run', '-d', '--name', 'busy2', 'busybox', 'sh', '-c', 'while :; do :; done'])).stdout.trim();
    const first = await statsOnce(d, 'busy2');
    const usec = () => Number(/^usage_usec (\d+)$/m.exec(readFileSync(`${cgroupDir(id)}/cpu.stat`, 'utf8'))![1]);
    const later = await waitFor(async () => {
      const s = await statsOnce(d, 'busy2');
      return s.cpu_stats.cpu_usage.total_usage > first.cpu_stats.cpu_usage.total_usage ? s : undefined;
    }, 'the CPU usage of a busy loop to grow');
    // The API reports nanoseconds; cpu.stat counts microseconds, read after the sample.
    assert.ok(later.cpu_stats.cpu_usage.total_usage <= usec() * 1000, 'total_usage comes from cpu.stat');
    assert.ok(later.cpu_stats.cpu_usage.usage_in_usermode > 0);
    const cli = await d.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}}', 'busy2']);
    assert.match(cli.stdout, /^busy2 \d+\.\d\d%\n$/);
    assert.ok(parseFloat(cli.stdout.split(' ')[1]!) > 0, cli.stdout);
    assert.equal((await d.berth(['rm', '-f', 'busy2'])).code, 0);
  });

  it('applies memory, pids and cpu limits in the v2 files, or drops those the v2 tree cannot apply with dockerd’s warnings', async () => {
    // A host decides which controllers its v2 tree has (this project's hybrid CI machine: none of these).
    const offered = new Set(v2Controllers());
    const r = await d.berth(['run', '--name', 'lim2', '-m', '64m', '--pids-limit', '20', '--cpu-shares', '512', 'busybox', 'sh', '-c', 'for f in memory.max pids.max cpu.weight; do cat /sys/fs/cgroup/$f 2>&1; done; exit 0']);
    assert.equal(r.code, 0, r.stderr);
    const [mem, pids, weight] = r.stdout.trim().split('\n');
    if (offered.has('memory')) assert.equal(mem, '67108864');
    else {
      assert.match(r.stderr, /WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted\. Limitation discarded\./);
      assert.match(mem!, /memory\.max'?: No such file or directory/);
    }
    if (offered.has('pids')) assert.equal(pids, '20');
    else {
      assert.match(r.stderr, /WARNING: Your kernel does not support PIDs limit capabilities or the cgroup is not mounted\. PIDs limit discarded\./);
      assert.match(pids!, /pids\.max'?: No such file or directory/);
    }
    if (offered.has('cpu')) assert.equal(weight, '20', 'runc maps 512 shares to weight 20');
    else {
      assert.match(r.stderr, /WARNING: Your kernel does not support CPU shares or the cgroup is not mounted\. Shares discarded\./);
      const cpus = await d.berth(['run', '--rm', '--cpus', '0.5', 'busybox', 'true']);
      assert.equal(cpus.code, 125);
      assert.match(cpus.stderr, /NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted/);
    }
    assert.equal((await d.berth(['rm', 'lim2'])).code, 0);
    // update on a running container: the same rule.
    assert.equal((await d.berth(['run', '-d', '--name', 'upd2', 'busybox', 'sleep', '600'])).code, 0);
    const upd = await d.berth(['update', '--pids-limit', '30', 'upd2']);
    assert.equal(upd.code, 0, upd.stderr);
    if (offered.has('pids')) assert.equal((await d.berth(['exec', 'upd2', 'cat', '/sys/fs/cgroup/pids.max'])).stdout, '30\n');
    else assert.match(upd.stdout, /^upd2\nYour kernel does not support PIDs limit capabilities or the cgroup is not mounted\. PIDs limit discarded\./);
    assert.equal((await d.berth(['rm', '-f', 'upd2'])).code, 0);
  });

  it('pauses with the v2 freezer (cgroup.freeze) and unpauses', async () => {
    const id = (await d.berth(['run', '-d', '--name', 'frz', 'busybox', 'sleep', '600'])).stdout.trim();
    assert.equal((await d.berth(['pause', 'frz'])).code, 0);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'frz'])).stdout, 'paused\n');
    assert.equal(readFileSync(`${cgroupDir(id)}/cgroup.freeze`, 'utf8'), '1\n');
    assert.match(readFileSync(`${cgroupDir(id)}/cgroup.events`, 'utf8'), /^frozen 1$/m);
    assert.equal((await d.berth(['unpause', 'frz'])).code, 0);
    assert.equal(readFileSync(`${cgroupDir(id)}/cgroup.freeze`, 'utf8'), '0\n');
    assert.match((await d.berth(['top', 'frz'])).stdout, /sleep 600/);
    assert.equal((await d.berth(['rm', '-f', 'frz'])).code, 0);
  });
});
