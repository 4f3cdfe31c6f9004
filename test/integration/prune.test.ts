// Housekeeping: system df (berth counts container logs too), container/image/system prune with their
// filters, prompts and "Total reclaimed space" lines; what a prune reports is what `system df` loses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { TestDaemon } from './harness.js';
import { humanSize } from '../../src/lib/units.js';

interface Usage {
  LayersSize: number;
  Images: { Id: string; RepoTags: string[]; Containers: number; Size: number; SharedSize: number }[];
  Containers: { Id: string; State: string; SizeRw: number; SizeLogs: number }[];
  Volumes: unknown[];
  BuildCache: unknown[];
  LogsSize: number;
}

function getJson<T>(d: TestDaemon, p: string, method = 'GET'): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: p }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
    });
    req.on('error', reject);
    req.end();
  });
}

const usage = async (d: TestDaemon) => (await getJson<Usage>(d, '/v1.44/system/df')).body;
const reclaimedLine = (out: string) => /Total reclaimed space: (\S+)\n$/.exec(out)?.[1];

describe('housekeeping', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('system df reports images, containers (with their logs), volumes and build cache', async () => {
    assert.equal((await d.berth(['run', '--name', 'writer', '-l', 'keep=no', 'busybox', 'sh', '-c', 'head -c 50000 /dev/zero > /blob; echo some log output'])).code, 0);
    assert.equal((await d.berth(['run', '-d', '--name', 'runner', 'busybox', 'sh', '-c', 'echo running; head -c 3000 /dev/zero > /r; sleep 600'])).code, 0);
    const u = await usage(d);
    const writer = u.Containers.find((c) => c.State === 'exited')!;
    assert.equal(writer.SizeRw, 50000, 'SizeRw counts file bytes, as Docker does');
    assert.equal(writer.SizeLogs > 0, true);
    assert.equal(u.LogsSize, u.Containers.reduce((n, c) => n + c.SizeLogs, 0));
    assert.equal(u.Images.length, 1);
    assert.equal(u.Images[0]!.Containers, 2);
    assert.equal(u.LayersSize, u.Images[0]!.Size);
    assert.deepEqual(u.Volumes, []);
    const table = await d.berth(['system', 'df']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    assert.match(lines[1]!, /^Images\s+1\s+1\s+\S+\s+/);
    assert.match(lines[2]!, new RegExp(`^Containers\\s+2\\s+1\\s+53kB\\s+50kB \\(94%\\)$`));
    assert.match(lines[3]!, /^Local Volumes\s+0\s+0\s+0B\s+0B$/);
    assert.match(lines[4]!, /^Build Cache\s+\d+\s+\d+\s+\S+\s+\S+$/);
    assert.match(lines[5]!, /^Container Logs\s+2\s+1\s+\d+B\s+\d+B \(\d+%\)$/);
    const verbose = await d.berth(['system', 'df', '-v']);
    assert.match(verbose.stdout, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\nbusybox\s+latest\s+[0-9a-f]{12}\s/);
    assert.match(verbose.stdout, /\nContainers space usage:\n\nCONTAINER ID\s+IMAGE\s+COMMAND\s+LOCAL VOLUMES\s+SIZE\s+CREATED\s+STATUS\s+NAMES\n/);
    assert.match(verbose.stdout, /\s50kB\s+.*\swriter\n/);
    assert.match(verbose.stdout, /\nLocal Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE\n/);
    assert.match(verbose.stdout, /\nBuild cache usage: \S+\n/);
    assert.match(verbose.stdout, /\nContainer logs space usage:\n\nCONTAINER ID\s+SIZE\s+NAMES\n/);
    const fmt = await d.berth(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']);
    assert.equal(fmt.stdout, 'Images=1\nContainers=2\nLocal Volumes=0\nBuild Cache=0\nContainer Logs=2\n');
    assert.equal((await getJson(d, '/v1.44/system/df?type=nope')).status, 400);
    assert.deepEqual(Object.keys((await getJson<object>(d, '/v1.44/system/df?type=image')).body).sort(), ['Images', 'LayersSize']);
  });

  it('container prune removes stopped containers and frees what it reports', async () => {
    assert.equal((await d.berth(['create', '--name', 'labelled', '-l', 'keep=yes', 'busybox'])).code, 0);
    // Without -f it asks; "n" (or no answer) keeps everything.
    const no = await d.berth(['container', 'prune'], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.equal(no.stdout, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] \n');
    assert.equal((await d.berth(['ps', '-aq'])).stdout.split('\n').filter(Boolean).length, 3);
    // Filters: label!= keeps the labelled one; an unknown filter is refused.
    const bad = await d.berth(['container', 'prune', '-f', '--filter', 'colour=red']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "Error response from daemon: invalid filter 'colour'\n");
    const badUntil = await d.berth(['container', 'prune', '-f', '--filter', 'until=yesterday-ish']);
    assert.equal(badUntil.code, 1);
    assert.match(badUntil.stderr, /invalid value for 'until' filter/);
    assert.equal((await d.berth(['container', 'prune', '-f', '--filter', 'until=1h'])).stdout, 'Total reclaimed space: 0B\n', 'nothing is an hour old');
    const before = await usage(d);
    const writer = before.Containers.find((c) => c.State === 'exited' && c.SizeRw > 0)!;
    const r = await d.berth(['container', 'prune', '-f', '--filter', 'label!=keep=yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Deleted Containers:\n${writer.Id}\n\nTotal reclaimed space: ${humanSize(writer.SizeRw + writer.SizeLogs, 4)}\n`);
    const afterUsage = await usage(d);
    const sum = (u: Usage) => u.Containers.reduce((n, c) => n + c.SizeRw + c.SizeLogs, 0);
    assert.equal(sum(before) - sum(afterUsage), writer.SizeRw + writer.SizeLogs, 'system df lost exactly what prune reported');
    assert.deepEqual(afterUsage.Containers.map((c) => c.State).sort(), ['created', 'running']);
    const ev = await d.berth(['events', '--since', '60s', '--until', '0s', '--filter', 'type=container', '--filter', 'event=prune', '--format', '{{.Actor.Attributes.reclaimed}}']);
    assert.equal(ev.stdout.trim().split('\n').pop(), String(writer.SizeRw + writer.SizeLogs));
    // The API's report, as dockerd's (null when nothing was deleted).
    assert.deepEqual((await getJson(d, '/v1.44/containers/prune?filters=' + encodeURIComponent('{"label":{"keep=maybe":true}}'), 'POST')).body, { ContainersDeleted: null, SpaceReclaimed: 0 });
  });

  it('image prune removes dangling images, -a every unused one, and frees what it reports', async () => {
    // A dangling image (a commit without a name) with a layer of its own, and an unused tagged one.
    assert.equal((await d.berth(['run', '--name', 'src', 'busybox', 'sh', '-c', 'head -c 20000 /dev/zero > /layer'])).code, 0);
    const dangling = (await d.berth(['commit', 'src'])).stdout.trim();
    assert.equal((await d.berth(['rm', 'src'])).code, 0);
    // An unused tagged image: a commit of a container that never ran (no layer of its own).
    assert.equal((await d.berth(['commit', 'labelled', 'unused:tag'])).code, 0);
    const unusedId = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'unused:tag'])).stdout.trim();
    const before = await usage(d);
    const r = await d.berth(['image', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Deleted Images:\ndeleted: ${dangling}\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: 20kB\n$`));
    const afterUsage = await usage(d);
    assert.equal(before.LayersSize - afterUsage.LayersSize, 20000, 'the dangling image’s layer went, as reported');
    assert.ok((await d.berth(['images', '-q', 'unused'])).stdout.trim(), 'a tagged image is not dangling');
    // -a: every image no container uses; busybox stays (containers use it), and whole.
    const all = await d.berth(['image', 'prune', '-a', '-f']);
    assert.equal(all.stdout, `Deleted Images:\nuntagged: unused:tag\ndeleted: ${unusedId}\n\nTotal reclaimed space: 0B\n`);
    assert.match((await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /^busybox:latest\n$/);
    const bad = await d.berth(['image', 'prune', '-f', '--filter', 'dangling=maybe']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "Error response from daemon: invalid filter 'dangling=maybe'\n");
    const ev = await d.berth(['events', '--since', '60s', '--until', '0s', '--filter', 'type=image', '--filter', 'event=prune', '--format', '{{.Actor.Attributes.reclaimed}}']);
    assert.equal(ev.stdout, '20000\n0\n');
  });

  it('system prune asks, then prunes containers, networks, images and build cache', async () => {
    assert.equal((await d.berth(['network', 'create', 'spare'])).code, 0);
    assert.equal((await d.berth(['rm', '-f', 'runner'])).code, 0);
    const no = await d.berth(['system', 'prune'], { input: '' });
    assert.equal(no.code, 0);
    assert.equal(
      no.stdout,
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] \n',
    );
    assert.match((await d.berth(['network', 'ls'])).stdout, /\bspare\b/);
    const withFilter = await d.berth(['system', 'prune', '-a', '--volumes', '--filter', 'label=x=y'], { input: 'n\n' });
    assert.match(withFilter.stdout, / {2}- all anonymous volumes not used by at least one container\n {2}- all images without at least one container associated to them\n {2}- all build cache\n\n {2}Items to be pruned will be filtered with:\n {2}- label=x=y\n\nAre you sure/);
    const volUntil = await d.berth(['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']);
    assert.equal(volUntil.code, 1);
    assert.equal(volUntil.stderr, 'ERROR: The "until" filter is not supported with "--volumes"\n');
    const before = await usage(d);
    const everything = before.LayersSize + before.Containers.reduce((n, c) => n + c.SizeRw + c.SizeLogs, 0);
    const yes = await d.berth(['system', 'prune', '-a'], { input: 'y\n' });
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Networks:\nspare\n\nDeleted Images:\nuntagged: busybox:latest\ndeleted: sha256:[0-9a-f]{64}\n/);
    assert.equal(reclaimedLine(yes.stdout), humanSize(everything, 4), 'it reports what system df had');
    const u = await usage(d);
    assert.deepEqual([u.Images.length, u.Containers.length, u.LayersSize, u.LogsSize], [0, 0, 0, 0]);
    assert.equal((await d.berth(['system', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
  });

  it('the docker CLI reads system df and prunes through berthd', async () => {
    await d.importBusybox();
    assert.equal((await d.docker(['run', '--name', 'dkp', 'busybox', 'sh', '-c', 'echo x > /x'])).code, 0);
    const df = await d.docker(['system', 'df']);
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+1\s+1\.\d+MB\s+.*\nContainers\s+1\s+0\s+2B\s+2B \(100%\)\nLocal Volumes\s+0\s+0\s+0B\s+0B\nBuild Cache\s+\d+\s+\d+\s+\S+\s+\S+\n$/);
    const p = await d.docker(['container', 'prune', '-f']);
    assert.match(p.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: \d+B\n$/);
    const sp = await d.docker(['system', 'prune', '-f']);
    assert.equal(sp.code, 0, sp.stderr);
    assert.match(sp.stdout, /Total reclaimed space: \S+\n$/);
  });

  it('counts the local log driver’s files in system df and container prune', async () => {
    await d.importBusybox();
    assert.equal((await d.berth(['run', '--name', 'local-logger', '--log-driver', 'local', 'busybox', 'sh', '-c', 'head -c 30000 /dev/zero | tr "\\0" x; echo'])).code, 0);
    const c = (await usage(d)).Containers.find((x) => x.State === 'exited')!;
    assert.ok(c.SizeLogs >= 30000, `local-logs/ counted: ${c.SizeLogs}`);
    const r = await d.berth(['container', 'prune', '-f']);
    assert.equal(r.stdout, `Deleted Containers:\n${c.Id}\n\nTotal reclaimed space: ${humanSize(c.SizeRw + c.SizeLogs, 4)}\n`);
  });
});
