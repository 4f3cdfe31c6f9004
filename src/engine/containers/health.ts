// Health checks: HEALTHCHECK from the image or --health-* flags, probed inside the running container.
// Docker's states (starting, healthy, unhealthy), failing streak, the last 5 probe results, a start
// period (with its own start interval) during which failures do not count, and a probe that outlives
// its timeout is killed.
//
// The probe runs through the container runtime (Runtime.probe): berth's runs it in the container's
// berth-shim when it can — a tenth of the CPU of `runc exec` (runtime/probe-spec.ts).
import type { HealthConfig } from '../../api/types.js';
import { PROBE_MAX_OUTPUT, type Runtime } from '../runtime/runtime.js';

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
const MAX_OUTPUT = PROBE_MAX_OUTPUT;

/** The probe command, or undefined when there is none (no HEALTHCHECK, NONE, --no-healthcheck). */
export function probeCommand(h: HealthConfig | undefined): string[] | undefined {
  const t = h?.Test;
  if (!t?.length || t[0] === 'NONE') return undefined;
  if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
  if (t[0] === 'CMD') return t.slice(1);
  return undefined;
}

export interface HealthHost {
  runtime: Pick<Runtime, 'probe'>;
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

  /** Run the probe through the runtime; past the timeout it is killed and counts as a failure. */
  private async runProbe(id: string, cmd: string[], timeoutMs: number): Promise<HealthLogEntry> {
    const start = nowRfc3339Nano();
    const r = await this.host.runtime.probe(id, cmd, timeoutMs);
    const end = nowRfc3339Nano();
    if (r.timedOut) return { Start: start, End: end, ExitCode: -1, Output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    return { Start: start, End: end, ExitCode: r.exitCode, Output: r.output.slice(0, MAX_OUTPUT) };
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
