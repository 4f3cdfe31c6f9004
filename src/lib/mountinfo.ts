// The mount table as the kernel reports it for this process (/proc/self/mountinfo).
import { readFileSync } from 'node:fs';

/** Every mount point, in the table's order (a later mount may cover an earlier one). */
export function mountPoints(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    // Field 5, with octal escapes for space, tab, newline and backslash.
    if (field) out.push(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Mount points at or under `dir`, deepest first (the order to unmount them in), each once. */
export function mountsUnder(dir: string): string[] {
  const hits = mountPoints().filter((mp) => mp === dir || mp.startsWith(dir + '/'));
  return [...new Set(hits)].sort((a, b) => b.length - a.length);
}
