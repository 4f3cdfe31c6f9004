// Rolling updates against a fake engine: the order of starts and stops, batches, names, and what each
// failure_action leaves behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInspect, ContainerSummary } from '../../src/api/types.js';
import { ApiError } from '../../src/client/errors.js';
import { batches, failureTriggersAction, rollingUpdate, updatePolicy, type RollingBackend } from '../../src/compose/rolling.js';
import { silentProgress } from '../../src/compose/progress.js';
import { ComposeError, type Project, type UpdateConfig } from '../../src/compose/types.js';

interface FakeContainer {
  id: string;
  name: string;
  number: number;
  running: boolean;
  /** How the container behaves once started. */
  fate: 'healthy' | 'unhealthy' | 'exits';
  /** Its aliases on the project network (what the embedded DNS answers for). */
  aliases: string[];
}

/** A tiny engine: containers, their names, and a log of what was done to them. */
class FakeEngine implements RollingBackend {
  readonly containers = new Map<string, FakeContainer>();
  readonly log: string[] = [];
  private next = 0;
  /** How many new containers run at the same moment as the replicas they replace (overlap). */
  maxRunning = 0;

  add(number: number, name: string, fate: FakeContainer['fate'], running = false): FakeContainer {
    const c = { id: `${String(++this.next).padStart(2, '0')}${'a'.repeat(62)}`, name, number, running, fate, aliases: ['web'] };
    this.containers.set(c.id, c);
    return c;
  }

  summary(c: FakeContainer): ContainerSummary {
    return {
      Id: c.id,
      Names: [`/${c.name}`],
      State: c.running ? 'running' : 'exited',
      Labels: { 'com.docker.compose.container-number': String(c.number) },
    } as unknown as ContainerSummary;
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new ApiError(404, `No such container: ${id}`);
    return c;
  }

  private runningCount(): number {
    return [...this.containers.values()].filter((c) => c.running).length;
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    const c = this.get(id);
    const health = c.running ? (c.fate === 'unhealthy' ? 'unhealthy' : 'healthy') : undefined;
    const exited = c.fate === 'exits';
    return Promise.resolve({
      Id: c.id,
      State: {
        Status: c.running && !exited ? 'running' : 'exited',
        Running: c.running && !exited,
        Restarting: false,
        ExitCode: exited ? 3 : 0,
        Error: '',
        Health: health ? { Status: health, FailingStreak: 0, Log: [] } : undefined,
      },
      NetworkSettings: { Networks: { app_default: { Aliases: c.aliases, IPAMConfig: null } } },
    } as unknown as ContainerInspect);
  }

  startContainer(id: string): Promise<void> {
    const c = this.get(id);
    c.running = true;
    this.maxRunning = Math.max(this.maxRunning, this.runningCount());
    this.log.push(`start ${c.name}`);
    return Promise.resolve();
  }

  stopContainer(id: string): Promise<void> {
    const c = this.get(id);
    c.running = false;
    this.log.push(`stop ${c.name}`);
    return Promise.resolve();
  }

  removeContainer(id: string): Promise<void> {
    const c = this.get(id);
    this.containers.delete(id);
    this.log.push(`rm ${c.name}`);
    return Promise.resolve();
  }

  renameContainer(id: string, name: string): Promise<void> {
    const c = this.get(id);
    if ([...this.containers.values()].some((o) => o.name === name && o !== c)) {
      return Promise.reject(new ApiError(409, `Conflict. The container name "/${name}" is already in use`));
    }
    this.log.push(`rename ${c.name} -> ${name}`);
    c.name = name;
    return Promise.resolve();
  }

  disconnectNetwork(network: string, id: string): Promise<void> {
    this.get(id).aliases = [];
    return Promise.resolve();
  }

  connectNetwork(network: string, id: string, endpoint: { Aliases?: string[] | null } = {}): Promise<void> {
    const c = this.get(id);
    c.aliases = endpoint.Aliases ?? [];
    this.log.push(`connect ${c.name} ${network} [${c.aliases.join(',')}]`);
    return Promise.resolve();
  }

  names(): string[] {
    return [...this.containers.values()].map((c) => `${c.name}${c.running ? '' : ' (stopped)'}:${c.fate}`).sort();
  }
}

function project(update: UpdateConfig, rollback?: UpdateConfig, ports?: Project['services'][string]['ports']): Project {
  return {
    name: 'app',
    workingDir: '/tmp',
    composeFiles: [],
    environment: {},
    profiles: [],
    services: { web: { image: 'busybox', ports, deploy: { replicas: 2, update_config: update, rollback_config: rollback } } },
    disabledServices: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
  };
}

