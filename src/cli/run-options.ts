// `run`/`create` flags and their mapping into the POST /containers/create body, field by field as the
// docker CLI's cli/command/container/opts.go does (including fields the daemon honours only later).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ContainerCreateRequest, DeviceMapping, EndpointSettings, HealthConfig, HostConfig, Mount, PortBinding, Ulimit } from '../api/types.js';
import type { FlagSpec, ParsedFlags } from './flags.js';
import { ramInBytes } from '../lib/units.js';

export const CONTAINER_FLAGS: FlagSpec[] = [
  { name: 'add-host', type: 'stringArray', description: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'attach', short: 'a', type: 'stringArray', description: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'blkio-weight', type: 'int', valueName: 'uint16', description: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  { name: 'cap-add', type: 'stringArray', description: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'stringArray', description: 'Drop Linux capabilities' },
  { name: 'cidfile', type: 'string', description: 'Write the container ID to the file' },
  { name: 'cpu-period', type: 'int', description: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'int', description: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-rt-period', type: 'int', description: 'Limit CPU real-time period in microseconds' },
  { name: 'cpu-rt-runtime', type: 'int', description: 'Limit CPU real-time runtime in microseconds' },
  { name: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { name: 'cpus', type: 'float', description: 'Number of CPUs' },
  { name: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'device', type: 'stringArray', description: 'Add a host device to the container' },
  { name: 'dns', type: 'stringArray', description: 'Set custom DNS servers' },
  { name: 'dns-option', type: 'stringArray', description: 'Set DNS options' },
  { name: 'dns-search', type: 'stringArray', description: 'Set custom DNS search domains' },
  { name: 'domainname', type: 'string', description: 'Container NIS domain name' },
  { name: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'env', short: 'e', type: 'stringArray', description: 'Set environment variables' },
  { name: 'env-file', type: 'stringArray', description: 'Read in a file of environment variables' },
  { name: 'expose', type: 'stringArray', description: 'Expose a port or a range of ports' },
  { name: 'group-add', type: 'stringArray', description: 'Add additional groups to join' },
  { name: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { name: 'health-interval', type: 'duration', description: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', type: 'int', description: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-interval', type: 'duration', description: 'Time between running the check during the start period (ms|s|m|h) (default 0s)' },
  { name: 'health-start-period', type: 'duration', description: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', type: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { name: 'init', type: 'bool', description: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { name: 'ipc', type: 'string', description: 'IPC mode to use' },
  { name: 'label', short: 'l', type: 'stringArray', description: 'Set meta data on a container' },
  { name: 'label-file', type: 'stringArray', description: 'Read in a line delimited file of labels' },
  { name: 'link', type: 'stringArray', description: 'Add link to another container' },
  { name: 'log-driver', type: 'string', description: 'Logging driver for the container' },
  { name: 'log-opt', type: 'stringArray', description: 'Log driver options' },
  { name: 'memory', short: 'm', type: 'size', description: 'Memory limit' },
  { name: 'memory-reservation', type: 'size', description: 'Memory soft limit' },
  { name: 'memory-swap', type: 'swapSize', description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: 'mount', type: 'stringArray', valueName: 'mount', description: 'Attach a filesystem mount to the container' },
  { name: 'name', type: 'string', description: 'Assign a name to the container' },
  { name: 'network', type: 'string', valueName: 'network', default: 'default', description: 'Connect a container to a network' },
  { name: 'network-alias', type: 'stringArray', description: 'Add network-scoped alias for the container' },
  { name: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ip6', type: 'string', description: 'IPv6 address (e.g., 2001:db8::33)' },
  { name: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
  { name: 'oom-kill-disable', type: 'bool', description: 'Disable OOM Killer' },
  { name: 'pid', type: 'string', description: 'PID namespace to use' },
  { name: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
  { name: 'privileged', type: 'bool', description: 'Give extended privileges to this container' },
  { name: 'publish', short: 'p', type: 'stringArray', description: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { name: 'pull', type: 'string', default: 'missing', description: 'Pull image before creating ("always", "missing", "never")' },
  { name: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  { name: 'restart', type: 'string', default: 'no', description: 'Restart policy to apply when a container exits' },
  { name: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
  { name: 'security-opt', type: 'stringArray', description: 'Security Options' },
  { name: 'shm-size', type: 'size', description: 'Size of /dev/shm' },
  { name: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { name: 'stop-timeout', type: 'int', description: 'Timeout (in seconds) to stop a container' },
  { name: 'sysctl', type: 'stringArray', valueName: 'map', description: 'Sysctl options' },
  { name: 'tmpfs', type: 'stringArray', description: 'Mount a tmpfs directory' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'ulimit', type: 'stringArray', valueName: 'ulimit', description: 'Ulimit options' },
  { name: 'user', short: 'u', type: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'uts', type: 'string', description: 'UTS namespace to use' },
  { name: 'volume', short: 'v', type: 'stringArray', description: 'Bind mount a volume' },
  { name: 'volume-driver', type: 'string', description: 'Optional volume driver for the container' },
  { name: 'volumes-from', type: 'stringArray', description: 'Mount volumes from the specified container(s)' },
  { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
];

export const RUN_ONLY_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
  { name: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
  { name: 'sig-proxy', type: 'bool', default: true, description: 'Proxy received signals to the process' },
];

/** What the mapping needs from the outside world (files, environment), injectable for tests. */
export interface MappingEnv {
  readFile(path: string): string;
  getenv(name: string): string | undefined;
  /** The working directory relative host paths (`-v ./dir:/x`) resolve against; process.cwd() by default. */
  cwd?(): string;
}

export interface CreatePlan {
  body: ContainerCreateRequest;
  name: string;
  platform: string;
  pull: string;
}

export class OptionError extends Error {}

/** An --env-file or --label-file; a missing or unreadable one is a usage error in the docker CLI's words. */
export function readOptionFile(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OptionError(`open ${p}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
}

export function buildCreateRequest(f: ParsedFlags, env: MappingEnv): CreatePlan {
  const [image = '', ...cmd] = f.args;
  const attach = attachStreams(f);
  const ports = parsePublish(f.list('publish'), f.list('expose'));
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const v of f.list('volume')) {
    // As the docker CLI: a spec with a source is a bind (HostConfig.Binds), a lone path an anonymous volume.
    const parsed = parseVolumeSpec(v);
    if (!parsed.source) {
      volumes[v] = {};
      continue;
    }
    const colon = v.indexOf(':');
    const host = v.slice(0, colon);
    binds.push(host === '.' || host.startsWith('./') ? resolvePath(env, host) + v.slice(colon) : v);
  }
  const pull = f.str('pull');
  if (!['always', 'missing', 'never'].includes(pull))
    throw new OptionError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  const body: ContainerCreateRequest = {
    Hostname: f.str('hostname'),
    Domainname: f.str('domainname'),
    User: f.str('user'),
    AttachStdin: attach.stdin,
    AttachStdout: attach.stdout,
    AttachStderr: attach.stderr,
    ExposedPorts: Object.keys(ports.exposed).length ? ports.exposed : undefined,
    Tty: f.bool('tty'),
    OpenStdin: f.bool('interactive'),
    StdinOnce: false,
    Env: environment(f, env) ?? undefined,
    Cmd: cmd.length ? cmd : null,
    Healthcheck: healthcheck(f),
    Image: image,
    Volumes: volumes,
    WorkingDir: f.str('workdir'),
    Entrypoint: entrypoint(f),
    OnBuild: null,
    Labels: labels(f, env),
    StopSignal: f.str('stop-signal') || undefined,
    StopTimeout: f.has('stop-timeout') ? f.num('stop-timeout') : undefined,
    HostConfig: hostConfig(f, env, binds, ports.bindings),
    NetworkingConfig: networking(f),
  };
  return { body: dropUndefined(body), name: f.str('name'), platform: f.str('platform'), pull };
}

function attachStreams(f: ParsedFlags): { stdin: boolean; stdout: boolean; stderr: boolean } {
  const wanted = f.list('attach').map((s) => s.toLowerCase());
  for (const s of wanted)
    if (!['stdin', 'stdout', 'stderr'].includes(s)) throw new OptionError('valid streams are STDIN, STDOUT and STDERR');
  const none = wanted.length === 0;
  return {
    stdin: wanted.includes('stdin') || f.bool('interactive'),
    stdout: none || wanted.includes('stdout'),
    stderr: none || wanted.includes('stderr'),
  };
}

function entrypoint(f: ParsedFlags): string[] | null {
  if (f.str('entrypoint')) return [f.str('entrypoint')];
  // `--entrypoint=""` resets the image's entrypoint
  return f.has('entrypoint') ? [''] : null;
}

/** KEY=VALUE lines; blank lines and # comments skipped. */
function readLines(path: string, env: MappingEnv): string[] {
  return env
    .readFile(path)
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s+/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** docker's opts.ValidateEnv: `-e VAR` takes VAR's value from our environment when set. */
export function expandEnv(entry: string, env: MappingEnv): string {
  const eq = entry.indexOf('=');
  const key = eq >= 0 ? entry.slice(0, eq) : entry;
  if (!key) throw new OptionError(`invalid environment variable: ${entry}`);
  if (eq >= 0) return entry;
  const value = env.getenv(key);
  return value === undefined ? entry : `${key}=${value}`;
}

function environment(f: ParsedFlags, env: MappingEnv): string[] | null {
  const out: string[] = [];
  for (const file of f.list('env-file')) {
    for (const line of readLines(file, env)) {
      const eq = line.indexOf('=');
      const key = eq >= 0 ? line.slice(0, eq) : line;
      if (/\s/.test(key)) throw new OptionError(`variable '${key}' contains whitespaces`);
      if (eq >= 0) out.push(line);
      else if (env.getenv(key) !== undefined) out.push(`${key}=${env.getenv(key)}`);
    }
  }
  for (const e of f.list('env')) out.push(expandEnv(e, env));
  return out.length ? out : null;
}

function kvMap(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq < 0) out[e] = '';
    else out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

function labels(f: ParsedFlags, env: MappingEnv): Record<string, string> {
  const fromFiles = f.list('label-file').flatMap((file) => readLines(file, env));
  return kvMap([...fromFiles, ...f.list('label')]);
}

function healthcheck(f: ParsedFlags): HealthConfig | undefined {
  const ns = (name: string): number => {
    const ms = f.num(name);
    if (ms < 0) throw new OptionError(`--${name} cannot be negative`);
    return Math.round(ms * 1e6);
  };
  const durations = ['health-interval', 'health-timeout', 'health-start-period', 'health-start-interval'];
  const any = f.str('health-cmd') !== '' || f.num('health-retries') !== 0 || durations.some((d) => f.num(d) !== 0);
  if (f.bool('no-healthcheck')) {
    if (any) throw new OptionError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  if (f.num('health-retries') < 0) throw new OptionError('--health-retries cannot be negative');
  const hc: HealthConfig = {
    Test: f.str('health-cmd') ? ['CMD-SHELL', f.str('health-cmd')] : undefined,
    Interval: ns('health-interval'),
    Timeout: ns('health-timeout'),
    StartPeriod: ns('health-start-period'),
    Retries: f.num('health-retries'),
  };
  if (f.num('health-start-interval')) hc.StartInterval = ns('health-start-interval');
  return dropUndefined(hc);
}

export interface PortSpecs {
  exposed: Record<string, object>;
  bindings: Record<string, PortBinding[]>;
}

function splitRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new OptionError(`invalid ${what}: ${s}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (end < start) throw new OptionError(`invalid range specified for ${what}: ${s}`);
  return [start, end];
}

/** docker's nat.ParsePortSpecs: [ip:][hostPort:]containerPort[/proto], with ranges. */
export function parsePublish(publish: string[], expose: string[] = []): PortSpecs {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of publish) {
    const slash = spec.lastIndexOf('/');
    const hasProto = slash > spec.lastIndexOf(']') && slash > spec.lastIndexOf(':');
    const proto = hasProto ? spec.slice(slash + 1) || 'tcp' : 'tcp';
    const rest = hasProto ? spec.slice(0, slash) : spec;
    let ip = '';
    let hostPart = '';
    let containerPart = rest;
    const v6 = /^\[([^\]]*)\]:(.*)$/.exec(rest);
    const parts = v6 ? [v6[1] ?? '', ...(v6[2] ?? '').split(':')] : rest.split(':');
    if (parts.length === 2) [hostPart = '', containerPart = ''] = parts;
    else if (parts.length === 3) [ip = '', hostPart = '', containerPart = ''] = parts;
    else if (parts.length > 3) throw new OptionError(`invalid port format: ${spec}`);
    if (!containerPart) throw new OptionError(`no port specified: ${spec}<empty>`);
    const [cStart, cEnd] = splitRange(containerPart, 'containerPort');
    const [hStart, hEnd] = hostPart ? splitRange(hostPart, 'hostPort') : [0, 0];
    const count = cEnd - cStart + 1;
    if (hostPart && hEnd - hStart + 1 !== count && count !== 1)
      throw new OptionError(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
    for (let i = 0; i < count; i++) {
      const key = `${cStart + i}/${proto}`;
      let hostPort = '';
      if (hostPart) hostPort = count === 1 && hEnd !== hStart ? `${hStart}-${hEnd}` : String(hStart + i);
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
    }
  }
  for (const e of expose) {
    const [port = '', proto = 'tcp'] = e.split('/');
    const [start, end] = splitRange(port, 'range format for --expose');
    for (let p = start; p <= end; p++) exposed[`${p}/${proto}`] = {};
  }
  return { exposed, bindings };
}

export function restartPolicy(value: string): HostConfig['RestartPolicy'] {
  const parts = value.split(':');
  if (parts.length > 2) throw new OptionError('invalid restart policy format');
  const name = parts[0] ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name))
    throw new OptionError(`invalid restart policy format: ${value}`);
  let count = 0;
  if (parts.length === 2) {
    if (!/^-?\d+$/.test(parts[1] ?? '')) throw new OptionError('maximum retry count must be an integer');
    count = Number(parts[1]);
  }
  return { Name: name as NonNullable<HostConfig['RestartPolicy']>['Name'], MaximumRetryCount: count };
}

export function parseUlimit(s: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (!m) throw new OptionError(`invalid ulimit argument: ${s}`);
  const soft = Number(m[2]);
  const hard = m[3] !== undefined ? Number(m[3]) : soft;
  if (soft > hard && hard !== -1) throw new OptionError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1] ?? '', Hard: hard, Soft: soft };
}

export function parseDevice(s: string): DeviceMapping {
  const parts = s.split(':');
  const host = parts[0] ?? '';
  let inContainer = host;
  let perms = 'rwm';
  if (parts.length === 3) [, inContainer = host, perms = 'rwm'] = parts;
  else if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1] ?? '')) perms = parts[1] ?? 'rwm';
    else inContainer = parts[1] ?? host;
  } else if (parts.length > 3) throw new OptionError(`invalid device specification: ${s}`);
  return { PathOnHost: host, PathInContainer: inContainer, CgroupPermissions: perms };
}

/** A host path made absolute as the docker CLI does for `.` and `./…` (filepath.Abs). */
function resolvePath(env: MappingEnv | undefined, p: string): string {
  return path.resolve(env?.cwd?.() ?? process.cwd(), p);
}

/**
 * The docker CLI's reading of a `-v` value (compose's loader.ParseVolume): [source:]target[:options].
 * Only its errors matter here (the daemon parses Binds itself): an empty spec, an empty section
 * between colons, too many colons.
 */
export function parseVolumeSpec(spec: string): { source: string; target: string; options: string } {
  if (spec === '') throw new OptionError('invalid empty volume spec');
  if (spec.length <= 2) return { source: '', target: spec, options: '' };
  const fields: string[] = [];
  let buf = '';
  const chars = [...spec];
  for (let i = 0; i <= chars.length; i++) {
    const c = chars[i];
    // A Windows drive letter ("C:") stays in its section, as in the docker CLI.
    if (c === ':' && buf.length === 1 && /[A-Za-z]/.test(buf) && fields.length === 0 && chars[i + 1] === '\\') {
      buf += c;
      continue;
    }
    if (c !== ':' && c !== undefined) {
      buf += c;
      continue;
    }
    if (buf === '') throw new OptionError(`invalid spec: ${spec}: empty section between colons`);
    if (fields.length >= 3 || (fields.length === 2 && c === ':')) throw new OptionError(`invalid spec: ${spec}: too many colons`);
    fields.push(buf);
    buf = '';
  }
  if (fields.length === 1) return { source: '', target: fields[0]!, options: '' };
  return { source: fields[0]!, target: fields[1]!, options: fields[2] ?? '' };
}

/** Go's encoding/csv for one line: fields split on commas, double quotes group (and "" escapes). */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let i = 0;
  while (i <= s.length) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else if (c === undefined) throw new OptionError(`extraneous or missing " in quoted-field`);
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',' || c === undefined) {
      out.push(cur);
      cur = '';
    } else cur += c;
    i++;
  }
  return out;
}

/** Go's strconv.ParseBool. */
function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** docker's --mount value (cli/opts/mount.go): CSV of key=value, with its defaults, aliases and rules.
 *  Errors read as the docker CLI's: `invalid argument "…" for "--mount" flag: …`. */
export function parseMount(s: string, env?: MappingEnv): Mount {
  try {
    return parseMountFields(s, env);
  } catch (e) {
    if (e instanceof OptionError) throw new OptionError(`invalid argument "${s}" for "--mount" flag: ${e.message}`);
    throw e;
  }
}

function parseMountFields(s: string, env?: MappingEnv): Mount {
  const m: Mount = { Type: 'volume' };
  const volumeOptions = (): NonNullable<Mount['VolumeOptions']> => (m.VolumeOptions ??= {});
  const bindOptions = (): NonNullable<Mount['BindOptions']> => (m.BindOptions ??= {});
  const tmpfsOptions = (): NonNullable<Mount['TmpfsOptions']> => (m.TmpfsOptions ??= {});
  const setOn = (target: Record<string, string>, kv: string) => {
    const eq = kv.indexOf('=');
    const k = eq < 0 ? kv : kv.slice(0, eq);
    if (k) target[k] = eq < 0 ? '' : kv.slice(eq + 1);
  };
  for (const field of csvFields(s)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw new OptionError(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const val = field.slice(eq + 1);
    const bool = (): boolean => {
      const b = goBool(val);
      if (b === undefined) throw new OptionError(`invalid value for ${key}: ${val}`);
      return b;
    };
    switch (key) {
      case 'type':
        m.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        m.Source = val === '.' || val.startsWith('./') ? resolvePath(env, val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = bool();
        break;
      case 'consistency':
        m.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = bool();
        break;
      case 'volume-driver':
        volumeOptions().DriverConfig = { ...volumeOptions().DriverConfig, Name: val };
        break;
      case 'volume-opt': {
        const dc = (volumeOptions().DriverConfig ??= {});
        setOn((dc.Options ??= {}), val);
        break;
      }
      case 'volume-label':
        setOn((volumeOptions().Labels ??= {}), val);
        break;
      case 'volume-nocopy': {
        const b = goBool(val);
        if (b === undefined) throw new OptionError(`invalid value for volume-nocopy: ${val}`);
        volumeOptions().NoCopy = b;
        break;
      }
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = ramInBytes(val);
        } catch {
          throw new OptionError(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(val)) throw new OptionError(`invalid value for ${key}: ${val}`);
        tmpfsOptions().Mode = parseInt(val, 8);
        break;
      default:
        throw new OptionError(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new OptionError('type is required');
  if (!m.Target) throw new OptionError('target is required');
  if (m.VolumeOptions && m.Type !== 'volume') throw new OptionError(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind') throw new OptionError(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw new OptionError(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}

/** seccomp=<file> sends the profile's content (compacted JSON), as the docker CLI does. */
export function securityOpts(opts: string[], env: MappingEnv): string[] {
  return opts.map((opt) => {
    let [key = '', value] = splitOnce(opt, '=');
    if (value === undefined && key !== 'no-new-privileges') {
      if (!opt.includes(':')) throw new OptionError(`Invalid --security-opt: ${JSON.stringify(opt)}`);
      [key = '', value] = splitOnce(opt, ':');
    }
    if (key !== 'seccomp' || value === undefined || value === 'unconfined') return opt;
    let content: string;
    try {
      content = env.readFile(value);
    } catch (err) {
      throw new OptionError(`opening seccomp profile (${value}) failed: ${goFsError(err)}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(content))}`;
    } catch (err) {
      throw new OptionError(`compacting json for seccomp profile (${value}) failed: ${(err as Error).message}`);
    }
  });
}

/** A Node fs error as Go words it ("open /x: no such file or directory"), as the docker CLI prints it. */
function goFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const what = /^[A-Z]+: (.*?), \w+ '.*'$/.exec(e.message ?? '')?.[1];
  return e.syscall && e.path && what ? `${e.syscall} ${e.path}: ${what}` : String(e.message ?? err);
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}

function tmpfs(entries: string[]): Record<string, string> | undefined {
  if (!entries.length) return undefined;
  const out: Record<string, string> = {};
  for (const t of entries) {
    const [path = '', options = ''] = splitOnce(t, ':');
    out[path] = options;
  }
  return out;
}

function nonEmpty(list: string[]): string[] | null {
  return list.length ? list : null;
}

function hostConfig(f: ParsedFlags, env: MappingEnv, binds: string[], ports: Record<string, PortBinding[]>): HostConfig {
  const logOpts = kvMap(f.list('log-opt'));
  const sysctls = kvMap(f.list('sysctl'));
  for (const h of f.list('add-host'))
    if (!/^[^:]+:.+$/.test(h)) throw new OptionError(`bad format for add-host: "${h}"`);
  return {
    Binds: nonEmpty(binds),
    ContainerIDFile: f.str('cidfile'),
    LogConfig: { Type: f.str('log-driver'), Config: logOpts },
    NetworkMode: f.str('network'),
    PortBindings: ports,
    RestartPolicy: restartPolicy(f.str('restart')),
    AutoRemove: f.bool('rm'),
    VolumesFrom: nonEmpty(f.list('volumes-from')),
    Mounts: f.list('mount').length ? f.list('mount').map((m) => parseMount(m, env)) : undefined,
    VolumeDriver: f.str('volume-driver') || undefined,
    CapAdd: nonEmpty(f.list('cap-add')),
    CapDrop: nonEmpty(f.list('cap-drop')),
    Dns: f.list('dns'),
    DnsOptions: f.list('dns-option'),
    DnsSearch: f.list('dns-search'),
    ExtraHosts: nonEmpty(f.list('add-host')),
    // As the docker CLI: a bare name links under its own name.
    Links: nonEmpty(f.list('link').map((l) => (l.includes(':') ? l : `${l}:${l}`))),
    GroupAdd: nonEmpty(f.list('group-add')),
    IpcMode: f.str('ipc'),
    PidMode: f.str('pid'),
    UTSMode: f.str('uts'),
    Privileged: f.bool('privileged'),
    PublishAllPorts: f.bool('publish-all'),
    ReadonlyRootfs: f.bool('read-only'),
    SecurityOpt: nonEmpty(securityOpts(f.list('security-opt'), env)),
    Tmpfs: tmpfs(f.list('tmpfs')),
    ShmSize: f.num('shm-size'),
    Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
    Init: f.has('init') ? f.bool('init') : undefined,
    Memory: f.num('memory'),
    MemorySwap: f.num('memory-swap'),
    MemoryReservation: f.num('memory-reservation'),
    OomKillDisable: f.bool('oom-kill-disable'),
    NanoCpus: Math.round(f.num('cpus') * 1e9),
    CpuShares: f.num('cpu-shares'),
    CpuPeriod: f.num('cpu-period'),
    CpuQuota: f.num('cpu-quota'),
    CpuRealtimePeriod: f.num('cpu-rt-period'),
    CpuRealtimeRuntime: f.num('cpu-rt-runtime'),
    CpusetCpus: f.str('cpuset-cpus'),
    PidsLimit: f.has('pids-limit') ? f.num('pids-limit') : undefined,
    BlkioWeight: f.num('blkio-weight'),
    Ulimits: f.list('ulimit').map(parseUlimit),
    Devices: f.list('device').map(parseDevice),
  };
}

function networking(f: ParsedFlags): ContainerCreateRequest['NetworkingConfig'] {
  const aliases = f.list('network-alias');
  const ip = f.str('ip');
  const ip6 = f.str('ip6');
  if (!aliases.length && !ip && !ip6) return { EndpointsConfig: {} };
  const settings: EndpointSettings = {};
  if (aliases.length) settings.Aliases = aliases;
  if (ip || ip6) settings.IPAMConfig = { ...(ip ? { IPv4Address: ip } : {}), ...(ip6 ? { IPv6Address: ip6 } : {}) };
  return { EndpointsConfig: { [f.str('network')]: settings } };
}

/** JSON.stringify drops undefined anyway; this keeps test comparisons exact. */
function dropUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  if ('HostConfig' in o && o.HostConfig && typeof o.HostConfig === 'object') dropUndefined(o.HostConfig);
  return o;
}
