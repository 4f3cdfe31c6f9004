// The per-phase breakdown of a traced command (BENCH_TRACE=1): berthd, its shims and the CLI append spans
// to one file (src/lib/trace.ts, BERTH_TRACE=FILE); each timed run is a window [t0, t1] of epoch time, and
// the spans inside it are that run's phases. Printed: each phase's median start (ms after the CLI was
// spawned), median duration, and how many times it happened per run — in order of start.
import { existsSync, readFileSync } from 'node:fs';
import { median } from './lib.js';

export interface Window {
  t0: number;
  t1: number;
}

interface Span {
  p: number;
  n: string;
  s: number;
  e: number;
}

export function readSpans(file: string): Span[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Span);
}

/** Print the table; returns its rows (name → median start, duration) for callers that compare. */
export function printTrace(title: string, file: string, windows: Window[]): Map<string, { start: number; dur: number; count: number }> {
  const spans = readSpans(file);
  const per = new Map<string, { starts: number[]; durs: number[]; counts: number[] }>();
  windows.forEach((w, i) => {
    const mine = spans.filter((s) => s.s >= w.t0 - 1 && s.s <= w.t1);
    const byName = new Map<string, { start: number; dur: number; count: number }>();
    for (const s of mine) {
      const cur = byName.get(s.n);
      if (cur) {
        cur.dur += s.e - s.s;
        cur.count++;
      } else byName.set(s.n, { start: s.s - w.t0, dur: s.e - s.s, count: 1 });
    }
    for (const [n, v] of byName) {
      const row = per.get(n) ?? { starts: [], durs: [], counts: [] };
      row.starts.push(v.start);
      row.durs.push(v.dur);
      row.counts.push(v.count);
      per.set(n, row);
    }
    void i;
  });
  const rows = new Map([...per].map(([n, r]) => [n, { start: median(r.starts), dur: median(r.durs), count: median(r.counts) }] as const));
  const sorted = [...rows].sort((a, b) => a[1].start - b[1].start);
  const total = median(windows.map((w) => w.t1 - w.t0));
  console.log(`\n${title}: per-phase trace, medians of ${windows.length} runs (ms after the CLI was spawned; whole run ${total.toFixed(1)} ms)`);
  console.log(`${'phase'.padEnd(52)} ${'start'.padStart(7)} ${'took'.padStart(7)} ${'end'.padStart(7)}  n`);
  for (const [n, r] of sorted) {
    console.log(`${n.slice(0, 52).padEnd(52)} ${r.start.toFixed(1).padStart(7)} ${r.dur.toFixed(1).padStart(7)} ${(r.start + r.dur).toFixed(1).padStart(7)}  ${r.count}`);
  }
  return rows;
}
