// Scenario (issue 3): 50 busybox containers, each with a 1 s health check (`--health-cmd true
// --health-interval 1s`) and logging 100 lines/s (a shell loop with `usleep 10000`; BENCH_SLEEP=read: a
// shell loop sleeping without a fork, see below), on berth and then on
// Docker (one engine at a time, each private: bench/lib.ts). After a warm-up, over ~30 s: the CPU and the
// memory of the engine's processes —
//   berth:  berthd + every berth-shim it started;
//   Docker: dockerd + containerd + every containerd-shim-runc-v2 of that containerd —
// found by walking /proc. CPU comes from /proc/<pid>/stat: utime+stime (the processes' own) and
// cutime+cstime (children they reaped: `runc exec` and the probe processes — berthd reaps its probes,
// containerd-shim reaps Docker's), as deltas over the window; memory is the mean of the summed RSS.
// Everything is removed afterwards: containers, engines, bridges, mounts.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { busyboxTar, importImage, median, record, rssKiB, sh, startBerth, startDocker, verdict, type Engine } from './lib.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 50);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 10);
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? 30);
const HZ = Number(sh('getconf CLK_TCK').trim()) || 100;
const LINE = 'echo "health-logs bench line $i: the quick brown fox jumps over the lazy dog"; i=$((i+1))';
// busybox's usleep is a process of its own: 50 containers × 100 forks/s saturate 2 cores by themselves.
// BENCH_SLEEP=read waits with the shell's `read -t 0.01` on a FIFO instead (no fork), which leaves the
// engines the CPU they need to keep up with 100 lines/s.
const SLEEP = process.env.BENCH_SLEEP === 'read' ? 'read' : 'usleep';
const LOOP = SLEEP === 'read' ? `mkfifo /tmp/.f; exec 3<>/tmp/.f; i=0; while true; do ${LINE}; read -t 0.01 -u 3 x; done` : `i=0; while true; do ${LINE}; usleep 10000; done`;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  own: number; // utime + stime, ticks
  reaped: number; // cutime + cstime, ticks
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' '); // f[0] = state (field 3)
    const n = (i: number) => Number(f[i - 3]);
    return { pid, ppid: n(4), comm, own: n(14) + n(15), reaped: n(16) + n(17) };
  } catch {
    return undefined; // exited meanwhile
  }
}

function allProcs(): Proc[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => readProc(Number(p)))
    .filter((p): p is Proc => !!p);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The engine's processes right now (see the top): the daemons, then the per-container shims. */
function engineProcs(e: Engine): { daemons: number[]; shims: number[] } {
  const daemon = e.daemonPids()[0]!;
  const procs = allProcs();
  if (e.name === 'berth') return { daemons: [daemon], shims: procs.filter((p) => p.comm === 'berth-shim' && p.ppid === daemon).map((p) => p.pid) };
  const containerd = procs.filter((p) => p.comm === 'containerd' && p.ppid === daemon).map((p) => p.pid);
  // a shim runs detached from containerd (parent: init); its -address names this containerd's socket
  const execRoot = cmdline(daemon)[cmdline(daemon).indexOf('--exec-root') + 1]!;
  const shims = procs.filter((p) => p.comm.startsWith('containerd-shim') && cmdline(p.pid).some((a) => a.startsWith(execRoot + '/'))).map((p) => p.pid);
  return { daemons: [daemon, ...containerd], shims };
}

const allOf = (p: { daemons: number[]; shims: number[] }) => [...p.daemons, ...p.shims];

