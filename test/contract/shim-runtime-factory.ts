// ShimRuntime over a state directory, as the contract suite builds it (also from a child process).
import path from 'node:path';
import { ShimRuntime } from '../../src/engine/runtime/shim-runtime.js';

export function makeRuntime(stateDir: string): ShimRuntime {
  return new ShimRuntime({ binary: '/usr/sbin/runc', root: path.join(stateDir, 'runc'), stateRoot: stateDir });
}
