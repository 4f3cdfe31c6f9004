// The exec service: extra processes in a running container (`docker exec`), each under its own
// berth-shim in exec mode so its stdio and exit code are handled like the container's.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ExecConfig } from '../../api/types.js';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import { frame, fromFrames, toFrames } from '../../lib/stdcopy.js';
import type { EventsService } from '../events.js';
import type { ExecProcess } from '../runtime/runtime.js';
import { buildExecProcess } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import { joinStreams, parseDetachKeys } from './attach.js';
import type { ContainersService } from './service.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  started: boolean;
  process?: ExecProcess;
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(
    private readonly containers: ContainersService,
    private readonly events: EventsService,
  ) {
    containers.execIds = (cid) => [...this.execs.values()].filter((e) => e.containerId === cid && e.running).map((e) => e.id);
  }

  create(containerRef: string, config: ExecConfig): { Id: string } {
    const c = this.containers.store.get(containerRef);
    if (c.state.status === 'paused') throw new Conflict(`Container ${c.id} is paused, unpause the container before exec`);
    if (c.state.status !== 'running') throw new Conflict(`Container ${c.id} is not running`);
    if (!config.Cmd?.length) throw new InvalidParameter('No exec command specified');
    // Go's JSON decoding ignores case: docker-py sends "detachKeys".
    const detachKeys = config.DetachKeys ?? (config as { detachKeys?: string }).detachKeys;
    if (detachKeys) parseDetachKeys(detachKeys);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { id, containerId: c.id, config: { ...config, DetachKeys: detachKeys }, running: false, exitCode: null, pid: 0, started: false });
    this.emit(c.id, 'exec_create: ' + config.Cmd.join(' '), id);
    return { Id: id };
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw new NotFound(`No such exec instance: ${id}`);
    return e;
  }

  inspect(id: string): ExecInspect {
    const e = this.get(id);
    const [entry, ...args] = e.config.Cmd;
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: { tty: e.config.Tty ?? false, entrypoint: entry!, arguments: args, privileged: e.config.Privileged ?? false, user: e.config.User ?? '' },
      OpenStdin: e.config.AttachStdin ?? false,
      OpenStderr: e.config.AttachStderr ?? false,
      OpenStdout: e.config.AttachStdout ?? false,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      Pid: e.pid,
    };
  }

  /** Start the exec. With a client stream, resolves when the process has exited and the stream is done. */
  async start(id: string, opts: { detach: boolean; tty?: boolean }, client?: Duplex): Promise<void> {
    const e = this.get(id);
    if (e.started) throw new Conflict(`Error: Exec command ${id} has already run`);
    const c = this.containers.store.get(e.containerId);
    if (c.state.status !== 'running') throw new Conflict(`Container ${c.id} is not running`);
    e.started = true;
    // The process gets a TTY if the exec was created with one; the start request's Tty only says how
    // the client wants the stream (dockerd's rule: a TTY's output framed as stdout, or frames unwrapped).
    const tty = e.config.Tty ?? false;
    const rawClient = opts.tty ?? tty;
    const attached = !opts.detach && client !== undefined;
    const stdin = attached && (e.config.AttachStdin ?? false);
    const proc = await this.containers.runtime.exec(c.id, {
      execId: id,
      process: await this.processSpec(e, tty),
      tty,
      stdin,
      attach: attached ? { stdin, stdout: e.config.AttachStdout ?? true, stderr: e.config.AttachStderr ?? true } : undefined,
    });
    e.process = proc;
    let joined: Promise<unknown> = Promise.resolve();
    let markRecorded: () => void = () => undefined;
    const exitRecorded = new Promise<void>((r) => (markRecorded = r));
    if (attached && proc.stream) {
      const reframe = tty === rawClient ? undefined : tty ? toFrames() : fromFrames();
      joined = joinStreams(client, proc.stream, { stdin, detachKeys: parseDetachKeys(e.config.DetachKeys), tty, beforeEnd: () => exitRecorded, reframe });
    }
    try {
      e.pid = await proc.pid;
    } catch (err) {
      markRecorded();
      // The stream is already hijacked, so the error goes down it as dockerd writes it (on stdout, framed
      // unless the client reads raw): `docker exec c nosuch` prints why, then exits 126.
      if (client && !client.destroyed) {
        const text = `${err instanceof Error ? err.message : String(err)}\r\n`;
        client.write(rawClient ? text : frame(1, text));
      }
      client?.end();
      e.exitCode = 126;
      throw err;
    }
    e.running = true;
    this.emit(c.id, 'exec_start: ' + e.config.Cmd.join(' '), id);
    const exited = proc.wait().then((st) => {
      e.running = false;
      e.exitCode = st?.exitCode ?? 126;
      this.emit(c.id, 'exec_die', id, { exitCode: String(e.exitCode) });
    });
    void exited.finally(markRecorded);
    if (attached) await Promise.all([joined, exited]);
  }

  private async processSpec(e: ExecRecord, tty: boolean) {
    const c = this.containers.store.get(e.containerId);
    const rootfs = this.containers.rootfs(c.id);
    const user = await resolveUser(rootfs, e.config.User || c.config.User, c.hostConfig.GroupAdd ?? undefined);
    const env = [`HOSTNAME=${c.config.Hostname}`, ...(c.config.Env ?? []), ...(e.config.Env ?? [])];
    return buildExecProcess({
      args: e.config.Cmd,
      env,
      cwd: e.config.WorkingDir || c.config.WorkingDir || '/',
      user,
      tty,
      privileged: (e.config.Privileged ?? false) || (c.hostConfig.Privileged ?? false),
      hostConfig: c.hostConfig,
      consoleSize: e.config.ConsoleSize ? { height: e.config.ConsoleSize[0], width: e.config.ConsoleSize[1] } : undefined,
    });
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const e = this.get(id);
    if (!e.running) return;
    await e.process?.resize(rows, cols).catch(() => undefined);
  }

  private emit(containerId: string, action: string, execId: string, extra: Record<string, string> = {}): void {
    const c = this.containers.store.tryGet(containerId);
    this.events.emit('container', action, containerId, { execID: execId, image: c?.imageRef ?? '', name: c?.name.slice(1) ?? '', ...extra });
  }
}
