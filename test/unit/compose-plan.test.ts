// The convergence planner (compose/plan.ts): which action for which observed state — keep, start,
// create, recreate (config hash, image, network, volume, --force-recreate, a shared namespace's
// owner recreated), --no-recreate, scaling up and down, orphans — plus the image decision
// (compose/images.ts) and the progress display (cli/compose/progress.ts).
/* eslint-disable no-control-regex -- terminal escape codes are what the display tests look at */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { ContainerSummary } from '../../src/api/types.js';
import { planConvergence, serviceScale, topological, type PlanInput } from '../../src/compose/plan.js';
import { imageDecision } from '../../src/compose/images.js';
import { selectServices } from '../../src/compose/up.js';
import type { Project, ServiceConfig } from '../../src/compose/types.js';
import { makeProgress, progressMode, TtyProgress } from '../../src/cli/compose/progress.js';

const IMG = 'sha256:' + 'a'.repeat(64);
const IMG2 = 'sha256:' + 'b'.repeat(64);

function project(services: Record<string, ServiceConfig>, extra: Partial<Project> = {}): Project {
  return {
    name: 'app',
    workingDir: '/src',
    composeFiles: ['/src/compose.yaml'],
    environment: {},
    profiles: [],
    services,
    disabledServices: {},
    networks: { default: { name: 'app_default' } },
    volumes: {},
    secrets: {},
    configs: {},
    ...extra,
  };
}

let seq = 0;
function ctr(service: string, n: number, opts: { hash?: string; state?: string; image?: string; networks?: string[]; mounts?: string[]; oneoff?: boolean } = {}): ContainerSummary {
  return {
    Id: `${service}${n}-${++seq}`.padEnd(64, '0'),
    Names: [`/app-${service}-${n}`],
    Image: 'busybox',
    ImageID: opts.image ?? IMG,
    Command: '',
    Created: seq,
    Ports: [],
    Labels: {
      'com.docker.compose.project': 'app',
      'com.docker.compose.service': service,
      'com.docker.compose.container-number': String(n),
      'com.docker.compose.oneoff': opts.oneoff ? 'True' : 'False',
      'com.docker.compose.config-hash': opts.hash ?? `h-${service}`,
    },
    State: opts.state ?? 'running',
    Status: '',
    HostConfig: { NetworkMode: 'app_default' },
    NetworkSettings: { Networks: Object.fromEntries((opts.networks ?? ['app_default']).map((n) => [n, {} as never])) },
    Mounts: (opts.mounts ?? []).map((name) => ({ Type: 'volume', Name: name, Source: '', Destination: `/${name}`, Mode: '', RW: true, Propagation: '' })),
  };
}

function input(p: Project, observed: ContainerSummary[], over: Partial<PlanInput> = {}): PlanInput {
  const names = Object.keys(p.services);
  return {
    project: p,
    services: names,
    observed,
    hashes: Object.fromEntries(names.map((n) => [n, `h-${n}`])),
    imageIds: Object.fromEntries(names.map((n) => [n, IMG])),
    networks: Object.fromEntries(names.map((n) => [n, ['app_default']])),
    recreate: 'diverged',
    recreateDependencies: 'diverged',
    ...over,
  };
}

const kinds = (plan: ReturnType<typeof planConvergence>, service: string): string[] =>
  plan.services.find((s) => s.service === service)!.actions.map((a) => (a.kind === 'create' ? `create:${a.name}` : `${a.kind}:${a.container.Names[0]!.slice(1)}`));

