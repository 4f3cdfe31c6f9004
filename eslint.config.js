// Lint: the recommended TypeScript rules; `any` may not cross module boundaries; the layers of
// DESIGN.md hold (imports only go down) and every external program starts in src/lib/exec.ts.
// docs/architecture/layers.md explains the table below.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Each folder of src/ and the folders it may import (besides itself). Everything else is a higher
 *  layer or a sibling it must not know; a file's own folder is always allowed. */
export const LAYERS = {
  lib: [],
  api: ['lib'],
  'image-spec': ['lib'],
  content: ['lib', 'image-spec'],
  distribution: ['lib', 'image-spec', 'api'],
  engine: ['lib', 'api', 'image-spec', 'distribution', 'content'],
  registry: ['lib', 'image-spec', 'content', 'distribution'],
  daemon: ['lib', 'api', 'image-spec', 'distribution', 'content', 'engine'],
  client: ['lib', 'api', 'image-spec'],
  compose: ['lib', 'api', 'image-spec', 'client'],
  cli: ['lib', 'api', 'image-spec', 'distribution', 'client', 'compose'],
};

/** Inside engine: mechanisms (one each, small interfaces) must not know the services that use them. */
const ENGINE_SERVICES = ['containers', 'images', 'builder', 'networks', 'volumes', 'distribution'];
const ENGINE_SERVICE_FILES = ['engine', 'housekeeping', 'system', 'recovery'];
const ENGINE_MECHANISMS = ['src/engine/snapshots/**/*.ts', 'src/engine/runtime/**/*.ts'];
const ENGINE_TOP_MECHANISMS = ['src/engine/cgroups.ts', 'src/engine/events.ts'];

const CHILD_PROCESS_MESSAGE = 'Start external programs through src/lib/exec.ts (run, startProcess, runProcessSync): one wrapper records argv and turns failure into a typed error.';
const CHILD_PROCESS = ['node:child_process', 'child_process'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A relative import that climbs to `folder` ("../../engine/x.js"). Relative imports are the only
 *  kind between our folders; a subfolder named like a forbidden layer would be over-matched, so
 *  none is named so. */
const climbsTo = (folder) => `^(\\.\\./)+${escape(folder)}(/|$)`;

/** no-restricted-imports + the same for `await import(...)` (which that rule does not see). */
function restrict({ forbidden = [], childProcess = true }) {
  const patterns = forbidden.map(({ regex, message }) => ({ regex, message }));
  const paths = childProcess ? CHILD_PROCESS.map((name) => ({ name, message: CHILD_PROCESS_MESSAGE })) : [];
  const dynamic = [
    ...forbidden.map(({ regex, message }) => ({ selector: `ImportExpression[source.value=/${regex.replace(/\//g, '\\/')}/]`, message })),
    ...(childProcess ? CHILD_PROCESS.map((name) => ({ selector: `ImportExpression[source.value='${name}']`, message: CHILD_PROCESS_MESSAGE })) : []),
  ];
  return {
    'no-restricted-imports': ['error', { paths, patterns }],
    'no-restricted-syntax': dynamic.length ? ['error', ...dynamic] : 'off',
  };
}

/** What `layer` must not import: every other layer it is not allowed. */
function upward(layer, extraAllowed = []) {
  const allowed = new Set([layer, ...LAYERS[layer], ...extraAllowed]);
  return Object.keys(LAYERS)
    .filter((other) => !allowed.has(other))
    .map((other) => ({ regex: climbsTo(other), message: `src/${layer} may not import src/${other}: imports only go down the layers (docs/architecture/layers.md).` }));
}

const mechanismRules = (prefix) => [
  ...ENGINE_SERVICES.map((s) => ({ regex: `^${escape(prefix)}${escape(s)}/`, message: `An engine mechanism may not import the ${s} service: services use mechanisms, not the reverse.` })),
  ...ENGINE_SERVICE_FILES.map((s) => ({ regex: `^${escape(prefix)}${escape(s)}\\.js$`, message: `An engine mechanism may not import ${s}.ts (a service): services use mechanisms, not the reverse.` })),
];

/** One config block per folder, then the files with exceptions (a later block replaces the rule's
 *  options for the files it matches, so each block carries the whole list). */
function layerBlocks() {
  const blocks = Object.keys(LAYERS).map((layer) => ({ files: [`src/${layer}/**/*.ts`], rules: restrict({ forbidden: upward(layer) }) }));
  blocks.push(
    { files: ENGINE_MECHANISMS, rules: restrict({ forbidden: [...upward('engine'), ...mechanismRules('../')] }) },
    { files: ENGINE_TOP_MECHANISMS, rules: restrict({ forbidden: [...upward('engine'), ...mechanismRules('./')] }) },
    // `berth registry serve` runs the registry server in the CLI's own process (a registry is a service
    // of its own, with its own root, not part of berthd): this one command may load src/registry.
    { files: ['src/cli/commands/registry.ts'], rules: restrict({ forbidden: upward('cli', ['registry']) }) },
    // The one wrapper itself.
    { files: ['src/lib/exec.ts'], rules: restrict({ forbidden: upward('lib'), childProcess: false }) },
  );
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layerBlocks(),
);
