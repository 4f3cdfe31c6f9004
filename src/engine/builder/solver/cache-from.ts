// --cache-from as dockerd's classic builder has it: only cached steps in these images' history are hits,
// and a step none of ours made may still be taken from one of them when its history entry says all the
// step does ("borrowed").
import type { OciImageConfig } from '../../../api/image-config.js';
import type { Env } from '../../../lib/shell-words.js';
import type { LayerRef } from '../../images/store.js';
import type { Worker } from '../executors/context.js';
import { configStep, workdirConfig } from '../executors/metadata.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { runCommand, runHistory } from '../frontend/run-command.js';
import type { State } from '../types.js';

/** A --cache-from image as a cache hit is checked against: its history and its layers, in order. */
export interface CacheSource {
  history: NonNullable<OciImageConfig['history']>;
  layers: LayerRef[];
}

/** The --cache-from images that exist (as dockerd, one that does not is skipped: it matches nothing). */
export async function cacheSources(w: Worker, refs: string[]): Promise<CacheSource[]> {
  const out: CacheSource[] = [];
  for (const ref of refs) {
    const rec = await w.d.images.resolve(ref).catch(() => undefined);
    if (!rec) continue;
    const cfg = await w.d.images.imageConfig(rec.id);
    out.push({ history: cfg.history ?? [], layers: rec.layers });
  }
  return out;
}

/**
 * dockerd's other kind of --cache-from hit: no cached step of ours is in their history, but one of them
 * goes on from this state with this very instruction. Its history entry (and layer) are taken; the config
 * is this build's own. Only for steps whose history entry says all they do: RUN without flags (no mounts,
 * no network) or heredocs, WORKDIR and the config-only instructions, and never with build args in scope (berth's
 * history entries do not name them); COPY and ADD always run (their entries do not name the content).
 */
export function borrow(state: State, inst: Instruction, env: Env, o: { cacheSources?: CacheSource[]; args: Env; shell: string[]; escape: string }): State | undefined {
  if (!o.cacheSources?.length || o.args.size || inst.name === 'COPY' || inst.name === 'ADD') return undefined;
  let next = state;
  let createdBy: string;
  if (inst.name === 'RUN') {
    // A heredoc run as a script file has only its path in the entry.
    if (Object.keys(inst.flags).length || inst.heredocs.length) return undefined;
    createdBy = runHistory(inst, runCommand(inst, o.shell).argv);
  } else if (inst.name === 'WORKDIR') {
    const config = workdirConfig(state, inst, o);
    next = { ...state, config: { ...state.config, config } };
    createdBy = `WORKDIR ${config.WorkingDir || '/'}`;
  } else {
    const done = configStep(state, inst, env, o);
    next = { ...done, config: { ...done.config, history: state.config.history } };
    createdBy = done.config.history!.at(-1)!.created_by!;
  }
  const n = state.config.history?.length ?? 0;
  for (const src of o.cacheSources) {
    const entry = src.history[n];
    if (entry?.created_by !== createdBy || !inHistoryOf(state, src)) continue;
    const layer = entry.empty_layer ? undefined : src.layers[state.layers.length];
    if (!entry.empty_layer && !layer) continue;
    return { ...next, config: { ...next.config, history: [...(state.config.history ?? []), entry] }, layers: layer ? [...state.layers, layer] : state.layers };
  }
  return undefined;
}

/**
 * Whether a cached step's result is part of an image's making: the image's history and layers begin with
 * the step's (its history entries carry the time the step first ran, so only the build that made them, or
 * one that reused them, has them). dockerd's classic builder asks the same of its --cache-from images
 * (an image in their parent chain, or a prefix of their history).
 */
export function inHistoryOf(state: State, src: CacheSource): boolean {
  const history = state.config.history ?? [];
  const diffIds = state.layers.map((l) => l.diffId);
  if (history.length > src.history.length || diffIds.length > src.layers.length) return false;
  if (diffIds.some((d, i) => d !== src.layers[i]!.diffId)) return false;
  const same = (a: (typeof history)[number], b: (typeof history)[number]) =>
    a.created === b.created && a.created_by === b.created_by && a.comment === b.comment && a.author === b.author && !!a.empty_layer === !!b.empty_layer;
  return history.every((h, i) => same(h, src.history[i]!));
}

