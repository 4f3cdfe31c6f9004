// Networks as a user sees them: bridges, discovery by name and alias, isolation between networks, published
// ports answering on 127.0.0.1, --network none/host/container:, static addresses, a daemon restart, and the
// bad inputs (nothing half-created). Real bridges, veths and nftables; traffic stays on this machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { TestDaemon } from './harness.js';

/** GET http://127.0.0.1:port/ with a bounded wait; the body, or the error's code. */
function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
  });
}

/** httpGet once the server answers: a detached container's server may take a moment to listen. */
async function httpGetReady(port: number): Promise<string> {
  let body = await httpGet(port);
  for (let i = 0; i < 50 && body === 'error:ECONNREFUSED'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    body = await httpGet(port);
  }
  return body;
}

/** Whether a TCP port on 127.0.0.1 can be bound now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function links(): string[] {
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(Boolean);
}

/** The kernel frees a namespace's veths in the background: wait a little for the count to settle. */
async function linksSettle(expected: number): Promise<number> {
  for (let i = 0; i < 40 && links().length !== expected; i++) await new Promise((r) => setTimeout(r, 50));
  return links().length;
}

const WEB = ['sh', '-c', 'echo "hello from $(hostname)" > /www; mkdir -p /w && mv /www /w/index.html; exec httpd -f -p 80 -h /w'];