/** The engine with n running old replicas, and a create function making new ones with the given fates. */
function setUp(n: number, fates: FakeContainer['fate'][]) {
  const engine = new FakeEngine();
  const old = Array.from({ length: n }, (_, i) => engine.add(i + 1, `app-web-${i + 1}`, 'healthy', true));
  let k = 0;
  const create = (number: number, name: string): Promise<string> => {
    engine.log.push(`create ${name}`);
    return Promise.resolve(engine.add(number, name, fates[k++] ?? 'healthy').id);
  };
  return { engine, old: old.map((c) => engine.summary(c)), create };
}

const fast = { pollMs: 0, sleep: () => Promise.resolve() };

describe('update policy', () => {
  it("applies Swarm's defaults", () => {
    assert.deepEqual(updatePolicy(undefined, 'update', 'web'), {
      parallelism: 1,
      delayMs: 0,
      failureAction: 'pause',
      monitorMs: 0,
      maxFailureRatio: 0,
      order: 'stop-first',
    });
  });

  it('reads durations, numbers given as strings, and refuses bad values naming the key', () => {
    const p = updatePolicy({ parallelism: '2' as unknown as number, delay: '1m30s', monitor: '500ms', order: 'start-first' }, 'update', 'web');
    assert.equal(p.parallelism, 2);
    assert.equal(p.delayMs, 90_000);
    assert.equal(p.monitorMs, 500);
    assert.throws(() => updatePolicy({ delay: 'soon' }, 'update', 'web'), /services\.web\.deploy\.update_config\.delay must be a duration/);
    assert.throws(() => updatePolicy({ max_failure_ratio: 2 }, 'update', 'web'), /max_failure_ratio must be a number from 0 to 1/);
    assert.throws(() => updatePolicy({ failure_action: 'rollback' }, 'rollback', 'web'), /rollback_config\.failure_action must be one of pause, continue/);
    assert.throws(() => updatePolicy({ order: 'sideways' as 'start-first' }, 'update', 'web'), /order must be start-first or stop-first/);
  });

  it('batches by parallelism, 0 meaning all at once', () => {
    assert.deepEqual(batches([1, 2, 3], 2), [[1, 2], [3]]);
    assert.deepEqual(batches([1, 2, 3], 0), [[1, 2, 3]]);
    assert.deepEqual(batches([], 1), []);
  });

  it('triggers the failure action only above max_failure_ratio', () => {
    assert.equal(failureTriggersAction(0, 4, 0), false);
    assert.equal(failureTriggersAction(1, 4, 0), true);
    assert.equal(failureTriggersAction(1, 4, 0.25), false);
    assert.equal(failureTriggersAction(2, 4, 0.25), true);
  });
});

