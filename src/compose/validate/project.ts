// Checks on the whole loaded project that a schema cannot express: references between services and
// top-level resources (depends_on, networks, volumes, secrets, configs), services with neither image nor
// build, settings that contradict each other, duplicate container names and mount targets, and cycles.
// The messages are compose-go's (loader/validate.go, Project.CheckContainerNameUnicity) so a Docker
// Compose user recognises them; "invalid compose project" ends those Compose ends with it.
// Services are visited in name order so that the first error is always the same one.
import { checkCycles } from '../graph.js';
import { ComposeError, type Project, type ServiceConfig } from '../types.js';

const INVALID = 'invalid compose project';

function invalid(message: string): ComposeError {
  return new ComposeError(`${message}: ${INVALID}`);
}

export function checkProject(project: Project): void {
  for (const name of Object.keys(project.services).sort()) {
    checkService(project, name, project.services[name]!);
  }
  checkTopLevelSecrets(project);
  checkContainerNames(project);
  checkCycles(project.services);
}

function checkService(project: Project, name: string, s: ServiceConfig): void {
  checkImageOrBuild(project, name, s);
  // depends_on before network_mode: the loader adds `service:x` to depends_on, so compose-go names the
  // dependency first (`service "bar" depends on undefined service "zot"`).
  checkDependsOn(project, name, s);
  checkNetworks(project, name, s);
  checkHealthcheck(s);
  checkReferences(project, name, s);
  checkScale(name, s);
  checkResources(name, s);
  checkDevelop(name, s);
  checkMountTargets(name, s);
}

function checkImageOrBuild(project: Project, name: string, s: ServiceConfig): void {
  if (!s.build && !s.image) throw invalid(`service ${q(name)} has neither an image nor a build context specified`);
  if (!s.build) return;
  if (s.build.dockerfile_inline && s.build.dockerfile) {
    throw invalid(`service ${q(name)} declares mutualy exclusive dockerfile and dockerfile_inline`);
  }
  for (const [ctxName, ctx] of Object.entries(s.build.additional_contexts ?? {})) {
    if (!ctx.startsWith('service:')) continue;
    const target = ctx.slice('service:'.length);
    const t = project.services[target];
    if (!t) throw new ComposeError(`service ${q(name)} declares unknown service ${q(target)} as additional contexts ${ctxName}`);
    if (!t.build) throw new ComposeError(`service ${q(name)} declares non-buildable service ${q(target)} as additional contexts ${ctxName}`);
  }
  const platforms = s.build.platforms ?? [];
  if (platforms.length && s.platform && !platforms.includes(s.platform)) {
    throw invalid(`service.build.platforms MUST include service.platform ${q(s.platform)}`);
  }
}

function checkNetworks(project: Project, name: string, s: ServiceConfig): void {
  const networks = Object.keys(s.networks ?? {});
  if (s.network_mode && networks.length) {
    throw invalid(`service ${name} declares mutually exclusive \`network_mode\` and \`networks\``);
  }
  for (const network of networks) {
    if (!project.networks[network]) throw invalid(`service ${q(name)} refers to undefined network ${network}`);
  }
  if (s.network_mode?.startsWith('service:')) {
    const target = s.network_mode.slice('service:'.length);
    if (!project.services[target] && !project.disabledServices[target]) {
      throw new ComposeError(`service ${q(target)} not found for network_mode 'service:${target}'`);
    }
  }
}

function checkHealthcheck(s: ServiceConfig): void {
  const first = s.healthcheck?.test?.[0];
  if (first !== undefined && !['CMD', 'CMD-SHELL', 'NONE'].includes(first)) {
    throw new ComposeError('healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"');
  }
}

function checkDependsOn(project: Project, name: string, s: ServiceConfig): void {
  for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
    if (project.services[dep]) continue;
    // A dependency left out by profiles is fine when it is optional.
    if (project.disabledServices[dep] && cfg.required === false) continue;
    throw invalid(`service ${q(name)} depends on undefined service ${q(dep)}`);
  }
}

