// The seam through which RUN runs its container: a bundle run in the foreground through the runtime
// interface (Runtime.run: no monitor, output streamed as it comes, the exit code returned).
import type { Runtime } from '../../runtime/runtime.js';

export interface RunContainerRequest {
  /** The OCI bundle (config.json, rootfs). */
  bundle: string;
  /** The step's container ID (its runtime name is derived from it). */
  id: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborted: the container is stopped (SIGTERM, then SIGKILL after 2 s). */
  signal?: AbortSignal;
}

export type RunContainer = (req: RunContainerRequest) => Promise<number>;

/** RUN's containers through `runtime`, named build-<id prefix> (recovery clears leftovers by that name). */
export function runWith(runtime: Runtime): RunContainer {
  return ({ bundle, id, stdout, stderr, signal }) =>
    runtime.run(`build-${id.slice(0, 20)}`, { bundle, stdout: (b) => stdout(b.toString()), stderr: (b) => stderr(b.toString()), signal });
}
