// The runtime contract (runtime.ts) against berth's ShimRuntime: berth-shim monitors running runc.
import { before } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/lib/exec.js';
import { runtimeSuite } from './runtime.js';
import { makeRuntime } from './shim-runtime-factory.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

before(async () => {
  await run(['make', '-s', '-C', path.join(REPO, 'src/shim')]);
});

runtimeSuite('ShimRuntime (berth-shim + runc)', makeRuntime, { factoryModule: new URL('./shim-runtime-factory.js', import.meta.url).href });
