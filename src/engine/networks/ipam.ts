// IPv4 and IPv6 address management: subnet arithmetic, choosing a free subnet for a new network, and handing out
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

// ---- IPv6: the same ideas over 128-bit addresses (BigInt) ----

/** An IPv6 address as a 128-bit number; an IPv4 tail ("::ffff:1.2.3.4") is accepted, as Go's net.ParseIP does. */
export function parseIPv6(s: string): bigint {
  const bad = () => new InvalidParameter(`invalid IPv6 address: ${s}`);
  let text = s;
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    if (!isIPv4(v4[2]!)) throw bad();
    const n = parseIPv4(v4[2]!);
    text = `${v4[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** RFC 5952's form (Go's too): lower case, no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIPv6(n: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best.at < 0 ? hex(g) : `${hex(g.slice(0, best.at))}::${hex(g.slice(best.at + best.len))}`;
}

export function isIPv6(s: string): boolean {
  try {
    parseIPv6(s);
    return s.includes(':');
  } catch {
    return false;
  }
}

export interface Cidr6 {
  base: bigint;
  bits: number;
}

const ALL6 = (1n << 128n) - 1n;
const mask6 = (bits: number): bigint => (ALL6 << BigInt(128 - bits)) & ALL6;

/** An IPv6 subnet, normalised to its network address; dockerd's wording for a bad one. */
export function parseCidr6(s: string): Cidr6 {
  const [addr, len] = s.split('/');
  const bits = Number(len);
  const bad = () => new InvalidParameter(`Invalid subnet ${s} : invalid CIDR address: ${s}`);
  if (!addr || len === undefined || !/^\d+$/.test(len) || bits > 128 || !addr.includes(':')) throw bad();
  let ip: bigint;
  try {
    ip = parseIPv6(addr);
  } catch {
    throw bad();
  }
  return { base: ip & mask6(bits), bits };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIPv6(c.base)}/${c.bits}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & mask6(c.bits)) === c.base;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const m = mask6(Math.min(a.bits, b.bits));
  return (a.base & m) === (b.base & m);
}

/**
 * One network's IPv6 leases, handed out in order from the start of the range (or subnet) and round-robin like
 * the IPv4 allocator. IPv6 has no broadcast address: only the subnet-router anycast (the base) is skipped.
 */
export class Allocator6 {
  private readonly used = new Set<bigint>();
  private next: bigint;
  private readonly first: bigint;
  private readonly last: bigint;

  constructor(
    readonly subnet: Cidr6,
    readonly gateway: bigint,
    range?: Cidr6,
  ) {
    const r = range ?? subnet;
    const end = (c: Cidr6) => c.base | (~mask6(c.bits) & ALL6);
    this.first = r.base > subnet.base ? r.base : subnet.base + 1n;
    this.last = end(r) < end(subnet) ? end(r) : end(subnet);
    this.next = this.first;
  }

  /** Take a specific address (a static `--ip6`, or a lease found again at daemon start). */
  claim(ip: bigint, what: string): void {
    if (!contains6(this.subnet, ip) || ip === this.subnet.base) {
      throw new InvalidParameter(`Invalid address ${formatIPv6(ip)}: It does not belong to any of this network's subnets`);
    }
    if (ip === this.gateway || this.used.has(ip)) throw new Conflict(`Address already in use: ${formatIPv6(ip)} (${what})`);
    this.used.add(ip);
  }

  /** The next free address; with 2^64 addresses in a /64, the search ends long before the range does. */
  allocate(): bigint {
    const span = this.last - this.first + 1n;
    const tries = span < 65536n ? span : 65536n;
    for (let i = 0n; i < tries; i++) {
      const ip = this.first + ((this.next - this.first + i) % span);
      if (ip !== this.gateway && !this.used.has(ip)) {
        this.used.add(ip);
        this.next = ip + 1n > this.last ? this.first : ip + 1n;
        return ip;
      }
    }
    throw new Conflict(`no available IPv6 addresses on this network's address pools: ${formatCidr6(this.subnet)}`);
  }

  release(ip: bigint): void {
    this.used.delete(ip);
  }
}
