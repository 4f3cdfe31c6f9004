// `network` verbs: create, ls, inspect, rm, prune, connect, disconnect (docker's output and messages).
import net from 'node:net';
import type { EndpointSettings, NetworkCreateRequest, NetworkInspect } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON, keyValues } from '../filters.js';
import { renderListing, truncateID, type Listing } from '../format/table.js';
import { goTimeString } from '../format/time.js';
import { confirm } from '../prompt.js';
import { renderInspect } from '../format/inspect.js';

const enc = encodeURIComponent;


async function create(ctx: Context, f: ParsedFlags): Promise<number> {
  const subnets = f.list('subnet');
  const gateways = f.list('gateway');
  const ranges = f.list('ip-range');
  if (gateways.length > subnets.length || ranges.length > subnets.length) {
    throw new StatusError('every ip-range or gateway must have a corresponding subnet', 125);
  }
  const req: NetworkCreateRequest = {
    Name: f.args[0]!,
    Driver: f.str('driver') || 'bridge',
    Internal: f.bool('internal'),
    Attachable: f.bool('attachable'),
    EnableIPv6: f.bool('ipv6'),
    IPAM: {
      Driver: f.str('ipam-driver') || 'default',
      Config: ipamConfigs(subnets, gateways, ranges),
      Options: keyValues(f.list('ipam-opt')),
    },
    Options: keyValues(f.list('opt')),
    Labels: keyValues(f.list('label')),
  };
  const res = await ctx.client().json<{ Id: string }>({ method: 'POST', path: '/networks/create', body: req });
  await writeOut(ctx.stdout, res.Id + '\n');
  return 0;
}

/**
 * docker's pairing: each gateway and ip-range goes with the subnet that contains it, so an IPv4 and an IPv6
 * subnet can be given in any order. One that no subnet contains goes with the next subnet in order, for the
 * daemon to name what is wrong with it.
 */
function ipamConfigs(subnets: string[], gateways: string[], ranges: string[]): { Subnet: string; Gateway?: string; IPRange?: string }[] {
  const configs: { Subnet: string; Gateway?: string; IPRange?: string }[] = subnets.map((s) => ({ Subnet: s }));
  const place = (value: string, key: 'Gateway' | 'IPRange') => {
    const addr = value.split('/')[0]!;
    const free = (c: (typeof configs)[number]) => !c[key];
    const i = configs.findIndex((c) => free(c) && inSubnet(addr, c.Subnet));
    configs[i >= 0 ? i : configs.findIndex(free)]![key] = value;
  };
  gateways.forEach((g) => place(g, 'Gateway'));
  ranges.forEach((r) => place(r, 'IPRange'));
  return configs;
}

/** Whether addr lies in the subnet (CIDR); a malformed one is left for the daemon to name. */
function inSubnet(addr: string, subnet: string): boolean {
  const [base = '', bits = ''] = subnet.split('/');
  const family = net.isIPv6(base) ? 'ipv6' : 'ipv4';
  if (!net.isIP(base) || !/^\d+$/.test(bits) || net.isIP(addr) !== (family === 'ipv6' ? 6 : 4)) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(base, Number(bits), family);
  } catch {
    return false;
  }
  return list.check(addr, family);
}

interface NetworkRow {
  ID: string;
  Name: string;
  Driver: string;
  Scope: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  CreatedAt: string;
  Label(name: string): string;
}

function networkListing(list: NetworkInspect[], trunc: boolean): Listing<NetworkRow> {
  return {
    rows: list.map((n) => ({
      ID: trunc ? truncateID(n.Id) : n.Id,
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      IPv6: String(n.EnableIPv6),
      Internal: String(n.Internal),
      Labels: Object.entries(n.Labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      CreatedAt: goTimeString(new Date(n.Created)),
      Label: (name: string) => n.Labels?.[name] ?? '',
    })),
    headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
    columns: ['ID', 'Name', 'Driver', 'Scope'],
  };
}

async function ls(ctx: Context, f: ParsedFlags): Promise<number> {
  const list = await ctx.client().json<NetworkInspect[]>({ path: '/networks', query: { filters: filtersJSON(f.list('filter')) } });
  list.sort((a, b) => a.Name.localeCompare(b.Name));
  const trunc = !f.bool('no-trunc');
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, list.map((n) => (trunc ? truncateID(n.Id) : n.Id) + '\n').join(''));
    return 0;
  }
  await writeOut(ctx.stdout, renderListing(networkListing(list, trunc), f.str('format')));
  return 0;
}

async function inspect(ctx: Context, f: ParsedFlags): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      found.push(await ctx.client().json<NetworkInspect>({ path: `/networks/${enc(name)}` }));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      errors.push(`Error: No such network: ${name}`);
    }
  }
  await writeOut(ctx.stdout, renderInspect(found, f.str('format')));
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

