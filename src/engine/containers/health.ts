// Health checks: HEALTHCHECK from the image or --health-* flags, probed inside the running container.
// Docker's states (starting, healthy, unhealthy), failing streak, the last 5 probe results, a start
// period (with its own start interval) during which failures do not count, and a probe that outlives
// its timeout is killed.
//
// A probe is run by the container's berth-shim when it can ("probe" on its attach socket: it enters the
// container as `runc exec` would, with the container's own seccomp filter, without starting runc — a
// tenth of the CPU), else with `runc exec`. What the shim needs is written at start (probeSpecFile).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HealthConfig } from '../../api/types.js';
import { KNOWN_CAPABILITIES } from '../runtime/capabilities.js';
import type { Runc } from '../runtime/runc.js';
import { connectShim } from '../runtime/shim.js';
import type { OciProcess, OciSpec } from '../runtime/spec.js';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

const NS_PER_MS = 1e6;
const DEFAULTS = { interval: 30_000, timeout: 30_000, startInterval: 5_000, retries: 3 };
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

/** The probe command, or undefined when there is none (no HEALTHCHECK, NONE, --no-healthcheck). */
export function probeCommand(h: HealthConfig | undefined): string[] | undefined {
  const t = h?.Test;
  if (!t?.length || t[0] === 'NONE') return undefined;
  if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
  if (t[0] === 'CMD') return t.slice(1);
  return undefined;
}

export interface HealthHost {
  runc: Runc;
  /** Persist the new state (and emit health_status when the status changed). */
  update(id: string, health: HealthState, changed: boolean): Promise<void>;
  isRunning(id: string): boolean;
  /** The container's shim state dir (for probes run by the shim). */
  stateDir?(id: string): string;
}

export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Containers whose shim cannot run probes (older shim, unusual container): `runc exec` then. */
  private readonly viaRunc = new Set<string>();

  constructor(private readonly host: HealthHost) {}

  start(id: string, config: HealthConfig | undefined, startedAt: number, initial?: HealthState): void {
    const cmd = probeCommand(config);
    this.stop(id);
    this.viaRunc.delete(id);
    if (!cmd) return;
    const ms = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? ns / NS_PER_MS : dflt);
    const o = {
      interval: ms(config!.Interval, DEFAULTS.interval),
      timeout: ms(config!.Timeout, DEFAULTS.timeout),
      startPeriod: ms(config!.StartPeriod, 0),
      startInterval: ms(config!.StartInterval, DEFAULTS.startInterval),
      retries: config!.Retries && config!.Retries > 0 ? config!.Retries : DEFAULTS.retries,
    };
    let state: HealthState = initial ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    if (!initial) void this.host.update(id, state, false);
    const inStartPeriod = () => Date.now() - startedAt < o.startPeriod;
    const schedule = () => {
      const delay = inStartPeriod() && state.Status === 'starting' ? o.startInterval : o.interval;
      this.timers.set(id, setTimeout(() => void probe(), delay));
    };
    const probe = async () => {
      if (!this.host.isRunning(id)) return;
      const entry = await this.runProbe(id, cmd, o.timeout);
      if (!this.timers.has(id)) return; // stopped meanwhile
      const next = nextState(state, entry, o.retries, inStartPeriod());
      const changed = next.Status !== state.Status;
      state = next;
      await this.host.update(id, state, changed);
      schedule();
    };
    schedule();
  }

  stop(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  /** Run the probe (by the shim, else `runc exec`); past the timeout it is killed and counts as a failure. */
  private async runProbe(id: string, cmd: string[], timeoutMs: number): Promise<HealthLogEntry> {
    const dir = this.host.stateDir?.(id);
    if (dir && !this.viaRunc.has(id)) {
      const r = await this.probeByShim(dir, timeoutMs);
      if (r) return r;
      this.viaRunc.add(id);
    }
    return this.probeByRunc(id, cmd, timeoutMs);
  }

  /** The shim's "probe": undefined when it cannot (then never asked again for this run of the container). */
  private async probeByShim(stateDir: string, timeoutMs: number): Promise<HealthLogEntry | undefined> {
    if (!existsSync(path.join(stateDir, PROBE_SPEC))) return undefined;
    const start = nowRfc3339Nano();
    let sock;
    try {
      sock = await connectShim(stateDir, 'probe');
    } catch {
      return undefined;
    }
    const chunks: Buffer[] = [];
    let timedOut = false;
    // closing the connection makes the shim kill the probe
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, timeoutMs);
    await new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.once('close', () => resolve());
    });
    clearTimeout(timer);
    const end = nowRfc3339Nano();
    if (timedOut) return { Start: start, End: end, ExitCode: -1, Output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    const reply = Buffer.concat(chunks);
    const nl = reply.indexOf(0x0a);
    const m = /^exit (-?\d+)$/.exec(reply.subarray(0, Math.max(nl, 0)).toString());
    if (!m) return undefined; // "unsupported", or an older shim that does not know "probe"
    return { Start: start, End: end, ExitCode: Number(m[1]), Output: reply.subarray(nl + 1, nl + 1 + MAX_OUTPUT).toString() };
  }

  /** The probe by `runc exec`. */
  private probeByRunc(id: string, cmd: string[], timeoutMs: number): Promise<HealthLogEntry> {
    const start = nowRfc3339Nano();
    return new Promise((resolve) => {
      const child = spawn(this.host.runc.binary, ['--root', this.host.runc.root, 'exec', id, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const collect = (d: Buffer) => {
        if (out.length < MAX_OUTPUT) out += String(d);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // runc exec passes SIGTERM on to the probe; SIGKILL after a grace second ends runc itself.
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 1000).unref();
      }, timeoutMs);
      const done = (code: number) => {
        clearTimeout(timer);
        const output = timedOut ? `Health check exceeded timeout (${timeoutMs / 1000}s)` : out.slice(0, MAX_OUTPUT);
        resolve({ Start: start, End: nowRfc3339Nano(), ExitCode: timedOut ? -1 : code, Output: output });
      };
      child.on('error', () => done(-1));
      child.on('close', (code) => done(code ?? -1));
    });
  }
}

