// `berth compose up [SERVICE...]`: Docker Compose v2's flags and output. Detached (-d, --wait) it
// returns once started (healthy); in the foreground it attaches to the services' output, and Ctrl-C
// stops the containers ("Gracefully stopping... (press Ctrl+C again to force)"; a second Ctrl-C kills).
import type { Readable } from 'node:stream';
import type { ContainerSummary } from '../../api/types.js';
import type { ComposeBackend } from '../../compose/backend.js';
import { parallelLimit } from '../../compose/graph.js';
import type { PullFlag } from '../../compose/images.js';
import { SERVICE } from '../../compose/labels.js';
import type { RecreatePolicy } from '../../compose/plan.js';
import { progressId } from '../../compose/plan.js';
import { selectServices, up, type UpOptions } from '../../compose/up.js';
import type { Watch } from '../../compose/watch.js';
import { ComposeError, type Project } from '../../compose/types.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { makeProgress, progressMode, type ProgressWriter } from './progress.js';
import type { Attached } from './up-attach.js';

/**
 * `--dry-run` after the subcommand (`berth compose up --dry-run`): Compose's global flags are persistent,
 * accepted on either side of the subcommand; the dispatcher reads them before it, these commands after it too.
 */
export const DRY_RUN_FLAG: FlagSpec = { name: 'dry-run', type: 'bool', hidden: true, description: 'Execute command in dry run mode' };

export function withDryRun(run: (ctx: ComposeContext, f: ParsedFlags) => Promise<number>): (ctx: ComposeContext, f: ParsedFlags) => Promise<number> {
  return (ctx, f) => {
    if (f.bool('dry-run')) ctx.options.dryRun = true;
    return run(ctx, f);
  };
}

