// Benchmark harness: the same work on berth and on Docker (Debian's docker.io, installed when missing),
// run alternately, medians and the ratio berth/Docker printed. Each engine runs privately (own root,
// socket) and is stopped by PID afterwards. dockerd gets a bridge of its own (bdbench0, on a private
// /24 of 198.18.0.0/15, the benchmarking range), so it never touches docker0; it is deleted afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tearDownNetworking } from '../src/engine/networks/teardown.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOCKER_CLI = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker';

export function sh(cmd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => c.write('GET /_ping HTTP/1.0\r\n\r\n'));
    c.once('data', (d) => {
      c.destroy();
      resolve(String(d).includes('200'));
    });
    c.once('error', () => resolve(false));
  });
}

export interface Engine {
  name: string;
  /** argv prefix for the engine's own CLI, pointed at its private daemon. */
  cli: string[];
  env: NodeJS.ProcessEnv;
  daemonPids(): number[];
  stop(): Promise<void>;
}

async function waitPing(socket: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited early`);
    if (await ping(socket)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer on ${socket}`);
}

/** berthd's default bridge in benchmarks: its own device (and nftables table), removed afterwards. */
/** BENCH_BERTH_BRIDGE renames it (two benchmarks' berthds side by side each need their own). */
const BERTH_BENCH_BRIDGE_DEFAULT = process.env.BENCH_BERTH_BRIDGE || 'bbbench0';
// bin/berth run by a benchmark's helpers (image scripts, set-up) starts no warm CLI server in the default
// folder: only an engine's own commands go through the one startBerth gives a folder of its own and stops.
process.env.BERTH_CLI_DIRECT ??= '1';

/** An engine's cgroup parents (berth/ or docker/ under each hierarchy) that exist now. */
function cgroupParents(name: 'berth' | 'docker'): string[] {
  return sh(`ls -d /sys/fs/cgroup/${name} /sys/fs/cgroup/*/${name} 2>/dev/null || true`).split('\n').filter(Boolean);
}

/** Remove the parents an engine made (runc makes them with its first container and leaves them). */
function removeNewCgroupParents(name: 'berth' | 'docker', before: string[]): void {
  // Empty children first (BuildKit leaves docker/buildkit); one still holding a process stays.
  for (const c of cgroupParents(name)) if (!before.includes(c)) spawnSync('sh', ['-c', `find "${c}" -depth -type d -exec rmdir {} + 2>/dev/null`]);
}

/** A private berthd (its own root, socket and bridge). Like dockerd it turns net.ipv4.ip_forward on at start;
 *  the value, and the cgroup parents it made, are given back when it stops. */
export interface BerthOptions {
  /** BERTH_TRACE for berthd, its shims and the CLI (bench/trace.ts). */
  traceFile?: string;
  /** Another checkout of berth (built; BENCH_BEFORE) to run instead of this one: a before/after in the same run. */
  repo?: string;
  /** The engine's name in reports (default "berth"). */
  name?: string;
  /** Its default bridge's device (default bbbench0, or BENCH_BERTH_BRIDGE); two berthds at once need two. */
  bridge?: string;
}

