// One exec session in a running container: create the exec, start it over a hijacked connection (or
// detached), stream stdio with the terminal size kept in sync, and answer the command's exit code.
// Shared by `berth exec` and `berth compose exec`.
import type { ExecConfig } from '../api/types.js';
import { StatusError, type Context } from './command.js';
import { monitorTtySize, streamHijacked } from './attach.js';

export async function runExecSession(ctx: Context, container: string, cfg: ExecConfig, detach: boolean): Promise<number> {
  if (cfg.AttachStdin && cfg.Tty && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  // The initial size goes with the create (API >= 1.42, as docker 23+ sends it): a resize after the start
  // would race with the command's first look at its terminal.
  const { rows, columns } = ctx.stdout;
  if (cfg.Tty && !detach && rows && columns) cfg.ConsoleSize = [rows, columns];
  const client = ctx.client();
  const { Id: execId } = await client.json<{ Id: string }>({ method: 'POST', path: `/containers/${encodeURIComponent(container)}/exec`, body: cfg });
  if (detach) {
    await client.call({ method: 'POST', path: `/exec/${execId}/start`, body: { Detach: true, Tty: !!cfg.Tty } });
    return 0;
  }
  const conn = await client.hijack(`/exec/${execId}/start`, undefined, { Detach: false, Tty: !!cfg.Tty });
  const stop = cfg.Tty
    ? monitorTtySize(ctx, (h, w) => client.call({ method: 'POST', path: `/exec/${execId}/resize`, query: { h, w } }).then(() => undefined))
    : undefined;
  try {
    await streamHijacked(ctx, conn, { tty: !!cfg.Tty, stdin: !!cfg.AttachStdin });
  } finally {
    stop?.();
  }
  const inspect = await client.json<{ ExitCode: number | null; Running: boolean }>({ path: `/exec/${execId}/json` });
  return inspect.ExitCode ?? 0;
}
