// Scenario (issue 12, the vulnerability database): import of 100,000 generated OSV records (a zip as
// osv.dev publishes all.zip: Debian:12, npm, PyPI, Go and Alpine records over 20,000 packages) into
// berth's indexed database, then opening it and looking packages up, as `berth scan` does per image.
// No Docker counterpart exists (Docker leaves this to Trivy/Grype), so the "Docker" column holds the
// issue's absolute target and the ratio is berth's share of it. Medians of BENCH_ROUNDS runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { importPath, VulnDb } from '../src/engine/scan/db.js';
import { evaluate } from '../src/engine/scan/osv.js';
import { makeZip } from '../test/support/zip.js';
import { median, record } from './lib.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PACKAGES = 20_000;

const ECOSYSTEMS: Array<[string, number, (i: number) => string]> = [
  ['Debian:12', 0.4, (i) => `${1 + (i % 9)}.${i % 31}.${i % 7}-${1 + (i % 3)}+deb12u${1 + (i % 5)}`],
  ['npm', 0.3, (i) => `${i % 12}.${i % 40}.${i % 9}`],
  ['PyPI', 0.15, (i) => `${1 + (i % 6)}.${i % 20}.${i % 4}`],
  ['Go', 0.1, (i) => `${i % 3}.${i % 25}.${i % 11}`],
  ['Alpine:v3.19', 0.05, (i) => `${1 + (i % 5)}.${i % 30}.${i % 6}-r${i % 4}`],
];

function generate(n: number): Array<{ name: string; data: string }> {
  const files: Array<{ name: string; data: string }> = [];
  let i = 0;
  for (const [eco, share, version] of ECOSYSTEMS) {
    const count = Math.round(n * share);
    for (let k = 0; k < count; k++, i++) {
      const pkg = `${eco.split(':')[0]!.toLowerCase()}-pkg-${(i * 7919) % (PACKAGES * share)}`.replace('go-', 'example.com/go-');
      const rec = {
        schema_version: '1.6.0',
        id: `BENCH-${eco.replace(/[:.]/g, '')}-${i}`,
        modified: '2024-05-01T00:00:00Z',
        published: '2024-04-01T00:00:00Z',
        aliases: [`CVE-2024-${10000 + i}`],
        summary: `Generated advisory ${i} for ${pkg}`,
        details: 'A generated record of the benchmark: a buffer overflow in the parser allows a remote attacker to execute code.',
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        affected: [
          {
            package: { ecosystem: eco, name: pkg },
            ranges: [{ type: eco === 'npm' || eco === 'Go' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version(i) }] }],
          },
        ],
        references: [{ type: 'ADVISORY', url: `https://example.com/advisories/${i}` }],
      };
      files.push({ name: `${rec.id}.json`, data: JSON.stringify(rec) });
    }
  }
  return files;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-vulndb-'));
  try {
    const t0 = performance.now();
    const files = generate(RECORDS);
    const zip = makeZip(files);
    const zipFile = path.join(dir, 'all.zip');
    writeFileSync(zipFile, zip);
    console.log(`generated ${files.length} OSV records: ${(zip.length / 1e6).toFixed(1)} MB zip in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const imports: number[] = [];
    const cpu: number[] = [];
    let records = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const s = performance.now();
      const c = process.cpuUsage();
      const meta = await importPath(path.join(dir, 'db'), zipFile, { source: 'all.zip' });
      imports.push(performance.now() - s);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      records = meta.records;
    }
    const db0 = VulnDb.open(path.join(dir, 'db'));
    const st = db0.status();
    db0.close();
    console.log(`imported ${records} records, ${st.packages} packages, ${(st.sizeBytes / 1e6).toFixed(1)} MB on disk; import ms: ${imports.map((x) => x.toFixed(0)).join(', ')} (CPU ms: ${cpu.map((x) => x.toFixed(0)).join(', ')}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);

    // Open + lookups as a scan of an image with 300 packages would do them.
    const names = Array.from({ length: 300 }, (_, i) => ({ eco: 'npm', name: `npm-pkg-${(i * 37) % 6000}` }));
    const opens: number[] = [];
    const scans: number[] = [];
    let hits = 0;
    for (let r = 0; r < 20; r++) {
      const s = performance.now();
      const db = VulnDb.open(path.join(dir, 'db'));
      db.lookup('npm', 'npm-pkg-1');
      opens.push(performance.now() - s);
      const s2 = performance.now();
      hits = 0;
      for (const { eco, name } of names) for (const rec of db.lookup(eco, name)) if (evaluate(rec, eco, name, '1.0.0').status === 'affected') hits++;
      scans.push(performance.now() - s2);
      db.close();
    }
    console.log(`open + first lookup: median ${median(opens).toFixed(2)} ms; 300 lookups + evaluations: median ${median(scans).toFixed(2)} ms (${hits} affected)`);

    const rows = [
      { work: `scan db import, ${records} OSV records (${(zip.length / 1e6).toFixed(0)} MB zip)`, berth: median(imports), docker: 10_000, unit: 'ms', target: 1 },
      { work: `scan db open + first lookup (${records} records)`, berth: median(opens), docker: 100, unit: 'ms', target: 1 },
      { work: 'scan db 300 lookups + evaluations', berth: median(scans), docker: 1000, unit: 'ms', target: 1 },
    ];
    for (const row of rows) {
      record(row);
      console.log(`${row.work.padEnd(56)} berth ${row.berth.toFixed(1).padStart(9)} ms   target ${row.docker} ms   ${row.berth <= row.docker ? 'met' : 'NOT met'}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
