// The metadata executor: ENV, LABEL, CMD, ENTRYPOINT, USER, EXPOSE, VOLUME, SHELL, MAINTAINER… change only
// the image config (and add an empty history entry); WORKDIR also makes its directory (a layer only when
// something was made).
import type { OciImageConfig } from '../../../api/image-config.js';
import { InvalidParameter } from '../../../lib/errors.js';
import { expandString, type Env } from '../../../lib/shell-words.js';
import { applyChanges } from '../../images/changes.js';
import { resolveUser } from '../../runtime/user.js';
import type { Instruction } from '../frontend/dockerfile.js';
import type { BuilderDeps, State } from '../types.js';
import { stepName } from './context.js';
import { ensureDir } from './files.js';
import { directLayer, directParents, lowerOf, passwdRoot } from './copy-direct.js';
import type { PendingLayers } from './pending.js';
import { withSnapshot } from './snapshot.js';

/** A step that changes only the config (ENV, LABEL, CMD, SHELL, MAINTAINER, …): no work to do. */
export function configStep(state: State, inst: Instruction, env: Env, o: { args: Env; shell: string[]; escape: string }): State {
  if (inst.name === 'MAINTAINER') return withHistory({ ...state, config: { ...state.config, author: expandString(inst.args, env, o.escape) } }, inst.original, true);
  if (inst.name === 'SHELL') return withHistory({ ...state, config: { ...state.config, config: { ...state.config.config, Shell: inst.json } } }, inst.original, true);
  return withHistory({ ...state, config: { ...state.config, config: applyChanges(state.config.config ?? {}, [inst.original], { args: o.args, shell: o.shell, escape: o.escape }) } }, inst.original, true);
}

/** The config WORKDIR leaves (its path expanded and joined to the one before). */
export function workdirConfig(state: State, inst: Instruction, o: { args: Env; shell: string[]; escape: string }): ReturnType<typeof applyChanges> {
  return applyChanges(state.config.config ?? {}, [inst.original], { args: o.args, shell: o.shell, escape: o.escape });
}

/**
 * WORKDIR sets the working directory and makes it (with its parents) as BuildKit does: owned by USER
 * when one is set, an existing directory (or a symlink to one) left as it is. A layer only when
 * something was made; a path that is a file is refused with the step named.
 */
export async function workdir(d: BuilderDeps, state: State, inst: Instruction, o: { args: Env; shell: string[]; escape: string; dockerfileName: string; pending: PendingLayers }): Promise<State> {
  const config = workdirConfig(state, inst, o);
  const wd = config.WorkingDir || '/';
  const after = (empty: boolean) => withHistory({ ...state, config: { ...state.config, config } }, `WORKDIR ${wd}`, empty);
  if (wd === '/') return after(true);
  const direct = await workdirDirect(d, state, wd, config.User, () => after(false), o.pending);
  if (direct) return direct.made ? direct.state : after(true);
  return withSnapshot(
    d,
    state,
    async (rootfs) => {
      const owner = config.User ? await resolveUser(rootfs, config.User) : undefined;
      await ensureDir(rootfs, wd, owner, 'create the working directory').catch((e: Error) => {
        throw new InvalidParameter(`${stepName(o, inst)}: ${e.message}`);
      });
      return after(false);
    },
    undefined,
    { ifEmpty: after(true), init: false, pending: o.pending },
  );
}

/** WORKDIR without a mount (copy-direct.ts): nothing to make when the image has the directory; else its
 *  missing part made in an empty layer dir. Undefined when the path needs the merged filesystem (a
 *  symlink on the way, a whiteout below). */
async function workdirDirect(d: BuilderDeps, state: State, wd: string, user: string | undefined, made: () => State, pending: PendingLayers): Promise<{ made: boolean; state: State } | undefined> {
  const lower = lowerOf(d, state.layers);
  if ((await lower.view.lstat(wd))?.isDirectory()) return { made: false, state };
  const parents = await directParents(lower, { dirs: [wd], filled: [], files: [] });
  if (!parents) return undefined;
  const root = user ? await passwdRoot(lower) : undefined;
  if (user && !root) return undefined;
  const owner = user ? await resolveUser(root!, user) : undefined;
  const next = made();
  const ref = await directLayer(d, state.layers, parents, async (upper) => void (await ensureDir(upper, wd, owner, 'create the working directory')), pending);
  return { made: true, state: { ...next, layers: [...state.layers, ref] } };
}

export function withHistory(state: State, createdBy: string, empty: boolean): State {
  const entry = { created: new Date().toISOString(), created_by: createdBy, comment: 'buildkit.dockerfile.v0', ...(empty ? { empty_layer: true } : {}) };
  return { ...state, config: { ...state.config, history: [...(state.config.history ?? []), entry] } };
}

/** The environment a state's config sets. */
export function envOf(cfg: OciImageConfig): Env {
  const env: Env = new Map();
  for (const e of cfg.config?.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}
