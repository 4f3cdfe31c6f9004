// The layer rules of eslint.config.js (docs/architecture/layers.md): an upward import or a direct spawn fails
// the lint step. Snippets are linted as if they were files at the given paths.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let eslint: ESLint;

/** The messages of the layer rules for `code` at `file` (other rules, e.g. unused imports, ignored). */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax' || m.fatal).map((m) => m.message);
}

async function assertRefused(file: string, code: string, why: RegExp): Promise<void> {
  const errors = await layerErrors(file, code);
  assert.equal(errors.length, 1, `${file}: ${code} should be refused, got ${JSON.stringify(errors)}`);
  assert.match(errors[0]!, why);
}

async function assertAllowed(file: string, code: string): Promise<void> {
  assert.deepEqual(await layerErrors(file, code), [], `${file}: ${code} should be allowed`);
}

describe('lint: layers', () => {
  before(() => {
    eslint = new ESLint({ cwd: REPO });
  });

  it('refuses an upward import', async () => {
    await assertRefused('src/engine/x.ts', "export { main } from '../cli/main.js';", /src\/engine may not import src\/cli/);
    await assertRefused('src/engine/containers/x.ts', "import { main } from '../../cli/main.js';\nmain();", /src\/engine may not import src\/cli/);
    await assertRefused('src/cli/commands/x.ts', "import type { ImagesService } from '../../engine/images/service.js';\nexport type T = ImagesService;", /src\/cli may not import src\/engine/);
    await assertRefused('src/lib/x.ts', "import { startEngine } from '../engine/engine.js';\nstartEngine();", /src\/lib may not import src\/engine/);
    await assertRefused('src/client/x.ts', "import { commands } from '../cli/commands/files.js';\nexport { commands };", /src\/client may not import src\/cli/);
    await assertRefused('src/registry/x.ts', "import { x } from '../daemon/main.js';\nx();", /src\/registry may not import src\/daemon/);
  });

  it('sees dynamic imports too', async () => {
    await assertRefused('src/cli/commands/x.ts', "export const m = await import('../../engine/engine.js');", /src\/cli may not import src\/engine/);
  });

  it('allows imports that go down', async () => {
    await assertAllowed('src/engine/containers/x.ts', "import { run } from '../../lib/exec.js';\nimport { parseNormalizedNamed } from '../../image-spec/reference.js';\nimport { ImagesService } from '../images/service.js';\nexport { run, parseNormalizedNamed, ImagesService };");
    await assertAllowed('src/cli/commands/x.ts', "import { Engine } from '../../client/engine.js';\nimport { RegistryClient } from '../../distribution/registry.js';\nexport { Engine, RegistryClient };");
    await assertAllowed('src/daemon/routes/x.ts', "import { startEngine } from '../../engine/engine.js';\nexport { startEngine };");
  });

  it('lets only `registry serve` load the registry server', async () => {
    await assertAllowed('src/cli/commands/registry.ts', "export const m = await import('../../registry/server.js');");
    await assertRefused('src/cli/commands/files.ts', "export const m = await import('../../registry/server.js');", /src\/cli may not import src\/registry/);
  });

  it('keeps engine mechanisms below the services', async () => {
    await assertRefused('src/engine/snapshots/x.ts', "import type { ContainerRecord } from '../containers/record.js';\nexport type T = ContainerRecord;", /mechanism may not import the containers service/);
    await assertRefused('src/engine/runtime/x.ts', "import { ImagesService } from '../images/service.js';\nexport { ImagesService };", /mechanism may not import the images service/);
    await assertAllowed('src/engine/runtime/x.ts', "import { spec } from './spec.js';\nimport { errors } from '../../lib/errors.js';\nexport { spec, errors };");
  });
});

describe('lint: one spawn wrapper', () => {
  before(() => {
    eslint ??= new ESLint({ cwd: REPO });
  });

  it('refuses node:child_process outside src/lib/exec.ts', async () => {
    await assertRefused('src/engine/x.ts', "import { spawn } from 'node:child_process';\nspawn('true');", /src\/lib\/exec\.ts/);
    await assertRefused('src/client/x.ts', "import { execFile } from 'child_process';\nexecFile('true');", /src\/lib\/exec\.ts/);
    await assertRefused('src/lib/gzip.ts', "import { spawnSync } from 'node:child_process';\nspawnSync('true');", /src\/lib\/exec\.ts/);
  });

  it('allows it in src/lib/exec.ts', async () => {
    await assertAllowed('src/lib/exec.ts', "import { spawn } from 'node:child_process';\nspawn('true');");
  });
});
