// The TypeScript side of berth-shim, the per-container monitor (src/shim/berth-shim.c).
// berthd spawns one shim per container (and per exec); the shim owns the container's stdio,
// its json-file log and its exit code, so containers live on while berthd is down.
// Protocol: fd 3 carries {"ready":true}, then {"pid":N} or {"error":"..."}; STATE/attach.sock takes
// a header line: "attach [stdin] [stdout] [stderr]", "resize ROWS COLS", "wait" or "probe".
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { promises as fs } from 'node:fs';
import { startProcess } from '../../lib/exec.js';
import { SystemError } from '../../lib/errors.js';
import { readJsonIfExists } from '../../lib/fsutil.js';
import type { AttachStreams, ExitStatus, LogSettings } from './runtime.js';

export type { ExitStatus, LogSettings } from './runtime.js';

export const SHIM_BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../src/shim/berth-shim');

export interface ShimOptions {
  id: string;
  stateDir: string;
  bundle?: string;
  execProcess?: string;
  runtime: string;
  runtimeRoot: string;
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  /** The json-file log: rotated at maxSize bytes (0 = never), maxFile files kept, rotated files gzipped. */
  log?: LogSettings;
  waitAttach?: boolean;
  /** Make (and start) the container only when "start" arrives on attach.sock (startShim), by one
   *  `runc run --detach`; closing the sync pipe first (cancel) makes the shim leave. */
  startOnRequest?: boolean;
  /** The cgroup file whose oom_kill counter tells an OOM kill (read by the shim at exit). */
  oomFile?: string;
  /** The health probe the shim may run itself ("probe" on attach.sock; health.ts, probeSpecFile). */
  probeSpec?: string;
}

export interface StartedShim {
  shimPid: number;
  /** Resolves with the container (or exec) process pid once runc has created it. */
  pid: Promise<number>;
  /** Before the pid came: close the sync pipe (a shim waiting for "start" then leaves, making nothing). */
  cancel(): void;
}

function shimArgs(o: ShimOptions): string[] {
  const a = ['--id', o.id, '--state-dir', o.stateDir, '--runtime', o.runtime, '--runtime-root', o.runtimeRoot];
  if (o.bundle) a.push('--bundle', o.bundle);
  if (o.execProcess) a.push('--exec', o.execProcess);
  if (o.tty) a.push('--tty');
  if (o.stdin) a.push('--stdin');
  if (o.stdinOnce) a.push('--stdin-once');
  if (o.waitAttach) a.push('--wait-attach');
  if (o.startOnRequest) a.push('--start-on-request');
  if (o.oomFile) a.push('--oom-file', o.oomFile);
  if (o.probeSpec) a.push('--probe-spec', o.probeSpec);
  if (o.log) a.push('--log-path', o.log.path, '--log-max-size', String(o.log.maxSize), '--log-max-file', String(o.log.maxFile));
  if (o.log?.compress) a.push('--log-compress');
  return a;
}

