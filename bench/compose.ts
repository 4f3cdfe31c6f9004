// Scenario (issue 11, Performance): the example stack (examples/compose-app: web, db, cache; web waits
// for db and cache to be healthy; images present) on `berth compose` against berthd and on Python
// docker-compose 1.29 (/usr/bin/docker-compose) against a private dockerd 20.10, alternating, medians
// over BENCH_RUNS runs:
//   up -d --wait        from stopped (volumes kept, databases initialised in an untimed warm-up).
//                       docker-compose 1.29 has no --wait: its time is `up -d` followed by polling the
//                       containers' health with the docker CLI (every 50 ms) until all are healthy;
//   up -d               on the unchanged, running project (nothing to do);
//   down                of the running stack (volumes kept);
//   up -d of 20 services (busybox, no health checks), from nothing.
// Then, from each engine's events: how long after the last of db and cache turns healthy web starts
// (`health_status: healthy` → web's `network connect`, which the engine emits as it begins the start,
// and → web's `start`, emitted once started; by the events' timeNano) — the target is 100 ms.
// Both tools read the same files: the example's compose.yaml with web's `build` replaced by its image
// (built once, identical in both engines) and every health check at `interval: 1s` without
// start_interval (docker-compose 1.29 refuses start_interval, and dockerd 20.10 ignores it).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { busyboxTar, importImage, median, record, REPO, startBerth, startDocker, type Engine } from './lib.js';

const N = Number(process.env.BENCH_RUNS ?? 5);
const COMPOSE_1_29 = '/usr/bin/docker-compose';
const EXAMPLE = path.join(REPO, 'examples/compose-app');
const WEB_IMAGE = 'compose-app-bench/web:latest';
const PROJECT = 'benchapp';
const MANY = 'bench20';
const WEB_PORT = process.env.BENCH_WEB_PORT ?? '18090';

