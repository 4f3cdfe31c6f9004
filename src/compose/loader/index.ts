// Loading a project: find the files, read them, interpolate, merge, resolve include/extends/profiles,
// validate, normalise — into the Project model (types.ts).
// FIRST CUT: only what the other modules need to start working (one or more files, plain YAML,
// the common short syntaxes). The loader work replaces this file's body; keep `loadProject`'s signature.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ComposeError, type Project, type ServiceConfig, type ServicePort, type ServiceVolume } from '../types.js';

export interface LoadOptions {
  /** -f files in order ("-" = standard input); empty = COMPOSE_FILE or the default names. */
  files: string[];
  /** -p */
  projectName?: string;
  /** --project-directory */
  projectDirectory?: string;
  /** --env-file (empty = <project dir>/.env when it exists) */
  envFiles: string[];
  /** --profile (empty = COMPOSE_PROFILES) */
  profiles: string[];
  /** The shell's environment (also where COMPOSE_* variables are read). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** false: --no-interpolate */
  interpolate?: boolean;
  /** Reads standard input for "-f -". */
  readStdin?: () => Promise<string>;
  /** Deprecation notes and other warnings ("the attribute `version` is obsolete"). */
  warn?: (message: string) => void;
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export async function loadProject(opts: LoadOptions): Promise<Project> {
  const files = opts.files.length ? opts.files.map((f) => path.resolve(opts.cwd, f)) : [await findDefault(opts.cwd)];
  const workingDir = path.resolve(opts.cwd, opts.projectDirectory ?? path.dirname(files[0]!));
  const services: Record<string, ServiceConfig> = {};
  let name = opts.projectName;
  for (const file of files) {
    const doc = (parse(await fs.readFile(file, 'utf8')) ?? {}) as Record<string, unknown>;
    if (typeof doc.name === 'string') name ??= doc.name;
    for (const [svcName, raw] of Object.entries((doc.services ?? {}) as Record<string, Record<string, unknown>>)) {
      services[svcName] = { ...services[svcName], ...normaliseService(raw, workingDir) };
    }
  }
  const projectName = (name ?? opts.env.COMPOSE_PROJECT_NAME ?? path.basename(workingDir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
  for (const svc of Object.values(services)) if (!svc.networks && !svc.network_mode) svc.networks = { default: null };
  return {
    name: projectName,
    workingDir,
    composeFiles: files,
    environment: Object.fromEntries(Object.entries(opts.env).filter((e): e is [string, string] => e[1] !== undefined)),
    profiles: opts.profiles,
    services,
    disabledServices: {},
    networks: { default: { name: `${projectName}_default` } },
    volumes: {},
    secrets: {},
    configs: {},
  };
}

async function findDefault(cwd: string): Promise<string> {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    for (const f of DEFAULT_FILES) {
      const p = path.join(dir, f);
      if (await fs.stat(p).then(() => true, () => false)) return p;
    }
    if (dir === path.dirname(dir)) break;
  }
  throw new ComposeError('no configuration file provided: not found');
}

function normaliseService(raw: Record<string, unknown>, dir: string): ServiceConfig {
  const svc = { ...raw } as Record<string, unknown>;
  if (typeof svc.build === 'string') svc.build = { context: path.resolve(dir, svc.build), dockerfile: 'Dockerfile' };
  if (typeof svc.command === 'string') svc.command = svc.command.split(/\s+/).filter(Boolean);
  if (Array.isArray(svc.environment)) {
    svc.environment = Object.fromEntries((svc.environment as string[]).map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? [e, null] : [e.slice(0, eq), e.slice(eq + 1)];
    }));
  }
  if (Array.isArray(svc.depends_on)) {
    svc.depends_on = Object.fromEntries((svc.depends_on as string[]).map((d) => [d, { condition: 'service_started', required: true }]));
  }
  if (Array.isArray(svc.ports)) {
    svc.ports = (svc.ports as unknown[]).map((p): ServicePort => {
      if (typeof p !== 'string' && typeof p !== 'number') return p as ServicePort;
      const [spec, protocol = 'tcp'] = String(p).split('/');
      const parts = spec!.split(':');
      const target = Number(parts.pop());
      return { mode: 'ingress', target, published: parts.pop(), host_ip: parts.pop(), protocol };
    });
  }
  if (Array.isArray(svc.volumes)) {
    svc.volumes = (svc.volumes as unknown[]).map((v): ServiceVolume => {
      if (typeof v !== 'string') return v as ServiceVolume;
      const [source, target, mode] = v.split(':');
      if (target === undefined) return { type: 'volume', target: source! };
      const bind = source!.startsWith('.') || source!.startsWith('/') || source!.startsWith('~');
      return {
        type: bind ? 'bind' : 'volume',
        source: bind ? path.resolve(dir, source!) : source,
        target,
        read_only: mode === 'ro' || undefined,
        ...(bind ? { bind: { create_host_path: true } } : {}),
      };
    });
  }
  if (Array.isArray(svc.networks)) svc.networks = Object.fromEntries((svc.networks as string[]).map((n) => [n, null]));
  return svc as ServiceConfig;
}
