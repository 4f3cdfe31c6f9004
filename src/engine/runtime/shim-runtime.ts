// The Runtime berth runs: each container (and each exec) under its own berth-shim, which runs runc,
// owns the process's stdio, log and exit code, and lives on while berthd is down (shim.ts); the rest
// (start, kill, update, state, ...) is runc's CLI (runc.ts). State lives in files, so a new ShimRuntime
// over the same directories picks up where the last one left off (berthd's restart).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { NotFound, messageOf } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { cgroupLayout } from '../cgroups.js';
import { PROBE_SPEC, probeSpecFile, readProbeArgs } from './probe-spec.js';
import { Runc } from './runc.js';
import {
  PROBE_MAX_OUTPUT,
  type AttachStreams,
  type ContainerState,
  type ContainerStatus,
  type CreateOptions,
  type ExecOptions,
  type ExecProcess,
  type ExitStatus,
  type ProbeResult,
  type RunOptions,
  type Runtime,
  type WaitOptions,
} from './runtime.js';
import { attachHeader, connectShim, liveShimPid, probeShim, readExitFile, resizeShim, spawnShim, startShim, waitShim } from './shim.js';
import type { OciResources, OciSpec } from './spec.js';

export interface ShimRuntimeOptions {
  /** The runc binary (anything with runc's CLI). */
  binary: string;
  /** runc's state directory (--root). */
  root: string;
  /** The shims' state: containers in STATE-ROOT/c/<id prefix>, execs in STATE-ROOT/x/<exec id prefix>. */
  stateRoot: string;
}

/** A grace second after SIGTERM before a probe's `runc exec` is killed. */
const PROBE_KILL_GRACE_MS = 1000;

export class ShimRuntime implements Runtime {
  readonly runc: Runc;
  /** Containers whose shim cannot run probes (older shim, unusual container): `runc exec` then. */
  private readonly probeByRunc = new Set<string>();
  /** The probe command each container's shim was prepared for (read back from its probe.spec). */
  private readonly preparedProbes = new Map<string, Promise<string[] | undefined>>();

  constructor(private readonly o: ShimRuntimeOptions) {
    this.runc = new Runc(o.binary, o.root);
  }

  /** A container's shim state dir; short so unix socket paths stay under 108 bytes. */
  stateDir(id: string): string {
    return path.join(this.o.stateRoot, 'c', id.slice(0, 16));
  }

  private execDir(execId: string): string {
    return path.join(this.o.stateRoot, 'x', execId.slice(0, 16));
  }

  async create(id: string, o: CreateOptions): Promise<number> {
    // The bundle still being written: the shim is spawned meanwhile (its fork + exec and its setup off the
    // start's path) and told to start once config.json is complete.
    if (o.spec instanceof Promise && o.startNow && !o.tty && !o.probe && o.cgroupsPath) return this.createBeforeBundle(id, o, o.spec, o.cgroupsPath);
    const spec = await o.spec;
    const stateDir = this.stateDir(id);
    await fs.mkdir(stateDir, { recursive: true });
    this.probeByRunc.delete(id);
    this.preparedProbes.delete(id);
    const probeSpec = o.probe ? probeSpecFile(spec, o.probe.args, o.probe.home) : undefined;
    if (probeSpec) await writeFileAtomic(path.join(stateDir, PROBE_SPEC), probeSpec);
    // One `runc run --detach`, unless the shim must see the container between create and start: a
    // terminal (its size is set before the process runs) or a probe (the filter read from runc's init).
    const oneStep = o.startNow !== undefined && !o.tty && !probeSpec;
    const shim = await spawnShim({
      startOnRequest: oneStep,
      id,
      stateDir,
      bundle: o.bundle,
      runtime: this.o.binary,
      runtimeRoot: this.o.root,
      tty: o.tty,
      stdin: o.stdin,
      stdinOnce: o.stdinOnce,
      log: o.log,
      probeSpec: probeSpec ? path.join(stateDir, PROBE_SPEC) : undefined,
      oomFile: await oomFile(spec.linux?.cgroupsPath),
    });
    if (!o.startNow) return shim.pid;
    if (!oneStep) {
      const pid = await shim.pid;
      await o.startNow.beforeStart?.();
      await this.start(id);
      return pid;
    }
    try {
      await o.startNow.beforeStart?.();
      await startShim(stateDir);
    } catch (e) {
      shim.cancel();
      throw e;
    }
    return shim.pid;
  }

  /** create's one-step path (startNow, no tty, no probe) with the shim spawned before the bundle is complete. */
  private async createBeforeBundle(id: string, o: CreateOptions, spec: Promise<OciSpec>, cgroupsPath: string): Promise<number> {
    spec.catch(() => undefined); // awaited below, after the spawn
    const stateDir = this.stateDir(id);
    await fs.mkdir(stateDir, { recursive: true });
    this.probeByRunc.delete(id);
    this.preparedProbes.delete(id);
    const shim = await spawnShim({
      startOnRequest: true,
      id,
      stateDir,
      bundle: o.bundle,
      runtime: this.o.binary,
      runtimeRoot: this.o.root,
      tty: false,
      stdin: o.stdin,
      stdinOnce: o.stdinOnce,
      log: o.log,
      oomFile: await oomFile(cgroupsPath),
    });
    try {
      await spec;
      await o.startNow?.beforeStart?.();
      await startShim(stateDir);
    } catch (e) {
      shim.cancel();
      throw e;
    }
    return shim.pid;
  }

