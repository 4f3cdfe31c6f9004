// runc, driven through the one exec wrapper. The runtime is pluggable: anything with runc's CLI works.
import { run, runBounded, startProcess, type BoundedOptions, type BoundedResult } from '../../lib/exec.js';
import type { RunOptions } from './runtime.js';

export class Runc {
  constructor(
    readonly binary: string,
    /** runc's state directory (--root), under berthd's exec root. */
    readonly root: string,
  ) {}

  private argv(...args: string[]): string[] {
    return [this.binary, '--root', this.root, ...args];
  }

  /** `runc run` in the foreground: output streamed as it comes, the exit code returned. When `signal`
   *  aborts, runc gets SIGTERM (it forwards it to the container), then the container SIGKILL after 2 s. */
  run(id: string, { bundle, stdout, stderr, signal }: RunOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = startProcess(this.binary, ['--root', this.root, 'run', '--bundle', bundle, id]);
      child.stdout!.on('data', stdout);
      child.stderr!.on('data', stderr);
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(); // a build step reads no input (heredocs reach it through the shell)
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        child.kill('SIGTERM');
        timer = setTimeout(() => void run(this.argv('kill', id, 'KILL'), { allowFailure: true }).catch(() => undefined), 2000);
      };
      signal?.addEventListener('abort', stop, { once: true });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        resolve(code ?? 1);
      });
    });
  }

  async start(id: string): Promise<void> {
    await run(this.argv('start', id));
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    await run(this.argv('kill', ...(all ? ['--all'] : []), id, signal));
  }

  async pause(id: string): Promise<void> {
    await run(this.argv('pause', id));
  }

  async resume(id: string): Promise<void> {
    await run(this.argv('resume', id));
  }

  /** Remove the container, killing it first; never fails (the builder's and recovery's clean-up). */
  async delete(id: string): Promise<void> {
    await run(this.argv('delete', '--force', id), { allowFailure: true });
  }

  /** Remove the container; a running one only with force. Throws what runc reports. */
  async remove(id: string, force: boolean): Promise<void> {
    await run(this.argv('delete', ...(force ? ['--force'] : []), id));
  }

  /** Run a short program in the container, merged output capped, killed past its timeout (runBounded). */
  execBounded(id: string, args: string[], o: BoundedOptions): Promise<BoundedResult> {
    return runBounded(this.argv('exec', id, ...args), o);
  }

  /** The container's status as runc sees it, or undefined when runc does not know it. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await run(this.argv('state', id), { allowFailure: true });
    if (r.exitCode !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: string; pid: number };
    return { status: s.status, pid: s.pid };
  }

  /** Every container runc knows under its root (none when the root does not exist yet). */
  async list(): Promise<{ id: string; pid: number; status: string }[]> {
    const r = await run(this.argv('list', '--format', 'json'), { allowFailure: true });
    if (r.exitCode !== 0) return [];
    return (JSON.parse(r.stdout || 'null') as { id: string; pid: number; status: string }[] | null) ?? [];
  }

  /** PIDs of every process in the container (host PID namespace). */
  async pids(id: string): Promise<number[]> {
    const r = await run(this.argv('ps', '--format', 'json', id));
    return (JSON.parse(r.stdout) as number[] | null) ?? [];
  }

  async update(id: string, resourcesJson: string): Promise<void> {
    await run(this.argv('update', '--resources', '-', id), { input: resourcesJson });
  }
}
