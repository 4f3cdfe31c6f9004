// `berth compose down|stop|start|restart|kill|rm|pause|unpause` on a real project (issue 11 items 5 and
// 8): the order Compose v2 keeps (dependents stopped first, dependencies started first) as the engine's
// event stream records it, what each removes (-v volumes, --rmi local built images only, one-off
// containers with --remove-orphans), --dry-run changing nothing, and `down -p NAME` with no file.
// Real runc, a private berthd, busybox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { TestDaemon, context, type RunResult } from './harness.js';

const P = 'lc';
const FILE = `
name: lc
services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: ["data:/data", "/scratch"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 300ms
  web:
    image: busybox
    depends_on:
      db:
        condition: service_healthy
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
volumes:
  data: {}
`;

describe('compose lifecycle: down, stop, start, restart, kill, rm, pause, unpause', () => {
  let d: TestDaemon;
  let dir: string;
  let empty: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'compose.yaml': FILE });
    empty = await context({});
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(empty, { recursive: true, force: true });
    await d.cleanup();
  });

  const ok = (r: RunResult): string => {
    assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const compose = (args: string[], input?: string) => d.compose(dir, args, { input });
  const up = async () => ok(await d.compose(dir, ['up', '-d']));
  /** name → state of the project's containers, from the engine (by label). */
  const states = async (): Promise<Record<string, string>> => {
    const out = ok(await d.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${P}`, '--format', '{{.Names}} {{.State}}']));
    return Object.fromEntries(out.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  };
  const volumes = async () => ok(await d.docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])).trim().split('\n').filter(Boolean);
  const networks = async () => ok(await d.docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])).trim().split('\n').filter(Boolean);
  /** The project's container events of one kind since `since` (ns), in the order the engine emitted them. */
  const eventOrder = async (since: bigint, event: string): Promise<string[]> => {
    const args = ['events', '--since', String(since / 1_000_000_000n - 1n), '--until', String(Math.ceil(Date.now() / 1000) + 1)];
    const filters = ['--filter', `label=com.docker.compose.project=${P}`, '--filter', `event=${event}`];
    const out = ok(await d.docker([...args, ...filters, '--format', '{{.TimeNano}} {{.Actor.Attributes.name}}']));
    return out.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]).filter(([t]) => BigInt(t) >= since).map(([, name]) => name);
  };
  const now = () => BigInt(Date.now()) * 1_000_000n;
  /** The anonymous volume mounted at `dest` in a container. */
  const anonymousVolume = async (container: string, dest: string) =>
    ok(await d.docker(['inspect', '-f', `{{range .Mounts}}{{if eq .Destination "${dest}"}}{{.Name}}{{end}}{{end}}`, container])).trim();

  it('stop takes dependents down first, start brings dependencies up first', async () => {
    await up();
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
    const t0 = now();
    const stop = await compose(['stop']);
    ok(stop);
    assert.match(stop.stderr, /Container lc-web-1 +Stopping/);
    assert.match(stop.stderr, /Container lc-db-1 +Stopped/);
    assert.deepEqual(await states(), { 'lc-db-1': 'exited', 'lc-web-1': 'exited' });
    assert.deepEqual(await eventOrder(t0, 'die'), ['lc-web-1', 'lc-db-1']);
    const t1 = now();
    const start = await compose(['start']);
    ok(start);
    assert.match(start.stderr, /Container lc-db-1 +Started/);
    assert.match(start.stderr, /Container lc-db-1 +Healthy/, 'web waited for db to be healthy');
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
    assert.deepEqual(await eventOrder(t1, 'start'), ['lc-db-1', 'lc-web-1']);
  });

  it('stop and start name services; start of a service starts what it depends on', async () => {
    ok(await compose(['stop', 'db', 'web']));
    ok(await compose(['start', 'web']));
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
    ok(await compose(['stop', 'web']));
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'exited' });
    ok(await compose(['start']));
  });

  it('restart restarts the named service only (no restart: true dependents), and all of them unnamed', async () => {
    const t0 = now();
    const r = await compose(['restart', 'db']);
    ok(r);
    assert.match(r.stderr, /Container lc-db-1 +Restarting/);
    assert.match(r.stderr, /Container lc-db-1 +Started/);
    assert.deepEqual(await eventOrder(t0, 'restart'), ['lc-db-1']);
    const t1 = now();
    ok(await compose(['restart', '-t', '1']));
    assert.deepEqual(await eventOrder(t1, 'restart'), ['lc-db-1', 'lc-web-1']);
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
  });

  it('pause and unpause', async () => {
    const p = await compose(['pause', 'web']);
    ok(p);
    assert.match(p.stderr, /Container lc-web-1 +Paused/);
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'paused' });
    const u = await compose(['unpause']);
    ok(u);
    assert.match(u.stderr, /Container lc-web-1 +Unpaused/);
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
  });

  it('kill sends SIGKILL by default, -s another signal', async () => {
    const k = await compose(['kill', 'web']);
    ok(k);
    assert.match(k.stderr, /Container lc-web-1 +Killed/);
    assert.equal(ok(await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'lc-web-1'])).trim(), '137');
    ok(await compose(['kill', '-s', 'SIGTERM', 'db']));
    // db's shell traps TERM and exits 0
    assert.equal(ok(await d.docker(['wait', 'lc-db-1'])).trim(), '0');
    const none = await compose(['kill']);
    ok(none);
    assert.match(none.stderr, /no container to kill/);
  });

  it('rm asks first, -f removes the stopped containers, -v their anonymous volumes', async () => {
    const before = await volumes();
    const refused = await compose(['rm', 'db'], 'n\n');
    ok(refused);
    assert.match(refused.stdout, /Going to remove lc-db-1/);
    assert.equal(Object.keys(await states()).length, 2);
    const anon = await anonymousVolume('lc-db-1', '/scratch');
    assert.ok(anon, 'db has an anonymous volume at /scratch');
    const r = await compose(['rm', '-f', '-v']);
    ok(r);
    assert.match(r.stdout, /Going to remove lc-db-1, lc-web-1|Going to remove lc-web-1, lc-db-1/);
    assert.match(r.stderr, /Container lc-db-1 +Removed/);
    assert.deepEqual(await states(), {});
    const left = ok(await d.docker(['volume', 'ls', '-q'])).split('\n');
    assert.ok(!left.includes(anon), 'the anonymous volume went with -v');
    assert.deepEqual(await volumes(), before, 'the named volume stays');
    const again = await compose(['rm', '-f']);
    ok(again);
    assert.match(again.stderr, /No stopped containers/);
  });

  it('rm -s stops first', async () => {
    await up();
    ok(await compose(['rm', '-s', '-f', 'web']));
    assert.deepEqual(await states(), { 'lc-db-1': 'running' });
  });

  it('down --dry-run changes nothing', async () => {
    await up();
    const r = await compose(['--dry-run', 'down', '-v']);
    ok(r);
    assert.match(r.stderr, /DRY-RUN MODE - +Container lc-web-1 +Removed/);
    assert.deepEqual(await states(), { 'lc-db-1': 'running', 'lc-web-1': 'running' });
    assert.equal((await networks()).length, 1);
  });

  it('down -p NAME with no compose file: dependents first, network removed, named volume kept', async () => {
    const t0 = now();
    const r = await d.compose(empty, ['-p', P, 'down']);
    ok(r);
    assert.match(r.stderr, /Container lc-web-1 +Removed/);
    assert.match(r.stderr, /Network lc_default +Removed/);
    assert.doesNotMatch(r.stderr, /Volume/);
    assert.deepEqual(await eventOrder(t0, 'die'), ['lc-web-1', 'lc-db-1']);
    assert.deepEqual(await states(), {});
    assert.deepEqual(await networks(), []);
    assert.equal((await volumes()).length, 1);
    // COMPOSE_PROJECT_NAME names the project when there is no file, as -p does
    const nothing = await d.compose(empty, ['down'], { env: { COMPOSE_PROJECT_NAME: P } });
    ok(nothing);
    assert.match(nothing.stderr, /No resource found to remove for project "lc"/);
  });

  it('down -v removes named and anonymous volumes', async () => {
    await up();
    const anon = await anonymousVolume('lc-db-1', '/scratch');
    const r = await compose(['down', '-v']);
    ok(r);
    assert.match(r.stderr, /Volume lc_data +Removed/);
    assert.deepEqual(await volumes(), []);
    assert.deepEqual(await states(), {});
    assert.ok(!ok(await d.docker(['volume', 'ls', '-q'])).split('\n').includes(anon), 'the anonymous volume went too');
  });

  it('down SERVICE takes down the service and its dependents only; the network still in use stays', async () => {
    await up();
    const r = await compose(['down', 'web']);
    ok(r);
    assert.match(r.stderr, /Network lc_default +Resource is still in use/);
    assert.deepEqual(await states(), { 'lc-db-1': 'running' });
    await up();
    ok(await compose(['down', 'db']));
    assert.deepEqual(await states(), {}, 'web depends on db: it goes too');
    assert.deepEqual(await networks(), []);
  });

  it('down leaves a one-off run container; --remove-orphans removes it', async () => {
    await up();
    ok(await compose(['run', '-d', 'web', 'sleep', '60']));
    const r = await compose(['down']);
    ok(r);
    const left = Object.keys(await states());
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^lc-web-run-/);
    ok(await compose(['down', '--remove-orphans', '-t', '0']));
    assert.deepEqual(await states(), {});
    assert.deepEqual(await networks(), []);
  });

  it('down --rmi local removes the images compose built, not the ones services name; --rmi all those too', async () => {
    const built = await context({
      'compose.yaml': 'name: rmi\nservices:\n  app:\n    build: .\n    command: ["sleep", "60"]\n  side:\n    image: busybox\n    command: ["sleep", "60"]\n',
      Dockerfile: 'FROM busybox\nRUN echo built > /built\n',
    });
    try {
      ok(await d.compose(built, ['up', '-d']));
      assert.ok(ok(await d.docker(['image', 'ls', '-q', 'rmi-app'])).trim(), 'the built image exists');
      const r = await d.compose(built, ['down', '--rmi', 'local', '-t', '0']);
      ok(r);
      assert.match(r.stderr, /Image rmi-app(:latest)? +Removed/);
      assert.equal(ok(await d.docker(['image', 'ls', '-q', 'rmi-app'])).trim(), '');
      assert.ok(ok(await d.docker(['image', 'ls', '-q', 'busybox'])).trim(), 'busybox stays');
      // --rmi all: the images services name go too (here a second tag of busybox, so busybox itself stays)
      ok(await d.docker(['tag', 'busybox', 'side-img:1']));
      await fs.writeFile(`${built}/compose.yaml`, 'name: rmi\nservices:\n  side:\n    image: side-img:1\n    command: ["sleep", "60"]\n');
      ok(await d.compose(built, ['up', '-d']));
      const all = await d.compose(built, ['down', '--rmi', 'all', '-t', '0']);
      ok(all);
      assert.match(all.stderr, /Image side-img:1 +Removed/);
      assert.equal(ok(await d.docker(['image', 'ls', '-q', 'side-img'])).trim(), '');
      assert.ok(ok(await d.docker(['image', 'ls', '-q', 'busybox'])).trim(), 'busybox stays');
      const bad = await d.compose(built, ['down', '--rmi', 'some']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid value for --rmi: "some"/);
    } finally {
      await fs.rm(built, { recursive: true, force: true });
    }
  });

  it('a service that does not exist is refused by name', async () => {
    for (const cmd of ['stop', 'start', 'restart', 'kill', 'pause', 'down']) {
      const r = await compose([cmd, 'nosuch']);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /no such service: nosuch/, cmd);
    }
    // From labels alone, a service with no container cannot be told from a typo: nothing to do.
    ok(await d.compose(empty, ['-p', P, 'stop', 'nosuch']));
  });
});
