// Linux bridge devices for bridge networks, and what the host already routes (so new subnets avoid it).
import { promises as fs } from 'node:fs';
import { run } from '../../lib/exec.js';
import { parseCidr, type Cidr } from './ipam.js';

export async function bridgeExists(name: string): Promise<boolean> {
  return (await run(['ip', 'link', 'show', 'dev', name], { allowFailure: true })).exitCode === 0;
}

/**
 * Create (or adopt, after a daemon restart) the bridge with its gateway address. route_localnet lets
 * 127.0.0.1:port be DNATed to a container behind this bridge; it is scoped to the device, so nothing
 * host-wide changes.
 */
export async function ensureBridge(name: string, gatewayCidr: string): Promise<void> {
  const exists = await bridgeExists(name);
  const cmds = exists ? [] : [`link add name ${name} type bridge`];
  cmds.push(`addr replace ${gatewayCidr} dev ${name}`, `link set ${name} up`);
  await run(['ip', '-batch', '-'], { input: cmds.join('\n') + '\n' });
  await fs.writeFile(`/proc/sys/net/ipv4/conf/${name}/route_localnet`, '1');
}

export async function deleteBridge(name: string): Promise<void> {
  await run(['ip', 'link', 'del', name], { allowFailure: true });
}

/** Every IPv4 subnet the host routes or has on an interface, except those of `ignore` devices. */
export async function hostSubnets(ignore: Set<string>): Promise<Cidr[]> {
  const out = (await run(['ip', '-j', '-4', 'route', 'show', 'table', 'all'])).stdout;
  const routes = JSON.parse(out || '[]') as { dst?: string; dev?: string; type?: string }[];
  const subnets: Cidr[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || (r.dev && ignore.has(r.dev))) continue;
    if (r.type && r.type !== 'unicast') continue;
    subnets.push(parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`));
  }
  return subnets;
}
