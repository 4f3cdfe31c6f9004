// Container lifecycle verbs: start, stop, kill, restart, rm, wait, rename, pause, unpause, top, port.
import type { ContainerInspect } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { attachAndStart } from '../attach.js';
import { tabwrite } from '../format/table.js';
import { eachContainer } from '../each-container.js';

const enc = encodeURIComponent;

async function startAttached(ctx: Context, f: ParsedFlags, name: string): Promise<number> {
  const client = ctx.client();
  const c = await client.json<ContainerInspect>({ path: `/containers/${enc(name)}/json` });
  const status = await attachAndStart(ctx, client, c.Id, {
    stdin: f.bool('interactive') && !!c.Config.OpenStdin,
    stdout: true,
    stderr: true,
    tty: !!c.Config.Tty,
    detachKeys: f.str('detach-keys') || undefined,
    condition: c.HostConfig.AutoRemove ? 'removed' : 'next-exit',
    start: () => client.call({ method: 'POST', path: `/containers/${c.Id}/start` }).then(() => undefined),
    proxySignals: false,
    detachable: false,
  });
  return status!.StatusCode;
}

async function start(ctx: Context, f: ParsedFlags): Promise<number> {
  if (f.bool('attach') || f.bool('interactive')) {
    if (f.args.length > 1) throw new StatusError('you cannot start and attach multiple containers at once', 1);
    return startAttached(ctx, f, f.args[0] ?? '');
  }
  const failed: string[] = [];
  for (const name of f.args) {
    try {
      await ctx.client().call({ method: 'POST', path: `/containers/${enc(name)}/start` });
      await writeOut(ctx.stdout, `${name}\n`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
      failed.push(name);
    }
  }
  if (failed.length) throw new StatusError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
  return 0;
}

function stopQuery(f: ParsedFlags): Record<string, string | number | undefined> {
  return { t: f.has('time') ? f.num('time') : undefined, signal: f.str('signal') || undefined };
}

const stop = (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    await ctx.client().call({ method: 'POST', path: `/containers/${enc(n)}/stop`, query: stopQuery(f) });
  });

const restart = (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    await ctx.client().call({ method: 'POST', path: `/containers/${enc(n)}/restart`, query: stopQuery(f) });
  });

const kill = (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    await ctx.client().call({ method: 'POST', path: `/containers/${enc(n)}/kill`, query: { signal: f.str('signal') || undefined } });
  });

const rm = (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    const name = n.replace(/^\/+|\/+$/g, '');
    if (!name) throw new StatusError('Container name cannot be empty', 1);
    await ctx.client().call({
      method: 'DELETE',
      path: `/containers/${enc(name)}`,
      query: { v: f.bool('volumes') || undefined, force: f.bool('force') || undefined, link: f.bool('link') || undefined },
    });
  });

const simple = (action: string) => (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    await ctx.client().call({ method: 'POST', path: `/containers/${enc(n)}/${action}` });
  });

const wait = (ctx: Context, f: ParsedFlags): Promise<number> =>
  eachContainer(ctx, f.args, async (n) => {
    const res = await ctx.client().json<{ StatusCode: number }>({ method: 'POST', path: `/containers/${enc(n)}/wait` });
    return String(res.StatusCode);
  });

async function rename(ctx: Context, f: ParsedFlags): Promise<number> {
  const [oldName = '', newName = ''] = f.args.map((a) => a.trim());
  if (!oldName || !newName) throw new StatusError('Error: Neither old nor new names may be empty', 1);
  try {
    await ctx.client().call({ method: 'POST', path: `/containers/${enc(oldName)}/rename`, query: { name: newName } });
  } catch (err) {
    if (err instanceof ApiError) throw new StatusError(`Error response from daemon: ${err.message}\nError: failed to rename container named ${oldName}`, 1);
    throw err;
  }
  return 0;
}

