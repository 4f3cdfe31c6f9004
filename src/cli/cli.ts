// The berth command line: global flags, then a command found in a static table whose implementation is
// imported lazily, so start-up only pays for the command group in use. main.ts runs it in a fresh Node
// process; warm/child.ts runs it in a pre-started one (docs/notes/cli.md), the same code either way.
import { FlagError, formatFlagHelp, parseFlags, type FlagSpec } from './flags.js';
import { checkArgs, StatusError, type CommandSpec, type Context } from './command.js';
import { resolveHost } from '../client/host.js';
import { EngineClient } from '../client/engine.js';
import { ApiError, ConnectionError, StreamError } from '../client/errors.js';

type Group = Record<string, CommandSpec>;
type Loader = () => Promise<Group>;

const load = {
  run: (): Promise<Group> => import('./commands/run.js').then((m) => m.commands),
  container: (): Promise<Group> => import('./commands/container.js').then((m) => m.commands),
  ps: (): Promise<Group> => import('./commands/ps.js').then((m) => m.commands),
  logs: (): Promise<Group> => import('./commands/logs.js').then((m) => m.commands),
  exec: (): Promise<Group> => import('./commands/exec.js').then((m) => m.commands),
  inspect: (): Promise<Group> => import('./commands/inspect.js').then((m) => m.commands),
  image: (): Promise<Group> => import('./commands/image.js').then((m) => m.commands),
  system: (): Promise<Group> => import('./commands/system.js').then((m) => m.commands),
  stats: (): Promise<Group> => import('./commands/stats.js').then((m) => m.commands),
  events: (): Promise<Group> => import('./commands/events.js').then((m) => m.commands),
  update: (): Promise<Group> => import('./commands/update.js').then((m) => m.commands),
  network: (): Promise<Group> => import('./commands/network.js').then((m) => m.commands),
  volume: (): Promise<Group> => import('./commands/volume.js').then((m) => m.commands),
  distribution: (): Promise<Group> => import('./commands/distribution.js').then((m) => m.commands),
  build: (): Promise<Group> => import('./commands/build.js').then((m) => m.commands),
  files: (): Promise<Group> => import('./commands/files.js').then((m) => m.commands),
  housekeeping: (): Promise<Group> => import('./commands/housekeeping.js').then((m) => m.commands),
  registry: (): Promise<Group> => import('./commands/registry.js').then((m) => m.commands),
  scan: (): Promise<Group> => import('./commands/scan.js').then((m) => m.commands),
  trust: (): Promise<Group> => import('./commands/trust.js').then((m) => m.commands),
  sbom: (): Promise<Group> => import('./commands/sbom.js').then((m) => m.commands),
  scanDb: (): Promise<Group> => import('./commands/scan-db.js').then((m) => m.commands),
  compose: (): Promise<Group> => import('./compose/main.js').then((m) => m.commands),
} satisfies Record<string, Loader>;

/** [loader, command name inside the group's module] */
type Route = [Loader, string];

const CONTAINER_VERBS: Record<string, Route> = {
  run: [load.run, 'run'],
  create: [load.run, 'create'],
  start: [load.container, 'start'],
  stop: [load.container, 'stop'],
  kill: [load.container, 'kill'],
  restart: [load.container, 'restart'],
  rm: [load.container, 'rm'],
  wait: [load.container, 'wait'],
  rename: [load.container, 'rename'],
  pause: [load.container, 'pause'],
  unpause: [load.container, 'unpause'],
  top: [load.container, 'top'],
  port: [load.container, 'port'],
  logs: [load.logs, 'logs'],
  exec: [load.exec, 'exec'],
  attach: [load.exec, 'attach'],
  stats: [load.stats, 'stats'],
  update: [load.update, 'update'],
  cp: [load.files, 'cp'],
  export: [load.files, 'export'],
  diff: [load.files, 'diff'],
  commit: [load.files, 'commit'],
};

const TOP_LEVEL: Record<string, Route> = {
  ...CONTAINER_VERBS,
  ps: [load.ps, 'ps'],
  inspect: [load.inspect, 'inspect'],
  images: [load.image, 'images'],
  import: [load.image, 'import'],
  load: [load.image, 'load'],
  save: [load.image, 'save'],
  tag: [load.image, 'tag'],
  rmi: [load.image, 'rmi'],
  history: [load.image, 'history'],
  version: [load.system, 'version'],
  info: [load.system, 'info'],
  events: [load.events, 'events'],
  pull: [load.distribution, 'pull'],
  push: [load.distribution, 'push'],
  build: [load.build, 'build'],
  login: [load.distribution, 'login'],
  logout: [load.distribution, 'logout'],
  compose: [load.compose, 'compose'],
  sbom: [load.sbom, 'sbom'],
  // `berth scan db VERB` (the database's commands) is routed before this, as a group under `scan`.
  scan: [load.scan, 'scan'],
};

