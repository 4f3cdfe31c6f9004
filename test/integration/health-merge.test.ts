// Health-check settings given at run time merge with the image's HEALTHCHECK (issue 10 item 5), as
// dockerd's config merge does: the fields given override the image's; the test and every field not given
// come from the image. Through the docker CLI 28, berth and the Engine API (a create body's Healthcheck).
// The expected configs are what dockerd 20.10 shows for the same commands. Real runc, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DOCKER_CLI, PrivateDockerd, TestDaemon, context } from './harness.js';
import { api } from '../support/api.js';

const S = 1_000_000_000;
const IMAGE = 'hc-img';
// HEALTHCHECK's shell form: ["CMD-SHELL", ...]; no start period in the image.
const DOCKERFILE = 'FROM busybox\nHEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD echo probe-ran\n';
const IMAGE_TEST = ['CMD-SHELL', 'echo probe-ran'];

describe('health-check settings merged with the image\'s HEALTHCHECK', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    const ctx = await context({ Dockerfile: DOCKERFILE });
    const b = await d.berth(['build', '-q', '-t', IMAGE, ctx]);
    await fs.rm(ctx, { recursive: true, force: true });
    assert.equal(b.code, 0, b.stderr);
  });
  after(async () => d.cleanup());

  const ok = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const healthConfig = async (id: string) => JSON.parse(ok(await d.docker(['inspect', '-f', '{{json .Config.Healthcheck}}', id]))) as unknown;
  const healthState = async (id: string) => JSON.parse(ok(await d.docker(['inspect', '-f', '{{json .State.Health}}', id]))) as { Status: string; Log: { Output: string }[] } | null;

  /** Start a created container and wait for its first health_status event: the docker CLI's event
   *  stream from before the start (--since replays what happened, then follows). */
  async function startAndAwaitHealth(id: string): Promise<string> {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    ok(await d.docker(['start', id]));
    const events = spawn(DOCKER_CLI, ['events', '--since', since, '--filter', `container=${id}`, '--format', '{{.Action}}'], {
      env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      return await new Promise<string>((resolve, reject) => {
        let buf = '';
        events.stdout.on('data', (c: Buffer) => {
          buf += String(c);
          const line = buf.split('\n').find((l) => l.startsWith('health_status'));
          if (line) resolve(line);
        });
        events.once('exit', () => reject(new Error(`events ended before a health_status event; saw: ${buf}`)));
      });
    } finally {
      events.kill();
    }
  }

  it('run --health-interval 1s --health-start-period 20s keeps the image\'s test and the other fields (docker CLI)', async () => {
    const id = ok(await d.docker(['create', '--health-interval', '1s', '--health-start-period', '20s', IMAGE, 'sleep', '1000']));
    assert.deepEqual(await healthConfig(id), { Test: IMAGE_TEST, Interval: 1 * S, Timeout: 3 * S, StartPeriod: 20 * S, Retries: 2 });
    assert.equal(await startAndAwaitHealth(id), 'health_status: healthy');
    const state = await healthState(id);
    assert.equal(state?.Status, 'healthy');
    assert.equal(state?.Log.at(-1)?.Output, 'probe-ran\n');
    ok(await d.docker(['rm', '-f', id]));
  });

  it('berth create with --health-interval and --health-retries: the image\'s test runs', async () => {
    const id = ok(await d.berth(['create', '--health-interval', '1s', '--health-retries', '5', IMAGE, 'sleep', '1000']));
    assert.deepEqual(await healthConfig(id), { Test: IMAGE_TEST, Interval: 1 * S, Timeout: 3 * S, Retries: 5 });
    assert.equal(await startAndAwaitHealth(id), 'health_status: healthy');
    ok(await d.berth(['rm', '-f', id]));
  });

  it('--health-cmd replaces only the test; the image\'s timings stay', async () => {
    const id = ok(await d.docker(['create', '--health-cmd', 'echo mine', IMAGE, 'sleep', '1000']));
    assert.deepEqual(await healthConfig(id), { Test: ['CMD-SHELL', 'echo mine'], Interval: 30 * S, Timeout: 3 * S, Retries: 2 });
    ok(await d.docker(['rm', id]));
  });

  it('the API\'s Healthcheck in a create body merges the same way (only Interval; an empty Test and zero fields)', async () => {
    const a = await api(d.socket, 'POST', '/v1.41/containers/create?name=api-interval', { Image: IMAGE, Cmd: ['sleep', '1000'], Healthcheck: { Interval: 1 * S } });
    assert.equal(a.status, 201, a.body);
    assert.deepEqual(await healthConfig('api-interval'), { Test: IMAGE_TEST, Interval: 1 * S, Timeout: 3 * S, Retries: 2 });
    assert.equal(await startAndAwaitHealth('api-interval'), 'health_status: healthy');
    const b = await api(d.socket, 'POST', '/v1.41/containers/create?name=api-empty', { Image: IMAGE, Cmd: ['true'], Healthcheck: { Test: [], Interval: 0, Retries: 5 } });
    assert.equal(b.status, 201, b.body);
    assert.deepEqual(await healthConfig('api-empty'), { Test: IMAGE_TEST, Interval: 30 * S, Timeout: 3 * S, Retries: 5 });
    for (const body of [{ Healthcheck: null }, { Healthcheck: {} }]) {
      const c = await api(d.socket, 'POST', '/v1.41/containers/create', { Image: IMAGE, Cmd: ['true'], ...body });
      assert.equal(c.status, 201, c.body);
      assert.deepEqual(await healthConfig(JSON.parse(c.body).Id), { Test: IMAGE_TEST, Interval: 30 * S, Timeout: 3 * S, Retries: 2 }, JSON.stringify(body));
    }
    ok(await d.docker(['rm', '-f', 'api-interval', 'api-empty']));
  });

  it('--no-healthcheck still disables the image\'s check (Test NONE, the image\'s timings kept, no health state)', async () => {
    const id = ok(await d.docker(['run', '-d', '--no-healthcheck', IMAGE, 'sleep', '1000']));
    assert.deepEqual(await healthConfig(id), { Test: ['NONE'], Interval: 30 * S, Timeout: 3 * S, Retries: 2 });
    assert.equal(await healthState(id), null);
    assert.doesNotMatch(ok(await d.docker(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}'])), /health/);
    ok(await d.docker(['rm', '-f', id]));
  });

  it('side by side with dockerd 20.10: the same Config.Healthcheck and health state for each way of merging', async () => {
    const ref = await PrivateDockerd.start();
    const archive = path.join(d.dir, 'hc-img.tar');
    try {
      ok(await d.berth(['save', '-o', archive, IMAGE, 'busybox']));
      const loaded = await ref.docker(['load', '-i', archive]);
      assert.equal(loaded.code, 0, loaded.stderr);
      const cases = [
        ['--health-interval', '1s', '--health-start-period', '20s', IMAGE],
        ['--health-retries', '5', '--health-timeout', '2s', IMAGE],
        ['--health-cmd', 'echo mine', IMAGE],
        ['--no-healthcheck', IMAGE],
        ['--health-interval', '1s', 'busybox'],
        [IMAGE],
      ];
      for (const args of cases) {
        const run = ['run', '-d', '--network', 'none', ...args, 'sleep', '1000'];
        const ours = ok(await d.docker(run));
        const theirs = await ref.docker(run);
        assert.equal(theirs.code, 0, theirs.stderr);
        // Health right after the start: null (no check) or "starting" on both.
        const f = ['inspect', '-f', '{{json .Config.Healthcheck}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}'];
        const a = ok(await d.docker([...f, ours]));
        const b = ok(await ref.docker([...f, theirs.stdout.trim()]));
        assert.equal(a.replace(/healthy$/, 'starting'), b.replace(/healthy$/, 'starting'), args.join(' '));
        ok(await d.docker(['rm', '-f', ours]));
      }
    } finally {
      await ref.stop();
      await fs.rm(archive, { force: true });
    }
  });

  it('timings without a test on an image without HEALTHCHECK: kept as given, no health state', async () => {
    const id = ok(await d.docker(['run', '-d', '--health-interval', '1s', 'busybox', 'sleep', '1000']));
    assert.deepEqual(await healthConfig(id), { Interval: 1 * S });
    assert.equal(await healthState(id), null);
    ok(await d.docker(['rm', '-f', id]));
  });
});