async function top(ctx: Context, f: ParsedFlags): Promise<number> {
  const [name = '', ...psArgs] = f.args;
  const res = await ctx.client().json<{ Titles: string[]; Processes: string[][] }>({
    path: `/containers/${enc(name)}/top`,
    query: { ps_args: psArgs.length ? psArgs.join(' ') : undefined },
  });
  const lines = [res.Titles, ...res.Processes].map((r) => r.join('\t'));
  await writeOut(ctx.stdout, tabwrite(lines.join('\n') + '\n', 20, 3));
  return 0;
}

async function port(ctx: Context, f: ParsedFlags): Promise<number> {
  const [name = '', wanted] = f.args;
  const c = await ctx.client().json<ContainerInspect>({ path: `/containers/${enc(name)}/json` });
  const ports = c.NetworkSettings?.Ports ?? {};
  const show = (b: { HostIp?: string; HostPort?: string }): string => {
    const ip = b.HostIp ?? '';
    return `${ip.includes(':') ? `[${ip}]` : ip}:${b.HostPort ?? ''}`;
  };
  if (wanted) {
    const key = wanted.includes('/') ? wanted : `${wanted}/tcp`;
    const bindings = ports[key];
    if (!bindings?.length) throw new StatusError(`Error: No public port '${key}' published for ${name}`, 1);
    await writeOut(ctx.stdout, bindings.map((b) => show(b) + '\n').join(''));
    return 0;
  }
  const lines: string[] = [];
  for (const [key, bindings] of Object.entries(ports)) for (const b of bindings ?? []) lines.push(`${key} -> ${show(b)}`);
  await writeOut(ctx.stdout, lines.map((l) => l + '\n').join(''));
  return 0;
}

const TIME_FLAG: FlagSpec = { name: 'time', short: 't', type: 'int', default: 10, description: 'Seconds to wait before killing the container' };
const SIGNAL_FLAG: FlagSpec = { name: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' };
const ONE_OR_MORE = { min: 1 };

export const commands: Record<string, CommandSpec> = {
  start: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Start one or more stopped containers',
    flags: [
      { name: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
      { name: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
      { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
    ],
    args: ONE_OR_MORE,
    run: start,
  },
  stop: { usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Stop one or more running containers', flags: [TIME_FLAG, SIGNAL_FLAG], args: ONE_OR_MORE, run: stop },
  restart: { usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Restart one or more containers', flags: [TIME_FLAG, SIGNAL_FLAG], args: ONE_OR_MORE, run: restart },
  kill: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Kill one or more running containers',
    flags: [{ ...SIGNAL_FLAG, default: 'KILL' }],
    args: ONE_OR_MORE,
    run: kill,
  },
  rm: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Remove one or more containers',
    aliases: ['berth container rm', 'berth container remove', 'berth rm'],
    flags: [
      { name: 'force', short: 'f', type: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
      { name: 'link', short: 'l', type: 'bool', description: 'Remove the specified link' },
      { name: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
    ],
    args: ONE_OR_MORE,
    run: rm,
  },
  wait: { usage: 'CONTAINER [CONTAINER...]', description: 'Block until one or more containers stop, then print their exit codes', flags: [], args: ONE_OR_MORE, run: wait },
  rename: { usage: 'CONTAINER NEW_NAME', description: 'Rename a container', flags: [], args: { min: 2, max: 2 }, run: rename },
  pause: { usage: 'CONTAINER [CONTAINER...]', description: 'Pause all processes within one or more containers', flags: [], args: ONE_OR_MORE, run: simple('pause') },
  unpause: { usage: 'CONTAINER [CONTAINER...]', description: 'Unpause all processes within one or more containers', flags: [], args: ONE_OR_MORE, run: simple('unpause') },
  top: { usage: 'CONTAINER [ps OPTIONS]', description: 'Display the running processes of a container', flags: [], args: { min: 1 }, stopAtFirstArg: true, run: top },
  port: { usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', description: 'List port mappings or a specific mapping for the container', flags: [], args: { min: 1, max: 2 }, run: port },
};
