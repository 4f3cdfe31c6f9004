// The builder, shaped as BuildKit is: the frontend (frontend/) turns the Dockerfile and the build's flags
// into a plan — the needed stages as chains of ops, each keyed by the digest of its definition and its
// inputs —; the solver (solver/) schedules that graph (stages concurrently, identical work once, cache
// lookups with miss reasons, cancellation); the executors (executors/) do each op's work — RUN in a
// container, COPY/ADD into a snapshot, metadata in the config —; the exporter writes the image.
import { InvalidParameter } from '../../lib/errors.js';
import { traced } from '../../lib/trace.js';
import type { LayerRef } from '../images/store.js';
import { BuildCache } from './cache.js';
import type { Worker } from './executors/context.js';
import { runWith } from './executors/run-container.js';
import { exportImage } from './exporter.js';
import { planBuild } from './frontend/plan.js';
import { PREDEFINED_ARGS } from './frontend/platform.js';
import { BuildVertices } from './progress.js';
import { cacheSources } from './solver/cache-from.js';
import { solve } from './solver/solver.js';
import { RunFailed, type BuilderDeps, type BuildOptions } from './types.js';

export { RunFailed };
export type { BuilderDeps, BuildOptions, BuildSettings } from './types.js';

const NETWORK_MODES = ['default', 'bridge', 'none', 'host'];

export class Builder {
  /** The step records, their accounting, prune, and COPY --link results (cache.ts). */
  readonly cache: BuildCache;
  private readonly worker: Worker;

  constructor(private readonly d: BuilderDeps) {
    this.cache = new BuildCache(d);
    this.worker = { d, cache: this.cache, imageOf: new WeakMap(), runContainer: runWith(d.runtime) };
  }

  /** Cached steps name layers too: image garbage collection keeps them (until `builder prune`). */
  cacheRoots(): Promise<LayerRef[][]> {
    return this.cache.roots();
  }

  async build(o: BuildOptions): Promise<string> {
    const plan = planBuild({ ...o, check: () => this.checkNetwork(o.networkMode) });
    const vertices = new BuildVertices(o.progressMode ?? 'classic', o.progress, plan.total, plan.stages);
    vertices.runs(plan.needed.map((s) => s.index));
    const sources = o.cacheFrom?.length ? await cacheSources(this.worker, o.cacheFrom) : undefined;
    const { state, consumedArgs } = await traced('build: solve', solve(this.worker, plan, { ...o, vertices, cacheSources: sources }));
    const unused = Object.keys(o.buildArgs).filter((k) => !consumedArgs.has(k) && !PREDEFINED_ARGS.includes(k));
    if (unused.length) o.progress({ stream: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n` });
    return traced('build: export', exportImage(this.worker, state, o, vertices));
  }

  /** Like dockerd's classic builder, RUN may join a user-defined network (it must exist: a 404 before any step). */
  private checkNetwork(mode: string | undefined): void {
    if (!mode || NETWORK_MODES.includes(mode)) return;
    if (mode.includes(':')) throw new InvalidParameter(`network mode "${mode}" is not supported for builds: use default, bridge, none or host, or a user-defined network's name`);
    this.d.networks.get(mode);
  }
}
