// `berth compose config`: the project after loading (interpolation, merge, include, extends, profiles,
// normalisation, validation) in its canonical form, or one list of it (--services, --volumes, ...), as
// `docker compose config` has them. It never changes anything: only --resolve-image-digests asks the
// engine (the registry's digest of each image).
import { promises as fs } from 'node:fs';
import { encodeRegistryAuth, getCredentials } from '../../client/credentials.js';
import { ApiError } from '../../client/errors.js';
import { serviceImage } from '../../compose/convert.js';
import { dependencies } from '../../compose/graph.js';
import { serviceConfigHash } from '../../compose/hash.js';
import { serializeProject } from '../../compose/serialize.js';
import { extractVariables } from '../../compose/variables.js';
import { stringify } from 'yaml';
import { tabwrite } from '../format/table.js';
import { ComposeError, type Project, type ServiceConfig } from '../../compose/types.js';
import { normalizedString, parseImageReference, parseNormalizedNamed } from '../../image-spec/reference.js';
import { writeOut } from '../command.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { LoadOptions } from '../../compose/loader/index.js';
import type { ComposeCommand, ComposeContext } from './context.js';

const FLAGS: FlagSpec[] = [
  { name: 'format', type: 'string', description: 'Format the output. Values: [yaml | json]' },
  { name: 'resolve-image-digests', type: 'bool', description: 'Pin image tags to digests' },
  { name: 'lock-image-digests', type: 'bool', description: 'Produces an override file with image digests' },
  { name: 'quiet', short: 'q', type: 'bool', description: "Only validate the configuration, don't print anything" },
  { name: 'no-interpolate', type: 'bool', description: "Don't interpolate environment variables" },
  { name: 'no-normalize', type: 'bool', description: "Don't normalize compose model" },
  { name: 'no-path-resolution', type: 'bool', description: "Don't resolve file paths" },
  { name: 'no-consistency', type: 'bool', description: "Don't check model consistency - warning: may produce invalid Compose output" },
  { name: 'no-env-resolution', type: 'bool', description: "Don't resolve service env files" },
  { name: 'services', type: 'bool', description: 'Print the service names, one per line.' },
  { name: 'volumes', type: 'bool', description: 'Print the volume names, one per line.' },
  { name: 'networks', type: 'bool', description: 'Print the network names, one per line.' },
  { name: 'models', type: 'bool', description: 'Print the model names, one per line.' },
  { name: 'profiles', type: 'bool', description: 'Print the profile names, one per line.' },
  { name: 'images', type: 'bool', description: 'Print the image names, one per line.' },
  { name: 'hash', type: 'string', description: 'Print the service config hash, one per line.' },
  { name: 'variables', type: 'bool', description: 'Print model variables and default values.' },
  { name: 'environment', type: 'bool', description: 'Print environment used for interpolation.' },
  { name: 'output', short: 'o', type: 'string', description: 'Save to file (default to stdout)' },
];