/** Spawn a shim; resolves when its attach socket listens (so attaches can be connected before start). */
export async function spawnShim(o: ShimOptions): Promise<StartedShim> {
  await fs.mkdir(o.stateDir, { recursive: true });
  const child = startProcess(SHIM_BINARY, shimArgs(o), { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const sync = child.stdio[3] as Readable;
  const messages = readSyncMessages(sync);
  child.on('error', () => undefined);
  child.unref();
  const first = await messages.next();
  if (first.done || !('ready' in first.value)) {
    const msg = first.done ? 'berth-shim exited before it was ready' : String((first.value as { error?: string }).error);
    throw new SystemError(`starting container monitor: ${msg}`);
  }
  const pid = (async () => {
    const m = await messages.next();
    sync.destroy();
    if (m.done) throw new SystemError('berth-shim exited before the container was created');
    if ('error' in m.value) throw new SystemError(cleanRuntimeError(String(m.value.error)));
    return Number(m.value.pid);
  })();
  pid.catch(() => undefined);
  return { shimPid: child.pid!, pid, cancel: () => sync.destroy() };
}

/** Tell a shim started with startOnRequest to make and start its container now. */
export async function startShim(stateDir: string): Promise<void> {
  const sock = await connectShim(stateDir, 'start');
  sock.end();
}

/** runc prefixes its errors with plumbing; keep the part a user can act on. */
function cleanRuntimeError(msg: string): string {
  return msg.replace(/^.*?(exec: "[^"]*": .*)$/s, '$1').trim();
}

async function* readSyncMessages(stream: Readable): AsyncGenerator<Record<string, unknown>> {
  let buf = '';
  for await (const chunk of stream) {
    buf += String(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
}

/** The attach request's header line: "attach [stdin] [stdout] [stderr]". */
export function attachHeader(s: AttachStreams): string {
  return ['attach', s.stdin && 'stdin', s.stdout && 'stdout', s.stderr && 'stderr'].filter(Boolean).join(' ');
}

export function attachSocketPath(stateDir: string): string {
  return path.join(stateDir, 'attach.sock');
}

/** Open a connection to the shim's attach socket and send a header line. */
export function connectShim(stateDir: string, header: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(attachSocketPath(stateDir));
    // The shim may close at any moment (its process exited): a write error then must not crash berthd;
    // users of the socket see 'close'.
    sock.on('error', () => undefined);
    sock.once('connect', () => {
      sock.off('error', reject);
      // Resolved once the header is in the shim's socket: an attach connected before `runc start` must be
      // registered by the shim before the container's first output (a fast command's only output).
      sock.write(header + '\n', () => resolve(sock));
    });
    sock.once('error', reject);
  });
}

/** Resolve with the exit status once the process under the shim exits and the shim has released the
 *  container (the runtime's container deleted: its id may be used again); `onExit` hears the status as
 *  soon as the shim tells it, before that release. When the shim is already gone, the exit.json it left. */
export async function waitShim(stateDir: string, onExit?: (status: ExitStatus) => void): Promise<ExitStatus | undefined> {
  try {
    const sock = await connectShim(stateDir, 'wait');
    let text = '';
    let told = false;
    for await (const c of sock) {
      text += String(c);
      if (!told && onExit && text.includes('\n')) {
        told = true;
        onExit(JSON.parse(text.slice(0, text.indexOf('\n'))) as ExitStatus);
      }
    }
    text = text.trim();
    if (text) return JSON.parse(text) as ExitStatus;
  } catch {
    // shim gone: fall through to its record
  }
  return readExitFile(stateDir);
}

export function readExitFile(stateDir: string): Promise<ExitStatus | undefined> {
  return readJsonIfExists<ExitStatus>(path.join(stateDir, 'exit.json'));
}

export async function resizeShim(stateDir: string, rows: number, cols: number): Promise<void> {
  const sock = await connectShim(stateDir, `resize ${rows} ${cols}`);
  sock.resume();
  await new Promise((r) => sock.once('close', r));
}

/** Pid of the shim recorded in its state dir, if that process still exists. */
export async function liveShimPid(stateDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(path.join(stateDir, 'shim.pid'), 'utf8')).trim());
    if (!pid) return undefined;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('berth-shim') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The shim's answer to "probe": "exit N\n" then the output. Undefined when it cannot probe ("unsupported",
 *  an older shim, no shim); timedOut when closing the connection had to kill the probe. */
export async function probeShim(stateDir: string, timeoutMs: number, maxOutput: number): Promise<{ exitCode: number; output: string; timedOut: boolean } | undefined> {
  let sock: net.Socket;
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
  if (timedOut) return { exitCode: -1, output: '', timedOut };
  const reply = Buffer.concat(chunks);
  const nl = reply.indexOf(0x0a);
  const m = /^exit (-?\d+)$/.exec(reply.subarray(0, Math.max(nl, 0)).toString());
  if (!m) return undefined;
  return { exitCode: Number(m[1]), output: reply.subarray(nl + 1, nl + 1 + maxOutput).toString(), timedOut };
}