export async function startBerth(opts: BerthOptions = {}): Promise<Engine> {
  const repo = opts.repo ?? REPO;
  const bridge = opts.bridge ?? BERTH_BENCH_BRIDGE_DEFAULT;
  const parentsBefore = cgroupParents('berth');
  const ipForward = readFileSync(DOCKERD_SYSCTLS[0]!, 'utf8').trim();
  const dir = await fs.mkdtemp('/tmp/bb-bench-');
  const socket = `${dir}/berth.sock`;
  const child = spawn(
    process.execPath,
    [path.join(repo, 'dist/src/daemon/main.js'), '--root', `${dir}/root`, '--exec-root', `${dir}/run`, '-H', `unix://${socket}`, '--bridge', bridge],
    { stdio: 'ignore', env: opts.traceFile ? { ...process.env, BERTH_TRACE: opts.traceFile } : process.env },
  );
  await waitPing(socket, child, 'berthd');
  // bin/berth's warm CLI server (docs/notes/cli.md) gets a folder of its own, and is stopped by PID below.
  const cliDir = `${dir}/cli`;
  await fs.mkdir(cliDir, { mode: 0o700 });
  // The warm server's children read BERTH_TRACE as they load, before any command: it starts with it.
  const env: Record<string, string> = { BERTH_CLI_RUNDIR: cliDir, BERTH_CLI_DIRECT: '', ...(opts.traceFile ? { BERTH_TRACE: opts.traceFile } : {}) };
  await warmCli(env, repo);
  return {
    name: opts.name ?? 'berth',
    cli: [path.join(repo, 'bin/berth'), '-H', `unix://${socket}`],
    env,
    daemonPids: () => [child.pid!],
    async stop() {
      spawnSync('sh', ['-c', `${path.join(repo, 'bin/berth')} -H unix://${socket} ps -aq | xargs -r ${path.join(repo, 'bin/berth')} -H unix://${socket} rm -f`], { env: { ...process.env, ...env } });
      await stopWarmCli(cliDir);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      spawnSync('sh', ['-c', `grep -o ' ${dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
      await tearDownNetworking(`${dir}/root`, bridge);
      spawnSync('rm', ['-rf', dir]);
      removeNewCgroupParents('berth', parentsBefore);
      writeFileSync(DOCKERD_SYSCTLS[0]!, ipForward);
    },
  };
}

/** Start bin/berth's warm CLI server in env's BERTH_CLI_RUNDIR and wait until a command is served by it. */
export async function warmCli(env: NodeJS.ProcessEnv, repo = REPO): Promise<void> {
  // A checkout from before the front end (BENCH_BEFORE) runs every command directly.
  if (!existsSync(path.join(repo, 'src/shim/berth-cli'))) return;
  for (let i = 0; i < 200; i++) {
    const r = spawnSync(path.join(repo, 'bin/berth'), ['--version'], { env: { ...process.env, ...env, BERTH_CLI_TRACE: '1' }, encoding: 'utf8' });
    if (r.stderr.includes('handed to the warm child')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the warm CLI server did not start');
}

/** End the warm CLI servers of a BERTH_CLI_RUNDIR by PID (they end their idle children). */
export async function stopWarmCli(cliDir: string): Promise<void> {
  const pids = (existsSync(cliDir) ? sh(`cat ${cliDir}/*.pid 2>/dev/null || true`) : '').split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 100 && pids.some((p) => existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ')); i++) await new Promise((r) => setTimeout(r, 50));
}

const BENCH_BRIDGE = 'bdbench0';

export function ensureDocker(): void {
  if (existsSync('/usr/sbin/dockerd')) return;
  console.error('bench: installing Debian docker.io as the reference engine');
  sh('apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null');
}

/** Host-wide settings dockerd changes when it starts (and never puts back). */
const DOCKERD_SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

function nftTables(): string[] {
  return sh('nft list tables').split('\n').filter(Boolean);
}

/**
 * A private dockerd. With `iptables: true` it publishes ports as Docker does by default (iptables DNAT plus
 * docker-proxy); the host's iptables rules are saved first and restored when it stops, since dockerd leaves
 * its chains behind, and the tables it made are deleted. The sysctls it sets (ip_forward, and
 * bridge-nf-call-iptables with iptables) get their values back, and the cgroup parents it made go.
 */
export async function startDocker(opts: { iptables?: boolean } = {}): Promise<Engine> {
  ensureDocker();
  const savedIptables = opts.iptables ? sh('iptables-save') : undefined;
  const tablesBefore = new Set(nftTables());
  const sysctls = DOCKERD_SYSCTLS.filter((f) => existsSync(f)).map((f) => [f, readFileSync(f, 'utf8').trim()] as const);
  const parentsBefore = cgroupParents('docker');
  const runDirsBefore = DOCKERD_RUN_DIRS.filter((d) => existsSync(d));
  sh(`ip link add ${BENCH_BRIDGE} type bridge && ip addr add 198.18.250.1/24 dev ${BENCH_BRIDGE} && ip link set ${BENCH_BRIDGE} up`);
  const dir = await fs.mkdtemp('/tmp/bd-bench-');
  const socket = `${dir}/docker.sock`;
  const child = spawn('/usr/sbin/dockerd', ['--host', `unix://${socket}`, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`, '--pidfile', `${dir}/docker.pid`, '--bridge', BENCH_BRIDGE, ...(opts.iptables ? [] : ['--iptables=false', '--ip-masq=false'])], {
    stdio: 'ignore',
  });
  await waitPing(socket, child, 'dockerd');
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: `${dir}/cfg` };
  return {
    name: 'docker',
    cli: [DOCKER_CLI],
    env,
    daemonPids: () => [child.pid!, ...childPids(child.pid!)],
    async stop() {
      spawnSync('sh', ['-c', `${DOCKER_CLI} ps -aq | xargs -r ${DOCKER_CLI} rm -f`], { env: { ...process.env, ...env } });
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      spawnSync('sh', ['-c', `grep -o ' ${dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l; rm -rf ${dir}`]);
      spawnSync('ip', ['link', 'del', BENCH_BRIDGE]);
      if (savedIptables !== undefined) spawnSync('iptables-restore', [], { input: savedIptables });
      for (const t of nftTables()) if (!tablesBefore.has(t)) spawnSync('nft', ['delete', ...t.split(' ')]);
      for (const [f, v] of sysctls) writeFileSync(f, v);
      if (!sysctls.some(([f]) => f.includes('/bridge/')) && existsSync(DOCKERD_SYSCTLS[1]!)) spawnSync('modprobe', ['-r', 'br_netfilter']);
      removeNewCgroupParents('docker', parentsBefore);
      // What dockerd and containerd make under /run whatever --exec-root says, if they made it and left it empty.
      for (const d of DOCKERD_RUN_DIRS.filter((x) => !runDirsBefore.includes(x) && existsSync(x))) if (!sh(`find ${d} -not -type d`).trim()) rmSync(d, { recursive: true, force: true });
    },
  };
}

const DOCKERD_RUN_DIRS = ['/run/docker', '/run/containerd', '/run/runc'];

/** Both engines; if dockerd cannot start, the berthd already started is stopped before the error goes on. */
export async function startEngines(dockerOpts: { iptables?: boolean } = {}, berthOpts: BerthOptions = {}): Promise<[Engine, Engine]> {
  const berth = await startBerth(berthOpts);
  try {
    return [berth, await startDocker(dockerOpts)];
  } catch (e) {
    await berth.stop();
    throw e;
  }
}

/** All descendants of a pid (containerd, shims). */
export function childPids(pid: number): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const kids = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    kids.set(pp!, [...(kids.get(pp!) ?? []), p!]);
  }
  const all: number[] = [];
  const walk = (p: number) => (kids.get(p) ?? []).forEach((k) => (all.push(k), walk(k)));
  walk(pid);
  return all;
}

export function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function pidsByCmd(pattern: RegExp): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return out
    .trim()
    .split('\n')
    .filter((l) => pattern.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

export function timeRun(e: Engine, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(e.cli[0]!, [...e.cli.slice(1), ...args], { env: { ...process.env, ...e.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${e.name} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A tar of a busybox root filesystem; its temporary folder is removed when the process exits. */
export function busyboxTar(): string {
  const dir = sh('mktemp -d').trim();
  process.on('exit', () => spawnSync('rm', ['-rf', dir]));
  sh(`sh ${REPO}/scripts/mkrootfs-busybox.sh ${dir}/rootfs >/dev/null && tar -C ${dir}/rootfs -cf ${dir}/bb.tar .`);
  return `${dir}/bb.tar`;
}

export function importImage(e: Engine, tar: string, ref: string): void {
  const r = spawnSync(e.cli[0]!, [...e.cli.slice(1), 'import', '-c', 'CMD ["sh"]', tar, ref], { env: { ...process.env, ...e.env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${e.name} import: ${r.stderr}`);
}

/** One row of a benchmark's result: what bench/all gathers into its table (BENCH_JSON names the file
 *  each benchmark appends its rows to, one JSON object a line). */
export interface BenchRow {
  work: string;
  berth: number;
  docker: number;
  unit: string;
  /** The target for berth/Docker; with `higherIsBetter` a floor, otherwise a ceiling. */
  target?: number;
  higherIsBetter?: boolean;
  /** No Docker equivalent: `docker` holds the absolute target instead (berth ≤ it is met). */
  noDocker?: boolean;
}

export function targetMet(row: BenchRow): boolean | undefined {
  if (row.noDocker) return row.berth <= row.docker;
  if (row.target === undefined) return undefined;
  const ratio = row.berth / row.docker;
  return row.higherIsBetter ? ratio >= row.target : ratio <= row.target;
}

export function verdict(row: BenchRow): string {
  const met = targetMet(row);
  return met === undefined ? '' : `  (target ${row.higherIsBetter ? '≥' : '≤'} ${row.target}×: ${met ? 'met' : 'NOT met'})`;
}

export function record(row: BenchRow): void {
  const file = process.env.BENCH_JSON;
  if (file) appendFileSync(file, JSON.stringify({ bench: path.basename(process.argv[1] ?? '', '.js'), ...row }) + '\n');
}

export function report(title: string, berthMs: number[], dockerMs: number[], target?: number): void {
  const row = { work: title, berth: median(berthMs), docker: median(dockerMs), unit: 'ms', target };
  record(row);
  console.log(`${title.padEnd(34)} berth ${row.berth.toFixed(1).padStart(8)} ms   docker ${row.docker.toFixed(1).padStart(8)} ms   ratio ${(row.berth / row.docker).toFixed(2)}×${verdict(row)}`);
}

const FIXTURE_DIR = '/var/tmp/berth-bench';
const DEBIAN_TAR = `${FIXTURE_DIR}/debian.tar`;

/** The Debian rootfs tar, made once with debootstrap and kept for later runs. */
export function debianTar(): string {
  if (existsSync(DEBIAN_TAR)) return DEBIAN_TAR;
  console.error('bench: building the Debian rootfs with debootstrap (once)');
  sh(`mkdir -p ${FIXTURE_DIR} && rm -rf ${FIXTURE_DIR}/rootfs && sh /work/shared/fixtures/mkrootfs-debian.sh ${FIXTURE_DIR}/rootfs >/dev/null`);
  sh(`tar -C ${FIXTURE_DIR}/rootfs -cf ${DEBIAN_TAR}.tmp . && mv ${DEBIAN_TAR}.tmp ${DEBIAN_TAR} && rm -rf ${FIXTURE_DIR}/rootfs`);
  return DEBIAN_TAR;
}
