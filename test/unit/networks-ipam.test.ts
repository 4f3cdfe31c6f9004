// IPAM and the firewall table: subnet arithmetic, pool choice, leases, and the nftables text berth writes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator, Allocator6, formatCidr6, formatIPv4, formatIPv6, isIPv6, overlaps, overlaps6, parseCidr, parseCidr6, parseIPv4, parseIPv6, pickSubnet } from '../../src/engine/networks/ipam.js';
import { Firewall } from '../../src/engine/networks/firewall.js';

describe('ipam', () => {
  it('parses and compares subnets', () => {
    assert.equal(formatIPv4(parseIPv4('10.1.2.3')), '10.1.2.3');
    assert.deepEqual(parseCidr('10.1.2.3/24'), { base: parseIPv4('10.1.2.0'), bits: 24 });
    assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.9.0.0/16')));
    assert.ok(!overlaps(parseCidr('10.0.0.0/24'), parseCidr('10.0.1.0/24')));
    assert.throws(() => parseCidr('nonsense'), /invalid CIDR address: nonsense/);
    assert.throws(() => parseIPv4('1.2.3.256'), /invalid IPv4 address/);
  });

  it('picks the first default pool nothing uses', () => {
    assert.equal(formatIPv4(pickSubnet([]).base), '172.17.0.0');
    const used = [parseCidr('172.17.0.0/16'), parseCidr('172.18.5.0/24')].map((cidr) => ({ cidr, what: 'x' }));
    assert.deepEqual(pickSubnet(used), parseCidr('172.19.0.0/16'));
  });

  it('names what each default pool overlaps when all are taken', () => {
    const used = [
      { cidr: parseCidr('172.16.0.0/12'), what: '172.16.0.0/12, a route of the host (dev vpn0)' },
      { cidr: parseCidr('192.168.0.0/16'), what: '192.168.1.5/16, an address of the host (on wlan0)' },
    ];
    assert.throws(
      () => pickSubnet(used),
      (e: Error) =>
        /^could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network: 172\.17\.0\.0\/16 overlaps 172\.16\.0\.0\/12, a route of the host \(dev vpn0\);/.test(e.message) &&
        e.message.includes('192.168.240.0/20 overlaps 192.168.1.5/16, an address of the host (on wlan0)'),
    );
  });

  it('hands out addresses round-robin, never twice, skipping the gateway', () => {
    const a = new Allocator(parseCidr('10.0.0.0/29'), parseIPv4('10.0.0.1'));
    const got = [a.allocate(), a.allocate(), a.allocate()].map(formatIPv4);
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    a.release(parseIPv4('10.0.0.2'));
    assert.equal(formatIPv4(a.allocate()), '10.0.0.5', 'a released address is not reused at once');
    assert.equal(formatIPv4(a.allocate()), '10.0.0.6');
    assert.equal(formatIPv4(a.allocate()), '10.0.0.2', 'wraps around to the freed one');
    assert.throws(() => a.allocate(), /no available IPv4 addresses/);
  });

  it('claims static addresses and refuses taken or foreign ones', () => {
    const a = new Allocator(parseCidr('10.0.0.0/24'), parseIPv4('10.0.0.1'), parseCidr('10.0.0.128/25'));
    a.claim(parseIPv4('10.0.0.50'), 'c1');
    assert.throws(() => a.claim(parseIPv4('10.0.0.50'), 'c2'), /Address already in use: 10\.0\.0\.50/);
    assert.throws(() => a.claim(parseIPv4('10.0.0.1'), 'c2'), /Address already in use/);
    assert.throws(() => a.claim(parseIPv4('10.0.1.5'), 'c2'), /no configured subnet or ip-range contain the IP address 10\.0\.1\.5/);
    assert.equal(formatIPv4(a.allocate()), '10.0.0.128', 'dynamic addresses come from the ip-range');
  });
});

