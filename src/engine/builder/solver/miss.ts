// Why a step missed the cache (DESIGN.md: berth says why): each Dockerfile step's inputs are recorded,
// and a miss names the first that differs from the last build's.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonIfExists } from '../../../lib/fsutil.js';
import { writeRecord } from '../records.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { sha, type StepInputs } from '../frontend/ops.js';

/** What this Dockerfile line was made of last time: per directory when berth's CLI synced it (two
 *  projects never explain each other's misses), else per Dockerfile name and line. */
export function inputsRecord(root: string, o: { contextKey?: string; dockerfileName: string }, inst: Instruction): string {
  return path.join(root, 'build', 'steps', sha(`${o.contextKey ?? ''}\n${o.dockerfileName}\n${inst.line}\n${inst.name}`) + '.json');
}

export function readInputs(place: string): Promise<StepInputs | undefined> {
  return readJsonIfExists<StepInputs>(place).catch(() => undefined);
}

export async function writeInputs(place: string, inputs: StepInputs): Promise<void> {
  await fs.mkdir(path.dirname(place), { recursive: true });
  await writeRecord(place, inputs);
}

export function missReason(before: StepInputs | undefined, now: StepInputs): string | undefined {
  if (!before) return undefined;
  if (before.instruction !== now.instruction) return 'the instruction changed';
  if (before.sources !== now.sources) return 'the files it copies changed';
  if (before.args !== now.args) return `the build args it sees changed (${now.args || 'none'})`;
  if (before.parent !== now.parent) return 'an earlier step changed';
  return 'its cached result is gone (pruned)';
}
