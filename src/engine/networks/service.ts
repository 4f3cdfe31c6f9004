// The networks service: bridge networks (the default `bridge` and user-defined ones), the predefined `host`
// and `none`, and each container's endpoints on them. It wires a container's sandbox before the container
// starts (addresses, veths, published ports, DNS names) and unwires it when the container stops.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import type { EndpointSettings, HostConfig, NetworkCreateRequest, NetworkInspect, PortBinding } from '../../api/types.js';
import type { NetworkedContainer, SandboxRecord } from './container.js';
import type { EventsService } from '../events.js';
import { Allocator, Allocator6, contains, contains6, formatCidr, formatCidr6, formatIPv4, formatIPv6, isIPv4, isIPv6, overlaps, overlaps6, parseCidr, parseCidr6, parseIPv4, parseIPv6, pickSubnet, type Cidr, type Cidr6, type UsedSpace } from './ipam.js';
import { deleteBridge, enableIpForward, ensureBridge, existingAddress, hostAddressSpace, keepForwarding, ownerTag, taggedBridges } from './bridge.js';
import { addInterface, bridgePorts, createSandbox, hostInterfaceName, hostVeths, macFor, removeInterface, removeSandbox, removeSandboxInterfaces, sandboxPath, type Interface } from './sandbox.js';
import { Firewall, firewallTable, type PortMapping } from './firewall.js';
import { reserve, type Reservation } from './ports.js';
import { DnsServer } from './dns.js';
import { NetworkStore, PREDEFINED, type NetworkRecord } from './store.js';
import { networkView } from './view.js';
import { labelsMatch, matchesPattern, untilCutoff } from '../../lib/filters.js';

/** What the networks service needs to know of containers (the containers service provides it). */
export interface ContainerAccess {
  all(): NetworkedContainer[];
  get(ref: string): NetworkedContainer;
  save(rec: NetworkedContainer): Promise<void>;
}

export interface NetworksOptions {
  root: string;
  execRoot: string;
  /** The default bridge's device (dockerd's --bridge); also names berthd's nftables table. */
  bridgeName: string;
  /** Turn on net.ipv4.ip_forward at start, as dockerd's --ip-forward (default true) does: containers' outbound NAT needs it. */
  ipForward?: boolean;
  events: EventsService;
  containers: () => ContainerAccess;
}

export interface PruneReport {
  NetworksDeleted: string[];
}

const randomId = () => randomBytes(32).toString('hex');

export class NetworksService {
  private readonly store: NetworkStore;
  private readonly allocators = new Map<string, Allocator>();
  /** IPv6 leases of the networks with EnableIPv6. */
  private readonly allocators6 = new Map<string, Allocator6>();
  private readonly reservations = new Map<string, Reservation[]>();
  /** Sandboxes of what is not a container (a build's RUN step), by ID: the embedded DNS answers them too. */
  private readonly transient = new Map<string, NetworkedContainer>();
  readonly firewall: Firewall;
  private readonly dns: DnsServer;
  private hostResolvers: string[] = [];

  constructor(private readonly o: NetworksOptions) {
    this.store = new NetworkStore(path.join(o.root, 'networks'));
    this.firewall = new Firewall(firewallTable(o.bridgeName));
    this.dns = new DnsServer({
      lookup: (client, name) => this.lookup(client, name),
      reverse: (client, ip) => this.reverse(client, ip),
      upstreams: (client) => this.upstreams(client),
    });
  }

  // ---- start-up ----

  /** Create the predefined networks once, bring every bridge up and take back the leases of running containers. */
  async init(): Promise<void> {
    await this.store.load();
    if (this.o.ipForward ?? true) await enableIpForward();
    this.hostResolvers = await readHostResolvers();
    if (!this.store.tryGet('host')) await this.store.save(predefined('host', 'host'));
    if (!this.store.tryGet('none')) await this.store.save(predefined('none', 'null'));
    if (!this.store.tryGet('bridge')) await this.store.save(await this.defaultBridge());
    for (const n of this.store.all()) if (n.driver === 'bridge') await this.bringUp(n, false);
    const live = this.o.containers().all().filter((rec) => rec.sandbox && (rec.state.status === 'running' || rec.state.status === 'paused'));
    for (const rec of live) await this.adopt(rec);
    await this.removeLeftoverBridges();
    await this.removeLeftoverSandboxes(live);
    await this.firewall.apply();
  }

  /**
   * The bridges of user-defined networks a crash left without their record (killed between the bridge and
   * the record), and those of roots that no longer exist; each is found by the tag berthd gave it.
   */
  private async removeLeftoverBridges(): Promise<void> {
    const ours = new Set(this.store.all().map((n) => n.bridge));
    for (const b of await taggedBridges()) {
      if (ours.has(b.name)) continue;
      const rootGone = b.root !== this.o.root && !(await fs.stat(b.root).then(() => true, () => false));
      if (b.root === this.o.root || (rootGone && !(await bridgePorts(b.name)).length)) await deleteBridge(b.name);
    }
  }

