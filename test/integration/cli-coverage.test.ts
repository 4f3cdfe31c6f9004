// User-facing features that had no test: registry lookups and push against berth's own registry server,
// exec's flags and the resize routes, events and stats as live streams, the run flags a user checks inside
// the container and in inspect, multi-image save, logs --until, ps -s/-n/-l, images --digests and
// rmi --no-prune. One test per feature, asserting what a user would look at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { REPO, TestDaemon, runCmd } from './harness.js';
import { api } from '../support/api.js';
import { waitFor } from './waits.js';
import { startRegistryServe, type RegistryServe } from '../support/registry-serve.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');

/** A long-running berth command (events, stats, attach) whose stdout is read line by line as it comes. */
class Live {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  private readonly exited: Promise<number>;

  constructor(d: TestDaemon, args: string[]) {
    this.child = spawn(process.execPath, [CLI, '-H', d.host, ...args], { env: { ...process.env, DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => this.lines.push(l));
    this.child.stderr.on('data', (c: Buffer) => this.lines.push(`stderr: ${c}`));
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code ?? 128)));
  }

  /** Wait until the lines seen so far satisfy `ok`. */
  until(ok: (lines: string[]) => boolean, what: string): Promise<string[]> {
    return waitFor(() => (ok(this.lines) ? this.lines : undefined), `${what} (seen: ${this.lines.join(' | ')})`);
  }

  async stop(): Promise<number> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Run a berth command under a pseudo-terminal of the given size (util-linux script). */
