// The project's logs, as `compose logs` and a foreground `up` show them: each line of each container
// prefixed with its name ("web-1  | "), the names padded to the longest one, one color per container
// in the order they were registered (Compose v2's rainbow); with `follow`, containers that start later
// are picked up from the engine's event stream, and an exit is announced ("web-1 exited with code 0").
// Following ends when no followed container is running any more, or at the caller's abort signal.
import type { IncomingMessage } from 'node:http';
import readline from 'node:readline';
import type { Writable } from 'node:stream';
import type { ContainerSummary } from '../api/types.js';
import { Demuxer } from '../lib/stdcopy.js';
import type { ComposeBackend } from './backend.js';
import { ONEOFF, PROJECT, SERVICE } from './labels.js';
import { nameWithoutProject, serviceContainer } from './ps.js';

/** Where log lines go (Compose's api.LogConsumer). `name` is the container's name without the project. */
export interface LogConsumer {
  /** Reserve a prefix (and a color) before any line arrives, so the padding is stable from the start. */
  register(name: string): void;
  log(name: string, line: string): void;
  err(name: string, line: string): void;
  /** A line about the container ("exited with code 0"), in its color, without the separator. */
  status(name: string, message: string): void;
}

export interface LogOptions {
  /** Only these services (empty: all of the project's). */
  services?: string[];
  /** The container numbered so of the (single) service. */
  index?: number;
  follow?: boolean;
  /** "all" or a number of lines per container. */
  tail?: string;
  /** Engine API timestamps ("<seconds>.<nanos>"), already converted by the caller. */
  since?: string;
  until?: string;
  timestamps?: boolean;
  /** Stop following (Ctrl-C, or `up` ending). */
  signal?: AbortSignal;
  /** Keep following while no container runs (until the signal): for a caller that starts them later. */
  keepFollowing?: boolean;
  /** Told of each exit seen while following (`up --abort-on-container-exit`, `--exit-code-from`). */
  onExit?: (exit: ContainerExit) => void;
}

export interface ContainerExit {
  id: string;
  /** Without the project ("web-1"). */
  name: string;
  service: string;
  exitCode: number;
  /** Its restart policy brings it back. */
  restarting: boolean;
}

/** The engine's event message, as much of it as compose reads. */
interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
}

export async function streamLogs(backend: ComposeBackend, project: string, opts: LogOptions, out: LogConsumer): Promise<void> {
  const services = opts.services ?? [];
  // The event stream is opened before the containers are listed so a start in between is not missed.
  const events = opts.follow ? await projectEvents(backend, project, opts.signal) : undefined;
  try {
    const containers = await selectContainers(backend, project, opts);
    for (const c of containers) out.register(nameWithoutProject(c));
    const follower = new Follower(backend, opts, out);
    const initial = containers.map((c) => follower.stream(c.Id, nameWithoutProject(c), { since: opts.since }));
    if (!events) {
      await Promise.all(initial);
      return;
    }
    const running = containers.filter((c) => c.State === 'running');
    for (const c of running) follower.running.add(c.Id);
    if (!running.length && !opts.keepFollowing) {
      await Promise.all(initial);
      return;
    }
    await follower.follow(events, services);
  } finally {
    events?.destroy();
  }
}

async function selectContainers(backend: ComposeBackend, project: string, opts: LogOptions): Promise<ContainerSummary[]> {
  if (opts.index && opts.services?.length === 1) {
    return [await serviceContainer(backend, project, opts.services[0]!, { index: opts.index, all: true, oneoff: false })];
  }
  return backend.containers(project, { all: true, services: opts.services, oneoff: false });
}

async function projectEvents(backend: ComposeBackend, project: string, signal?: AbortSignal): Promise<IncomingMessage> {
  const res = await backend.events({ type: ['container'], label: [`${PROJECT}=${project}`, `${ONEOFF}=False`] });
  signal?.addEventListener('abort', () => res.destroy(), { once: true });
  return res;
}