/** How one engine's compose tool is run: argv prefix and environment. */
interface Tool {
  engine: Engine;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

function run(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function engineCli(e: Engine, args: string[]): string {
  return run([...e.cli, ...args], e.env).stdout;
}

/** The bench projects: the example with prebuilt web image and 1 s health checks, and 20 busybox services. */
function writeProjects(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-compose-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const app = path.join(dir, PROJECT);
  cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !src.includes('/images') });
  const doc = parse(readFileSync(path.join(EXAMPLE, 'compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const web = doc.services.web!;
  delete web.build;
  web.image = WEB_IMAGE;
  web.healthcheck = { test: ['CMD', 'python3', '-c', "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"] };
  for (const svc of Object.values(doc.services)) {
    const hc = svc.healthcheck as Record<string, unknown>;
    svc.healthcheck = { test: hc.test, interval: '1s', timeout: '3s', retries: 30 };
  }
  // YAML 1.1 output: docker-compose 1.29 (PyYAML) would read an unquoted `no` as false.
  writeFileSync(path.join(app, 'compose.yaml'), stringify(doc, { version: '1.1' }));
  const many = path.join(dir, MANY);
  const services: Record<string, unknown> = {};
  for (let i = 1; i <= 20; i++) services[`s${String(i).padStart(2, '0')}`] = { image: 'busybox:latest', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] };
  mkdirSync(many);
  writeFileSync(path.join(many, 'compose.yaml'), stringify({ services }));
  return dir;
}

/** The example's images in both engines: made (or loaded from the cache) by the script in berth, then copied. */
function prepareImages(berth: Engine, docker: Engine): void {
  const berthEnv = { ENGINE_CLI: berth.cli.join(' ') };
  run(['sh', path.join(REPO, 'scripts/compose-app-images.sh')], berthEnv);
  engineCli(berth, ['build', '-q', '-t', WEB_IMAGE, path.join(EXAMPLE, 'web')]);
  const tar = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-images-')), 'images.tar');
  engineCli(berth, ['save', '-o', tar, 'compose-app/postgres:15', 'compose-app/redis:7', WEB_IMAGE]);
  engineCli(docker, ['load', '-q', '-i', tar]);
  rmSync(path.dirname(tar), { recursive: true, force: true });
  const bb = busyboxTar();
  for (const e of [berth, docker]) importImage(e, bb, 'busybox:latest');
}

function projectContainers(e: Engine, project: string): string[] {
  return engineCli(e, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).split('\n').filter(Boolean);
}

/** docker-compose 1.29 has no --wait: poll health with the docker CLI until every container is healthy. */
function waitHealthy(e: Engine, project: string): void {
  const ids = projectContainers(e, project);
  for (let i = 0; i < 1200; i++) {
    const states = engineCli(e, ['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', ...ids]).split('\n').filter(Boolean);
    if (states.every((s) => s === 'healthy' || s === 'running')) return;
    if (states.some((s) => s === 'unhealthy' || s === 'exited')) throw new Error(`${e.name}: ${states.join(', ')}`);
    spawnSync('sleep', ['0.05']);
  }
  throw new Error(`${e.name}: not healthy after 60 s`);
}

interface Times {
  upWait: number[];
  upUnchanged: number[];
  down: number[];
  up20: number[];
  gateConnect: number[];
  gateStart: number[];
}

/** From the last of db's and cache's `health_status: healthy` to web's start in the engine's events: to its
 *  `network connect` (the engine began starting it: compose's reaction) and to its `start` (the engine
 *  finished starting it). Network events carry no labels: web is matched by its container ID. */
function healthGate(e: Engine, project: string, since: number, until: number): { connect: number; start: number } {
  const lines = engineCli(e, ['events', '--since', String(since), '--until', String(until), '--filter', 'type=container', '--filter', 'type=network', '--format', '{{json .}}']);
  const events = lines
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Type: string; Action: string; timeNano: number; Actor: { ID: string; Attributes: Record<string, string> } });
  const service = (ev: (typeof events)[number]) => (ev.Actor.Attributes['com.docker.compose.project'] === project ? ev.Actor.Attributes['com.docker.compose.service'] : undefined);
  const ms = (ev: (typeof events)[number] | undefined) => (ev ? ev.timeNano / 1e6 : NaN);
  const healthy = Math.max(...events.filter((ev) => ev.Action === 'health_status: healthy' && ['db', 'cache'].includes(service(ev) ?? '')).map(ms));
  const webStart = events.find((ev) => ev.Type === 'container' && ev.Action === 'start' && service(ev) === 'web');
  const webConnect = events.find((ev) => ev.Type === 'network' && ev.Action === 'connect' && ev.Actor.Attributes.container === webStart?.Actor.ID);
  const gate = { connect: ms(webConnect) - healthy, start: ms(webStart) - healthy };
  if (!Number.isFinite(gate.connect) || !Number.isFinite(gate.start)) throw new Error(`${e.name}: no healthy, connect or start events for ${project} in the events stream`);
  return gate;
}

