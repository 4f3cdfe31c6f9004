// Attaching: stdio over a hijacked connection and the container attach flow.
//
// The streams (an attach or an exec start): stdin (raw mode for a TTY, half-close at EOF so
// `echo hi | berth run -i busybox cat` ends), output demultiplexed unless there is a TTY, the terminal
// size sent at start and on SIGWINCH, and the terminal restored however we leave.
//
// The container attach of `run`, `start -a`, `attach` and `compose run`: the hijacked /attach and the
// /wait are both made BEFORE the start, so neither the first output nor a quick exit is missed; once the
// container runs, its terminal size follows ours, SIGINT/SIGTERM may be proxied to it, and the session
// ends with the container's exit status — or with a detach (the daemon saw the detach keys).
import type { ContainerInspect } from '../api/types.js';
import type { EngineClient } from '../client/engine.js';
import { ApiError } from '../client/errors.js';
import type { HijackedStream } from '../client/hijack.js';
import { copyStream, demuxStream } from '../lib/stdcopy.js';
import { StatusError, type Context } from './command.js';

export interface StreamOptions {
  tty: boolean;
  /** Forward our stdin to the container. */
  stdin: boolean;
}

let restoreTerminal: (() => void) | undefined;

/** Put the terminal in raw mode until the process leaves (normally or by a signal). */
export function setRawTerminal(ctx: Context): void {
  const stdin = ctx.stdin;
  if (!stdin.isTTY || !stdin.setRawMode || restoreTerminal) return;
  stdin.setRawMode(true);
  restoreTerminal = (): void => {
    stdin.setRawMode?.(false);
    restoreTerminal = undefined;
  };
  process.once('exit', () => restoreTerminal?.());
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      restoreTerminal?.();
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export function restoreRawTerminal(): void {
  restoreTerminal?.();
}

/** Send the terminal size now and whenever it changes; returns a function that stops watching. */
export function monitorTtySize(ctx: Context, resize: (h: number, w: number) => Promise<void>): () => void {
  const out = ctx.stdout;
  if (!out.isTTY) return () => undefined;
  const send = (): void => {
    if (out.rows && out.columns) resize(out.rows, out.columns).catch(() => undefined);
  };
  send();
  out.on('resize', send);
  return () => out.off('resize', send);
}

/** Pump stdin into the connection; at EOF half-close it so the container sees end of input. */
function pumpStdin(ctx: Context, conn: HijackedStream): void {
  const socket = conn.socket;
  ctx.stdin.on('data', (chunk: Buffer) => {
    if (!socket.destroyed && !socket.writableEnded) socket.write(chunk);
  });
  ctx.stdin.once('end', () => {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  });
}

/** Run the streams until the container's output ends. */
export async function streamHijacked(ctx: Context, conn: HijackedStream, opts: StreamOptions): Promise<void> {
  if (opts.stdin) {
    if (opts.tty) setRawTerminal(ctx);
    pumpStdin(ctx, conn);
  }
  try {
    if (opts.tty) await copyStream(conn.socket, ctx.stdout);
    else await demuxStream(conn.socket, ctx.stdout, ctx.stderr);
  } finally {
    restoreRawTerminal();
    if (opts.stdin) ctx.stdin.pause();
    conn.socket.destroy();
  }
}

/** The /wait answer. */
export interface WaitStatus {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface AttachFlow {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys?: string;
  /** The /wait condition ('removed' for --rm, 'next-exit'); `berth attach` sends none. */
  condition?: string;
  /** Start the container, once the attach and the wait are in place; `berth attach` has none. */
  start?: () => Promise<void>;
  /** After a failed start, the connection dropped: --rm's clean-up. */
  afterFailedStart?: (exit: Promise<WaitStatus>) => Promise<void>;
  /** Forward SIGINT/SIGTERM to the container (non-TTY with --sig-proxy). */
  proxySignals: boolean;
  /** The end of the streams may be a detach (default: when stdin is attached); `start -a` does not ask. */
  detachable?: boolean;
  /** A daemon error while following ends the command with this status (run: 125). */
  daemonErrorStatus?: number;
}

/** Attach, register the wait, start, follow the streams; the exit status, or undefined when the user detached. */
export async function attachAndStart(ctx: Context, client: EngineClient, id: string, o: AttachFlow): Promise<WaitStatus | undefined> {
  // The attach and the wait side by side (two connections); both are in place before the start.
  const query = o.condition ? { condition: o.condition } : undefined;
  const waiting = client.deferred<WaitStatus>({ method: 'POST', path: `/containers/${id}/wait`, query });
  waiting.catch(() => undefined); // awaited below, after the attach (whose failure is reported first)
  const conn =
    o.stdin || o.stdout || o.stderr
      ? await client.hijack(`/containers/${id}/attach`, { stream: true, stdin: o.stdin, stdout: o.stdout, stderr: o.stderr, detachKeys: o.detachKeys }, undefined)
      : undefined;
  const exit = (await waiting).result;
  const streaming = conn ? streamHijacked(ctx, conn, { tty: o.tty, stdin: o.stdin }) : undefined;
  // Awaited below; until then (or if the start fails) a broken stream is not an unhandled rejection.
  streaming?.catch(() => undefined);
  try {
    await o.start?.();
  } catch (err) {
    conn?.socket.destroy();
    await o.afterFailedStart?.(exit);
    throw err;
  }
  const stopResize = o.tty ? monitorTtySize(ctx, (h, w) => resizeContainer(client, id, h, w)) : undefined;
  const stopProxy = o.proxySignals ? proxySignals(client, id) : undefined;
  try {
    await streaming;
    if ((o.detachable ?? o.stdin) && (await detached(client, id, exit))) return undefined;
    return await exit;
  } catch (err) {
    if (o.daemonErrorStatus && err instanceof ApiError) throw new StatusError(`Error response from daemon: ${err.message}`, o.daemonErrorStatus);
    throw err;
  } finally {
    stopResize?.();
    stopProxy?.();
  }
}

async function resizeContainer(client: EngineClient, id: string, h: number, w: number): Promise<void> {
  await client.call({ method: 'POST', path: `/containers/${id}/resize`, query: { h, w } });
}

/** Forward SIGINT/SIGTERM to the container. */
function proxySignals(client: EngineClient, id: string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const h = (): void => {
      client.call({ method: 'POST', path: `/containers/${id}/kill`, query: { signal: sig } }).catch(() => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => handlers.forEach(([sig, h]) => process.off(sig, h));
}

/** The stream ends at the container's exit or when the daemon saw the detach keys. An exit shows in
 *  the wait result within moments; a container still running after that was detached from. */
async function detached(client: EngineClient, id: string, exit: Promise<unknown>): Promise<boolean> {
  const settled = await Promise.race([exit.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 300))]);
  if (settled) return false;
  const now = await client.json<ContainerInspect>({ path: `/containers/${id}/json` }).catch(() => undefined);
  return !!now?.State.Running;
}
