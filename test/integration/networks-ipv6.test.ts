// IPv6 on user-defined bridge networks, as dockerd 20.10 does it: `network create --ipv6 --subnet <v6>`,
// the gateway on the bridge, an address and a default route per container (allocated or --ip6), the
// addresses in inspect, AAAA answers from the embedded DNS, and dockerd's errors. Traffic stays on the bridge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TestDaemon } from './harness.js';

const WEB = ['sh', '-c', 'echo "hello from $(hostname)" > /www; mkdir -p /w && mv /www /w/index.html; exec httpd -f -p 80 -h /w'];

/** The IPv6 addresses of a host device, as `ip -6 addr` lists them. */
function hostIPv6(dev: string): string[] {
  const r = spawnSync('ip', ['-j', '-6', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  return (links[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

describe('networks over IPv6', () => {
  let d: TestDaemon;
  const inspect = async (ref: string) => JSON.parse((await d.berth(['inspect', ref])).stdout)[0];
  const netInspect = async (ref: string) => JSON.parse((await d.berth(['network', 'inspect', ref])).stdout)[0];
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('gives the bridge the gateway and each container an address and a default route; they reach each other by name and address', async () => {
    const c = await d.berth(['network', 'create', '--ipv6', '--subnet', 'fd00:be7:6::/64', 'six']);
    assert.equal(c.code, 0, c.stderr);
    const net = await netInspect('six');
    assert.equal(net.EnableIPv6, true);
    assert.equal(net.IPAM.Config.length, 2, 'an IPv4 subnet from the default pools beside the IPv6 one, as dockerd gives');
    assert.match(net.IPAM.Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    assert.deepEqual(net.IPAM.Config[1], { Subnet: 'fd00:be7:6::/64' }, 'no Gateway shown when none was given, as dockerd');
    const bridge = `br-${net.Id.slice(0, 12)}`;
    assert.deepEqual(hostIPv6(bridge), ['fd00:be7:6::1/64'], 'the bridge has the gateway address');

    const web = await d.berth(['run', '-d', '--name', 'web6', '--network', 'six', 'busybox', ...WEB]);
    assert.equal(web.code, 0, web.stderr);
    const fixed = await d.berth(['run', '-d', '--name', 'fixed6', '--network', 'six', '--ip6', 'fd00:be7:6::f00d', 'busybox', 'sleep', '600']);
    assert.equal(fixed.code, 0, fixed.stderr);

    const ep = (await inspect('web6')).NetworkSettings.Networks.six;
    assert.equal(ep.GlobalIPv6Address, 'fd00:be7:6::2');
    assert.equal(ep.GlobalIPv6PrefixLen, 64);
    assert.equal(ep.IPv6Gateway, 'fd00:be7:6::1');
    assert.equal(ep.IPAMConfig, null);
    const fep = (await inspect('fixed6')).NetworkSettings.Networks.six;
    assert.equal(fep.GlobalIPv6Address, 'fd00:be7:6::f00d');
    assert.deepEqual(fep.IPAMConfig, { IPv6Address: 'fd00:be7:6::f00d' });
    const containers = (await netInspect('six')).Containers;
    const ids = [(await inspect('web6')).Id, (await inspect('fixed6')).Id];
    assert.equal(containers[ids[0]].IPv6Address, 'fd00:be7:6::2/64');
    assert.equal(containers[ids[1]].IPv6Address, 'fd00:be7:6::f00d/64');

    const r = await d.berth(['exec', 'fixed6', 'sh', '-c', 'ip -6 route show default; ip -6 -o addr show eth0 scope global; ping -6 -c1 -W3 web6 >/dev/null; echo ping-name=$?; ping -6 -c1 -W3 fd00:be7:6::1 >/dev/null; echo ping-gw=$?; wget -qO- "http://[fd00:be7:6::2]/"; nslookup -type=AAAA web6 | grep -c fd00:be7:6::2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^default via fd00:be7:6::1 dev eth0/m);
    assert.match(r.stdout, /inet6 fd00:be7:6::f00d\/64 scope global/);
    assert.match(r.stdout, /ping-name=0\n/, 'ping -6 by name: the embedded DNS answers AAAA');
    assert.match(r.stdout, /ping-gw=0\n/);
    assert.match(r.stdout, /hello from [0-9a-f]{12}\n/);
    assert.match(r.stdout, /^1$/m, 'nslookup -type=AAAA finds the address');
    const a = await d.berth(['exec', 'fixed6', 'nslookup', '-type=A', 'web6']);
    assert.match(a.stdout, new RegExp(`Address: ${ep.IPAddress.replace(/\./g, '\\.')}`), 'A answers stay IPv4');
    assert.doesNotMatch(a.stdout, /fd00/);
  });

  it('connects with --ip6, frees the address on disconnect, and keeps leases across a restart', async () => {
    const cr = await d.berth(['create', '--name', 'late6', 'busybox', 'sleep', '600']);
    assert.equal(cr.code, 0, cr.stderr);
    assert.equal((await d.berth(['start', 'late6'])).code, 0);
    const conn = await d.berth(['network', 'connect', '--ip6', 'fd00:be7:6::beef', 'six', 'late6']);
    assert.equal(conn.code, 0, conn.stderr);
    const ep = (await inspect('late6')).NetworkSettings.Networks.six;
    assert.deepEqual(ep.IPAMConfig, { IPv6Address: 'fd00:be7:6::beef' });
    assert.equal(ep.GlobalIPv6Address, 'fd00:be7:6::beef');
    // By address: late6 started on the default bridge, so its resolv.conf is the host's (as with dockerd).
    const ping = await d.berth(['exec', 'late6', 'ping', '-6', '-c1', '-W3', 'fd00:be7:6::2']);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const taken = await d.berth(['run', '--rm', '--network', 'six', '--ip6', 'fd00:be7:6::beef', 'busybox', 'true']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /Address already in use/);
    assert.equal((await d.berth(['network', 'disconnect', 'six', 'late6'])).code, 0);
    const gone = (await inspect('late6')).NetworkSettings.Networks.six;
    assert.equal(gone, undefined);
    const reuse = await d.berth(['run', '--rm', '--network', 'six', '--ip6', 'fd00:be7:6::beef', 'busybox', 'ip', '-6', '-o', 'addr', 'show', 'eth0', 'scope', 'global']);
    assert.equal(reuse.code, 0, reuse.stderr);
    assert.match(reuse.stdout, /fd00:be7:6::beef\/64/, 'the address was given back on disconnect');

    await d.stopProcess();
    await d.startProcess();
    assert.equal((await inspect('web6')).NetworkSettings.Networks.six.GlobalIPv6Address, 'fd00:be7:6::2');
    const next = await d.berth(['run', '--rm', '--network', 'six', 'busybox', 'sh', '-c', 'ip -6 -o addr show eth0 scope global; ping -6 -c1 -W3 web6 >/dev/null && echo reached']);
    assert.equal(next.code, 0, next.stderr);
    assert.doesNotMatch(next.stdout, /fd00:be7:6::2\//, 'a running container keeps its IPv6 lease');
    assert.match(next.stdout, /reached/);
  });

  it('isolates IPv6 networks from each other, even where the host routes IPv6', async () => {
    const c = await d.berth(['network', 'create', '--ipv6', '--subnet', 'fd00:be7:5::/64', 'other6']);
    assert.equal(c.code, 0, c.stderr);
    const r = await d.berth(['run', '--rm', '--network', 'other6', 'busybox', 'sh', '-c', 'ping -6 -c1 -W2 fd00:be7:5::1 >/dev/null; echo gw=$?; ping -6 -c1 -W2 fd00:be7:6::2 >/dev/null; echo other=$?']);
    assert.match(r.stdout, /gw=0\n/, 'its own gateway answers');
    assert.match(r.stdout, /other=1\n/, 'a container on another network does not');
    assert.equal((await d.berth(['network', 'rm', 'other6'])).code, 0);
  });

  it('takes a gateway and ip-range, and an IPv4 subnet beside the IPv6 one in either order', async () => {
    const c = await d.berth(['network', 'create', '--ipv6', '--subnet', 'fd00:be7:7::/64', '--subnet', '10.239.7.0/24', '--gateway', 'fd00:be7:7::ffff', '--ip-range', 'fd00:be7:7::/96', 'both']);
    assert.equal(c.code, 0, c.stderr);
    const net = await netInspect('both');
    assert.deepEqual(net.IPAM.Config, [
      { Subnet: '10.239.7.0/24', Gateway: '10.239.7.1' },
      { Subnet: 'fd00:be7:7::/64', Gateway: 'fd00:be7:7::ffff', IPRange: 'fd00:be7:7::/96' },
    ]);
    const r = await d.berth(['run', '--rm', '--network', 'both', 'busybox', 'sh', '-c', 'ip -6 -o addr show eth0 scope global; ip -6 route show default']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /inet6 fd00:be7:7::1\/64/, 'the first address is free when the gateway is elsewhere');
    assert.match(r.stdout, /default via fd00:be7:7::ffff/);
    assert.equal((await d.berth(['network', 'rm', 'both'])).code, 0);
  });

  it('keeps an IPv6 subnet without --ipv6 as dockerd does: shown, --ip6 recorded, no address given', async () => {
    const c = await d.berth(['network', 'create', '--subnet', 'fd00:be7:8::/64', 'v6off']);
    assert.equal(c.code, 0, c.stderr);
    const net = await netInspect('v6off');
    assert.equal(net.EnableIPv6, false);
    assert.deepEqual(net.IPAM.Config[1], { Subnet: 'fd00:be7:8::/64' });
    assert.equal(hostIPv6(`br-${net.Id.slice(0, 12)}`).length, 0);
    const r = await d.berth(['run', '-d', '--name', 'off6', '--network', 'v6off', '--ip6', 'fd00:be7:8::5', 'busybox', 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
    const ep = (await inspect('off6')).NetworkSettings.Networks.v6off;
    assert.deepEqual(ep.IPAMConfig, { IPv6Address: 'fd00:be7:8::5' });
    assert.equal(ep.GlobalIPv6Address, '');
    assert.equal(ep.IPv6Gateway, '');
    assert.notEqual(ep.IPAddress, '');
    assert.equal((await d.berth(['rm', '-f', 'off6'])).code, 0);
  });

  it("refuses bad IPv6 input with dockerd's messages and leaves nothing half-created", async () => {
    assert.equal((await d.berth(['network', 'create', '--subnet', '10.239.9.0/24', 'v4only'])).code, 0);
    const nets = (await d.berth(['network', 'ls', '-q'])).stdout;
    const cases: [string[], RegExp][] = [
      [['network', 'create', '--ipv6', 'nosub'], /could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network/],
      [['network', 'create', '--ipv6', '--subnet', 'fd00:be7:zz::/64', 'badsub'], /Invalid subnet fd00:be7:zz::\/64 : invalid CIDR address: fd00:be7:zz::\/64/],
      [['network', 'create', '--ipv6', '--subnet', 'fd00:be7:6::/48', 'overlap'], /Pool overlaps with other one on this address space/],
      [['network', 'create', '--ipv6', '--subnet', 'fd00:be7:a::/64', '--gateway', 'fd00:be7:b::1', 'badgw'], /invalid gateway fd00:be7:b::1/],
      [['run', '--rm', '--network', 'six', '--ip6', 'zz', 'busybox', 'true'], /invalid IPv6 address: zz/],
      [['run', '--rm', '--network', 'six', '--ip6', 'fd00:be7:9::5', 'busybox', 'true'], /Invalid address fd00:be7:9::5: It does not belong to any of this network's subnets/],
      [['run', '--rm', '--network', 'v4only', '--ip6', 'fd00:be7:6::9', 'busybox', 'true'], /user specified IP address is supported only when connecting to networks with user configured subnets/],
      [['run', '--rm', '--ip6', 'fd00:be7:6::9', 'busybox', 'true'], /user specified IP address is supported on user defined networks only/],
      [['network', 'connect', '--ip6', 'fd00:be7:9::5', 'six', 'late6'], /Invalid address fd00:be7:9::5/],
      [['network', 'connect', '--ip6', 'fd00:be7:6::9', 'v4only', 'late6'], /user specified IP address is supported only when connecting to networks with user configured subnets/],
    ];
    for (const [args, err] of cases) {
      const r = await d.berth(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, err, args.join(' '));
    }
    assert.equal((await d.berth(['network', 'ls', '-q'])).stdout, nets, 'no network was created');
    assert.equal(Object.keys((await inspect('late6')).NetworkSettings.Networks).join(), 'bridge', 'no endpoint was recorded');
  });

  it('removes the bridge with its IPv6 address when the network goes', async () => {
    assert.equal((await d.berth(['rm', '-f', 'web6', 'fixed6', 'late6'])).code, 0);
    const id = (await netInspect('six')).Id as string;
    assert.equal((await d.berth(['network', 'rm', 'six'])).code, 0);
    assert.equal(spawnSync('ip', ['link', 'show', `br-${id.slice(0, 12)}`]).status, 1);
  });
});
