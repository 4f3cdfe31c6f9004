// buildSpec against the real thing: bundles over a busybox rootfs run by runc with a private --root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './harness.js';
import type { HostConfig } from '../../src/api/types.js';
import { run } from '../../src/lib/exec.js';
import { buildSpec, type SpecInput } from '../../src/engine/runtime/spec.js';
import { resolveUser, type ResolvedUser } from '../../src/engine/runtime/user.js';
import { capabilityMask, DEFAULT_CAPABILITIES } from '../../src/engine/runtime/capabilities.js';
import { CGROUP_LIMITS } from '../support/cgroups.js';

const RUNC = '/usr/sbin/runc';
// berth's --init needs one of these (Debian's tini or catatonit).
const INIT = ['/usr/bin/tini-static', '/usr/bin/catatonit'].find((p) => existsSync(p));
const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const cgroupParent = `berth-test-${process.pid}`;

let tmp: string;
let rootfs: string;
let runcRoot: string;
let files: SpecInput['files'];
let seq = 0;
const started: string[] = [];

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-spec-runc-'));
  rootfs = path.join(tmp, 'rootfs');
  runcRoot = path.join(tmp, 'runc');
  await run(['sh', path.join(REPO, 'scripts/mkrootfs-busybox.sh'), rootfs]);
  files = { hostsPath: path.join(tmp, 'hosts'), resolvConfPath: path.join(tmp, 'resolv.conf'), hostnamePath: path.join(tmp, 'hostname') };
  await fs.writeFile(files.hostsPath, '127.0.0.1\tlocalhost\n');
  await fs.writeFile(files.resolvConfPath, 'nameserver 127.0.0.1\n');
  await fs.writeFile(files.hostnamePath, 'berth-h\n');
});

