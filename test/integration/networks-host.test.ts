// berthd and the host's network state: a second berthd on a new root adopts the default bridge's address
// instead of adding one; no network gets a subnet that overlaps an address or route of the host; a berthd
// killed (SIGKILL) while creating a network or while starting containers with published ports leaves, after
// its restart, no bridge, netns, veth or address without its network or running container, and every
// container it had created starts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { TestDaemon, runCmd } from './harness.js';
import { httpGetReady } from '../support/api.js';

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** The IPv4 addresses on a device ("a.b.c.d/len"), [] if it does not exist. */
function addressesOf(dev: string): string[] {
  const r = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as IpAddrInfo[]).flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

/** Every IPv4 address on the host with its device. */
function hostAddresses(): { dev: string; cidr: string }[] {
  const r = spawnSync('ip', ['-j', '-4', 'addr'], { encoding: 'utf8' });
  return (JSON.parse(r.stdout || '[]') as IpAddrInfo[]).flatMap((l) => (l.addr_info ?? []).map((a) => ({ dev: l.ifname, cidr: `${a.local}/${a.prefixlen}` })));
}

function linkExists(dev: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', dev]).status === 0;
}

/** The ports (veths) enslaved to a bridge. */
function portsOf(bridge: string): string[] {
  const r = spawnSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' });
  return (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function cidrOverlaps(a: string, b: string): boolean {
  const [ai, al] = a.split('/');
  const [bi, bl] = b.split('/');
  const bits = Math.min(Number(al), Number(bl));
  const size = 2 ** (32 - bits);
  return Math.floor(toInt(ai!) / size) === Math.floor(toInt(bi!) / size);
}

const WEB = ['sh', '-c', 'echo "hello from $(hostname)" > /www; mkdir -p /w && mv /www /w/index.html; exec httpd -f -p 80 -h /w'];

/** Run the berth CLI against d and SIGKILL berthd `delayMs` after the commands were sent. */
async function killDuring(d: TestDaemon, commands: string[][], delayMs: number): Promise<void> {
  const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '../../src/cli/main.js');
  const children = commands.map((args) => spawn(process.execPath, [cli, '-H', d.host, ...args], { stdio: 'ignore' }));
  const done = children.map((c) => new Promise((r) => c.once('exit', r)));
  await new Promise((r) => setTimeout(r, delayMs)); // the kill point, not a synchronisation: assertions are on state
  await d.stopProcess('SIGKILL');
  await Promise.all(done);
  await d.startProcess();
}

describe('networks and the host', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('a second berthd on the same bridge device adopts its address instead of adding one', async () => {
    const first = await TestDaemon.start();
    const subnet = JSON.parse((await first.berth(['network', 'inspect', 'bridge'])).stdout)[0].IPAM.Config[0];
    assert.deepEqual(addressesOf(first.bridge), [`${subnet.Gateway}/${subnet.Subnet.split('/')[1]}`]);
    await first.stopProcess(); // as dockerd does, the bridge stays with its address
    const second = await TestDaemon.start(['--bridge', first.bridge]);
    try {
      const again = JSON.parse((await second.berth(['network', 'inspect', 'bridge'])).stdout)[0].IPAM.Config[0];
      assert.deepEqual(again, subnet, 'the existing address is the default bridge subnet');
      assert.deepEqual(addressesOf(first.bridge), [`${subnet.Gateway}/${subnet.Subnet.split('/')[1]}`], 'no second address on the bridge');
      // A new network gets a subnet that overlaps no address of the host.
      const id = (await second.berth(['network', 'create', 'n2'])).stdout.trim();
      const n2 = JSON.parse((await second.berth(['network', 'inspect', 'n2'])).stdout)[0].IPAM.Config[0].Subnet as string;
      const clash = hostAddresses().find((a) => a.dev !== `br-${id.slice(0, 12)}` && cidrOverlaps(a.cidr, n2));
      assert.equal(clash, undefined, `${n2} overlaps ${JSON.stringify(clash)}`);
      assert.equal((await second.berth(['network', 'rm', 'n2'])).code, 0);
      await second.importBusybox();
      const r = await second.berth(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0']);
      assert.match(r.stdout, new RegExp(`inet ${subnet.Subnet.split('.').slice(0, 3).join('\\.')}\\.`));
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });

  it('refuses a --subnet that overlaps a host address or route, naming it; picks around them', async () => {
    const dev = 'bthost' + String(process.pid % 10000);
    const up = await runCmd(['ip', '-batch', '-'], { input: `link add ${dev} type bridge\naddr add 10.239.5.1/24 dev ${dev}\nlink set ${dev} up\naddr add 10.239.6.1/24 dev ${dev}\n` });
    assert.equal(up.code, 0, up.stderr);
    try {
      const routed = await d.berth(['network', 'create', '--subnet', '10.239.5.128/25', 'routed']);
      assert.equal(routed.code, 1);
      assert.match(routed.stderr, /Pool overlaps with other one on this address space: 10\.239\.5\.128\/25 overlaps 10\.239\.5\.0\/24, a route of the host .*bthost/);
      // An address on a device that is down has no route, and is still the host's.
      await runCmd(['ip', 'link', 'set', dev, 'down']);
      const addressed = await d.berth(['network', 'create', '--subnet', '10.239.6.0/24', 'addressed']);
      assert.equal(addressed.code, 1);
      assert.match(addressed.stderr, /10\.239\.6\.0\/24 overlaps 10\.239\.6\.1\/24, an address of the host .*bthost/);
      const ls = (await d.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
      assert.ok(!ls.includes('routed') && !ls.includes('addressed'), 'nothing half-created');
    } finally {
      await runCmd(['ip', 'link', 'del', dev]);
    }
  });

  it('leaves no bridge or address of a network whose creation was cut off by SIGKILL', async () => {
    // The crash point made exact: the bridge exists, its record was never written.
    const half = `btk${process.pid % 1000}h`;
    const id = (await d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${half}`, 'half'])).stdout.trim();
    assert.ok(linkExists(half));
    await d.stopProcess('SIGKILL');
    await fs.rm(path.join(d.root, 'networks', `${id}.json`));
    await d.startProcess();
    assert.equal(linkExists(half), false, 'the bridge without its record is removed at start');
    assert.match((await d.berth(['network', 'inspect', 'half'])).stderr, /No such network/);
    // And real kills at a few points of `network create`.
    for (const [i, delay] of [0, 40, 90, 160, 300].entries()) {
      const dev = `btk${process.pid % 1000}x${i}`;
      await killDuring(d, [['network', 'create', '-o', `com.docker.network.bridge.name=${dev}`, `killed${i}`]], delay);
      const r = await d.berth(['network', 'inspect', `killed${i}`]);
      if (r.code === 0) {
        const cfg = JSON.parse(r.stdout)[0].IPAM.Config[0];
        assert.deepEqual(addressesOf(dev), [`${cfg.Gateway}/${cfg.Subnet.split('/')[1]}`], `network killed${i} has its bridge`);
        assert.equal((await d.berth(['network', 'rm', `killed${i}`])).code, 0);
      } else {
        assert.match(r.stderr, /No such network/);
        assert.equal(linkExists(dev), false, `no bridge ${dev} without its network (killed after ${delay} ms)`);
      }
      assert.equal(linkExists(dev), false);
      const table = spawnSync('nft', ['list', 'table', 'ip', `berth-${d.bridge}`], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(table, new RegExp(`"${dev}"`), 'no firewall rule for it either');
    }
  });

  it('removes the bridges a berthd left behind when its root was removed', async () => {
    const gone = await TestDaemon.start();
    const dev = `btg${process.pid % 10000}`;
    try {
      assert.equal((await gone.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${dev}`, 'orphan'])).code, 0);
      await gone.stopProcess(); // as dockerd does, the bridges stay
      await fs.rm(gone.root, { recursive: true, force: true });
      assert.ok(linkExists(dev));
      await d.stopProcess();
      await d.startProcess();
      assert.equal(linkExists(dev), false, 'the next berthd removes a bridge whose root is gone');
    } finally {
      await gone.cleanup();
    }
  });

  it('leaves no netns, veth or address without a running container after SIGKILL during run -d -p', async () => {
    const netnsDir = path.join(d.execRoot, 'netns');
    let port = 18790;
    for (const delay of [20, 80, 150, 250, 400, 700]) {
      const cmds = [0, 1, 2].map(() => ['run', '-d', '-p', `127.0.0.1:${port++}:80`, 'busybox', ...WEB]);
      await killDuring(d, cmds, delay);
      // Every container berthd knows of that is not running can start now.
      const notRunning = (await d.berth(['ps', '-aq', '--no-trunc', '--filter', 'status=created', '--filter', 'status=exited'])).stdout.split('\n').filter(Boolean);
      for (const id of notRunning) {
        const s = await d.berth(['start', id]);
        assert.equal(s.code, 0, `container ${id} starts after the crash: ${s.stderr}`);
      }
      const ids = (await d.berth(['ps', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      const inspected = (ids.length ? JSON.parse((await d.berth(['inspect', ...ids])).stdout) : []) as {
        Id: string;
        State: { Running: boolean };
        NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }>; Ports: Record<string, { HostPort: string }[] | null> };
      }[];
      assert.ok(inspected.every((c) => c.State.Running));
      // No sandbox without its running container.
      const keys = new Set(inspected.map((c) => c.NetworkSettings.SandboxKey));
      const sandboxes = (await fs.readdir(netnsDir).catch(() => [] as string[])).map((f) => path.join(netnsDir, f));
      assert.deepEqual(sandboxes.filter((s) => !keys.has(s)), [], `after a kill at ${delay} ms: sandboxes without a running container`);
      const mounted = (await fs.readFile('/proc/self/mounts', 'utf8')).split('\n').filter((l) => l.includes(netnsDir + '/')).map((l) => l.split(' ')[1]!);
      assert.deepEqual(mounted.filter((m) => !keys.has(m)), [], 'no netns mount without a running container');
      // One veth per running container on the bridge, and no address given twice.
      assert.equal(portsOf(d.bridge).length, inspected.length, `veths on ${d.bridge}: ${portsOf(d.bridge).join(' ')}`);
      const ips = inspected.map((c) => c.NetworkSettings.Networks.bridge!.IPAddress);
      assert.equal(new Set(ips).size, ips.length, `addresses: ${ips.join(' ')}`);
      // Each answers on its own published port, as itself.
      for (const c of inspected) {
        const hostPort = Number(c.NetworkSettings.Ports['80/tcp']![0]!.HostPort);
        assert.equal(await httpGetReady(hostPort), `hello from ${c.Id.slice(0, 12)}\n`);
      }
    }
  });
});

describe('net.ipv4.ip_forward', () => {
  const SYSCTL = '/proc/sys/net/ipv4/ip_forward';
  const current = async () => (await fs.readFile(SYSCTL, 'utf8')).trim();
  it('is turned on at start as dockerd does (containers’ outbound NAT needs it), and left alone with --ip-forward=false', async () => {
    const found = await current();
    // Both daemons are started (and the host recorded) as found; the sysctl is off only while they restart.
    const off = await TestDaemon.start();
    const on = await TestDaemon.start();
    try {
      await fs.writeFile(SYSCTL, '0');
      await off.stopProcess();
      await off.startProcess();
      assert.equal(await current(), '0', 'the harness starts berthd with --ip-forward=false');
      await on.stopProcess();
      await on.startProcess(['--ip-forward=true']);
      assert.equal(await current(), '1', 'berthd --ip-forward=true (the default) turns forwarding on');
    } finally {
      await fs.writeFile(SYSCTL, found);
      await on.cleanup();
      await off.cleanup();
    }
  });
});
