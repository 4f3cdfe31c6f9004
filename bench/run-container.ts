// Scenario 1 (foundation): `run --rm busybox true` end to end through each engine's own CLI,
// alternating engines; plus berthd's idle memory and what each running container adds.
// BENCH_TRACE=1 also prints berth's per-phase trace of those runs (CLI, requests, berthd, shim, runc).
// BENCH_BERTH_BASE=DIR (another built checkout) runs that berth too, in the same rounds: before/after.
import { rmSync } from 'node:fs';
import { busyboxTar, importImage, median, pidsByCmd, record, report, rssKiB, startBerth, startEngines, timeRun, type Engine } from './lib.js';
import { printTrace, type Window } from './trace.js';

const N = Number(process.env.BENCH_RUNS ?? 15);

async function main(): Promise<void> {
  const tar = busyboxTar();
  const traceFile = process.env.BENCH_TRACE ? `/tmp/berth-trace-${process.pid}.jsonl` : undefined;
  const baseTrace = traceFile && `${traceFile}.base`;
  const baseRepo = process.env.BENCH_BERTH_BASE;
  const [berth, docker] = await startEngines({}, { traceFile });
  const base = baseRepo ? await startBerth({ repo: baseRepo, name: 'berth-base', bridge: 'bbrunbase0', traceFile: baseTrace }).catch(async (e: unknown) => {
    await berth.stop();
    await docker.stop();
    throw e;
  }) : undefined;
  const engines = base ? [base, berth, docker] : [berth, docker];
  const windows: Record<string, Window[]> = { berth: [], 'berth-base': [] };
  try {
    for (const e of engines) importImage(e, tar, 'busybox:latest');
    for (const e of engines) timeRun(e, ['run', '--rm', 'busybox', 'true']); // warm-up
    const times: Record<string, number[]> = { berth: [], docker: [], 'berth-base': [] };
    for (let i = 0; i < N; i++) {
      for (const e of engines) {
        const t0 = performance.timeOrigin + performance.now();
        times[e.name]!.push(timeRun(e, ['run', '--rm', 'busybox', 'true']));
        windows[e.name]?.push({ t0, t1: performance.timeOrigin + performance.now() });
      }
    }
    if (base) console.log(`run --rm busybox true (${baseRepo})`.padEnd(34) + ` berth-base ${median(times['berth-base']!).toFixed(1)} ms   ratio ${(median(times['berth-base']!) / median(times.docker!)).toFixed(2)}×`);
    report('run --rm busybox true', times.berth!, times.docker!, 0.3);
    if (base && baseTrace) printTrace(`berth-base run --rm busybox true`, baseTrace, windows['berth-base']!);
    if (traceFile) printTrace('berth run --rm busybox true', traceFile, windows.berth!);
    if (!base) memory(berth, docker);
  } finally {
    await base?.stop();
    await berth.stop();
    await docker.stop();
    for (const f of [traceFile, baseTrace]) if (f) rmSync(f, { force: true });
  }
}

/** Idle daemon RSS, then the monitor cost per running container (shim vs containerd-shim). */
function memory(berth: Engine, docker: Engine): void {
  const mib = (k: number) => (k / 1024).toFixed(1) + ' MiB';
  const idle = (e: Engine) => e.daemonPids().reduce((s, p) => s + rssKiB(p), 0);
  console.log(`idle daemon memory                 berth ${mib(idle(berth)).padStart(10)}   docker ${mib(idle(docker)).padStart(10)} (dockerd + containerd)`);
  const K = 5;
  for (const e of [berth, docker]) for (let i = 0; i < K; i++) timeRun(e, ['run', '-d', 'busybox', 'sleep', '600']);
  const shim = median(pidsByCmd(/berth-shim/).map(rssKiB));
  const dshim = median(pidsByCmd(/containerd-shim/).map(rssKiB));
  record({ work: 'idle daemon memory', berth: idle(berth) / 1024, docker: idle(docker) / 1024, unit: 'MiB' });
  record({ work: 'monitor per running container', berth: shim / 1024, docker: dshim / 1024, unit: 'MiB' });
  console.log(`monitor per running container      berth ${mib(shim).padStart(10)}   docker ${mib(dshim).padStart(10)} (median RSS of berth-shim vs containerd-shim-runc-v2; target ≤ 3 MiB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
