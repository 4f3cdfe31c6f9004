// The config hash: what changes it (anything that changes a container) and what does not (build,
// pull_policy, scale, replicas, depends_on, profiles, x-*, how updates roll; key order; zero values).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceConfigHash } from '../../src/compose/hash.js';
import type { ServiceConfig } from '../../src/compose/types.js';

const base: ServiceConfig = {
  image: 'busybox:1.36',
  command: ['sh', '-c', 'sleep 1d'],
  environment: { LOG_LEVEL: 'info' },
  ports: [{ target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' }],
  networks: { default: null },
  deploy: { replicas: 1, resources: { limits: { memory: 1 << 28 } } },
};
const h = serviceConfigHash(base);
const changes = (svc: ServiceConfig) => assert.notEqual(serviceConfigHash(svc), h);
const keeps = (svc: ServiceConfig) => assert.equal(serviceConfigHash(svc), h);

describe('compose config hash', () => {
  it('is a sha256 in hex, stable', () => {
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(serviceConfigHash(structuredClone(base)), h);
  });
  it('changes with what changes a container', () => {
    changes({ ...base, image: 'busybox:1.37' });
    changes({ ...base, command: ['sh'] });
    changes({ ...base, command: [] });
    changes({ ...base, environment: { LOG_LEVEL: 'debug' } });
    changes({ ...base, environment: { LOG_LEVEL: 'info', EXTRA: '' } });
    changes({ ...base, environment: { LOG_LEVEL: 'info', UNSET: null } });
    changes({ ...base, ports: [{ target: 80, published: '8081', protocol: 'tcp', mode: 'ingress' }] });
    changes({ ...base, networks: { default: { aliases: ['www'] } } });
    changes({ ...base, deploy: { replicas: 1, resources: { limits: { memory: 1 << 29 } } } });
    changes({ ...base, deploy: { ...base.deploy, restart_policy: { condition: 'on-failure' } } });
    changes({ ...base, volumes: [{ type: 'volume', target: '/data' }] });
    changes({ ...base, labels: { a: 'b' } });
    changes({ ...base, healthcheck: { test: ['CMD', 'true'], interval: '1s' } });
    changes({ ...base, init: false });
    changes({ ...base, privileged: true });
    changes({ ...base, secrets: [{ source: 's' }] });
  });
  it('does not change with build, pull_policy, scale, replicas, depends_on, profiles, x-*, develop, update/rollback config, deploy.labels', () => {
    keeps({ ...base, build: { context: '/src', dockerfile: 'Dockerfile' } });
    keeps({ ...base, pull_policy: 'always' });
    keeps({ ...base, scale: 3 });
    keeps({ ...base, deploy: { ...base.deploy, replicas: 5 } });
    keeps({ ...base, depends_on: { db: { condition: 'service_healthy', required: true, restart: true } } });
    keeps({ ...base, profiles: ['debug'] });
    keeps({ ...base, extensions: { 'x-note': 'hello' } });
    keeps({ ...base, develop: { watch: [{ path: './src', action: 'sync', target: '/app' }] } });
    keeps({ ...base, deploy: { ...base.deploy, update_config: { order: 'start-first', parallelism: 1 }, rollback_config: { parallelism: 2 }, labels: { a: 'b' } } });
  });
  it('does not change with key order or zero values written out', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as ServiceConfig;
    keeps(reordered);
    keeps({ ...base, privileged: false, read_only: false, cap_add: [], labels: {}, tty: false });
    keeps({ ...base, environment: Object.fromEntries(Object.entries(base.environment!).reverse()) });
  });
  it('with service references resolved: a recreated dependency (new container ID) changes its dependents\' hash', () => {
    const svc: ServiceConfig = { ...base, network_mode: 'service:vpn', volumes_from: ['data:ro'], networks: undefined };
    const before = serviceConfigHash(svc, { serviceContainer: (s) => `${s}-id1` });
    assert.equal(serviceConfigHash(svc, { serviceContainer: (s) => `${s}-id1` }), before);
    assert.notEqual(serviceConfigHash(svc, { serviceContainer: (s) => (s === 'vpn' ? 'vpn-id2' : `${s}-id1`) }), before);
    assert.notEqual(serviceConfigHash(svc, { serviceContainer: (s) => (s === 'data' ? 'data-id2' : `${s}-id1`) }), before);
    assert.notEqual(serviceConfigHash(svc), before, 'unresolved: the references as written');
  });
});