async function run(ctx: ComposeContext, flags: ParsedFlags): Promise<number> {
  const format = flags.str('format') || 'yaml';
  const quiet = flags.bool('quiet');
  // -q validates only: every output goes nowhere (Compose points stdout at /dev/null).
  const out = (text: string): Promise<void> => (quiet ? Promise.resolve() : writeOut(ctx.stdout, text));
  const lines = (list: string[]): Promise<void> => out(list.map((l) => `${l}\n`).join(''));
  const interpolate = !flags.bool('no-interpolate');
  const resolveEnvironment = !flags.bool('no-env-resolution');
  const overrides: Partial<LoadOptions> = {
    ...(interpolate ? {} : { interpolate: false }),
    ...(flags.bool('no-path-resolution') ? { resolvePaths: false } : {}),
    ...(flags.bool('no-normalize') ? { normalize: false } : {}),
    ...(flags.bool('no-consistency') ? { consistency: false } : {}),
    ...(resolveEnvironment ? {} : { resolveEnvironment: false }),
  };
  const load = (): Promise<Project> => (Object.keys(overrides).length ? ctx.project(overrides) : ctx.project());

  if (flags.bool('services')) return done(lines(inDependencyOrder(await load())));
  if (flags.bool('volumes')) return done(lines(Object.keys((await load()).volumes).sort()));
  if (flags.bool('networks')) return done(lines(Object.keys((await load()).networks).sort()));
  if (flags.bool('models')) return done(lines(Object.values((await load()).models ?? {}).map((m) => m.model).filter(Boolean)));
  if (flags.str('hash')) return done(lines(hashes(await load(), flags.str('hash'))));
  if (flags.bool('profiles')) return done(lines(profiles(await load())));
  if (flags.bool('images')) {
    const p = selectServices(await load(), flags.args);
    return done(lines(Object.keys(p.services).sort().flatMap((name) => images(p, name, p.services[name]!))));
  }
  if (flags.bool('variables')) return done(out(variablesListing(await ctx.project({ ...overrides, interpolate: false, consistency: false }), flags.str('format'))));
  if (flags.bool('environment')) {
    const env = (await load()).environment;
    return done(lines(Object.keys(env).sort().map((k) => `${k}=${env[k]}`)));
  }

  if (format !== 'yaml' && format !== 'json') throw new ComposeError(`unsupported format ${JSON.stringify(format)}`);
  let project = selectServices(await load(), flags.args);
  // Once read into the environment, env_file entries are left out (Compose's WithDiscardEnvFile).
  if (resolveEnvironment) project = discardEnvFiles(project);
  if (flags.bool('resolve-image-digests') || flags.bool('lock-image-digests')) project = await resolveImageDigests(ctx, project);
  let content = serializeProject(project, { format, interpolated: interpolate });
  if (flags.bool('lock-image-digests')) content = serializeLock(project, format);
  if (quiet) return 0;
  const output = flags.str('output');
  if (output) {
    await fs.writeFile(output, content, { mode: 0o666 });
    return 0;
  }
  await out(content);
  return 0;
}

async function done(p: Promise<void>): Promise<number> {
  await p;
  return 0;
}

/** The services with the ones they depend on, as `config SERVICE...` prints them; all when none is named. */
export function selectServices(project: Project, names: string[]): Project {
  if (!names.length) return project;
  const keep = new Set<string>();
  const visit = (name: string): void => {
    if (keep.has(name)) return;
    const svc = project.services[name];
    if (!svc) throw new ComposeError(`no such service: ${name}`);
    keep.add(name);
    for (const dep of dependencies(svc)) {
      // An optional dependency left out by profiles stays out.
      if (project.services[dep] || svc.depends_on?.[dep]?.required !== false) visit(dep);
    }
  };
  names.forEach(visit);
  return { ...project, services: Object.fromEntries(Object.entries(project.services).filter(([n]) => keep.has(n))) };
}

/** --variables: NAME REQUIRED DEFAULT VALUE ALTERNATE VALUE (a table unless --format json|yaml), by name. */
function variablesListing(project: Project, format: string): string {
  const model = { services: project.services, networks: project.networks, volumes: project.volumes, secrets: project.secrets, configs: project.configs };
  const vars = [...extractVariables(model).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  switch (format.toLowerCase()) {
    case '':
    case 'table':
    case 'pretty': {
      const rows = vars.map((v) => `${v.name}\t${v.required}\t${v.defaultValue}\t${v.presenceValue}`);
      return tabwrite(['NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE', ...rows].join('\n') + '\n', 20, 3);
    }
    case 'json':
      // Go's encoding of compose-go's Variable struct: its field names as they are.
      return `${JSON.stringify(Object.fromEntries(vars.map((v) => [v.name, { Name: v.name, DefaultValue: v.defaultValue, PresenceValue: v.presenceValue, Required: v.required }])))}\n`;
    case 'yaml':
      return stringify(Object.fromEntries(vars.map((v) => [v.name, { name: v.name, defaultvalue: v.defaultValue, presencevalue: v.presenceValue, required: v.required }])), { version: '1.1', indent: 4 });
    default:
      throw new ComposeError(`format value ${JSON.stringify(format)} could not be parsed: parsing failed`);
  }
}

function discardEnvFiles(project: Project): Project {
  const services = Object.fromEntries(Object.entries(project.services).map(([name, { env_file: _files, ...svc }]) => [name, svc]));
  return { ...project, services };
}

/** Service names, each after the services it depends on (Compose's ForEachService), ties by name. */
export function inDependencyOrder(project: Project): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const svc = project.services[name];
    if (seen.has(name) || !svc) return;
    seen.add(name);
    for (const dep of dependencies(svc).sort()) visit(dep);
    order.push(name);
  };
  Object.keys(project.services).sort().forEach(visit);
  return order;
}