class Follower {
  /** Containers whose process runs: following ends when this set empties. */
  readonly running = new Set<string>();
  /** Log streams, by container ID; `active` those still reading. */
  private readonly streams = new Map<string, Promise<void>>();
  private readonly active = new Set<string>();
  /** When each container last exited (API time): a restart's lines are those after it. */
  private readonly lastExit = new Map<string, string>();

  constructor(
    private readonly backend: ComposeBackend,
    private readonly opts: LogOptions,
    private readonly out: LogConsumer,
  ) {}

  stream(id: string, name: string, q: { since?: string; tail?: string }): Promise<void> {
    const p = this.copy(id, name, q).catch((err: unknown) => {
      // A container removed while its logs were read just ends its stream.
      if (!/No such container|is not running|connection|aborted|socket hang up/i.test(String((err as Error).message))) throw err;
    });
    p.catch(() => undefined); // awaited later; not an unhandled rejection meanwhile
    this.active.add(id);
    void p.finally(() => this.active.delete(id)).catch(() => undefined);
    this.streams.set(id, p);
    return p;
  }

  private async copy(id: string, name: string, q: { since?: string; tail?: string }): Promise<void> {
    const inspect = await this.backend.inspectContainer(id);
    if (this.opts.signal?.aborted) return;
    const res = await this.backend.logs(id, {
      follow: this.opts.follow,
      tail: q.tail ?? this.opts.tail,
      since: q.since,
      until: this.opts.until,
      timestamps: this.opts.timestamps,
    });
    const abort = (): void => void res.destroy();
    this.opts.signal?.addEventListener('abort', abort, { once: true });
    const lines = new LineSplitter((line) => this.out.log(name, line));
    // Compose copies stdout and stderr of the logs into the same consumer (both reach its stdout).
    const demux = inspect.Config.Tty ? undefined : new Demuxer((_stream, payload) => lines.push(payload));
    try {
      for await (const chunk of res) {
        if (demux) demux.push(chunk as Buffer);
        else lines.push(chunk as Buffer);
      }
    } catch (err) {
      if (!this.opts.signal?.aborted) throw err;
    } finally {
      this.opts.signal?.removeEventListener('abort', abort);
      lines.end();
    }
  }

  /** Read project events until no followed container runs (or the signal aborts). */
  async follow(events: IncomingMessage, services: string[]): Promise<void> {
    const watched = (e: EngineEvent): boolean => !services.length || services.includes(e.Actor.Attributes?.[SERVICE] ?? '');
    try {
      for await (const line of readline.createInterface({ input: events, crlfDelay: Infinity })) {
        if (!line.trim()) continue;
        const e = JSON.parse(line) as EngineEvent;
        if (e.Type !== 'container' || !watched(e)) continue;
        if (e.Action === 'start') await this.onStart(e);
        else if (e.Action === 'die') await this.onDie(e, eventTime(line));
        if (!this.running.size && !this.opts.keepFollowing) break;
      }
    } catch (err) {
      if (!this.opts.signal?.aborted) throw err;
    }
    await Promise.all(this.streams.values());
  }

  private async onStart(e: EngineEvent): Promise<void> {
    const id = e.Actor.ID;
    this.running.add(id);
    // Already read (its start raced with our listing): one stream per container.
    if (this.active.has(id)) return;
    const c = await this.backend.inspectContainer(id).catch(() => undefined);
    if (!c) return;
    const name = nameWithoutProject({ Id: c.Id, Names: [c.Name], Labels: c.Config.Labels ?? {} });
    this.out.register(name);
    // Everything a container that appears now has written is new to us, whatever --tail says; a
    // restarted one's earlier stream ended at its exit: read on from that exit, so nothing already
    // printed comes again and nothing written since is lost.
    void this.stream(id, name, { since: this.lastExit.get(id), tail: 'all' });
  }

