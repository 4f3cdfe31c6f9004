// One vertex: its digest (frontend/ops.ts), then a cache hit, a vertex another stage is already solving,
// a --cache-from borrow, or the work — by the executor for its kind — with the miss reason said first.
import type { Env } from '../../../lib/shell-words.js';
import type { StepContext, Worker } from '../executors/context.js';
import { copySources, type CopySources } from '../executors/copy-sources.js';
import { copyStep } from '../executors/copy.js';
import { configStep, envOf, workdir } from '../executors/metadata.js';
import { runStep } from '../executors/run.js';
import { layersPresent } from '../executors/snapshot.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { stepDigest, type StepInputs } from '../frontend/ops.js';
import type { State } from '../types.js';
import { traced } from '../../../lib/trace.js';
import { borrow, inHistoryOf } from './cache-from.js';
import { inputsRecord, missReason, readInputs, writeInputs } from './miss.js';
import type { Solve } from './solve.js';

export type StepOptions = Solve & StepContext & { noCache: boolean };

export async function solveStep(w: Worker, state: State, inst: Instruction, o: StepOptions): Promise<State> {
  // Another stage failed: this one stops here (its step shows as canceled, the error being the same).
  if (o.signal?.aborted) throw o.signal.reason;
  const env: Env = new Map([...o.args, ...envOf(state.config)]);
  const sources = inst.name === 'COPY' || inst.name === 'ADD' ? await traced(`step sources: ${inst.original.slice(0, 40)}`, copySources(w.d, inst, env, o)) : undefined;
  o.vertex.start(); // after the wait for the stages a COPY --from names
  try {
    const { inputs, key } = stepDigest(state.key, inst, { args: o.args, shell: o.shell, content: sources?.hash, network: o.networkMode });
    // The same vertex in another stage (same digest): solved once, as BuildKit merges identical vertices.
    const shareKey = o.noCache ? `${key} no-cache` : key;
    const same = o.shared.get(shareKey);
    if (same) {
      const result = await same;
      o.vertex.cached();
      return result;
    }
    const solving = traced(`step: ${inst.original.slice(0, 40)}`, resolve(w, state, inst, env, key, inputs, sources, o));
    o.shared.set(shareKey, solving);
    return await solving;
  } finally {
    // The copy is done with its source: the unmount need not hold up the next step (the build awaits it).
    if (sources) {
      const released = sources.release();
      released.catch(() => undefined);
      o.cleanups.push(released);
    }
  }
}

/** A cache hit, a --cache-from borrow, or the work by the executor for the op's kind. */
async function resolve(w: Worker, given: State, inst: Instruction, env: Env, key: string, inputs: StepInputs, sources: CopySources | undefined, o: StepOptions): Promise<State> {
  const place = inputsRecord(w.d.root, o, inst);
  // A --cache-from image is matched by the diff IDs of the layers so far: they must be known.
  const state = o.cacheSources && !o.noCache ? await o.pending.settle(given) : given;
  if (!o.noCache) {
    const hit = await cached(w, key, o.present);
    const allowed = hit && (!o.cacheSources || o.cacheSources.some((src) => inHistoryOf(hit, src)));
    if (allowed) {
      o.vertex.cached();
      return hit;
    }
    const borrowed = borrow(state, inst, env, o);
    if (borrowed) {
      o.vertex.cached();
      const next = { ...borrowed, key };
      await w.cache.put(next, { description: inst.original, layer: ['RUN', 'COPY', 'ADD'].includes(inst.name) });
      return next;
    }
    // berth says why a step missed (DESIGN.md): the first input that differs from the last build.
    const why = hit ? 'its cached result is in no --cache-from image' : missReason(await readInputs(place), inputs);
    if (why) o.vertex.miss(why);
  }
  await writeInputs(place, inputs);
  let next: State;
  switch (inst.name) {
    case 'RUN':
      next = await runStep(w, state, inst, env, o);
      break;
    case 'COPY':
    case 'ADD':
      next = await copyStep(w, state, inst, env, sources!, o);
      break;
    case 'WORKDIR':
      next = await workdir(w.d, state, inst, o);
      break;
    default:
      next = configStep(state, inst, env, o);
  }
  next = { ...next, key };
  const meta = { description: inst.original, layer: ['RUN', 'COPY', 'ADD'].includes(inst.name) };
  // Written once its layers are settled (pending.ts).
  await o.pending.record(next, (s) => w.cache.put(s, meta));
  return next;
}

/** A cached step, when every layer it names still exists (its use is recorded in the background). */
async function cached(w: Worker, key: string, present: Map<string, Promise<boolean>>): Promise<State | undefined> {
  const s = await w.cache.read(key);
  if (!s) return undefined;
  if (!(await layersPresent(w.d, s.layers, present))) return undefined;
  w.cache.touch(key);
  return s;
}
