// The CLI's shape: a command file (src/cli/commands/*.ts) parses its flags and calls flows that live in
// modules of their own under src/cli/ (create.ts, attach.ts, pull.ts …); it never imports another
// command file, and compose's commands (src/cli/compose/) do not reach into them either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COMMANDS = path.join(REPO, 'src/cli/commands');

/** Every module specifier of a source: static imports and re-exports, and dynamic import(). */
function importSpecifiers(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const re of [/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g])
    for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

/** The command files that `file` imports ("run.ts" for './run.js' or '../commands/run.js'). */
function commandImports(file: string): string[] {
  const dir = path.dirname(file);
  return importSpecifiers(readFileSync(file, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(dir, s))
    .filter((target) => path.dirname(target) === COMMANDS)
    .map((target) => path.basename(target).replace(/\.js$/, '.ts'));
}

const tsFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.ts')).map((n) => path.join(dir, n));

test('import specifiers are found in all their forms', () => {
  const src = [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    "import {\n  c,\n  d,\n} from './cd.js';",
    "export { e } from './e.js';",
    "import './side.js';",
    "const m = await import('./lazy.js');",
    "// import { no } from './comment.js';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(src).sort(), ['../b.js', './a.js', './cd.js', './e.js', './lazy.js', './side.js']);
});

test('no command file imports another command file', () => {
  const offenders = tsFiles(COMMANDS).flatMap((file) => commandImports(file).map((t) => `${path.basename(file)} -> ${t}`));
  assert.deepEqual(offenders, [], 'shared flows belong in src/cli/*.ts, not in a command file');
});

test('compose commands do not import docker command files', () => {
  const offenders = tsFiles(path.join(REPO, 'src/cli/compose'))
    .flatMap((file) => commandImports(file).map((t) => `${path.basename(file)} -> ${t}`));
  assert.deepEqual(offenders, [], 'shared flows belong in src/cli/*.ts, not in a command file');
});
