// Networks as a user sees them: bridges, discovery by name and alias, isolation between networks, published
// ports answering on 127.0.0.1, --network none/host/container:, static addresses, a daemon restart, and the
// bad inputs (nothing half-created). Real bridges, veths and nftables; traffic stays on this machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { TestDaemon } from './harness.js';
import { httpGet, httpGetReady } from '../support/api.js';

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

/**
 * The devices of daemon d (other test runs may share the host): its default bridge, the bridges of its networks
 * (tagged with its root) and the veths on them.
 */
function linksOf(d: TestDaemon): string[] {
  const all = JSON.parse(spawnSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' }).stdout || '[]') as { ifname: string; ifalias?: string; master?: string }[];
  const bridges = new Set([d.bridge, ...all.filter((l) => l.ifalias === `berth root=${d.root}`).map((l) => l.ifname)]);
  return all.filter((l) => bridges.has(l.ifname) || (l.master && bridges.has(l.master))).map((l) => l.ifname);
}

/** The kernel frees a namespace's veths in the background: wait (bounded) for d's devices to be these again. */
async function linksSettle(d: TestDaemon, expected: string[]): Promise<string[]> {
  for (let i = 0; i < 100 && linksOf(d).join() !== expected.join(); i++) await new Promise((r) => setTimeout(r, 50));
  return linksOf(d);
}

/** The host's own global IPv4 addresses (not on a berth bridge): containers reach published ports there too. */
function hostIPv4(): string[] {
  const out = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).stdout;
  const links = JSON.parse(out || '[]') as { ifname: string; flags: string[]; addr_info: { local: string }[] }[];
  return links.filter((l) => !/^(bt|br-|berth|veth|bd)/.test(l.ifname) && l.flags.includes('UP')).flatMap((l) => l.addr_info.map((a) => a.local)).slice(0, 1);
}

const BR_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/**
 * Run fn with bridged IPv4 traffic passing netfilter's IP hooks (br_netfilter loaded, bridge-nf-call-iptables=1)
 * or not, then restore the state found. Where br_netfilter is a module, it is loaded or unloaded; where it is
 * built in (no modprobe), the sysctl switches the same hooks on and off.
 */
async function withBridgeNetfilter<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const loaded = existsSync(BR_NF);
  if (!loaded && on && spawnSync('modprobe', ['br_netfilter']).status !== 0) {
    throw new Error('br_netfilter is not loaded and `modprobe br_netfilter` failed: cannot test published ports with it');
  }
  const found = loaded ? readFileSync(BR_NF, 'utf8').trim() : undefined;
  if (existsSync(BR_NF)) writeFileSync(BR_NF, on ? '1' : '0');
  try {
    return await fn();
  } finally {
    if (found !== undefined) writeFileSync(BR_NF, found);
    else spawnSync('modprobe', ['-r', 'br_netfilter']);
  }
}

/** Run fn with net.ipv4.ip_forward set to `value`, then restore the value found. */
async function withIpForward<T>(value: string, fn: () => Promise<T>): Promise<T> {
  const found = readFileSync(IP_FORWARD, 'utf8').trim();
  writeFileSync(IP_FORWARD, value);
  try {
    return await fn();
  } finally {
    writeFileSync(IP_FORWARD, found);
  }
}

/** Run fn with iptables' FORWARD policy DROP, as dockerd leaves it, then restore the policy (and the table) found. */
async function withForwardDrop<T>(drop: boolean, fn: () => Promise<T>): Promise<T> {
  if (!drop) return fn();
  const hadTable = spawnSync('nft', ['list', 'table', 'ip', 'filter']).status === 0;
  const policy = /-P FORWARD (\w+)/.exec(spawnSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' }).stdout)?.[1] ?? 'ACCEPT';
  assert.equal(spawnSync('iptables', ['-P', 'FORWARD', 'DROP']).status, 0, 'iptables -P FORWARD DROP');
  try {
    return await fn();
  } finally {
    spawnSync('iptables', ['-P', 'FORWARD', policy]);
    if (!hadTable) spawnSync('nft', ['delete', 'table', 'ip', 'filter']);
  }
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
    // From containers through the host's addresses (the default bridge's gateway, the host's own), and from
    // the container itself (hairpin): with and without br_netfilter's hooks on bridged traffic, and with
    // and without the iptables FORWARD DROP policy dockerd leaves (its side effects hide missing rules).
    const gw = JSON.parse((await d.berth(['network', 'inspect', 'bridge'])).stdout)[0].IPAM.Config[0].Gateway as string;
    const targets = [gw, ...hostIPv4()];
    // The gateway's MAC must not change as containers come and go, or containers holding it in their ARP
    // cache lose the gateway (and so their own published ports) for a while.
    const bridgeMac = readFileSync(`/sys/class/net/${d.bridge}/address`, 'utf8');
    // With net.ipv4.ip_forward=0 throughout, as on a fresh Debian machine where no dockerd ever ran.
    await withIpForward('0', async () => {
      for (const nf of [false, true]) {
        for (const forwardDrop of [false, true]) {
          const state = `br_netfilter ${nf ? 'on' : 'off'}, FORWARD policy ${forwardDrop ? 'DROP' : 'as found'}`;
          await withBridgeNetfilter(nf, () =>
            withForwardDrop(forwardDrop, async () => {
              for (const ip of targets) {
                const other = await d.berth(['run', '--rm', 'busybox', 'timeout', '10', 'wget', '-qO-', `http://${ip}:18782/`]);
                assert.match(other.stdout, /^hello from/, `another container to ${ip}:18782 (${state}): ${other.stderr}`);
              }
              const self = await d.berth(['exec', 'pub', 'timeout', '10', 'wget', '-qO-', `http://${gw}:18782/`]);
              assert.match(self.stdout, /^hello from/, `the container to its own published port (${state}): ${self.stderr}`);
              assert.match(await httpGet(18782), /^hello from/, `the host on 127.0.0.1 (${state})`);
              for (const ip of targets) assert.match(await httpGet(18782, ip), /^hello from/, `the host on ${ip} (${state})`);
            }),
          );
        }
      }
    });
    assert.equal(readFileSync(`/sys/class/net/${d.bridge}/address`, 'utf8'), bridgeMac, 'the bridge keeps its MAC');
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
      const before = linksOf(d);
      const r = await d.berth(['run', '-d', '--name', 'clash', '-p', '18783:80', 'busybox', ...WEB]);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /Bind for 0\.0\.0\.0:18783 failed: port is already allocated/);
      const st = JSON.parse((await d.berth(['inspect', 'clash'])).stdout)[0].State;
      assert.equal(st.Running, false);
      assert.deepEqual(await linksSettle(d, before), before, 'no veth left behind');
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
    const before = linksOf(d);
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
    assert.deepEqual(await linksSettle(d, before), before, 'no bridge or veth left behind');
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
