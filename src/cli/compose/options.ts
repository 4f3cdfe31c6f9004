// What the compose commands that build, pull or converge a project share: --dry-run after the
// subcommand, the create flags and the options they make (Compose's createOptions), the build and
// progress renderers, and warnings drawn into the progress display.
import type { Readable } from 'node:stream';
import { parallelLimit } from '../../compose/graph.js';
import type { PullFlag } from '../../compose/images.js';
import type { RecreatePolicy } from '../../compose/plan.js';
import type { UpOptions } from '../../compose/up.js';
import { ComposeError, type Project } from '../../compose/types.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { ComposeContext } from './context.js';
import { makeProgress, progressMode, type ProgressWriter } from './progress.js';

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