  /**
   * Sandboxes without a running container (a start or stop cut off by a crash): their veths go first, so
   * their addresses leave the bridge even while a process still holds the namespace, then the namespace's
   * bind mount. Then any veth on one of our bridges, or tagged with our root, that no running container owns.
   */
  private async removeLeftoverSandboxes(live: NetworkedContainer[]): Promise<void> {
    const keys = new Set(live.map((rec) => rec.sandbox!.key));
    const dir = path.join(this.o.execRoot, 'netns');
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      const file = path.join(dir, f);
      if (keys.has(file)) continue;
      await removeSandboxInterfaces(file);
      await removeSandbox(file);
    }
    const owned = new Set(live.flatMap((rec) => Object.values(rec.sandbox!.interfaces).map((i) => i.hostName)));
    const bridges = new Set(this.store.all().map((n) => n.bridge));
    const tag = ownerTag(this.o.root);
    // Another berthd may share the default bridge device: a veth tagged with another root is its own.
    const untagged = (owner?: string) => !owner?.startsWith(ownerTag(''));
    for (const v of await hostVeths()) {
      if (owned.has(v.name)) continue;
      if (v.owner === tag || (untagged(v.owner) && v.master && bridges.has(v.master))) await removeInterface({ hostName: v.name });
    }
  }

  /** The default bridge's subnet: the address its device already has (as dockerd does), else a free pool. */
  private async defaultBridge(): Promise<NetworkRecord> {
    const found = await existingAddress(this.o.bridgeName);
    const subnet = found ? parseCidr(found) : pickSubnet(await this.subnetsInUse());
    const gateway = found ? found.split('/')[0]! : formatIPv4(subnet.base + 1);
    return {
      id: randomId(),
      name: 'bridge',
      driver: 'bridge',
      created: new Date().toISOString(),
      internal: false,
      attachable: false,
      ipam: { subnet: formatCidr(subnet), gateway, userConfigured: false },
      bridge: this.o.bridgeName,
      options: {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': this.o.bridgeName,
        'com.docker.network.driver.mtu': '1500',
      },
      labels: {},
    };
  }

  /** Bridge device, allocator, firewall rules and (user-defined networks) the DNS listener. */
  private async bringUp(n: NetworkRecord, applyFirewall = true): Promise<void> {
    const ipam = n.ipam!;
    const subnet = parseCidr(ipam.subnet);
    const v6 = ipv6Of(n);
    await ensureBridge(n.bridge!, `${ipam.gateway}/${subnet.bits}`, isDefaultBridge(n) ? undefined : ownerTag(this.o.root), v6 && `${v6.gateway}/${v6.subnet.bits}`);
    if (v6) this.allocators6.set(n.id, new Allocator6(v6.subnet, parseIPv6(v6.gateway), v6.ipRange));
    const alloc = new Allocator(subnet, parseIPv4(ipam.gateway), ipam.ipRange ? parseCidr(ipam.ipRange) : undefined);
    // Auxiliary addresses are held for hosts outside berth: never given to a container.
    for (const [host, ip] of Object.entries(ipam.auxAddresses ?? {})) alloc.claim(parseIPv4(ip), `auxiliary address ${host}`);
    this.allocators.set(n.id, alloc);
    if (!isDefaultBridge(n)) await this.dns.listen(ipam.gateway);
    const fw = { bridge: n.bridge!, subnet: ipam.subnet, internal: n.internal, ...(v6 ? { ipv6: true } : {}) };
    if (applyFirewall) await this.firewall.setNetwork(n.id, fw);
    else void this.firewall.setNetwork(n.id, fw).catch(() => undefined);
  }

  /** After a daemon restart: a running container keeps its addresses, ports and names. */
  private async adopt(rec: NetworkedContainer): Promise<void> {
    for (const [name, ep] of Object.entries(rec.networks ?? {})) {
      const alloc = ep.NetworkID ? this.allocators.get(ep.NetworkID) : undefined;
      if (alloc && ep.IPAddress) {
        try {
          alloc.claim(parseIPv4(ep.IPAddress), rec.id);
        } catch {
          // already claimed by a record written twice: harmless, the address is held either way
        }
      }
      const alloc6 = ep.NetworkID ? this.allocators6.get(ep.NetworkID) : undefined;
      if (alloc6 && ep.GlobalIPv6Address) {
        try {
          alloc6.claim(parseIPv6(ep.GlobalIPv6Address), rec.id);
        } catch {
          // as above
        }
      }
      void name;
    }
    const held: Reservation[] = [];
    for (const m of rec.sandbox?.ports ?? []) {
      const r = await reserve(m).catch(() => undefined);
      if (r) held.push(r);
    }
    this.reservations.set(rec.id, held);
    void this.firewall.setPorts(rec.id, rec.sandbox?.ports ?? []).catch(() => undefined);
  }

  /** Every network's subnet, then every route and address of the host: a new network must overlap none. */
  private async subnetsInUse(): Promise<UsedSpace[]> {
    const ours = this.store.all().filter((n) => n.ipam);
    const mine = ours.map((n) => ({ cidr: parseCidr(n.ipam!.subnet), what: `${n.ipam!.subnet}, the subnet of network "${n.name}"` }));
    return [...mine, ...(await hostAddressSpace(ours.map((n) => ({ dev: n.bridge!, subnet: n.ipam!.subnet }))))];
  }

  // ---- networks: create, inspect, list, remove, prune ----

  /**
   * Creates run one at a time: each picks its subnet from the ones in use and checks its name against the
   * store, so two at once would take the same subnet (compose creates a project's networks together).
   */
  create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const run = this.creating.then(() => this.createOne(req));
    this.creating = run.catch(() => undefined);
    return run;
  }

  private creating: Promise<unknown> = Promise.resolve();

  private async createOne(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name;
    if (!name) throw new InvalidParameter('network name cannot be empty');
    // dockerd takes any name ("test 01" too); one with a slash could not be addressed in a URL, nor a control character in a shell.
    if (name.includes('/') || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new InvalidParameter(`invalid network name ${JSON.stringify(name)}: it must not contain "/" or control characters`);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new Conflict(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw new NotFound(`plugin "${driver}" not found`);
    if (PREDEFINED.includes(name)) throw new Conflict(`${name} is a pre-defined network and cannot be created`);
    if (this.store.all().some((n) => n.name === name)) throw new Conflict(`network with name ${name} already exists`);
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw new NotFound(`plugin "${req.IPAM.Driver}" not found`);
    const all = req.IPAM?.Config ?? [];
    const configs = all.filter((c) => !c.Subnet?.includes(':'));
    const configs6 = all.filter((c) => c.Subnet?.includes(':'));
    if (configs.length > 1) throw new InvalidParameter('berth supports one IPv4 subnet per network');
    if (configs6.length > 1) throw new InvalidParameter('berth supports one IPv6 subnet per network');
    const enableIPv6 = req.EnableIPv6 ?? false;
    const ipam6 = this.ipam6For(configs6[0], enableIPv6);
    const ipam = await this.ipamFor(configs[0]);
    const id = randomId();
    const options = { ...(req.Options ?? {}) };
    const bridge = options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridge)) throw new InvalidParameter(`invalid bridge name "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
    if (this.store.all().some((n) => n.bridge === bridge)) throw new Conflict(`bridge name ${bridge} is already used by another network`);
    const rec: NetworkRecord = {
      id,
      name,
      driver: 'bridge',
      created: new Date().toISOString(),
      internal: req.Internal ?? false,
      attachable: req.Attachable ?? false,
      ipam,
      ...(enableIPv6 ? { enableIPv6 } : {}),
      ...(ipam6 ? { ipam6 } : {}),
      bridge,
      options,
      labels: req.Labels ?? {},
    };
    try {
      await this.bringUp(rec);
      await this.store.save(rec);
    } catch (e) {
      await this.teardown(rec);
      throw e;
    }
    this.o.events.emit('network', 'create', id, { name, type: 'bridge' });
    return { Id: id, Warning: '' };
  }

  /** Validate a user's subnet/gateway/ip-range, or pick a free subnet from the default pools. */
  private async ipamFor(cfg: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> | null } | undefined): Promise<NonNullable<NetworkRecord['ipam']>> {
    const inUse = await this.subnetsInUse();
    if (!cfg?.Subnet) {
      if (cfg?.Gateway || cfg?.IPRange || Object.keys(cfg?.AuxiliaryAddresses ?? {}).length) throw new InvalidParameter('a gateway or ip-range needs a subnet (--subnet)');
      const subnet = pickSubnet(inUse);
      return { subnet: formatCidr(subnet), gateway: formatIPv4(subnet.base + 1), userConfigured: false };
    }
    if (cfg.Subnet.includes(':')) throw new InvalidParameter('IPv6 subnets are not supported by berth yet');
    const subnet = parseCidr(cfg.Subnet);
    if (subnet.bits > 30) throw new InvalidParameter(`subnet ${cfg.Subnet} is too small: at most /30`);
    const clash = inUse.find((u) => overlaps(u.cidr, subnet));
    if (clash) throw new Conflict(`Pool overlaps with other one on this address space: ${cfg.Subnet} overlaps ${clash.what}`);
    const gateway = cfg.Gateway ? parseIPv4(cfg.Gateway) : subnet.base + 1;
    if (!contains(subnet, gateway) || gateway === subnet.base) throw new InvalidParameter(`invalid gateway ${cfg.Gateway}: it is not a host address in subnet ${formatCidr(subnet)}`);
    let ipRange: string | undefined;
    if (cfg.IPRange) {
      const r = parseCidr(cfg.IPRange);
      if (!contains(subnet, r.base) || r.bits < subnet.bits) throw new InvalidParameter(`invalid ip-range ${cfg.IPRange}: it is not inside subnet ${formatCidr(subnet)}`);
      ipRange = formatCidr(r);
    }
    const auxAddresses = auxiliaryAddresses(subnet, cfg.AuxiliaryAddresses);
    return { subnet: formatCidr(subnet), gateway: formatIPv4(gateway), ipRange, userConfigured: true, ...(auxAddresses ? { auxAddresses } : {}) };
  }

  /**
   * Validate a user's IPv6 subnet/gateway/ip-range. dockerd has no default IPv6 pools: EnableIPv6 needs a
   * subnet. A subnet without EnableIPv6 is kept (inspect shows it) but nothing is allocated from it.
   */
  private ipam6For(cfg: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> | null } | undefined, enable: boolean): NetworkRecord['ipam6'] {
    if (!cfg?.Subnet) {
      if (enable) throw new InvalidParameter('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
      return undefined;
    }
    const subnet = parseCidr6(cfg.Subnet);
    if (subnet.bits > 127) throw new InvalidParameter(`subnet ${cfg.Subnet} is too small: at most /127`);
    if (Object.keys(cfg.AuxiliaryAddresses ?? {}).length) throw new InvalidParameter('berth takes auxiliary addresses in IPv4 subnets only');
    const clash = enable && this.store.all().find((n) => ipv6Of(n) && overlaps6(ipv6Of(n)!.subnet, subnet));
    if (clash) throw new Conflict(`Pool overlaps with other one on this address space: ${formatCidr6(subnet)} overlaps ${clash.ipam6!.subnet}, the IPv6 subnet of network "${clash.name}"`);
    let gateway: string | undefined;
    if (cfg.Gateway) {
      const g = parseIPv6(cfg.Gateway);
      if (!contains6(subnet, g) || g === subnet.base) throw new InvalidParameter(`invalid gateway ${cfg.Gateway}: it is not a host address in subnet ${formatCidr6(subnet)}`);
      gateway = formatIPv6(g);
    }
    let ipRange: string | undefined;
    if (cfg.IPRange) {
      const r = parseCidr6(cfg.IPRange);
      if (!contains6(subnet, r.base) || r.bits < subnet.bits) throw new InvalidParameter(`invalid ip-range ${cfg.IPRange}: it is not inside subnet ${formatCidr6(subnet)}`);
      ipRange = formatCidr6(r);
    }
    return { subnet: formatCidr6(subnet), ...(gateway ? { gateway } : {}), ...(ipRange ? { ipRange } : {}) };
  }

  private async teardown(n: NetworkRecord): Promise<void> {
    if (n.ipam) this.dns.close(n.ipam.gateway);
    this.allocators.delete(n.id);
    this.allocators6.delete(n.id);
    // Deleting a bridge waits ~50 ms in the kernel: overlap it with the firewall update.
    await Promise.all([this.firewall.setNetwork(n.id, undefined).catch(() => undefined), n.bridge ? deleteBridge(n.bridge) : undefined]);
  }

  get(ref: string): NetworkRecord {
    return this.store.get(ref);
  }

  inspect(ref: string): NetworkInspect {
    const n = this.store.get(ref);
    return networkView(n, this.endpointsOn(n));
  }

  /** Running containers with an endpoint on `n`. */
  private endpointsOn(n: NetworkRecord): { rec: NetworkedContainer; ep: EndpointSettings }[] {
    const out: { rec: NetworkedContainer; ep: EndpointSettings }[] = [];
    for (const rec of this.o.containers().all()) {
      if (!rec.sandbox) continue;
      if (n.driver === 'host' && rec.hostConfig.NetworkMode === 'host') out.push({ rec, ep: {} });
      for (const ep of Object.values(rec.networks ?? {})) if (ep.NetworkID === n.id && ep.EndpointID) out.push({ rec, ep });
    }
    return out;
  }

  list(filters: Record<string, string[]> = {}): NetworkInspect[] {
    for (const k of Object.keys(filters)) {
      if (!['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'].includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
    }
    return this.store
      .all()
      .filter((n) => matchesFilters(n, filters, () => this.endpointsOn(n).length > 0 || this.configuredOn(n)))
      .sort((a, b) => a.created.localeCompare(b.created))
      .map((n) => ({ ...networkView(n, []), Containers: {} }));
  }

  /** Whether any container (running or not) is configured to use `n`. */
  private configuredOn(n: NetworkRecord): boolean {
    return this.o.containers().all().some((c) => Object.values(c.networks ?? {}).some((ep) => ep.NetworkID === n.id));
  }

  async remove(ref: string): Promise<void> {
    const n = this.store.get(ref);
    if (PREDEFINED.includes(n.name)) throw new Conflict(`${n.name} is a pre-defined network and cannot be removed`);
    const active = this.endpointsOn(n);
    if (active.length) throw new Conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    await this.teardown(n);
    await this.store.delete(n.id);
    this.o.events.emit('network', 'destroy', n.id, { name: n.name, type: n.driver });
  }

  async prune(filters: Record<string, string[]> = {}): Promise<PruneReport> {
    for (const k of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(k)) throw new InvalidParameter(`invalid filter '${k}'`);
    const until = filters.until?.[0] ? untilCutoff(filters.until[0]) : Infinity;
    const deleted: string[] = [];
    for (const n of this.store.all()) {
      if (PREDEFINED.includes(n.name) || this.endpointsOn(n).length) continue;
      if (Date.parse(n.created) >= until || !labelsMatch(n.labels, filters)) continue;
      await this.remove(n.id);
      deleted.push(n.name);
    }
    this.o.events.emit('network', 'prune', '', { reclaimed: '0' });
    return { NetworksDeleted: deleted };
  }

  // ---- containers' endpoints ----

  /**
   * The endpoints a new container asks for, checked now so that `create` fails before anything exists:
   * its NetworkMode's network plus any other EndpointsConfig (API ≥ 1.44 allows several).
   */
  endpointsForCreate(hc: HostConfig, config: Record<string, EndpointSettings> = {}, macAddress?: string): Record<string, EndpointSettings> {
    const mode = networkMode(hc);
    const hasPorts = Object.keys(hc.PortBindings ?? {}).length > 0 || hc.PublishAllPorts;
    if (mode.startsWith('container:')) {
      if (hasPorts) throw new InvalidParameter('conflicting options: port publishing and the container type network mode');
      this.o.containers().get(mode.slice('container:'.length));
      return {};
    }
    const primary = this.store.get(mode);
    const out: Record<string, EndpointSettings> = {};
    const entries = Object.entries(config).map(([k, v]): [string, EndpointSettings] => [k === 'default' ? 'bridge' : k, v ?? {}]);
    if (!entries.some(([k]) => this.store.tryGet(k)?.id === primary.id)) entries.unshift([primary.name, {}]);
    for (const [ref, settings] of entries) {
      const n = this.store.get(ref);
      if (n.driver !== 'bridge' && n.id !== primary.id) throw new InvalidParameter(`container cannot be disconnected from host network or connected to host network`);
      this.checkEndpointConfig(n, settings);
      checkMac(macAddress);
      // Config.MacAddress (before API 1.44) is the primary network's MAC.
      out[n.name] = endpointConfig(n, settings, n.id === primary.id ? macAddress : undefined);
    }
    return out;
  }

  private checkEndpointConfig(n: NetworkRecord, s: EndpointSettings): void {
    const ip = s.IPAMConfig?.IPv4Address;
    checkMac(s.MacAddress);
    for (const ll of s.IPAMConfig?.LinkLocalIPs ?? []) {
      if (!isIPv4(ll) || !contains(parseCidr('169.254.0.0/16'), parseIPv4(ll))) throw new InvalidParameter(`invalid link-local IP address ${ll}: berth takes IPv4 addresses in 169.254.0.0/16`);
    }
    for (const link of s.Links ?? []) {
      if (!/^\/?[^:]+(:[^:]+)?$/.test(link)) throw new InvalidParameter(`invalid link ${JSON.stringify(link)}: it must be name or name:alias`);
    }
    if (s.Aliases?.length && (n.driver !== 'bridge' || isDefaultBridge(n))) {
      throw new InvalidParameter('network-scoped alias is supported only for containers in user defined networks');
    }
    if (ip) {
      if (n.driver !== 'bridge' || isDefaultBridge(n)) throw new InvalidParameter('user specified IP address is supported on user defined networks only');
      if (!n.ipam?.userConfigured) throw new InvalidParameter('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!contains(parseCidr(n.ipam.subnet), parseIPv4(ip))) throw new InvalidParameter(`no configured subnet or ip-range contain the IP address ${ip}`);
    }
    const ip6 = s.IPAMConfig?.IPv6Address;
    if (ip6) {
      if (!isIPv6(ip6)) throw new InvalidParameter(`invalid IPv6 address: ${ip6}`);
      if (n.driver !== 'bridge' || isDefaultBridge(n)) throw new InvalidParameter('user specified IP address is supported on user defined networks only');
      if (!n.ipam6) throw new InvalidParameter('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!contains6(parseCidr6(n.ipam6.subnet), parseIPv6(ip6))) throw new InvalidParameter(`Invalid address ${ip6}: It does not belong to any of this network's subnets`);
    }
  }

  /**
   * Wire the container's network before it starts: a sandbox (netns) with one veth per network, addresses,
   * a default route, published ports and DNS names. Returns the netns path for the OCI spec (undefined
   * for --network host). On failure everything done so far is undone.
   */
  async attach(rec: NetworkedContainer): Promise<string | undefined> {
    const mode = networkMode(rec.hostConfig);
    if (mode === 'host') {
      rec.sandbox = { key: '', interfaces: {}, ports: [] };
      return undefined;
    }
    if (mode.startsWith('container:')) {
      const other = this.o.containers().get(mode.slice('container:'.length));
      if (other.state.status !== 'running' || !other.sandbox?.key) {
        throw new Conflict(`cannot join network of a non running container: ${other.id}`);
      }
      rec.sandbox = { key: other.sandbox.key, shared: true, interfaces: {}, ports: [] };
      return other.sandbox.key;
    }
    const key = sandboxPath(this.o.execRoot, rec.id);
    rec.sandbox = { key, interfaces: {}, ports: [] };
    // Alongside the wiring, off the critical path: a dockerd started since berth's last firewall write
    // may have made FORWARD drop by default.
    const iptables = mode === 'none' ? undefined : this.firewall.checkIptables().catch(() => undefined);
    if (!this.o.containers().all().some((c) => c.id === rec.id)) this.transient.set(rec.id, rec);
    try {
      const names = mode === 'none' ? [] : Object.keys(rec.networks ?? {});
      // The first endpoint is wired by the program that makes the sandbox.
      if (names.length) await this.connectEndpoint(rec, names[0]!, (itf) => createSandbox(key, itf));
      else await createSandbox(key);
      for (const name of names.slice(1)) await this.connectEndpoint(rec, name);
      if (mode !== 'none') await this.publish(rec);
      await iptables;
      return key;
    } catch (e) {
      await this.detach(rec);
      throw e;
    }
  }

  /** Add one network's endpoint to a container's live sandbox (`wire`: how its interface is made). */
  private async connectEndpoint(rec: NetworkedContainer, netName: string, wire = (itf: Interface) => addInterface(rec.sandbox!.key, itf)): Promise<void> {
    const ep = rec.networks![netName]!;
    const n = this.store.get(ep.NetworkID || netName);
    const alloc = this.allocators.get(n.id);
    if (!alloc || !n.ipam) throw new Conflict(`network ${n.name} cannot take endpoints`);
    const wanted = ep.IPAMConfig?.IPv4Address;
    let ip: number;
    if (wanted) {
      ip = parseIPv4(wanted);
      alloc.claim(ip, rec.id);
    } else ip = alloc.allocate();
    let ip6: bigint | undefined;
    const alloc6 = this.allocators6.get(n.id);
    const v6 = ipv6Of(n);
    try {
      const wanted6 = ep.IPAMConfig?.IPv6Address;
      if (alloc6 && wanted6) alloc6.claim((ip6 = parseIPv6(wanted6)), rec.id);
      else if (alloc6) ip6 = alloc6.allocate();
    } catch (e) {
      alloc.release(ip);
      throw e;
    }
    const sb = rec.sandbox!;
    const index = Object.keys(sb.interfaces).length;
    const address = formatIPv4(ip);
    const address6 = ip6 !== undefined && v6 ? { address: formatIPv6(ip6), prefixLen: v6.subnet.bits, gateway: v6.gateway } : undefined;
    const prefixLen = parseCidr(n.ipam.subnet).bits;
    const requestedMac = ep.MacAddress || undefined;
    const itf = {
      name: `eth${index}`,
      hostName: hostInterfaceName(),
      bridge: n.bridge!,
      address,
      prefixLen,
      mac: requestedMac ?? macFor(address),
      gateway: index === 0 && !n.internal ? n.ipam.gateway : undefined,
      owner: ownerTag(this.o.root),
      linkLocal: ep.IPAMConfig?.LinkLocalIPs ?? undefined,
      ipv6: address6 && { address: address6.address, prefixLen: address6.prefixLen, gateway: index === 0 && !n.internal ? address6.gateway : undefined },
    };
    try {
      await Promise.all([wire(itf), keepForwarding(itf.bridge)]);
    } catch (e) {
      alloc.release(ip);
      if (ip6 !== undefined) alloc6?.release(ip6);
      throw e;
    }
    sb.interfaces[netName] = { name: itf.name, hostName: itf.hostName, ...(requestedMac ? { requestedMac } : {}) };
    // Before API 1.45 dockerd lists the short ID among a user-defined network's aliases.
    if (!isDefaultBridge(n) && !(ep.Aliases ?? []).includes(rec.id.slice(0, 12))) ep.Aliases = [...(ep.Aliases ?? []), rec.id.slice(0, 12)];
    Object.assign(ep, {
      NetworkID: n.id,
      EndpointID: randomId(),
      Gateway: n.ipam.gateway,
      IPAddress: address,
      IPPrefixLen: prefixLen,
      MacAddress: itf.mac,
      ...(address6 ? { IPv6Gateway: address6.gateway, GlobalIPv6Address: address6.address, GlobalIPv6PrefixLen: address6.prefixLen } : {}),
      DNSNames: isDefaultBridge(n) ? null : dnsNames(rec, ep),
    });
    this.o.events.emit('network', 'connect', n.id, { container: rec.id, name: n.name, type: n.driver });
  }

  /** Remove one network's endpoint from a live sandbox and give its address back. */
  private async disconnectEndpoint(rec: NetworkedContainer, netName: string, deleteInterface = true): Promise<void> {
    const ep = rec.networks?.[netName];
    const itf = rec.sandbox?.interfaces[netName];
    if (itf && deleteInterface) await removeInterface(itf);
    if (ep?.IPAddress && ep.NetworkID) this.allocators.get(ep.NetworkID)?.release(parseIPv4(ep.IPAddress));
    if (ep?.GlobalIPv6Address && ep.NetworkID) this.allocators6.get(ep.NetworkID)?.release(parseIPv6(ep.GlobalIPv6Address));
    if (rec.sandbox) delete rec.sandbox.interfaces[netName];
    if (ep?.EndpointID) {
      const n = this.store.tryGet(ep.NetworkID!);
      this.o.events.emit('network', 'disconnect', ep.NetworkID!, { container: rec.id, name: n?.name ?? netName, type: 'bridge' });
    }
    if (ep) clearLive(ep, itf?.requestedMac);
  }

  /** Reserve host ports and add the DNAT mappings to the container's first network address. */
  private async publish(rec: NetworkedContainer): Promise<void> {
    const first = Object.values(rec.networks ?? {}).find((ep) => ep.IPAddress);
    const wanted = portRequests(rec);
    if (!first || !wanted.length) return;
    const held: Reservation[] = [];
    this.reservations.set(rec.id, held);
    for (const w of wanted) held.push(await reserveFromRange(w, first.IPAddress!));
    rec.sandbox!.ports = held.map((r) => r.mapping);
    await this.firewall.setPorts(rec.id, rec.sandbox!.ports);
  }

  /** Undo attach: ports, endpoints, sandbox. Safe to call twice and after a partial attach. */
  async detach(rec: NetworkedContainer): Promise<void> {
    const held = this.reservations.get(rec.id) ?? [];
    this.reservations.delete(rec.id);
    await Promise.all(held.map((r) => r.close()));
    await this.firewall.setPorts(rec.id, []).catch(() => undefined);
    const sb = rec.sandbox;
    // Freeing a namespace nobody else uses frees its veths too, in the kernel's background work, which
    // spares the stop path ~50 ms per interface; one shared through --network container: is emptied first.
    const sharedWith = this.o.containers().all().some((c) => c.id !== rec.id && c.sandbox?.shared && c.sandbox.key === sb?.key);
    const wholeSandbox = sb && !sb.shared && sb.key && !sharedWith;
    for (const netName of Object.keys(rec.networks ?? {})) await this.disconnectEndpoint(rec, netName, !wholeSandbox);
    if (wholeSandbox) await removeSandbox(sb.key);
    delete rec.sandbox;
    this.transient.delete(rec.id);
  }

  /** `network connect`: record the endpoint; wire it now if the container runs. */
  async connect(netRef: string, containerRef: string, settings: EndpointSettings = {}): Promise<void> {
    const n = this.store.get(netRef);
    const rec = this.o.containers().get(containerRef);
    const mode = networkMode(rec.hostConfig);
    if (n.driver !== 'bridge' || mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      throw new Conflict(`container cannot be disconnected from host network or connected to host network`);
    }
    if (Object.values(rec.networks ?? {}).some((ep) => ep.NetworkID === n.id)) {
      throw new Conflict(`endpoint with name ${rec.name.slice(1)} already exists in network ${n.name}`);
    }
    this.checkEndpointConfig(n, settings);
    rec.networks = { ...(rec.networks ?? {}), [n.name]: endpointConfig(n, settings) };
    if (rec.sandbox && !rec.sandbox.shared && rec.state.status !== 'exited') {
      try {
        await this.connectEndpoint(rec, n.name);
      } catch (e) {
        delete rec.networks[n.name];
        throw e;
      }
    }
    await this.o.containers().save(rec);
  }

  async disconnect(netRef: string, containerRef: string, _force = false): Promise<void> {
    const n = this.store.get(netRef);
    const rec = this.o.containers().get(containerRef);
    const name = Object.entries(rec.networks ?? {}).find(([, ep]) => ep.NetworkID === n.id)?.[0];
    if (!name) throw new Conflict(`container ${rec.id} is not connected to network ${n.name}`);
    if (rec.sandbox) await this.disconnectEndpoint(rec, name);
    delete rec.networks![name];
    await this.o.containers().save(rec);
  }

  // ---- what the container's files need ----

  /** The embedded DNS address for a container on a user-defined network, else undefined (host's resolv.conf). */
  embeddedDns(rec: NetworkedContainer): string | undefined {
    for (const ep of Object.values(rec.networks ?? {})) {
      const n = ep.NetworkID ? this.store.tryGet(ep.NetworkID) : undefined;
      if (n && !isDefaultBridge(n) && n.ipam) return n.ipam.gateway;
    }
    return undefined;
  }

  /** The default bridge's gateway: what `--add-host name:host-gateway` means (dockerd's default). */
  hostGatewayIp(): string {
    return this.store.get('bridge').ipam!.gateway;
  }

  // ---- the embedded DNS's view ----

  private containerAt(ip: string): NetworkedContainer | undefined {
    return [...this.o.containers().all(), ...this.transient.values()].find((c) => c.sandbox && Object.values(c.networks ?? {}).some((ep) => ep.IPAddress === ip));
  }

  private lookup(client: string, name: string): string[] | undefined {
    const asker = this.containerAt(client);
    if (!asker) return undefined;
    const ips: string[] = [];
    for (const mine of Object.values(asker.networks ?? {})) {
      const n = mine.NetworkID ? this.store.tryGet(mine.NetworkID) : undefined;
      if (!n || isDefaultBridge(n) || !mine.IPAddress) continue;
      // A link's alias ("target:alias" on the asker's endpoint) names its target, for the asker only.
      const wanted = linkTarget(mine.Links, name) ?? name.toLowerCase();
      for (const { rec, ep } of this.endpointsOn(n)) {
        // A container being stopped takes no new clients: it leaves the answers when its stop begins,
        // not when its process has exited, so it can finish what it serves in its grace period (as
        // Swarm withdraws a task before shutting it down). Rolling updates rely on it.
        if (rec.state.manuallyStopped) continue;
        if (ep.IPAddress && (ep.DNSNames ?? []).some((d) => d.toLowerCase() === wanted)) ips.push(ep.IPAddress, ...(ep.GlobalIPv6Address ? [ep.GlobalIPv6Address] : []));
      }
    }
    return ips.length ? [...new Set(ips)] : undefined;
  }

  private reverse(client: string, ip: string): string | undefined {
    const asker = this.containerAt(client);
    const target = this.containerAt(ip);
    if (!asker || !target) return undefined;
    const shared = Object.values(target.networks ?? {}).find(
      (ep) => ep.IPAddress === ip && Object.values(asker.networks ?? {}).some((a) => a.NetworkID === ep.NetworkID && a.IPAddress),
    );
    if (!shared) return undefined;
    const n = this.store.tryGet(shared.NetworkID!);
    return n && !isDefaultBridge(n) ? `${target.name.slice(1)}.${n.name}` : undefined;
  }

  private upstreams(client: string): string[] {
    const asker = this.containerAt(client);
    const own = asker?.hostConfig.Dns ?? [];
    return own.length ? own : this.hostResolvers;
  }

  /** For tests and shutdown: stop answering DNS. Bridges and rules stay, as dockerd leaves them. */
  close(): void {
    this.dns.closeAll();
  }
}

