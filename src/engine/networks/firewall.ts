// Netfilter for bridge networks, through one nftables table that berthd owns: outbound NAT, isolation between
// networks, no way out of --internal ones, and published ports as DNAT maps. The table is always written
// whole from berthd's state in one atomic `nft -f` transaction, so it can never be half-updated, and a
// daemon restart simply writes it again. Published ports keep working while berthd is down.
import { run } from '../../lib/exec.js';
import { sys } from '../../lib/sys.js';

export interface FirewallNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
  /** EnableIPv6: its IPv6 traffic is isolated too, in an ip6 table of the same name. */
  ipv6?: boolean;
}

export interface PortMapping {
  proto: 'tcp' | 'udp';
  /** '' or 0.0.0.0: every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** berthd's table: `berth` for the default bridge device, `berth-<device>` for another (dockerd's --bridge). */
export function firewallTable(bridgeName: string): string {
  return bridgeName === 'berth0' ? 'berth' : `berth-${bridgeName}`;
}

/** The chain berth adds to iptables' filter table when another engine made FORWARD drop by default. */
export function iptablesChain(table: string): string {
  return table.toUpperCase();
}

/** Remove berth's nftables table and its iptables chain (if any). */
export async function removeFirewall(table: string): Promise<void> {
  await run(['nft', 'delete', 'table', 'ip', table], { allowFailure: true });
  await run(['nft', 'delete', 'table', 'ip6', table], { allowFailure: true });
  const chain = iptablesChain(table);
  if ((await run(['iptables', '-D', 'FORWARD', '-j', chain], { allowFailure: true })).exitCode === 0) {
    await run(['iptables', '-F', chain], { allowFailure: true });
    await run(['iptables', '-X', chain], { allowFailure: true });
  }
}

/** The packet-mark bit berth sets on its bridges' forwarded traffic (see allowThroughIptables). */
const FORWARD_MARK = '0x10000000';

export class Firewall {
  private readonly networks = new Map<string, FirewallNetwork>();
  private readonly ports = new Map<string, PortMapping[]>();
  private queue: Promise<void> = Promise.resolve();
  private pendingCheck?: Promise<void>;
  /** nftables' ruleset generation when the last check found the accept rule in place (or not needed). */
  private checkedGeneration?: number;

  constructor(readonly table: string) {}

  setNetwork(id: string, n: FirewallNetwork | undefined): Promise<void> {
    if (n) this.networks.set(id, n);
    else this.networks.delete(id);
    return this.apply();
  }

  /** The published ports of one container (an empty list removes them). */
  setPorts(containerId: string, mappings: PortMapping[]): Promise<void> {
    if (mappings.length) this.ports.set(containerId, mappings);
    else if (!this.ports.delete(containerId)) return Promise.resolve();
    return this.apply();
  }

  /** Serialised: each apply writes the state as it is when its turn comes. */
  apply(): Promise<void> {
    const next = this.queue.catch(() => undefined).then(async () => {
      await run(['nft', '-f', '-'], { input: this.render() + this.render6() });
      await this.allowThroughIptables();
    });
    this.queue = next;
    return next;
  }

  /**
   * Check (serialised with writes) that berth's iptables accept rule is in place: another engine may have
   * started since. Requests made while one check waits its turn share it, so parallel starts add one check.
   */
  checkIptables(): Promise<void> {
    if (this.pendingCheck) return this.pendingCheck;
    const next = this.queue.catch(() => undefined).then(() => {
      this.pendingCheck = undefined;
      return this.allowThroughIptables();
    });
    this.pendingCheck = next;
    this.queue = next;
    return next;
  }

  /**
   * Another engine (dockerd) may have set iptables' FORWARD policy to DROP. A drop in any netfilter table
   * wins, so berth's own table cannot override it. berth's table marks its bridges' forwarded traffic
   * (before iptables' filter runs) and, when iptables' FORWARD chain exists, one static rule of berth's
   * own there accepts marked packets: installed once, untouched by network changes. Isolation and
   * --internal drops stay in berth's table.
   */
  private async allowThroughIptables(): Promise<void> {
    // No rule changed since the last check found things in place (the kernel's generation number is the
    // same): nothing to look at. Read before the check, so a change made during it is seen next time.
    const generation = sys?.nftGeneration();
    if (generation !== undefined && generation === this.checkedGeneration) return;
    this.checkedGeneration = undefined;
    if (await this.iptablesAllows()) this.checkedGeneration = generation;
  }

  /** Whether the accept rule is in place or not needed; else it is added (false: checked again next time). */
  private async iptablesAllows(): Promise<boolean> {
    const chain = iptablesChain(this.table);
    // One program in the usual cases: no iptables FORWARD chain, or one that already jumps to ours.
    // iptables itself is asked only before a rule would be added.
    const forward = await run(['nft', 'list', 'chain', 'ip', 'filter', 'FORWARD'], { allowFailure: true });
    if (forward.exitCode !== 0) return true;
    if (forward.stdout.split('\n').some((l) => l.trim().endsWith(`jump ${chain}`))) return true;
    if ((await run(['iptables', '-C', 'FORWARD', '-j', chain], { allowFailure: true })).exitCode === 0) return true;
    const rule = `-A ${chain} -m mark --mark ${FORWARD_MARK}/${FORWARD_MARK} -j ACCEPT`;
    await run(['iptables-restore', '--noflush'], { input: ['*filter', `:${chain} - [0:0]`, rule, 'COMMIT', ''].join('\n') });
    await run(['iptables', '-I', 'FORWARD', '1', '-j', chain]);
    return false;
  }

