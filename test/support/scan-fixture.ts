// A small "application image" with planted packages for `berth scan`'s tests and benchmark: busybox's
// root filesystem plus a Debian 12 /etc/os-release, a /var/lib/dpkg/status listing the planted Debian
// packages (with their source packages) and an /app/node_modules tree of planted npm packages; and OSV
// records written for exactly those packages (never fetched).
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface DebPlant {
  name: string;
  version: string;
  source?: string;
  sourceVersion?: string;
}

export interface NpmPlant {
  name: string;
  version: string;
}

function dpkgStatus(debs: DebPlant[]): string {
  return debs
    .map((d) => {
      const src = d.source ? `Source: ${d.source}${d.sourceVersion && d.sourceVersion !== d.version ? ` (${d.sourceVersion})` : ''}\n` : '';
      return `Package: ${d.name}\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 100\nMaintainer: Test <test@example.org>\nArchitecture: amd64\n${src}Version: ${d.version}\nDescription: planted package ${d.name}\n`;
    })
    .join('\n');
}

/** Write the planted files under `dir` (a root filesystem's top). */
export async function plantPackages(dir: string, debs: DebPlant[], npm: NpmPlant[]): Promise<void> {
  await fs.mkdir(path.join(dir, 'etc'), { recursive: true });
  await fs.writeFile(path.join(dir, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n');
  await fs.mkdir(path.join(dir, 'var/lib/dpkg'), { recursive: true });
  await fs.writeFile(path.join(dir, 'var/lib/dpkg/status'), dpkgStatus(debs));
  await fs.mkdir(path.join(dir, 'app'), { recursive: true });
  await fs.writeFile(path.join(dir, 'app/package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: Object.fromEntries(npm.map((p) => [p.name, p.version])) }, null, 2));
  for (const p of npm) {
    const pdir = path.join(dir, 'app/node_modules', p.name);
    await fs.mkdir(pdir, { recursive: true });
    await fs.writeFile(path.join(pdir, 'package.json'), JSON.stringify({ name: p.name, version: p.version, license: 'MIT' }));
  }
}

/** A tar of `baseTar` with the planted files added (a one-layer image for `berth import`). */
export async function appImageTar(baseTar: string, dir: string, debs: DebPlant[], npm: NpmPlant[]): Promise<string> {
  const plants = path.join(dir, 'plants');
  await fs.rm(plants, { recursive: true, force: true });
  await plantPackages(plants, debs, npm);
  const out = path.join(dir, 'app-rootfs.tar');
  await fs.copyFile(baseTar, out);
  const r = spawnSync('tar', ['-rf', out, '-C', plants, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -r: ${r.stderr}`);
  return out;
}

export type Osv = Record<string, unknown> & { id: string };

/** An OSV record for one package: affected from `introduced` up to `fixed` (or `last_affected`). */
export function osv(id: string, ecosystem: string, name: string, range: { introduced?: string; fixed?: string; last_affected?: string }, extra: Record<string, unknown> = {}): Osv {
  const events: Record<string, string>[] = [{ introduced: range.introduced ?? '0' }];
  if (range.fixed) events.push({ fixed: range.fixed });
  if (range.last_affected) events.push({ last_affected: range.last_affected });
  return {
    schema_version: '1.6.0',
    id,
    modified: '2026-01-01T00:00:00Z',
    published: '2025-06-01T00:00:00Z',
    aliases: [],
    summary: `${name}: planted vulnerability ${id}`,
    affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events }], versions: [] }],
    ...extra,
  };
}

/** One JSON file per record in `dir`, as osv.dev's all.zip unpacked. */
export async function writeOsvDir(dir: string, records: Osv[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const r of records) await fs.writeFile(path.join(dir, `${r.id}.json`), JSON.stringify(r));
}