// ---- helpers ----

function predefined(name: string, driver: 'host' | 'null'): NetworkRecord {
  return { id: randomId(), name, driver, created: new Date().toISOString(), internal: false, attachable: false, options: {}, labels: {} };
}

/** A network's live IPv6 configuration: only with EnableIPv6 and a subnet; the gateway defaults to the subnet's first address. */
export function ipv6Of(n: NetworkRecord): { subnet: Cidr6; gateway: string; ipRange?: Cidr6 } | undefined {
  if (!n.enableIPv6 || !n.ipam6) return undefined;
  const subnet = parseCidr6(n.ipam6.subnet);
  return { subnet, gateway: n.ipam6.gateway ?? formatIPv6(subnet.base + 1n), ...(n.ipam6.ipRange ? { ipRange: parseCidr6(n.ipam6.ipRange) } : {}) };
}

export function isDefaultBridge(n: NetworkRecord): boolean {
  return n.name === 'bridge';
}

/** HostConfig.NetworkMode with Docker's default: "default" and "" mean the default bridge. */
export function networkMode(hc: HostConfig): string {
  const m = hc.NetworkMode || 'default';
  return m === 'default' ? 'bridge' : m;
}

/** What a container asks of a network, kept as given (dockerd shows it back in inspect, before and after start). */
function endpointConfig(n: NetworkRecord, s: EndpointSettings, macAddress?: string): EndpointSettings {
  const ipv4 = s.IPAMConfig?.IPv4Address;
  const ipv6 = s.IPAMConfig?.IPv6Address;
  const linkLocal = s.IPAMConfig?.LinkLocalIPs;
  return {
    IPAMConfig:
      ipv4 || ipv6 || linkLocal?.length
        ? { ...(ipv4 ? { IPv4Address: ipv4 } : {}), ...(ipv6 ? { IPv6Address: ipv6 } : {}), ...(linkLocal?.length ? { LinkLocalIPs: [...linkLocal] } : {}) }
        : null,
    Links: s.Links?.length ? [...s.Links] : null,
    Aliases: s.Aliases?.length ? [...s.Aliases] : null,
    NetworkID: n.id,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    // A MAC asked for is shown before start; otherwise the one derived from the address, while running.
    MacAddress: s.MacAddress || macAddress || '',
    DriverOpts: s.DriverOpts && Object.keys(s.DriverOpts).length ? { ...s.DriverOpts } : null,
    DNSNames: null,
  };
}

