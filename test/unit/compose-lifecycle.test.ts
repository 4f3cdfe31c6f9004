// The pure parts of down/stop/start/restart: which services a named one drags along, the
// depends_on label read back from a container, and the refusal of unknown service names.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dependentsOf, selectServices } from '../../src/compose/lifecycle.js';
import { withDependencies } from '../../src/compose/graph.js';
import { dependsOn } from '../../src/compose/observed.js';
import type { Project, ServiceConfig } from '../../src/compose/types.js';

function project(services: Record<string, ServiceConfig>, disabled: Record<string, ServiceConfig> = {}): Project {
  return { name: 'p', workingDir: '/', composeFiles: [], environment: {}, profiles: [], services, disabledServices: disabled, networks: {}, volumes: {}, secrets: {}, configs: {} };
}
const dep = (restart = false) => ({ condition: 'service_started' as const, required: true, restart });

// web → api → db; cache alone; worker → db with restart: true
const P = project({
  db: {},
  api: { depends_on: { db: dep() } },
  web: { depends_on: { api: dep() } },
  worker: { depends_on: { db: dep(true) } },
  cache: {},
});

describe('compose lifecycle planning', () => {
  it('down/stop of a service takes its dependents along, transitively', () => {
    assert.deepEqual(dependentsOf(P, ['db']).sort(), ['api', 'db', 'web', 'worker']);
    assert.deepEqual(dependentsOf(P, ['api']).sort(), ['api', 'web']);
    assert.deepEqual(dependentsOf(P, ['cache']), ['cache']);
  });

  it('restart follows only depends_on entries with restart: true', () => {
    const onlyRestart = (dependent: string, dependency: string) => P.services[dependent]?.depends_on?.[dependency]?.restart === true;
    assert.deepEqual(dependentsOf(P, ['db'], onlyRestart).sort(), ['db', 'worker']);
  });

  it('start of a service starts what it depends on, transitively', () => {
    assert.deepEqual(withDependencies(P, ['web']).sort(), ['api', 'db', 'web']);
    assert.deepEqual(withDependencies(P, ['cache']), ['cache']);
  });

  it('links, volumes_from and network_mode: service: count as dependencies', () => {
    const q = project({ a: {}, b: { links: ['a:alias'] }, c: { volumes_from: ['b:ro'] }, d: { network_mode: 'service:c' } });
    assert.deepEqual(dependentsOf(q, ['a']).sort(), ['a', 'b', 'c', 'd']);
  });

  it('an unknown service is an error with a file, skipped from labels alone', () => {
    assert.throws(() => selectServices(P, ['web', 'nosuch'], true), { message: 'no such service: nosuch' });
    assert.deepEqual(selectServices(P, ['web', 'nosuch'], false), ['web']);
    const withProfile = project({ a: {} }, { b: {} });
    assert.deepEqual(selectServices(withProfile, ['b'], true), ['b'], 'a service of an inactive profile is known');
  });

  it('the depends_on label as Compose v2 writes it, and the older names-only form', () => {
    assert.deepEqual(dependsOn('db:service_healthy:false,cache:service_started:true'), {
      db: { condition: 'service_healthy', required: true, restart: false },
      cache: { condition: 'service_started', required: true, restart: true },
    });
    assert.deepEqual(dependsOn('db'), { db: { condition: 'service_started', required: true, restart: true } });
    assert.deepEqual(dependsOn('x:running_or_healthy:false'), { x: { condition: 'service_started', required: true, restart: false } });
    assert.deepEqual(dependsOn(''), {});
  });
});
