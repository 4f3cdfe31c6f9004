// `berth compose exec [OPTIONS] SERVICE COMMAND [ARGS...]`: a command in the service's running
// container (the lowest-numbered, or --index), with a TTY by default when our output is a terminal;
// the command's exit code is ours.
import type { ExecConfig } from '../../api/types.js';
import { serviceContainer } from '../../compose/ps.js';
import type { ParsedFlags } from '../flags.js';
import { runExecSession } from '../exec-session.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { toProjectName } from './target.js';

/** `-e KEY=VALUE` as given; `-e KEY` takes KEY from our environment, and is dropped when unset. */
export function resolveEnv(entries: string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.includes('=')) out.push(e);
    else if (env[e] !== undefined) out.push(`${e}=${env[e]}`);
  }
  return out;
}

/** Where `-e KEY` finds KEY: the project's environment (the shell's, then .env) when there is a file. */
async function lookupEnv(ctx: ComposeContext, entries: string[]): Promise<NodeJS.ProcessEnv> {
  if (entries.every((e) => e.includes('='))) return ctx.env;
  const project = await ctx.project().catch(() => undefined);
  return project ? { ...ctx.env, ...project.environment } : ctx.env;
}

async function exec(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const [service = '', ...command] = f.args;
  const name = await toProjectName(ctx);
  const target = await serviceContainer(ctx.backend(), name, service, { index: f.num('index') });
  const detach = f.bool('detach');
  // -T given, or (Compose's default) no terminal on our output.
  const tty = f.has('no-tty') ? !f.bool('no-tty') : !!ctx.stdout.isTTY;
  const interactive = f.bool('interactive');
  const env = resolveEnv(f.list('env'), await lookupEnv(ctx, f.list('env')));
  const cfg: ExecConfig = {
    User: f.str('user') || undefined,
    Privileged: f.bool('privileged'),
    Tty: tty,
    AttachStdin: !detach && interactive,
    AttachStdout: !detach,
    AttachStderr: !detach,
    Env: env.length ? env : undefined,
    WorkingDir: f.str('workdir') || undefined,
    Cmd: command,
  };
  return runExecSession(ctx, target.Id, cfg, detach);
}

export const commands: Record<string, ComposeCommand> = {
  exec: {
    usage: '[OPTIONS] SERVICE COMMAND [ARGS...]',
    description: 'Execute a command in a running container',
    flags: [
      { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run command in the background' },
      { name: 'env', short: 'e', type: 'stringArray', valueName: 'stringArray', description: 'Set environment variables' },
      { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
      { name: 'no-tty', short: 'T', type: 'bool', description: "Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY." },
      { name: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
      { name: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
      { name: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
      { name: 'interactive', short: 'i', type: 'bool', default: true, hidden: true, description: 'Keep STDIN open even if not attached' },
      { name: 'tty', short: 't', type: 'bool', default: true, hidden: true, description: 'Allocate a pseudo-TTY' },
    ],
    stopAtFirstArg: true,
    args: { min: 2 },
    run: exec,
  },
};
