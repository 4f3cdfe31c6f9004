// Network records on disk (ROOT/networks/<id>.json), written atomically, and lookup by ID, name or prefix.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';

export interface NetworkRecord {
  id: string;
  name: string;
  /** bridge, or the predefined host and null networks. */
  driver: 'bridge' | 'host' | 'null';
  created: string;
  internal: boolean;
  attachable: boolean;
  /** IPv4 configuration of bridge networks; userConfigured when --subnet was given (static IPs need it). */
  ipam?: { subnet: string; gateway: string; ipRange?: string; userConfigured: boolean; auxAddresses?: Record<string, string> };
  /** EnableIPv6: the bridge and each endpoint get an address in ipam6's subnet. */
  enableIPv6?: boolean;
  /**
   * The user's IPv6 subnet (kept, and shown, even without EnableIPv6, as dockerd does); gateway is the one
   * given, if any (inspect shows only that one), else the subnet's first address is used.
   */
  ipam6?: { subnet: string; gateway?: string; ipRange?: string };
  /** The bridge device. */
  bridge?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export const PREDEFINED = ['bridge', 'host', 'none'];

export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();

  constructor(readonly dir: string) {}

  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const f of await fs.readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const rec = await readJsonIfExists<NetworkRecord>(path.join(this.dir, f));
      if (rec) this.byId.set(rec.id, rec);
    }
  }

  all(): NetworkRecord[] {
    return [...this.byId.values()];
  }

  /** By full ID, exact name, then unique ID prefix, as dockerd resolves network references. */
  get(ref: string): NetworkRecord {
    if (!ref) throw new InvalidParameter('network name or ID cannot be empty');
    const exact = this.byId.get(ref) ?? this.all().find((n) => n.name === ref);
    if (exact) return exact;
    const matches = this.all().filter((n) => n.id.startsWith(ref));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new InvalidParameter(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    throw new NotFound(`network ${ref} not found`);
  }

  tryGet(ref: string): NetworkRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  async save(rec: NetworkRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, rec.id + '.json'), rec);
    this.byId.set(rec.id, rec);
  }

  async delete(id: string): Promise<void> {
    await fs.rm(path.join(this.dir, id + '.json'), { force: true });
    this.byId.delete(id);
  }
}
