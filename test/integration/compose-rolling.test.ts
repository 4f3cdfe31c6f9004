// Rolling updates (issue 11 item 9): a service with 2 replicas behind the embedded DNS, updated with
// `order: start-first` while a client on the project network sends a stream of requests by service
// name: zero requests fail. An update whose new containers fail their health check is rolled back:
// the previous containers still serve, `up` exits non-zero and says why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PrivateDockerd, REPO, TestDaemon, busyboxTar, context, runCmd, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const PROJECT = 'rolltest';

// (dockerd 20.10 has no start_interval: API 1.44.)
const compose = (version: string, startInterval = true): string => `
name: ${PROJECT}
services:
  web:
    image: busybox:latest
    command: ["sh", "/srv/serve.sh"]
    environment:
      VERSION: ${version}
    volumes:
      - ./serve.sh:/srv/serve.sh:ro
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      retries: 2
      start_period: 2s
${startInterval ? '      start_interval: 200ms\n' : ''}    deploy:
      replicas: 2
      update_config:
        order: start-first
        failure_action: rollback
        monitor: 500ms
`;

// A server that shuts down gracefully: on SIGTERM it keeps serving for a moment (what it is already
// serving, and clients that looked its address up just before), then stops. A "broken" version never
// starts its server, so its health check fails.
const SERVE = `mkdir -p /www
echo "$VERSION" > /www/index.html
if [ "$VERSION" = broken ]; then exec sleep 1000; fi
httpd -f -p 80 -h /www &
pid=$!
trap 'sleep 1; kill $pid; exit 0' TERM
wait $pid
`;

// The client: requests by service name until told to stop (bounded), counting failures and versions,
// from its first answer on (its own network endpoint is being set up as it starts).
const CLIENT = `until wget -q -O /dev/null http://web/; do sleep 0.1; done
i=0; f=0; v1=0; v2=0
while [ ! -f /tmp/stop ] && [ $i -lt 3000 ]; do
  r=$(timeout 5 wget -q -O - http://web/ 2>&1) || { rc=$?; f=$((f+1)); echo "failed (exit $rc): $r"; }
  [ "$r" = v1 ] && v1=$((v1+1)); [ "$r" = v2 ] && v2=$((v2+1))
  i=$((i+1)); [ $i = 10 ] && echo started
  sleep 0.02
done
echo "requests=$i failed=$f v1=$v1 v2=$v2"`;

