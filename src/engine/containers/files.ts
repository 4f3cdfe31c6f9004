// The files berthd writes for each container and bind-mounts into it: /etc/hosts, /etc/hostname, /etc/resolv.conf.
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface ContainerFiles {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

export function containerFiles(dir: string): ContainerFiles {
  return {
    hostsPath: path.join(dir, 'hosts'),
    hostnamePath: path.join(dir, 'hostname'),
    resolvConfPath: path.join(dir, 'resolv.conf'),
  };
}

/** Docker's /etc/hosts preamble; the container's own address line is added once it has a network. */
function hostsContent(hostname: string, extraHosts: string[], ip?: string): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of extraHosts) {
    const [name, addr] = h.split(/:(.*)/s, 2);
    if (name && addr) lines.push(`${addr}\t${name}`);
  }
  if (ip) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

export interface DnsSettings {
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** On user-defined networks: berthd's embedded DNS server, which forwards to --dns or the host's resolvers. */
  embeddedDns?: string;
  /** --network host: the host's loopback resolvers are reachable, so they are kept. */
  hostNetwork?: boolean;
}

/**
 * The host's resolv.conf, with --dns/--dns-search/--dns-option overriding as Docker does. Loopback
 * nameservers cannot be reached from the container's namespace, so they are dropped (Docker falls back to
 * Google's public servers when none is left). On user-defined networks the embedded DNS is the only server.
 */
async function resolvConfContent(d: DnsSettings): Promise<string> {
  const { dnsSearch: search } = d;
  const options = d.embeddedDns ? [...d.dnsOptions, ...(d.dnsOptions.some((o) => o.startsWith('ndots:')) ? [] : ['ndots:0'])] : d.dnsOptions;
  const dns = d.embeddedDns ? [d.embeddedDns] : d.dns;
  let host = '';
  try {
    host = await fs.readFile('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolv.conf on the host: the container gets only what was asked for
  }
  const keep = host.split('\n').filter((l) => {
    const [k, v = ''] = l.trim().split(/\s+/);
    if (k === 'nameserver') return !dns.length && (d.hostNetwork || !/^(127\.|::1$)/.test(v));
    if (k === 'search' || k === 'domain') return !search.length;
    if (k === 'options') return !options.length;
    return false;
  });
  const lines = [...keep];
  const servers = dns.length ? dns : keep.some((l) => l.trim().startsWith('nameserver')) ? [] : ['8.8.8.8', '8.8.4.4'];
  for (const ns of servers) lines.push(`nameserver ${ns}`);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export async function writeContainerFiles(
  files: ContainerFiles,
  opts: DnsSettings & { hostname: string; extraHosts: string[]; ip?: string },
): Promise<void> {
  await Promise.all([
    fs.writeFile(files.hostnamePath, opts.hostname + '\n'),
    fs.writeFile(files.hostsPath, hostsContent(opts.hostname, opts.extraHosts, opts.ip)),
    resolvConfContent(opts).then((c) => fs.writeFile(files.resolvConfPath, c)),
  ]);
}
