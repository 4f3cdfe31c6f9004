// `run` and `create`. create: flags → create body → POST /containers/create (the create flow, create.ts).
// run: the same create, then — unless -d — attach and register the wait (attach.ts) before the start so
// no output is lost, start, and follow the streams to the container's exit status, as the docker CLI does.
import type { ContainerCreateRequest, HostConfig } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/engine.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { CONTAINER_FLAGS, RUN_ONLY_FLAGS } from '../run-options.js';
import { createContainer, planCreate, runError } from '../create.js';
import { openAttach } from '../attach.js';

/** docker's runStartContainerErr: 127 command not found, 126 not executable, else 125. */
export function startErrorStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(m)) return 127;
  if (/permission denied/.test(m)) return 126;
  return 125;
}

async function create(ctx: Context, f: ParsedFlags): Promise<number> {
  const p = planCreate(ctx, f);
  const id = await createContainer(ctx, p, f.str('cidfile'));
  await writeOut(ctx.stdout, `${id}\n`);
  return 0;
}

function prepareRun(ctx: Context, f: ParsedFlags, body: ContainerCreateRequest): void {
  if (f.bool('detach')) {
    if (f.list('attach').length) throw runError(ctx, 'Conflicting options: -a and -d', true, 125);
    body.AttachStdin = body.AttachStdout = body.AttachStderr = false;
    body.StdinOnce = false;
    return;
  }
  if (body.AttachStdin && body.Tty && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  if (body.OpenStdin && body.AttachStdin) body.StdinOnce = true;
  // API >= 1.42 takes the initial size at create, so the first command already sees it (docker 23+ does this).
  const { rows, columns } = ctx.stdout;
  if (body.Tty && body.HostConfig && rows && columns)
    (body.HostConfig as HostConfig & { ConsoleSize?: [number, number] }).ConsoleSize = [rows, columns];
}

async function run(ctx: Context, f: ParsedFlags): Promise<number> {
  const p = planCreate(ctx, f);
  const body = p.body;
  prepareRun(ctx, f, body);
  const id = await createContainer(ctx, p, f.str('cidfile'));
  const client = ctx.client();
  if (f.bool('detach')) {
    await startOrFail(ctx, client, id);
    await writeOut(ctx.stdout, `${id}\n`);
    return 0;
  }
  const session = await openAttach(ctx, client, id, {
    stdin: !!body.AttachStdin,
    stdout: !!body.AttachStdout,
    stderr: !!body.AttachStderr,
    tty: !!body.Tty,
    detachKeys: f.str('detach-keys') || undefined,
    condition: body.HostConfig?.AutoRemove ? 'removed' : 'next-exit',
  });
  try {
    await startOrFail(ctx, client, id);
  } catch (err) {
    session.close();
    if (body.HostConfig?.AutoRemove) await session.exit.catch(() => undefined);
    throw err;
  }
  try {
    const status = await session.follow({ proxySignals: !body.Tty && f.bool('sig-proxy') });
    if (!status) return 0;
    if (status.Error?.Message) ctx.stderr.write(`${status.Error.Message}\n`);
    return status.StatusCode;
  } catch (err) {
    if (err instanceof ApiError) throw new StatusError(`Error response from daemon: ${err.message}`, 125);
    throw err;
  }
}

async function startOrFail(ctx: Context, client: EngineClient, id: string): Promise<void> {
  try {
    await client.call({ method: 'POST', path: `/containers/${id}/start` });
  } catch (err) {
    if (err instanceof ApiError) {
      const message = `Error response from daemon: ${err.message}`;
      throw runError(ctx, message, false, startErrorStatus(message));
    }
    throw err;
  }
}

export const commands: Record<string, CommandSpec> = {
  run: {
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create and run a new container from an image',
    aliases: ['berth container run', 'berth run'],
    flags: [...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS],
    stopAtFirstArg: true,
    args: { min: 1 },
    run,
  },
  create: {
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create a new container',
    aliases: ['berth container create', 'berth create'],
    flags: CONTAINER_FLAGS,
    stopAtFirstArg: true,
    args: { min: 1 },
    run: create,
  },
};