const MANAGEMENT: Record<string, Record<string, Route>> = {
  container: {
    ...CONTAINER_VERBS,
    ls: [load.ps, 'ps'],
    ps: [load.ps, 'ps'],
    list: [load.ps, 'ps'],
    inspect: [load.inspect, 'container inspect'],
    prune: [load.housekeeping, 'container prune'],
  },
  image: {
    ls: [load.image, 'images'],
    list: [load.image, 'images'],
    inspect: [load.inspect, 'image inspect'],
    import: [load.image, 'import'],
    load: [load.image, 'load'],
    save: [load.image, 'save'],
    tag: [load.image, 'tag'],
    rm: [load.image, 'rmi'],
    history: [load.image, 'history'],
    pull: [load.distribution, 'pull'],
    push: [load.distribution, 'push'],
    build: [load.build, 'build'],
    prune: [load.housekeeping, 'image prune'],
  },
  manifest: {
    inspect: [load.distribution, 'manifest inspect'],
  },
  builder: {
    build: [load.build, 'build'],
    prune: [load.build, 'builder prune'],
  },
  network: {
    create: [load.network, 'network create'],
    ls: [load.network, 'network ls'],
    list: [load.network, 'network ls'],
    inspect: [load.network, 'network inspect'],
    rm: [load.network, 'network rm'],
    remove: [load.network, 'network rm'],
    prune: [load.network, 'network prune'],
    connect: [load.network, 'network connect'],
    disconnect: [load.network, 'network disconnect'],
  },
  volume: {
    create: [load.volume, 'volume create'],
    ls: [load.volume, 'volume ls'],
    list: [load.volume, 'volume ls'],
    inspect: [load.volume, 'volume inspect'],
    rm: [load.volume, 'volume rm'],
    remove: [load.volume, 'volume rm'],
    prune: [load.volume, 'volume prune'],
  },
  registry: {
    serve: [load.registry, 'registry serve'],
    gc: [load.registry, 'registry gc'],
  },
  trust: {
    key: [load.trust, 'trust key'],
    sign: [load.trust, 'trust sign'],
    verify: [load.trust, 'trust verify'],
  },
  system: {
    info: [load.system, 'info'],
    events: [load.events, 'events'],
    df: [load.housekeeping, 'system df'],
    prune: [load.housekeeping, 'system prune'],
  },
};

/** Groups one level down, under a top-level command: `berth scan db import` (while `berth scan IMAGE`
 *  is the scan command's own, in TOP_LEVEL). */
