// The builder's shared vocabulary: what a build is asked (BuildSettings, BuildOptions), what it is built on
// (BuilderDeps), and the state each operation hands the next (State).
import type { JSONMessage } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import type { TrustedKey } from '../../distribution/cosign.js';
import type { OciImageConfig } from '../../api/image-config.js';
import type { ImagesService } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import type { NetworksService } from '../networks/service.js';
import type { DistributionService } from '../distribution/service.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LayerStore } from '../snapshots/layers.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { ProgressMode } from './progress.js';
import type { DigestCache } from './executors/digests.js';

/** What the user asked of a build (`docker build`'s flags), as the API carries them. */
export interface BuildSettings {
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** Content trust asked by the client (X-Berth-Trust): FROM of an image needs a signature from one of these keys. */
  trustKeys?: TrustedKey[];
  /** --secret id=…: contents by id, mounted by RUN --mount=type=secret (never stored). */
  secrets?: Record<string, Buffer>;
  /** --no-cache-filter: stages (by name) that run without the cache. */
  noCacheFilter?: string[];
  /** --cache-from: only cached steps in these images' history are hits (none at all when none exists). */
  cacheFrom?: string[];
  /** --platform: only this host's linux/<arch> (checked, with FROM --platform, before anything runs). */
  platform?: string;
  /** --network: RUN's network when it names none or "default" (default, bridge, none, host, or a user-defined network). */
  networkMode?: string;
  /** --add-host: "name:address" lines added to RUN's /etc/hosts. */
  extraHosts?: string[];
  /** classic: the legacy builder's lines (what the docker CLI gets); vertex: one vertex per step (progress.ts). */
  progressMode?: ProgressMode;
}

export interface BuildOptions extends BuildSettings {
  contextDir: string;
  /** Content digests of a kept context's files (see contexts.ts). */
  contextDigests?: DigestCache;
  /** Settles once the context's files are in place (a kept context is still being written as steps start). */
  contextReady?: Promise<void>;
  /** The kept context's key (the client's directory): it scopes the records that explain cache misses. */
  contextKey?: string;
  /** The Dockerfile's text, and its name (for messages). */
  dockerfile: string;
  dockerfileName: string;
  progress: (m: JSONMessage) => void;
  /** Aborted (with the error) when a stage fails: the other stages stop, as BuildKit cancels them. */
  signal?: AbortSignal;
}

export interface BuilderDeps {
  root: string;
  execRoot: string;
  /** Runs RUN's containers (Runtime.run). */
  runtime: Runtime;
  images: ImagesService;
  snapshotter: Snapshotter;
  /** The extracted layers by chain ID, which the cache checks and COPY --link extracts into. */
  layers: LayerStore;
  networks: NetworksService;
  distribution: DistributionService;
}

/** A stage's state after each operation: what the next one builds on. `key` is the vertex digest of the
 *  operation that made it (the cache key). */
export interface State {
  config: OciImageConfig;
  layers: LayerRef[];
  key: string;
}

/** A RUN step's command failed: dockerd reports its exit code as the build error's code. */
export class RunFailed extends InvalidParameter {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
