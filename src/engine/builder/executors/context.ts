// What every executor is handed: the Worker (what the builder is built on — images, snapshotter, networks,
// the cache — and the seam RUN runs containers through) and the step's context from the solver.
import type { Env } from '../../../lib/shell-words.js';
import type { BuildCache } from '../cache.js';
import type { StepVertex } from '../progress.js';
import type { BuilderDeps, BuildOptions, State } from '../types.js';
import type { PendingLayers } from './pending.js';
import type { RunContainer } from './run-container.js';

export interface Worker {
  d: BuilderDeps;
  cache: BuildCache;
  /** The image each state was recorded as (classic builds' step images, and FROM's image): ` ---> <id>`. */
  imageOf: WeakMap<State, string>;
  /** How RUN runs its container in the foreground (runc today): the one place a step starts a process. */
  runContainer: RunContainer;
}

/** One step as the solver hands it to an executor. */
export interface StepContext extends BuildOptions {
  escape: string;
  /** The build args in scope in this stage. */
  args: Env;
  /** The SHELL in force. */
  shell: string[];
  /** A stage (by name or index) or an image, as COPY --from and RUN --mount from= name them. */
  resolveFrom: (ref: string) => Promise<State>;
  /** A classic-mode line of this stage's output. */
  say: (text: string) => void;
  vertex: StepVertex;
  /** Clean-up taken off the steps' path (a snapshot's removal): the build awaits it before answering. */
  cleanups?: Promise<unknown>[];
  /** The build's layers not hashed yet: a step's layer is staged there (pending.ts). */
  pending: PendingLayers;
}

/** A step as errors name it: "Dockerfile:3: RUN <<EOS". */
export function stepName(o: { dockerfileName: string }, inst: { line: number; original: string }): string {
  return `${o.dockerfileName}:${inst.line}: ${inst.original}`;
}
