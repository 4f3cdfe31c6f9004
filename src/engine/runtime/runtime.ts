// The container runtime interface: what the containers service, docker exec and the health checker
// need from whatever creates and monitors containers — containerd's task API in miniature. berth's
// implementation is ShimRuntime (shim-runtime.ts: one berth-shim monitor per container running runc);
// test/contract/runtime.ts is the contract any implementation must pass.
import type { Duplex } from 'node:stream';
import type { OciProcess, OciResources, OciSpec } from './spec.js';

/** How a container's or exec's process ended. */
export interface ExitStatus {
  exitCode: number;
  signal: string | null;
  finishedAt: string;
  oomKilled?: boolean;
}

/** The json-file log: rotated at maxSize bytes (0 = never), maxFile files kept, rotated files gzipped. */
export interface LogSettings {
  path: string;
  maxSize: number;
  maxFile: number;
  compress: boolean;
}

/** Which of a process's streams an attached client gets. */
export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface CreateOptions {
  /** The OCI bundle directory (its config.json is written by the caller). */
  bundle: string;
  /** That config.json: the runtime reads what it needs from it (the cgroup, the process for probes). A
   *  promise: the caller is still writing the bundle, and it is complete when the promise resolves; a
   *  runtime may get its monitor ready meanwhile (with startNow, no tty and no probe, given cgroupsPath)
   *  but reads nothing of the bundle before. A rejection fails the create, leaving nothing. */
  spec: OciSpec | Promise<OciSpec>;
  /** The spec's linux.cgroupsPath, known before a pending spec is (see spec). */
  cgroupsPath?: string;
  tty: boolean;
  /** Keep the container's stdin open for attaches; stdinOnce closes it after the first attach ends. */
  stdin: boolean;
  stdinOnce: boolean;
  /** The container's output is written to this log (none: output only reaches attached clients). */
  log?: LogSettings;
  /** The health probe's command, so the runtime can prepare to run it cheaply (probe()). */
  probe?: { args: string[]; home?: string };
  /**
   * Start the container as part of its creation, so create() returns a running container's pid and
   * start() is not called: `beforeStart` runs once attach() works and before the process can print
   * anything (the attaches made before a start), then the process starts. A runtime may do it in one
   * step (the shim: one `runc run --detach` instead of `runc create` + `runc start`) or in two.
   */
  startNow?: { beforeStart?: () => Promise<void> };
}

export interface WaitOptions {
  /** Told the exit status as soon as it is known, while the runtime may still be releasing the container
   *  (wait() resolves once that is done and the id may be used again): what else the container held can
   *  be given back meanwhile. Not called when the exit is only learnt afterwards. */
  onExit?: (status: ExitStatus) => void;
}

export interface ExecOptions {
  /** Names the exec (its state), unique per runtime. */
  execId: string;
  process: OciProcess;
  tty: boolean;
  stdin: boolean;
  /** Streams to attach before the process starts (returned as ExecProcess.stream). */
  attach?: AttachStreams;
}

/** A process started in a running container. */
export interface ExecProcess {
  /** Its pid; rejects with the runtime's error (an executable not found, ...). */
  pid: Promise<number>;
  /** The attached streams: stdcopy frames, or raw bytes with a TTY. */
  stream?: Duplex;
  /** Its exit status once it has exited (undefined when that was lost). */
  wait(): Promise<ExitStatus | undefined>;
  resize(rows: number, cols: number): Promise<void>;
}

/** A short-lived container run in the foreground (a build step's RUN). */
export interface RunOptions {
  /** The OCI bundle (config.json, rootfs). */
  bundle: string;
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
  /** Aborted: the container is stopped (SIGTERM, then SIGKILL after 2 s). */
  signal?: AbortSignal;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** The container's init process (host PID namespace); 0 once stopped. */
  pid: number;
}

/** A health probe's result: the exit code (-1: it could not run, or outlived its timeout), its output. */
export interface ProbeResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

/** Probe output beyond this many bytes is dropped (Docker's maxOutputLen). */
export const PROBE_MAX_OUTPUT = 4096;

export interface Runtime {
  /** Create the container from its bundle, under a monitor that outlives the caller; resolves with the
   *  init's pid. The process runs only after start(). */
  create(id: string, o: CreateOptions): Promise<number>;
  start(id: string): Promise<void>;
  /** Run another process in the running container. */
  exec(id: string, o: ExecOptions): Promise<ExecProcess>;
  /** Signal the init ("TERM", "SIGKILL", "9"); all: every process of the container. */
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Change the container's cgroup limits while it runs. */
  update(id: string, resources: OciResources): Promise<void>;
  /** Throws NotFound when the runtime does not know the container (never created, deleted, reaped). */
  state(id: string): Promise<ContainerState>;
  /** PIDs of every process in the container (host PID namespace). */
  pids(id: string): Promise<number[]>;
  /** Remove the container; a running one only with force (it is killed). Force tolerates an unknown id. */
  delete(id: string, o?: { force?: boolean }): Promise<void>;
  /** The exit status once the container has exited — also for a container created by an earlier runtime
   *  object (berthd restarted); undefined when its monitor died without recording it. */
  wait(id: string, o?: WaitOptions): Promise<ExitStatus | undefined>;
  /** Whether a monitor still owns the container (after a berthd restart: the container lived on). */
  monitored(id: string): Promise<boolean>;
  /** Connect to the container's streams (stdcopy frames, or raw bytes with a TTY); before start(), the
   *  client sees the output from the first byte. */
  attach(id: string, streams: AttachStreams): Promise<Duplex>;
  resize(id: string, rows: number, cols: number): Promise<void>;
  /** Run the health probe `args` in the container as its own process runs (user, env, capabilities);
   *  killed past timeoutMs. Never rejects. */
  probe(id: string, args: string[], timeoutMs: number): Promise<ProbeResult>;
  /** Create, start, wait for and delete a container in one go, with no monitor (it lives only as long as
   *  the caller waits: BuildKit's executor `Run`); its stdin is empty. Resolves with the exit code. */
  run(id: string, o: RunOptions): Promise<number>;
}
