// `run --rm busybox true` on berth alone (no dockerd: safe beside other benchmarks), with the per-phase
// trace of every run (bench/trace.ts). For working on the path to a running container:
//   node dist/bench/run-trace.js            BENCH_RUNS=N (default 15)
import { rmSync } from 'node:fs';
import { busyboxTar, importImage, median, startBerth, timeRun } from './lib.js';
import { printTrace, type Window } from './trace.js';

const N = Number(process.env.BENCH_RUNS ?? 15);

async function main(): Promise<void> {
  const traceFile = `/tmp/berth-trace-${process.pid}.jsonl`;
  const tar = busyboxTar();
  const berth = await startBerth({ traceFile });
  try {
    importImage(berth, tar, 'busybox:latest');
    for (let i = 0; i < 2; i++) timeRun(berth, ['run', '--rm', 'busybox', 'true']); // warm-up
    const windows: Window[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.timeOrigin + performance.now();
      timeRun(berth, ['run', '--rm', 'busybox', 'true']);
      windows.push({ t0, t1: performance.timeOrigin + performance.now() });
    }
    console.log(`run --rm busybox true (berth alone)   median ${median(windows.map((w) => w.t1 - w.t0)).toFixed(1)} ms over ${N} runs`);
    printTrace('berth run --rm busybox true', traceFile, windows);
  } finally {
    await berth.stop();
    rmSync(traceFile, { force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
