// Moving stdio over a hijacked attach/exec connection: stdin (raw mode for a TTY, half-close at EOF so
// `echo hi | berth run -i busybox cat` ends), output demultiplexed unless the container has a TTY,
// terminal size sent at start and on SIGWINCH, and the terminal restored however we leave.
import type { HijackedStream } from '../client/hijack.js';
import { copyStream, demuxStream } from '../lib/stdcopy.js';
import type { Context } from './command.js';

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
