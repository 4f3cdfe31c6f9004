// Published ports. Traffic is carried by netfilter DNAT (firewall.ts); berthd additionally holds a socket on
// each published host port, as dockerd does, so that a port already used by another program is refused
// with a clear error and no other program can take it while the container runs. The TCP socket doubles as
// a user-space proxy for the one case netfilter cannot serve: connections that reach the port without
// passing the nat hooks (e.g. ones that were already established before the rules existed).
import net from 'node:net';
import dgram from 'node:dgram';
import { Conflict } from '../../lib/errors.js';
import type { PortMapping } from './firewall.js';

export interface Reservation {
  mapping: PortMapping;
  close(): Promise<void>;
}

function bindError(m: PortMapping, e: NodeJS.ErrnoException): Error {
  const ip = m.hostIp || '0.0.0.0';
  if (e.code === 'EADDRINUSE') {
    return new Conflict(`driver failed programming external connectivity: Bind for ${ip}:${m.hostPort} failed: port is already allocated`);
  }
  return new Conflict(`driver failed programming external connectivity: listen ${m.proto}4 ${ip}:${m.hostPort}: ${e.message}`);
}

function proxy(client: net.Socket, m: PortMapping): void {
  const upstream = net.connect(m.containerPort, m.containerIp);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
}

/** Reserve the host port; with hostPort 0 the kernel picks an ephemeral one and the mapping gets it. */
export function reserve(m: PortMapping): Promise<Reservation> {
  const host = m.hostIp || '0.0.0.0';
  return new Promise((resolve, reject) => {
    if (m.proto === 'udp') {
      const sock = dgram.createSocket('udp4');
      sock.once('error', (e) => reject(bindError(m, e)));
      sock.bind(m.hostPort, host, () => {
        const mapping = { ...m, hostPort: sock.address().port };
        resolve({ mapping, close: () => new Promise((r) => sock.close(() => r())) });
      });
      return;
    }
    const server = net.createServer((c) => proxy(c, mapping));
    let mapping = m;
    server.once('error', (e) => reject(bindError(m, e)));
    server.listen({ port: m.hostPort, host, exclusive: true }, () => {
      mapping = { ...m, hostPort: (server.address() as net.AddressInfo).port };
      server.unref();
      resolve({ mapping, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
