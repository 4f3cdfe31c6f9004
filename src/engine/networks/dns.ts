// The embedded DNS server. On user-defined networks containers resolve each other by name, alias and short
// ID; berthd answers those from its own records and forwards everything else to the host's resolvers (or a
// container's --dns servers). It listens on each user-defined network's gateway address, which the
// containers' /etc/resolv.conf names; the query's source address tells which container asks and so which
// networks' names it may see (Docker's scoping: a container on another network cannot resolve them).
import dgram from 'node:dgram';
import dnsPacket, { type Packet, type Answer } from 'dns-packet';

export interface Resolver {
  /** Addresses for `name` as seen by the container at `client`; undefined when the name is not ours. */
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
  }

  close(address: string): void {
    this.sockets.get(address)?.close();
    this.sockets.delete(address);
  }

  closeAll(): void {
    for (const a of [...this.sockets.keys()]) this.close(a);
  }

  private async answer(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: drop it, as any resolver would
    }
    const reply = this.local(query, rinfo.address) ?? (await this.forward(msg, rinfo.address));
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
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
      const ips = this.resolver.lookup(client, name);
      if (!ips) return undefined;
      // AAAA and other types for a container's name: the name exists, with no such records (NOERROR).
      answers = q.type === 'A' || (q.type as string) === 'ANY' ? ips.map((ip) => ({ type: 'A' as const, name: q.name, ttl: TTL, class: 'IN' as const, data: ip })) : [];
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
