// `berth compose [OPTIONS] COMMAND`: the compose global flags, then a subcommand from a static table
// whose module is imported lazily, as the main CLI does. One file per command, as docker/compose v2's
// cmd/compose keeps them, over the shared project model in src/compose/.
import { checkArgs, StatusError, type CommandSpec, type Context } from '../command.js';
import { FlagError, formatFlagHelp, parseFlags, type ParsedFlags } from '../flags.js';
import { ComposeError } from '../../compose/types.js';
import { composeOptions, GLOBAL_COMPOSE_FLAGS, makeComposeContext, type ComposeCommand } from './context.js';

type Group = Record<string, ComposeCommand>;
type Loader = () => Promise<Group>;

const COMMANDS: Record<string, [Loader, string]> = {
  build: [() => import('./build.js').then((m) => m.commands), 'Build or rebuild services'],
  config: [() => import('./config.js').then((m) => m.commands), 'Parse, resolve and render compose file in canonical format'],
  cp: [() => import('./cp.js').then((m) => m.commands), 'Copy files/folders between a service container and the local filesystem'],
  create: [() => import('./create.js').then((m) => m.commands), 'Creates containers for a service'],
  down: [() => import('./down.js').then((m) => m.commands), 'Stop and remove containers, networks'],
  events: [() => import('./events.js').then((m) => m.commands), 'Receive real time events from containers'],
  exec: [() => import('./exec.js').then((m) => m.commands), 'Execute a command in a running container'],
  images: [() => import('./images.js').then((m) => m.commands), 'List images used by the created containers'],
  kill: [() => import('./lifecycle.js').then((m) => m.commands), 'Force stop service containers'],
  logs: [() => import('./logs.js').then((m) => m.commands), 'View output from containers'],
  ls: [() => import('./ls.js').then((m) => m.commands), 'List running compose projects'],
  pause: [() => import('./lifecycle.js').then((m) => m.commands), 'Pause services'],
  port: [() => import('./port.js').then((m) => m.commands), 'Print the public port for a port binding'],
  ps: [() => import('./ps.js').then((m) => m.commands), 'List containers'],
  pull: [() => import('./pull.js').then((m) => m.commands), 'Pull service images'],
  push: [() => import('./push.js').then((m) => m.commands), 'Push service images'],
  restart: [() => import('./lifecycle.js').then((m) => m.commands), 'Restart service containers'],
  rm: [() => import('./lifecycle.js').then((m) => m.commands), 'Removes stopped service containers'],
  run: [() => import('./run.js').then((m) => m.commands), 'Run a one-off command on a service'],
  scale: [() => import('./scale.js').then((m) => m.commands), 'Scale services '],
  start: [() => import('./lifecycle.js').then((m) => m.commands), 'Start services'],
  stop: [() => import('./lifecycle.js').then((m) => m.commands), 'Stop services'],
  top: [() => import('./top.js').then((m) => m.commands), 'Display the running processes'],
  unpause: [() => import('./lifecycle.js').then((m) => m.commands), 'Unpause services'],
  up: [() => import('./up.js').then((m) => m.commands), 'Create and start containers'],
  version: [() => import('./version.js').then((m) => m.commands), 'Show the Docker Compose version information'],
  wait: [() => import('./wait.js').then((m) => m.commands), 'Block until containers of all (or specified) services stop.'],
  watch: [() => import('./watch.js').then((m) => m.commands), 'Watch build context for service and rebuild/refresh containers when files are updated'],
};

const usage = (): string => `
Usage:  berth compose [OPTIONS] COMMAND

Define and run multi-container applications with berth

Options:
${formatFlagHelp(GLOBAL_COMPOSE_FLAGS)}

Commands:
${Object.entries(COMMANDS).map(([name, [, desc]]) => `  ${name.padEnd(11)} ${desc}`).join('\n')}

Run 'berth compose COMMAND --help' for more information on a command.
`;

async function compose(ctx: Context, global: ParsedFlags): Promise<number> {
  const [name = '', ...argv] = global.args;
  if (!name) {
    await write(ctx, usage());
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    ctx.stderr.write(`unknown docker command: "compose ${name}"\nSee 'berth compose --help'\n`);
    return 1;
  }
  const spec = (await entry[0]())[name];
  if (!spec) {
    ctx.stderr.write(`berth compose ${name} is not supported yet\n`);
    return 1;
  }
  const path = `berth compose ${name}`;
  // The global flags are persistent as in Compose's cobra tree: `compose up --dry-run` = `compose --dry-run up`.
  // A command's own flag wins where a name or shorthand is shared (`run -p` publishes, `logs -f` follows).
  const own = new Set(spec.flags.flatMap((f) => [f.name, ...(f.short ? [`-${f.short}`] : [])]));
  const persistent = GLOBAL_COMPOSE_FLAGS.filter((g) => !own.has(g.name)).map((g) => ({
    ...g,
    short: g.short && !own.has(`-${g.short}`) ? g.short : undefined,
    hidden: true,
  }));
  let flags: ParsedFlags;
  try {
    flags = parseFlags([...spec.flags, ...persistent], argv, { stopAtFirstArg: spec.stopAtFirstArg });
    for (const g of persistent) {
      if (!flags.has(g.name)) continue;
      const value = flags.values.get(g.name)!;
      const before = global.has(g.name) ? global.values.get(g.name) : undefined;
      global.values.set(g.name, Array.isArray(value) && Array.isArray(before) ? [...before, ...value] : value);
      global.changed.add(g.name);
    }
  } catch (err) {
    if (err instanceof FlagError) {
      ctx.stderr.write(`${err.message}\nSee '${path} --help'.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (flags.help) {
    const options = spec.flags.some((f) => !f.hidden) ? `\nOptions:\n${formatFlagHelp(spec.flags)}\n` : '';
    await write(ctx, `\nUsage:  ${path} ${spec.usage}\n\n${spec.description}\n${options}`);
    return 0;
  }
  const argError = checkArgs(path, spec as unknown as CommandSpec, flags.args);
  if (argError) {
    ctx.stderr.write(`${argError}\nSee '${path} --help'.\n`);
    return 1;
  }
  try {
    const cctx = makeComposeContext(ctx, composeOptions(global, ctx.env), path);
    return await spec.run(cctx, flags);
  } catch (err) {
    // A compose error is printed alone (Compose prints no "Error response from daemon" for its own errors).
    if (err instanceof ComposeError) throw new StatusError(err.message, err.exitCode);
    throw err;
  }
}

function write(ctx: Context, text: string): Promise<void> {
  return new Promise((resolve) => ctx.stdout.write(text, () => resolve()));
}

export const commands: Record<string, CommandSpec> = {
  compose: {
    usage: '[OPTIONS] COMMAND',
    description: 'Define and run multi-container applications with berth',
    flags: GLOBAL_COMPOSE_FLAGS,
    stopAtFirstArg: true,
    run: compose,
  },
};
