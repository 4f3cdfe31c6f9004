// `docker top`: ps on the host, its rows kept to the container's processes (runc ps).
import { Conflict, InvalidParameter } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { ContainerPart } from './context.js';

export class ContainerTop extends ContainerPart {
  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const rec = this.store.get(ref);
    if (rec.state.status !== 'running' && rec.state.status !== 'paused') throw new Conflict(`Container ${rec.id} is not running`);
    const pids = new Set(await this.runtime.pids(rec.id));
    const out = (await run(['ps', ...psArgs.split(/\s+/).filter(Boolean)])).stdout.trimEnd().split('\n');
    const titles = out[0]!.trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw new InvalidParameter(`Couldn't find PID field in ps output`);
    const rows = out.slice(1).map((l) => splitPsLine(l, titles.length)).filter((r) => pids.has(Number(r[pidCol])));
    return { Titles: titles, Processes: rows };
  }
}

/** ps output has a free-form last column (CMD): split into exactly n fields. */
function splitPsLine(line: string, n: number): string[] {
  const parts = line.trim().split(/\s+/);
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(' ')];
}
