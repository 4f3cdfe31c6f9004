// Health probes run by berth-shim (no `runc exec` per probe): the probe process sees exactly what a
// `runc exec` process sees — user, groups, capabilities, seccomp, no_new_privs, cgroups, namespaces,
// cwd, env, rlimits — for several kinds of container; a hanging probe is killed with everything it
// started; a missing command is reported. Real runc and berth-shim, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { TestDaemon } from './harness.js';
import { waitFor } from './waits.js';

/** What a process can tell about itself, printed by busybox sh. */
const IDENTITY = [
  'id',
  'grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status',
  'cat /proc/self/cgroup',
  'for n in net mnt pid ipc uts cgroup; do readlink /proc/self/ns/$n; done',
  'pwd',
  'env | grep -v -E "^(PWD|SHLVL)=" | sort',
  'ulimit -Sn; ulimit -Hn; ulimit -Su',
  'hostname',
  'cat /proc/self/oom_score_adj',
  'echo ppid=$PPID',
].join('; ');

function api(socket: string, method: string, path: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode! < 300 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(Buffer.concat(chunks).toString()))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('health probes run by the shim', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  async function lastProbe(id: string): Promise<{ ExitCode: number; Output: string }> {
    const log = await waitFor(async () => {
      const l = JSON.parse((await d.berth(['inspect', '-f', '{{json .State.Health.Log}}', id])).stdout || 'null') as { ExitCode: number; Output: string }[] | null;
      return l?.length ? l : undefined;
    }, `a probe result of ${id}`);
    return log[log.length - 1]!;
  }

  const kinds: [string, string[]][] = [
    ['the defaults', []],
    ['a user with groups, fewer capabilities, rlimits, no-new-privileges, a working dir', ['--user', '1000:1000', '--group-add', '44', '--cap-drop', 'ALL', '--cap-add', 'NET_RAW', '--ulimit', 'nofile=1000:2000', '--ulimit', 'nproc=500:600', '--security-opt', 'no-new-privileges', '-w', '/tmp', '-e', 'X=1']],
    ['seccomp unconfined', ['--security-opt', 'seccomp=unconfined']],
    ['privileged', ['--privileged']],
    ['--init', ['--init']],
    ['a seccomp profile of its own (mkdir refused)', ['--security-opt', 'seccomp=PROFILE']],
  ];
  for (const [what, flags] of kinds) {
    it(`gives the probe what runc exec gives: ${what}`, async () => {
      const profile = path.join(d.dir, 'no-mkdir.json');
      await fs.writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
      const args = flags.map((f) => f.replace('PROFILE', profile));
      const cmd = `${IDENTITY}; mkdir /tmp/probe-dir-$$ 2>&1; echo mkdir=$?`;
      const run = await d.berth(['run', '-d', ...args, '--health-cmd', cmd, '--health-interval', '1s', 'busybox', 'sleep', '300']);
      assert.equal(run.code, 0, run.stderr);
      const id = run.stdout.trim();
      const probe = await lastProbe(id);
      assert.equal(probe.ExitCode, 0, probe.Output);
      const viaRunc = execFileSync('runc', ['--root', `${d.execRoot}/runc`, 'exec', id, 'sh', '-c', cmd]).toString();
      assert.equal(probe.Output.replace(/probe-dir-\d+/g, 'probe-dir'), viaRunc.replace(/probe-dir-\d+/g, 'probe-dir'));
      if (flags.includes('seccomp=PROFILE')) assert.match(probe.Output, /mkdir: can't create directory '\/tmp\/probe-dir-\d+': Operation not permitted\nmkdir=1\n$/);
      await d.berth(['rm', '-f', id]);
    });
  }

  it('runs the probe from the shim, not through runc', async () => {
    const run = await d.berth(['run', '-d', '--health-cmd', 'sleep 3', '--health-interval', '1s', '--health-timeout', '10s', 'busybox', 'sleep', '300']);
    const id = run.stdout.trim();
    const shimPid = Number(readFileSync(`${d.execRoot}/c/${id.slice(0, 16)}/shim.pid`, 'utf8'));
    let chain: string[] = [];
    for (let i = 0; i < 50 && !chain.length; i++) {
      await sleep(100);
      for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmd !== 'sleep\u00003\u0000') continue;
        // the probe's parent is a fork of the shim, whose parent is the shim
        const ppid = (pid: string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]!;
        const parent = ppid(p);
        chain = [readFileSync(`/proc/${parent}/comm`, 'utf8').trim(), ppid(parent)];
      }
    }
    assert.deepEqual(chain, ['berth-shim', String(shimPid)]);
    await d.berth(['rm', '-f', id]);
  });

  it('kills a hanging probe and what it started at the timeout', async () => {
    const run = await d.berth(['run', '-d', '--health-cmd', 'sleep 100 & sleep 101', '--health-interval', '500ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
    const id = run.stdout.trim();
    await waitFor(async () => (await d.berth(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout === 'unhealthy\n', 'the probe to time out');
    const probe = await lastProbe(id);
    assert.equal(probe.ExitCode, -1);
    assert.equal(probe.Output, 'Health check exceeded timeout (0.3s)');
    // Several more probes, each killed at its timeout: the failing streak counts them.
    const streak = async () => Number((await d.berth(['inspect', '-f', '{{.State.Health.FailingStreak}}', id])).stdout);
    const first = await streak();
    await waitFor(async () => (await streak()) >= first + 4, 'four more timed-out probes');
    const top = (await d.berth(['top', id])).stdout;
    // left: the container's sleep 300 and at most the probe of this very moment (sh's two sleeps)
    const stray = top.split('\n').filter((l) => / sleep 10[01]$/.test(l));
    assert.ok(stray.length <= 2, `probes killed at their timeout with what they started, none piling up:\n${top}`);
    await d.berth(['rm', '-f', id]);
  });

  it('reports a probe command that is not there', async () => {
    // HEALTHCHECK CMD ["no-such-probe"] (exec form: no shell), through the API
    const created = await api(d.socket, 'POST', '/containers/create', {
      Image: 'busybox',
      Cmd: ['sleep', '300'],
      Healthcheck: { Test: ['CMD', 'no-such-probe'], Interval: 1e9 },
    });
    const id = (JSON.parse(created) as { Id: string }).Id;
    await api(d.socket, 'POST', `/containers/${id}/start`);
    const probe = await lastProbe(id);
    assert.notEqual(probe.ExitCode, 0);
    assert.match(probe.Output, /exec: "no-such-probe": executable file not found in \$PATH/);
    await d.berth(['rm', '-f', id]);
  });
});
