// Scenario (issue 5, builder): the reference build (../shared/bench/ref-build: a multi-stage Dockerfile on
// debian:bookworm over a generated 10 MB, 2,000-file context) on berth and on Docker 20.10 with BuildKit
// (Debian's own docker CLI, which speaks BuildKit without buildx): cold (no cache), warm (all cached), and
// after one source file changed.
//   BENCH_BEFORE=DIR  also runs the berth of another checkout (built: DIR/dist), named "before", in the same
//                     rounds — a change measured before and after in one run.
//   BENCH_DOCKER=0    leaves dockerd out (no private dockerd started: berth rows only, no ratios).
//   BENCH_TRACE=1     also prints berth's per-phase trace (bench/trace.ts) of the cold and one-file-changed builds.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, appendFileSync, writeFileSync } from 'node:fs';
import { debianTar, median, record, sh, startBerth, startDocker, verdict, type Engine } from './lib.js';
import { printTrace, type Window } from './trace.js';

const REF = '/work/shared/bench/ref-build';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// Docker 20.10's own CLI builds with BuildKit natively; the newer CLI would need the buildx plugin.
const DOCKER_20_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : undefined;
const BEFORE = process.env.BENCH_BEFORE;
const WITH_DOCKER = process.env.BENCH_DOCKER !== '0';
// BENCH_TRACE=FILE (a path) keeps the spans there for a closer look.
const TRACE = process.env.BENCH_TRACE ? (process.env.BENCH_TRACE.includes('/') ? process.env.BENCH_TRACE : `/tmp/berth-build-trace-${process.pid}.jsonl`) : undefined;

function cli(e: Engine, args: string[], env: NodeJS.ProcessEnv = {}, windows?: Window[]): number {
  const argv = e.name === 'docker' && DOCKER_20_CLI ? [DOCKER_20_CLI, ...args] : [...e.cli, ...args];
  const t0 = performance.now();
  const w0 = performance.timeOrigin + t0;
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...e.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${e.name} ${args.join(' ')}: ${r.stderr}\n${r.stdout.slice(-2000)}`);
  windows?.push({ t0: w0, t1: performance.timeOrigin + performance.now() });
  return performance.now() - t0;
}

function clearCache(e: Engine): void {
  if (e.name === 'docker') cli(e, ['builder', 'prune', '-af'], { DOCKER_BUILDKIT: '1' });
  else cli(e, ['builder', 'prune', '-f']);
  spawnSync('sh', ['-c', `${e.cli.join(' ')} rmi -f refbuild 2>/dev/null`], { env: { ...process.env, ...e.env }, stdio: 'ignore' });
}

async function main(): Promise<void> {
  if (WITH_DOCKER && !DOCKER_20_CLI) throw new Error('bench: Debian docker.io (with /usr/bin/docker 20.10) is needed for the BuildKit reference');
  const tar = debianTar();
  const ctxRoot = await fs.mkdtemp('/tmp/bench-ctx-');
  const engines: Engine[] = [];
  const times: Record<string, { cold: number[]; warm: number[]; change: number[] }> = {};
  try {
    engines.push(await startBerth({ traceFile: TRACE }));
    const traced = { cold: [] as Window[], warm: [] as Window[], change: [] as Window[] };
    const tracedBefore = { cold: [] as Window[], warm: [] as Window[], change: [] as Window[] };
    const windows = (e: Engine, what: keyof typeof traced) => (e.name === 'berth' ? traced[what] : e.name === 'before' ? tracedBefore[what] : undefined);
    // BENCH_BEFORE_BRIDGE: another bench run at the same time (another checkout) may use bbbench1.
    if (BEFORE) engines.push(await startBerth({ repo: BEFORE, bridge: process.env.BENCH_BEFORE_BRIDGE || 'bbbench1', name: 'before', traceFile: TRACE && `${TRACE}.before` }));
    if (WITH_DOCKER) engines.push(await startDocker());
    for (const e of engines) times[e.name] = { cold: [], warm: [], change: [] };
    for (const e of engines) cli(e, ['import', tar, 'debian:bookworm']);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with the next engine: the first of a round measured slower (more CPU on the
      // cold build, whichever engine it was), so no engine keeps that place.
      for (const e of [...engines.slice(round % engines.length), ...engines.slice(0, round % engines.length)]) {
        const ctx = `${ctxRoot}/${e.name}-${round}`;
        // Written back before the timed builds: the generated files' writeback is charged to no engine
        // (the first engine of a round used to pay it in its cold build).
        sh(`sh ${REF}/gen-src.sh ${ctx} && sync`);
        const env = e.name === 'docker' ? { DOCKER_BUILDKIT: '1' } : {};
        clearCache(e);
        times[e.name]!.cold.push(cli(e, ['build', '-t', 'refbuild', ctx], env, windows(e, 'cold')));
        times[e.name]!.warm.push(cli(e, ['build', '-t', 'refbuild', ctx], env, windows(e, 'warm')));
        appendFileSync(`${ctx}/src/pkg3/f1.txt`, `changed in round ${round}\n`);
        times[e.name]!.change.push(cli(e, ['build', '-t', 'refbuild', ctx], env, windows(e, 'change')));
      }
    }
    console.log(`reference build (${REF}), ${ROUNDS} rounds, medians; Docker 20.10 with BuildKit`);
    for (const [what, target] of [['cold', 0.6], ['warm', 0.5], ['change', 0.5]] as const) {
      const b = median(times.berth![what]);
      const s = (ms: number) => (ms / 1000).toFixed(2).padStart(6);
      if (BEFORE) console.log(`  ${what.padEnd(7)} before ${s(median(times.before![what]))} s   after ${s(b)} s`);
      if (!WITH_DOCKER) continue;
      const d = median(times.docker![what]);
      const row = { work: `build, ${what === 'change' ? 'one file changed' : what}`, berth: b, docker: d, unit: 'ms', target };
      record(row);
      console.log(`  ${what.padEnd(7)} berth ${(b / 1000).toFixed(2).padStart(6)} s   docker ${(d / 1000).toFixed(2).padStart(6)} s   ratio ${(b / d).toFixed(2)}×${verdict(row)}`);
    }
    if (TRACE) {
      printTrace('berth build, cold', TRACE, traced.cold);
      printTrace('berth build, one file changed', TRACE, traced.change);
      if (process.env.BENCH_TRACE!.includes('/')) {
        writeFileSync(`${TRACE}.windows`, JSON.stringify(traced));
        writeFileSync(`${TRACE}.before.windows`, JSON.stringify(tracedBefore));
      }
    }
  } finally {
    if (TRACE && !process.env.BENCH_TRACE!.includes('/')) for (const f of [TRACE, `${TRACE}.before`]) await fs.rm(f, { force: true });
    for (const e of engines) await e.stop();
    await fs.rm(ctxRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