function checkReferences(project: Project, name: string, s: ServiceConfig): void {
  for (const v of s.volumes ?? []) {
    if (v.type === 'volume' && v.source && !project.volumes[v.source]) {
      throw invalid(`service ${q(name)} refers to undefined volume ${v.source}`);
    }
  }
  for (const secret of s.build?.secrets ?? []) {
    if (!project.secrets[secret.source]) throw invalid(`service ${q(name)} refers to undefined build secret ${secret.source}`);
  }
  for (const config of s.configs ?? []) {
    if (!project.configs[config.source]) throw invalid(`service ${q(name)} refers to undefined config ${config.source}`);
  }
  for (const secret of s.secrets ?? []) {
    if (!project.secrets[secret.source]) throw invalid(`service ${q(name)} refers to undefined secret ${secret.source}`);
  }
  for (const model of Object.keys(s.models ?? {})) {
    if (!project.models?.[model]) throw invalid(`service ${q(name)} refers to undefined model ${model}`);
  }
}

function checkScale(name: string, s: ServiceConfig): void {
  const replicas = s.deploy?.replicas;
  if (s.scale !== undefined && replicas !== undefined && s.scale !== replicas) {
    throw invalid(`services.${name}: can't set distinct values on 'scale' and 'deploy.replicas'`);
  }
  if (s.scale !== undefined && s.scale < 0) throw new ComposeError(`services.${name}.scale: must be greater than or equal to 0`);
  if (replicas !== undefined && replicas < 0) {
    throw new ComposeError(`services.${name}.deploy.replicas: must be greater than or equal to 0`);
  }
  const scale = s.scale ?? replicas ?? 1;
  if (scale > 1 && s.container_name) {
    const attr = s.scale === undefined ? 'deploy.replicas' : 'scale';
    throw invalid(`services.${name}: can't set container_name and ${attr} as container name must be unique`);
  }
}

/** The short keys and their deploy.resources twins must agree when both are set. */
function checkResources(name: string, s: ServiceConfig): void {
  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  const distinct = (a: string, b: string): ComposeError => invalid(`services.${name}: can't set distinct values on '${a}' and '${b}'`);
  if (s.cpus && limits && Number(limits.cpus ?? 0) !== s.cpus) throw distinct('cpus', 'deploy.resources.limits.cpus');
  if (s.mem_limit && limits && (limits.memory ?? 0) !== s.mem_limit) throw distinct('mem_limit', 'deploy.resources.limits.memory');
  if (s.mem_reservation && reservations && (reservations.memory ?? 0) !== s.mem_reservation) {
    throw distinct('mem_reservation', 'deploy.resources.reservations.memory');
  }
  if (s.pids_limit && limits && (limits.pids ?? 0) !== s.pids_limit) throw distinct('pids_limit', 'deploy.resources.limits.pids');
}

function checkDevelop(name: string, s: ServiceConfig): void {
  for (const watch of s.develop?.watch ?? []) {
    if (!watch.target && watch.action !== 'rebuild' && watch.action !== 'restart') {
      throw invalid(`services.${name}.develop.watch: target is required for non-rebuild actions`);
    }
  }
}

/** Two mounts on one container path: the engine would refuse the container, Compose refuses the file. */
function checkMountTargets(name: string, s: ServiceConfig): void {
  const mounts = new Map<string, string>();
  const add = (target: string, loc: string): void => {
    const prev = mounts.get(target);
    if (prev) throw new ComposeError(`${loc}: target ${target} already mounted as ${prev}`);
    mounts.set(target, loc);
  };
  (s.tmpfs ?? []).forEach((t, i) => add(t.split(':')[0]!, `services.${name}.tmpfs[${i}]`));
  (s.volumes ?? []).forEach((v, i) => add(v.target, `services.${name}.volumes[${i}]`));
}

function checkTopLevelSecrets(project: Project): void {
  for (const name of Object.keys(project.secrets).sort()) {
    const secret = project.secrets[name]!;
    if (secret.external) continue;
    if (!secret.file && !secret.environment) throw invalid(`secret ${q(name)} must declare either \`file\` or \`environment\``);
  }
}

function checkContainerNames(project: Project): void {
  const seen = new Map<string, string>();
  for (const name of Object.keys(project.services).sort()) {
    const cn = project.services[name]!.container_name;
    if (!cn) continue;
    const other = seen.get(cn);
    if (other) throw new ComposeError(`services.${name}: container name ${q(cn)} is already in use by service ${other}`);
    seen.set(cn, name);
  }
}

/** Go's %q for the names Compose quotes. */
function q(s: string): string {
  return JSON.stringify(s);
}
