// Linux bridge devices for bridge networks, and the host's address space (so new subnets avoid it).
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { run } from '../../lib/exec.js';
import { formatCidr, parseCidr, type UsedSpace } from './ipam.js';

export async function bridgeExists(name: string): Promise<boolean> {
  return (await run(['ip', 'link', 'show', 'dev', name], { allowFailure: true })).exitCode === 0;
}

/**
 * The tag (the device's ifalias) berthd puts on each user-defined network's bridge (and each veth's host
 * end): the root whose records own it. A later berthd on that root removes a tagged bridge that has no record (a crash between the
 * bridge and its record), and any berthd one whose root is gone (a root removed while its bridges stayed).
 * The default bridge is not tagged: like docker0 it may serve several roots in turn and stays.
 */
export function ownerTag(root: string): string {
  return `berth root=${root}`;
}

/**
 * Create (or adopt, after a daemon restart) the bridge with its gateway address. Both sysctls are scoped to
 * the device, so nothing host-wide changes: route_localnet lets 127.0.0.1:port be DNATed to a container
 * behind it; forwarding lets packets that arrive on it be routed, which published ports reached from a
 * container need (a hairpin is routed back out of the same bridge) even where net.ipv4.ip_forward is 0.
 */
export async function ensureBridge(name: string, gatewayCidr: string, owner?: string, gateway6Cidr?: string): Promise<void> {
  const exists = await bridgeExists(name);
  // A bridge whose MAC was never set takes its lowest port's, so it changes as containers come and go, and
  // containers that cached the gateway's old MAC lose it (their own published ports among others) until ARP
  // gives up on the stale entry. Docker sets the MAC once; so does berth (and fixes the current one of a
  // bridge adopted from an older berth).
  const cmds = exists ? [] : [`link add name ${name} address ${bridgeMac()} type bridge`];
  if (exists && (await fs.readFile(`/sys/class/net/${name}/addr_assign_type`, 'utf8').catch(() => '3')).trim() !== '3') {
    cmds.push(`link set ${name} address ${(await fs.readFile(`/sys/class/net/${name}/address`, 'utf8')).trim()}`);
  }
  if (!exists && owner) cmds.push(`link set ${name} alias ${JSON.stringify(owner)}`);
  cmds.push(`addr replace ${gatewayCidr} dev ${name}`, `link set ${name} up`);
  await run(['ip', '-batch', '-'], { input: cmds.join('\n') + '\n' });
  await fs.writeFile(`/proc/sys/net/ipv4/conf/${name}/route_localnet`, '1');
  await keepForwarding(name);
  if (gateway6Cidr) await addGateway6(name, gateway6Cidr);
}

/**
 * An IPv6 network's gateway on its bridge (it goes away with the bridge). IPv6 may be off on new devices
 * (net.ipv6.conf.default.disable_ipv6): dockerd turns it on for the bridge, so does berth. nodad: see addInterface.
 */
async function addGateway6(name: string, cidr: string): Promise<void> {
  const sysctl = `/proc/sys/net/ipv6/conf/${name}/disable_ipv6`;
  if ((await fs.readFile(sysctl, 'utf8')).trim() !== '0') await fs.writeFile(sysctl, '0');
  await run(['ip', '-6', 'addr', 'replace', cidr, 'dev', name, 'nodad']);
}

/** Writing net.ipv4.ip_forward resets every device's forwarding: each container start sets its bridge's again. */
export async function keepForwarding(name: string): Promise<void> {
  await fs.writeFile(`/proc/sys/net/ipv4/conf/${name}/forwarding`, '1');
}

/**
 * Routing between the host's interfaces, host-wide, as dockerd does at start unless --ip-forward=false: without
 * it a fresh machine (ip_forward 0) drops the replies of containers' outbound connections (apt, npm in builds).
 * Written only when off: writing it resets every device's forwarding setting.
 */
export async function enableIpForward(): Promise<void> {
  const now = (await fs.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
  if (now !== '1') await fs.writeFile('/proc/sys/net/ipv4/ip_forward', '1');
}

/** Docker's form for a bridge's MAC: 02:42 and four random bytes. */
function bridgeMac(): string {
  return ['02', '42', ...[...randomBytes(4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export async function deleteBridge(name: string): Promise<void> {
  await run(['ip', 'link', 'del', name], { allowFailure: true });
}

interface IpLink {
  ifname: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** The IPv4 address/prefix a device already has (a bridge left by an earlier berthd), if any. */
export async function existingAddress(name: string): Promise<string | undefined> {
  const r = await run(['ip', '-j', '-4', 'addr', 'show', 'dev', name], { allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  const a = (JSON.parse(r.stdout || '[]') as IpLink[])[0]?.addr_info?.find((x) => x.local && x.prefixlen !== undefined);
  return a ? `${a.local}/${a.prefixlen}` : undefined;
}

/** Bridges tagged by berthd (ownerTag), with the root each names. */
export async function taggedBridges(): Promise<{ name: string; root: string }[]> {
  const links = JSON.parse((await run(['ip', '-j', '-d', 'link', 'show', 'type', 'bridge'])).stdout || '[]') as IpLink[];
  const prefix = ownerTag('');
  return links.filter((l) => l.ifalias?.startsWith(prefix)).map((l) => ({ name: l.ifname, root: l.ifalias!.slice(prefix.length) }));
}

/**
 * Every IPv4 subnet the host routes or has an address in, read now (`ip -j route`, `ip -j addr`), each named
 * for error messages. `own` lists the device/subnet pairs of berth's own networks, which are not a clash.
 */
export async function hostAddressSpace(own: { dev: string; subnet: string }[]): Promise<UsedSpace[]> {
  const mine = (dev: string | undefined, subnet: string) => own.some((o) => o.dev === dev && o.subnet === subnet);
  const [routesOut, addrsOut] = await Promise.all([run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']), run(['ip', '-j', '-4', 'addr'])]);
  const used: UsedSpace[] = [];
  for (const r of JSON.parse(routesOut.stdout || '[]') as { dst?: string; dev?: string; type?: string; table?: string }[]) {
    if (!r.dst || r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
    const cidr = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    if (mine(r.dev, formatCidr(cidr))) continue;
    const where = [r.dev && `dev ${r.dev}`, r.table && `table ${r.table}`].filter(Boolean).join(' ');
    used.push({ cidr, what: `${formatCidr(cidr)}, a route of the host${where ? ` (${where})` : ''}` });
  }
  for (const l of JSON.parse(addrsOut.stdout || '[]') as IpLink[]) {
    for (const a of l.addr_info ?? []) {
      if (!a.local || a.prefixlen === undefined) continue;
      const cidr = parseCidr(`${a.local}/${a.prefixlen}`);
      if (mine(l.ifname, formatCidr(cidr))) continue;
      used.push({ cidr, what: `${a.local}/${a.prefixlen}, an address of the host (on ${l.ifname})` });
    }
  }
  return used;
}
