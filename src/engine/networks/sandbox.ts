// A container's network sandbox (Docker's word): a network namespace kept alive by a bind mount of its nsfs
// file under EXEC-ROOT/netns, so it exists before the container starts (berthd wires it first) and can be
// shared with `--network container:<name>`. Interfaces are veth pairs: one end in the sandbox, one on the bridge.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../lib/exec.js';
import { SystemError, messageOf } from '../../lib/errors.js';
import { SYS_MAX_LIST, sys, type SandboxInterface } from '../../lib/sys.js';

export interface Interface {
  /** Name inside the sandbox: eth0, eth1, … */
  name: string;
  /** Host end of the veth pair, enslaved to the network's bridge. */
  hostName: string;
  bridge: string;
  address: string;
  prefixLen: number;
  mac: string;
  /** Default route via this gateway (only the first network's interface sets it). */
  gateway?: string;
  /** The host end's tag (ifalias): which berthd root it belongs to, so a leaked one can be found. */
  owner?: string;
  /** Link-local addresses asked for (EndpointSettings.IPAMConfig.LinkLocalIPs), added as /16s. */
  linkLocal?: string[];
  /** The IPv6 address on a network with EnableIPv6; its default route (first network only) via gateway. */
  ipv6?: { address: string; prefixLen: number; gateway?: string };
}

export function sandboxPath(execRoot: string, containerId: string): string {
  return path.join(execRoot, 'netns', containerId.slice(0, 12));
}

/** A new network namespace with lo up, pinned at `file` (replacing one a crash left there); with `first`,
 *  that interface is made and addressed in the same program (addInterface's work, one program fewer). */
export async function createSandbox(file: string, first?: Interface): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  // A namespace still mounted there cannot be opened for writing (EPERM): a start cut off by a crash.
  if (await fs.stat(file).then(() => true, () => false)) {
    await removeSandboxInterfaces(file);
    await removeSandbox(file);
  }
  await fs.writeFile(file, '');
  const itf = first && addonInterface(first);
  // The addon takes up to 8 addresses (SYS_MAX_LIST): more link-local ones than that go the programs' way.
  if (sys && (!itf || itf.addresses.length <= SYS_MAX_LIST)) {
    // One call, no program: rtnetlink from berthd's addon (berth-sys.c) does what the two programs below do.
    try {
      await sys.createSandbox(file, itf ?? null);
    } catch (e) {
      await removeSandbox(file);
      throw new SystemError(messageOf(e));
    }
    return;
  }
  try {
    await run(['unshare', `--net=${file}`, 'ip', '-batch', '-'], { input: ['link set lo up', ...(first ? insideCommands(first) : [])].join('\n') + '\n' });
  } catch (e) {
    await removeSandbox(file);
    throw e;
  }
  if (first) await wireHostEnd(first);
}

/** insideCommands' and wireHostEnd's work as the addon takes it. */
function addonInterface(itf: Interface): SandboxInterface {
  return {
    name: itf.name,
    hostName: itf.hostName,
    bridge: itf.bridge,
    mac: itf.mac,
    owner: itf.owner,
    addresses: [`${itf.address}/${itf.prefixLen}`, ...(itf.linkLocal ?? []).map((ip) => `${ip}/16`), ...(itf.ipv6 ? [`${itf.ipv6.address}/${itf.ipv6.prefixLen} nodad`] : [])],
    gateways: [itf.gateway, itf.ipv6?.gateway].filter((g): g is string => !!g),
  };
}

/** Unpin the namespace; the kernel frees it (and the veth ends inside) once no process uses it. */
export async function removeSandbox(file: string): Promise<void> {
  if (sys) await sys.umount(file, 0).catch(() => undefined);
  else await run(['umount', file], { allowFailure: true });
  await fs.rm(file, { force: true });
}

