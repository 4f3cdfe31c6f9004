// The config hash: what `up` compares to decide whether a container is up to date. Compose v2 hashes
// the service's config (without the keys that do not change a container: build, pull_policy, scale,
// deploy.replicas, depends_on's restart…); a differing hash means recreate.
// FIRST CUT: a sha256 of the service's JSON; the hash work defines the exact key set and the
// human-readable reasons ("image changed", "environment.LOG_LEVEL changed").
import { createHash } from 'node:crypto';
import type { ServiceConfig } from './types.js';

export function serviceConfigHash(service: ServiceConfig): string {
  const { build: _b, pull_policy: _p, scale: _s, ...rest } = service;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}
