// `run` and `create`: flags → create body (run-options.ts) → POST /containers/create; `run` then
// attaches (hijack before start, so no output is lost), registers the wait before start, starts,
// streams, and exits with the container's status, as the docker CLI does.
import { existsSync, writeFileSync } from 'node:fs';
import type { ContainerCreateRequest, HostConfig } from '../../api/types.js';
import { ApiError, StreamError } from '../../client/errors.js';
import type { Writable } from 'node:stream';
import type { EngineClient } from '../../client/engine.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { buildCreateRequest, CONTAINER_FLAGS, OptionError, readOptionFile, RUN_ONLY_FLAGS, type CreatePlan } from '../run-options.js';
import { monitorTtySize, streamHijacked } from '../attach-io.js';
import { detached } from './exec.js';

/** docker's reportError: "berth: <msg>." plus, for usage-type errors, the --help hint. */
function runError(ctx: Context, message: string, withHelp: boolean, exitCode: number): StatusError {
  let text = `berth: ${message.replace(/\.$/, '')}.`;
  if (withHelp) text += `\nSee '${ctx.cmdPath} --help'.`;
  return new StatusError(text, exitCode);
}

/** docker's runStartContainerErr: 127 command not found, 126 not executable, else 125. */
export function startErrorStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(m)) return 127;
  if (/permission denied/.test(m)) return 126;
  return 125;
}

/** "busybox" → "busybox:latest", as the message "Unable to find image 'busybox:latest' locally" shows it. */
export function withDefaultTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

function plan(ctx: Context, f: ParsedFlags): CreatePlan {
  try {
    return buildCreateRequest(f, {
      readFile: readOptionFile,
      getenv: (k) => ctx.env[k],
    });
  } catch (err) {
    if (err instanceof OptionError) throw runError(ctx, err.message, true, 125);
    throw err;
  }
}

async function createContainer(ctx: Context, p: CreatePlan, cidfile: string): Promise<string> {
  if (cidfile && existsSync(cidfile))
    throw runError(ctx, `Container ID file found, make sure the other container isn't running or delete ${cidfile}`, true, 125);
  const image = p.body.Image ?? '';
  // Pull progress goes to stderr, so the container's output (or its ID) alone is on stdout.
  // Loaded only when a pull happens: `run` of a local image should not pay for the registry code.
  const pull = async () => (await import('./distribution.js')).pullImage(ctx, image, { platform: p.platform || undefined, out: ctx.stderr as Writable & { isTTY?: boolean } });
  if (p.pull === 'always') await pull().catch((e) => rethrowPull(ctx, e));
  try {
    return await sendCreate(ctx, p, cidfile);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && /no such image/i.test(err.message)) || p.pull === 'never') throw apiRunError(ctx, err);
    ctx.stderr.write(`Unable to find image '${withDefaultTag(image)}' locally\n`);
    await pull().catch((e) => rethrowPull(ctx, e));
    return sendCreate(ctx, p, cidfile).catch((e) => {
      throw apiRunError(ctx, e);
    });
  }
}

function rethrowPull(ctx: Context, e: unknown): never {
  if (e instanceof ApiError || e instanceof StreamError) throw runError(ctx, `Error response from daemon: ${e.message}`, true, 125);
  throw e;
}

function apiRunError(ctx: Context, err: unknown): unknown {
  return err instanceof ApiError ? runError(ctx, `Error response from daemon: ${err.message}`, true, 125) : err;
}

async function sendCreate(ctx: Context, p: CreatePlan, cidfile: string): Promise<string> {
  const res = await ctx.client().json<{ Id: string; Warnings?: string[] | null }>({
    method: 'POST',
    path: '/containers/create',
    query: { name: p.name || undefined, platform: p.platform || undefined },
    body: p.body,
  });
  for (const w of res.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  if (cidfile) writeFileSync(cidfile, res.Id);
  return res.Id;
}

async function create(ctx: Context, f: ParsedFlags): Promise<number> {
  const p = plan(ctx, f);
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

/** Forward SIGINT/SIGTERM to the container (non-TTY runs with --sig-proxy). */
export function proxySignals(client: EngineClient, id: string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const h = (): void => {
      client.call({ method: 'POST', path: `/containers/${id}/kill`, query: { signal: sig } }).catch(() => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => handlers.forEach(([sig, h]) => process.off(sig, h));
}

async function run(ctx: Context, f: ParsedFlags): Promise<number> {
  const p = plan(ctx, f);
  const body = p.body;
  prepareRun(ctx, f, body);
  const id = await createContainer(ctx, p, f.str('cidfile'));
  const client = ctx.client();
  if (f.bool('detach')) {
    await startOrFail(ctx, client, id);
    await writeOut(ctx.stdout, `${id}\n`);
    return 0;
  }
  const attached = body.AttachStdin || body.AttachStdout || body.AttachStderr;
  const conn = attached
    ? await client.hijack(
        `/containers/${id}/attach`,
        {
          stream: true,
          stdin: body.AttachStdin,
          stdout: body.AttachStdout,
          stderr: body.AttachStderr,
          detachKeys: f.str('detach-keys') || undefined,
        },
        undefined,
      )
    : undefined;
  const condition = body.HostConfig?.AutoRemove ? 'removed' : 'next-exit';
  const wait = await client.deferred<{ StatusCode: number; Error?: { Message?: string } | null }>({
    method: 'POST',
    path: `/containers/${id}/wait`,
    query: { condition },
  });
  const streaming = conn ? streamHijacked(ctx, conn, { tty: !!body.Tty, stdin: !!body.AttachStdin }) : undefined;
  streaming?.catch(() => undefined);
  try {
    await startOrFail(ctx, client, id);
  } catch (err) {
    conn?.socket.destroy();
    if (body.HostConfig?.AutoRemove) await wait.result.catch(() => undefined);
    throw err;
  }
  const stopResize = body.Tty ? monitorTtySize(ctx, (h, w) => resize(client, `/containers/${id}/resize`, h, w)) : undefined;
  const stopProxy = !body.Tty && f.bool('sig-proxy') ? proxySignals(client, id) : undefined;
  try {
    await streaming;
    if (body.AttachStdin && (await detached(client, id, wait.result))) return 0;
    const status = await wait.result;
    if (status.Error?.Message) ctx.stderr.write(`${status.Error.Message}\n`);
    return status.StatusCode;
  } catch (err) {
    if (err instanceof ApiError) throw new StatusError(`Error response from daemon: ${err.message}`, 125);
    throw err;
  } finally {
    stopResize?.();
    stopProxy?.();
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

export async function resize(client: EngineClient, path: string, h: number, w: number): Promise<void> {
  await client.call({ method: 'POST', path, query: { h, w } });
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
