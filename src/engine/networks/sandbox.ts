// A container's network sandbox (Docker's word): a network namespace kept alive by a bind mount of its nsfs
// file under EXEC-ROOT/netns, so it exists before the container starts (berthd wires it first) and can be
// shared with `--network container:<name>`. Interfaces are veth pairs: one end in the sandbox, one on the bridge.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../lib/exec.js';

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
  /** Link-local addresses asked for (EndpointSettings.IPAMConfig.LinkLocalIPs), added as /16s. */
  linkLocal?: string[];
}

export function sandboxPath(execRoot: string, containerId: string): string {
  return path.join(execRoot, 'netns', containerId.slice(0, 12));
}

/** A new network namespace with lo up, pinned at `file`. */
export async function createSandbox(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '');
  try {
    await run(['unshare', `--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await removeSandbox(file);
    throw e;
  }
}

/** Unpin the namespace; the kernel frees it (and the veth ends inside) once no process uses it. */
export async function removeSandbox(file: string): Promise<void> {
  await run(['umount', file], { allowFailure: true });
  await fs.rm(file, { force: true });
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
 * avoids needing a name under /run/netns), address it, then enslave the host end to the bridge.
 */
export async function addInterface(file: string, itf: Interface): Promise<void> {
  const inside = [
    `link add ${itf.name} type veth peer name ${itf.hostName} netns ${process.pid}`,
    `link set ${itf.name} address ${itf.mac}`,
    `addr add ${itf.address}/${itf.prefixLen} dev ${itf.name}`,
    ...(itf.linkLocal ?? []).map((ip) => `addr add ${ip}/16 dev ${itf.name}`),
    `link set ${itf.name} up`,
  ];
  if (itf.gateway) inside.push(`route add default via ${itf.gateway} dev ${itf.name}`);
  await run(['nsenter', `--net=${file}`, 'ip', '-batch', '-'], { input: inside.join('\n') + '\n' });
  try {
    await run(['ip', '-batch', '-'], { input: `link set ${itf.hostName} master ${itf.bridge}\nlink set ${itf.hostName} up\n` });
  } catch (e) {
    await removeInterface(itf);
    throw e;
  }
}

/** Deleting the host end deletes its peer in the sandbox too. */
export async function removeInterface(itf: Pick<Interface, 'hostName'>): Promise<void> {
  await run(['ip', 'link', 'del', itf.hostName], { allowFailure: true });
}