function oneRound(tool: Tool, dir: string, t: Times, timed: boolean): void {
  const app = path.join(dir, PROJECT);
  const many = path.join(dir, MANY);
  const compose = (cwd: string, args: string[]) => run([...tool.argv, ...args], tool.env, cwd).ms;
  const since = Math.floor(Date.now() / 1000) - 1;
  let ms: number;
  if (tool.engine.name === 'berth') ms = compose(app, ['up', '-d', '--wait']);
  else {
    const t0 = process.hrtime.bigint();
    compose(app, ['up', '-d']);
    waitHealthy(tool.engine, PROJECT);
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const gate = healthGate(tool.engine, PROJECT, since, Math.ceil(Date.now() / 1000) + 1);
  const unchanged = compose(app, ['up', '-d']);
  const down = compose(app, ['down']);
  const up20 = compose(many, ['up', '-d']);
  compose(many, ['down', '-t', '1']);
  if (!timed) return;
  t.upWait.push(ms);
  t.gateConnect.push(gate.connect);
  t.gateStart.push(gate.start);
  t.upUnchanged.push(unchanged);
  t.down.push(down);
  t.up20.push(up20);
}

function table(b: Times, d: Times): void {
  const rows: [string, number[], number[], number][] = [
    ['up -d --wait (example stack)', b.upWait, d.upWait, 0.5],
    ['up -d, unchanged project', b.upUnchanged, d.upUnchanged, 0.2],
    ['down (example stack)', b.down, d.down, 0.5],
    ['up -d, 20 services', b.up20, d.up20, 0.4],
  ];
  console.log(`\n${'work'.padEnd(30)} ${'berth'.padStart(10)} ${'docker-compose'.padStart(15)} ${'ratio'.padStart(7)} ${'target'.padStart(7)}  met`);
  for (const [work, bs, ds, target] of rows) {
    const bm = median(bs);
    const dm = median(ds);
    const ratio = bm / dm;
    record({ work: `compose ${work}`, berth: bm, docker: dm, unit: 'ms', target });
    console.log(`${work.padEnd(30)} ${(bm.toFixed(0) + ' ms').padStart(10)} ${(dm.toFixed(0) + ' ms').padStart(15)} ${(ratio.toFixed(2) + '×').padStart(7)} ${('≤' + target + '×').padStart(7)}  ${ratio <= target ? 'yes' : 'NO'}`);
  }
  const gate = (xs: number[]) => `median ${median(xs).toFixed(0).padStart(4)} ms, max ${Math.max(...xs).toFixed(0).padStart(4)} ms`;
  console.log('\nfrom the last of db and cache turning healthy to web starting (events\' timeNano; target ≤ 100 ms):');
  console.log(`  to web's network connect (start begins)  berth compose ${gate(b.gateConnect)} ${Math.max(...b.gateConnect) <= 100 ? '(met)' : '(NOT met)'}   docker-compose ${gate(d.gateConnect)}`);
  console.log(`  to web's start event (start done)        berth compose ${gate(b.gateStart)} ${Math.max(...b.gateStart) <= 100 ? '(met)' : '(NOT met)'}   docker-compose ${gate(d.gateStart)}`);
}

async function main(): Promise<void> {
  if (!existsSync(COMPOSE_1_29)) throw new Error(`${COMPOSE_1_29} is needed: apt-get install docker-compose (Debian's, 1.29)`);
  const dir = writeProjects();
  const berth = await startBerth();
  let docker: Engine | undefined;
  try {
    docker = await startDocker();
    console.error('bench: images (scripts/compose-app-images.sh, then copied to dockerd)');
    prepareImages(berth, docker);
    console.error('bench: runs');
    const env = { WEB_PORT };
    const tools: Tool[] = [
      { engine: berth, argv: [...berth.cli, 'compose'], env: { ...env, ...berth.env } },
      { engine: docker, argv: [COMPOSE_1_29], env: { ...env, ...docker.env } },
    ];
    const times = (): Times => ({ upWait: [], upUnchanged: [], down: [], up20: [], gateConnect: [], gateStart: [] });
    const t = { berth: times(), docker: times() };
    for (const tool of tools) oneRound(tool, dir, t.berth, false); // warm-up: initialises the volumes
    for (let i = 0; i < N; i++) for (const tool of tools) oneRound(tool, dir, tool.engine.name === 'berth' ? t.berth : t.docker, true);
    console.log(`compose: berth compose (berthd) vs docker-compose 1.29 (dockerd 20.10), medians of ${N} runs, ${new Date().toISOString().slice(0, 10)}`);
    console.log('docker-compose 1.29 has no `up --wait`: its time is `up -d` then polling health with the docker CLI every 50 ms');
    table(t.berth, t.docker);
    for (const tool of tools) run([...tool.argv, 'down', '-v'], tool.env, path.join(dir, PROJECT));
  } finally {
    await berth.stop();
    await docker?.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