  async start(id: string): Promise<void> {
    await this.runc.start(id).catch(async (e: unknown) => {
      if (!(await this.exitedDuringStart(id, e))) throw e;
    });
  }

  /**
   * `runc start` opens the exec fifo (the init execs the command), then removes the fifo. A command that
   * exits at once can beat that removal: its shim records the exit and deletes the runc container, state
   * dir and fifo included, and runc start fails with "remove …/exec.fifo: no such file or directory"
   * although the command ran. The shim writes exit.json before it deletes, so that record tells the two
   * apart; the container did start (its monitor then sees the exit).
   */
  private async exitedDuringStart(id: string, err: unknown): Promise<boolean> {
    if (!/exec\.fifo: no such file or directory/.test(messageOf(err))) return false;
    return (await readExitFile(this.stateDir(id))) !== undefined;
  }

  async exec(id: string, o: ExecOptions): Promise<ExecProcess> {
    const stateDir = this.execDir(o.execId);
    await fs.mkdir(stateDir, { recursive: true });
    await writeFileAtomic(path.join(stateDir, 'process.json'), JSON.stringify(o.process));
    const shim = await spawnShim({
      id,
      stateDir,
      execProcess: path.join(stateDir, 'process.json'),
      runtime: this.o.binary,
      runtimeRoot: this.o.root,
      tty: o.tty,
      stdin: o.stdin,
      stdinOnce: true,
      // The shim holds the process back until the attach is in, so no output is missed.
      waitAttach: o.attach !== undefined,
    });
    const stream = o.attach ? await connectShim(stateDir, attachHeader(o.attach)) : undefined;
    const cleanUp = () => fs.rm(stateDir, { recursive: true, force: true });
    const pid = shim.pid.catch(async (e: unknown) => {
      await cleanUp();
      throw e;
    });
    pid.catch(() => undefined);
    let exit: Promise<ExitStatus | undefined> | undefined;
    return {
      pid,
      stream,
      wait: () =>
        (exit ??= waitShim(stateDir).then(async (st) => {
          await cleanUp();
          return st;
        })),
      resize: (rows, cols) => resizeShim(stateDir, rows, cols),
    };
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return this.runc.kill(id, signal, all);
  }

  pause(id: string): Promise<void> {
    return this.runc.pause(id);
  }

  resume(id: string): Promise<void> {
    return this.runc.resume(id);
  }

  update(id: string, resources: OciResources): Promise<void> {
    return this.runc.update(id, JSON.stringify(resources));
  }

  async state(id: string): Promise<ContainerState> {
    const s = await this.runc.state(id);
    if (!s) throw new NotFound(`No such container: ${id}`);
    return { id, status: s.status as ContainerStatus, pid: s.status === 'stopped' ? 0 : s.pid };
  }

  pids(id: string): Promise<number[]> {
    return this.runc.pids(id);
  }

  async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
    await this.runc.remove(id, o.force ?? false);
  }

  wait(id: string, o: WaitOptions = {}): Promise<ExitStatus | undefined> {
    return waitShim(this.stateDir(id), o.onExit);
  }

  async monitored(id: string): Promise<boolean> {
    return (await liveShimPid(this.stateDir(id))) !== undefined;
  }

  attach(id: string, streams: AttachStreams): Promise<Duplex> {
    return connectShim(this.stateDir(id), attachHeader(streams));
  }

  resize(id: string, rows: number, cols: number): Promise<void> {
    return resizeShim(this.stateDir(id), rows, cols);
  }

  /** By the shim when it was prepared for this command at create (probe.spec), else `runc exec`. */
  /** No monitor for a foreground run: runc itself waits, as BuildKit's runc executor does. */
  run(id: string, o: RunOptions): Promise<number> {
    return this.runc.run(id, o);
  }

  async probe(id: string, args: string[], timeoutMs: number): Promise<ProbeResult> {
    const dir = this.stateDir(id);
    if (!this.probeByRunc.has(id)) {
      let prepared = this.preparedProbes.get(id);
      if (!prepared) this.preparedProbes.set(id, (prepared = readProbeArgs(path.join(dir, PROBE_SPEC))));
      const sameCommand = (await prepared)?.join('\0') === args.join('\0');
      const r = sameCommand ? await probeShim(dir, timeoutMs, PROBE_MAX_OUTPUT) : undefined;
      if (r) return r;
      // Once the shim could not, it is not asked again for this run of the container.
      if (sameCommand) this.probeByRunc.add(id);
    }
    return this.runc.execBounded(id, args, { timeoutMs, killGraceMs: PROBE_KILL_GRACE_MS, maxOutput: PROBE_MAX_OUTPUT });
  }
}

/** The cgroup file whose oom_kill counter tells an OOM kill (read by the shim at exit). */
async function oomFile(cg: string | undefined): Promise<string | undefined> {
  if (!cg) return undefined;
  return (await cgroupLayout()) === 'v2' ? `/sys/fs/cgroup${cg}/memory.events` : `/sys/fs/cgroup/memory${cg}/memory.oom_control`;
}