function inTerminal(d: TestDaemon, cmd: string, rows = 33, cols = 111) {
  const cli = `${process.execPath} ${CLI} -H ${d.host}`;
  return runCmd(['script', '-qec', `stty rows ${rows} cols ${cols}; ${cli} ${cmd}`, '/dev/null'], { env: { DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
}

const ok = (r: { code: number; stderr: string }, what = '') => assert.equal(r.code, 0, `${what} ${r.stderr}`);

/**
 * The `berth` command a user runs (bin/berth), not `node main.js`: Node 20 takes an --env-file anywhere in
 * its own argv for itself, which bin/berth guards against.
 */
function userBerth(d: TestDaemon, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCmd([path.join(REPO, 'bin/berth'), '-H', d.host, ...args], { env: { DOCKER_CONFIG: path.join(d.dir, 'docker-config'), ...env } });
}

describe('cli coverage', () => {
  let d: TestDaemon;
  let reg: RegistryServe;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    reg = await startRegistryServe(path.join(d.dir, 'registry'));
  });
  after(async () => {
    await reg?.stop();
    await d.cleanup();
  });

  // ---- registry: push, manifest inspect, /distribution/{name}/json, images --digests ----

  it('push to berth’s own registry server, then pull back the same image', async () => {
    const name = `${reg.host}/cov/busybox:1`;
    const id = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    ok(await d.berth(['tag', 'busybox', name]));
    const push = await d.berth(['push', name]);
    ok(push, 'push');
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${reg.host}/cov/busybox\\]`));
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    const head = await fetch(`${reg.url}/v2/cov/busybox/manifests/1`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(head.headers.get('docker-content-digest'), digest, 'the registry holds the pushed manifest');
    ok(await d.berth(['rmi', name]));
    const pull = await d.berth(['pull', name]);
    ok(pull, 'pull');
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', name])).stdout.trim(), id);
  });

  it('manifest inspect shows the registry’s manifest', async () => {
    const name = `${reg.host}/cov/manifest:1`;
    ok(await d.berth(['tag', 'busybox', name]));
    ok(await d.berth(['push', name]));
    const id = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    const layers = JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'busybox'])).stdout) as string[];
    const r = await d.berth(['manifest', 'inspect', '--insecure', name]);
    ok(r, 'manifest inspect');
    const m = JSON.parse(r.stdout) as { schemaVersion: number; mediaType: string; config: { digest: string }; layers: { digest: string; size: number }[] };
    assert.equal(m.schemaVersion, 2);
    assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(m.config.digest, id, 'the config is the image');
    assert.equal(m.layers.length, layers.length);
    const v = await d.berth(['manifest', 'inspect', '--insecure', '-v', name]);
    ok(v, 'manifest inspect -v');
    const verbose = JSON.parse(v.stdout) as { Ref: string; Descriptor: { digest: string; platform?: { architecture: string; os: string } } };
    assert.equal(verbose.Ref, name);
    assert.match(verbose.Descriptor.digest, /^sha256:[0-9a-f]{64}$/);
    const missing = await d.berth(['manifest', 'inspect', '--insecure', `${reg.host}/cov/manifest:nope`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no such manifest|manifest unknown/);
  });

  it('GET /distribution/{name}/json describes the image in the registry', async () => {
    const name = `${reg.host}/cov/dist:1`;
    ok(await d.berth(['tag', 'busybox', name]));
    const push = await d.berth(['push', name]);
    ok(push);
    const digest = /digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout)!;
    const r = await api(d, 'GET', `/distribution/${name}/json`);
    assert.equal(r.status, 200, r.body);
    const info = JSON.parse(r.body) as { Descriptor: { mediaType: string; digest: string; size: number }; Platforms: { architecture: string; os: string }[] };
    assert.deepEqual(info.Descriptor, { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: digest[1], size: Number(digest[2]) });
    assert.deepEqual(info.Platforms.map((p) => `${p.os}/${p.architecture}`), ['linux/amd64']);
    const missing = await api(d, 'GET', `/distribution/${reg.host}/cov/dist:nope/json`);
    assert.equal(missing.status, 404, missing.body);
  });

  it('images --digests shows the repository digest of a pushed image', async () => {
    const name = `${reg.host}/cov/digests`;
    ok(await d.berth(['tag', 'busybox', `${name}:1`]));
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec((await d.berth(['push', `${name}:1`])).stdout)![1];
    const r = await d.berth(['images', '--digests', name]);
    ok(r);
    assert.match(r.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(r.stdout, new RegExp(`^${name.replace(/\./g, '\\.')}\\s+1\\s+${digest}\\s+[0-9a-f]{12}\\s`, 'm'));
    const local = await d.berth(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}', 'busybox']);
    assert.equal(local.stdout, 'busybox <none>\n', 'an image never pushed or pulled has no digest');
  });

  // ---- exec ----

  it('exec -t gives the command a terminal', async () => {
    ok(await d.berth(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '600']));
    const r = await inTerminal(d, 'exec -t ex sh -c "tty; stty size"');
    assert.match(r.stdout, /\/dev\/pts\/\d+\r*\n33 111\r*\n/);
    const plain = await d.berth(['exec', 'ex', 'tty']);
    assert.equal(plain.stdout, 'not a tty\n');
  });

  it('exec -d runs the command in the background', async () => {
    const r = await d.berth(['exec', '-d', 'ex', 'sh', '-c', 'echo detached > /tmp/bg']);
    ok(r);
    assert.equal(r.stdout, '', 'nothing printed: the command runs detached');
    await waitFor(async () => (await d.berth(['exec', 'ex', 'cat', '/tmp/bg'])).stdout === 'detached\n', 'the detached command’s file');
  });

  it('exec -u runs as the given user', async () => {
    assert.equal((await d.berth(['exec', '-u', 'app', 'ex', 'id', '-un'])).stdout, 'app\n');
    assert.equal((await d.berth(['exec', '-u', '1234:55', 'ex', 'id', '-u'])).stdout, '1234\n');
    assert.equal((await d.berth(['exec', '-u', '1234:55', 'ex', 'id', '-g'])).stdout, '55\n');
    const bad = await d.berth(['exec', '-u', 'nobody-here', 'ex', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unable to find user nobody-here/);
  });

  it('exec -w runs in the given directory', async () => {
    assert.equal((await d.berth(['exec', '-w', '/etc', 'ex', 'pwd'])).stdout, '/etc\n');
  });

  it('exec -e and --env-file set the command’s environment', async () => {
    const file = path.join(d.dir, 'exec.env');
    await fs.writeFile(file, '# a comment\nFROM_FILE=yes\nPASSED\n');
    const r = await userBerth(d, ['exec', '-e', 'A=1', '--env-file', file, 'ex', 'sh', '-c', 'echo $A $FROM_FILE $PASSED'], { PASSED: 'through' });
    assert.equal(r.stdout, '1 yes through\n', r.stderr);
    const missing = await userBerth(d, ['exec', '--env-file', path.join(d.dir, 'nope.env'), 'ex', 'true']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `open ${path.join(d.dir, 'nope.env')}: no such file or directory\n`);
  });

  it('exec --privileged gives the command every capability', async () => {
    const plain = (await d.berth(['exec', 'ex', 'grep', 'CapEff', '/proc/self/status'])).stdout;
    const priv = (await d.berth(['exec', '--privileged', 'ex', 'grep', 'CapEff', '/proc/self/status'])).stdout;
    assert.match(plain, /CapEff:\s+00000000a80425fb/);
    const own = /^CapBnd:\s*(\S+)$/m.exec(await fs.readFile('/proc/self/status', 'utf8'))![1];
    assert.match(priv, new RegExp(`CapEff:\\s+${own}`));
  });

  it('POST /containers/{id}/resize and /exec/{id}/resize resize the terminal', async () => {
    ok(await d.berth(['run', '-d', '-t', '--name', 'tty', 'busybox', 'sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.1; done; stty size > /tmp/size; sleep 600']));
    const resized = await api(d, 'POST', '/containers/tty/resize?h=40&w=120');
    assert.equal(resized.status, 200, resized.body);
    ok(await d.berth(['exec', 'tty', 'touch', '/tmp/go']));
    await waitFor(async () => (await d.berth(['exec', 'tty', 'cat', '/tmp/size'])).stdout === '40 120\n', 'the container’s terminal to be 40×120');
    const created = await api(d, 'POST', '/containers/tty/exec', { Tty: true, Cmd: ['sh', '-c', 'while [ ! -f /tmp/go2 ]; do sleep 0.1; done; stty size > /tmp/size2'] });
    assert.equal(created.status, 201, created.body);
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    assert.equal((await api(d, 'POST', `/exec/${execId}/start`, { Detach: true, Tty: true })).status, 200);
    await waitFor(async () => (JSON.parse((await api(d, 'GET', `/exec/${execId}/json`)).body) as { Running: boolean }).Running, 'the exec to run');
    const r = await api(d, 'POST', `/exec/${execId}/resize?h=25&w=70`);
    assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.body}`);
    ok(await d.berth(['exec', 'tty', 'touch', '/tmp/go2']));
    await waitFor(async () => (await d.berth(['exec', 'tty', 'cat', '/tmp/size2'])).stdout === '25 70\n', 'the exec’s terminal to be 25×70');
    assert.equal((await api(d, 'POST', '/exec/nope/resize?h=1&w=1')).status, 404);
    ok(await d.berth(['rm', '-f', 'tty', 'ex']));
  });

  // ---- live streams ----

  it('events streams what happens as it happens', async () => {
    const live = new Live(d, ['events', '--filter', 'container=evlive', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    try {
      // The stream is open once berthd has it; a first event proves it, then the rest arrive live.
      await waitFor(async () => {
        await d.berth(['rm', '-f', 'evlive']);
        ok(await d.berth(['create', '--name', 'evlive', 'busybox', 'true']));
        return live.lines.includes('container create evlive');
      }, 'the live stream to show a create');
      ok(await d.berth(['start', '-a', 'evlive']));
      await live.until((l) => l.includes('container start evlive') && l.includes('container die evlive'), 'start and die on the live stream');
      ok(await d.berth(['rm', 'evlive']));
      await live.until((l) => l.includes('container destroy evlive'), 'destroy on the live stream');
      assert.ok(live.child.exitCode === null, 'the stream stays open');
    } finally {
      await live.stop();
    }
  });

  it('stats streams a record per second, CPU % from one record to the next', async () => {
    ok(await d.berth(['run', '-d', '--name', 'stlive', 'busybox', 'sh', '-c', 'while :; do :; done']));
    const live = new Live(d, ['stats', '--format', '{{.Name}} {{.CPUPerc}} {{.PIDs}}', 'stlive']);
    try {
      const lines = await live.until((l) => l.filter((x) => x.includes('stlive')).length >= 3, 'three stats records');
      const records = lines.map((l) => l.replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*[A-Za-z]', 'g'), '').trim()).filter((l) => /^stlive /.test(l));
      assert.ok(records.length >= 3, records.join('\n'));
      assert.match(records[records.length - 1]!, /^stlive \d+\.\d\d% 1$/);
      assert.ok(parseFloat(records[records.length - 1]!.split(' ')[1]!) > 0, 'a busy loop shows CPU use');
    } finally {
      await live.stop();
    }
    // The API stream: each record's precpu_stats is the previous record's cpu_stats.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ socketPath: d.socket, path: '/containers/stlive/stats' }, resolve).on('error', reject));
    res.on('error', () => undefined); // the destroy below ends the stream
    const records: { read: string; preread: string; cpu_stats: unknown; precpu_stats: unknown }[] = [];
    for await (const line of readline.createInterface({ input: res })) {
      if (line.trim()) records.push(JSON.parse(line) as (typeof records)[number]);
      if (records.length === 3) break;
    }
    res.destroy();
    assert.deepEqual(records[2]!.precpu_stats, records[1]!.cpu_stats);
    assert.equal(records[2]!.preread, records[1]!.read);
    assert.ok(Date.parse(records[2]!.read) > Date.parse(records[1]!.read));
    ok(await d.berth(['rm', '-f', 'stlive']));
  });

  // ---- run flags, checked inside the container and in inspect ----

  it('run --add-host adds lines to /etc/hosts', async () => {
    const r = await d.berth(['run', '--rm', '--add-host', 'db.local:10.1.2.3', '--add-host', 'gw:host-gateway', 'busybox', 'cat', '/etc/hosts']);
    ok(r);
    assert.match(r.stdout, /^10\.1\.2\.3\tdb\.local$/m);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\.\d+\tgw$/m, 'host-gateway is the default bridge’s gateway');
    ok(await d.berth(['create', '--name', 'ah', '--add-host', 'db.local:10.1.2.3', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{json .HostConfig.ExtraHosts}}', 'ah'])).stdout, '["db.local:10.1.2.3"]\n');
    ok(await d.berth(['rm', 'ah']));
  });

  it('run --dns, --dns-search and --dns-option write resolv.conf', async () => {
    const r = await d.berth(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'corp.example', '--dns-option', 'ndots:3', 'busybox', 'cat', '/etc/resolv.conf']);
    ok(r);
    assert.match(r.stdout, /^nameserver 192\.0\.2\.53$/m);
    assert.match(r.stdout, /^search corp\.example$/m);
    assert.match(r.stdout, /^options ndots:3$/m);
    ok(await d.berth(['create', '--name', 'dns', '--dns', '192.0.2.53', '--dns-search', 'corp.example', '--dns-option', 'ndots:3', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}}', 'dns'])).stdout, '["192.0.2.53"] ["corp.example"] ["ndots:3"]\n');
    ok(await d.berth(['rm', 'dns']));
  });

  it('run -h sets the host name', async () => {
    const r = await d.berth(['run', '--rm', '-h', 'box.example', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; grep box /etc/hosts']);
    ok(r);
    assert.match(r.stdout, /^box\.example\nbox\.example\n.*\bbox\.example\b/);
    ok(await d.berth(['create', '--name', 'hn', '-h', 'box.example', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{.Config.Hostname}}', 'hn'])).stdout, 'box.example\n');
    ok(await d.berth(['rm', 'hn']));
  });

  it('run --env-file and --label-file read their files', async () => {
    const env = path.join(d.dir, 'run.env');
    const labels = path.join(d.dir, 'run.labels');
    await fs.writeFile(env, '# comment\nONE=1\nTWO=two words\nFROM_HOST\n');
    await fs.writeFile(labels, '# comment\ntier=back\nteam=core\n');
    const r = await userBerth(d, ['run', '--name', 'ef', '--env-file', env, '--label-file', labels, 'busybox', 'sh', '-c', 'echo "$ONE|$TWO|$FROM_HOST"'], { FROM_HOST: 'passed' });
    ok(r);
    assert.equal(r.stdout, '1|two words|passed\n');
    assert.equal((await d.berth(['inspect', '-f', '{{index .Config.Labels "tier"}} {{index .Config.Labels "team"}}', 'ef'])).stdout, 'back core\n');
    assert.equal((await d.berth(['ps', '-aq', '--filter', 'label=team=core'])).stdout.trim().length, 12);
    const missing = await userBerth(d, ['run', '--rm', '--env-file', path.join(d.dir, 'nope.env'), 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /nope\.env: no such file or directory/);
    ok(await d.berth(['rm', 'ef']));
  });

  it('run --stop-signal and --stop-timeout decide how stop ends the container', async () => {
    // The container reports which signal it got; it ignores TERM, so a plain stop must wait, then kill.
    ok(await d.berth(['run', '-d', '--name', 'sig', '--stop-signal', 'SIGUSR1', 'busybox', 'sh', '-c', 'trap "echo got-usr1; exit 0" USR1; trap "" TERM; while :; do sleep 0.1; done']));
    assert.equal((await d.berth(['inspect', '-f', '{{.Config.StopSignal}}', 'sig'])).stdout, 'SIGUSR1\n');
    ok(await d.berth(['stop', 'sig']));
    assert.equal((await d.berth(['logs', 'sig'])).stdout, 'got-usr1\n');
    assert.equal((await d.berth(['inspect', '-f', '{{.State.ExitCode}}', 'sig'])).stdout, '0\n');
    ok(await d.berth(['run', '-d', '--name', 'tmo', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done']));
    assert.equal((await d.berth(['inspect', '-f', '{{.Config.StopTimeout}}', 'tmo'])).stdout, '1\n');
    ok(await d.berth(['stop', 'tmo']));
    assert.equal((await d.berth(['inspect', '-f', '{{.State.ExitCode}}', 'tmo'])).stdout, '137\n', 'killed once the timeout passed');
    ok(await d.berth(['rm', 'sig', 'tmo']));
  });

  it('run --pid host and container:<name> share a PID namespace', async () => {
    const host = await d.berth(['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/pid']);
    ok(host);
    assert.equal(host.stdout.trim(), await fs.readlink('/proc/self/ns/pid'));
    ok(await d.berth(['run', '-d', '--name', 'pidsrc', 'busybox', 'sleep', '600']));
    const shared = await d.berth(['run', '--rm', '--pid', 'container:pidsrc', 'busybox', 'ps', '-o', 'args']);
    ok(shared);
    assert.match(shared.stdout, /^sleep 600$/m, 'the other container’s process is visible');
    ok(await d.berth(['create', '--name', 'pidjoin', '--pid', 'container:pidsrc', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.PidMode}}', 'pidjoin'])).stdout, 'container:pidsrc\n');
    ok(await d.berth(['rm', 'pidjoin']));
  });

  it('run --ipc host, shareable and container:<name>', async () => {
    const host = await d.berth(['run', '--rm', '--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc']);
    ok(host);
    assert.equal(host.stdout.trim(), await fs.readlink('/proc/self/ns/ipc'));
    ok(await d.berth(['run', '-d', '--name', 'ipcsrc', '--ipc', 'shareable', 'busybox', 'sleep', '600']));
    const src = (await d.berth(['exec', 'ipcsrc', 'readlink', '/proc/self/ns/ipc'])).stdout;
    const joined = await d.berth(['run', '--rm', '--ipc', 'container:ipcsrc', 'busybox', 'readlink', '/proc/self/ns/ipc']);
    ok(joined);
    assert.equal(joined.stdout, src);
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.IpcMode}}', 'ipcsrc'])).stdout, 'shareable\n');
    const private_ = await d.berth(['run', '--rm', '--ipc', 'container:pidsrc', 'busybox', 'true']);
    assert.equal(private_.code, 125);
    assert.match(private_.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    ok(await d.berth(['rm', '-f', 'ipcsrc', 'pidsrc']));
  });

  it('run --device makes a host device available', async () => {
    const r = await d.berth(['run', '--rm', '--device', '/dev/null:/dev/mynull:rw', 'busybox', 'sh', '-c', 'ls -l /dev/mynull; echo hi > /dev/mynull && echo written']);
    ok(r);
    assert.match(r.stdout, /^crw\S*\s+\d+\s+\S+\s+\S+\s+1,\s+3 .*\/dev\/mynull\nwritten\n$/);
    ok(await d.berth(['create', '--name', 'dev', '--device', '/dev/null:/dev/mynull:rw', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{json .HostConfig.Devices}}', 'dev'])).stdout, '[{"PathOnHost":"/dev/null","PathInContainer":"/dev/mynull","CgroupPermissions":"rw"}]\n');
    ok(await d.berth(['rm', 'dev']));
  });

  it('run --sysctl sets a namespaced kernel parameter', async () => {
    const r = await d.berth(['run', '--rm', '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'net.core.somaxconn=1234', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/core/somaxconn']);
    ok(r);
    assert.equal(r.stdout, '1\n1234\n');
    const bad = await d.berth(['run', '--rm', '--sysctl', 'kernel.panic=1', 'busybox', 'true']);
    assert.notEqual(bad.code, 0, 'a host-wide sysctl is refused');
    assert.match(bad.stderr, /sysctl 'kernel\.panic' is not allowed/);
  });

  it('run --shm-size sizes /dev/shm', async () => {
    const r = await d.berth(['run', '--rm', '--shm-size', '16m', 'busybox', 'df', '-k', '/dev/shm']);
    ok(r);
    assert.match(r.stdout, /\n\S+\s+16384\s+/);
    ok(await d.berth(['create', '--name', 'shm', '--shm-size', '16m', 'busybox']));
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.ShmSize}}', 'shm'])).stdout, '16777216\n');
    ok(await d.berth(['rm', 'shm']));
  });

  it('run --cidfile writes the container ID, and refuses an existing file', async () => {
    const file = path.join(d.dir, 'cid');
    const r = await d.berth(['run', '-d', '--name', 'cid', '--cidfile', file, 'busybox', 'true']);
    ok(r);
    assert.equal(await fs.readFile(file, 'utf8'), r.stdout.trim());
    const again = await d.berth(['run', '-d', '--cidfile', file, 'busybox', 'true']);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /Container ID file found, make sure the other container isn't running or delete/);
    ok(await d.berth(['rm', '-f', 'cid']));
  });

  it('run --no-healthcheck disables the image’s HEALTHCHECK', async () => {
    ok(await d.berth(['run', '--name', 'hcbase', 'busybox', 'true']));
    ok(await d.berth(['commit', '-c', 'HEALTHCHECK --interval=1s CMD true', 'hcbase', 'cov/health:1']));
    ok(await d.berth(['run', '-d', '--name', 'withhc', 'cov/health:1', 'sleep', '600']));
    await waitFor(async () => (await d.berth(['inspect', '-f', '{{.State.Health.Status}}', 'withhc'])).stdout === 'healthy\n', 'the image’s health check to pass');
    ok(await d.berth(['run', '-d', '--name', 'nohc', '--no-healthcheck', 'cov/health:1', 'sleep', '600']));
    assert.equal((await d.berth(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'nohc'])).stdout, '["NONE"]\n');
    assert.equal('Health' in (JSON.parse((await d.berth(['inspect', '-f', '{{json .State}}', 'nohc'])).stdout) as object), false, 'no health state');
    assert.match((await d.berth(['ps', '--filter', 'name=nohc', '--format', '{{.Status}}'])).stdout, /^Up [^(]*\n$/, 'no health shown');
    ok(await d.berth(['rm', '-f', 'hcbase', 'withhc', 'nohc']));
    ok(await d.berth(['rmi', 'cov/health:1']));
  });

  it('run --detach-keys detaches with the given keys', async () => {
    ok(await d.berth(['run', '-d', '-i', '--name', 'dk', 'busybox', 'cat']));
    // ctrl-x then "y": the daemon detaches the client and the container keeps running.
    const r = await d.berth(['attach', '--detach-keys', 'ctrl-x,y', 'dk'], { input: Buffer.concat([Buffer.from('one\n'), Buffer.from([0x18]), Buffer.from('y')]), timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'dk'])).stdout, 'running\n');
    assert.equal((await d.berth(['logs', 'dk'])).stdout, 'one\n');
    ok(await d.berth(['rm', '-f', 'dk']));
    // run -it under a terminal: the same keys detach from the run itself (without a TTY, run -i closes
    // the container's stdin when the client goes, as dockerd does, and cat would end).
    const cli = `${process.execPath} -- ${CLI} -H ${d.host}`;
    const withRun = await runCmd(['script', '-qec', `${cli} run -it --name dk2 --detach-keys ctrl-x,y busybox cat`, '/dev/null'], { input: Buffer.concat([Buffer.from('two\n'), Buffer.from([0x18]), Buffer.from('y')]), timeoutMs: 20_000 });
    assert.equal(withRun.code, 0, withRun.stdout);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'dk2'])).stdout, 'running\n');
    assert.match((await d.berth(['logs', 'dk2'])).stdout, /two\r\n/);
    ok(await d.berth(['rm', '-f', 'dk2']));
  });

  it('run --pull never, missing and always', async () => {
    const name = `${reg.host}/cov/pull:1`;
    ok(await d.berth(['tag', 'busybox', name]));
    ok(await d.berth(['push', name]));
    ok(await d.berth(['rmi', name]));
    const never = await d.berth(['run', '--rm', '--pull', 'never', name, 'true']);
    assert.equal(never.code, 125);
    assert.match(never.stderr, /No such image/);
    const missing = await d.berth(['run', '--rm', '--pull', 'missing', name, 'echo', 'pulled']);
    ok(missing);
    assert.equal(missing.stdout, 'pulled\n');
    assert.match(missing.stderr, /Unable to find image .* locally/);
    const always = await d.berth(['run', '--rm', '--pull', 'always', name, 'echo', 'again']);
    ok(always);
    assert.equal(always.stdout, 'again\n');
    assert.match(always.stderr, /Status: Image is up to date for/, 'it asked the registry although the image was there');
    const bad = await d.berth(['run', '--rm', '--pull', 'sometimes', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid pull option: 'sometimes': must be one of "always", "missing" or "never"/);
    ok(await d.berth(['rmi', name]));
  });

  it('run --platform picks the image’s platform and refuses another', async () => {
    const r = await d.berth(['run', '--rm', '--platform', 'linux/amd64', 'busybox', 'echo', 'amd64']);
    ok(r);
    assert.equal(r.stdout, 'amd64\n');
    const other = await d.berth(['run', '--rm', '--pull', 'never', '--platform', 'linux/arm64', 'busybox', 'true']);
    assert.equal(other.code, 125);
    assert.match(other.stderr, /image with reference busybox was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
  });

  it('run --cpu-shares and --cpuset-cpus reach the cgroup and inspect', async () => {
    ok(await d.berth(['run', '-d', '--name', 'cpu', '--cpu-shares', '512', '--cpuset-cpus', '0', 'busybox', 'sleep', '600']));
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}}', 'cpu'])).stdout, '512 0\n');
    const inside = await d.berth(['exec', 'cpu', 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status; if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cat /sys/fs/cgroup/cpu.weight; else cat /sys/fs/cgroup/cpu/cpu.shares; fi']);
    // cgroup v2 has cpu.weight: runc converts shares 512 to weight 20.
    assert.match(inside.stdout, /^Cpus_allowed_list:\s+0\n(512|20)\n$/);
    ok(await d.berth(['rm', '-f', 'cpu']));
  });

  // ---- save, logs, ps, rmi ----

  it('save writes several images into one archive that loads back', async () => {
    ok(await d.berth(['run', '--name', 'sv', 'busybox', 'sh', '-c', 'echo two > /two']));
    ok(await d.berth(['commit', 'sv', 'cov/two:1']));
    ok(await d.berth(['rm', 'sv']));
    const archive = path.join(d.dir, 'two.tar');
    ok(await d.berth(['save', '-o', archive, 'busybox', 'cov/two:1']));
    const manifest = JSON.parse((await runCmd(['tar', '-xOf', archive, 'manifest.json'])).stdout) as { RepoTags: string[] }[];
    assert.deepEqual(manifest.map((m) => m.RepoTags).sort(), [['busybox:latest'], ['cov/two:1']]);
    const ids = async () => (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox', 'cov/two:1'])).stdout;
    const before = await ids();
    ok(await d.berth(['rmi', 'cov/two:1']));
    const load = await d.berth(['load', '-i', archive]);
    ok(load);
    assert.match(load.stdout, /Loaded image: cov\/two:1\n/);
    assert.equal(await ids(), before);
    assert.equal((await d.berth(['run', '--rm', 'cov/two:1', 'cat', '/two'])).stdout, 'two\n');
    ok(await d.berth(['rmi', 'cov/two:1']));
  });

  it('logs --until shows only what came before the time', async () => {
    ok(await d.berth(['run', '--name', 'lu', 'busybox', 'sh', '-c', 'echo first; echo second; echo third']));
    const stamped = (await d.berth(['logs', '-t', 'lu'])).stdout.trim().split('\n');
    assert.equal(stamped.length, 3);
    const second = stamped[1]!.split(' ')[0]!;
    const until = await d.berth(['logs', '--until', second, 'lu']);
    ok(until);
    assert.equal(until.stdout, 'first\nsecond\n');
    const none = await d.berth(['logs', '--until', '2000-01-01T00:00:00Z', 'lu']);
    assert.equal(none.stdout, '');
    const all = await d.berth(['logs', '--since', second, '--until', '0s', 'lu']);
    assert.equal(all.stdout, 'second\nthird\n');
    ok(await d.berth(['rm', 'lu']));
  });

  it('ps -s shows sizes, -n and -l the last created containers', async () => {
    ok(await d.berth(['run', '--name', 'ps1', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /blob']));
    ok(await d.berth(['create', '--name', 'ps2', 'busybox']));
    ok(await d.berth(['create', '--name', 'ps3', 'busybox']));
    const sized = await d.berth(['ps', '-a', '-s', '--filter', 'name=ps1']);
    assert.match(sized.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE\n/);
    assert.match(sized.stdout, /ps1\s+[\d.]+kB \(virtual [\d.]+MB\)\n$/);
    assert.equal((await d.berth(['ps', '-n', '2', '--format', '{{.Names}}'])).stdout, 'ps3\nps2\n');
    assert.equal((await d.berth(['ps', '-l', '--format', '{{.Names}}'])).stdout, 'ps3\n');
    assert.equal((await d.berth(['ps', '-lq'])).stdout.trim(), (await d.berth(['inspect', '-f', '{{.Id}}', 'ps3'])).stdout.trim().slice(0, 12));
    ok(await d.berth(['rm', 'ps1', 'ps2', 'ps3']));
  });

  it('rmi --no-prune keeps the untagged parent', async () => {
    // parent ← child: committed one on the other, so the child's parent is the parent image.
    ok(await d.berth(['run', '--name', 'p1', 'busybox', 'sh', '-c', 'echo 1 > /one']));
    ok(await d.berth(['commit', 'p1', 'cov/parent:1']));
    ok(await d.berth(['run', '--name', 'p2', 'cov/parent:1', 'sh', '-c', 'echo 2 > /two']));
    ok(await d.berth(['commit', 'p2', 'cov/child:1']));
    ok(await d.berth(['rm', 'p1', 'p2']));
    const parentId = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'cov/parent:1'])).stdout.trim();
    assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Parent}}', 'cov/child:1'])).stdout.trim(), parentId);
    const childId = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'cov/child:1'])).stdout.trim();
    ok(await d.berth(['tag', 'cov/child:1', 'cov/child:2']));
    ok(await d.berth(['rmi', 'cov/parent:1']));
    assert.equal((await d.berth(['image', 'inspect', parentId])).code, 0, 'untagged, the parent stays while its child exists');
    const byId = await d.berth(['rmi', parentId]);
    assert.equal(byId.code, 1);
    assert.match(byId.stderr, /conflict: unable to delete [0-9a-f]{12} \(cannot be forced\) - image has dependent child images/);
    ok(await d.berth(['rmi', 'cov/child:1']));
    const noPrune = await d.berth(['rmi', '--no-prune', 'cov/child:2']);
    ok(noPrune);
    assert.match(noPrune.stdout, new RegExp(`^Untagged: cov/child:2\nDeleted: ${childId}\n`));
    assert.ok(!noPrune.stdout.includes(parentId), noPrune.stdout);
    assert.equal((await d.berth(['image', 'inspect', parentId])).code, 0, '--no-prune kept the untagged parent');
    ok(await d.berth(['rmi', parentId]));
    // Without --no-prune the untagged parent goes with its last child.
    ok(await d.berth(['run', '--name', 'p3', 'busybox', 'true']));
    ok(await d.berth(['commit', 'p3', 'cov/parent:3']));
    ok(await d.berth(['run', '--name', 'p4', 'cov/parent:3', 'true']));
    ok(await d.berth(['commit', 'p4', 'cov/child:4']));
    ok(await d.berth(['rm', 'p3', 'p4']));
    const parent3 = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'cov/parent:3'])).stdout.trim();
    ok(await d.berth(['rmi', 'cov/parent:3']));
    const pruned = await d.berth(['rmi', 'cov/child:4']);
    ok(pruned);
    assert.match(pruned.stdout, new RegExp(`Deleted: ${parent3}\n`), 'the untagged parent was pruned');
    assert.equal((await d.berth(['image', 'inspect', parent3])).code, 1);
  });
});