describe('networks', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('lists the predefined networks and puts the default bridge on its own device', async () => {
    const ls = await d.berth(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.equal(ls.stdout, 'bridge bridge local\nhost host local\nnone null local\n');
    const bridge = JSON.parse((await d.berth(['network', 'inspect', 'bridge'])).stdout)[0];
    assert.equal(bridge.Options['com.docker.network.bridge.name'], d.bridge);
    assert.ok(links().includes(d.bridge), 'the bridge device exists');
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip route']);
    const subnet = bridge.IPAM.Config[0].Subnet as string;
    assert.match(r.stdout, new RegExp(`inet ${subnet.split('.').slice(0, 2).join('\\.')}\\.`));
    assert.match(r.stdout, new RegExp(`default via ${bridge.IPAM.Config[0].Gateway.replace(/\./g, '\\.')}`));
  });

  it('resolves names and aliases on a user network, not across networks', async () => {
    assert.equal((await d.berth(['network', 'create', '--subnet', '10.231.1.0/24', 'front'])).code, 0);
    assert.equal((await d.berth(['network', 'create', 'back'])).code, 0);
    const web = await d.berth(['run', '-d', '--name', 'web', '--network', 'front', '--network-alias', 'www', 'busybox', ...WEB]);
    assert.equal(web.code, 0, web.stderr);
    const same = await d.berth(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', 'wget -qO- http://web/; wget -qO- http://www/; cat /etc/resolv.conf']);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /^hello from [0-9a-f]{12}\nhello from [0-9a-f]{12}\n/);
    assert.match(same.stdout, /nameserver 10\.231\.1\.1\noptions ndots:0/);
    const other = await d.berth(['run', '--rm', '--network', 'back', 'busybox', 'sh', '-c', 'nslookup web; echo rc=$?; nc -z -w 2 10.231.1.2 80; echo nc=$?']);
    assert.match(other.stdout, /can't find web/);
    assert.match(other.stdout, /nc=1/, 'another network cannot reach the address either');
    const dflt = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'nslookup web >/dev/null 2>&1; echo rc=$?']);
    assert.match(dflt.stdout, /rc=1/, 'names do not resolve on the default bridge');
    const ins = JSON.parse((await d.berth(['inspect', 'web'])).stdout)[0];
    const ep = ins.NetworkSettings.Networks.front;
    assert.equal(ep.IPAddress, '10.231.1.2');
    assert.equal(ep.Gateway, '10.231.1.1');
    assert.equal(ep.MacAddress, '02:42:0a:e7:01:02');
    assert.deepEqual(ep.Aliases, ['www', ins.Id.slice(0, 12)], 'the short ID is an alias too, as dockerd shows it to API < 1.45 clients');
    const net = JSON.parse((await d.berth(['network', 'inspect', 'front'])).stdout)[0];
    assert.equal(net.Containers[ins.Id].IPv4Address, '10.231.1.2/24');
  });

  it('connects and disconnects a running container', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    assert.equal((await d.berth(['network', 'connect', '--alias', 'api', 'back', 'web'])).code, 0);
    const r = await d.berth(['run', '--rm', '--network', 'back', 'busybox', 'wget', '-qO-', 'http://api/']);
    assert.match(r.stdout, /^hello from/);
    const twice = await d.berth(['network', 'connect', 'back', 'web']);
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /already exists in network back/);
    assert.equal((await d.berth(['network', 'disconnect', 'back', 'web'])).code, 0);
    const gone = await d.berth(['run', '--rm', '--network', 'back', 'busybox', 'sh', '-c', 'nslookup api >/dev/null 2>&1; echo rc=$?']);
    assert.match(gone.stdout, /rc=1/);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const ev = await d.berth(['events', '--since', since, '--until', until, '--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    assert.match(ev.stdout, /connect back\n(.*\n)*disconnect back\n/);
  });

  it('publishes ports on 127.0.0.1 and the host, -P onto ephemeral ports, released at stop', async () => {
    const r = await d.berth(['run', '-d', '--name', 'pub', '-p', '127.0.0.1:18781:80', '-p', '18782:80', '--expose', '81', '-P', 'busybox', ...WEB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await httpGetReady(18781), /^hello from/);
    assert.match(await httpGet(18782), /^hello from/);
    const port = await d.berth(['port', 'pub']);
    assert.match(port.stdout, /80\/tcp -> 127\.0\.0\.1:18781\n/);
    assert.match(port.stdout, /80\/tcp -> 0\.0\.0\.0:18782\n/);
    const eph = /81\/tcp -> 0\.0\.0\.0:(\d+)/.exec(port.stdout);
    assert.ok(eph && Number(eph[1]) >= 1024, `-P published 81 on an ephemeral port: ${port.stdout}`);
    const ps = await d.berth(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']);
    assert.match(ps.stdout, /127\.0\.0\.1:18781->80\/tcp/);
    // From another container through the host's address (the default bridge gateway).
    const gw = JSON.parse((await d.berth(['network', 'inspect', 'bridge'])).stdout)[0].IPAM.Config[0].Gateway;
    const hairpin = await d.berth(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${gw}:18782/`]);
    assert.match(hairpin.stdout, /^hello from/);
    assert.equal(await portFree(18781), false, 'the host port is held while the container runs');
    assert.equal((await d.berth(['stop', '-t', '1', 'pub'])).code, 0);
    assert.equal(await portFree(18781), true, 'released when the container stops');
    assert.match(await httpGet(18782), /^error:/);
    assert.equal((await d.berth(['rm', 'pub'])).code, 0);
  });

  it('refuses a host port in use with a clear error and leaves nothing behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(18783, '0.0.0.0', r));
    try {
      const before = links().length;
      const r = await d.berth(['run', '-d', '--name', 'clash', '-p', '18783:80', 'busybox', ...WEB]);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /Bind for 0\.0\.0\.0:18783 failed: port is already allocated/);
      const st = JSON.parse((await d.berth(['inspect', 'clash'])).stdout)[0].State;
      assert.equal(st.Running, false);
      assert.equal(await linksSettle(before), before, 'no veth left behind');
      await d.berth(['rm', 'clash']);
    } finally {
      blocker.close();
    }
  });

  it('has only lo with --network none, the host interfaces with --network host, shares with container:', async () => {
    const none = await d.berth(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
    assert.equal(none.stdout, 'lo\n');
    const host = await d.berth(['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net']);
    assert.ok(host.stdout.split('\n').includes(d.bridge), 'the host namespace has the bridge');
    const shared = await d.berth(['run', '--rm', '--network', 'container:web', 'busybox', 'wget', '-qO-', 'http://127.0.0.1/']);
    assert.match(shared.stdout, /^hello from/);
  });

  it('gives static addresses and never the same address twice', async () => {
    const a = await d.berth(['run', '-d', '--name', 'fixed', '--network', 'front', '--ip', '10.231.1.50', 'busybox', 'sleep', '60']);
    assert.equal(a.code, 0, a.stderr);
    const dup = await d.berth(['run', '--rm', '--network', 'front', '--ip', '10.231.1.50', 'busybox', 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Address already in use: 10\.231\.1\.50/);
    const ips = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await d.berth(['run', '-d', '--network', 'front', 'busybox', 'sleep', '60']);
      ips.add(JSON.parse((await d.berth(['inspect', r.stdout.trim()])).stdout)[0].NetworkSettings.Networks.front.IPAddress);
    }
    assert.equal(ips.size, 3);
    assert.ok(!ips.has('10.231.1.50') && !ips.has('10.231.1.2'));
    const onBridge = await d.berth(['run', '--rm', '--ip', '172.30.0.9', 'busybox', 'true']);
    assert.match(onBridge.stderr, /user specified IP address is supported on user defined networks only/);
  });

  it('keeps addresses and names across a daemon restart', async () => {
    const before = JSON.parse((await d.berth(['inspect', 'web'])).stdout)[0].NetworkSettings.Networks.front.IPAddress;
    await d.stopProcess();
    await d.startProcess();
    const after = JSON.parse((await d.berth(['inspect', 'web'])).stdout)[0].NetworkSettings.Networks.front.IPAddress;
    assert.equal(after, before);
    const r = await d.berth(['run', '--rm', '--network', 'front', 'busybox', 'wget', '-qO-', 'http://web/']);
    assert.match(r.stdout, /^hello from/);
    const next = await d.berth(['run', '-d', '--network', 'front', 'busybox', 'sleep', '60']);
    const ip = JSON.parse((await d.berth(['inspect', next.stdout.trim()])).stdout)[0].NetworkSettings.Networks.front.IPAddress;
    assert.notEqual(ip, before, 'a running container keeps its lease');
  });

  it('refuses bad network input and leaves nothing half-created', async () => {
    const before = links().length;
    const cases: [string[], RegExp][] = [
      [['network', 'create', '--subnet', '10.231.1.128/25', 'overlap'], /Pool overlaps with other one on this address space/],
      [['network', 'create', '--subnet', '10.232.0.0/24', '--gateway', '10.233.0.1', 'badgw'], /invalid gateway 10\.233\.0\.1/],
      [['network', 'create', 'front'], /network with name front already exists/],
      [['network', 'create', '--subnet', 'nonsense', 'badsub'], /invalid CIDR address: nonsense/],
      [['network', 'create', '-d', 'overlay', 'ov'], /plugin "overlay" not found/],
      [['network', 'rm', 'front'], /has active endpoints/],
      [['network', 'rm', 'bridge'], /pre-defined network and cannot be removed/],
      [['run', '--rm', '--network', 'nosuch', 'busybox', 'true'], /network nosuch not found/],
      [['run', '--rm', '--network-alias', 'x', 'busybox', 'true'], /network-scoped alias is supported only for containers in user defined networks/],
    ];
    for (const [args, msg] of cases) {
      const r = await d.berth(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, msg, args.join(' '));
    }
    assert.equal(await linksSettle(before), before, 'no bridge or veth left behind');
    const names = (await d.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
    assert.ok(!names.includes('overlap') && !names.includes('badgw'));
  });

  it('removes and prunes networks, with their bridges', async () => {
    const id = (await d.berth(['network', 'create', '--label', 'tmp=1', 'scratch'])).stdout.trim();
    const dev = `br-${id.slice(0, 12)}`;
    assert.ok(links().includes(dev));
    assert.equal((await d.berth(['network', 'rm', 'scratch'])).stdout, 'scratch\n');
    assert.ok(!links().includes(dev), 'the bridge went with the network');
    await d.berth(['network', 'create', 'unused']);
    const pruned = await d.berth(['network', 'prune', '-f']);
    assert.match(pruned.stdout, /Deleted Networks:\n(.*\n)*unused\n/);
    assert.doesNotMatch(pruned.stdout, /front/, 'a network in use stays');
  });

  it('works with the real docker CLI: network create/ls/rm and run --network/-p', async () => {
    assert.equal((await d.docker(['network', 'create', '--subnet', '10.234.0.0/24', 'dnet'])).code, 0);
    const ls = await d.docker(['network', 'ls', '--filter', 'name=dnet', '--format', '{{.Name}} {{.Driver}}']);
    assert.equal(ls.stdout, 'dnet bridge\n');
    const run = await d.docker(['run', '-d', '--name', 'dweb', '--network', 'dnet', '-p', '127.0.0.1:18784:80', 'busybox', ...WEB]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(await httpGetReady(18784), /^hello from/);
    const ip = await d.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'dweb']);
    assert.equal(ip.stdout, '10.234.0.2\n');
    const port = await d.docker(['port', 'dweb', '80']);
    assert.equal(port.stdout, '127.0.0.1:18784\n');
    assert.equal((await d.docker(['rm', '-f', 'dweb'])).code, 0);
    assert.equal((await d.docker(['network', 'rm', 'dnet'])).code, 0);
  });
});
