// The berth CLI against a real dockerd: the reference engine at /run/docker-ref.sock when it answers, else a
// private dockerd (Debian's docker.io, which the test command installs) started for this file with busybox
// imported; removes every container and image it creates.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxTar, ping, PrivateDockerd } from './harness.js';

const SHARED_SOCKET = '/run/docker-ref.sock';
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PREFIX = `berth-it-${process.pid}`;
const CONTAINER = `${PREFIX}-c`;
const TAG = `${PREFIX}-img:v1`;

async function privateDockerd(): Promise<PrivateDockerd> {
  const ref = await PrivateDockerd.start();
  const imported = await ref.docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest']);
  if (imported.code !== 0) throw new Error(`docker import of busybox failed: ${imported.stderr}`);
  return ref;
}

const shared = existsSync(SHARED_SOCKET) && (await ping(SHARED_SOCKET));
const own = shared ? undefined : await privateDockerd();
const SOCKET = own ? own.socket : SHARED_SOCKET;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function berth(args: string[], input?: string | Buffer): Result {
  const r = spawnSync(process.execPath, [MAIN, '-H', `unix://${SOCKET}`, ...args], { input, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

after(async () => {
  berth(['rm', '-f', CONTAINER]);
  berth(['rmi', '-f', TAG]);
  await own?.stop();
});

test('run --rm prints the output and exits 0', () => {
  const r = berth(['run', '--rm', 'busybox', 'echo', 'hello']);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.status, 0);
});

test('run exits with the container status, stderr kept apart', () => {
  const r = berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.status, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('run -i pipes stdin and closes it at EOF', () => {
  const r = berth(['run', '-i', '--rm', 'busybox', 'cat'], 'hi\n');
  assert.equal(r.stdout, 'hi\n');
  assert.equal(r.status, 0);
});

test('run of a missing image: message and exit 125', () => {
  // A registry on 127.0.0.1 that is not there: the pull fails without leaving the machine.
  const r = berth(['run', '--rm', '127.0.0.1:1/nosuchimage']);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /^Unable to find image '127\.0\.0\.1:1\/nosuchimage:latest' locally\n/);
  assert.match(r.stderr, /berth: Error response from daemon: .*127\.0\.0\.1:1/);
});

test('run of a missing command exits 127', () => {
  const r = berth(['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(r.status, 127);
});

test('unknown flag: exit 125 with a hint', () => {
  const r = berth(['run', '--foo', 'busybox']);
  assert.equal(r.status, 125);
  assert.equal(r.stderr, "unknown flag: --foo\nSee 'berth run --help'.\n");
});

test('unknown command: exit 1', () => {
  const r = berth(['frobnicate']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "berth: 'frobnicate' is not a berth command.\nSee 'berth --help'\n");
});

test('a detached container: ps, logs, exec, inspect, stop, rm', () => {
  const run = berth(['run', '-d', '--name', CONTAINER, 'busybox', 'sh', '-c', 'echo started; sleep 30']);
  assert.equal(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);

  const quiet = berth(['ps', '-q', '--no-trunc']);
  assert.ok(quiet.stdout.split('\n').includes(id));
  const short = berth(['ps', '-a', '-q']);
  assert.ok(short.stdout.split('\n').includes(id.slice(0, 12)));

  const table = berth(['ps', '--filter', `name=${CONTAINER}`]);
  assert.equal(table.status, 0, table.stderr);
  const [header, row] = table.stdout.split('\n');
  assert.match(header ?? '', /^CONTAINER ID {3}IMAGE {5}COMMAND +CREATED +STATUS +PORTS +NAMES$/);
  assert.match(row ?? '', new RegExp(`^${id.slice(0, 12)}   busybox   "sh -c 'echo started…" .* Up .*${CONTAINER}$`));

  const formatted = berth(['ps', '--filter', `name=${CONTAINER}`, '--format', '{{.Names}} {{.State}}']);
  assert.equal(formatted.stdout, `${CONTAINER} running\n`);
  const json = berth(['ps', '--filter', `name=${CONTAINER}`, '--format', 'json']);
  assert.equal((JSON.parse(json.stdout) as { Names: string }).Names, CONTAINER);

  let logs = berth(['logs', CONTAINER]);
  for (let i = 0; i < 50 && logs.stdout === ''; i++) logs = berth(['logs', CONTAINER]);
  assert.equal(logs.stdout, 'started\n');

  const exec = berth(['exec', CONTAINER, 'sh', '-c', 'echo in-container; exit 4']);
  assert.equal(exec.stdout, 'in-container\n');
  assert.equal(exec.status, 4);
  assert.equal(berth(['exec', '-i', CONTAINER, 'cat'], 'piped\n').stdout, 'piped\n');

  const pid = berth(['inspect', '-f', '{{.State.Pid}}', CONTAINER]);
  assert.match(pid.stdout, /^[1-9]\d*\n$/);
  const raw = JSON.parse(berth(['container', 'inspect', CONTAINER]).stdout) as { Id: string }[];
  assert.equal(raw[0]?.Id, id);

  assert.equal(berth(['stop', '-t', '1', CONTAINER]).stdout, `${CONTAINER}\n`);
  assert.equal(berth(['ps', '-q', '--filter', `name=${CONTAINER}`]).stdout, '');
  assert.equal(berth(['rm', CONTAINER]).stdout, `${CONTAINER}\n`);
  const gone = berth(['rm', CONTAINER]);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /Error response from daemon: No such container/);
});

test('images, image inspect, history, tag and rmi', () => {
  const images = berth(['images']);
  assert.equal(images.status, 0, images.stderr);
  assert.match(images.stdout, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/);
  assert.match(images.stdout, /\nbusybox +latest +[0-9a-f]{12} /);
  const inspect = JSON.parse(berth(['image', 'inspect', 'busybox']).stdout) as { Id: string }[];
  assert.match(inspect[0]?.Id ?? '', /^sha256:/);
  const history = berth(['history', 'busybox']);
  assert.match(history.stdout, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n/);

  assert.equal(berth(['tag', 'busybox', TAG]).status, 0);
  const listed = berth(['images', '--format', '{{.Repository}}:{{.Tag}}', TAG.split(':')[0] ?? '']);
  assert.equal(listed.stdout, `${TAG}\n`);
  const rmi = berth(['rmi', TAG]);
  assert.equal(rmi.stdout, `Untagged: ${TAG}\n`);
});

test('save | load round trip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-it-'));
  try {
    assert.equal(berth(['tag', 'busybox', TAG]).status, 0);
    const archive = join(dir, 'img.tar');
    assert.equal(berth(['save', '-o', archive, TAG]).status, 0);
    assert.equal(berth(['rmi', TAG]).status, 0);
    const load = berth(['load', '-i', archive]);
    assert.equal(load.status, 0, load.stderr);
    assert.equal(load.stdout, `Loaded image: ${TAG}\n`);
    const piped = spawnSync(process.execPath, [MAIN, '-H', `unix://${SOCKET}`, 'save', TAG], { maxBuffer: 64 << 20 });
    const again = berth(['load'], piped.stdout);
    assert.equal(again.stdout, `Loaded image: ${TAG}\n`);
  } finally {
    berth(['rmi', TAG]);
    rmSync(dir, { recursive: true, force: true });
  }
});
