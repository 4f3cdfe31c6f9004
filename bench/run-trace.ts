// `run --rm busybox true` on berth alone (no dockerd: safe beside other benchmarks), with the per-phase
// trace of every run (bench/trace.ts), and runc's own floor measured in the same rounds: the bundle of a
// berth container (its config.json: seccomp profile, namespaces, mounts, cgroup), its command `true`,
// run by runc alone — `runc create` + `runc start` + `runc delete` (Docker's and berth's old path) and
// `runc run --detach` + `runc delete` (berth's path now).
//   node dist/bench/run-trace.js            BENCH_RUNS=N (default 15)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { busyboxTar, importImage, median, sh, startBerth, timeRun, type Engine } from './lib.js';
import { printTrace, type Window } from './trace.js';

const N = Number(process.env.BENCH_RUNS ?? 15);
const RUNC = '/usr/sbin/runc';

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** No pipes: the container's init inherits runc's stdio, and a pipe would keep spawnSync waiting. */
function runc(root: string, ...args: string[]): void {
  const r = spawnSync(RUNC, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`runc ${args.join(' ')} failed (exit ${r.status})`);
}

/** A berth container's bundle made standalone: its own rootfs copy, a new network namespace, `true`. */
function floorBundle(berth: Engine, dir: string): string {
  const cli = (...a: string[]) => sh([...berth.cli, ...a].map((x) => `'${x}'`).join(' ')).trim();
  const id = cli('run', '-d', 'busybox', 'sleep', '600');
  const execRoot = berth.cli[2]!.replace('unix://', '').replace(/berth\.sock$/, 'run');
  const stateDir = readdirSync(`${execRoot}/c`).map((d) => `${execRoot}/c/${d}`).find((d) => id.startsWith(d.split('/').pop()!))!;
  const spec = JSON.parse(readFileSync(`${stateDir}/config.json`, 'utf8')) as { process: { args: string[] }; root: { path: string }; linux: { cgroupsPath: string; namespaces: { type: string; path?: string }[] }; mounts: { source: string }[] };
  mkdirSync(`${dir}/bundle`, { recursive: true });
  sh(`cp -a ${spec.root.path} ${dir}/bundle/rootfs`);
  spec.process.args = ['true'];
  spec.root.path = `${dir}/bundle/rootfs`;
  spec.linux.cgroupsPath = '/berth/runc-floor';
  for (const ns of spec.linux.namespaces) if (ns.type === 'network') delete ns.path;
  // /etc/hosts and friends: copies, so the container can go
  for (const m of spec.mounts) if (m.source.startsWith('/') && m.source.includes(id)) {
    const copy = `${dir}/${m.source.split('/').pop()}`;
    sh(`cp ${m.source} ${copy}`);
    m.source = copy;
  }
  writeFileSync(`${dir}/bundle/config.json`, JSON.stringify(spec));
  cli('rm', '-f', id);
  return `${dir}/bundle`;
}

function gone(pidFile: string): void {
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const deadline = Date.now() + 10_000;
  while (existsSync(`/proc/${pid}/status`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) {
    // spin: `true` ends within a millisecond
    if (Date.now() > deadline) throw new Error(`runc's container (pid ${pid}) did not end`);
  }
}

async function main(): Promise<void> {
  const traceFile = `/tmp/berth-trace-${process.pid}.jsonl`;
  const floorDir = `/tmp/berth-runc-floor-${process.pid}`;
  const tar = busyboxTar();
  const berth = await startBerth({ traceFile });
  try {
    importImage(berth, tar, 'busybox:latest');
    const bundle = floorBundle(berth, floorDir);
    const root = `${floorDir}/runc`;
    const pidFile = `${floorDir}/pid`;
    for (let i = 0; i < 2; i++) timeRun(berth, ['run', '--rm', 'busybox', 'true']); // warm-up
    const windows: Window[] = [];
    const createStart: number[] = [];
    const runDetach: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = now();
      timeRun(berth, ['run', '--rm', 'busybox', 'true']);
      windows.push({ t0, t1: now() });
      let t = now();
      runc(root, 'create', '--bundle', bundle, '--pid-file', pidFile, 'floor');
      runc(root, 'start', 'floor');
      gone(pidFile);
      runc(root, 'delete', '--force', 'floor');
      createStart.push(now() - t);
      t = now();
      runc(root, 'run', '--detach', '--bundle', bundle, '--pid-file', pidFile, 'floor');
      gone(pidFile);
      runc(root, 'delete', '--force', 'floor');
      runDetach.push(now() - t);
    }
    const whole = median(windows.map((w) => w.t1 - w.t0));
    console.log(`run --rm busybox true (berth alone)          median ${whole.toFixed(1)} ms over ${N} runs`);
    console.log(`runc create + start + delete, same bundle    median ${median(createStart).toFixed(1)} ms`);
    console.log(`runc run --detach + delete, same bundle      median ${median(runDetach).toFixed(1)} ms  (berth's floor: ${((median(runDetach) / whole) * 100).toFixed(0)}% of its run)`);
    printTrace('berth run --rm busybox true', traceFile, windows);
  } finally {
    await berth.stop();
    rmSync(traceFile, { force: true });
    spawnSync('rm', ['-rf', floorDir]);
    spawnSync('rmdir', ['/sys/fs/cgroup/berth/runc-floor']);
    for (const c of sh('ls -d /sys/fs/cgroup/*/berth/runc-floor 2>/dev/null || true').split('\n').filter(Boolean)) spawnSync('rmdir', [c]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