const SUBGROUPS: Record<string, Record<string, Record<string, Route>>> = {
  scan: {
    db: {
      import: [load.scanDb, 'scan db import'],
      status: [load.scanDb, 'scan db status'],
      push: [load.scanDb, 'scan db push'],
      pull: [load.scanDb, 'scan db pull'],
    },
  },
};

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'stringArray', description: 'Daemon socket to connect to' },
  { name: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', default: 'info', description: 'Set the logging level' },
  { name: 'config', type: 'string', description: 'Location of client config files' },
  { name: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
];

// Made only when shown: laying out the flags (localeCompare) costs every command ~5 ms of start-up.
const mainUsage = (): string => `
Usage:  berth [OPTIONS] COMMAND

A Docker-compatible container platform

Options:
${formatFlagHelp(GLOBAL_FLAGS)}

Management Commands:
  builder     Manage builds
  compose     Define and run multi-container applications
  container   Manage containers
  image       Manage images
  manifest    Manage Docker image manifests and manifest lists
  network     Manage networks
  registry    Run an OCI distribution (Docker registry) server
  system      Manage berth
  trust       Sign images and verify their signatures (cosign-compatible)
  volume      Manage volumes

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  build       Build an image from a Dockerfile
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  exec        Execute a command in a running container
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  images      List images
  import      Import the contents from a tarball to create a filesystem image
  info        Display system-wide information
  inspect     Return low-level information on Docker objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  login       Log in to a registry
  logout      Log out from a registry
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  ps          List containers
  pull        Download an image from a registry
  push        Upload an image to a registry
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  rmi         Remove one or more images
  run         Run a command in a new container
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  sbom        List the packages in an image (software bill of materials)
  scan        Scan an image for known vulnerabilities ('berth scan db' manages the database)
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  version     Show the berth version information
  wait        Block until one or more containers stop, then print their exit codes

Run 'berth COMMAND --help' for more information on a command.
`;

function commandHelp(path: string, spec: CommandSpec): string {
  const aliases = spec.aliases?.length ? `\nAliases:\n  ${spec.aliases.join(', ')}\n` : '';
  const options = spec.flags.some((f) => !f.hidden) ? `\nOptions:\n${formatFlagHelp(spec.flags)}\n` : '';
  return `\nUsage:  ${path} ${spec.usage}\n\n${spec.description}\n${aliases}${options}`;
}

/** The command's engine clients, closed when it ends (a warm CLI process may serve another command). */
const clients = new Set<EngineClient>();

function makeContext(cmdPath: string, hostFlag: string | undefined): Context {
  let client: EngineClient | undefined;
  return {
    cmdPath,
    client: () => {
      if (!client) clients.add((client = new EngineClient(resolveHost(hostFlag))));
      return client;
    },
    // Opened only by the commands that read it (a warm CLI process reuses itself only when none did).
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

/** Locate the command: `run`, or a management form `container ls`. */
async function findCommand(argv: string[]): Promise<{ path: string; spec: CommandSpec; rest: string[] } | number> {
  const [name = '', ...rest] = argv;
  const sub = SUBGROUPS[name]?.[rest[0] ?? ''];
  if (sub) return findInGroup(`${name} ${rest[0]}`, sub, rest.slice(1));
  const group = MANAGEMENT[name];
  if (group) return findInGroup(name, group, rest);
  const route = TOP_LEVEL[name];
  if (!route) {
    process.stderr.write(`berth: '${name}' is not a berth command.\nSee 'berth --help'\n`);
    return 1;
  }
  const spec = (await route[0]())[route[1]];
  if (!spec) throw new Error(`internal: command ${route[1]} missing`);
  return { path: `berth ${name}`, spec, rest };
}

/** `container ls`, `scan db status`: the verb after a group's name. */
async function findInGroup(name: string, group: Record<string, Route>, rest: string[]): Promise<{ path: string; spec: CommandSpec; rest: string[] } | number> {
  const [verb = '', ...verbArgs] = rest;
  const route = group[verb];
  if (!route) {
    process.stderr.write(
      verb && !verb.startsWith('-')
        ? `berth: '${name} ${verb}' is not a berth command.\nSee 'berth ${name} --help'\n`
        : `\nUsage:  berth ${name} COMMAND\n\nCommands:\n${Object.keys(group).map((v) => `  ${v}`).join('\n')}\n`,
    );
    return verb && !verb.startsWith('-') ? 1 : 0;
  }
  const spec = (await route[0]())[route[1]];
  if (!spec) throw new Error(`internal: command ${route[1]} missing`);
  return { path: `berth ${name} ${verb}`, spec, rest: verbArgs };
}

async function runCommand(path: string, spec: CommandSpec, argv: string[], hostFlag?: string): Promise<number> {
  let flags;
  try {
    flags = parseFlags(spec.flags, argv, { stopAtFirstArg: spec.stopAtFirstArg });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nSee '${path} --help'.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (flags.help) {
    process.stdout.write(commandHelp(path, spec));
    return 0;
  }
  const argError = checkArgs(path, spec, flags.args);
  if (argError) {
    process.stderr.write(`${argError}\nSee '${path} --help'.\n\nUsage:  ${path} ${spec.usage}\n\n${spec.description}\n`);
    return 1;
  }
  return spec.run(makeContext(path, hostFlag), flags);
}

/** Print an error in the docker CLI's words and return the exit status. */
export function reportError(err: unknown): number {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return 141; // the reader of stdout went away
  if (err instanceof StatusError) {
    if (err.message) process.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ApiError) process.stderr.write(`Error response from daemon: ${err.message}\n`);
  else if (err instanceof ConnectionError || err instanceof StreamError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const global = parseFlags(GLOBAL_FLAGS, argv, { stopAtFirstArg: true });
  const hosts = global.list('host');
  if (hosts.length > 1) throw new StatusError('Please specify only one -H', 1);
  if (global.bool('version')) {
    const { clientVersionLine } = await import('./commands/system.js');
    process.stdout.write(clientVersionLine());
    return 0;
  }
  if (global.help || global.args.length === 0) {
    process.stdout.write(mainUsage());
    return 0;
  }
  const found = await findCommand(global.args);
  if (typeof found === 'number') return found;
  return runCommand(found.path, found.spec, found.rest, hosts[0]);
}

/** Run the command line, let stdout/stderr drain (pipes are asynchronous for large writes), then
 *  `finish` with its status: process.exit, or in a warm CLI process possibly the next command. */
export function runCli(argv: string[], finish: (code: number) => void = (code) => process.exit(code)): void {
  let finished = false;
  const end = (code: number): void => {
    if (!finished) finish(code);
    finished = true;
  };
  // `berth sbom app | head`: the reader went away. End quietly with the status a program killed by
  // SIGPIPE has (128 + 13), as the docker CLI does, instead of a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    end(141);
  });
  const exit = (code: number): void => {
    for (const c of clients) c.close();
    clients.clear();
    let pending = 2;
    const done = (): void => {
      if (--pending === 0) end(code);
    };
    process.stdout.write('', done);
    process.stderr.write('', done);
  };
  main(argv).then(exit, (err: unknown) => {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nSee 'berth --help'.\n`);
      exit(err.exitCode);
      return;
    }
    exit(reportError(err));
  });
}

/** Import every command group now (a warm CLI process does this before it is handed a command). */
export async function preloadCommands(): Promise<void> {
  await Promise.all(Object.values(load).map((l) => l()));
}
