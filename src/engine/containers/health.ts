// Health checks: HEALTHCHECK from the image or --health-* flags, probed with `runc exec` inside the
// running container. Docker's states (starting, healthy, unhealthy), failing streak, the last 5 probe
// results, a start period (with its own start interval) during which failures do not count, and a
// probe that outlives its timeout is killed.
import { spawn } from 'node:child_process';
import type { HealthConfig } from '../../api/types.js';
import type { Runc } from '../runtime/runc.js';

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
}

export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: HealthHost) {}

  start(id: string, config: HealthConfig | undefined, startedAt: number, initial?: HealthState): void {
    const cmd = probeCommand(config);
    this.stop(id);
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

  /** Run the probe with `runc exec`; past the timeout it is killed and counts as a failure. */
  private runProbe(id: string, cmd: string[], timeoutMs: number): Promise<HealthLogEntry> {
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