  /** Isolation and --internal, the drops of the forward chain, for the bridges in `nets`. */
  private forwardDrops(nets: FirewallNetwork[]): string[] {
    const q = (s: string) => JSON.stringify(s);
    const drops: string[] = [];
    for (const n of nets) {
      if (n.internal) drops.push(`iifname ${q(n.bridge)} oifname != ${q(n.bridge)} drop`, `oifname ${q(n.bridge)} iifname != ${q(n.bridge)} drop`);
      drops.push(`iifname ${q(n.bridge)} oifname != ${q(n.bridge)} oifname @bridges drop`);
    }
    return drops;
  }

  /**
   * IPv6 networks routed through the host (net.ipv6.conf.all.forwarding) would reach each other: the same
   * isolation drops in an ip6 table, which exists only while some network has IPv6 (no NAT, no published
   * ports over IPv6). Created and deleted in the same transaction when there is none, so it is never left.
   */
  render6(): string {
    const t = this.table;
    const nets = [...this.networks.values()];
    const reset = `table ip6 ${t}
delete table ip6 ${t}
`;
    if (!nets.some((n) => n.ipv6)) return reset;
    const bridges = nets.map((n) => JSON.stringify(n.bridge));
    return `${reset}table ip6 ${t} {
  set bridges { type ifname; elements = { ${bridges.join(', ')} } }
  chain forward { type filter hook forward priority filter; policy accept;
${this.forwardDrops(nets).map((r) => '    ' + r).join('\n')}
  }
}
`;
  }

  render(): string {
    const t = this.table;
    const nets = [...this.networks.values()];
    const q = (s: string) => JSON.stringify(s);
    const maps = { tcp_any: [] as string[], tcp_addr: [] as string[], udp_any: [] as string[], udp_addr: [] as string[] };
    for (const list of this.ports.values()) {
      for (const m of list) {
        const to = `${m.containerIp} . ${m.containerPort}`;
        if (!m.hostIp || m.hostIp === '0.0.0.0') maps[`${m.proto}_any`].push(`${m.hostPort} : ${to}`);
        else maps[`${m.proto}_addr`].push(`${m.hostIp} . ${m.hostPort} : ${to}`);
      }
    }
    const elements = (list: string[]) => (list.length ? ` elements = { ${list.join(', ')} }` : '');
    const postrouting: string[] = [];
    const forward: string[] = ['ct status dnat accept'];
    for (const n of nets) {
      if (!n.internal) postrouting.push(`ip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`);
      // Hairpin: a container reaching a published port of its own network (itself included) through the
      // host. Its source must become the gateway, or the answer goes straight back over the bridge, bypassing
      // the un-DNAT (a container talking to itself would even drop its own address as martian). Matched on
      // the source subnet, not iifname: bridged packets (br_netfilter) have no input device at postrouting.
      postrouting.push(`oifname ${q(n.bridge)} ip saddr ${n.subnet} ct status dnat masquerade`);
    }
    forward.push(...this.forwardDrops(nets));
    return `table ip ${t}
delete table ip ${t}
table ip ${t} {
  set bridges { type ifname;${elements(nets.map((n) => q(n.bridge)))} }
  map tcp_any { type inet_service : ipv4_addr . inet_service;${elements(maps.tcp_any)} }
  map tcp_addr { type ipv4_addr . inet_service : ipv4_addr . inet_service;${elements(maps.tcp_addr)} }
  map udp_any { type inet_service : ipv4_addr . inet_service;${elements(maps.udp_any)} }
  map udp_addr { type ipv4_addr . inet_service : ipv4_addr . inet_service;${elements(maps.udp_addr)} }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump published; }
  chain output { type nat hook output priority -100; policy accept; fib daddr type local jump published; }
  chain published {
    dnat ip to ip daddr . tcp dport map @tcp_addr
    dnat ip to tcp dport map @tcp_any
    dnat ip to ip daddr . udp dport map @udp_addr
    dnat ip to udp dport map @udp_any
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname @bridges ip saddr 127.0.0.0/8 masquerade
${postrouting.map((r) => '    ' + r).join('\n')}
  }
  chain marking { type filter hook forward priority filter - 1; policy accept;
    iifname @bridges meta mark set meta mark or ${FORWARD_MARK}
    oifname @bridges meta mark set meta mark or ${FORWARD_MARK}
  }
  chain forward { type filter hook forward priority filter; policy accept;
${forward.map((r) => '    ' + r).join('\n')}
  }
}
`;
  }
}