describe('compose convergence planner', () => {
  const web: ServiceConfig = { image: 'busybox', networks: { default: null } };

  it('creates what does not exist, numbered from 1', () => {
    const plan = planConvergence(input(project({ web }), []));
    assert.deepEqual(kinds(plan, 'web'), ['create:app-web-1']);
  });

  it('keeps an up-to-date running container, starts a stopped one', () => {
    const p = project({ web, db: { image: 'busybox' } });
    const plan = planConvergence(input(p, [ctr('web', 1), ctr('db', 1, { state: 'exited' })], { networks: { web: ['app_default'], db: [] } }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1']);
    assert.deepEqual(kinds(plan, 'db'), ['start:app-db-1']);
  });

  it('recreates on a config hash change, saying so', () => {
    const plan = planConvergence(input(project({ web }), [ctr('web', 1, { hash: 'old' })]));
    const a = plan.services[0]!.actions[0]!;
    assert.equal(a.kind, 'recreate');
    assert.deepEqual(a.kind === 'recreate' && a.reasons, ['configuration changed']);
  });

  it('recreates when the image ID changed, naming both IDs', () => {
    const plan = planConvergence(input(project({ web }), [ctr('web', 1, { image: IMG2 })]));
    const a = plan.services[0]!.actions[0]!;
    assert.equal(a.kind, 'recreate');
    assert.match(a.kind === 'recreate' ? a.reasons[0]! : '', /^image changed \(sha256:bbbbbbbbbbbb… → sha256:aaaaaaaaaaaa…\)$/);
  });

  it('an unknown image ID (dry run before a build) is not a reason', () => {
    const plan = planConvergence(input(project({ web }), [ctr('web', 1, { image: IMG2 })], { imageIds: { web: undefined } }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1']);
  });

  it('recreates a running container missing a network, or a named volume', () => {
    const p = project({ web: { ...web, volumes: [{ type: 'volume', source: 'data', target: '/data' }] } }, { volumes: { data: { name: 'app_data' } } });
    let plan = planConvergence(input(p, [ctr('web', 1, { networks: ['other'], mounts: ['app_data'] })]));
    assert.deepEqual(plan.services[0]!.actions[0]!.kind === 'recreate' && plan.services[0]!.actions[0]!.reasons, ['not connected to network app_default']);
    plan = planConvergence(input(p, [ctr('web', 1, { mounts: [] })]));
    assert.deepEqual(plan.services[0]!.actions[0]!.kind === 'recreate' && plan.services[0]!.actions[0]!.reasons, ['volume app_data not mounted']);
  });

  it('--force-recreate applies to targeted services; --always-recreate-deps to their dependencies', () => {
    const p = project({ web: { ...web, depends_on: { db: { condition: 'service_started', required: true } } }, db: web });
    const observed = [ctr('web', 1), ctr('db', 1)];
    let plan = planConvergence(input(p, observed, { targeted: ['web'], recreate: 'force' }));
    assert.deepEqual(kinds(plan, 'web'), ['recreate:app-web-1']);
    assert.deepEqual(kinds(plan, 'db'), ['keep:app-db-1']);
    plan = planConvergence(input(p, observed, { targeted: ['web'], recreate: 'diverged', recreateDependencies: 'force' }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1']);
    assert.deepEqual(kinds(plan, 'db'), ['recreate:app-db-1']);
  });

  it('--no-recreate keeps diverged containers', () => {
    const plan = planConvergence(input(project({ web }), [ctr('web', 1, { hash: 'old', state: 'exited' })], { recreate: 'never' }));
    assert.deepEqual(kinds(plan, 'web'), ['start:app-web-1']);
  });

  it('a service sharing the network namespace of a recreated one is recreated too', () => {
    const p = project({ vpn: web, app: { image: 'busybox', network_mode: 'service:vpn' } });
    const plan = planConvergence(input(p, [ctr('vpn', 1, { hash: 'old' }), ctr('app', 1)], { networks: { vpn: ['app_default'], app: [] } }));
    assert.equal(plan.services.find((s) => s.service === 'app')!.actions[0]!.kind, 'recreate');
  });

  it('depends_on restart: true restarts a running dependent when its dependency is recreated', () => {
    const p = project({
      db: web,
      api: { ...web, depends_on: { db: { condition: 'service_started', required: true, restart: true } } },
      web: { ...web, depends_on: { db: { condition: 'service_started', required: true } } },
    });
    const plan = planConvergence(input(p, [ctr('db', 1, { hash: 'old' }), ctr('api', 1), ctr('web', 1)]));
    assert.deepEqual(kinds(plan, 'api'), ['restart:app-api-1']);
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1']);
  });

  it('scales up with the next numbers and down removing obsolete, then highest numbers first', () => {
    const p = project({ web });
    let plan = planConvergence(input(p, [ctr('web', 1)], { scale: { web: 3 } }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1', 'create:app-web-2', 'create:app-web-3']);
    plan = planConvergence(input(p, [ctr('web', 1), ctr('web', 2, { hash: 'old' }), ctr('web', 3)], { scale: { web: 1 } }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-1', 'remove:app-web-3', 'remove:app-web-2']);
    // a gap in numbers: new containers go after the highest one
    plan = planConvergence(input(p, [ctr('web', 2)], { scale: { web: 2 } }));
    assert.deepEqual(kinds(plan, 'web'), ['keep:app-web-2', 'create:app-web-3']);
  });

  it('scale: --scale, then scale, then deploy.replicas, then 1; 0 removes everything', () => {
    assert.equal(serviceScale('web', { scale: 2, deploy: { replicas: 3 } }), 2);
    assert.equal(serviceScale('web', { deploy: { replicas: 3 } }), 3);
    assert.equal(serviceScale('web', { deploy: { replicas: 3 } }, { web: 5 }), 5);
    assert.equal(serviceScale('web', {}), 1);
    const plan = planConvergence(input(project({ web: { ...web, scale: 0 } }), [ctr('web', 1)]));
    assert.deepEqual(kinds(plan, 'web'), ['remove:app-web-1']);
  });

  it('refuses to scale a service with a container_name', () => {
    assert.throws(() => planConvergence(input(project({ web: { ...web, container_name: 'fixed' } }), [], { scale: { web: 2 } })), /is using the custom container name "fixed"/);
  });

  it('uses container_name for the new container', () => {
    const plan = planConvergence(input(project({ web: { ...web, container_name: 'fixed' } }), []));
    assert.deepEqual(kinds(plan, 'web'), ['create:fixed']);
  });

  it('orphans: services neither in the file nor disabled; one-off containers are not', () => {
    const p = project({ web }, { disabledServices: { debug: web } });
    const plan = planConvergence(input(p, [ctr('web', 1), ctr('old', 1), ctr('debug', 1), ctr('old', 2, { oneoff: true })]));
    assert.deepEqual(plan.orphans.map((c) => c.Names[0]), ['/app-old-1']);
  });

  it('orders services after their dependencies', () => {
    const p = project({
      web: { ...web, depends_on: { api: { condition: 'service_healthy', required: true } } },
      api: { ...web, depends_on: { db: { condition: 'service_started', required: true } } },
      db: web,
    });
    assert.deepEqual(topological(p, ['web', 'api', 'db']), ['db', 'api', 'web']);
    assert.deepEqual(selectServices(p, ['web']), ['api', 'db', 'web']);
    assert.deepEqual(selectServices(p, ['web'], true), ['web']);
    assert.throws(() => selectServices(p, ['nope']), /no such service: nope/);
  });
});

describe('compose image decision', () => {
  const opts = {};
  it('pull_policy missing (default): pull only when absent', () => {
    assert.equal(imageDecision({ image: 'x' }, true, 0, opts), 'use');
    assert.equal(imageDecision({ image: 'x' }, false, 0, opts), 'pull');
    assert.equal(imageDecision({ image: 'x', pull_policy: 'if_not_present' }, false, 0, opts), 'pull');
  });
  it('always / never / daily / --pull', () => {
    assert.equal(imageDecision({ image: 'x', pull_policy: 'always' }, true, 0, opts), 'pull');
    assert.equal(imageDecision({ image: 'x', pull_policy: 'never' }, false, 0, opts), 'use');
    assert.equal(imageDecision({ image: 'x', pull_policy: 'daily' }, true, 2 * 86_400_000, opts), 'pull');
    assert.equal(imageDecision({ image: 'x', pull_policy: 'daily' }, true, 1000, opts), 'use');
    assert.equal(imageDecision({ image: 'x' }, true, 0, { pull: 'always' }), 'pull');
  });
  it('build: when missing, with --build or pull_policy build; never with --no-build', () => {
    const svc: ServiceConfig = { build: { context: '/src' } };
    assert.equal(imageDecision(svc, false, 0, opts), 'build');
    assert.equal(imageDecision(svc, true, 0, opts), 'use');
    assert.equal(imageDecision(svc, true, 0, { build: true }), 'build');
    assert.equal(imageDecision({ ...svc, pull_policy: 'build' }, true, 0, opts), 'build');
    assert.equal(imageDecision({ ...svc, image: 'x', pull_policy: 'always' }, true, 0, opts), 'pull-or-build');
    assert.equal(imageDecision(svc, false, 0, { noBuild: true }), 'pull');
  });
  it('refuses an unknown policy by name', () => {
    assert.throws(() => imageDecision({ image: 'x', pull_policy: 'sometimes' }, true, 0, opts), /invalid pull_policy "sometimes"/);
  });
});

describe('compose progress display', () => {
  const sink = () => {
    let text = '';
    const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
    return { out, text: () => text };
  };

  it('mode: tty on a terminal, plain off one or with --ansi never; explicit modes win', () => {
    assert.equal(progressMode({ progress: 'auto', ansi: 'auto' }, true), 'tty');
    assert.equal(progressMode({ progress: 'auto', ansi: 'auto' }, false), 'plain');
    assert.equal(progressMode({ progress: 'auto', ansi: 'never' }, true), 'plain');
    assert.equal(progressMode({ progress: 'quiet', ansi: 'auto' }, true), 'quiet');
    assert.equal(progressMode({ progress: 'plain', ansi: 'always' }, true), 'plain');
  });

  it('plain: one line per event, as Compose prints them', () => {
    const s = sink();
    const p = makeProgress(s.out, 'plain');
    p.event({ id: 'Container app-web-1', status: 'Recreate', state: 'working', text: 'image changed' });
    p.event({ id: 'Container app-web-1', status: 'Started', state: 'done' });
    assert.equal(s.text(), ' Container app-web-1 Recreate image changed\n Container app-web-1 Started \n');
  });

  it('tty: "[+] Running n/m" and aligned lines with ✔ and timers', () => {
    const s = sink();
    let now = 0;
    const p = new TtyProgress(Object.assign(s.out, { columns: 60 }), false, '', 'Running', () => now);
    p.event({ id: 'Network app_default', status: 'Creating', state: 'working' });
    now = 100;
    p.event({ id: 'Network app_default', status: 'Created', state: 'done' });
    p.event({ id: 'Container app-web-1', status: 'Starting', state: 'working' });
    now = 1300;
    const lines = p.render(60);
    p.done();
    assert.equal(lines[0], '[+] Running 1/2');
    assert.match(lines[1]!, /^ ✔ Network app_default Created +0\.1s$/);
    assert.match(lines[2]!, /^ [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Container app-web-1 Starting +1\.2s$/);
    assert.equal(lines[1]!.length, 60);
    // the block is redrawn in place: the cursor goes up over the previous block
    assert.match(s.text(), /\x1b\[3A/);
  });
});
