// The container runtime contract (src/engine/runtime/runtime.ts): what any Runtime must do, against real
// runc and a busybox rootfs. runtimeSuite(name, make) registers node:test tests; `make(stateDir)` builds
// the implementation over a state directory, and is called again on the same directory to check that a
// new runtime object (berthd restarted) finds the containers an earlier one created.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { NotFound } from '../../src/lib/errors.js';
import { run } from '../../src/lib/exec.js';
import type { Runtime } from '../../src/engine/runtime/runtime.js';
import type { OciSpec } from '../../src/engine/runtime/spec.js';

const RUNC = '/usr/sbin/runc';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface SuiteOptions {
  /** A module exporting `makeRuntime(stateDir)`: lets the suite create a container from a child process
   *  and kill that process (berthd crashing) before the container exits. */
  factoryModule?: string;
}

export function runtimeSuite(name: string, make: (stateDir: string) => Runtime, opts: SuiteOptions = {}): void {
  describe(`runtime contract: ${name}`, () => {
    let tmp: string;
    let rootfs: string;
    let stateDir: string;
    let rt: Runtime;
    let seq = 0;
    const ids: string[] = [];
    const cgroupParent = `/berth-contract-${process.pid}`;

    before(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-rtc-'));
      rootfs = path.join(tmp, 'rootfs');
      stateDir = path.join(tmp, 'state');
      await run(['sh', path.join(REPO, 'scripts/mkrootfs-busybox.sh'), rootfs]);
      rt = make(stateDir);
    });

    after(async () => {
      for (const id of ids) await make(stateDir).delete(id, { force: true }).catch(() => undefined);
      await removeCgroups(cgroupParent);
      await fs.rm(tmp, { recursive: true, force: true });
    });

    /** A bundle from `runc spec` over the shared rootfs; ids differ in their first 16 characters. */
    async function bundle(args: string[], edit: (s: OciSpec) => void = () => undefined): Promise<{ id: string; bundle: string; spec: OciSpec }> {
      const id = `c${String(++seq).padStart(3, '0')}-${process.pid}-contract`;
      const dir = path.join(tmp, `b${seq}`);
      await fs.mkdir(dir);
      await run([RUNC, 'spec', '--bundle', dir]);
      const spec = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as OciSpec;
      spec.process.args = args;
      spec.process.terminal = false;
      spec.root = { path: rootfs, readonly: false };
      spec.linux.cgroupsPath = `${cgroupParent}/${id}`;
      edit(spec);
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(spec));
      ids.push(id);
      return { id, bundle: dir, spec };
    }

    /** A container started with an attach made before its start: running as `pid`, its first line seen
     *  on the attach, and killed with SIGKILL's status. */
    async function seenRunningThenKilled(id: string, pid: number, stream: Duplex): Promise<void> {
      const out = readAll(stream);
      const st = await rt.state(id);
      assert.equal(st.status, 'running');
      assert.equal(st.pid, pid);
      await rt.kill(id, 'KILL');
      assert.equal(demux(await out).stdout, 'first\n');
      assert.equal((await rt.wait(id))?.exitCode, 137);
    }

    async function started(args: string[], edit?: (s: OciSpec) => void, probe?: string[]): Promise<{ id: string; spec: OciSpec; pid: number }> {
      const b = await bundle(args, edit);
      const pid = await rt.create(b.id, { bundle: b.bundle, spec: b.spec, tty: false, stdin: false, stdinOnce: false, probe: probe && { args: probe } });
      await rt.start(b.id);
      return { id: b.id, spec: b.spec, pid };
    }

    it('create then start: the container runs, with a pid', async () => {
      const b = await bundle(['sleep', '100']);
      const pid = await rt.create(b.id, { bundle: b.bundle, spec: b.spec, tty: false, stdin: false, stdinOnce: false });
      assert.ok(pid > 0);
      assert.equal((await rt.state(b.id)).status, 'created');
      await rt.start(b.id);
      const st = await rt.state(b.id);
      assert.equal(st.status, 'running');
      assert.equal(st.pid, pid);
      assert.ok(existsSync(`/proc/${pid}`));
      assert.ok((await rt.pids(b.id)).includes(pid));
      await rt.kill(b.id, 'KILL');
      assert.equal((await rt.wait(b.id))?.exitCode, 137);
    });

    it('wait reports the exit code', async () => {
      const c = await started(['sh', '-c', 'exit 7']);
      const st = await rt.wait(c.id);
      assert.equal(st?.exitCode, 7);
      assert.ok(st?.finishedAt);
    });

    it('kill: SIGTERM → 143, SIGKILL → 137', async () => {
      // Sharing the host's PID namespace, sleep is not a PID 1 (which has no default signal actions).
      const hostPid = (s: OciSpec) => (s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'pid'));
      const term = await started(['sleep', '100'], hostPid);
      await rt.kill(term.id, 'TERM');
      assert.equal((await rt.wait(term.id))?.exitCode, 143);
      const kill = await started(['sleep', '100']);
      await rt.kill(kill.id, 'SIGKILL', true);
      assert.equal((await rt.wait(kill.id))?.exitCode, 137);
    });

    it('run: a foreground container (a build step) streams its output, returns its exit code and is gone', async () => {
      const b = await bundle(['sh', '-c', 'echo out; echo err >&2; exit 5']);
      let out = '';
      let err = '';
      const code = await rt.run(b.id, { bundle: b.bundle, stdout: (c) => (out += c), stderr: (c) => (err += c) });
      assert.equal(code, 5);
      assert.equal(out, 'out\n');
      assert.equal(err, 'err\n');
      await assert.rejects(rt.state(b.id), NotFound);
    });

    it('run: an aborted signal stops the container', async () => {
      const b = await bundle(['sleep', '100']);
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 300);
      const code = await rt.run(b.id, { bundle: b.bundle, stdout: () => undefined, stderr: () => undefined, signal: ac.signal });
      assert.notEqual(code, 0);
      assert.ok(Date.now() - t0 < 10_000, 'stopped within the 2 s grace, not after sleep 100');
      await assert.rejects(rt.state(b.id), NotFound);
    });

    it('exec runs in the container: its output and exit code', async () => {
      const c = await started(['sleep', '100']);
      const p = await rt.exec(c.id, {
        execId: `x-${c.id}`,
        process: { ...c.spec.process, args: ['sh', '-c', 'echo out-$(hostname); echo err >&2; cat /proc/1/cmdline; exit 3'] },
        tty: false,
        stdin: false,
        attach: { stdin: false, stdout: true, stderr: true },
      });
      assert.ok((await p.pid) > 0);
      const output = demux(await readAll(p.stream!));
      assert.equal((await p.wait())?.exitCode, 3);
      assert.equal(output.stdout, 'out-runc\nsleep\x00100\x00');
      assert.equal(output.stderr, 'err\n');
      await rt.kill(c.id, 'KILL');
      await rt.wait(c.id);
    });

    it('exec of a missing executable fails with the reason', async () => {
      const c = await started(['sleep', '100']);
      const p = await rt.exec(c.id, { execId: `y-${c.id}`, process: { ...c.spec.process, args: ['/nosuch'] }, tty: false, stdin: false });
      await assert.rejects(p.pid, /nosuch/);
      await rt.kill(c.id, 'KILL');
      await rt.wait(c.id);
    });

    it('update changes a cgroup limit', async () => {
      const c = await started(['sleep', '100'], (s) => (s.linux.resources = { ...s.linux.resources, pids: { limit: 100 } }));
      const file = (await cgroupV2()) ? `/sys/fs/cgroup${cgroupParent}/${c.id}/pids.max` : `/sys/fs/cgroup/pids${cgroupParent}/${c.id}/pids.max`;
      assert.equal((await fs.readFile(file, 'utf8')).trim(), '100');
      await rt.update(c.id, { pids: { limit: 42 } });
      assert.equal((await fs.readFile(file, 'utf8')).trim(), '42');
      await rt.kill(c.id, 'KILL');
      await rt.wait(c.id);
    });

    it('pause and resume', async () => {
      const c = await started(['sleep', '100']);
      await rt.pause(c.id);
      assert.equal((await rt.state(c.id)).status, 'paused');
      await rt.resume(c.id);
      assert.equal((await rt.state(c.id)).status, 'running');
      await rt.kill(c.id, 'KILL');
      await rt.wait(c.id);
    });

    it('delete removes the container; a running one only with force', async () => {
      const b = await bundle(['sleep', '100']);
      await rt.create(b.id, { bundle: b.bundle, spec: b.spec, tty: false, stdin: false, stdinOnce: false });
      await rt.delete(b.id);
      await assert.rejects(rt.state(b.id), NotFound);

      const c = await started(['sleep', '100']);
      await assert.rejects(rt.delete(c.id));
      assert.equal((await rt.state(c.id)).status, 'running');
      await rt.delete(c.id, { force: true });
      await assert.rejects(rt.state(c.id), NotFound);
      assert.equal((await rt.wait(c.id))?.exitCode, 137);
      await rt.delete(c.id, { force: true }); // an unknown id is fine with force
    });

    it('state of an unknown container: NotFound', async () => {
      await assert.rejects(rt.state('no-such-container'), NotFound);
    });

    it('attach before start sees the output from the first byte', async () => {
      const b = await bundle(['echo', 'first']);
      await rt.create(b.id, { bundle: b.bundle, spec: b.spec, tty: false, stdin: false, stdinOnce: false });
      const stream = await rt.attach(b.id, { stdin: false, stdout: true, stderr: true });
      const out = readAll(stream);
      await rt.start(b.id);
      assert.equal(demux(await out).stdout, 'first\n');
      assert.equal((await rt.wait(b.id))?.exitCode, 0);
    });

    for (const probe of [undefined, ['true']]) {
      it(`create with startNow${probe ? ' (and a probe)' : ''}: an attach made in beforeStart sees the first byte; the pid is a running container's`, async () => {
        const b = await bundle(['sh', '-c', 'echo first; sleep 100']);
        let stream: Duplex | undefined;
        const pid = await rt.create(b.id, {
          bundle: b.bundle,
          spec: b.spec,
          tty: false,
          stdin: false,
          stdinOnce: false,
          probe: probe && { args: probe },
          startNow: {
            beforeStart: async () => {
              stream = await rt.attach(b.id, { stdin: false, stdout: true, stderr: true });
            },
          },
        });
        await seenRunningThenKilled(b.id, pid, stream!);
      });
    }

    it('create with startNow: a failing beforeStart leaves no container; a missing executable fails the create', async () => {
      const b = await bundle(['true']);
      const opts = { bundle: b.bundle, spec: b.spec, tty: false, stdin: false, stdinOnce: false };
      await assert.rejects(rt.create(b.id, { ...opts, startNow: { beforeStart: () => Promise.reject(new Error('no attach')) } }), /no attach/);
      await assert.rejects(rt.state(b.id), NotFound);
      await waitUntil(async () => !(await rt.monitored(b.id)));
      const c = await bundle(['no-such-program']);
      await assert.rejects(rt.create(c.id, { ...opts, bundle: c.bundle, spec: c.spec, startNow: {} }), /no-such-program/);
      await assert.rejects(rt.state(c.id), NotFound);
    });

    it('create with startNow while the bundle is still being written: started once it is; a bundle that fails leaves nothing', async () => {
      const b = await bundle(['sh', '-c', 'echo first; sleep 100']);
      const config = path.join(b.bundle, 'config.json');
      const text = await fs.readFile(config, 'utf8');
      await fs.rm(config); // read before the promise resolves, the create would fail
      const spec = (async () => {
        await new Promise((r) => setTimeout(r, 200));
        await fs.writeFile(config, text);
        return b.spec;
      })();
      let stream: Duplex | undefined;
      const common = { tty: false, stdin: false, stdinOnce: false };
      const pid = await rt.create(b.id, {
        ...common,
        bundle: b.bundle,
        spec,
        cgroupsPath: b.spec.linux.cgroupsPath,
        startNow: {
          beforeStart: async () => {
            stream = await rt.attach(b.id, { stdin: false, stdout: true, stderr: true });
          },
        },
      });
      await seenRunningThenKilled(b.id, pid, stream!);
      const c = await bundle(['true']);
      const failed = Promise.reject(new Error('no bundle'));
      await assert.rejects(rt.create(c.id, { ...common, bundle: c.bundle, spec: failed, cgroupsPath: c.spec.linux.cgroupsPath, startNow: {} }), /no bundle/);
      await assert.rejects(rt.state(c.id), NotFound);
      await waitUntil(async () => !(await rt.monitored(c.id)));
    });

    it('wait: onExit hears the status first; wait resolves once the id can be used again', async () => {
      // The process exits only once stdin brings a line, sent after the wait connected.
      const b = await bundle(['sh', '-c', 'read x; exit 3']);
      const opts = { bundle: b.bundle, spec: b.spec, tty: false, stdin: true, stdinOnce: true, startNow: {} };
      await rt.create(b.id, opts);
      let early: number | undefined;
      const waited = rt.wait(b.id, { onExit: (s) => (early = s.exitCode) });
      const stream = await rt.attach(b.id, { stdin: true, stdout: false, stderr: false });
      stream.end('go\n');
      assert.equal((await waited)?.exitCode, 3);
      assert.equal(early, 3);
      await assert.rejects(rt.state(b.id), NotFound);
      // the same id at once
      assert.ok((await rt.create(b.id, { ...opts, stdin: false, stdinOnce: false })) > 0);
      assert.equal((await rt.wait(b.id))?.exitCode, 3);
    });

    for (const prepared of [true, false]) {
      it(`probe${prepared ? ' (prepared at create)' : ''}: exit code, output, timeout`, async () => {
        const cmd = ['sh', '-c', 'echo healthy-$(id -u); [ -e /tmp/slow ] && sleep 10; exit 2'];
        await fs.rm(path.join(rootfs, 'tmp/slow'), { force: true }); // the rootfs is shared
        const c = await started(['sleep', '100'], undefined, prepared ? cmd : undefined);
        assert.deepEqual(await rt.probe(c.id, cmd, 10_000), { exitCode: 2, output: 'healthy-0\n', timedOut: false });
        // another command than the prepared one runs too
        assert.deepEqual(await rt.probe(c.id, ['sh', '-c', 'echo other; touch /tmp/slow'], 10_000), { exitCode: 0, output: 'other\n', timedOut: false });
        const slow = await rt.probe(c.id, cmd, 300);
        assert.equal(slow.timedOut, true);
        assert.equal(slow.exitCode, -1);
        await rt.kill(c.id, 'KILL');
        await rt.wait(c.id);
      });
    }

    it('a new runtime object over the same state finds a container and its exit code', async () => {
      const c = await started(['sh', '-c', 'sleep 1; exit 5']);
      const again = make(stateDir);
      assert.equal(await again.monitored(c.id), true);
      assert.equal((await again.state(c.id)).status, 'running');
      assert.equal((await again.wait(c.id))?.exitCode, 5);
      // ...and after the monitor is gone, from what it recorded.
      await waitUntil(async () => !(await again.monitored(c.id)));
      assert.equal((await make(stateDir).wait(c.id))?.exitCode, 5);
    });

    it('the monitor survives the loss of the process that created the container', { skip: !opts.factoryModule }, async () => {
      const b = await bundle(['sh', '-c', 'sleep 2; exit 9']);
      const script = `
        const { makeRuntime } = await import(${JSON.stringify(opts.factoryModule)});
        const spec = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(path.join(b.bundle, 'config.json'))}, 'utf8'));
        const rt = makeRuntime(${JSON.stringify(stateDir)});
        await rt.create(${JSON.stringify(b.id)}, { bundle: ${JSON.stringify(b.bundle)}, spec, tty: false, stdin: false, stdinOnce: false });
        await rt.start(${JSON.stringify(b.id)});
        console.log('started');
        setInterval(() => undefined, 1000);`;
      const child = spawn(process.execPath, ['--input-type=commonjs', '-e', `(async () => { ${script} })()`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => String(d).includes('started') && resolve());
        child.once('exit', (code) => reject(new Error(`creator exited (${code})`)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const later = make(stateDir);
      assert.equal((await later.state(b.id)).status, 'running');
      assert.equal((await later.wait(b.id))?.exitCode, 9);
    });
  });
}

function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** stdcopy frames (8-byte header: stream, 0, 0, 0, big-endian length) → the two streams. */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    const text = buf.subarray(i + 8, i + 8 + len).toString();
    if (buf[i] === 2) out.stderr += text;
    else out.stdout += text;
    i += 8 + len;
  }
  return out;
}

async function waitUntil(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function cgroupV2(): Promise<boolean> {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** runc removes a container's cgroup when it is deleted; remove leftovers and our parent. */
async function removeCgroups(parent: string): Promise<void> {
  for (const controller of [...(await fs.readdir('/sys/fs/cgroup')), '']) {
    const dir = path.join('/sys/fs/cgroup', controller, parent);
    if (!existsSync(dir)) continue;
    for (const child of await fs.readdir(dir, { withFileTypes: true })) {
      if (child.isDirectory()) await fs.rmdir(path.join(dir, child.name)).catch(() => undefined);
    }
    await fs.rmdir(dir).catch(() => undefined);
  }
}