describe('ipam, IPv6', () => {
  it('parses and prints addresses in the canonical form (RFC 5952)', () => {
    const canon = (s: string) => formatIPv6(parseIPv6(s));
    assert.equal(canon('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'the first of two equal zero runs');
    assert.equal(canon('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
    assert.equal(canon('::'), '::');
    assert.equal(canon('::1'), '::1');
    assert.equal(canon('fe80::'), 'fe80::');
    assert.equal(canon('::ffff:10.1.2.3'), '::ffff:a01:203');
    assert.equal(parseIPv6('2001:389::f00d'), 0x2001_0389_0000_0000_0000_0000_0000_f00dn);
    for (const bad of ['zz', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '1:2:3:4:5:6:7', ':::', '2001:db8::1.2.3.256']) {
      assert.throws(() => parseIPv6(bad), new RegExp(`invalid IPv6 address: ${bad.replace(/\./g, '\\.')}`), bad);
    }
    assert.ok(isIPv6('2001:db8::1') && !isIPv6('10.0.0.1') && !isIPv6('zz'));
  });

  it('parses subnets to their network address, with dockerd\'s error for a bad one', () => {
    assert.equal(formatCidr6(parseCidr6('2001:db8:8::1/64')), '2001:db8:8::/64');
    assert.equal(formatCidr6(parseCidr6('2001:389::/96')), '2001:389::/96');
    assert.throws(() => parseCidr6('2001:db8:zz::/64'), (e: Error) => e.message === 'Invalid subnet 2001:db8:zz::/64 : invalid CIDR address: 2001:db8:zz::/64');
    assert.throws(() => parseCidr6('2001:db8::/129'), /invalid CIDR address/);
    assert.throws(() => parseCidr6('10.0.0.0/8'), /invalid CIDR address/);
    assert.ok(overlaps6(parseCidr6('2001:db8::/32'), parseCidr6('2001:db8:1::/64')));
    assert.ok(!overlaps6(parseCidr6('2001:db8:1::/64'), parseCidr6('2001:db8:2::/64')));
  });

  it('hands out addresses in order, round-robin, never twice, skipping the subnet address and the gateway', () => {
    const a = new Allocator6(parseCidr6('2001:db8::/125'), parseIPv6('2001:db8::1'));
    const got = [a.allocate(), a.allocate(), a.allocate()].map(formatIPv6);
    assert.deepEqual(got, ['2001:db8::2', '2001:db8::3', '2001:db8::4']);
    a.release(parseIPv6('2001:db8::2'));
    assert.deepEqual([a.allocate(), a.allocate(), a.allocate(), a.allocate()].map(formatIPv6), ['2001:db8::5', '2001:db8::6', '2001:db8::7', '2001:db8::2'], 'the last address is a host too (no broadcast)');
    assert.throws(() => a.allocate(), /no available IPv6 addresses on this network's address pools: 2001:db8::\/125/);
  });

  it('claims static addresses, refuses taken or foreign ones, and allocates from the ip-range', () => {
    const a = new Allocator6(parseCidr6('2001:389::/64'), parseIPv6('2001:389::ffff'), parseCidr6('2001:389::/96'));
    a.claim(parseIPv6('2001:389::f00d'), 'c1');
    assert.throws(() => a.claim(parseIPv6('2001:389::f00d'), 'c2'), /Address already in use: 2001:389::f00d/);
    assert.throws(() => a.claim(parseIPv6('2001:389::ffff'), 'c2'), /Address already in use/);
    assert.throws(() => a.claim(parseIPv6('2001:388::5'), 'c2'), /Invalid address 2001:388::5: It does not belong to any of this network's subnets/);
    assert.equal(formatIPv6(a.allocate()), '2001:389::1', 'a custom gateway leaves the first address free');
    const r = new Allocator6(parseCidr6('2001:db8::/64'), parseIPv6('2001:db8::1'), parseCidr6('2001:db8::1:0/112'));
    assert.equal(formatIPv6(r.allocate()), '2001:db8::1:0');
  });
});

describe('firewall', () => {
  it('writes one table with NAT, isolation, internal networks and port maps', () => {
    const fw = new Firewall('berth-test');
    (fw as unknown as { networks: Map<string, unknown> }).networks.set('a', { bridge: 'br-a', subnet: '10.1.0.0/24', internal: false });
    (fw as unknown as { networks: Map<string, unknown> }).networks.set('b', { bridge: 'br-b', subnet: '10.2.0.0/24', internal: true });
    (fw as unknown as { ports: Map<string, unknown> }).ports.set('c', [
      { proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '10.1.0.2', containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.1.0.2', containerPort: 53 },
    ]);
    const text = fw.render();
    assert.match(text, /^table ip berth-test\ndelete table ip berth-test\n/, 'replaced atomically');
    assert.match(text, /map tcp_any \{ type inet_service : ipv4_addr \. inet_service; elements = \{ 8080 : 10\.1\.0\.2 \. 80 \} \}/);
    assert.match(text, /map udp_addr \{[^}]*elements = \{ 127\.0\.0\.1 \. 5353 : 10\.1\.0\.2 \. 53 \}/);
    assert.match(text, /ip saddr 10\.1\.0\.0\/24 oifname != "br-a" masquerade/);
    assert.doesNotMatch(text, /ip saddr 10\.2\.0\.0\/24 oifname != "br-b" masquerade/, 'no NAT out of an internal network');
    // Hairpin NAT matched without iifname: bridged packets (br_netfilter) have no input device at postrouting.
    assert.match(text, /oifname "br-a" ip saddr 10\.1\.0\.0\/24 ct status dnat masquerade/);
    assert.doesNotMatch(text, /iifname \S+ oifname \S+ ct status dnat masquerade/);
    assert.match(text, /iifname "br-b" oifname != "br-b" drop/);
    assert.match(text, /iifname "br-a" oifname != "br-a" oifname @bridges drop/, 'networks are isolated');
    assert.equal(fw.render6(), 'table ip6 berth-test\ndelete table ip6 berth-test\n', 'no ip6 table without an IPv6 network');
    (fw as unknown as { networks: Map<string, unknown> }).networks.set('a', { bridge: 'br-a', subnet: '10.1.0.0/24', internal: false, ipv6: true });
    const six = fw.render6();
    assert.match(six, /^table ip6 berth-test\ndelete table ip6 berth-test\ntable ip6 berth-test \{/);
    assert.match(six, /iifname "br-a" oifname != "br-a" oifname @bridges drop/, 'IPv6 networks are isolated too');
    assert.match(six, /iifname "br-b" oifname != "br-b" drop/);
  });
});
