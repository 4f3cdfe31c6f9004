// IPv4 address management: subnet arithmetic, choosing a free subnet for a new network, and handing out
// addresses so that none is given twice. Leases live in memory and are rebuilt from container records
// at start, so they survive a daemon restart without a second source of truth.
import { InvalidParameter, Conflict } from '../../lib/errors.js';

export function parseIPv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((p) => Number(p) > 255)) throw new InvalidParameter(`invalid IPv4 address: ${s}`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIPv4(s: string): boolean {
  try {
    parseIPv4(s);
    return true;
  } catch {
    return false;
  }
}

export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(s: string): Cidr {
  const [addr, len] = s.split('/');
  const bits = Number(len);
  if (!addr || len === undefined || !/^\d+$/.test(len) || bits > 32) throw new InvalidParameter(`invalid CIDR address: ${s}`);
  const ip = parseIPv4(addr);
  return { base: (ip & mask(bits)) >>> 0, bits };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.bits}`;
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.bits)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

/** The size of a subnet's host part: first and last addresses are network and broadcast. */
function lastHost(c: Cidr): number {
  return (c.base + 2 ** (32 - c.bits) - 2) >>> 0;
}

/** Docker's default address pools: 172.17–31.0.0/16, then 192.168.0–240.0/20. */
export function* defaultPools(): Generator<Cidr> {
  for (let i = 17; i <= 31; i++) yield { base: parseIPv4(`172.${i}.0.0`), bits: 16 };
  for (let i = 0; i < 256; i += 16) yield { base: parseIPv4(`192.168.${i}.0`), bits: 20 };
}

/** Address space already taken (a host route or address, another network), and what takes it, for errors. */
export interface UsedSpace {
  cidr: Cidr;
  what: string;
}

/** The first default pool that overlaps none of the subnets already in use (host routes and addresses, other networks). */
export function pickSubnet(inUse: UsedSpace[]): Cidr {
  const clashes: string[] = [];
  for (const pool of defaultPools()) {
    const clash = inUse.find((u) => overlaps(u.cidr, pool));
    if (!clash) return pool;
    clashes.push(`${formatCidr(pool)} overlaps ${clash.what}`);
  }
  throw new Conflict(`could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network: ${clashes.join('; ')}`);
}

/**
 * One network's leases. Addresses are handed out round-robin from the last one given (as libnetwork does),
 * so an address just released is not reused at once by the next container.
 */
export class Allocator {
  private readonly used = new Set<number>();
  private next: number;
  private readonly first: number;
  private readonly last: number;

  constructor(
    readonly subnet: Cidr,
    readonly gateway: number,
    range?: Cidr,
  ) {
    const r = range ?? subnet;
    this.first = Math.max(r.base, subnet.base + 1) >>> 0;
    this.last = Math.min(r.base + 2 ** (32 - r.bits) - 1, lastHost(subnet)) >>> 0;
    this.next = this.first;
  }

  /** Take a specific address (a static `--ip`, or a lease found again at daemon start). */
  claim(ip: number, what: string): void {
    if (!contains(this.subnet, ip) || ip === this.subnet.base || ip > lastHost(this.subnet)) {
      throw new InvalidParameter(`no configured subnet or ip-range contain the IP address ${formatIPv4(ip)}`);
    }
    if (ip === this.gateway || this.used.has(ip)) throw new Conflict(`Address already in use: ${formatIPv4(ip)} (${what})`);
    this.used.add(ip);
  }

  allocate(): number {
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const ip = (this.first + ((this.next - this.first + i) % span)) >>> 0;
      if (ip !== this.gateway && !this.used.has(ip)) {
        this.used.add(ip);
        this.next = ip + 1 > this.last ? this.first : ip + 1;
        return ip;
      }
    }
    throw new Conflict(`no available IPv4 addresses on this network's address pools: ${formatCidr(this.subnet)}`);
  }

  release(ip: number): void {
    this.used.delete(ip);
  }

  inUse(ip: number): boolean {
    return this.used.has(ip);
  }
}
