// Scenario (issue 12, the package inventory): `berth sbom` of the Debian base (debootstrap minbase,
// scripts/debian-base.sh) the first time — its one layer read and catalogued — and again (the per-layer
// cache answers). Targets: first ≤ 1 s, again ≤ 0.1 s. There is no dockerd equivalent (`docker sbom`
// is a separate plug-in, Syft, not part of dockerd), so the rows compare berth with the targets.
// Each round is a fresh berthd (so "first" really reads the layer); timed both end to end through the
// CLI (`berth sbom --format json`, what a user waits for, Node start-up included) and at the Engine
// API (GET /images/{name}/sbom over the socket). Medians of BENCH_ROUNDS rounds (default 3), "again"
// the median of 5 per round.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { importImage, median, record, REPO, startBerth, type BenchRow } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const AGAIN = 5;

function getSbom(socket: string, image: string): Promise<{ ms: number; packages: number; layers: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/images/${image}/sbom` }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (res.statusCode !== 200) return reject(new Error(`GET sbom: ${res.statusCode} ${Buffer.concat(parts).toString()}`));
          const s = JSON.parse(Buffer.concat(parts).toString()) as { packages: unknown[]; layers: unknown[] };
          resolve({ ms, packages: s.packages.length, layers: s.layers.length });
        });
      })
      .on('error', reject);
  });
}

function cliSbom(cli: string[], env: NodeJS.ProcessEnv, image: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cli[0]!, [...cli.slice(1), 'sbom', '--format', 'json', image], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`berth sbom failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function row(work: string, ms: number[], targetMs: number): void {
  // No Docker number: the row carries the target in its place (bench/all prints it as such).
  const r: BenchRow = { work, berth: median(ms), docker: targetMs, unit: 'ms', target: 1, noDocker: true };
  record(r);
  console.log(`${work.padEnd(52)} berth ${r.berth.toFixed(1).padStart(8)} ms   target ≤ ${targetMs} ms   ${r.berth <= targetMs ? 'met' : 'NOT met'}`);
}

async function main(): Promise<void> {
  const base = spawnSync('sh', [path.join(REPO, 'scripts/debian-base.sh')], { encoding: 'utf8' });
  if (base.status !== 0) throw new Error(`debian-base.sh: ${base.stderr}`);
  const tar = base.stdout.trim();
  const cliFirst: number[] = [];
  const cliAgain: number[] = [];
  const apiFirst: number[] = [];
  const apiAgain: number[] = [];
  let size = { packages: 0, layers: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    // Two fresh daemons a round, one timed through the CLI and one at the API, so each "first" is cold.
    for (const via of ['cli', 'api'] as const) {
      const berth = await startBerth();
      try {
        importImage(berth, tar, 'debian:bookworm');
        const socket = berth.cli[2]!.replace('unix://', '');
        if (via === 'cli') {
          cliFirst.push(cliSbom(berth.cli, berth.env, 'debian:bookworm'));
          for (let i = 0; i < AGAIN; i++) cliAgain.push(cliSbom(berth.cli, berth.env, 'debian:bookworm'));
        } else {
          const first = await getSbom(socket, 'debian:bookworm');
          apiFirst.push(first.ms);
          size = { packages: first.packages, layers: first.layers };
          for (let i = 0; i < AGAIN; i++) apiAgain.push((await getSbom(socket, 'debian:bookworm')).ms);
        }
      } finally {
        await berth.stop();
      }
    }
  }
  const what = `Debian base, ${size.packages} packages, ${size.layers} layer${size.layers === 1 ? '' : 's'}`;
  console.log('(no dockerd equivalent: berth against the targets)');
  row(`sbom ${what}, first (CLI)`, cliFirst, 1000);
  row(`sbom ${what}, again (CLI)`, cliAgain, 100);
  row(`sbom ${what}, first (API)`, apiFirst, 1000);
  row(`sbom ${what}, again (API)`, apiAgain, 100);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
