// The seam through which RUN runs its container: a bundle run in the foreground, output streamed as it
// comes, the exit code returned. Today this drives runc directly (through lib/exec); it is the one place
// to switch to the runtime interface.
import path from 'node:path';
import { startProcess } from '../../../lib/exec.js';

export interface RunContainerRequest {
  /** The OCI bundle (config.json, rootfs). */
  bundle: string;
  /** The step's container ID (its runc name is derived from it). */
  id: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborted: the container is stopped (SIGTERM, then SIGKILL after 2 s). */
  signal?: AbortSignal;
}

export type RunContainer = (req: RunContainerRequest) => Promise<number>;

/** `runc run` in the foreground; when `signal` aborts, runc gets SIGTERM (it forwards it to the
 *  container), then the container SIGKILL after 2 s. */
export function runcRunner(runtime: string, execRoot: string): RunContainer {
  const root = path.join(execRoot, 'runc');
  return ({ bundle, id, stdout, stderr, signal }) => {
    const name = `build-${id.slice(0, 20)}`;
    return new Promise((resolve, reject) => {
      const child = startProcess(runtime, ['--root', root, 'run', '--bundle', bundle, name]);
      child.stdout!.on('data', (d: Buffer) => stdout(d.toString()));
      child.stderr!.on('data', (d: Buffer) => stderr(d.toString()));
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(); // a step reads no input (heredocs reach it through the shell)
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        child.kill('SIGTERM');
        timer = setTimeout(() => startProcess(runtime, ['--root', root, 'kill', name, 'KILL'], { stdio: 'ignore' }).on('error', () => undefined), 2000);
      };
      signal?.addEventListener('abort', stop, { once: true });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        resolve(code ?? 1);
      });
    });
  };
}
