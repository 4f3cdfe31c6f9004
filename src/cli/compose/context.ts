// What every `berth compose` command gets: the global compose flags (-f, -p, --profile, --env-file,
// --project-directory, --parallel, --dry-run, --ansi, --progress), the project they describe (loaded
// on demand, once), the engine backend and a progress writer.
import type { Context, CommandSpec } from '../command.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { ComposeBackend } from '../../compose/backend.js';
import { explicitProjectName, loadProject, type LoadOptions } from '../../compose/loader/index.js';
import type { Project } from '../../compose/types.js';

export interface ComposeOptions {
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  profiles: string[];
  envFiles: string[];
  /** --parallel; undefined = not given */
  parallel?: number;
  dryRun: boolean;
  ansi: 'never' | 'always' | 'auto';
  progress: 'auto' | 'tty' | 'plain' | 'json' | 'quiet';
}

export interface ComposeContext extends Context {
  options: ComposeOptions;
  /** The project from the files (loaded once). */
  project(overrides?: Partial<LoadOptions>): Promise<Project>;
  /** -p, else COMPOSE_PROJECT_NAME, else the project's files: for commands that also work without a file (down, ps, logs). */
  projectName(): Promise<string>;
  backend(): ComposeBackend;
}

export interface ComposeCommand extends Omit<CommandSpec, 'run'> {
  run(ctx: ComposeContext, flags: ParsedFlags): Promise<number>;
}

export const GLOBAL_COMPOSE_FLAGS: FlagSpec[] = [
  { name: 'file', short: 'f', type: 'stringArray', valueName: 'stringArray', description: 'Compose configuration files' },
  { name: 'project-name', short: 'p', type: 'string', description: 'Project name' },
  { name: 'profile', type: 'stringArray', valueName: 'stringArray', description: 'Specify a profile to enable' },
  { name: 'env-file', type: 'stringArray', valueName: 'stringArray', description: 'Specify an alternate environment file' },
  { name: 'project-directory', type: 'string', description: 'Specify an alternate working directory (default: the path of the, first specified, Compose file)' },
  { name: 'parallel', type: 'int', default: -1, description: 'Control max parallelism, -1 for unlimited' },
  { name: 'dry-run', type: 'bool', description: 'Execute command in dry run mode' },
  { name: 'ansi', type: 'string', default: 'auto', description: 'Control when to print ANSI control characters ("never"|"always"|"auto")' },
  { name: 'progress', type: 'string', default: 'auto', description: 'Set type of progress output (auto, tty, plain, json, quiet)' },
  { name: 'compatibility', type: 'bool', description: 'Run compose in backward compatibility mode' },
  { name: 'all-resources', type: 'bool', description: 'Include all resources, even those not used by services' },
];

export function composeOptions(f: ParsedFlags, env: NodeJS.ProcessEnv): ComposeOptions {
  const ansi = f.str('ansi') || 'auto';
  const progress = f.str('progress') || 'auto';
  if (!['never', 'always', 'auto'].includes(ansi)) throw new Error(`invalid --ansi value "${ansi}": use never, always or auto`);
  if (!['auto', 'tty', 'plain', 'json', 'quiet'].includes(progress)) throw new Error(`unsupported --progress value "${progress}": use auto, tty, plain, json or quiet`);
  return {
    files: f.list('file'),
    projectName: f.str('project-name') || undefined,
    projectDirectory: f.str('project-directory') || undefined,
    profiles: f.list('profile'),
    envFiles: f.list('env-file'),
    parallel: f.has('parallel') ? f.num('parallel') : undefined,
    dryRun: f.bool('dry-run') || env.COMPOSE_DRY_RUN === 'true',
    ansi: ansi as ComposeOptions['ansi'],
    progress: progress as ComposeOptions['progress'],
  };
}

export function makeComposeContext(base: Context, options: ComposeOptions, cmdPath: string): ComposeContext {
  let project: Promise<Project> | undefined;
  let backend: ComposeBackend | undefined;
  const load = (overrides: Partial<LoadOptions> = {}): Promise<Project> =>
    loadProject({
      files: options.files,
      projectName: options.projectName,
      projectDirectory: options.projectDirectory,
      envFiles: options.envFiles,
      profiles: options.profiles,
      env: base.env,
      cwd: process.cwd(),
      readStdin: () => readAll(base.stdin),
      warn: (m) => base.stderr.write(`WARN[0000] ${m}\n`),
      ...overrides,
    });
  return {
    // Not `...base`: spreading would read its stdin getter, opening stdin (and a warm CLI child that
    // opened stdin is not reused).
    client: base.client,
    get stdin() {
      return base.stdin;
    },
    stdout: base.stdout,
    stderr: base.stderr,
    env: base.env,
    cmdPath,
    options,
    project: (overrides) => (overrides ? load(overrides) : (project ??= load())),
    // As Compose's projectOrName: -p alone needs no file; else the files decide, and when they
    // cannot be loaded COMPOSE_PROJECT_NAME still names the project.
    projectName: async () => {
      if (options.projectName && !options.files.length) return explicitProjectName(options.projectName, {})!;
      try {
        return (await (project ??= load())).name;
      } catch (err) {
        const fromEnv = explicitProjectName(undefined, { COMPOSE_PROJECT_NAME: base.env.COMPOSE_PROJECT_NAME ?? '' });
        if (fromEnv) return fromEnv;
        throw err;
      }
    },
    backend: () => (backend ??= new ComposeBackend(base.client())),
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString();
}
