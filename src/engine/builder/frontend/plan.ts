// The frontend's entry: a Dockerfile and the build's flags become a plan — the stages the target needs,
// each as its chain of ops (ops.ts), the global ARGs' values, and the step numbering — checked before
// anything runs (target, --platform, FROM --platform).
import { InvalidParameter } from '../../../lib/errors.js';
import { expandString, parseKeyValues, type Env } from '../../../lib/shell-words.js';
import { parseDockerfile, type Instruction } from './dockerfile.js';
import { opOf, type Op } from './ops.js';
import { checkPlatform, defaultArg, PLATFORM_ARGS } from './platform.js';
import { neededStages, splitStages, type Stage } from './stages.js';

export interface BuildPlan {
  /** Every stage of the Dockerfile (references may name any of them). */
  stages: Stage[];
  /** The stages the target needs, in Dockerfile order; the target is the last. */
  needed: Stage[];
  target: Stage;
  /** Each needed stage's ops by stage index: its FROM (a source op), then one op per instruction. */
  ops: Map<number, Op[]>;
  escape: string;
  /** The global ARGs (before the first FROM), with --build-arg applied. */
  argEnv: Env;
  /** Steps across the needed stages (`Step N/total`). */
  total: number;
}

export interface PlanRequest {
  dockerfile: string;
  dockerfileName: string;
  target?: string;
  platform?: string;
  buildArgs: Record<string, string | null>;
  /** The build's own checks that come after --platform's and before the stages are planned (--network). */
  check?: () => void;
}

export function planBuild(o: PlanRequest): BuildPlan {
  const df = parseDockerfile(o.dockerfile, o.dockerfileName);
  const { stages, globalArgs } = splitStages(df.instructions, o.dockerfileName);
  const target = o.target ? stages.find((s) => s.name === o.target?.toLowerCase()) : stages[stages.length - 1];
  if (!target) throw new InvalidParameter(`failed to reach build target ${o.target} in Dockerfile`);
  for (const p of (o.platform ?? '').split(',').filter(Boolean)) checkPlatform(p);
  o.check?.();
  const argEnv: Env = new Map();
  for (const inst of globalArgs) for (const [k, v] of parseKeyValues(inst.args, argEnv, df.escape, 'ARG', false)) argEnv.set(k, o.buildArgs[k] ?? (inst.args.includes('=') ? v : ''));
  const needed = neededStages(stages, target, argEnv, df.escape);
  checkFromPlatforms(needed, argEnv, df.escape, o.dockerfileName);
  // Steps are numbered in Dockerfile order (stages run concurrently, so their lines interleave).
  const numbered: Instruction[] = needed.flatMap((s) => [s.from, ...s.instructions]);
  const ops = new Map(needed.map((s) => [s.index, [s.from, ...s.instructions].map((inst) => opOf(inst, numbered.indexOf(inst) + 1))]));
  return { stages, needed, target, ops, escape: df.escape, argEnv, total: numbered.length };
}

/** FROM --platform sees BuildKit's platform args ($BUILDPLATFORM, $TARGETPLATFORM…) and the global ARGs. */
function checkFromPlatforms(needed: Stage[], argEnv: Env, escape: string, file: string): void {
  const platformEnv: Env = new Map([...PLATFORM_ARGS.map((k): [string, string] => [k, defaultArg(k)!]), ...[...argEnv].filter(([, v]) => v !== '')]);
  for (const s of needed) {
    const raw = s.from.flags.platform?.[0];
    if (!raw) continue;
    const value = expandString(raw, platformEnv, escape);
    try {
      checkPlatform(value);
    } catch (e) {
      throw new InvalidParameter(`${file}:${s.from.line}: FROM --platform=${raw}: ${(e as Error).message}`);
    }
  }
}
