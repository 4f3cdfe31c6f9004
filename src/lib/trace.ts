// Phase timestamps for the path of a container (`BERTH_TRACE=FILE`): the CLI and berthd each append one
// JSON line per finished span — {"p":pid,"n":name,"s":start,"e":end}, times in epoch milliseconds with
// sub-millisecond precision, so lines from different processes line up. bench/run-container.ts
// (BENCH_TRACE=1) turns them into a per-phase table. Off (the variable unset) a span is one branch.
import { appendFileSync } from 'node:fs';

const FILE = process.env.BERTH_TRACE || undefined;

/** Whether spans are being recorded. */
export const tracing = FILE !== undefined;

/** Milliseconds since the epoch, fractional. */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

let muted = false;

/** Run work without recording its spans: a warm CLI child's rehearsal (cli/warm/rehearse.ts) is nobody's
 *  command. (Only for a process that runs nothing else meanwhile.) */
export async function untraced<T>(work: () => Promise<T>): Promise<T> {
  muted = true;
  try {
    return await work();
  } finally {
    muted = false;
  }
}

/** Record a finished span (start and end in traceNow() time). */
export function traceSpan(name: string, start: number, end = traceNow()): void {
  if (!FILE || muted) return;
  try {
    appendFileSync(FILE, JSON.stringify({ p: process.pid, n: name, s: start, e: end }) + '\n');
  } catch {
    // a trace must never break what it measures
  }
}

/** Time a promise (or a function's) under a name; returns what it returns, rethrows what it throws. */
export function traced<T>(name: string, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  if (!FILE) return typeof work === 'function' ? work() : work;
  const start = traceNow();
  const p = typeof work === 'function' ? work() : work;
  return p.finally(() => traceSpan(name, start));
}

/** Start a span now; calling the result ends it. */
export function traceStart(name: string): () => void {
  if (!FILE) return noop;
  const start = traceNow();
  return () => traceSpan(name, start);
}

function noop(): void {}
