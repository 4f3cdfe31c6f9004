// berthd: the daemon. Owns all state; serves the Docker Engine API on a unix socket.
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveLogOptions } from '../engine/containers/log-config.js';
import { startEngine } from '../engine/engine.js';
import { messageOf } from '../lib/errors.js';
import { createServer, Router, type Logger } from './http.js';
import { containerRoutes } from './routes/containers.js';
import { imageRoutes } from './routes/images.js';
import { systemRoutes } from './routes/system.js';
import { networkRoutes } from './routes/networks.js';
import { volumeRoutes } from './routes/volumes.js';
import { distributionRoutes } from './routes/distribution.js';
import { buildRoutes } from './routes/build.js';
import { fileRoutes } from './routes/files.js';
import { housekeepingRoutes } from './routes/housekeeping.js';
import { swarmRoutes } from './routes/swarm.js';
import { scanRoutes } from './routes/scan.js';
import { trustRoutes } from './routes/trust.js';
import { loadPolicy } from '../engine/trust/policy.js';
import { sbomRoutes } from './routes/sbom.js';
import { scanDbRoutes } from './routes/scan-db.js';

const USAGE = `Usage:  berthd [OPTIONS]

A self-sufficient runtime for containers, speaking the Docker Engine API

Options:
      --root string        Root directory of persistent state (default "/var/lib/berth")
      --exec-root string   Root directory for execution state files (default "/run/berth")
  -b, --bridge string      Device of the default bridge network (default "berth0")
  -H, --host string        Daemon socket to listen on (default "unix:///run/berth/berth.sock")
      --ip-forward         Enable net.ipv4.ip_forward, which containers' outbound NAT needs (default true)
      --insecure-registry list  Registries reached over plain HTTP when HTTPS fails (loopback always is)
      --log-level string   Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
      --log-opt list       Default log driver options for containers (e.g. max-size=10m)
      --runtime string     OCI runtime binary (default "runc")
      --trust-policy string  Trust policy (JSON, containers-policy.json style): which images pulls accept
  -h, --help               Print usage`;

const LEVELS = ['debug', 'info', 'warn', 'error'];

function parseFlags() {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', default: '/var/lib/berth' },
      'exec-root': { type: 'string', default: '/run/berth' },
      host: { type: 'string', short: 'H', default: 'unix:///run/berth/berth.sock' },
      'log-level': { type: 'string', short: 'l', default: 'info' },
      'log-opt': { type: 'string', multiple: true, default: [] },
      runtime: { type: 'string', default: 'runc' },
      bridge: { type: 'string', short: 'b', default: 'berth0' },
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      'ip-forward': { type: 'string', default: 'true' },
      'trust-policy': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const level = values['log-level']!;
  if (!LEVELS.includes(level)) throw new Error(`invalid --log-level "${level}": use one of ${LEVELS.join(', ')}`);
  const host = values.host!;
  if (!host.startsWith('unix://')) throw new Error(`invalid --host "${host}": only unix:///path sockets are supported`);
  const logOpts: Record<string, string> = {};
  for (const kv of values['log-opt']!) {
    const [k, v] = kv.split(/=(.*)/s, 2);
    if (!k || v === undefined) throw new Error(`invalid --log-opt "${kv}": expected key=value`);
    logOpts[k] = v;
  }
  try {
    // Checked now, as dockerd does: a bad default would otherwise fail every container create.
    resolveLogOptions('json-file', logOpts);
  } catch (e) {
    throw new Error(`invalid --log-opt: ${(e as Error).message}`);
  }
  const bridge = values.bridge!;
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`invalid --bridge "${bridge}": a device name of at most 15 characters`);
  const ipForward = parseBool('--ip-forward', values['ip-forward']!);
  // Read now: a policy with a syntax error (named with its line) or an unreadable key stops berthd here.
  const trustPolicy = values['trust-policy'] ? loadPolicy(values['trust-policy']) : undefined;
  return { ipForward, root: path.resolve(values.root!), execRoot: path.resolve(values['exec-root']!), socket: host.slice('unix://'.length), level, logOpts, runtime: values.runtime!, bridge, insecureRegistries: values['insecure-registry']!, trustPolicy };
}

/** A boolean flag as dockerd takes it: `--flag`, `--flag=true`, `--flag=false` (also 1/0). */
function parseBool(flag: string, v: string): boolean {
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`invalid ${flag} "${v}": use true or false`);
}

function makeLogger(level: string): Logger {
  const min = LEVELS.indexOf(level);
  const out = (lvl: string) => (msg: string) => {
    if (LEVELS.indexOf(lvl) >= min) process.stderr.write(`time="${new Date().toISOString()}" level=${lvl} msg=${JSON.stringify(msg)}\n`);
  };
  return { debug: out('debug'), info: out('info'), error: out('error') };
}

/** One berthd per root: refuse when another live berthd holds the pid file. */
async function lockRoot(root: string): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  const pidFile = path.join(root, 'berthd.pid');
  try {
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    if (pid && pid !== process.pid) {
      const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes('daemon/main.js') || cmd.includes('berthd')) {
        throw new Error(`another berthd (pid ${pid}) is already running on ${root}; stop it first or use another --root`);
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.writeFile(pidFile, `${process.pid}\n`);
}

/** Refuse a socket another daemon answers on; remove a stale one. */
async function claimSocket(socket: string): Promise<void> {
  await fs.mkdir(path.dirname(socket), { recursive: true });
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${socket} is already in use by another daemon`);
  await fs.rm(socket, { force: true });
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const log = makeLogger(flags.level);
  await lockRoot(flags.root);
  await claimSocket(flags.socket);
  const engine = await startEngine({ root: flags.root, execRoot: flags.execRoot, runtime: flags.runtime, logOpts: flags.logOpts, initBinary: '/usr/bin/tini-static', bridgeName: flags.bridge, ipForward: flags.ipForward, insecureRegistries: flags.insecureRegistries, trustPolicy: flags.trustPolicy, log });
  const router = new Router();
  // Each router declares the small backend it needs (routes/*.ts); the engine's services satisfy them.
  systemRoutes(router, engine.system, engine.events);
  housekeepingRoutes(router, engine.housekeeping);
  fileRoutes(router, engine.files);
  containerRoutes(router, { containers: engine.containers, exec: engine.exec });
  // berth's SBOM routes before the image routes (/images/{name}/sbom… must not reach their patterns).
  sbomRoutes(router, engine.sbom);
  imageRoutes(router, engine.images, engine.distribution);
  distributionRoutes(router, engine.distribution);
  trustRoutes(router, engine.trust);
  buildRoutes(router, engine.build);
  networkRoutes(router, engine.networks);
  volumeRoutes(router, engine.volumes);
  scanRoutes(router, engine.scan);
  swarmRoutes(router);
  scanDbRoutes(router, engine.vulndb);
  const server = createServer(router, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(flags.socket, resolve);
  });
  await fs.chmod(flags.socket, 0o660);
  log.info(`API listen on ${flags.socket}`);
  if (flags.trustPolicy) log.info(`trust policy ${flags.trustPolicy.source}: pulls are checked against it`);
  const shutdown = (sig: string) => {
    // Containers keep running under their shims (live restore); only the API goes away.
    log.info(`received ${sig}, shutting down`);
    server.close();
    void fs.rm(path.join(flags.root, 'berthd.pid'), { force: true }).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  // One broken connection must not take the daemon (and every API client) down: log it and go on.
  process.on('uncaughtException', (e) => log.error(`uncaught: ${e.stack ?? e.message}`));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`berthd: ${messageOf(e)}\n`);
  process.exit(1);
});
