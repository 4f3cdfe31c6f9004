// The real docker CLI (it negotiates the API version down) against berthd, and image archives
// exchanged with Docker 20.10 in both directions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PrivateDockerd, REPO, TestDaemon } from './harness.js';
import { waitFor } from './waits.js';

const TINY_ID = 'sha256:353a47e53246d4c8a51c226c55cd50294e9ac48ced2be177270e78236fc3963d';

describe('docker CLI against berthd', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('version and info', async () => {
    const v = await d.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, '1.44 linux\n');
    const i = await d.docker(['info', '--format', '{{.Driver}} {{.OSType}} {{.Images}}']);
    assert.equal(i.stdout, 'overlay2 linux 1\n');
  });

  it('images, run --rm, run -d, ps -a, logs, exec, inspect, stop, rm', async () => {
    assert.match((await d.docker(['images'])).stdout, /^busybox\s+latest\s+[0-9a-f]{12}\s+/m);
    const hello = await d.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(hello.stdout, 'hello\n', hello.stderr);
    assert.equal((await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 4'])).code, 4);
    const id = (await d.docker(['run', '-d', '--name', 'dk', 'busybox', 'sh', '-c', 'echo up; sleep 300'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match((await d.docker(['ps', '-a'])).stdout, /\bdk\n/);
    await waitFor(async () => (await d.docker(['logs', 'dk'])).stdout === 'up\n', 'the container’s first log line');
    assert.equal((await d.docker(['exec', 'dk', 'echo', 'inside'])).stdout, 'inside\n');
    assert.equal((await d.docker(['exec', '-i', 'dk', 'cat'], { input: 'piped\n' })).stdout, 'piped\n');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.Config.Image}}', 'dk'])).stdout, 'running busybox\n');
    assert.match((await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.MemUsage}}', 'dk'])).stdout, /^dk \d+ \d+(\.\d+)?[KM]iB \/ /);
    assert.equal((await d.docker(['stop', '-t', '1', 'dk'])).code, 0);
    assert.equal((await d.docker(['rm', 'dk'])).code, 0);
    assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
    // the docker CLI sends --until in whole seconds: end the stream a second from now
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const ev = await d.docker(['events', '--since', '5m', '--until', until, '--filter', 'container=dk', '--format', '{{.Action}}']);
    assert.deepEqual(ev.stdout.trim().split('\n').filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)), ['create', 'start', 'die', 'destroy']);
  });

  it('health: run --health-cmd turns healthy; inspect and events --filter event=health_status as with dockerd', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const run = await d.docker(['run', '-d', '--name', 'hc', '--health-cmd', 'echo probe-ok', '--health-interval', '1s', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    await waitFor(async () => (await d.docker(['inspect', '--format', '{{.State.Health.Status}}', 'hc'])).stdout === 'healthy\n', 'the container to turn healthy');
    assert.match((await d.docker(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).stdout, /^Up .+ \(healthy\)\n$/);
    await waitFor(async () => (JSON.parse((await d.docker(['inspect', '--format', '{{json .State.Health.Log}}', 'hc'])).stdout) as unknown[]).length >= 2, 'a second probe result');
    // dockerd 20.10 prints, for the same container:
    // {"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-11-23T02:56:35.273488607Z","End":"2026-11-23T02:56:35.322311009Z","ExitCode":0,"Output":"ok\n"},…]}
    const inspect = await d.docker(['inspect', '--format', '{{json .State.Health}}', 'hc']);
    const health = JSON.parse(inspect.stdout) as { Status: string; FailingStreak: number; Log: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(health), ['Status', 'FailingStreak', 'Log']);
    assert.equal(health.Status, 'healthy');
    assert.equal(health.FailingStreak, 0);
    assert.ok(health.Log.length >= 2 && health.Log.length <= 5, `${health.Log.length} probe results kept`);
    // RFC3339Nano as Go prints it (trailing zeros of the fraction dropped)
    const nano = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
    const ns = (t: string) => BigInt(Date.parse(t.replace(/\.\d+/, ''))) * 1_000_000n + BigInt((/\.(\d+)/.exec(t)?.[1] ?? '').padEnd(9, '0'));
    for (const entry of health.Log) {
      assert.deepEqual(Object.keys(entry), ['Start', 'End', 'ExitCode', 'Output']);
      assert.match(String(entry.Start), nano);
      assert.match(String(entry.End), nano);
      assert.ok(ns(String(entry.End)) > ns(String(entry.Start)), 'a probe ends after it starts');
      assert.equal(entry.ExitCode, 0);
      assert.equal(entry.Output, 'probe-ok\n');
    }
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const ev = await d.docker(['events', '--since', since, '--until', until, '--filter', 'event=health_status']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?(Z|[+-]\\d\\d:\\d\\d) container health_status: healthy ${id} \\(image=busybox, name=hc\\)\n$`));
    assert.equal((await d.docker(['rm', '-f', 'hc'])).code, 0);
  });

  it('loads what Docker 20.10 saved, with the same image ID', async () => {
    const r = await d.berth(['load', '-i', path.join(REPO, 'test/fixtures/docker20-save-tiny.tar')]);
    assert.equal(r.stdout, 'Loaded image: fixture/tiny:v1\n', r.stderr);
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'fixture/tiny:v1'])).stdout, TINY_ID + '\n');
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{json .Config.Cmd}} {{json .Config.Env}}', 'fixture/tiny:v1'])).stdout, '["cat","/etc/greeting"] ["A=1"]\n');
    await d.berth(['rmi', 'fixture/tiny:v1']);
  });

  it('berth save is loaded by a real dockerd with the same image ID', async () => {
    const ref = await PrivateDockerd.start();
    try {
      const archive = path.join(d.dir, 'bb.tar');
      assert.equal((await d.berth(['save', '-o', archive, 'busybox:latest'])).code, 0);
      const id = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
      const load = await ref.docker(['load', '-i', archive]);
      assert.equal(load.code, 0, load.stderr);
      assert.match(load.stdout, /Loaded image: busybox:latest/);
      assert.equal((await ref.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:latest'])).stdout.trim(), id);
      // and back: docker save → berth load keeps the ID
      const back = path.join(d.dir, 'back.tar');
      await ref.docker(['tag', 'busybox:latest', 'roundtrip/bb:1']);
      assert.equal((await ref.docker(['save', '-o', back, 'roundtrip/bb:1'])).code, 0);
      assert.equal((await d.berth(['load', '-i', back])).code, 0);
      assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'roundtrip/bb:1'])).stdout.trim(), id);
      await d.berth(['rmi', 'roundtrip/bb:1']);
    } finally {
      await ref.stop();
    }
  });
});