/** --hash "*" or --hash a,b: "<service> <config hash>" per service, by name. */
function hashes(project: Project, spec: string): string[] {
  const names = spec === '*' ? Object.keys(project.services) : spec.split(',');
  for (const n of names) if (!project.services[n]) throw new ComposeError(`no such service: ${n}`);
  return [...new Set(names)].sort().map((n) => `${n} ${serviceConfigHash(project.services[n]!)}`);
}

/** Every profile any service names, enabled or not, sorted. */
function profiles(project: Project): string[] {
  const all = new Set<string>();
  for (const svc of [...Object.values(project.services), ...Object.values(project.disabledServices)]) {
    for (const p of svc.profiles ?? []) all.add(p);
  }
  return [...all].sort();
}

/** The image a service runs (`<project>-<service>` when built without a name), then the images its volumes mount. */
function images(project: Project, name: string, svc: ServiceConfig): string[] {
  const imageVolumes = (svc.volumes ?? []).filter((v) => v.type === 'image' && v.source).map((v) => v.source!);
  return [serviceImage(project, name, svc), ...imageVolumes];
}

/** Each service's image pinned to the registry's digest (docker.io/library/busybox:latest@sha256:…). */
async function resolveImageDigests(ctx: ComposeContext, project: Project): Promise<Project> {
  const cache = new Map<string, Promise<string>>();
  const resolve = (image: string): Promise<string> => {
    let p = cache.get(image);
    if (!p) {
      p = pinDigest(ctx, image);
      cache.set(image, p);
    }
    return p;
  };
  const services: Record<string, ServiceConfig> = {};
  for (const [name, svc] of Object.entries(project.services)) {
    services[name] = svc.image ? { ...svc, image: await resolve(svc.image) } : svc;
  }
  return { ...project, services };
}

async function pinDigest(ctx: ComposeContext, image: string): Promise<string> {
  let ref;
  try {
    ref = parseImageReference(image);
  } catch (err) {
    throw new ComposeError(`invalid reference format: ${image}: ${(err as Error).message}`);
  }
  if (ref.digest) return normalizedString(ref);
  const named = normalizedString(ref);
  const auth = encodeRegistryAuth(getCredentials(ctx.env, parseNormalizedNamed(image).domain));
  try {
    return `${named}@${await ctx.backend().distributionDigest(named, auth)}`;
  } catch (err) {
    if (err instanceof ApiError) throw new ComposeError(`failed to resolve digest for ${named}: ${err.message}`);
    throw err;
  }
}

/** --lock-image-digests: an override file with only each service's pinned image (and image volumes). */
function serializeLock(project: Project, format: 'yaml' | 'json'): string {
  const services = Object.fromEntries(
    Object.entries(project.services).map(([name, svc]): [string, ServiceConfig] => [
      name,
      { image: svc.image, ...(svc.volumes?.some((v) => v.type === 'image') ? { volumes: svc.volumes.filter((v) => v.type === 'image') } : {}) },
    ]),
  );
  const locked: Project = { ...project, name: '', services, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: undefined };
  return serializeProject(locked, { format });
}

export const commands: Record<string, ComposeCommand> = {
  config: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: FLAGS,
    run,
  },
};
