// Stage planning: the Dockerfile's FROM lines cut it into stages (the ARGs before the first are global),
// and the target needs only the stages it reaches through FROM <stage>, COPY --from and RUN --mount from.
import { InvalidParameter } from '../../../lib/errors.js';
import { expandString, type Env } from '../../../lib/shell-words.js';
import type { Instruction } from './dockerfile.js';

export interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

export function splitStages(instructions: Instruction[], file: string): { stages: Stage[]; globalArgs: Instruction[] } {
  const stages: Stage[] = [];
  const globalArgs: Instruction[] = [];
  for (const inst of instructions) {
    if (inst.name === 'FROM') {
      const words = inst.args.split(/\s+/);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') name = words[2]!.toLowerCase();
      else if (words.length !== 1) throw new InvalidParameter(`failed to parse ${file}: line ${inst.line}: FROM requires either one or three arguments`);
      if (name && stages.some((s) => s.name === name)) throw new InvalidParameter(`failed to parse ${file}: line ${inst.line}: duplicate stage name "${name}"`);
      stages.push({ index: stages.length, name, from: inst, instructions: [] });
    } else if (!stages.length) globalArgs.push(inst);
    else stages[stages.length - 1]!.instructions.push(inst);
  }
  return { stages, globalArgs };
}

/** The stage a reference names (by name or by index), when it is one. */
export function stageNamed(stages: Stage[], ref: string): Stage | undefined {
  return stages.find((s) => s.name === ref.toLowerCase() || String(s.index) === ref);
}

/** The target and the stages it depends on (FROM <stage>, COPY --from=<stage>), checked for cycles. */
export function neededStages(stages: Stage[], target: Stage, argEnv: Env, escape: string): Stage[] {
  const byRef = (ref: string, before: number) => stages.find((s) => (s.name === ref.toLowerCase() || String(s.index) === ref) && s.index < before);
  const needed = new Set<number>();
  const visit = (s: Stage) => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    const base = byRef(expandString(s.from.args.split(/\s+/)[0]!, argEnv, escape), s.index);
    if (base) visit(base);
    for (const inst of s.instructions) {
      const from = inst.flags.from?.[0];
      if (!from) continue;
      const dep = byRef(from, s.index);
      if (dep) visit(dep);
      else if (stages.some((x) => x.name === from.toLowerCase())) throw new InvalidParameter(`stage "${from}" is used by stage ${s.index} before it is defined (a stage can only copy from earlier stages)`);
    }
  };
  visit(target);
  return stages.filter((s) => needed.has(s.index));
}