/** Flags `up` and `create` share (Compose's createOptions). */
export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'build', type: 'bool', description: 'Build images before starting containers' },
  { name: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
  { name: 'pull', type: 'string', default: 'policy', description: 'Pull image before running ("always"|"missing"|"never"|"build")' },
  { name: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
  { name: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them. Incompatible with --force-recreate." },
  { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  { name: 'scale', type: 'stringArray', valueName: 'stringArray', description: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.' },
  { name: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
  { name: 'yes', short: 'y', type: 'bool', description: 'Assume "yes" as answer to all prompts and run non-interactively' },
  DRY_RUN_FLAG,
];

const UP_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run containers in the background' },
  ...CREATE_FLAGS,
  { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
  { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
  { name: 'no-start', type: 'bool', description: "Don't start the services after creating them" },
  { name: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
  { name: 'abort-on-container-failure', type: 'bool', description: 'Stops all containers if any container exited with failure. Incompatible with -d' },
  { name: 'exit-code-from', type: 'string', description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit' },
  { name: 'timeout', short: 't', type: 'int', description: 'Use this timeout in seconds for container shutdown when attached or when containers are already running' },
  { name: 'timestamps', type: 'bool', description: 'Show timestamps' },
  { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
  { name: 'always-recreate-deps', type: 'bool', description: 'Recreate dependent containers. Incompatible with --no-recreate.' },
  { name: 'renew-anon-volumes', short: 'V', type: 'bool', description: 'Recreate anonymous volumes instead of retrieving data from the previous containers' },
  { name: 'quiet-build', type: 'bool', description: 'Suppress the build output' },
  { name: 'attach', type: 'stringArray', valueName: 'stringArray', description: 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.' },
  { name: 'no-attach', type: 'stringArray', valueName: 'stringArray', description: 'Do not attach (stream logs) to the specified services' },
  { name: 'attach-dependencies', type: 'bool', description: 'Automatically attach to log output of dependent services' },
  { name: 'wait', type: 'bool', description: 'Wait for services to be running|healthy. Implies detached mode.' },
  { name: 'wait-timeout', type: 'int', description: 'Maximum duration in seconds to wait for the project to be running|healthy' },
  { name: 'watch', short: 'w', type: 'bool', description: 'Watch source code and rebuild/refresh containers when files are updated.' },
];

/** What every command that converges reads from the flags (Compose's createOptions). */
export function createOptions(ctx: ComposeContext, f: ParsedFlags, project: Project): Omit<UpOptions, 'services'> {
  if (f.bool('build') && f.bool('no-build')) throw new ComposeError('--build and --no-build are incompatible');
  if (f.bool('force-recreate') && f.bool('no-recreate')) throw new ComposeError('--force-recreate and --no-recreate are incompatible');
  if (f.bool('always-recreate-deps') && f.bool('no-recreate')) throw new ComposeError('--always-recreate-deps and --no-recreate are incompatible');
  if (f.bool('renew-anon-volumes') && f.bool('no-recreate')) throw new ComposeError('--no-recreate and --renew-anon-volumes are incompatible');
  const pull = f.str('pull') || 'policy';
  if (!['always', 'missing', 'never', 'build', 'policy'].includes(pull)) throw new ComposeError(`invalid --pull option "${pull}": use always, missing, never or build`);
  const recreate: RecreatePolicy = f.bool('force-recreate') ? 'force' : f.bool('no-recreate') ? 'never' : 'diverged';
  const recreateDependencies: RecreatePolicy = f.bool('always-recreate-deps') ? 'force' : f.bool('no-recreate') ? 'never' : 'diverged';
  return {
    pull: pull === 'policy' ? undefined : (pull as PullFlag),
    build: f.bool('build'),
    noBuild: f.bool('no-build'),
    quietPull: f.bool('quiet-pull'),
    recreate,
    recreateDependencies,
    scale: scaleFlags(f.list('scale'), project),
    removeOrphans: f.bool('remove-orphans') || ctx.env.COMPOSE_REMOVE_ORPHANS === 'true',
    ignoreOrphans: ctx.env.COMPOSE_IGNORE_ORPHANS === 'true' || ctx.env.COMPOSE_IGNORE_ORPHANS === '1',
    renewAnonVolumes: f.bool('renew-anon-volumes'),
    timeout: f.has('timeout') ? f.num('timeout') : undefined,
    parallel: parallelLimit(ctx.options.parallel, ctx.env),
    dryRun: ctx.options.dryRun,
    noDeps: f.bool('no-deps'),
    env: ctx.env,
    renderBuild: buildRenderer(ctx, f.bool('quiet-build')),
  };
}

export function scaleFlags(list: string[], project: Project): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const eq = s.indexOf('=');
    const name = s.slice(0, eq);
    const n = Number(s.slice(eq + 1));
    if (eq < 0 || !Number.isInteger(n) || n < 0) throw new ComposeError(`invalid --scale option "${s}": use SERVICE=NUM`);
    if (!project.services[name]) throw new ComposeError(`no such service: ${name}`);
    out[name] = n;
  }
  return out;
}

/** Builds draw BuildKit-style progress on stderr (Compose's build output), or nothing with --quiet-build / --progress quiet. */
export function buildRenderer(ctx: ComposeContext, quiet: boolean): (res: Readable) => Promise<string | undefined> {
  const err = ctx.stderr as typeof ctx.stderr & { isTTY?: boolean; columns?: number; rows?: number };
  const mode = progressMode(ctx.options, !!err.isTTY);
  return async (res) => {
    const { renderBuildProgress } = await import('../build-progress.js'); // only when something is built
    let id: string | undefined;
    const onAux = (aux: Record<string, unknown>): void => void (typeof aux.ID === 'string' && (id = aux.ID));
    if (quiet || mode === 'quiet' || mode === 'json') {
      const { Writable } = await import('node:stream');
      await renderBuildProgress(res, new Writable({ write: (_c, _e, cb) => cb() }), { mode: 'plain', onAux });
    } else {
      await renderBuildProgress(res, err, { mode: mode === 'tty' ? 'tty' : 'plain', width: err.columns, height: err.isTTY ? err.rows : undefined, color: mode === 'tty' && ctx.options.ansi !== 'never' && !ctx.env.NO_COLOR, onAux });
    }
    return id;
  };
}

/** The progress display on stderr, as Compose draws it. */
export function progressFor(ctx: ComposeContext, title = 'Running'): ProgressWriter {
  const err = ctx.stderr as typeof ctx.stderr & { isTTY?: boolean; columns?: number };
  const mode = progressMode(ctx.options, !!err.isTTY);
  return makeProgress(err, mode, { color: ctx.options.ansi !== 'never' && !ctx.env.NO_COLOR, dryRun: ctx.options.dryRun, title });
}

export function warner(ctx: ComposeContext, progress?: ProgressWriter): (m: string) => void {
  return (m) => {
    const line = `WARN[0000] ${m}`;
    if (progress) progress.info(line);
    else ctx.stderr.write(`${line}\n`);
  };
}

async function runUp(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const detach = f.bool('detach') || f.bool('wait');
  if (f.has('wait-timeout') && f.num('wait-timeout') < 0) throw new ComposeError('--wait-timeout must be a non-negative integer');
  const exitCodeFrom = f.str('exit-code-from');
  const cascadeStop = f.bool('abort-on-container-exit') || (!!exitCodeFrom && !f.bool('abort-on-container-failure'));
  const cascadeFail = f.bool('abort-on-container-failure');
  if (cascadeStop && cascadeFail) throw new ComposeError('--abort-on-container-failure cannot be combined with --abort-on-container-exit');
  if (f.bool('wait') && (f.bool('attach-dependencies') || cascadeStop || f.list('attach').length)) {
    throw new ComposeError('--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies');
  }
  if (f.bool('detach') && (f.bool('attach-dependencies') || cascadeStop || cascadeFail || f.list('attach').length || f.bool('watch'))) {
    throw new ComposeError('--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch');
  }
  // A service named on the command line is enabled even when its profiles are not active, as Compose does.
  const project = await ctx.project(f.args.length ? { services: f.args } : undefined);
  if (exitCodeFrom && !project.services[exitCodeFrom]) throw new ComposeError(`no such service: ${exitCodeFrom}`);
  const services = f.args;
  const run = selectServices(project, services, f.bool('no-deps'));
  for (const a of f.list('attach')) if (!run.includes(a)) throw new ComposeError(`cannot attach to services not included in up: ${a}`);
  const backend = ctx.backend();
  const progress = progressFor(ctx);
  const warn = warner(ctx, progress);
  const opts: UpOptions = { ...createOptions(ctx, f, project), services, noStart: f.bool('no-start'), wait: f.bool('wait'), waitTimeout: f.num('wait-timeout') };
  if (detach || opts.noStart || ctx.options.dryRun) {
    try {
      await up(backend, project, opts, progress, warn);
    } finally {
      progress.done();
    }
    if (!detach && !opts.noStart && ctx.options.dryRun) ctx.stdout.write("end of 'compose up' output, interactive run is not supported in dry-run mode\n");
    return 0;
  }
  return foreground(ctx, f, backend, project, opts, progress, { run, cascadeStop, cascadeFail, exitCodeFrom });
}

interface ForegroundOptions {
  run: string[];
  cascadeStop: boolean;
  cascadeFail: boolean;
  exitCodeFrom: string;
}

/** Attached `up`: create, attach, start, then follow until the attached containers end or Ctrl-C. */
async function foreground(ctx: ComposeContext, f: ParsedFlags, backend: ComposeBackend, project: Project, opts: UpOptions, progress: ProgressWriter, fg: ForegroundOptions): Promise<number> {
  const attachTo = new Set(f.list('attach').length ? f.list('attach') : opts.services.length && !f.bool('attach-dependencies') ? opts.services : fg.run);
  for (const n of f.list('no-attach')) attachTo.delete(n);
  const { attachContainers, logName } = await import('./up-attach.js');
  const { logPrinter } = await import('../../compose/logs.js');
  const { useColor } = await import('./logs.js');
  let attached: Attached | undefined;
  let all: ContainerSummary[] = [];
  let stopping: Promise<void> | undefined;
  let exitCode = 0;
  const stopAll = (kill: boolean): Promise<void> => {
    const targets = all.filter((c) => fg.run.includes(c.Labels[SERVICE] ?? ''));
    return Promise.all(
      targets.map(async (c) => {
        const id = progressId(c);
        progress.event({ id, status: kill ? 'Killing' : 'Stopping', state: 'working' });
        await (kill ? backend.killContainer(c.Id) : backend.stopContainer(c.Id, opts.timeout)).catch(() => undefined);
        progress.event({ id, status: kill ? 'Killed' : 'Stopped', state: 'done' });
      }),
    ).then(() => undefined);
  };
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      progress.info('Gracefully stopping... (press Ctrl+C again to force)');
      exitCode = 130;
      stopping = stopAll(false);
    } else {
      void stopAll(true);
    }
  };
  // --watch: the rules are checked before anything is created; the watch starts once the containers run.
  const watching = f.bool('watch') ? await import('./watch.js') : undefined;
  const rules = watching ? await watching.checkWatch(ctx, project, opts.services) : undefined;
  let watch: Watch | undefined;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await up(
      backend,
      project,
      {
        ...opts,
        beforeStart: async (containers) => {
          all = containers;
          const targets = containers.filter((c) => attachTo.has(c.Labels[SERVICE] ?? ''));
          progress.done();
          ctx.stdout.write(`Attaching to ${targets.map(logName).join(', ')}\n`);
          const printer = logPrinter({ stdout: ctx.stdout, stderr: ctx.stderr, color: !f.bool('no-color') && !ctx.env.NO_COLOR && useColor(ctx.options, ctx.stdout), prefix: !f.bool('no-log-prefix'), timestamps: f.bool('timestamps') });
          attached = await attachContainers(backend, targets, printer);
          attached.onExit((c, code) => {
            if (fg.exitCodeFrom && c.Labels[SERVICE] === fg.exitCodeFrom) exitCode = code;
            if (!stopping && (fg.cascadeStop || (fg.cascadeFail && code !== 0))) {
              if (!fg.exitCodeFrom) exitCode = code;
              progress.info('Aborting on container exit...');
              stopping = stopAll(false);
            }
          });
        },
      },
      progress,
      warner(ctx),
    );
    if (watching && rules) watch = await watching.startWatch(ctx, project, rules, f);
    if (attached) await attached.ended;
    if (stopping) await stopping;
  } finally {
    watch?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    attached?.close();
    progress.done();
  }
  return exitCode;
}

export const commands: Record<string, ComposeCommand> = {
  up: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Create and start containers',
    flags: UP_FLAGS,
    run: withDryRun(runUp),
  },
};
