// Scenario (issue 12, performance): `berth scan` of a Node application image against a vulnerability
// database of 100,000 OSV records, target ≤ 1 s for the whole command. The image: busybox plus a Debian
// 12 package database of BENCH_DEBS packages and an /app/node_modules tree of BENCH_NPM packages; the
// records: 3 per planted package (one affecting it, one fixed below it, one for another release) and the
// rest for packages the image does not have, spread over Debian:12, npm and PyPI. No Docker equivalent
// works offline (docker scout fetches its data), so the row compares berth with the 1 s budget.
// Runs: one cold (the layer's inventory not cached yet), then BENCH_ROUNDS warm; the median is reported.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { busyboxTar, median, record, startBerth, timeRun, type Engine } from './lib.js';
import { importPath } from '../src/engine/scan/db.js';
import { appImageTar, osv, writeOsvDir, type Osv } from '../test/support/scan-fixture.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const NPM = Number(process.env.BENCH_NPM ?? 800);
const DEBS = Number(process.env.BENCH_DEBS ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BUDGET_MS = 1000;

function records(debs: { name: string; version: string }[], npm: { name: string; version: string }[]): Osv[] {
  const out: Osv[] = [];
  let n = 0;
  const id = (p: string) => `${p}-${String(++n).padStart(6, '0')}`;
  for (const d of debs) {
    out.push(osv(id('DSA'), 'Debian:12', d.name, { fixed: '2.0-1' }, { database_specific: { severity: 'HIGH' } }));
    out.push(osv(id('DSA'), 'Debian:12', d.name, { fixed: '0.5-1' }));
    out.push(osv(id('DSA'), 'Debian:11', d.name, { fixed: '9.0-1' }));
  }
  for (const p of npm) {
    out.push(osv(id('GHSA'), 'npm', p.name, { fixed: '1.5.0' }, { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] }));
    out.push(osv(id('GHSA'), 'npm', p.name, { fixed: '0.9.0' }));
    out.push(osv(id('GHSA'), 'npm', p.name, { introduced: '3.0.0', fixed: '3.1.0' }));
  }
  const ecos = ['Debian:12', 'npm', 'PyPI'];
  while (out.length < RECORDS) {
    const i = out.length;
    out.push(osv(id('OSV'), ecos[i % 3]!, `other-package-${i % 40_000}`, { fixed: `${1 + (i % 7)}.0.0` }));
  }
  return out;
}

/** `berth scan db import DIR`, timed; while that command is not in this build, the database's importer
 *  writing into the private berthd's root (beside its socket). */
async function importDb(e: Engine, dir: string): Promise<number> {
  const probe = spawnSync(e.cli[0]!, [...e.cli.slice(1), 'scan', 'db', 'status'], { encoding: 'utf8' });
  if (!/is not a berth command|requires at most/.test(probe.stderr)) return timeRun(e, ['scan', 'db', 'import', dir]);
  const socket = e.cli[e.cli.indexOf('-H') + 1]!.replace(/^unix:\/\//, '');
  const t0 = performance.now();
  await importPath(path.join(path.dirname(socket), 'root', 'vulndb'), dir);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const debs = Array.from({ length: DEBS }, (_, i) => ({ name: `deb-pkg-${i}`, version: '1.0-1' }));
  const npm = Array.from({ length: NPM }, (_, i) => ({ name: `npm-pkg-${i}`, version: '1.2.3' }));
  const e = await startBerth();
  const dir = await fs.mkdtemp('/tmp/bench-scan-');
  try {
    const tar = await appImageTar(busyboxTar(), dir, debs, npm);
    const imp = spawnSync(e.cli[0]!, [...e.cli.slice(1), 'import', tar, 'scanbench:1'], { encoding: 'utf8' });
    if (imp.status !== 0) throw new Error(`import: ${imp.stderr}`);
    const recs = records(debs, npm);
    await writeOsvDir(path.join(dir, 'osv'), recs);
    const importMs = await importDb(e, path.join(dir, 'osv'));
    console.log(`database import of ${recs.length} records (a directory of JSON files): ${importMs.toFixed(0)} ms`);
    const cold = timeRun(e, ['scan', '--format', 'json', 'scanbench:1']);
    const check = spawnSync(e.cli[0]!, [...e.cli.slice(1), 'scan', '--format', 'json', 'scanbench:1'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const found = (JSON.parse(check.stdout) as { Results: { Vulnerabilities?: unknown[] }[] }).Results.reduce((n, r) => n + (r.Vulnerabilities?.length ?? 0), 0);
    if (found !== DEBS + NPM) throw new Error(`expected ${DEBS + NPM} findings (one per planted package), got ${found}`);
    const warm: number[] = [];
    for (let i = 0; i < ROUNDS; i++) warm.push(timeRun(e, ['scan', 'scanbench:1']));
    const work = `scan: Node app (${NPM} npm + ${DEBS} deb pkgs) vs ${Math.round(recs.length / 1000)}k records`;
    const row = { work, berth: median(warm), docker: BUDGET_MS, unit: 'ms', target: 1 };
    record(row);
    console.log(`${work}: cold ${cold.toFixed(0)} ms, warm median ${row.berth.toFixed(0)} ms of ${ROUNDS} (budget ${BUDGET_MS} ms: ${row.berth <= BUDGET_MS ? 'met' : 'NOT met'}); ${found} findings`);
  } finally {
    await e.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
