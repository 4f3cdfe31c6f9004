// berth-shim against real runc: the sync pipe, json-file logs with rotation, attach (stdcopy and
// tty), stdin, resize, wait, exec mode, kills, and life after the spawning process is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { run } from '../../src/lib/exec.js';

const RUNC = '/usr/sbin/runc';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHIM = path.join(REPO, 'src/shim/berth-shim');

let tmp: string;
let rootfs: string;
let runcRoot: string;
let seq = 0;
const containerIds: string[] = [];
const stateDirs: string[] = [];

before(async () => {
  await run(['make', '-s', '-C', path.join(REPO, 'src/shim')]);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-shim-'));
  rootfs = path.join(tmp, 'rootfs');
  runcRoot = path.join(tmp, 'runc');
  await run(['sh', path.join(REPO, 'scripts/mkrootfs-busybox.sh'), rootfs]);
});

after(async () => {
  for (const dir of stateDirs) await killShim(dir);
  for (const id of containerIds) await run([RUNC, '--root', runcRoot, 'delete', '--force', id], { allowFailure: true });
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Kill a shim left running by a failed test, by the pid it recorded (it ignores SIGTERM). */
async function killShim(stateDir: string): Promise<void> {
  const pid = Number(await fs.readFile(path.join(stateDir, 'shim.pid'), 'utf8').catch(() => '0'));
  if (!pid) return;
  const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (cmd.includes('berth-shim')) process.kill(pid, 'SIGKILL');
}

/** A bundle over the shared busybox rootfs, from `runc spec` with our args. */
async function makeBundle(args: string[], terminal = false): Promise<{ id: string; bundle: string }> {
  const id = `shimtest-${process.pid}-${++seq}`;
  const bundle = path.join(tmp, `b${seq}`);
  await fs.mkdir(bundle);
  await run([RUNC, 'spec', '--bundle', bundle]);
  const file = path.join(bundle, 'config.json');
  const spec = JSON.parse(await fs.readFile(file, 'utf8')) as { process: { args: string[]; terminal: boolean }; root: object };
  spec.process.args = args;
  spec.process.terminal = terminal;
  spec.root = { path: rootfs, readonly: false };
  await fs.writeFile(file, JSON.stringify(spec));
  containerIds.push(id);
  return { id, bundle };
}

interface Shim {
  child: ChildProcess;
  stateDir: string;
  /** Resolves once attach.sock listens. */
  ready: Promise<void>;
  /** The container process's pid, or a rejection with the shim's error message. */
  pid: Promise<number>;
}

interface ShimFlags {
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  waitAttach?: boolean;
  log?: { maxSize: number; maxFile: number };
}

function shimArgv(id: string, stateDir: string, mode: string[], f: ShimFlags): string[] {
  const argv = ['--id', id, '--state-dir', stateDir, ...mode, '--runtime', RUNC, '--runtime-root', runcRoot];
  if (f.tty) argv.push('--tty');
  if (f.stdin) argv.push('--stdin');
  if (f.stdinOnce) argv.push('--stdin-once');
  if (f.waitAttach) argv.push('--wait-attach');
  if (f.log) argv.push('--log-path', path.join(stateDir, 'log.json'), '--log-max-size', String(f.log.maxSize), '--log-max-file', String(f.log.maxFile));
  return argv;
}

/** Newline-delimited JSON from the sync pipe. */
async function* syncMessages(stream: Readable): AsyncGenerator<Record<string, unknown>> {
  let buf = '';
  for await (const chunk of stream) {
    buf += String(chunk);
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      yield JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
    }
  }
}

/** Spawn the shim the way berthd does: detached, stdio ignored, fd 3 the sync pipe. */
async function spawnShim(id: string, mode: string[], f: ShimFlags = {}): Promise<Shim> {
  const stateDir = path.join(tmp, `s${++seq}`);
  await fs.mkdir(stateDir);
  stateDirs.push(stateDir);
  const child = spawn(SHIM, shimArgv(id, stateDir, mode, f), { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const messages = syncMessages(child.stdio[3] as Readable);
  const ready = messages.next().then((m) => assert.deepEqual(m.value, { ready: true }));
  const pid = ready.then(async () => {
    const m = await messages.next();
    if (m.done) throw new Error('shim closed the sync pipe without a pid');
    if (typeof m.value.error === 'string') throw new Error(m.value.error);
    const end = await messages.next();
    assert.equal(end.done, true, 'the sync pipe is closed after the pid');
    return Number(m.value.pid);
  });
  pid.catch(() => undefined);
  return { child, stateDir, ready, pid };
}

async function createContainer(args: string[], f: ShimFlags = {}): Promise<{ id: string; shim: Shim }> {
  const { id, bundle } = await makeBundle(args, f.tty);
  const shim = await spawnShim(id, ['--bundle', bundle], f);
  await shim.pid;
  return { id, shim };
}

/** `runc start`. A command that exits at once can have its shim delete the container (fifo included)
 *  before runc start removed the exec fifo: that start did happen (ShimRuntime.start's exitedDuringStart). */
const startContainer = async (id: string): Promise<void> => {
  const r = await run([RUNC, '--root', runcRoot, 'start', id], { allowFailure: true });
  if (r.exitCode !== 0 && !/exec\.fifo: no such file or directory/.test(r.stderr)) throw new Error(`runc start ${id}: ${r.stderr}`);
};

interface Conn {
  sock: net.Socket;
  /** Everything the shim sent, once it closed the connection. */
  received: Promise<Buffer>;
}

/** Connect to attach.sock and send a header; collect what comes back until the shim closes. */
function connect(stateDir: string, header: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(path.join(stateDir, 'attach.sock'));
    const chunks: Buffer[] = [];
    const received = new Promise<Buffer>((res, rej) => {
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('close', () => res(Buffer.concat(chunks)));
      sock.on('error', rej);
    });
    received.catch(() => undefined);
    sock.once('connect', () => {
      sock.write(header + '\n');
      sock.off('error', reject);
      resolve({ sock, received });
    });
    sock.once('error', reject);
  });
}

interface ExitStatus {
  exitCode: number;
  signal: string | null;
  finishedAt: string;
}

/** A connected `wait` client; `status` resolves with the exit JSON line the shim answers. */
async function waitClient(stateDir: string): Promise<{ status: Promise<ExitStatus> }> {
  const { received } = await connect(stateDir, 'wait');
  const status = received.then((buf) => {
    const text = buf.toString();
    assert.match(text, /^\{.*\}\n$/, 'one JSON line');
    return JSON.parse(text) as ExitStatus;
  });
  status.catch(() => undefined);
  return { status };
}


/** Resolve when the shim process itself has exited. */
async function shimGone(shim: Shim): Promise<void> {
  if (shim.child.exitCode === null && shim.child.signalCode === null) await new Promise((r) => shim.child.once('exit', r));
}

/** Split Docker stdcopy frames into per-stream text. */
function demux(buf: Buffer): { stdout: string; stderr: string; frames: number } {
  const out = { stdout: '', stderr: '', frames: 0 };
  let off = 0;
  while (off < buf.length) {
    assert.ok(off + 8 <= buf.length, 'a whole frame header');
    const stream = buf[off]!;
    assert.deepEqual([...buf.subarray(off + 1, off + 4)], [0, 0, 0]);
    const len = buf.readUInt32BE(off + 4);
    const payload = buf.subarray(off + 8, off + 8 + len).toString();
    assert.ok(stream === 1 || stream === 2, `stream byte ${stream}`);
    if (stream === 1) out.stdout += payload;
    else out.stderr += payload;
    off += 8 + len;
    out.frames++;
  }
  return out;
}

const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z';

async function readExitFile(stateDir: string): Promise<ExitStatus> {
  return JSON.parse(await fs.readFile(path.join(stateDir, 'exit.json'), 'utf8')) as ExitStatus;
}

async function runcContainerExists(id: string): Promise<boolean> {
  const r = await run([RUNC, '--root', runcRoot, 'state', id], { allowFailure: true });
  return r.exitCode === 0;
}

test('echo hello: exit 0, exact json-file line, attach before start sees the output', async () => {
  const { id, shim } = await createContainer(['echo', 'hello'], { log: { maxSize: 0, maxFile: 1 } });
  assert.equal(Number(await fs.readFile(path.join(shim.stateDir, 'shim.pid'), 'utf8')), shim.child.pid);
  const att = await connect(shim.stateDir, 'attach stdout stderr');
  const exit = (await waitClient(shim.stateDir)).status;
  await startContainer(id);
  assert.deepEqual(await exit, await readExitFile(shim.stateDir));
  assert.equal((await exit).exitCode, 0);
  assert.equal((await exit).signal, null);
  assert.match((await exit).finishedAt, new RegExp(`^${TIME}$`));
  assert.deepEqual(demux(await att.received), { stdout: 'hello\n', stderr: '', frames: 1 });
  const log = await fs.readFile(path.join(shim.stateDir, 'log.json'), 'utf8');
  assert.match(log, new RegExp(`^\\{"log":"hello\\\\n","stream":"stdout","time":"${TIME}"\\}\\n$`));
  await shimGone(shim);
  assert.equal(existsSync(path.join(shim.stateDir, 'attach.sock')), false, 'attach.sock removed');
  assert.equal(await runcContainerExists(id), false, 'runc container deleted');
});

test('log text is escaped like Docker json-file; partial last line is its own record', async () => {
  const fmt = 'a<b>&"\\\\\\t\\001\\377\\303\\251\\342\\200\\250\\r\\033[1mX\\nno newline';
  const { id, shim } = await createContainer(['printf', fmt], { log: { maxSize: 0, maxFile: 1 } });
  const exit = await waitClient(shim.stateDir);
  await startContainer(id);
  assert.equal((await exit.status).exitCode, 0);
  const lines = (await fs.readFile(path.join(shim.stateDir, 'log.json'), 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 2);
  // byte-for-byte what dockerd 20.10 writes for the same output
  const dockerd = String.raw`{"log":"a\u003cb\u003e\u0026\"\\\u0009\u0001\ufffdé\u2028\r\u001b[1mX\n","stream":"stdout","time":"`;
  assert.ok(lines[0]!.startsWith(dockerd), lines[0]);
  assert.equal((JSON.parse(lines[1]!) as { log: string }).log, 'no newline');
});

test('exit code 3 reaches exit.json and wait clients', async () => {
  const { id, shim } = await createContainer(['sh', '-c', 'exit 3']);
  const waits = [await waitClient(shim.stateDir), await waitClient(shim.stateDir)];
  await startContainer(id);
  for (const w of waits) assert.equal((await w.status).exitCode, 3);
  assert.equal((await readExitFile(shim.stateDir)).exitCode, 3);
});

test('stdout and stderr stay separate in stdcopy frames and in the log', async () => {
  const { id, shim } = await createContainer(['sh', '-c', 'echo out; echo err >&2; echo out2'], { log: { maxSize: 0, maxFile: 1 } });
  const both = await connect(shim.stateDir, 'attach stdout stderr');
  const errOnly = await connect(shim.stateDir, 'attach stderr');
  const exit = await waitClient(shim.stateDir);
  await startContainer(id);
  assert.equal((await exit.status).exitCode, 0);
  const b = demux(await both.received);
  assert.equal(b.stdout, 'out\nout2\n');
  assert.equal(b.stderr, 'err\n');
  assert.deepEqual(demux(await errOnly.received), { stdout: '', stderr: 'err\n', frames: 1 });
  const records = (await fs.readFile(path.join(shim.stateDir, 'log.json'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { log: string; stream: string });
  assert.deepEqual(records.filter((r) => r.stream === 'stderr').map((r) => r.log), ['err\n']);
  assert.deepEqual(records.filter((r) => r.stream === 'stdout').map((r) => r.log), ['out\n', 'out2\n']);
});

test('stdin: cat echoes what the client wrote and exits when the client half-closes', async () => {
  const { id, shim } = await createContainer(['cat'], { stdin: true, stdinOnce: true });
  await startContainer(id);
  const att = await connect(shim.stateDir, 'attach stdin stdout stderr');
  const exit = await waitClient(shim.stateDir);
  att.sock.write('ping\n');
  att.sock.end('pong\n');
  const got = demux(await att.received);
  assert.equal(got.stdout, 'ping\npong\n');
  assert.equal(got.stderr, '');
  assert.equal((await exit.status).exitCode, 0);
});

test('tty: raw output, input through the pty, resize then stty size', async () => {
  const { id, shim } = await createContainer(['sh', '-c', 'read line; echo "got $line"; stty size'], { tty: true, stdin: true, log: { maxSize: 0, maxFile: 1 } });
  const resize = await connect(shim.stateDir, 'resize 30 100');
  assert.equal((await resize.received).toString(), 'ok\n');
  const att = await connect(shim.stateDir, 'attach stdin stdout stderr');
  const exit = await waitClient(shim.stateDir);
  await startContainer(id);
  att.sock.write('abc\n');
  assert.equal((await exit.status).exitCode, 0);
  const out = (await att.received).toString();
  assert.match(out, /got abc\r\n30 100\r\n/);
  assert.notEqual((await att.received)[0], 1, 'no stdcopy header with a tty');
  const records = (await fs.readFile(path.join(shim.stateDir, 'log.json'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { log: string; stream: string });
  assert.ok(records.every((r) => r.stream === 'stdout'));
  assert.match(records.map((r) => r.log).join(''), /30 100\r\n$/);
});

test('exec mode with --wait-attach runs a second process; runc kill gives 137 SIGKILL; RSS is small', async (t) => {
  const { id, shim } = await createContainer(['sleep', '30']);
  await startContainer(id);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${shim.child.pid}/status`, 'utf8'))![1]);
  t.diagnostic(`berth-shim VmRSS with a running container: ${rss} kB`);
  assert.ok(rss < 1536, `shim RSS ${rss} kB`);

  const processFile = path.join(tmp, `process${seq}.json`);
  const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  await fs.writeFile(processFile, JSON.stringify({ args: ['sh', '-c', 'echo hi; echo oops >&2'], cwd: '/', env, user: { uid: 0, gid: 0 }, terminal: false }));
  const exec = await spawnShim(id, ['--exec', processFile], { waitAttach: true });
  await exec.ready;
  const execExit = await waitClient(exec.stateDir); // a `wait` client alone does not start the exec
  const att = await connect(exec.stateDir, 'attach stdout stderr');
  assert.ok((await exec.pid) > 0);
  assert.equal((await execExit.status).exitCode, 0);
  const out = demux(await att.received);
  assert.deepEqual([out.stdout, out.stderr], ['hi\n', 'oops\n']);
  await shimGone(exec);
  assert.equal(await runcContainerExists(id), true, 'an exec shim leaves the container alone');

  const exit = await waitClient(shim.stateDir);
  await run([RUNC, '--root', runcRoot, 'kill', id, 'KILL']);
  const status = await exit.status;
  assert.deepEqual({ exitCode: status.exitCode, signal: status.signal }, { exitCode: 137, signal: 'SIGKILL' });
  await shimGone(shim);
  assert.equal(await runcContainerExists(id), false);
});

test('runc failure is reported as {"error"} on the sync pipe', async () => {
  const { id, bundle } = await makeBundle(['/no/such/binary']);
  const shim = await spawnShim(id, ['--bundle', bundle]);
  await assert.rejects(shim.pid, /no such file or directory/);
  await shimGone(shim);
  assert.equal(shim.child.exitCode, 1);
});

test('log rotation: ~5 MB of output with max-size 100000 and max-file 3', async () => {
  const { id, shim } = await createContainer(['seq', '1', '700000'], { log: { maxSize: 100000, maxFile: 3 } });
  const exit = await waitClient(shim.stateDir);
  await startContainer(id);
  assert.equal((await exit.status).exitCode, 0);
  const names = (await fs.readdir(shim.stateDir)).filter((n) => n.startsWith('log.json')).sort();
  assert.deepEqual(names, ['log.json', 'log.json.1', 'log.json.2']);
  for (const n of names) {
    const text = await fs.readFile(path.join(shim.stateDir, n), 'utf8');
    assert.ok(Buffer.byteLength(text) <= 100000, `${n} is ${Buffer.byteLength(text)} bytes`);
    for (const line of text.trimEnd().split('\n')) JSON.parse(line);
  }
  const current = (await fs.readFile(path.join(shim.stateDir, 'log.json'), 'utf8')).trimEnd().split('\n');
  assert.equal((JSON.parse(current.at(-1)!) as { log: string }).log, '700000\n', 'nothing lost at the end');
  const older = (await fs.readFile(path.join(shim.stateDir, 'log.json.1'), 'utf8')).trimEnd().split('\n');
  const lastOlder = Number((JSON.parse(older.at(-1)!) as { log: string }).log);
  const firstCurrent = Number((JSON.parse(current[0]!) as { log: string }).log);
  assert.equal(firstCurrent, lastOlder + 1, 'rotation keeps the records in order');
});

test('the shim keeps working after the process that spawned it is gone', async () => {
  const { id, bundle } = await makeBundle(['cat'], false);
  const stateDir = path.join(tmp, `s${++seq}`);
  await fs.mkdir(stateDir);
  stateDirs.push(stateDir);
  // A short-lived "berthd": spawns the shim like berthd, reports its pid and the container's, then is killed.
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn(process.argv[1], JSON.parse(process.argv[2]), { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let buf = '';
    c.stdio[3].on('data', (d) => { buf += d; if (buf.includes('"pid"')) console.log(JSON.stringify({ shim: c.pid, sync: buf })); });
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script, SHIM, JSON.stringify(shimArgv(id, stateDir, ['--bundle', bundle], { stdin: true, stdinOnce: true }))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  const { shim: shimPid, sync } = JSON.parse(line) as { shim: number; sync: string };
  assert.match(sync, /^\{"ready":true\}\n\{"pid":\d+\}\n$/);
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));

  const stat = (await fs.readFile(`/proc/${shimPid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  assert.notEqual(Number(stat[1]), parent.pid, 'reparented away from the dead parent');
  assert.equal(Number(stat[3]), shimPid, 'the shim leads its own session');
  await startContainer(id);
  const att = await connect(stateDir, 'attach stdin stdout');
  const exit = await waitClient(stateDir);
  att.sock.end('still here\n');
  assert.equal(demux(await att.received).stdout, 'still here\n');
  assert.equal((await exit.status).exitCode, 0);
});