function cli(e: Engine, args: string[]): string {
  const r = spawnSync(e.cli[0]!, [...e.cli.slice(1), ...args], { env: { ...process.env, ...e.env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${e.name} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Busy ticks of the whole machine (all CPUs), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3]! + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

interface Result {
  ownPct: number;
  withChildrenPct: number;
  daemonsPct: number;
  shimsPct: number;
  rssMiB: number;
  shimRssMiB: number;
  machinePct: number;
  processes: number;
  linesPerSec: number;
}

async function measure(e: Engine, tar: string): Promise<Result> {
  importImage(e, tar, 'busybox:latest');
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    ids.push(cli(e, ['run', '-d', '--name', `hl${i}`, '--health-cmd', 'true', '--health-interval', '1s', 'busybox', 'sh', '-c', LOOP]).trim());
  }
  for (let i = 0; i < 120; i++) {
    const states = cli(e, ['inspect', '-f', '{{.State.Health.Status}}', ...ids]).trim().split('\n');
    if (states.every((s) => s === 'healthy')) break;
    await sleep(1000);
  }
  console.error(`bench: ${e.name}: ${N} containers healthy; warming up ${WARMUP_S} s`);
  await sleep(WARMUP_S * 1000);

  const procs = engineProcs(e);
  const pids = allOf(procs);
  const before = new Map(pids.map((p) => [p, readProc(p)!]));
  const m0 = machineTicks();
  const t0 = Date.now();
  const rss: number[] = [];
  const shimRss: number[] = [];
  while (Date.now() - t0 < WINDOW_S * 1000) {
    const now = engineProcs(e);
    rss.push(allOf(now).reduce((s, p) => s + rssKiB(p), 0));
    shimRss.push(...now.shims.map(rssKiB));
    await sleep(1000);
  }
  const t1 = Date.now();
  const m1 = machineTicks();
  let own = 0;
  let withChildren = 0;
  let daemons = 0;
  const after = engineProcs(e);
  for (const pid of allOf(after)) {
    const a = before.get(pid);
    const b = readProc(pid);
    if (!b) continue;
    own += b.own - (a?.own ?? 0);
    const all = b.own + b.reaped - (a ? a.own + a.reaped : 0);
    withChildren += all;
    if (after.daemons.includes(pid)) daemons += all;
  }
  const secs = (t1 - t0) / 1000;
  // the load really was there: log lines one container wrote in the window
  const lines = cli(e, ['logs', '--since', String(t0 / 1000), '--until', String(t1 / 1000), ids[0]!]).split('\n').filter(Boolean).length;
  return {
    ownPct: (own / HZ / secs) * 100,
    withChildrenPct: (withChildren / HZ / secs) * 100,
    daemonsPct: (daemons / HZ / secs) * 100,
    shimsPct: ((withChildren - daemons) / HZ / secs) * 100,
    rssMiB: rss.reduce((a, b) => a + b, 0) / rss.length / 1024,
    shimRssMiB: median(shimRss) / 1024,
    machinePct: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
    processes: pids.length,
    linesPerSec: lines / secs,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function run(start: () => Promise<Engine>, tar: string): Promise<Result> {
  const e = await start();
  try {
    return await measure(e, tar);
  } finally {
    await e.stop();
  }
}

async function main(): Promise<void> {
  const tar = busyboxTar();
  const b = await run(startBerth, tar);
  const d = await run(() => startDocker(), tar);
  const row = (title: string, bv: number, dv: number, unit: string, target?: number) => {
    const r = { work: `50 health-checked containers: ${title.trim()}`, berth: bv, docker: dv, unit, target };
    if (target !== undefined) record(r);
    console.log(`  ${title.padEnd(40)} berth ${bv.toFixed(1).padStart(7)} ${unit.padEnd(4)} docker ${dv.toFixed(1).padStart(7)} ${unit.padEnd(4)} ratio ${(bv / dv).toFixed(2)}×${verdict(r)}`);
  };
  console.log(`${N} containers × (1 s health check + 100 log lines/s, sleeping with ${SLEEP}), ${WINDOW_S} s after a ${WARMUP_S} s warm-up; ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
  row('engine CPU, incl. probes it reaped', b.withChildrenPct, d.withChildrenPct, '%', 0.5);
  row('  daemons (berthd | dockerd+containerd)', b.daemonsPct, d.daemonsPct, '%');
  row('  shims (berth-shim | containerd-shim)', b.shimsPct, d.shimsPct, '%');
  row('engine CPU, own processes only', b.ownPct, d.ownPct, '%');
  row('engine memory (RSS, mean)', b.rssMiB, d.rssMiB, 'MiB', 0.5);
  row('  one shim (median RSS)', b.shimRssMiB, d.shimRssMiB, 'MiB');
  row('whole machine busy', b.machinePct, d.machinePct, '%');
  console.log(`  processes measured: berth ${b.processes} (berthd + shims), docker ${d.processes} (dockerd + containerd + shims)`);
  console.log(`  log lines/s written by one container: berth ${b.linesPerSec.toFixed(0)}, docker ${d.linesPerSec.toFixed(0)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
