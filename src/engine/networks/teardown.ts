// Remove everything berthd's networks put on the host: every bridge its records name or its tag claims, and its
// nftables table.
// dockerd leaves these in place when it stops (so do we); tests and benchmarks use this to leave the
// machine as they found it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deleteBridge, taggedBridges } from './bridge.js';
import { firewallTable, removeFirewall } from './firewall.js';
import type { NetworkRecord } from './store.js';

export async function tearDownNetworking(root: string, bridgeName: string): Promise<void> {
  const dir = path.join(root, 'networks');
  const files = await fs.readdir(dir).catch(() => [] as string[]);
  const bridges = new Set([bridgeName]);
  for (const f of files) {
    const rec = JSON.parse(await fs.readFile(path.join(dir, f), 'utf8').catch(() => '{}')) as Partial<NetworkRecord>;
    if (rec.bridge) bridges.add(rec.bridge);
  }
  // A crash between a bridge and its record leaves a bridge only its tag names.
  for (const b of await taggedBridges()) if (b.root === root) bridges.add(b.name);
  for (const b of bridges) await deleteBridge(b);
  await removeFirewall(firewallTable(bridgeName));
}
