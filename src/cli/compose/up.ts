// `berth compose up [SERVICE...]`: Docker Compose v2's flags and output. Detached (-d, --wait) it
// returns once started (healthy); in the foreground it attaches to the services' output, and Ctrl-C
// stops the containers ("Gracefully stopping... (press Ctrl+C again to force)"; a second Ctrl-C kills).
import type { ContainerSummary } from '../../api/types.js';
import type { ComposeBackend } from '../../compose/backend.js';
import { SERVICE } from '../../compose/labels.js';
import { progressId } from '../../compose/plan.js';
import { selectServices, up, type UpOptions } from '../../compose/up.js';
import type { Watch } from '../../compose/watch.js';
import { ComposeError, type Project } from '../../compose/types.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import type { ProgressWriter } from './progress.js';
import type { Attached } from './up-attach.js';
import { CREATE_FLAGS, createOptions, progressFor, warner, withDryRun } from './options.js';

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
  // A Ctrl-C while containers are still being started stops them once their starts are done: a stop
  // that overtook a start would leave that container running and this command waiting for it.
  let upDone!: () => void;
  const upFinished = new Promise<void>((resolve) => (upDone = resolve));
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      progress.info('Gracefully stopping... (press Ctrl+C again to force)');
      exitCode = 130;
      stopping = upFinished.then(() => stopAll(false));
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
              stopping = upFinished.then(() => stopAll(false));
            }
          });
        },
      },
      progress,
      warner(ctx),
    ).finally(upDone);
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
