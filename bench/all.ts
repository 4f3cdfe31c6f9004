// Every benchmark in bench/, one after the other, each on berth and on a private dockerd 20.10 side by
// side; then one table (work, berth, Docker, ratio, target, met) and the same rows as JSON.
//   node dist/bench/all.js [--only cli,run-container] [--skip health-logs] [--json FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { targetMet, type BenchRow } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** In the order of the issues' tables: the commands users wait for first, the long load tests last. */
const BENCHES = ['cli', 'run-container', 'build', 'distribution', 'registry-server', 'network', 'compose', 'health-logs', 'sbom', 'scan-db', 'scan'];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function fmt(v: number, unit: string): string {
  if (unit === 'ms') return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${unit}`;
}

function table(rows: (BenchRow & { bench: string })[], failed: string[]): void {
  const head = ['work', 'berth', 'Docker', 'ratio', 'target', 'met'];
  const body = rows.map((r) => {
    const met = targetMet(r);
    // A row without a Docker equivalent shows its absolute target in the target column.
    if (r.noDocker) return [r.work, fmt(r.berth, r.unit), 'n/a', '', `≤ ${fmt(r.docker, r.unit)}`, met ? 'yes' : 'NO'];
    return [r.work, fmt(r.berth, r.unit), fmt(r.docker, r.unit), `${(r.berth / r.docker).toFixed(2)}×`, r.target === undefined ? '' : `${r.higherIsBetter ? '≥' : '≤'} ${r.target}×`, met === undefined ? '' : met ? 'yes' : 'NO'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  console.log(`\nberth vs Docker (dockerd 20.10, docker CLI ${process.env.DOCKER_CLI_VERSION ?? '28'}), ${new Date().toISOString().slice(0, 10)}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
  console.log(line(head));
  console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const b of body) console.log(line(b));
  if (failed.length) console.log(`\nfailed (see their output above): ${failed.join(', ')}`);
}

function main(): void {
  const only = option('--only')?.split(',');
  const skip = option('--skip')?.split(',') ?? [];
  const out = option('--json') ?? '/var/tmp/berth-bench/results.json';
  const benches = BENCHES.filter((b) => (!only || only.includes(b)) && !skip.includes(b));
  for (const b of only ?? []) if (!BENCHES.includes(b)) throw new Error(`unknown benchmark "${b}": one of ${BENCHES.join(', ')}`);
  mkdirSync(path.dirname(out), { recursive: true });
  const rowsFile = `${out}.rows`;
  rmSync(rowsFile, { force: true });
  const failed: string[] = [];
  for (const b of benches) {
    console.log(`\n== bench/${b}`);
    const r = spawnSync(process.execPath, [path.join(HERE, `${b}.js`)], { stdio: 'inherit', env: { ...process.env, BENCH_JSON: rowsFile } });
    if (r.status !== 0) failed.push(b);
  }
  const rows = existsSync(rowsFile) ? readFileSync(rowsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as BenchRow & { bench: string }) : [];
  rmSync(rowsFile, { force: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), rows, failed }, null, 2) + '\n');
  table(rows, failed);
  console.log(`\nrows as JSON: ${out}`);
  if (failed.length) process.exitCode = 1;
}

main();
