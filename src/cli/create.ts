// The create flow of `run` and `create`: flags → Engine API create body (run-options.ts), the --cidfile
// check, POST /containers/create with its warnings, and docker's "Unable to find image … locally" pull
// and retry. Errors read as docker's reportError: "berth: <msg>." and the --help hint, exit 125.
import { existsSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ContainerCreateRequest, HostConfig } from '../api/types.js';
import { ApiError, StreamError } from '../client/errors.js';
import { StatusError, type Context } from './command.js';
import type { ParsedFlags } from './flags.js';
import { buildCreateRequest, OptionError, readOptionFile, type CreatePlan } from './run-options.js';
import { contentTrustOn } from './trust-env.js';

/** docker's reportError: "berth: <msg>." plus, for usage-type errors, the --help hint. */
export function runError(ctx: Context, message: string, withHelp: boolean, exitCode: number): StatusError {
  let text = `berth: ${message.replace(/\.$/, '')}.`;
  if (withHelp) text += `\nSee '${ctx.cmdPath} --help'.`;
  return new StatusError(text, exitCode);
}

/** "busybox" → "busybox:latest", as the message "Unable to find image 'busybox:latest' locally" shows it. */
export function withDefaultTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

/** The create flow, once: flags → body (with run's attach settings for `run`) → the created container. */
export async function createFromFlags(ctx: Context, f: ParsedFlags, o: { run: boolean }): Promise<{ id: string; body: ContainerCreateRequest }> {
  const p = planCreate(ctx, f);
  if (o.run) attachSettings(ctx, f, p.body);
  return { id: await createContainer(ctx, p, f.str('cidfile')), body: p.body };
}

/** Flags → the create body; a bad option is a usage error (exit 125 with the --help hint). */
function planCreate(ctx: Context, f: ParsedFlags): CreatePlan {
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

/** POST /containers/create; a missing image is pulled (per --pull) and the create tried again. */
async function createContainer(ctx: Context, p: CreatePlan, cidfile: string): Promise<string> {
  if (cidfile && existsSync(cidfile))
    throw runError(ctx, `Container ID file found, make sure the other container isn't running or delete ${cidfile}`, true, 125);
  // Content trust: a tag is verified in its registry and replaced by the digest verified (cli/trust.ts).
  const trusted = contentTrustOn(ctx.env) ? await (await import('./trust.js')).pinTrusted(ctx, p.body.Image ?? '').catch((e) => rethrowPull(ctx, e)) : undefined;
  if (trusted) p.body.Image = trusted.pinned;
  const image = p.body.Image ?? '';
  // Pull progress goes to stderr, so the container's output (or its ID) alone is on stdout.
  // Loaded only when a pull happens: `run` of a local image should not pay for the registry code.
  const pull = async () => {
    await (await import('./pull.js')).pullImage(ctx, image, { platform: p.platform || undefined, out: ctx.stderr as Writable & { isTTY?: boolean } });
    await trusted?.tagAfterPull();
  };
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

/** run: which streams are attached (none with -d), stdin closed after the attach, the initial TTY size. */
function attachSettings(ctx: Context, f: ParsedFlags, body: ContainerCreateRequest): void {
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