  private async onDie(e: EngineEvent, time: string | undefined): Promise<void> {
    const id = e.Actor.ID;
    if (time) this.lastExit.set(id, time);
    const attrs = e.Actor.Attributes ?? {};
    // The last lines first, then the exit (the stream ends with the process).
    await this.streams.get(id);
    const c = await this.backend.inspectContainer(id).catch(() => undefined);
    const name = c
      ? nameWithoutProject({ Id: c.Id, Names: [c.Name], Labels: c.Config.Labels ?? {} })
      : nameWithoutProject({ Id: id, Names: [`/${attrs.name ?? id.slice(0, 12)}`], Labels: attrs });
    const restarting = !!c && (c.State.Restarting || c.State.Running);
    const exitCode = Number(attrs.exitCode ?? c?.State.ExitCode ?? 0);
    this.out.status(name, `exited with code ${exitCode}${restarting ? ' (restarting)' : ''}`);
    this.opts.onExit?.({ id, name, service: attrs[SERVICE] ?? c?.Config.Labels?.[SERVICE] ?? '', exitCode, restarting });
    if (!restarting) this.running.delete(id);
  }
}

/** An event's exact time as the API takes it ("<seconds>.<nanos>"), read from its raw JSON (a JS number loses the nanoseconds). */
function eventTime(line: string): string | undefined {
  const nano = /"timeNano":\s*(\d+)/.exec(line)?.[1];
  if (!nano || nano.length < 10) return undefined;
  return `${nano.slice(0, -9)}.${nano.slice(-9)}`;
}

/** Bytes → whole lines (without their newline); a last line without one is flushed at the end. */
export class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.pending + chunk.toString();
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const l of lines) this.onLine(l);
  }

  end(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = '';
  }
}

// ---- presentation: Compose's log consumer (cmd/formatter/logs.go, colors.go) ----

export type ColorFunc = (s: string) => string;

const monochrome: ColorFunc = (s) => s;
const ansi =
  (code: string): ColorFunc =>
  (s) =>
    `\x1b[${code}m${s}\x1b[0m`;

/** Compose's rainbow: cyan, yellow, green, magenta, blue, then their intense variants, round and round. */
export const RAINBOW: ColorFunc[] = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'].map(ansi);

export interface PrinterOptions {
  stdout: Writable;
  stderr: Writable;
  color: boolean;
  prefix: boolean;
  /** Prefix each line with the time it was printed (Compose's `up --timestamps`). */
  timestamps?: boolean;
}

/** A LogConsumer printing as Compose does. */
export function logPrinter(opts: PrinterOptions): LogConsumer {
  const presenters = new Map<string, { color: ColorFunc; prefix: string }>();
  let nextColor = 0;
  const register = (name: string): { color: ColorFunc; prefix: string } => {
    const existing = presenters.get(name);
    if (existing) return existing;
    const color = opts.color ? RAINBOW[nextColor++ % RAINBOW.length]! : monochrome;
    const p = { color, prefix: '' };
    presenters.set(name, p);
    if (opts.prefix) {
      const width = Math.max(...[...presenters.keys()].map((n) => n.length)) + 1;
      for (const [n, q] of presenters) q.prefix = q.color(`${n.padEnd(width)} | `);
    }
    return p;
  };
  const write = (w: Writable, name: string, line: string): void => {
    const p = register(name);
    const stamp = opts.timestamps ? rfc3339NanoFixed(new Date()) : '';
    w.write(`${p.prefix}${stamp}${line}\n`);
  };
  return {
    register: (name) => void register(name),
    log: (name, line) => write(opts.stdout, name, line),
    err: (name, line) => write(opts.stderr, name, line),
    // Compose clears the line first (a progress line may be there); only when ANSI codes are wanted.
    status: (name, message) => void opts.stdout.write(register(name).color(`${opts.color ? '\r\x1b[K' : ''}${name} ${message}\n`)),
  };
}

/** Go's jsonmessage.RFC3339NanoFixed ("2006-01-02T15:04:05.000000000Z07:00"), in UTC. */
function rfc3339NanoFixed(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