async function rm(ctx: Context, f: ParsedFlags): Promise<number> {
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      await ctx.client().call({ method: 'DELETE', path: `/networks/${enc(name)}` });
      await writeOut(ctx.stdout, name + '\n');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (f.bool('force') && err.status === 404) continue;
      errors.push(`Error response from daemon: ${err.message}`);
    }
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

async function prune(ctx: Context, f: ParsedFlags): Promise<number> {
  if (!f.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
  const res = await ctx.client().json<{ NetworksDeleted: string[] | null }>({
    method: 'POST',
    path: '/networks/prune',
    query: { filters: filtersJSON(f.list('filter')) },
  });
  const deleted = res.NetworksDeleted ?? [];
  if (deleted.length) await writeOut(ctx.stdout, 'Deleted Networks:\n' + deleted.map((n) => n + '\n').join(''));
  return 0;
}

async function connect(ctx: Context, f: ParsedFlags): Promise<number> {
  const [network = '', container = ''] = f.args;
  const ip = f.str('ip');
  const ip6 = f.str('ip6');
  const config: EndpointSettings = {
    IPAMConfig: ip || ip6 ? { ...(ip ? { IPv4Address: ip } : {}), ...(ip6 ? { IPv6Address: ip6 } : {}) } : null,
    Aliases: f.list('alias').length ? f.list('alias') : null,
  };
  if (f.list('link').length) throw new StatusError('legacy container links (--link) are not supported by berth: use a user-defined network and names', 125);
  await ctx.client().call({ method: 'POST', path: `/networks/${enc(network)}/connect`, body: { Container: container, EndpointConfig: config } });
  return 0;
}

async function disconnect(ctx: Context, f: ParsedFlags): Promise<number> {
  const [network = '', container = ''] = f.args;
  await ctx.client().call({ method: 'POST', path: `/networks/${enc(network)}/disconnect`, body: { Container: container, Force: f.bool('force') } });
  return 0;
}

const FORMAT = { name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' } as const;

export const commands: Record<string, CommandSpec> = {
  'network create': {
    usage: '[OPTIONS] NETWORK',
    description: 'Create a network',
    flags: [
      { name: 'driver', short: 'd', type: 'string', default: 'bridge', description: 'Driver to manage the Network' },
      { name: 'subnet', type: 'stringArray', description: 'Subnet in CIDR format that represents a network segment' },
      { name: 'gateway', type: 'stringArray', description: 'IPv4 or IPv6 Gateway for the master subnet' },
      { name: 'ip-range', type: 'stringArray', description: 'Allocate container ip from a sub-range' },
      { name: 'internal', type: 'bool', description: 'Restrict external access to the network' },
      { name: 'attachable', type: 'bool', description: 'Enable manual container attachment' },
      { name: 'ipv6', type: 'bool', description: 'Enable IPv6 networking' },
      { name: 'ipam-driver', type: 'string', default: 'default', description: 'IP Address Management Driver' },
      { name: 'ipam-opt', type: 'stringArray', description: 'Set IPAM driver specific options' },
      { name: 'opt', short: 'o', type: 'stringArray', description: 'Set driver specific options' },
      { name: 'label', type: 'stringArray', description: 'Set metadata on a network' },
    ],
    args: { min: 1, max: 1 },
    run: create,
  },
  'network ls': {
    usage: '[OPTIONS]',
    description: 'List networks',
    aliases: ['berth network list'],
    flags: [
      { name: 'filter', short: 'f', type: 'stringArray', description: "Provide filter values (e.g. 'driver=bridge')" },
      { ...FORMAT, short: undefined, description: 'Format output using a custom template' },
      { name: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' },
    ],
    args: { max: 0 },
    run: ls,
  },
  'network inspect': {
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Display detailed information on one or more networks',
    flags: [FORMAT, { name: 'verbose', short: 'v', type: 'bool', description: 'Verbose output for diagnostics' }],
    args: { min: 1 },
    run: inspect,
  },
  'network rm': {
    usage: 'NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    aliases: ['berth network remove'],
    flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Do not error if the network does not exist' }],
    args: { min: 1 },
    run: rm,
  },
  'network prune': {
    usage: '[OPTIONS]',
    description: 'Remove all unused networks',
    flags: [
      { name: 'filter', type: 'stringArray', description: "Provide filter values (e.g. 'until=<timestamp>')" },
      { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: prune,
  },
  'network connect': {
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Connect a container to a network',
    flags: [
      { name: 'alias', type: 'stringArray', description: 'Add network-scoped alias for the container' },
      { name: 'ip', type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
      { name: 'ip6', type: 'string', description: 'IPv6 address (e.g., "2001:db8::33")' },
      { name: 'link', type: 'stringArray', description: 'Add link to another container' },
    ],
    args: { min: 2, max: 2 },
    run: connect,
  },
  'network disconnect': {
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Disconnect a container from a network',
    flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the container to disconnect from a network' }],
    args: { min: 2, max: 2 },
    run: disconnect,
  },
};
