// Scenario (issue 6, distribution): push and pull of the Debian base image (debootstrap minbase bookworm,
// ../shared/fixtures/mkrootfs-debian.sh) to a registry on 127.0.0.1 — Debian's docker-registry
// (distribution 2.8), fresh for every round so nothing is already there — berth vs dockerd. Each round
// starts from an imported image (so both engines have to compress the layer for the push) and pulls
// into an engine that no longer has the image or its layer.
//   BENCH_BEFORE=DIR  also runs the berth of another checkout (built: DIR/dist), named "before", in the same
//                     rounds — a change measured before and after in one run.
//   BENCH_DOCKER=0    leaves dockerd out (berth rows only, no ratios).
// It also times the floor of a pull on this machine: the same layer, gzip-compressed, decompressed (pigz)
// and extracted by GNU tar into an empty directory, with nothing else (no download, no hash, no records).
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { debianTar, median, record, sh, startBerth, startDocker, timeRun, verdict, type Engine } from './lib.js';
import { startDistribution } from '../test/support/distribution.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BEFORE = process.env.BENCH_BEFORE;
const WITH_DOCKER = process.env.BENCH_DOCKER !== '0';

/** pigz -dc | tar -x of the gzip-compressed layer into a fresh directory (then removed): the floor. */
function extractFloor(gz: string): number {
  const dir = sh('mktemp -d /var/tmp/bench-floor-XXXXXX').trim();
  try {
    const t0 = performance.now();
    sh(`pigz -dc ${gz} | tar -x --numeric-owner -p -C ${dir}`);
    return performance.now() - t0;
  } finally {
    sh(`rm -rf ${dir}`);
  }
}
function ensureRegistry(): void {
  if (existsSync('/usr/bin/docker-registry')) return;
  console.error('bench: installing Debian docker-registry');
  sh('(apt-get install -y -q docker-registry || (apt-get update -q && apt-get install -y -q docker-registry)) >/dev/null 2>&1');
}

function cli(e: Engine, args: string[]): void {
  const r = spawnSync(e.cli[0]!, [...e.cli.slice(1), ...args], { env: { ...process.env, ...e.env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${e.name} ${args.join(' ')}: ${r.stderr}`);
}

/** Remove every image (and so every layer) from the engine. */
function clean(e: Engine): void {
  spawnSync('sh', ['-c', `${e.cli.join(' ')} images -q | sort -u | xargs -r ${e.cli.join(' ')} rmi -f`], { env: { ...process.env, ...e.env }, stdio: 'ignore' });
}

async function main(): Promise<void> {
  ensureRegistry();
  const tar = debianTar();
  const size = (await fs.stat(tar)).size;
  const engines: Engine[] = [];
  const times: Record<string, { push: number[]; pull: number[] }> = {};
  const floor: number[] = [];
  const gz = `${tar}.gz`;
  if (!existsSync(gz)) sh(`pigz -1 -c ${tar} > ${gz}.tmp && mv ${gz}.tmp ${gz}`);
  try {
    engines.push(await startBerth());
    if (BEFORE) engines.push(await startBerth({ repo: BEFORE, bridge: 'bbbench1', name: 'before' }));
    if (WITH_DOCKER) engines.push(await startDocker());
    for (const e of engines) times[e.name] = { push: [], pull: [] };
    for (let round = 0; round < ROUNDS; round++) {
      floor.push(extractFloor(gz));
      for (const e of engines) {
        const reg = await startDistribution();
        try {
          const name = `127.0.0.1:${reg.port}/bench/debian:${e.name}`;
          clean(e);
          cli(e, ['import', tar, name]);
          times[e.name]!.push.push(timeRun(e, ['push', name]));
          clean(e);
          times[e.name]!.pull.push(timeRun(e, ['pull', name]));
        } finally {
          await reg.stop();
        }
      }
    }
    console.log(`Debian base image (${(size / 1e6).toFixed(0)} MB uncompressed), registry on 127.0.0.1 (distribution 2.8), ${ROUNDS} rounds, medians`);
    console.log(`  floor  pigz -dc | tar -x of the layer: ${(median(floor) / 1000).toFixed(2)} s`);
    for (const [what, target] of [['push', 0.4], ['pull', 0.5]] as const) {
      const b = median(times.berth![what]);
      if (BEFORE) console.log(`  ${what.padEnd(5)}  before ${(median(times.before![what]) / 1000).toFixed(2).padStart(6)} s   after ${(b / 1000).toFixed(2).padStart(6)} s`);
      if (!WITH_DOCKER) continue;
      const d = median(times.docker![what]);
      const row = { work: `${what} Debian base, local registry`, berth: b, docker: d, unit: 'ms', target };
      record(row);
      console.log(`  ${what.padEnd(5)}  berth ${(b / 1000).toFixed(2).padStart(6)} s   docker ${(d / 1000).toFixed(2).padStart(6)} s   ratio ${(b / d).toFixed(2)}×${verdict(row)}`);
    }
  } finally {
    for (const e of engines) await e.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
