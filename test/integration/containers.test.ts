// The foundation, as a user sees it through the berth CLI: import, run, ps, logs, exec, stop, rm,
// and the bad inputs. Real runc, real overlayfs, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO, TestDaemon, mountsUnder, runCmd } from './harness.js';
import { waitFor } from './waits.js';
import { CGROUP_LIMITS, statsOnce } from '../support/cgroups.js';

describe('containers', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('runs a command and exits with its code', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.code, 0);
    const code = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(code.code, 3);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '', '--rm removed the containers');
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('pipes stdin with -i', async () => {
    const r = await d.berth(['run', '-i', '--rm', 'busybox', 'cat'], { input: 'hi there\n' });
    assert.equal(r.stdout, 'hi there\n');
    assert.equal(r.code, 0);
  });

  it('resolves -u names through the image and sets -w and -e', async () => {
    const r = await d.berth(['run', '--rm', '-u', 'app', '-w', '/tmp/x', '-e', 'A=1', 'busybox', 'sh', '-c', 'id -u; pwd; echo $A']);
    assert.equal(r.stdout, '1000\n/tmp/x\n1\n');
    const e = await d.berth(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
    assert.equal(e.stdout, 'from entrypoint\n');
  });

  it('serves a detached container: ps, logs, exec, top, stop, rm', async () => {
    const run = await d.berth(['run', '-d', '--name', 'web', '-e', 'GREETING=hi', '-l', 'tier=front', 'busybox', 'sh', '-c', 'echo started; exec httpd -f -p 8080']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await d.berth(['ps']);
    assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'echo started…"\\s+.*Up .*\\s+web\\n`));
    assert.equal((await d.berth(['ps', '-q', '--filter', 'label=tier=front'])).stdout, id.slice(0, 12) + '\n');
    const imageId = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    for (const ancestor of ['busybox', 'busybox:latest', imageId.slice(7, 19)]) {
      assert.equal((await d.berth(['ps', '-q', '--filter', `ancestor=${ancestor}`])).stdout, id.slice(0, 12) + '\n', ancestor);
    }
    assert.equal((await d.berth(['ps', '-q', '--filter', 'status=exited', '--filter', 'name=web'])).stdout, '');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}} {{.Name}} {{index .Config.Labels "tier"}}', 'web'])).stdout, 'true /web front\n');
    const pid = Number((await d.berth(['inspect', '-f', '{{.State.Pid}}', 'web'])).stdout);
    assert.ok(pid > 0);
    assert.equal((await d.berth(['exec', 'web', 'sh', '-c', 'echo $GREETING'])).stdout, 'hi\n');
    assert.equal((await d.berth(['exec', 'web', 'sh', '-c', 'exit 5'])).code, 5);
    const served = await d.berth(['exec', 'web', 'wget', '-qO-', 'http://127.0.0.1:8080/etc/hostname']);
    assert.equal(served.stdout, `${id.slice(0, 12)}\n`, `exec wget reaches the container's own server: ${served.stderr}`);
    assert.equal(served.code, 0);
    assert.equal((await d.berth(['logs', 'web'])).stdout, 'started\n');
    assert.match((await d.berth(['logs', '-t', 'web'])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started\n$/);
    assert.match((await d.berth(['top', 'web'])).stdout, /httpd -f -p 8080/);
    const stop = await d.berth(['stop', '-t', '2', 'web']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match((await d.berth(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^web Exited \(\d+\) /m);
    assert.equal(mountsUnder(d.root).length, 0, 'a stopped container has no rootfs mount');
    assert.equal((await d.berth(['rm', 'web'])).code, 0);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  });

  it('follows logs until the container exits', async () => {
    const id = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done'])).stdout.trim();
    const r = await d.berth(['logs', '-f', id]);
    assert.equal(r.stdout, 'line1\nline2\nline3\n');
    assert.equal((await d.berth(['logs', '--tail', '1', id])).stdout, 'line3\n');
    assert.equal((await d.berth(['wait', id])).stdout, '0\n');
    await d.berth(['rm', id]);
  });

  it('pauses, renames, kills, restarts', async () => {
    await d.berth(['run', '-d', '--name', 'p1', 'busybox', 'sleep', '300']);
    assert.equal((await d.berth(['pause', 'p1'])).code, 0);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'p1'])).stdout, 'paused\n');
    assert.equal((await d.berth(['unpause', 'p1'])).code, 0);
    assert.equal((await d.berth(['rename', 'p1', 'p2'])).code, 0);
    assert.equal((await d.berth(['inspect', '-f', '{{.Name}}', 'p2'])).stdout, '/p2\n');
    const before = (await d.berth(['inspect', '-f', '{{.State.StartedAt}}', 'p2'])).stdout;
    assert.equal((await d.berth(['restart', '-t', '1', 'p2'])).code, 0);
    assert.notEqual((await d.berth(['inspect', '-f', '{{.State.StartedAt}}', 'p2'])).stdout, before);
    assert.equal((await d.berth(['kill', '-s', 'KILL', 'p2'])).code, 0);
    assert.equal((await d.berth(['wait', 'p2'])).stdout, '137\n');
    await d.berth(['rm', 'p2']);
  });

  it('attaches, and detaches with ctrl-p ctrl-q leaving the container running', async () => {
    await d.berth(['run', '-d', '-i', '--name', 'catter', 'busybox', 'cat']);
    const r = await d.berth(['attach', 'catter'], { input: Buffer.concat([Buffer.from('hello\n'), Buffer.from([0x10, 0x11])]), timeoutMs: 10_000 });
    assert.equal(r.code, 0);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'catter'])).stdout, 'running\n');
    assert.equal((await d.berth(['logs', 'catter'])).stdout, 'hello\n');
    await d.berth(['rm', '-f', 'catter']);
  });

  it('reports stats from the container cgroup, its memory limit included', async () => {
    await d.berth(['run', '-d', '--name', 'st', '-m', '64m', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while true; do :; done']);
    const r = await d.berth(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}', 'st']);
    const [name, mem, pids, cpu] = r.stdout.trim().split('|');
    assert.equal(name, 'st');
    assert.match(mem!, /^[1-9][\d.]*[KMG]iB \/ 64MiB$/, 'some memory in use, out of the 64 MiB limit');
    assert.equal(pids, '1');
    assert.match(cpu!, /^\d+\.\d\d%$/);
    assert.ok(parseFloat(cpu!) > 0, `a busy loop uses CPU (got ${cpu})`);
    // --cpus 0.5 is a CFS quota: the busy loop gets throttled (how close to 50% it stays is bench/'s business).
    await waitFor(async () => (await statsOnce(d, 'st')).cpu_stats.throttling_data.throttled_periods > 0, 'throttled CPU periods of a container with --cpus 0.5');
    const limits = await d.berth(['exec', 'st', 'sh', '-c', CGROUP_LIMITS]);
    assert.match(limits.stdout, /^memory=67108864 cpu=50000\/100000 /, limits.stderr);
    assert.match((await d.berth(['stats', '--no-stream'])).stdout, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n/);
    await d.berth(['rm', '-f', 'st']);
  });

  it('lists past events with --since/--until, filters and --format', async () => {
    await d.berth(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
    const r = await d.berth(['events', '--since', '1m', '--until', '0s', '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    for (const action of ['create', 'start', 'die', 'destroy']) assert.ok(lines.includes(`container ${action} evt`), `${action} in ${r.stdout}`);
    const plain = await d.berth(['events', '--since', '1m', '--until', '0s', '--filter', 'event=destroy', '--filter', 'container=evt']);
    assert.match(plain.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container destroy [0-9a-f]{64} \(.*name=evt.*\)\n$/);
  });

  it('updates limits of a running container in its cgroup, and refuses bad ones', async () => {
    await d.berth(['run', '-d', '--name', 'upd', '-m', '64m', 'busybox', 'sleep', '300']);
    assert.equal((await d.berth(['update', '-m', '128m', '--cpus', '0.5', '--pids-limit', '20', 'upd'])).stdout, 'upd\n');
    const cg = await d.berth(['exec', 'upd', 'sh', '-c', CGROUP_LIMITS]);
    assert.equal(cg.stdout, 'memory=134217728 cpu=50000/100000 pids=20\n', cg.stderr);
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', 'upd'])).stdout, '134217728 500000000 20\n');
    const bad = await d.berth(['update', '-m', '1m', 'upd']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
    await d.berth(['rm', '-f', 'upd']);
  });

  it('reports a container killed for exceeding --memory as OOMKilled with exit code 137', async () => {
    const r = await d.berth(['run', '--name', 'oom', '-m', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'x=$(yes | head -c 40000000); echo survived']);
    assert.equal(r.code, 137);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom'])).stdout, 'true 137\n');
    await d.berth(['rm', 'oom']);
  });

  it('rotates json-file logs within max-size × max-file, and reads across the rotated files', async () => {
    const id = (await d.berth(['run', '-d', '--log-opt', 'max-size=100k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 40000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'])).stdout.trim();
    assert.equal((await d.berth(['wait', id])).stdout, '0\n');
    const dir = path.join(d.root, 'containers', id);
    const files = (await fs.readdir(dir)).filter((f) => f.startsWith(`${id}-json.log`));
    assert.deepEqual(files.sort(), [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    for (const f of files) assert.ok((await fs.stat(path.join(dir, f))).size <= 100_000, `${f} within max-size`);
    const logs = (await d.berth(['logs', id])).stdout.trim().split('\n');
    assert.match(logs[logs.length - 1]!, /^line-39999-/);
    const nums = logs.map((l) => Number(/^line-(\d+)-/.exec(l)![1]));
    assert.ok(nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), 'oldest to newest, nothing missing in between');
    await d.berth(['rm', id]);
    const none = (await d.berth(['run', '-d', '--log-driver', 'none', 'busybox', 'echo', 'x'])).stdout.trim();
    await d.berth(['wait', none]);
    const r = await d.berth(['logs', none]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /configured logging driver does not support reading/);
    await d.berth(['rm', none]);
  });

  it('gives a TTY with -t', async () => {
    const cli = `${process.execPath} ${REPO}/dist/src/cli/main.js -H ${d.host}`;
    const r = await runCmd(['script', '-qec', `${cli} run --rm -t busybox sh -c 'tty; stty size'`, '/dev/null']);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
  });

  it('refuses bad input with clear errors', async () => {
    // A registry on 127.0.0.1 that is not there: the pull fails without leaving the machine.
    const missing = await d.berth(['run', '--rm', '127.0.0.1:1/nosuchimage']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /Unable to find image '127\.0\.0\.1:1\/nosuchimage:latest' locally/);
    assert.match(missing.stderr, /127\.0\.0\.1:1/);
    await d.berth(['create', '--name', 'dup', 'busybox', 'true']);
    const dup = await d.berth(['create', '--name', 'dup', 'busybox', 'true']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /Conflict\. The container name "\/dup" is already in use by container "[0-9a-f]{64}"/);
    await d.berth(['rm', 'dup']);
    await d.berth(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '300']);
    const rm = await d.berth(['rm', 'busy']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
    assert.equal((await d.berth(['rm', '-f', 'busy'])).code, 0);
    const flag = await d.berth(['run', '--no-such-flag', 'busybox']);
    assert.equal(flag.code, 125);
    assert.match(flag.stderr, /unknown flag: --no-such-flag/);
    const notfound = await d.berth(['run', '--rm', 'busybox', 'no-such-binary']);
    assert.equal(notfound.code, 127);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
    assert.match((await d.berth(['inspect', 'nothing'])).stderr, /No such object: nothing|No such container: nothing/);
  });
});
