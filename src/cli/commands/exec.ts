// `exec` (exec-session.ts) and `attach` (attach.ts): hijacked connections to a running container.
import { readFileSync } from 'node:fs';
import type { ContainerInspect, ExecConfig } from '../../api/types.js';
import { StatusError, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { expandEnv, readOptionFile } from '../run-options.js';
import { attachAndStart } from '../attach.js';
import { runExecSession } from '../exec-session.js';

function execEnv(ctx: Context, f: ParsedFlags): string[] | undefined {
  const mapping = { readFile: (p: string) => readFileSync(p, 'utf8'), getenv: (k: string) => ctx.env[k] };
  const out: string[] = [];
  for (const file of f.list('env-file')) {
    let text: string;
    try {
      text = readOptionFile(file);
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    }
    for (const line of text.split(/\r?\n/)) {
      const l = line.trimStart();
      if (!l || l.startsWith('#')) continue;
      if (l.includes('=')) out.push(l);
      else if (ctx.env[l] !== undefined) out.push(`${l}=${ctx.env[l]}`);
    }
  }
  for (const e of f.list('env')) out.push(expandEnv(e, mapping));
  return out.length ? out : undefined;
}

export function execConfig(f: ParsedFlags, env: string[] | undefined): ExecConfig {
  const [, ...cmd] = f.args;
  const detach = f.bool('detach');
  const cfg: ExecConfig = {
    User: f.str('user'),
    Privileged: f.bool('privileged'),
    Tty: f.bool('tty'),
    AttachStdin: !detach && f.bool('interactive'),
    AttachStdout: !detach,
    AttachStderr: !detach,
    Env: env,
    WorkingDir: f.str('workdir'),
    Cmd: cmd,
  };
  if (f.str('detach-keys')) cfg.DetachKeys = f.str('detach-keys');
  return cfg;
}

async function exec(ctx: Context, f: ParsedFlags): Promise<number> {
  return runExecSession(ctx, f.args[0] ?? '', execConfig(f, execEnv(ctx, f)), f.bool('detach'));
}

async function attach(ctx: Context, f: ParsedFlags): Promise<number> {
  const client = ctx.client();
  const c = await client.json<ContainerInspect>({ path: `/containers/${encodeURIComponent(f.args[0] ?? '')}/json` });
  if (!c.State.Running) throw new StatusError('You cannot attach to a stopped container, start it first', 1);
  if (c.State.Paused) throw new StatusError('You cannot attach to a paused container, unpause it first', 1);
  const withStdin = !f.bool('no-stdin') && !!c.Config.OpenStdin;
  if (withStdin && c.Config.Tty && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  const status = await attachAndStart(ctx, client, c.Id, {
    stdin: withStdin,
    stdout: true,
    stderr: true,
    tty: !!c.Config.Tty,
    detachKeys: f.str('detach-keys') || undefined,
    proxySignals: !c.Config.Tty && f.bool('sig-proxy'),
  });
  return status ? status.StatusCode : 0;
}

export const commands: Record<string, CommandSpec> = {
  exec: {
    usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    description: 'Execute a command in a running container',
    flags: [
      { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
      { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
      { name: 'env', short: 'e', type: 'stringArray', description: 'Set environment variables' },
      { name: 'env-file', type: 'stringArray', description: 'Read in a file of environment variables' },
      { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
      { name: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
      { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
      { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
      { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    ],
    stopAtFirstArg: true,
    args: { min: 2 },
    run: exec,
  },
  attach: {
    usage: '[OPTIONS] CONTAINER',
    description: 'Attach local standard input, output, and error streams to a running container',
    flags: [
      { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
      { name: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
      { name: 'sig-proxy', type: 'bool', default: true, description: 'Proxy all received signals to the process' },
    ],
    args: { min: 1, max: 1 },
    run: attach,
  },
};