/** Delete the veths inside a sandbox (and so their host ends, with their addresses, from the bridges). */
export async function removeSandboxInterfaces(file: string): Promise<void> {
  const r = await run(['nsenter', `--net=${file}`, 'ip', '-j', 'link', 'show', 'type', 'veth'], { allowFailure: true });
  if (r.exitCode !== 0) return; // not a namespace (a crash before it was made): nothing inside
  const names = (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
  if (names.length) await run(['nsenter', `--net=${file}`, 'ip', '-batch', '-'], { input: names.map((n) => `link del ${n}
`).join(''), allowFailure: true });
}

/** Host ends of veth pairs, with their bridge and tag. */
export async function hostVeths(): Promise<{ name: string; master?: string; owner?: string }[]> {
  const links = JSON.parse((await run(['ip', '-j', '-d', 'link', 'show', 'type', 'veth'])).stdout || '[]') as { ifname: string; master?: string; ifalias?: string }[];
  return links.map((l) => ({ name: l.ifname, master: l.master, owner: l.ifalias }));
}

/** The devices enslaved to a bridge (its containers' veths). */
export async function bridgePorts(bridge: string): Promise<string[]> {
  const r = await run(['ip', '-j', 'link', 'show', 'master', bridge], { allowFailure: true });
  return r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname) : [];
}

/** Docker's naming for the host end: "veth" and 7 hex characters. */
export function hostInterfaceName(): string {
  return 'veth' + randomBytes(4).toString('hex').slice(0, 7);
}

/** Docker derives the MAC from the IPv4 address: 02:42:ac:11:00:02 for 172.17.0.2. */
export function macFor(address: string): string {
  return ['02', '42', ...address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/**
 * Create the veth pair from inside the sandbox (the peer is sent to berthd's own namespace by pid, which
 * avoids needing a name under /run/netns), address it, then enslave the host end to the bridge. Hairpin
 * mode lets a container reach its own published port through the host: where br_netfilter hooks bridged
 * traffic, the DNATed packet is bridged straight back out of the port it came in on.
 */
export async function addInterface(file: string, itf: Interface): Promise<void> {
  await run(['nsenter', `--net=${file}`, 'ip', '-batch', '-'], { input: insideCommands(itf).join('\n') + '\n' });
  await wireHostEnd(itf);
}

/** The veth pair made from inside the sandbox (its peer sent to berthd's namespace), the inner end addressed. */
function insideCommands(itf: Interface): string[] {
  const inside = [
    `link add ${itf.name} type veth peer name ${itf.hostName} netns ${process.pid}`,
    `link set ${itf.name} address ${itf.mac}`,
    `addr add ${itf.address}/${itf.prefixLen} dev ${itf.name}`,
    ...(itf.linkLocal ?? []).map((ip) => `addr add ${ip}/16 dev ${itf.name}`),
    // nodad, as dockerd does: the address is unique by allocation, and usable at once instead of after
    // a second of duplicate address detection (ping -6 right after start would fail).
    ...(itf.ipv6 ? [`addr add ${itf.ipv6.address}/${itf.ipv6.prefixLen} dev ${itf.name} nodad`] : []),
    `link set ${itf.name} up`,
  ];
  if (itf.gateway) inside.push(`route add default via ${itf.gateway} dev ${itf.name}`);
  if (itf.ipv6?.gateway) inside.push(`route add default via ${itf.ipv6.gateway} dev ${itf.name}`);
  return inside;
}

/** The host end onto its bridge (hairpin, up, tagged); on failure the pair is deleted. */
async function wireHostEnd(itf: Interface): Promise<void> {
  try {
    const host = [`link set ${itf.hostName} master ${itf.bridge}`, `link set ${itf.hostName} type bridge_slave hairpin on`, `link set ${itf.hostName} up`];
    if (itf.owner) host.push(`link set ${itf.hostName} alias ${JSON.stringify(itf.owner)}`);
    await run(['ip', '-batch', '-'], { input: host.join('\n') + '\n' });
  } catch (e) {
    await removeInterface(itf);
    throw e;
  }
}

/** Deleting the host end deletes its peer in the sandbox too. */
export async function removeInterface(itf: Pick<Interface, 'hostName'>): Promise<void> {
  await run(['ip', 'link', 'del', itf.hostName], { allowFailure: true });
}