/** After stop or disconnect: only what was asked for stays (a requested MAC, not a derived one). */
function clearLive(ep: EndpointSettings, requestedMac = ''): void {
  Object.assign(ep, { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: requestedMac, DNSNames: null });
}

/** The names a container answers to on a user-defined network: its name, aliases and short ID. */
function dnsNames(rec: NetworkedContainer, ep: EndpointSettings): string[] {
  return [...new Set([rec.name.slice(1), ...(ep.Aliases ?? []), rec.id.slice(0, 12)])];
}

/** The container a link alias stands for ("/db:database" or "db:database" → "db"), lower-cased. */
function linkTarget(links: string[] | null | undefined, alias: string): string | undefined {
  for (const link of links ?? []) {
    const [target, as = target] = link.replace(/^\//, '').split(':');
    if (as!.toLowerCase() === alias.toLowerCase()) return target!.toLowerCase();
  }
  return undefined;
}

/** Docker's MAC address syntax: six hex pairs separated by colons. */
function checkMac(mac: string | undefined): void {
  if (mac && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new InvalidParameter(`${mac} is not a valid mac address`);
}

/** IPAM's AuxiliaryAddresses: each inside the subnet (dockerd's rule and wording). */
function auxiliaryAddresses(subnet: Cidr, aux: Record<string, string> | null | undefined): Record<string, string> | undefined {
  const entries = Object.entries(aux ?? {});
  if (!entries.length) return undefined;
  for (const [host, ip] of entries) {
    if (!isIPv4(ip) || !contains(subnet, parseIPv4(ip))) {
      throw new InvalidParameter(`auxiliary address: (${host}:${ip}) must belong to the master pool: ${formatCidr(subnet)}`);
    }
  }
  return Object.fromEntries(entries);
}

interface PortRequest {
  proto: 'tcp' | 'udp';
  containerPort: number;
  hostIp: string;
  /** Inclusive range; [0, 0] = any ephemeral port. */
  hostPorts: [number, number];
}

/** PortBindings plus, with -P, every exposed port not bound explicitly (onto an ephemeral port). */
function portRequests(rec: NetworkedContainer): PortRequest[] {
  const out: PortRequest[] = [];
  const bindings: Record<string, PortBinding[] | null> = { ...(rec.hostConfig.PortBindings ?? {}) };
  if (rec.hostConfig.PublishAllPorts) {
    for (const key of Object.keys(rec.config.ExposedPorts ?? {})) if (!bindings[key]?.length) bindings[key] = [{ HostIp: '', HostPort: '' }];
  }
  for (const [key, list] of Object.entries(bindings)) {
    const [port, proto = 'tcp'] = key.split('/');
    if (proto !== 'tcp' && proto !== 'udp') throw new InvalidParameter(`unsupported protocol ${proto} for port ${key}: berth publishes tcp and udp`);
    for (const b of list ?? []) {
      if (b.HostIp && !isIPv4(b.HostIp)) throw new InvalidParameter(`invalid host IP ${b.HostIp} for port ${key}: berth publishes on IPv4 addresses`);
      const [lo, hi] = (b.HostPort || '0').split('-').map(Number);
      out.push({ proto, containerPort: Number(port), hostIp: b.HostIp ?? '', hostPorts: [lo!, hi ?? lo!] });
    }
  }
  return out;
}

/** The first port of the range that can be bound (Docker's rule for `-p 8000-8010:80`). */
async function reserveFromRange(w: PortRequest, containerIp: string): Promise<Reservation> {
  let lastError: unknown;
  for (let p = w.hostPorts[0]; p <= w.hostPorts[1]; p++) {
    try {
      return await reserve({ proto: w.proto, hostIp: w.hostIp, hostPort: p, containerIp, containerPort: w.containerPort });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

function matchesFilters(n: NetworkRecord, f: Record<string, string[]>, inUse: () => boolean): boolean {
  const any = (k: string, pred: (v: string) => boolean) => !f[k]?.length || f[k]!.some(pred);
  return (
    any('driver', (v) => v === n.driver) &&
    (!f.id?.length || matchesPattern(f.id, n.id)) &&
    (!f.name?.length || matchesPattern(f.name, n.name)) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => (v === 'builtin') === PREDEFINED.includes(n.name)) &&
    any('dangling', (v) => (v === 'true' || v === '1') === (!PREDEFINED.includes(n.name) && !inUse())) &&
    labelsMatch(n.labels, f)
  );
}

/** The host's nameservers, which the embedded DNS forwards to (berthd runs on the host, so loopback ones work). */
async function readHostResolvers(): Promise<string[]> {
  const text = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const servers = text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p[0] === 'nameserver' && p[1])
    .map((p) => p[1]!);
  return servers.length ? servers : ['8.8.8.8', '8.8.4.4'];
}

export type { SandboxRecord, PortMapping };
