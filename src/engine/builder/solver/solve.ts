// One build's solve: what the solver's parts share while the graph runs.
import type { BuildPlan } from '../frontend/plan.js';
import type { Stage } from '../frontend/stages.js';
import type { PendingLayers } from '../executors/pending.js';
import type { BuildVertices } from '../progress.js';
import type { BuildOptions, State } from '../types.js';
import type { CacheSource } from './cache-from.js';

export interface Solve extends BuildOptions {
  plan: BuildPlan;
  escape: string;
  cacheSources?: CacheSource[];
  /** The build args some ARG declared (the others draw a warning). */
  consumedArgs: Set<string>;
  vertices: BuildVertices;
  /** A stage's result: solved once, shared by everything that names it. */
  stage: (s: Stage) => Promise<State>;
  /** A stage (by name or index) or an image, as COPY --from and RUN --mount from= name them. */
  resolveFrom: (ref: string) => Promise<State>;
  /** Work in flight (or done) by vertex digest: the same vertex asked twice in one build runs once. */
  shared: Map<string, Promise<State>>;
  /** Clean-up taken off the steps' path (a COPY --from source's unmount): awaited before the build ends. */
  cleanups: Promise<unknown>[];
  /** The layers this build made, hashed off the steps' path; settled before the build answers. */
  pending: PendingLayers;
  /** Layers found present in this build (cache hits check each once). */
  present: Map<string, Promise<boolean>>;
}