after(async () => {
  for (const id of started) await run([RUNC, '--root', runcRoot, 'delete', '--force', id], { allowFailure: true });
  await removeCgroups();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** runc removes a container's own cgroup when it exits; remove any leftovers and our parent. */
async function removeCgroups(): Promise<void> {
  // v1: one parent per controller hierarchy; v2: the one parent in the unified tree.
  for (const controller of [...(await fs.readdir('/sys/fs/cgroup')), '']) {
    const parent = path.join('/sys/fs/cgroup', controller, cgroupParent);
    if (!existsSync(parent)) continue;
    for (const child of await fs.readdir(parent, { withFileTypes: true })) {
      if (child.isDirectory()) await fs.rmdir(path.join(parent, child.name)).catch(() => undefined);
    }
    await fs.rmdir(parent).catch(() => undefined);
  }
}

interface RunOpts {
  hostConfig?: HostConfig;
  user?: ResolvedUser;
}

/** Run `sh -c script` in a fresh container; its combined output and exit code. */
async function runIn(script: string, opts: RunOpts = {}): Promise<{ out: string; code: number }> {
  const id = `berth-test-${process.pid}-${++seq}`;
  const bundle = path.join(tmp, id);
  await fs.mkdir(bundle);
  const hc = opts.hostConfig ?? {};
  const spec = buildSpec({
    id,
    rootfs,
    args: ['/bin/sh', '-c', `${script} 2>&1`],
    env: [],
    cwd: '/',
    user: opts.user ?? { uid: 0, gid: 0, additionalGids: [0] },
    tty: false,
    hostname: 'berth-h',
    hostConfig: hc,
    files,
    cgroupsPath: `/${cgroupParent}/${id}`,
    cgroupns: V2,
    initPath: INIT,
  });
  await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  started.push(id);
  const r = await run([RUNC, '--root', runcRoot, 'run', '--bundle', bundle, id], { allowFailure: true });
  await run([RUNC, '--root', runcRoot, 'delete', '--force', id], { allowFailure: true });
  return { out: r.stdout + r.stderr, code: r.exitCode };
}

test('user "app", "1000:1000" and group-add', async () => {
  const app = await runIn('id', { user: await resolveUser(rootfs, 'app') });
  assert.equal(app.out.trim(), 'uid=1000(app) gid=1000(app) groups=1000(app)');
  // the kernel keeps supplementary groups sorted
  const numeric = await runIn('id', { user: await resolveUser(rootfs, '1000:1000', ['nogroup', '4242']) });
  assert.equal(numeric.out.trim(), 'uid=1000(app) gid=1000(app) groups=1000(app),4242,65534(nogroup)');
});

test('capabilities: Docker default, drop ALL, add', async () => {
  const def = await runIn('grep CapEff /proc/self/status; chown 1000 /tmp && echo chown-ok');
  assert.match(def.out, /CapEff:\s+00000000a80425fb/);
  assert.match(def.out, /chown-ok/);
  const none = await runIn('grep CapEff /proc/self/status; chown 1000 /tmp && echo chown-ok', { hostConfig: { CapDrop: ['ALL'] } });
  assert.match(none.out, /CapEff:\s+0000000000000000/);
  assert.doesNotMatch(none.out, /chown-ok/);
  const added = await runIn('grep CapEff /proc/self/status', { hostConfig: { CapAdd: ['NET_ADMIN'] } });
  assert.match(added.out, new RegExp(`CapEff:\\s+${capabilityMask([...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'])}`));
});

test('seccomp filter by default, none when unconfined', async () => {
  assert.match((await runIn('grep Seccomp: /proc/self/status')).out, /Seccomp:\s+2/);
  assert.match((await runIn('grep Seccomp: /proc/self/status', { hostConfig: { SecurityOpt: ['seccomp=unconfined'] } })).out, /Seccomp:\s+0/);
});

test('hostname, masked /proc/kcore, read-only /proc/sys', async () => {
  const r = await runIn('hostname; echo kcore=$(cat /proc/kcore | wc -c); echo x > /proc/sys/kernel/hostname || echo refused; cat /etc/hostname');
  const lines = r.out.trim().split('\n');
  assert.equal(lines[0], 'berth-h');
  assert.match(r.out, /kcore=0\b/);
  assert.match(r.out, /refused/);
  assert.match(r.out, /Read-only file system/);
});

test('read-only rootfs refuses writes to / while a tmpfs accepts them', async () => {
  const r = await runIn('touch /newfile || echo root-refused; touch /scratch/ok && echo tmpfs-ok', { hostConfig: { ReadonlyRootfs: true, Tmpfs: { '/scratch': 'size=1m' } } });
  assert.match(r.out, /root-refused/);
  assert.match(r.out, /tmpfs-ok/);
});

test('memory, cpu and pids limits reach the cgroups', async () => {
  const limits = await runIn(CGROUP_LIMITS, { hostConfig: { Memory: 64 * 1024 * 1024, NanoCpus: 5e8, PidsLimit: 5 } });
  assert.equal(limits.out, `memory=${64 * 1024 * 1024} cpu=50000/100000 pids=5\n`);
  const pids = await runIn('i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); done; echo end', { hostConfig: { PidsLimit: 5 } });
  assert.match(pids.out, /can't fork|Resource temporarily unavailable/);
});

test('Init runs tini as pid 1', async () => {
  assert.ok(INIT, 'a static tini or catatonit is installed');
  const r = await runIn('tr "\\0" " " < /proc/1/cmdline; echo; echo ppid=$PPID', { hostConfig: { Init: true } });
  assert.match(r.out, /^\/sbin\/docker-init -- \/bin\/sh -c /);
  assert.match(r.out, /ppid=1\b/);
});

test('privileged: every capability the daemon holds, no seccomp, writable /proc/sys', async () => {
  const own = /^CapBnd:\s*(\S+)$/m.exec(await fs.readFile('/proc/self/status', 'utf8'))![1];
  const r = await runIn('grep -E "CapEff|Seccomp:" /proc/self/status; cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname && echo sys-rw', { hostConfig: { Privileged: true } });
  assert.match(r.out, new RegExp(`CapEff:\\s+${own}`));
  assert.match(r.out, /Seccomp:\s+0/);
  assert.match(r.out, /sys-rw/);
});
