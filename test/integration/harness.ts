// Integration-test harness: a private berthd per test file (own root, exec root and socket),
// the compiled CLI pointed at it, a busybox image from Debian's busybox-static, and a clean-up
// that removes containers, ends the processes it started by PID and unmounts what was mounted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tarStream from 'tar-stream';
import { tearDownNetworking } from '../../src/engine/networks/teardown.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DAEMON = path.join(REPO, 'dist/src/daemon/main.js');
const CLI = path.join(REPO, 'dist/src/cli/main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Working directory (compose finds its files there). */
  cwd?: string;
}

/** Runs argv and collects its output. bin/berth runs in a fresh Node process here (BERTH_CLI_DIRECT=1) unless
 *  the caller's env says otherwise: tests must not leave warm CLI servers behind (cli-warm.test.ts tests those). */
export function runCmd(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { BERTH_CLI_DIRECT: '1', ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => undefined); // a program that exits without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => {
      c.write('GET /_ping HTTP/1.0\r\n\r\n');
    });
    c.once('data', (d) => {
      c.destroy();
      resolve(String(d).includes('200'));
    });
    c.once('error', () => resolve(false));
  });
}

let rootfsTar: Promise<string> | undefined;
/** A tar of the busybox root filesystem, built once per test process. */
export function busyboxTar(): Promise<string> {
  rootfsTar ??= (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bb-'));
    const r = spawnSync('sh', [path.join(REPO, 'scripts/mkrootfs-busybox.sh'), path.join(dir, 'rootfs')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mkrootfs-busybox failed: ${r.stderr}`);
    const tar = path.join(dir, 'busybox.tar');
    const t = spawnSync('tar', ['-C', path.join(dir, 'rootfs'), '-cf', tar, '.']);
    if (t.status !== 0) throw new Error('tar of busybox rootfs failed');
    process.on('exit', () => spawnSync('rm', ['-rf', dir]));
    return tar;
  })();
  return rootfsTar;
}

/** A build context: a new directory under /tmp holding these files (the caller removes it). */
export async function context(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp('/tmp/bt-ctx-');
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}

export class TestDaemon {
  child?: ChildProcess;
  readonly root: string;
  readonly execRoot: string;
  readonly socket: string;
  log = '';
  private stopping = false;
  /** Exceptions berthd caught at the top level: each one is a bug the test run must report. */
  readonly uncaught: string[] = [];
  /** The host as this daemon found it (see the host check at the end of this file). */
  private hostBefore?: HostState;

  private constructor(readonly dir: string) {
    this.root = path.join(dir, 'root');
    this.execRoot = path.join(dir, 'run');
    this.socket = path.join(dir, 'berth.sock');
  }

  static async start(extraArgs: string[] = []): Promise<TestDaemon> {
    const d = new TestDaemon(await fs.mkdtemp('/tmp/bt-'));
    d.hostBefore = hostState();
    holdCgroupParents(d);
    try {
      await d.startProcess(extraArgs);
    } catch (e) {
      d.stopping = true;
      d.child?.kill('SIGKILL');
      await releaseCgroupParents(d);
      await tearDownNetworking(d.root, d.bridge);
      await fs.rm(d.dir, { recursive: true, force: true });
      throw e;
    }
    return d;
  }

  /** This daemon's default bridge device: its own, so test daemons never share one with a real berthd. */
  get bridge(): string {
    return 'bt' + path.basename(this.dir).replace(/[^a-zA-Z0-9]/g, '').slice(-8);
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  async startProcess(extraArgs: string[] = []): Promise<void> {
    const child = spawn(process.execPath, [DAEMON, '--root', this.root, '--exec-root', this.execRoot, '-H', this.host, '--log-level', 'debug', '--bridge', this.bridge, '--ip-forward=false', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.stopping = false;
    const keep = (d: Buffer) => {
      const text = String(d);
      if (text.includes('msg="uncaught')) this.uncaught.push(text);
      this.log = (this.log + text).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    // (--ip-forward=false: tests reach only 127.0.0.1 and their own bridges, and must leave the host's sysctl as found.)
    // A berthd that dies on its own is a bug: show why.
    child.once('exit', (code, signal) => {
      if (!this.stopping) process.stderr.write(`berthd exited unexpectedly (${code ?? signal}); its last output:\n${this.log.slice(-4000)}\n`);
    });
    for (let i = 0; i < 500; i++) {
      if (child.exitCode !== null) throw new Error(`berthd exited: ${this.log}`);
      if (await ping(this.socket)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`berthd did not answer: ${this.log}`);
  }

  /** Stop berthd (SIGTERM, or SIGKILL to simulate a crash); containers keep running. */
  async stopProcess(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    this.stopping = true;
    child.kill(signal);
    await exited;
  }

  berth(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    // Its own client config, so login/logout never touch the user's ~/.docker.
    return runCmd([process.execPath, CLI, '-H', this.host, ...args], { ...opts, env: { DOCKER_CONFIG: path.join(this.dir, 'docker-config'), ...opts.env } });
  }

  /** `berth compose ARGS` run in `cwd` (where compose looks for its files). */
  compose(cwd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.berth(['compose', ...args], { ...opts, cwd });
  }

  docker(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCmd(['/usr/local/bin/docker', ...args], { ...opts, env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'docker-config'), ...opts.env } });
  }

  async importBusybox(ref = 'busybox:latest'): Promise<string> {
    const tar = await busyboxTar();
    const r = await this.berth(['import', '-c', 'CMD ["sh"]', tar, ref]);
    if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Remove every container, stop berthd, end leftover shims by PID, unmount, delete the dirs. */
  async cleanup(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) await this.startProcess().catch(() => undefined);
    const own = hostOwnership(this.dir, this.root, this.bridge);
    const ids = (await this.berth(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await this.berth(['rm', '-f', ...ids]);
    await this.stopProcess();
    for (const pid of shimPidsUnder(this.execRoot)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('sh', ['-c', `runc --root ${this.execRoot}/runc list -q 2>/dev/null | xargs -r -n1 runc --root ${this.execRoot}/runc delete --force`]);
    for (const m of mountsUnder(this.dir).reverse()) spawnSync('umount', ['-l', m]);
    await tearDownNetworking(this.root, this.bridge);
    await fs.rm(this.dir, { recursive: true, force: true });
    if (this.uncaught.length) throw new Error(`berthd hit uncaught exceptions:\n${this.uncaught.join('\n')}`);
    const left = this.hostBefore ? hostLeftovers(this.hostBefore, hostState(), own) : [];
    left.push(...(await releaseCgroupParents(this)));
    if (left.length) throw new Error(`berthd (${this.dir}) left on the host:\n  ${left.join('\n  ')}`);
  }
}

/** PIDs of berth-shim processes whose state dir is under dir (started by this test run). */
function shimPidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSafe('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('berth-shim') && cmd.includes(dir)) pids.push(Number(p));
    } catch {
      // raced with exit
    }
  }
  return pids;
}

function readdirSafe(d: string): string[] {
  try {
    return spawnSync('ls', [d], { encoding: 'utf8' }).stdout.split('\n');
  } catch {
    return [];
  }
}

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(dir + '/'));
}

/** A tar built in memory from [name, content] pairs; content null makes a directory. */
export async function tarOf(entries: [name: string, content: string | null][]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of entries) {
    if (content === null) pack.entry({ name, type: 'directory', mode: 0o755 });
    else pack.entry({ name, mode: 0o644 }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A private dockerd (Debian's docker.io 20.10) on its own bridge, with iptables left alone: the reference
 * engine for compatibility tests. Options: extra daemon flags (e.g. --insecure-registry).
 */
export class PrivateDockerd {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** Its network namespace, when it runs in one of its own (see start's `netns`). */
    readonly netns?: string,
  ) {}

  /** argv run in dockerd's network namespace when it has one (a client reaching its published ports). */
  inNetns(argv: string[]): string[] {
    return this.netns ? ['nsenter', `--net=/run/netns/${this.netns}`, ...argv] : argv;
  }

  get socket(): string {
    return path.join(this.dir, 'docker.sock');
  }

  /** Its own bridge, named after its directory: two private dockerds (two test runs) never share one. */
  get bridge(): string {
    return bridgeOf(this.dir);
  }

  /**
   * `netns`: run dockerd in a network namespace of its own, so its bridges, routes and published ports
   * never meet a berthd working at the same time (docker-py's suite runs on both engines at once).
   */
  static async start(extraArgs: string[] = [], opts: { netns?: boolean } = {}): Promise<PrivateDockerd> {
    const dir = await fs.mkdtemp('/tmp/bd-');
    const BRIDGE = bridgeOf(dir);
    enterDockerd();
    const netns = opts.netns ? BRIDGE : undefined;
    if (netns) {
      await runCmd(['ip', 'netns', 'add', netns]);
      await runCmd(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    }
    await runCmd(['ip', ...(netns ? ['-n', netns] : []), 'link', 'add', BRIDGE, 'type', 'bridge']);
    const child = spawn(
      netns ? 'nsenter' : '/usr/sbin/dockerd',
      [
        ...(netns ? [`--net=/run/netns/${netns}`, '/usr/sbin/dockerd'] : []),
        '--host', `unix://${dir}/docker.sock`, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`, '--pidfile', `${dir}/docker.pid`, '--bridge', BRIDGE, '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--containerd-namespace', `bd${path.basename(dir)}`, ...extraArgs],
      { stdio: 'ignore' },
    );
    const ref = new PrivateDockerd(child, dir, netns);
    for (let i = 0; i < 300 && !(await ping(ref.socket)); i++) await new Promise((r) => setTimeout(r, 100));
    return ref;
  }

  docker(args: string[], env: NodeJS.ProcessEnv = {}) {
    return runCmd([DOCKER_CLI, ...args], { env: { DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: path.join(this.dir, 'docker-config'), ...env } });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await runCmd(['sh', '-c', `grep -o ' ${this.dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
    await fs.rm(this.dir, { recursive: true, force: true });
    // The namespace takes its bridge and containers' veths with it.
    await runCmd(this.netns ? ['ip', 'netns', 'del', this.netns] : ['ip', 'link', 'del', this.bridge]);
    await leaveDockerd();
  }
}

// What a dockerd leaves when it stops — /run/netns (`ip netns add` makes it, a bind mount of itself), the
// folders of DOCKERD_RUN_DIRS, the docker/ cgroup parents — is shared by the private dockerds of test
// processes running side by side (docker-py's suite beside the other files): the first of them in any
// process records what was there before, and the last one out gives back what was not, if it is empty.
const DOCKERD_LIVE = '/tmp/berth-test-dockerd-live';
let dockerdsHere = 0;

/** Called before any private dockerd starts (also those a test file makes its own way). */
export function enterDockerd(): void {
  if (dockerdsHere++ > 0) return;
  const file = path.join(DOCKERD_LIVE, 'before.json');
  mkdirSync(DOCKERD_LIVE, { recursive: true });
  if (!otherProcessesLive(DOCKERD_LIVE) || !existsSync(file)) {
    const before = { netnsDir: existsSync('/run/netns'), runDirs: DOCKERD_RUN_DIRS.filter((d) => existsSync(d)), parents: cgroupParents('docker') };
    writeFileSync(file, JSON.stringify(before));
  }
  writeFileSync(path.join(DOCKERD_LIVE, String(process.pid)), '');
}

/** Called after a private dockerd stopped: the last one out gives back what dockerds left. */
export async function leaveDockerd(): Promise<void> {
  if (--dockerdsHere > 0) return;
  const file = path.join(DOCKERD_LIVE, 'before.json');
  rmSync(path.join(DOCKERD_LIVE, String(process.pid)), { force: true });
  if (otherProcessesLive(DOCKERD_LIVE)) return;
  const before = JSON.parse(readFileSync(file, 'utf8')) as { netnsDir: boolean; runDirs: string[]; parents: string[] };
  await fs.rm(DOCKERD_LIVE, { recursive: true, force: true });
  if (!before.netnsDir && existsSync('/run/netns') && (await fs.readdir('/run/netns').catch(() => ['?'])).length === 0) {
    await runCmd(['umount', '/run/netns']);
    await fs.rmdir('/run/netns').catch(() => undefined);
  }
  for (const d of DOCKERD_RUN_DIRS.filter((x) => !before.runDirs.includes(x) && existsSync(x))) {
    if (!(await runCmd(['find', d, '-not', '-type', 'd'])).stdout.trim()) await fs.rm(d, { recursive: true, force: true });
  }
  await removeNewCgroupParents('docker', new Set(before.parents));
}

/** What dockerd, its containerd and runc make under /run whatever --exec-root says (plugins/, s/, runc's default root), left when they stop. */
const DOCKERD_RUN_DIRS = ['/run/docker', '/run/containerd', '/run/runc'];

const bridgeOf = (dir: string) => 'bd' + path.basename(dir).replace(/[^a-zA-Z0-9]/g, '').slice(-8);
export const DOCKER_CLI = '/usr/local/bin/docker';

// ---- host check: a test file leaves the host as it found it ----
//
// A snapshot of what berth can leave on the host (links, IPv4 addresses and routes, global IPv6 addresses, nftables tables and
// chains, mounts, cgroups, processes) is taken when a TestDaemon starts and compared after its cleanup.
// Other test runs may share this machine, so a difference counts only when it is this daemon's: a device it
// named or tagged (ifalias "berth root=<its root>") or enslaved to one of its bridges, a new address or route
// on one of those or on a device that existed before (a second address added to a shared bridge), its
// nftables table and iptables chain, any table that is not berth's, mounts under its directory, cgroups of
// its containers, processes naming its directory or in its containers' cgroups; and any change of the
// host-wide settings engines touch (net.ipv4.ip_forward, bridge-nf-call-iptables).

export interface HostState {
  links: Map<string, { alias: string; master: string; kind: string }>;
  addrs: Set<string>;
  routes: Set<string>;
  tables: Set<string>;
  chains: Set<string>;
  mounts: Set<string>;
  cgroups: Set<string>;
  procs: Map<number, string>;
  /** Host-wide settings a container engine changes (dockerd does, on start). */
  sysctls: Map<string, string>;
}

const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

/** What this daemon owned, gathered at cleanup before its records are deleted. */
export interface HostOwnership {
  dir: string;
  root: string;
  bridges: Set<string>;
  containerIds: Set<string>;
}

function shJson<T>(argv: string[]): T[] {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout || '[]') as T[]) : [];
}

/** An engine's cgroup parent in each hierarchy where it exists (v1: under each controller; v2: at the top). */
export function cgroupParents(name: 'berth' | 'docker'): string[] {
  const base = '/sys/fs/cgroup';
  return ['', ...readdirSafe(base).filter(Boolean).map((t) => t + '/')].map((top) => `${base}/${top}${name}`).filter((d) => existsSync(d));
}

// berth/ (runc makes it with a daemon's first container) is shared by the daemons of a test file: it is
// removed, and checked, once the last of them is cleaned up, against what was there before the first started.
const liveDaemons = new Set<TestDaemon>();
let parentsBeforeFirst = new Set<string>();

// Test processes running side by side (scripts/test.sh runs docker-py's suite beside the other files)
// share berth/ too: each marks itself in this folder while it has daemons, and only the last one out
// removes and checks the parents.
const LIVE_DIR = '/tmp/berth-test-live';
const liveMark = path.join(LIVE_DIR, String(process.pid));

/** Whether another live process has its marker (a file named by its PID) in `dir`; stale markers go. */
function otherProcessesLive(dir: string): boolean {
  return readdirSafe(dir).some((name) => {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) return false;
    try {
      process.kill(Number(name), 0);
      return true;
    } catch {
      rmSync(path.join(dir, name), { force: true });
      return false;
    }
  });
}

function holdCgroupParents(d: TestDaemon): void {
  if (!liveDaemons.size) {
    // The first of the side-by-side processes records what was there before any of them.
    const beforeFile = path.join(LIVE_DIR, 'parents-before.json');
    if (!otherProcessesLive(LIVE_DIR)) {
      mkdirSync(LIVE_DIR, { recursive: true });
      writeFileSync(beforeFile, JSON.stringify(cgroupParents('berth')));
    }
    parentsBeforeFirst = new Set(JSON.parse(readFileSync(beforeFile, 'utf8')) as string[]);
    writeFileSync(liveMark, '');
  }
  liveDaemons.add(d);
}

async function releaseCgroupParents(d: TestDaemon): Promise<string[]> {
  if (!liveDaemons.delete(d) || liveDaemons.size) return [];
  rmSync(liveMark, { force: true });
  if (otherProcessesLive(LIVE_DIR)) return [];
  await fs.rm(LIVE_DIR, { recursive: true, force: true });
  await removeNewCgroupParents('berth', parentsBeforeFirst);
  return cgroupParents('berth').filter((p) => !parentsBeforeFirst.has(p)).map((p) => `cgroup parent ${p} (still holds a cgroup)`);
}

/** Remove the parents that were not there before (an engine makes them at start and leaves them, as dockerd
 *  leaves docker/); one that still holds a cgroup stays, and the host check names it. */
export async function removeNewCgroupParents(name: 'berth' | 'docker', before: Set<string>): Promise<void> {
  for (const d of cgroupParents(name)) if (!before.has(d)) await fs.rmdir(d).catch(() => undefined);
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  const base = '/sys/fs/cgroup';
  const tops = readdirSafe(base).filter(Boolean);
  // v1: one hierarchy per controller (berth/ under each); v2 (or the unified hierarchy): berth/ at the top.
  for (const top of ['', ...tops.map((t) => t + '/'), 'unified/']) {
    for (const name of readdirSafe(`${base}/${top}berth`).filter(Boolean)) {
      if (!name.includes('.')) out.push(`${top}berth/${name}`);
    }
  }
  return out;
}

export function hostState(): HostState {
  const links = new Map<string, { alias: string; master: string; kind: string }>();
  for (const l of shJson<{ ifname: string; ifalias?: string; master?: string; linkinfo?: { info_kind?: string } }>(['ip', '-j', '-d', 'link', 'show'])) {
    links.set(l.ifname, { alias: l.ifalias ?? '', master: l.master ?? '', kind: l.linkinfo?.info_kind ?? '' });
  }
  const addrs = new Set<string>();
  // IPv6: global addresses only (a network's gateway on its bridge); link-local ones come and go with each device.
  for (const args of [['-4', 'addr'], ['-6', 'addr', 'show', 'scope', 'global']]) {
    for (const l of shJson<{ ifname: string; addr_info?: { local: string; prefixlen: number }[] }>(['ip', '-j', ...args])) {
      for (const a of l.addr_info ?? []) addrs.add(`${l.ifname} ${a.local}/${a.prefixlen}`);
    }
  }
  const routes = new Set(shJson<{ dst: string; dev?: string; table?: string }>(['ip', '-j', '-4', 'route', 'show', 'table', 'all']).map((r) => `${r.dev ?? ''} ${r.dst}${r.table ? ` table ${r.table}` : ''}`));
  const nft = spawnSync('nft', ['list', 'chains'], { encoding: 'utf8' }).stdout;
  const tables = new Set<string>();
  const chains = new Set<string>();
  let table = '';
  for (const line of nft.split('\n')) {
    const t = /^table (\S+ \S+)/.exec(line);
    const c = /^\s+chain (\S+)/.exec(line);
    if (t) tables.add((table = t[1]!));
    else if (c) chains.add(`${table} ${c[1]}`);
  }
  const mounts = new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter(Boolean));
  const procs = new Map<number, string>();
  for (const p of readdirSafe('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      procs.set(Number(p), readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ') + '\0' + readFileSync(`/proc/${p}/cgroup`, 'utf8'));
    } catch {
      // raced with exit
    }
  }
  const sysctls = new Map<string, string>();
  for (const f of SYSCTLS) {
    try {
      sysctls.set(f, readFileSync(f, 'utf8').trim());
    } catch {
      sysctls.set(f, '(absent)');
    }
  }
  return { links, addrs, routes, tables, chains, mounts, cgroups: new Set(cgroupDirs()), procs, sysctls };
}

/** What `after` has that `before` had not and that belongs to the daemon described by `own`, in words. */
export function hostLeftovers(before: HostState, after: HostState, own: HostOwnership): string[] {
  const left: string[] = [];
  const tag = `berth root=${own.root}`;
  const ours = (dev: string) => {
    const l = after.links.get(dev);
    return own.bridges.has(dev) || l?.alias === tag || (!!l?.master && own.bridges.has(l.master));
  };
  for (const [name, l] of after.links) if (!before.links.has(name) && ours(name)) left.push(`link ${name}${l.kind ? ` (${l.kind})` : ''}${l.master ? ` on ${l.master}` : ''}`);
  const onOurs = (entry: string) => {
    const dev = entry.split(' ')[0]!;
    return ours(dev) || before.links.has(dev);
  };
  for (const a of after.addrs) if (!before.addrs.has(a) && onOurs(a)) left.push(`address ${a}`);
  for (const r of after.routes) if (!before.routes.has(r) && onOurs(r)) left.push(`route ${r}`);
  const ownTables = new Set([...own.bridges].map((b) => `ip ${b === 'berth0' ? 'berth' : `berth-${b}`}`));
  // Its ip6 table (isolation of IPv6 networks) has the same name.
  const ownTables6 = new Set([...ownTables].map((t) => `ip6${t.slice(2)}`));
  for (const t of after.tables) if (!before.tables.has(t) && (ownTables.has(t) || ownTables6.has(t) || !/^ip6? berth/.test(t))) left.push(`nftables table ${t}`);
  const ownChains = new Set([...ownTables].map((t) => `ip filter ${t.slice(3).toUpperCase()}`));
  for (const c of after.chains) if (!before.chains.has(c) && ownChains.has(c)) left.push(`iptables chain ${c.slice('ip filter '.length)}`);
  for (const m of after.mounts) if (!before.mounts.has(m) && (m === own.dir || m.startsWith(own.dir + '/'))) left.push(`mount ${m}`);
  const ids = [...own.containerIds];
  const ofOurs = (s: string) => ids.some((id) => s.includes(id));
  for (const c of after.cgroups) if (!before.cgroups.has(c) && ofOurs(c)) left.push(`cgroup ${c}`);
  for (const [pid, info] of after.procs) {
    const [cmd, cgroup = ''] = info.split('\0');
    if (before.procs.get(pid) === info || pid === process.pid) continue;
    if (cmd!.includes(own.dir + '/') || ofOurs(cgroup)) left.push(`process ${pid}: ${cmd!.trim().slice(0, 200)}`);
  }
  for (const [f, v] of after.sysctls) if (before.sysctls.get(f) !== v) left.push(`setting ${f.slice('/proc/sys/'.length).replace(/\//g, '.')}: ${before.sysctls.get(f)} before, ${v} now`);
  return left;
}

/** What a daemon owned, read from its root before cleanup removes it. */
export function hostOwnership(dir: string, root: string, bridge: string): HostOwnership {
  const bridges = new Set([bridge]);
  for (const f of readdirSafe(path.join(root, 'networks')).filter((f) => f.endsWith('.json'))) {
    try {
      const b = (JSON.parse(readFileSync(path.join(root, 'networks', f), 'utf8')) as { bridge?: string }).bridge;
      if (b) bridges.add(b);
    } catch {
      // a torn record: its bridge, if any, shows as a tagged device
    }
  }
  const containerIds = new Set(readdirSafe(path.join(root, 'containers')).filter((f) => /^[0-9a-f]{64}$/.test(f)));
  return { dir, root, bridges, containerIds };
}