describe('rolling update', () => {
  it('start-first: each new container is healthy before its old one stops, and ends with the standard name', async () => {
    const { engine, old, create } = setUp(2, ['healthy', 'healthy']);
    await rollingUpdate(engine, project({ order: 'start-first' }), 'web', old, create, silentProgress, fast);
    const id1 = old[0]!.Id.slice(0, 12);
    assert.deepEqual(engine.log.slice(0, 7), [
      `create ${id1}_app-web-1`,
      `connect ${id1}_app-web-1 app_default []`,
      `start ${id1}_app-web-1`,
      `connect ${id1}_app-web-1 app_default [web]`,
      'stop app-web-1',
      `rename app-web-1 -> app-web-1-rollback-${id1}`,
      `rename ${id1}_app-web-1 -> app-web-1`,
    ]);
    assert.deepEqual(engine.names(), ['app-web-1:healthy', 'app-web-2:healthy']);
    assert.ok(![...engine.containers.keys()].includes(old[0]!.Id), 'the old containers are removed');
    assert.equal(engine.maxRunning, 3, 'one replica at a time overlaps');
  });

  it('stop-first: the old container stops before the new one starts', async () => {
    const { engine, old, create } = setUp(2, []);
    await rollingUpdate(engine, project({}), 'web', old, create, silentProgress, fast);
    const id1 = old[0]!.Id.slice(0, 12);
    assert.deepEqual(engine.log.slice(0, 6), [
      'stop app-web-1',
      `rename app-web-1 -> app-web-1-rollback-${id1}`,
      'create app-web-1',
      'connect app-web-1 app_default []',
      'start app-web-1',
      'connect app-web-1 app_default [web]',
    ]);
    assert.equal(engine.maxRunning, 2);
    assert.deepEqual(engine.names(), ['app-web-1:healthy', 'app-web-2:healthy']);
  });

  it('parallelism 2 replaces two replicas at once', async () => {
    const { engine, old, create } = setUp(4, []);
    await rollingUpdate(engine, project({ order: 'start-first', parallelism: 2 }), 'web', old, create, silentProgress, fast);
    assert.equal(engine.maxRunning, 6);
    assert.equal(engine.names().length, 4);
  });

  it('waits `delay` between batches, not before the first', async () => {
    const { engine, old, create } = setUp(3, []);
    const slept: number[] = [];
    await rollingUpdate(engine, project({ delay: '2s' }), 'web', old, create, silentProgress, { pollMs: 0, sleep: (ms) => (slept.push(ms), Promise.resolve()) });
    assert.deepEqual(slept.filter((ms) => ms === 2000).length, 2);
  });

  it('rollback: an unhealthy new container brings every replaced replica back, and the update fails', async () => {
    const { engine, old, create } = setUp(2, ['healthy', 'unhealthy']);
    await assert.rejects(
      rollingUpdate(engine, project({ order: 'start-first', failure_action: 'rollback' }, { order: 'start-first' }), 'web', old, create, silentProgress, fast),
      (e: unknown) => e instanceof ComposeError && /update failed \(app-web-2: container is unhealthy\); rolled back to the previous containers/.test(e.message),
    );
    // The very same old containers run again under their names; the new ones are gone.
    assert.deepEqual(engine.names(), ['app-web-1:healthy', 'app-web-2:healthy']);
    assert.deepEqual([...engine.containers.keys()].sort(), old.map((c) => c.Id).sort());
    assert.ok([...engine.containers.values()].every((c) => c.running));
  });

  it('rollback with stop-first updates restores the stopped old containers', async () => {
    const { engine, old, create } = setUp(2, ['exits']);
    await assert.rejects(rollingUpdate(engine, project({ failure_action: 'rollback' }), 'web', old, create, silentProgress, fast), /container exited with code 3/);
    assert.deepEqual(engine.names(), ['app-web-1:healthy', 'app-web-2:healthy']);
    assert.ok([...engine.containers.values()].every((c) => c.running));
  });

  it('pause: the failed replica gets its old container back, the ones updated stay, the rest are untouched', async () => {
    const { engine, old, create } = setUp(3, ['healthy', 'unhealthy']);
    await assert.rejects(
      rollingUpdate(engine, project({ order: 'start-first' }), 'web', old, create, silentProgress, fast),
      /update paused \(app-web-2: container is unhealthy\): 1 of 3 container\(s\) updated; run up again to resume/,
    );
    assert.deepEqual(engine.names(), ['app-web-1:healthy', 'app-web-2:healthy', 'app-web-3:healthy']);
    assert.ok(!engine.containers.has(old[0]!.Id), 'the first replica was updated');
    assert.ok(engine.containers.has(old[1]!.Id) && engine.containers.has(old[2]!.Id));
  });

  it('continue: a failed new container still replaces its old one', async () => {
    const { engine, old, create } = setUp(2, ['unhealthy', 'healthy']);
    await rollingUpdate(engine, project({ order: 'start-first', failure_action: 'continue' }), 'web', old, create, silentProgress, fast);
    assert.deepEqual(engine.names(), ['app-web-1:unhealthy', 'app-web-2:healthy']);
  });

  it('failures under max_failure_ratio are tolerated; above it the failure action applies', async () => {
    const a = setUp(4, ['unhealthy']);
    await rollingUpdate(a.engine, project({ failure_action: 'rollback', max_failure_ratio: 0.25 }), 'web', a.old, a.create, silentProgress, fast);
    assert.equal(a.engine.names().filter((n) => n.endsWith('unhealthy')).length, 1);
    const b = setUp(4, ['unhealthy', 'unhealthy']);
    await assert.rejects(rollingUpdate(b.engine, project({ failure_action: 'rollback', max_failure_ratio: 0.25 }), 'web', b.old, b.create, silentProgress, fast), /rolled back/);
    assert.deepEqual([...b.engine.containers.keys()].sort(), b.old.map((c) => c.Id).sort());
  });

  it('removes the retired containers an interrupted update left, and does not count them as replicas', async () => {
    const { engine, old, create } = setUp(1, []);
    const left = engine.add(1, `app-web-1-rollback-${'b'.repeat(12)}`, 'healthy', false);
    await rollingUpdate(engine, project({ order: 'start-first' }), 'web', [...old, engine.summary(left)], create, silentProgress, fast);
    assert.deepEqual(engine.names(), ['app-web-1:healthy']);
  });

  it('refuses start-first for a service publishing a fixed host port', async () => {
    const { engine, old, create } = setUp(1, []);
    await assert.rejects(
      rollingUpdate(engine, project({ order: 'start-first' }, undefined, [{ target: 80, published: '8080' }]), 'web', old, create, silentProgress, fast),
      /publishes host port 8080: order: start-first runs the old and new containers side by side/,
    );
    assert.deepEqual(engine.log, []);
    const p = project({ order: 'start-first' });
    p.services.web!.networks = { default: { ipv4_address: '10.9.0.5' } };
    await assert.rejects(rollingUpdate(engine, p, 'web', old, create, silentProgress, fast), /has a fixed address on network default: order: start-first/);
  });
});
