// No import loops between folders: the graph of src/ at folder granularity (each top-level folder, and
// each folder or file directly under src/engine) has no cycle. A loop ties two folders into one unit
// that can only be understood, tested and changed together (docs/architecture/layers.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = path.join(REPO, 'src');

/** Edges tolerated, each with why (none today: keep it that way). */
const ALLOWED = new Set<string>();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The folder a file of src/ belongs to: "cli", "engine/containers", "engine/events" (a file of engine). */
function unitOf(file: string, split: boolean): string | undefined {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts[0] === '..' || parts.length < 2) return undefined;
  if (parts[0] !== 'engine' || !split) return parts[0];
  return 'engine/' + parts[1]!.replace(/\.(ts|js)$/, '');
}

/** Folder → folders it imports (static, type-only, re-exports and dynamic imports alike). */
function importGraph(split: boolean): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = unitOf(file, split);
    if (!from) continue;
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = unitOf(path.resolve(path.dirname(file), fileName), split);
      if (!to || to === from || ALLOWED.has(`${from} -> ${to}`)) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      // One example import per edge, to name in a failure.
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${path.relative(REPO, file)} imports ${fileName}`);
    }
  }
  return graph;
}

/** The strongly connected components with more than one folder (Tarjan). */
function loops(graph: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

function describeLoops(graph: Map<string, Map<string, string>>, found: string[][]): string {
  return found
    .map((scc) => {
      const members = new Set(scc);
      const edges = scc.flatMap((a) => [...(graph.get(a) ?? [])].filter(([b]) => members.has(b)).map(([b, why]) => `  ${a} -> ${b} (${why})`));
      return `loop between ${scc.join(', ')}:\n${edges.join('\n')}`;
    })
    .join('\n');
}

describe('import graph', () => {
  it('has no loop between the folders of src/engine and the other top-level folders', () => {
    const graph = importGraph(true);
    assert.ok(graph.get('engine/containers')?.size, 'the graph was read (engine/containers imports something)');
    const found = loops(graph);
    assert.deepEqual(found, [], describeLoops(graph, found));
  });

  it('has no loop between the top-level folders of src/', () => {
    const graph = importGraph(false);
    const found = loops(graph);
    assert.deepEqual(found, [], describeLoops(graph, found));
  });

  it('finds a loop when there is one', () => {
    const graph = new Map([
      ['a', new Map([['b', 'x']])],
      ['b', new Map([['c', 'y']])],
      ['c', new Map([['a', 'z']])],
      ['d', new Map([['a', 'w']])],
    ]);
    assert.deepEqual(loops(graph), [['a', 'b', 'c']]);
  });
});