describe('compose rolling update', () => {
  let d: TestDaemon;
  let dir: string;

  const up = async (version: string): Promise<RunResult> => {
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose(version));
    return d.compose(dir, ['up', '-d'], { timeoutMs: 90_000 });
  };
  const replicas = async (): Promise<{ id: string; name: string; number: string; status: string }[]> => {
    const r = await d.berth(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'label=com.docker.compose.service=web', '--format', '{{.ID}} {{.Names}} {{.Label "com.docker.compose.container-number"}} {{.Status}}']);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [id = '', name = '', number = '', ...status] = l.split(' ');
        return { id, name, number, status: status.join(' ') };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  };
  /** Run the client during `during`; returns its last line. */
  const underLoad = async (during: () => Promise<void>): Promise<string> => {
    const name = `client-${Date.now()}`;
    const started = await d.berth(['run', '-d', '--name', name, '--network', `${PROJECT}_default`, 'busybox:latest', 'sh', '-c', CLIENT]);
    assert.equal(started.code, 0, started.stderr);
    await waitFor(async () => (await d.berth(['logs', name])).stdout.includes('started'), 'the client to send requests');
    await during();
    await d.berth(['exec', name, 'touch', '/tmp/stop']);
    await d.berth(['wait', name]);
    const logs = (await d.berth(['logs', name])).stdout.trim();
    await d.berth(['rm', '-f', name]);
    return logs;
  };

  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    dir = await context({ 'serve.sh': SERVE });
    const r = await up('v1');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => (await replicas()).filter((c) => c.status.includes('(healthy)')).length === 2, 'two healthy replicas');
  });

  after(async () => {
    await d?.compose(dir, ['down'], { timeoutMs: 60_000 }).catch(() => undefined);
    await d?.cleanup();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('the embedded DNS stops naming a container as soon as its stop begins, while it drains', async () => {
    // What a rolling update relies on: the replica being retired gets no new clients during its grace period.
    const r = await d.berth(['run', '-d', '--name', 'draining', '--network', `${PROJECT}_default`, '--network-alias', 'drainer', 'busybox:latest', 'sh', '-c', "trap 'sleep 3; exit 0' TERM; while :; do sleep 0.1; done"]);
    assert.equal(r.code, 0, r.stderr);
    const lookup = (): Promise<boolean> => d.berth(['exec', `${PROJECT}-web-1`, 'nslookup', 'drainer']).then((x) => x.code === 0);
    await waitFor(lookup, 'the alias to resolve');
    const stopping = d.berth(['stop', 'draining']);
    await waitFor(async () => !(await lookup()), 'the alias to stop resolving');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', 'draining'])).stdout.trim(), 'true', 'the container still runs (draining)');
    await stopping;
    await d.berth(['rm', '-f', 'draining']);
  });

  it('start-first: a stream of requests by service name sees no failure while both replicas are replaced', async () => {
    const before = await replicas();
    let result: RunResult | undefined;
    const stats = await underLoad(async () => {
      result = await up('v2');
    });
    assert.equal(result!.code, 0, result!.stderr);
    const said = result!.stdout + result!.stderr;
    assert.match(said, /Container rolltest-web-1 +Recreate +environment\.VERSION changed/, 'up says why it recreates');
    assert.match(said, /web: rolling update of 2 container\(s\), start-first, 1 at a time/);
    assert.match(stats, /failed=0 /, stats);
    assert.match(stats, /v1=[1-9]/, 'the stream began on the old version');
    assert.match(stats, /v2=[1-9]/, 'and ended on the new one');
    const now = await replicas();
    assert.deepEqual(
      now.map((c) => [c.name, c.number]),
      [
        [`${PROJECT}-web-1`, '1'],
        [`${PROJECT}-web-2`, '2'],
      ],
      'the new replicas carry the standard names and numbers; nothing else is left',
    );
    assert.ok(now.every((c) => c.status.startsWith('Up')));
    assert.ok(now.every((c) => !before.some((b) => b.id === c.id)), 'both replicas were replaced');
  });

  it('an update whose new containers fail their health check is rolled back; the old ones keep serving', async () => {
    const before = await replicas();
    let result: RunResult | undefined;
    const stats = await underLoad(async () => {
      result = await up('broken');
    });
    assert.notEqual(result!.code, 0);
    assert.doesNotMatch(result!.stdout + result!.stderr, /left as they are/, 'nothing of the failed update is left behind');
    assert.match(result!.stderr, /service "web" update failed \(rolltest-web-1: container is unhealthy.*\); rolled back to the previous containers/);
    assert.match(stats, /failed=0 /, stats);
    assert.match(stats, /v2=[1-9]/);
    const now = await replicas();
    assert.deepEqual(
      now.map((c) => [c.id, c.name]),
      before.map((c) => [c.id, c.name]),
      'the very same containers run under their names; the new ones are gone',
    );
    assert.ok(now.every((c) => c.status.startsWith('Up')));
  });
});

// The same client against dockerd 20.10: the rolling update and the rollback go through the Engine API
// only. (No request stream here: dockerd's DNS keeps naming a container until it has exited.)
describe('compose rolling update against a private dockerd', () => {
  let dd: PrivateDockerd;
  let dir: string;
  const CLI = path.join(REPO, 'dist/src/cli/main.js');

  const up = async (version: string): Promise<RunResult> => {
    await fs.writeFile(path.join(dir, 'compose.yaml'), compose(version, false));
    return runCmd([process.execPath, CLI, '-H', `unix://${dd.socket}`, 'compose', 'up', '-d', '--wait'], { cwd: dir, timeoutMs: 90_000 });
  };
  const ids = async (): Promise<string[]> => {
    const r = await dd.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.ID}} {{.Names}} {{.State}}']);
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  before(async () => {
    dd = await PrivateDockerd.start();
    const r = await dd.docker(['import', '-c', 'CMD ["sh"]', await busyboxTar(), 'busybox:latest']);
    assert.equal(r.code, 0, r.stderr);
    dir = await context({ 'serve.sh': SERVE });
  });

  after(async () => {
    if (dir) {
      await runCmd([process.execPath, CLI, '-H', `unix://${dd.socket}`, 'compose', 'down', '-t', '1'], { cwd: dir }).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    }
    await dd?.stop();
  });

  it('replaces both replicas, then rolls a failing update back', async () => {
    const first = await up('v1');
    assert.equal(first.code, 0, first.stderr);
    const v1 = await ids();
    const second = await up('v2');
    assert.equal(second.code, 0, second.stderr);
    const v2 = await ids();
    assert.deepEqual(v2.map((l) => l.split(' ').slice(1).join(' ')).sort(), [`${PROJECT}-web-1 running`, `${PROJECT}-web-2 running`]);
    assert.ok(v2.every((l) => !v1.includes(l)), 'both replicas were replaced');
    const third = await up('broken');
    assert.notEqual(third.code, 0);
    assert.match(third.stderr, /rolled back to the previous containers/);
    assert.deepEqual(await ids(), v2, 'the same containers run under their names');
  });
});
