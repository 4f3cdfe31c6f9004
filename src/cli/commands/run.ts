// `run` and `create`. create: flags → create body → POST /containers/create (the create flow, create.ts).
// run: the same create, then — unless -d — attach and register the wait (attach.ts) before the start so
// no output is lost, start, and follow the streams to the container's exit status, as the docker CLI does.
import { writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { CONTAINER_FLAGS, RUN_ONLY_FLAGS } from '../run-options.js';
import { createFromFlags } from '../create.js';
import { startOrFail } from '../start.js';
import { attachAndStart } from '../attach.js';

async function create(ctx: Context, f: ParsedFlags): Promise<number> {
  const { id } = await createFromFlags(ctx, f, { run: false });
  await writeOut(ctx.stdout, `${id}\n`);
  return 0;
}

async function run(ctx: Context, f: ParsedFlags): Promise<number> {
  const { id, body } = await createFromFlags(ctx, f, { run: true });
  const client = ctx.client();
  const start = (): Promise<void> => startOrFail(ctx, client, id);
  if (f.bool('detach')) {
    await start();
    await writeOut(ctx.stdout, `${id}\n`);
    return 0;
  }
  const autoRemove = !!body.HostConfig?.AutoRemove;
  const status = await attachAndStart(ctx, client, id, {
    stdin: !!body.AttachStdin,
    stdout: !!body.AttachStdout,
    stderr: !!body.AttachStderr,
    tty: !!body.Tty,
    detachKeys: f.str('detach-keys') || undefined,
    condition: autoRemove ? 'removed' : 'next-exit',
    start,
    // --rm: the daemon removes the container that failed to start; wait until it has.
    afterFailedStart: async (exit) => {
      if (autoRemove) await exit.catch(() => undefined);
    },
    proxySignals: !body.Tty && f.bool('sig-proxy'),
    daemonErrorStatus: 125,
  });
  if (!status) return 0; // detached
  if (status.Error?.Message) ctx.stderr.write(`${status.Error.Message}\n`);
  return status.StatusCode;
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
