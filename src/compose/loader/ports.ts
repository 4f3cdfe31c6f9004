// The short syntax of a service port, "[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]", read as Docker's
// nat.ParsePortSpecs does for compose-go: ranges on both sides ("8000-8001:80-81", or a host range for
// one target port), IPv6 host addresses with or without brackets ("[::1]:8080:80"), tcp/udp/sctp.
import { isIP } from 'node:net';
import { ComposeError } from '../types.js';

export interface ShortPort {
  mode: 'ingress';
  host_ip?: string;
  target: number;
  published?: string;
  protocol: string;
}

export function parsePort(raw: string): ShortPort[] {
  const parts = raw.split(':');
  const n = parts.length;
  let containerPort = parts[n - 1]!;
  let ip = '';
  let hostPort = '';
  if (n === 2) hostPort = parts[0]!;
  else if (n === 3) [ip, hostPort] = [parts[0]!, parts[1]!];
  else if (n > 3) [ip, hostPort] = [parts.slice(0, n - 2).join(':'), parts[n - 2]!];

  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1) || 'tcp';
    containerPort = containerPort.slice(0, slash);
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && !isIP(ip)) throw new ComposeError(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new ComposeError(`no port specified: ${raw}<empty>`);
  const [start, end] = portRange(containerPort, 'containerPort');
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort !== '') [hostStart, hostEnd] = portRange(hostPort, 'hostPort');
  const hostRange = hostPort !== '' && end - start !== hostEnd - hostStart;
  if (hostRange && end !== start) throw new ComposeError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new ComposeError(`invalid proto: ${proto}`);

  const out: { key: string; port: ShortPort }[] = [];
  for (let i = 0; i <= end - start; i++) {
    let published = '';
    if (hostPort !== '') published = hostRange ? `${hostStart}-${hostEnd}` : String(hostStart + i);
    const port: ShortPort = { mode: 'ingress', target: start + i, protocol: proto.toLowerCase() };
    if (ip) port.host_ip = ip;
    if (published) port.published = published;
    out.push({ key: `${start + i}/${proto}`, port });
  }
  // compose-go lists the expanded ports in the order of their "port/proto" text
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((e) => e.port);
}

function portRange(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) throw new ComposeError(`invalid ${what}: ${text}`);
  return [start, end];
}
