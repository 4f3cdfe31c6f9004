// The solver: it schedules the graph the frontend made. Every stage the target needs starts at once and
// waits only for the stages it names (FROM <stage>, COPY --from, RUN --mount from=), so independent
// stages run concurrently; a stage is solved once however many name it, and a vertex whose digest another
// stage is already solving is shared (step.ts). A failure cancels the rest — the other stages stop at
// their next step and a running RUN is stopped — and the build answers once all have ended, with the
// first error, as BuildKit cancels a solve.
import type { Worker } from '../executors/context.js';
import { PendingLayers } from '../executors/pending.js';
import { baseState } from '../executors/source.js';
import type { BuildPlan } from '../frontend/plan.js';
import { stageNamed, type Stage } from '../frontend/stages.js';
import type { BuildVertices } from '../progress.js';
import type { BuildOptions, State } from '../types.js';
import type { CacheSource } from './cache-from.js';
import type { Solve } from './solve.js';
import { solveStage } from './stage.js';

export interface SolveRequest extends BuildOptions {
  vertices: BuildVertices;
  cacheSources?: CacheSource[];
}

/** Solve the plan's target: its final state, and the build args some ARG consumed. */
export async function solve(w: Worker, plan: BuildPlan, o: SolveRequest): Promise<{ state: State; consumedArgs: Set<string> }> {
  const results = new Map<number, Promise<State>>();
  const failed = new AbortController();
  const consumedArgs = new Set<string>();
  const shared = new Map<string, Promise<State>>();
  const stage = (s: Stage): Promise<State> => {
    let p = results.get(s.index);
    if (!p) {
      p = solveStage(w, s, solve);
      results.set(s.index, p);
      p.catch((e: unknown) => failed.abort(e)).finally(() => o.vertices.stageEnded(s.index));
    }
    return p;
  };
  const resolveFrom = (ref: string): Promise<State> => {
    const s = stageNamed(plan.stages, ref);
    return s ? stage(s) : baseState(w, ref, { pull: o.pull, trustKeys: o.trustKeys, progress: o.progress, stage: () => undefined });
  };
  const pending = new PendingLayers(w.d);
  const solve: Solve = { ...o, plan, escape: plan.escape, consumedArgs, stage, resolveFrom, shared, pending, present: new Map(), cleanups: [], signal: failed.signal };
  // Every needed stage starts now; independent ones overlap in time.
  for (const s of plan.needed) void stage(s);
  // A failure stops the other stages; the build answers once all of them have ended, with the first error.
  await Promise.allSettled([...results.values()]);
  // The copies are done: what they mounted to read from is unmounted before the build answers.
  const cleaned = await Promise.allSettled(solve.cleanups);
  // Nothing is mounted any more: the layers made are stored under their real chain IDs (also those of a
  // failed build, whose steps done stay cached).
  const settled = await Promise.allSettled([pending.settleAll()]);
  o.vertices.releaseAll();
  if (failed.signal.aborted) throw failed.signal.reason;
  const unclean = [...cleaned, ...settled].find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (unclean) throw unclean.reason;
  return { state: await pending.settle(await stage(plan.target)), consumedArgs };
}