/** The file in the shim's state dir describing the probe process (berth-shim.c, load_probe_spec). */
export const PROBE_SPEC = 'probe.spec';

const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];
const U64_MAX = 18446744073709551615n;

function capMask(caps: readonly string[] | undefined): string {
  let m = 0n;
  for (const c of caps ?? []) {
    const i = KNOWN_CAPABILITIES.indexOf(c);
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m.toString(16);
}

/** What the shim needs to run `cmd` as `runc exec` would run it in this container — the container's
 *  process (user, groups, env plus HOME, cwd, capabilities, rlimits, no_new_privs, oom_score_adj) —
 *  as NUL-separated key/value pairs; undefined when the shim must leave probes to runc (a user
 *  namespace, an AppArmor profile, no probe). */
export function probeSpecFile(spec: OciSpec, cmd: string[] | undefined, home: string | undefined): Buffer | undefined {
  const p: OciProcess = spec.process;
  if (!cmd?.length || p.apparmorProfile || spec.linux.namespaces.some((n) => n.type === 'user')) return undefined;
  const kv: [string, string][] = [];
  for (const a of cmd) kv.push(['arg', a]);
  const env = [...p.env];
  if (home && !env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${home}`);
  for (const e of env) kv.push(['env', e]);
  kv.push(['cwd', p.cwd || '/'], ['uid', String(p.user.uid)], ['gid', String(p.user.gid)]);
  for (const g of p.user.additionalGids ?? []) kv.push(['group', String(g)]);
  const caps = p.capabilities ?? {};
  kv.push(['cap.bounding', capMask(caps.bounding)], ['cap.effective', capMask(caps.effective)], ['cap.permitted', capMask(caps.permitted)]);
  kv.push(['cap.inheritable', capMask(caps.inheritable)], ['cap.ambient', capMask(caps.ambient)]);
  const limit = (n: number) => (n < 0 ? U64_MAX : BigInt(n)).toString();
  for (const r of p.rlimits ?? []) {
    const res = RLIMITS.indexOf(r.type.replace(/^RLIMIT_/, ''));
    if (res < 0) return undefined;
    kv.push(['rlimit', `${res} ${limit(r.soft)} ${limit(r.hard)}`]);
  }
  if (p.noNewPrivileges) kv.push(['nnp', '1']);
  kv.push(['seccomp', spec.linux.seccomp ? '1' : '0']);
  if (p.oomScoreAdj !== undefined) kv.push(['oom', String(p.oomScoreAdj)]);
  if (kv.some(([, v]) => v.includes('\0'))) return undefined;
  return Buffer.from(kv.map(([k, v]) => `${k}\0${v}\0`).join(''));
}

/** The time with nine fractional digits as dockerd writes probe times (sub-millisecond digits from
 *  the monotonic clock, as the events' timeNano). */
function nowRfc3339Nano(): string {
  const sub = String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0');
  return new Date().toISOString().replace(/Z$/, `${sub}Z`);
}

/** Docker's rule: success → healthy; failures count only outside the start period; `retries` in a row → unhealthy. */
export function nextState(prev: HealthState, entry: HealthLogEntry, retries: number, inStartPeriod: boolean): HealthState {
  const log = [...prev.Log, entry].slice(-MAX_LOG);
  if (entry.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  if (inStartPeriod && prev.Status === 'starting') return { ...prev, Log: log };
  const streak = prev.FailingStreak + 1;
  return { Status: streak >= retries ? 'unhealthy' : prev.Status, FailingStreak: streak, Log: log };
}
