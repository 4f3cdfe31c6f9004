// What docker-py's own integration suite (../shared/conformance/docker-py) found berthd doing differently
// from dockerd, each checked here through the Engine API as docker-py calls it (conformance-dockerpy.test
// runs the suite itself).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TestDaemon, tarOf } from './harness.js';
import { api } from '../support/api.js';


async function json<T = Record<string, unknown>>(d: TestDaemon, method: string, p: string, body?: unknown): Promise<T> {
  const r = await api(d, method, p, body);
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** POST /exec/{id}/start as docker-py sends it (Upgrade: tcp); every byte after the headers, until the end. */
function execStartRaw(d: TestDaemon, id: string, body: unknown): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const sock = net.createConnection(d.socket);
    const chunks: Buffer[] = [];
    sock.on('connect', () =>
      sock.write(`POST /v1.44/exec/${id}/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`),
    );
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
  });
}

/** Payloads of a multiplexed stream, by stream number. */
function demux(buf: Buffer): Record<number, string> {
  const out: Record<number, string> = {};
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out[buf[i]!] = (out[buf[i]!] ?? '') + buf.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  return out;
}

describe('what docker-py found', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  async function runDetached(cmd: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: cmd, ...extra });
    const r = await api(d, 'POST', `/v1.44/containers/${Id}/start`);
    assert.equal(r.status, 204, r.body);
    return Id;
  }

  it('kill (SIGKILL) answers once the container has stopped, with exit code 137', async () => {
    const id = await runDetached(['sleep', '9999']);
    assert.equal((await api(d, 'POST', `/v1.44/containers/${id}/kill`)).status, 204);
    const state = (await json<{ State: { Running: boolean; ExitCode: number } }>(d, 'GET', `/v1.44/containers/${id}/json`)).State;
    assert.equal(state.Running, false);
    assert.equal(state.ExitCode, 137);
    assert.equal((await api(d, 'DELETE', `/v1.44/containers/${id}`)).status, 204, 'a killed container can be removed at once');
  });

  it("exec: the process gets the TTY it was created with; the start request's Tty frames the stream", async () => {
    const id = await runDetached(['sleep', '9999']);
    const mk = async (Tty: boolean) =>
      (await json<{ Id: string }>(d, 'POST', `/v1.44/containers/${id}/exec`, { Cmd: ['sh', '-c', 'echo out; echo err >&2'], Tty, AttachStdout: true, AttachStderr: true })).Id;
    // A TTY exec started with Tty:false (docker-py's default): the terminal's output, framed as stdout.
    const framed = demux(await execStartRaw(d, await mk(true), { Tty: false, Detach: false }));
    assert.deepEqual(framed, { 1: 'out\r\nerr\r\n' });
    // A TTY exec started with Tty:true: raw terminal bytes.
    assert.equal((await execStartRaw(d, await mk(true), { Tty: true, Detach: false })).toString(), 'out\r\nerr\r\n');
    // No TTY, started with Tty:false: stdout and stderr apart.
    assert.deepEqual(demux(await execStartRaw(d, await mk(false), { Tty: false, Detach: false })), { 1: 'out\n', 2: 'err\n' });
    await api(d, 'DELETE', `/v1.44/containers/${id}?force=1`);
  });

  it('exec create takes "detachKeys" as Go decodes JSON (any case) and checks it', async () => {
    const id = await runDetached(['sleep', '9999']);
    const { Id } = await json<{ Id: string }>(d, 'POST', `/v1.44/containers/${id}/exec`, { Cmd: ['true'], detachKeys: 'ctrl-x' });
    assert.equal((await json<{ DetachKeys: string }>(d, 'GET', `/v1.44/exec/${Id}/json`)).DetachKeys, 'ctrl-x');
    const bad = await api(d, 'POST', `/v1.44/containers/${id}/exec`, { Cmd: ['true'], detachKeys: 'ctrl-foo' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Invalid detach keys/);
    await api(d, 'DELETE', `/v1.44/containers/${id}?force=1`);
  });

  it('keeps what an endpoint asked for (links, driver options, link-local IPs, MAC) and applies it', async () => {
    const { Id: netId } = await json<{ Id: string }>(d, 'POST', '/v1.44/networks/create', { Name: 'dpy-ep' });
    const ep = { Links: ['dpy-up:bar'], DriverOpts: { 'com.example.setting': 'on' }, IPAMConfig: { LinkLocalIPs: ['169.254.8.8'] }, MacAddress: '02:42:ac:11:00:99' };
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', {
      Image: 'busybox',
      Cmd: ['sleep', '9999'],
      HostConfig: { NetworkMode: 'dpy-ep' },
      NetworkingConfig: { EndpointsConfig: { 'dpy-ep': ep } },
    });
    type Inspect = { NetworkSettings: { Networks: Record<string, Record<string, unknown>> } };
    const before = (await json<Inspect>(d, 'GET', `/v1.44/containers/${Id}/json`)).NetworkSettings.Networks['dpy-ep']!;
    assert.deepEqual(before.Links, ['dpy-up:bar']);
    assert.deepEqual(before.DriverOpts, { 'com.example.setting': 'on' });
    assert.deepEqual(before.IPAMConfig, { LinkLocalIPs: ['169.254.8.8'] });
    assert.equal(before.MacAddress, '02:42:ac:11:00:99', 'the MAC asked for shows before start');
    await api(d, 'POST', `/v1.44/containers/${Id}/start`);
    const live = (await json<Inspect>(d, 'GET', `/v1.44/containers/${Id}/json`)).NetworkSettings.Networks['dpy-ep']!;
    assert.equal(live.MacAddress, '02:42:ac:11:00:99');
    assert.ok((live.Aliases as string[]).includes(Id.slice(0, 12)), 'the short ID is an alias (API < 1.45)');
    const addr = await d.berth(['exec', Id, 'ip', 'addr', 'show', 'eth0']);
    assert.match(addr.stdout, /link\/ether 02:42:ac:11:00:99/);
    assert.match(addr.stdout, /inet 169\.254\.8\.8\/16/);
    // The link's alias resolves to its target, for the linking container.
    const up = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create?name=dpy-up', { Image: 'busybox', Cmd: ['sleep', '9999'], HostConfig: { NetworkMode: 'dpy-ep' } });
    await api(d, 'POST', `/v1.44/containers/${up.Id}/start`);
    const upIp = (await json<Inspect>(d, 'GET', `/v1.44/containers/${up.Id}/json`)).NetworkSettings.Networks['dpy-ep']!.IPAddress as string;
    const ns = await d.berth(['exec', Id, 'nslookup', 'bar']);
    assert.equal(ns.code, 0, ns.stdout + ns.stderr);
    assert.ok(ns.stdout.includes(upIp), ns.stdout);
    // After stop, the MAC asked for stays; a derived one would go.
    await api(d, 'POST', `/v1.44/containers/${Id}/stop?t=0`);
    const stopped = (await json<Inspect>(d, 'GET', `/v1.44/containers/${Id}/json`)).NetworkSettings.Networks['dpy-ep']!;
    assert.equal(stopped.MacAddress, '02:42:ac:11:00:99');
    const bad = await api(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { 'dpy-ep': { MacAddress: 'nope' } } }, HostConfig: { NetworkMode: 'dpy-ep' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /nope is not a valid mac address/);
    for (const c of (await d.berth(['ps', '-aq'])).stdout.split('\n').filter(Boolean)) await api(d, 'DELETE', `/v1.44/containers/${c}?force=1`);
    await api(d, 'DELETE', `/v1.44/networks/${netId}`);
  });

  it("Config.MacAddress is the default network's MAC", async () => {
    const id = await runDetached(['sleep', '9999'], { MacAddress: '02:42:ac:11:00:0a' });
    const ns = (await json<{ NetworkSettings: { MacAddress: string } }>(d, 'GET', `/v1.44/containers/${id}/json`)).NetworkSettings;
    assert.equal(ns.MacAddress, '02:42:ac:11:00:0a');
    await api(d, 'DELETE', `/v1.44/containers/${id}?force=1`);
  });

  it('IPAM AuxiliaryAddresses are kept, shown and never given to a container', async () => {
    const aux = { a: '10.213.77.2', b: '10.213.77.3' };
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/networks/create', {
      Name: 'dpy-aux',
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.77.0/29', Gateway: '10.213.77.1', AuxiliaryAddresses: aux }] },
    });
    const ipam = (await json<{ IPAM: { Config: unknown[] } }>(d, 'GET', `/v1.44/networks/${Id}`)).IPAM;
    assert.deepEqual(ipam.Config, [{ Subnet: '10.213.77.0/29', Gateway: '10.213.77.1', AuxiliaryAddresses: aux }]);
    const c = await runDetached(['sleep', '9999'], { HostConfig: { NetworkMode: 'dpy-aux' } });
    const ip = (await json<{ NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>(d, 'GET', `/v1.44/containers/${c}/json`)).NetworkSettings.Networks['dpy-aux']!.IPAddress;
    assert.equal(ip, '10.213.77.4', 'the first address not held by the gateway or an auxiliary address');
    await api(d, 'DELETE', `/v1.44/containers/${c}?force=1`);
    await api(d, 'DELETE', `/v1.44/networks/${Id}`);
    const outside = await api(d, 'POST', '/v1.44/networks/create', { Name: 'dpy-aux2', IPAM: { Config: [{ Subnet: '10.213.78.0/24', AuxiliaryAddresses: { x: '10.0.0.1' } }] } });
    assert.equal(outside.status, 400);
    assert.match(outside.body, /auxiliary address: \(x:10\.0\.0\.1\) must belong to the master pool: 10\.213\.78\.0\/24/);
  });

  it('a network name may contain spaces, as in dockerd; a slash is refused', async () => {
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/networks/create', { Name: 'test 01' });
    assert.equal((await json<{ Id: string }>(d, 'GET', '/v1.44/networks/test%2001')).Id, Id);
    assert.equal((await api(d, 'DELETE', '/v1.44/networks/test%2001')).status, 204);
    const slash = await api(d, 'POST', '/v1.44/networks/create', { Name: 'a/b' });
    assert.equal(slash.status, 400);
    assert.match((JSON.parse(slash.body) as { message: string }).message, /must not contain "\/"/);
  });

  it('HostConfig.Runtime: "runc" by default and when asked for; an unknown one is refused', async () => {
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: { Runtime: 'runc' } });
    assert.equal((await json<{ HostConfig: { Runtime: string } }>(d, 'GET', `/v1.44/containers/${Id}/json`)).HostConfig.Runtime, 'runc');
    const plain = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox' });
    assert.equal((await json<{ HostConfig: { Runtime: string } }>(d, 'GET', `/v1.44/containers/${plain.Id}/json`)).HostConfig.Runtime, 'runc');
    const bad = await api(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: { Runtime: 'bogus' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Unknown runtime specified bogus/);
    for (const c of [Id, plain.Id]) await api(d, 'DELETE', `/v1.44/containers/${c}`);
  });

  it('images/load of a bad archive answers 200 with the error in the stream (docker-py raises ImageLoadError)', async () => {
    const r = await api(d, 'POST', '/v1.44/images/load', Buffer.from('abc'), 'application/x-tar');
    assert.equal(r.status, 200);
    const last = JSON.parse(r.body.trim().split('\n').pop()!) as { error?: string; errorDetail?: { message: string } };
    assert.ok(last.error && last.errorDetail?.message, r.body);
  });

  it('put_archive into a volume of a container never started, then the container sees the file', async () => {
    const { Id } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: ['cat', '/vol1/data.txt'], Volumes: { '/vol1': {} } });
    const tar = await tarOf([['data.txt', 'Deaf To All But The Song']]);
    const put = await api(d, 'PUT', `/v1.44/containers/${Id}/archive?path=%2Fvol1`, tar, 'application/x-tar');
    assert.equal(put.status, 200, put.body);
    await api(d, 'POST', `/v1.44/containers/${Id}/start`);
    await api(d, 'POST', `/v1.44/containers/${Id}/wait`);
    const logs = await d.berth(['logs', Id]);
    assert.equal(logs.stdout, 'Deaf To All But The Song');
    await api(d, 'DELETE', `/v1.44/containers/${Id}?v=1`);
  });

  /** POST /build with a one-file context; the JSON messages of the stream. */
  async function build(dockerfile: string, query: string): Promise<{ stream?: string; error?: string; errorDetail?: { code?: number; message: string } }[]> {
    const r = await api(d, 'POST', `/v1.44/build?${query}`, await tarOf([['Dockerfile', dockerfile]]), 'application/x-tar');
    assert.equal(r.status, 200, r.body);
    return r.body.trim().split('\n').map((l) => JSON.parse(l) as { stream?: string });
  }

  it('build: RUN joins a user-defined network (names resolve), sees extrahosts, shows stderr in red; a failed RUN gives its exit code', async () => {
    const { Id: netId } = await json<{ Id: string }>(d, 'POST', '/v1.44/networks/create', { Name: 'dpy-buildnet' });
    const { Id: aliased } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: ['sleep', '9999'] });
    await api(d, 'POST', `/v1.44/containers/${aliased}/start`);
    const connect = await api(d, 'POST', `/v1.44/networks/${netId}/connect`, { Container: aliased, EndpointConfig: { Aliases: ['pingtarget.docker'] } });
    assert.equal(connect.status, 200, connect.body);
    const onNet = await build('FROM busybox\nRUN nslookup pingtarget.docker && cp /etc/hosts /hosts-file\n', `networkmode=dpy-buildnet&t=dpy-netbuild&extrahosts=${encodeURIComponent('extrahost.local.test:127.0.0.1')}`);
    assert.equal(onNet.find((m) => m.error)?.error, undefined, JSON.stringify(onNet));
    const hosts = await d.berth(['run', '--rm', 'dpy-netbuild', 'cat', '/hosts-file']);
    assert.match(hosts.stdout, /127\.0\.0\.1\textrahost\.local\.test/);
    const none = await build('FROM busybox\nRUN ping -c1 -W1 pingtarget.docker\n', 'networkmode=none&nocache=1');
    assert.equal(none.at(-1)?.errorDetail?.code, 1, JSON.stringify(none.at(-1)));
    const missing = await api(d, 'POST', '/v1.44/build?networkmode=dpy-nosuchnet', await tarOf([['Dockerfile', 'FROM busybox\nRUN true\n']]), 'application/x-tar');
    assert.match(missing.body, /network dpy-nosuchnet not found|No such network/i);
    const red = await build(`FROM busybox\nRUN sh -c ">&2 echo 'to stderr'"\n`, 'nocache=1');
    assert.ok(red.some((m) => m.stream === '\x1b[91mto stderr\n\x1b[0m'), JSON.stringify(red));
    await api(d, 'DELETE', `/v1.44/containers/${aliased}?force=1`);
    await api(d, 'DELETE', `/v1.44/networks/${netId}`);
    await api(d, 'DELETE', '/v1.44/images/dpy-netbuild');
  });

  it('build: an error before any output is an HTTP error status, as dockerd answers (no Dockerfile in the context)', async () => {
    const r = await api(d, 'POST', '/v1.44/build?t=a/b/c', await tarOf([['README', 'no Dockerfile here']]), 'application/x-tar');
    assert.ok(r.status >= 400, `${r.status} ${r.body}`);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)), 'an error reply has a length (docker-py reads a chunked one as a stream)');
    assert.match((JSON.parse(r.body) as { message: string }).message, /Cannot locate specified Dockerfile: Dockerfile/);
  });

  it("image inspect's Config has the fields Go always writes (OnBuild, Entrypoint, Volumes… null when unset)", async () => {
    const cfg = (await json<{ Config: Record<string, unknown> }>(d, 'GET', '/v1.44/images/busybox/json')).Config;
    for (const k of ['OnBuild', 'Entrypoint', 'Volumes', 'Labels']) assert.ok(k in cfg, `Config.${k} is missing`);
    assert.equal(cfg.OnBuild, null);
    assert.deepEqual(cfg.Cmd, ['sh']);
  });

  it('legacy links on the default bridge: ALIAS_* variables, /etc/hosts, and rm --link removes only the link', async () => {
    const { Id: db } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create?name=dpy-db', { Image: 'busybox', Cmd: ['sleep', '9999'], Env: ['FOO=1'], ExposedPorts: { '5432/tcp': {} } });
    await api(d, 'POST', `/v1.44/containers/${db}/start`);
    const dbIp = (await json<{ NetworkSettings: { IPAddress: string } }>(d, 'GET', `/v1.44/containers/${db}/json`)).NetworkSettings.IPAddress;
    const missing = await api(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: { Links: ['dpy-nosuch:x'] } });
    assert.equal(missing.status, 404, missing.body);
    const { Id: app } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create?name=dpy-app', { Image: 'busybox', Cmd: ['sh', '-c', 'env; cat /etc/hosts'], HostConfig: { Links: ['dpy-db:my-db'] } });
    await api(d, 'POST', `/v1.44/containers/${app}/start`);
    await api(d, 'POST', `/v1.44/containers/${app}/wait`);
    const out = (await d.berth(['logs', app])).stdout;
    for (const v of ['MY_DB_NAME=/dpy-app/my-db', 'MY_DB_ENV_FOO=1', `MY_DB_PORT=tcp://${dbIp}:5432`, `MY_DB_PORT_5432_TCP_ADDR=${dbIp}`, 'MY_DB_PORT_5432_TCP_PORT=5432']) {
      assert.ok(out.split('\n').includes(v), `${v} missing:\n${out}`);
    }
    assert.match(out, new RegExp(`^${dbIp.replace(/\./g, '\\.')}\tmy-db [0-9a-f]{12} dpy-db$`, 'm'));
    assert.equal((await api(d, 'DELETE', '/v1.44/containers/dpy-app/my-db?link=1')).status, 204);
    assert.equal((await json<{ HostConfig: { Links: unknown } }>(d, 'GET', `/v1.44/containers/${app}/json`)).HostConfig.Links, null);
    assert.equal((await api(d, 'DELETE', '/v1.44/containers/dpy-app/my-db?link=1')).status, 404, 'a link removed twice');
    assert.equal((await api(d, 'GET', `/v1.44/containers/${db}/json`)).status, 200, 'the linked container stays');
    // A link to a container that is not running refuses the start, as dockerd does.
    await api(d, 'POST', `/v1.44/containers/${db}/kill`);
    const { Id: late } = await json<{ Id: string }>(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: { Links: ['dpy-db:db'] } });
    const refused = await api(d, 'POST', `/v1.44/containers/${late}/start`);
    assert.equal(refused.status, 409, refused.body);
    assert.match(refused.body, /Cannot link to a non running container: \/dpy-db AS \/[a-z_]+\/db/);
    for (const c of [db, app, late]) await api(d, 'DELETE', `/v1.44/containers/${c}?force=1`);
  });

  it('berth run --link NAME[:ALIAS] as the docker CLI sends it (a bare name links under itself)', async () => {
    assert.equal((await d.berth(['run', '-d', '--name', 'lnk-db', 'busybox', 'sleep', '9999'])).code, 0);
    const r = await d.berth(['run', '--rm', '--link', 'lnk-db', '--link', 'lnk-db:alias', 'busybox', 'sh', '-c', 'ping -c1 -W2 lnk-db >/dev/null && ping -c1 -W2 alias >/dev/null && echo reached']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'reached');
    await d.berth(['rm', '-f', 'lnk-db']);
  });
});
