// The embedded DNS server. On user-defined networks containers resolve each other by name, alias and short
// ID; berthd answers those from its own records and forwards everything else to the host's resolvers (or a
// container's --dns servers). It listens on each user-defined network's gateway address, which the
// containers' /etc/resolv.conf names; the query's source address tells which container asks and so which
// networks' names it may see (Docker's scoping: a container on another network cannot resolve them).
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet, type Answer } from 'dns-packet';

export interface Resolver {
  /** Addresses (IPv4, and IPv6 on networks with EnableIPv6) for `name` as seen by the container at `client`; undefined when the name is not ours. */
  lookup(client: string, name: string): string[] | undefined;
  /** The container name for a reverse lookup of `ip`, when `client` may see it. */
  reverse(client: string, ip: string): string | undefined;
  /** Where to forward names that are not ours. */
  upstreams(client: string): string[];
}

const TTL = 600;
const FORWARD_TIMEOUT_MS = 3000;

export class DnsServer {
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly tcpServers = new Map<string, net.Server>();

  constructor(private readonly resolver: Resolver) {}

  /** Listen on `address`:53 (UDP). Idempotent. */
  async listen(address: string): Promise<void> {
    if (this.sockets.has(address)) return;
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(53, address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', () => undefined);
    sock.on('message', (msg, rinfo) => void this.answer(sock, msg, rinfo));
    this.sockets.set(address, sock);
    await this.listenTcp(address).catch(() => undefined);
  }

  /** DNS over TCP (2-byte length framing): for answers too large for UDP, which resolvers retry over TCP. */
  private async listenTcp(address: string): Promise<void> {
    const server = net.createServer((conn) => {
      let buf = Buffer.alloc(0);
      conn.on('error', () => undefined);
      conn.setTimeout(10_000, () => conn.destroy());
      conn.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          void this.reply(msg, conn.remoteAddress?.replace(/^::ffff:/, '') ?? '').then((r) => {
            if (r && !conn.destroyed) conn.write(Buffer.concat([Buffer.from([r.length >> 8, r.length & 255]), r]));
          });
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(53, address, () => resolve());
    });
    server.on('error', () => undefined);
    this.tcpServers.set(address, server);
  }

  close(address: string): void {
    this.sockets.get(address)?.close();
    this.sockets.delete(address);
    this.tcpServers.get(address)?.close();
    this.tcpServers.delete(address);
  }

  closeAll(): void {
    for (const a of [...this.sockets.keys()]) this.close(a);
  }

  private async answer(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const reply = await this.reply(msg, rinfo.address);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  }

  /** Our answer, or the upstream's; undefined for what is not DNS (dropped, as any resolver would). */
  private async reply(msg: Buffer, client: string): Promise<Buffer | undefined> {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    return this.local(query, client) ?? (await this.forward(msg, client));
  }

  /** A reply from our own records, or undefined when the question is not about a name we own. */
  private local(query: Packet, client: string): Buffer | undefined {
    const q = query.questions?.[0];
    if (!q || query.questions!.length !== 1) return undefined;
    const name = q.name.replace(/\.$/, '');
    let answers: Answer[];
    if (q.type === 'PTR') {
      const ip = ptrToIp(name);
      const host = ip && this.resolver.reverse(client, ip);
      if (!host) return undefined;
      answers = [{ type: 'PTR', name: q.name, ttl: TTL, class: 'IN', data: host }];
    } else {
      const found = this.resolver.lookup(client, name);
      if (!found) return undefined;
      // Shuffled as Docker's resolver does (it shuffles a service's records), so clients that take the first
      // address spread over the replicas of a scaled service instead of always reaching one.
      const ips = shuffle(found);
      // A for IPv4 addresses, AAAA for IPv6 ones (networks with EnableIPv6); other types for a container's
      // name: the name exists, with no such records (NOERROR).
      const any = (q.type as string) === 'ANY';
      const a = q.type === 'A' || any ? ips.filter((ip) => !ip.includes(':')).map((ip) => ({ type: 'A' as const, name: q.name, ttl: TTL, class: 'IN' as const, data: ip })) : [];
      const aaaa = q.type === 'AAAA' || any ? ips.filter((ip) => ip.includes(':')).map((ip) => ({ type: 'AAAA' as const, name: q.name, ttl: TTL, class: 'IN' as const, data: ip })) : [];
      answers = [...a, ...aaaa];
    }
    return dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: query.questions,
      answers,
    });
  }

  /** Relay the query as it came to each upstream in turn; the first reply wins. */
  private async forward(msg: Buffer, client: string): Promise<Buffer | undefined> {
    for (const server of this.resolver.upstreams(client)) {
      const reply = await udpExchange(msg, server).catch(() => undefined);
      if (reply) return reply;
    }
    return undefined;
  }
}

function udpExchange(msg: Buffer, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('timeout'));
    }, FORWARD_TIMEOUT_MS);
    sock.on('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.on('message', (reply) => {
      // Only the reply to this query (same ID); anything else on this socket is ignored.
      if (reply.length < 2 || reply.readUInt16BE(0) !== msg.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.send(msg, 53, server);
  });
}

function ptrToIp(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
  return m ? [m[4], m[3], m[2], m[1]].join('.') : undefined;
}

/** A copy in random order (Fisher-Yates). */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

