// `berth compose start|stop|restart|kill|rm|pause|unpause [SERVICE...]`: Docker Compose v2's flags,
// output and messages over src/compose/lifecycle.ts. All of them work from the compose file or, given
// only `-p NAME`, from the engine's labels.
import { writeOut } from '../command.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { readLine } from '../prompt.js';
import { parallelLimit } from '../../compose/graph.js';
import * as L from '../../compose/lifecycle.js';
import { invalidProjectName, normalizeProjectName } from '../../compose/loader/name.js';
import { containerName } from '../../compose/backend.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import type { ProgressWriter } from './progress.js';
import { progressFor, warner } from './options.js';

/**
 * What the command works on, as Compose's projectOrName: with -f, or without -p, the project from the
 * files (if they cannot be read but COMPOSE_PROJECT_NAME is set, that project by its labels); with
 * only -p, the project by its labels (the file in the directory, if any, is not read).
 */
export async function composeTarget(ctx: ComposeContext): Promise<L.Target> {
  const { files, projectName } = ctx.options;
  if (files.length || !projectName) {
    try {
      const project = await ctx.project();
      return { name: project.name, project };
    } catch (err) {
      const fromEnv = ctx.env.COMPOSE_PROJECT_NAME;
      if (!fromEnv) throw err;
      return { name: checkedName(fromEnv) };
    }
  }
  return { name: checkedName(projectName) };
}

/** As Compose's down: the name lower-cased ("MyApp" is "myapp"); one that is still not a project name is refused. */
function checkedName(given: string): string {
  const name = given.toLowerCase();
  if (!name || normalizeProjectName(name) !== name) throw invalidProjectName(given);
  return name;
}

/** -t/--timeout: undefined unless given (each container's own stop timeout then applies). */
export function timeoutFlag(flags: ParsedFlags): number | undefined {
  return flags.has('timeout') ? flags.num('timeout') : undefined;
}

export function limitOf(ctx: ComposeContext): number {
  return parallelLimit(ctx.options.parallel, ctx.env);
}

/** Runs `fn` with Compose's progress display on stderr, closed however `fn` ends. */
export async function withProgress<T>(ctx: ComposeContext, title: string, fn: (p: ProgressWriter) => Promise<T>): Promise<T> {
  const progress = progressFor(ctx, title);
  try {
    return await fn(progress);
  } finally {
    progress.done();
  }
}

const TIMEOUT: FlagSpec = { name: 'timeout', short: 't', type: 'int', default: 0, description: 'Specify a shutdown timeout in seconds' };

const common = (ctx: ComposeContext, flags: ParsedFlags): L.CommonOptions => ({ services: flags.args, dryRun: ctx.options.dryRun, limit: limitOf(ctx) });

export const commands: Record<string, ComposeCommand> = {
  start: {
    usage: '[SERVICE...]',
    description: 'Start services',
    flags: [],
    run: async (ctx, flags) => {
      const target = await composeTarget(ctx);
      await withProgress(ctx, 'Running', (p) => L.start(ctx.backend(), target, { ...common(ctx, flags), warn: warner(ctx, p) }, p));
      return 0;
    },
  },
  stop: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Stop services',
    flags: [TIMEOUT],
    run: async (ctx, flags) => {
      const target = await composeTarget(ctx);
      await withProgress(ctx, 'Stopping', (p) => L.stop(ctx.backend(), target, { ...common(ctx, flags), timeout: timeoutFlag(flags) }, p));
      return 0;
    },
  },
  restart: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Restart service containers',
    flags: [TIMEOUT, { name: 'no-deps', type: 'bool', description: "Don't restart dependent services" }],
    run: async (ctx, flags) => {
      const opts = { ...common(ctx, flags), timeout: timeoutFlag(flags), noDeps: flags.bool('no-deps') };
      const target = await composeTarget(ctx);
      await withProgress(ctx, 'Restarting', (p) => L.restart(ctx.backend(), target, opts, p));
      return 0;
    },
  },
  kill: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Force stop service containers',
    flags: [
      { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      { name: 'signal', short: 's', type: 'string', default: 'SIGKILL', description: 'SIGNAL to send to the container' },
    ],
    run: async (ctx, flags) => {
      const opts = { ...common(ctx, flags), signal: flags.str('signal') || 'SIGKILL', removeOrphans: removeOrphans(ctx, flags) };
      const target = await composeTarget(ctx);
      if (!(await withProgress(ctx, 'Killing', (p) => L.kill(ctx.backend(), target, opts, p)))) ctx.stderr.write('no container to kill\n');
      return 0;
    },
  },
  rm: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Removes stopped service containers\n\nBy default, anonymous volumes attached to containers will not be removed. You\ncan override this with -v. To list all volumes, use "berth volume ls".\n\nAny data which is not in a volume will be lost.',
    flags: [
      { name: 'force', short: 'f', type: 'bool', description: "Don't ask to confirm removal" },
      { name: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
      { name: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
      { name: 'all', short: 'a', type: 'bool', hidden: true, description: 'Deprecated - no effect' },
    ],
    run: rm,
  },
  pause: {
    usage: '[SERVICE...]',
    description: 'Pause services',
    flags: [],
    run: async (ctx, flags) => {
      const target = await composeTarget(ctx);
      await withProgress(ctx, 'Pausing', (p) => L.pause(ctx.backend(), target, { ...common(ctx, flags), unpause: false }, p));
      return 0;
    },
  },
  unpause: {
    usage: '[SERVICE...]',
    description: 'Unpause services',
    flags: [],
    run: async (ctx, flags) => {
      const target = await composeTarget(ctx);
      await withProgress(ctx, 'Running', (p) => L.pause(ctx.backend(), target, { ...common(ctx, flags), unpause: true }, p));
      return 0;
    },
  },
};

/** --remove-orphans, defaulting to COMPOSE_REMOVE_ORPHANS as in Compose. */
export function removeOrphans(ctx: ComposeContext, flags: ParsedFlags): boolean {
  if (flags.has('remove-orphans')) return flags.bool('remove-orphans');
  return ['1', 'true', 't', 'TRUE', 'True'].includes(ctx.env.COMPOSE_REMOVE_ORPHANS ?? '');
}

async function rm(ctx: ComposeContext, flags: ParsedFlags): Promise<number> {
  const backend = ctx.backend();
  const target = await composeTarget(ctx);
  const stopFirst = flags.bool('stop');
  if (stopFirst) await withProgress(ctx, 'Stopping', (p) => L.stop(backend, target, { ...common(ctx, flags), timeout: undefined }, p));
  const containers = await L.stoppedContainers(backend, target, { ...common(ctx, flags), stopFirst });
  if (!containers.length) {
    ctx.stderr.write('No stopped containers\n');
    return 0;
  }
  const message = `Going to remove ${containers.map(containerName).join(', ')}`;
  if (flags.bool('force')) {
    await writeOut(ctx.stdout, `${message}\n`);
  } else {
    // Compose asks "? msg (y/N)" on a terminal, prints the bare message to a pipe; y or a Go true is yes.
    const answer = await readLine(ctx, ctx.stdin.isTTY ? `? ${message} (y/N) ` : message);
    if (!ctx.stdin.isTTY) await writeOut(ctx.stdout, '\n');
    if (!/^(y|1|t|true)$/i.test(answer)) return 0;
  }
  const opts = { volumes: flags.bool('volumes'), force: flags.bool('force'), dryRun: ctx.options.dryRun };
  await withProgress(ctx, 'Removing', (p) => L.removeContainers(backend, containers, opts, p));
  return 0;
}
