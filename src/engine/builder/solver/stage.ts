// A stage's chain of ops, in order: its source (FROM), its base image's ONBUILD triggers, then each op —
// ARG only moves the key, the others are vertices (step.ts). Classic mode records each step's state as an
// image (dockerd's intermediate images), which `Step N/M`'s ` ---> <id>` names.
import { expandString, parseKeyValues, type Env } from '../../../lib/shell-words.js';
import type { Worker } from '../executors/context.js';
import { baseState } from '../executors/source.js';
import { parseDockerfile } from '../frontend/dockerfile.js';
import { argDigest, opOf, type Op } from '../frontend/ops.js';
import { defaultArg } from '../frontend/platform.js';
import type { Stage } from '../frontend/stages.js';
import type { State } from '../types.js';
import { stepImage } from '../exporter.js';
import type { Solve } from './solve.js';
import { solveStep } from './step.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

export async function solveStage(w: Worker, s: Stage, o: Solve): Promise<State> {
  const [source, ...ops] = o.plan.ops.get(s.index)!;
  const say = (text: string) => o.vertices.classicOf(s.index, text);
  const fromRef = expandString(s.from.args.split(/\s+/)[0]!, o.plan.argEnv, o.escape);
  say(`Step ${source!.step}/${o.plan.total} : ${s.from.original}\n`);
  const from = o.vertices.step(s, s.from, source!.step, { from: fromRef });
  from.start();
  const fromStage = (ref: string) => {
    const st = o.plan.stages.find((x) => x.name === ref.toLowerCase());
    return st ? o.stage(st) : undefined;
  };
  let state = await from.track(baseState(w, fromRef, { pull: o.pull, trustKeys: o.trustKeys, progress: from.relay(o.progress), stage: fromStage }));
  // The classic builder's step IDs are images (dockerd's intermediate images): a user runs one to debug.
  const classic = o.vertices.mode === 'classic';
  let image = classic ? (w.imageOf.get(state) ?? (fromRef === 'scratch' ? '' : await stepImage(w, state, undefined))) : '';
  say(` ---> ${image.slice(7, 19)}\n`);
  const args: Env = new Map();
  let shell = state.config.config?.Shell ?? DEFAULT_SHELL;
  // ONBUILD triggers run first, as ops of their own (numbered 0: `Step (onbuild)`).
  const triggers: Op[] = (state.config.config?.OnBuild ?? []).map((t) => opOf(parseDockerfile(`FROM scratch\n${t}`, 'ONBUILD').instructions[1]!, 0));
  if (triggers.length) state = { ...state, config: { ...state.config, config: { ...state.config.config, OnBuild: null } } };
  for (const op of [...triggers, ...ops]) {
    const { inst } = op;
    const trigger = triggers.includes(op);
    say(`Step ${trigger ? '(onbuild)' : op.step}/${o.plan.total} : ${inst.original}\n`);
    const vertex = o.vertices.step(s, inst, op.step, { trigger });
    if (op.kind === 'arg') {
      for (const [k, v] of parseKeyValues(inst.args, new Map([...o.plan.argEnv, ...args]), o.escape, 'ARG', false)) {
        const given = o.buildArgs[k];
        o.consumedArgs.add(k);
        args.set(k, given ?? (inst.args.includes(`${k}=`) ? v : o.plan.argEnv.get(k) ?? defaultArg(k) ?? ''));
      }
      state = { ...state, key: argDigest(state.key, args) };
      vertex.done();
      if (classic) w.imageOf.set(state, image); // no change to the image: the same one
      say(` ---> ${image.slice(7, 19)}\n`);
      continue;
    }
    if (inst.name === 'SHELL') shell = inst.json!;
    const noCache = o.noCache || (!!s.name && (o.noCacheFilter ?? []).includes(s.name));
    state = await vertex.track(solveStep(w, state, inst, { ...o, noCache, args, shell, say, vertex }));
    // A classic step is an image: its layers are settled at once.
    if (classic) state = await o.pending.settle(state);
    if (classic) image = await stepImage(w, state, image || undefined);
    say(` ---> ${image.slice(7, 19)}\n`);
  }
  return state;
}
