// runc, driven through the one exec wrapper. The runtime is pluggable: anything with runc's CLI works.
import { CommandError, run } from '../../lib/exec.js';

/** runc start's error when its final remove of the exec fifo finds the state dir already deleted. */
const FIFO_GONE = /remove \S*\/exec\.fifo: no such file or directory/;

export class Runc {
  constructor(
    readonly binary: string,
    /** runc's state directory (--root), under berthd's exec root. */
    readonly root: string,
  ) {}

  private argv(...args: string[]): string[] {
    return [this.binary, '--root', this.root, ...args];
  }

  /** Let the created container's process run. runc start reads the exec fifo (the process then runs) and
   *  only afterwards removes the fifo; a process that exits at once can be reaped and deleted by its shim
   *  in between, and runc then fails on that remove. The process did start: that is a start, as in Docker
   *  (containerd holds the exit until start returns; here the shim's exit.json tells the exit as usual). */
  async start(id: string): Promise<void> {
    try {
      await run(this.argv('start', id));
    } catch (e) {
      if (e instanceof CommandError && FIFO_GONE.test(e.stderr)) return;
      throw e;
    }
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

  async delete(id: string): Promise<void> {
    await run(this.argv('delete', '--force', id), { allowFailure: true });
  }

  /** The container's status as runc sees it, or undefined when runc does not know it. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await run(this.argv('state', id), { allowFailure: true });
    if (r.exitCode !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: string; pid: number };
    return { status: s.status, pid: s.pid };
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
