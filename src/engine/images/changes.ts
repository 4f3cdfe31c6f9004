// `docker import -c` / `docker commit -c`, and a build's metadata steps: Dockerfile instruction lines
// applied to an image's runtime config, as dockerd's BuildFromConfig does: JSON and shell forms, and the
// Dockerfile's own word rules and variable expansion (build/dockerfile.ts's lexer) from the ENV set so
// far, for the instructions Dockerfiles expand in.
import path from 'node:path';
import type { HealthConfig, ImageRuntimeConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { parseDurationNanos } from '../../lib/units.js';
import { expandString, expandWords, parseKeyValues } from '../../lib/shell-words.js';

/** What dockerd accepts (validCommitCommands), plus STOPSIGNAL, which Docker 23+ accepts. */
export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;
const ALLOWED = new Set<string>(CHANGE_INSTRUCTIONS);

type Env = Map<string, string>;

/** Apply change lines in order to a copy of `cfg`. Throws InvalidParameter with dockerd's wording. */
export interface ChangeOptions {
  /** Build args in scope: they expand like ENV, which overrides them (the builder's rule). */
  args?: Env;
  /** SHELL for the shell form of CMD, ENTRYPOINT and HEALTHCHECK (default /bin/sh -c). */
  shell?: string[];
  /** The Dockerfile's escape character (`# escape=`), backslash by default. */
  escape?: string;
}

export function applyChanges(cfg: ImageRuntimeConfig, changes: string[], opts: ChangeOptions = {}): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...cfg };
  const state = { cmdSet: false, opts };
  for (const change of changes) {
    const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(change);
    if (!m) continue; // blank lines are ignored, as in a Dockerfile
    const instr = m[1]!.toUpperCase();
    // dockerd names the instruction in lower case ("run is not a valid change command").
    if (!ALLOWED.has(instr)) throw new InvalidParameter(`${m[1]!.toLowerCase()} is not a valid change command`);
    applyOne(out, instr, m[2]!, state);
  }
  return out;
}

function envOf(cfg: ImageRuntimeConfig): Env {
  const env: Env = new Map();
  for (const e of cfg.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}

function applyOne(out: ImageRuntimeConfig, instr: string, arg: string, state: { cmdSet: boolean; opts: ChangeOptions }): void {
  const env = new Map([...(state.opts.args ?? []), ...envOf(out)]);
  const shell = state.opts.shell;
  const escape = state.opts.escape ?? '\\';
  switch (instr) {
    case 'CMD':
      out.Cmd = commandForm(arg, shell);
      state.cmdSet = true;
      break;
    case 'ENTRYPOINT':
      out.Entrypoint = commandForm(arg, shell);
      // As in a build: a new ENTRYPOINT drops an inherited CMD unless CMD was set here too.
      if (!state.cmdSet) out.Cmd = null;
      break;
    case 'ENV':
      out.Env = setEnv(out.Env ?? [], nameValues(arg, 'ENV', env, escape));
      break;
    case 'LABEL':
      out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(nameValues(arg, 'LABEL', env, escape)) };
      break;
    case 'EXPOSE':
      out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
      for (const p of expandWords(arg, env, escape)) for (const k of portKeys(p)) out.ExposedPorts[k] = {};
      break;
    case 'VOLUME':
      out.Volumes = { ...(out.Volumes ?? {}) };
      for (const v of jsonArray(arg) ?? expandWords(arg, env, escape)) {
        if (!v.trim()) throw new InvalidParameter('VOLUME specified can not be an empty string');
        out.Volumes[v] = {};
      }
      break;
    case 'WORKDIR': {
      const dir = expandString(arg, env, escape);
      out.WorkingDir = path.posix.isAbsolute(dir) ? path.posix.normalize(dir) : path.posix.join(out.WorkingDir || '/', dir);
      break;
    }
    case 'USER':
      out.User = expandString(requireArg(arg, 'USER'), env, escape);
      break;
    case 'STOPSIGNAL':
      out.StopSignal = expandString(requireArg(arg, 'STOPSIGNAL'), env, escape);
      break;
    case 'ONBUILD':
      out.OnBuild = [...(out.OnBuild ?? []), onBuildTrigger(arg)];
      break;
    case 'HEALTHCHECK':
      out.Healthcheck = healthcheck(arg);
      break;
  }
}

function requireArg(arg: string, instr: string): string {
  if (!arg) throw new InvalidParameter(`${instr} requires exactly one argument`);
  return arg;
}

/** `["a","b"]` when the text is a JSON array of strings, else undefined. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: Docker falls back to the shell form
  }
  return undefined;
}

/** Exec form (JSON array) as is; shell form → ["/bin/sh", "-c", text] (or the SHELL given). */
export function commandForm(text: string, shell: string[] = ['/bin/sh', '-c']): string[] {
  return jsonArray(text) ?? (text ? [...shell, text] : [...shell]);
}

function setEnv(env: string[], pairs: [string, string][]): string[] {
  const out = [...env];
  for (const [k, v] of pairs) {
    const i = out.findIndex((e) => e.split('=', 1)[0] === k);
    if (i >= 0) out[i] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}

/** ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `k v w` (value = the rest of the line). */
function nameValues(text: string, instr: string, env: Env, escape: string): [string, string][] {
  if (!text.trim()) throw new InvalidParameter(`${instr} requires at least one argument`);
  return parseKeyValues(text, env, escape, instr);
}

/** EXPOSE 80, 53/udp, 8000-8002 → "80/tcp", "53/udp", "8000/tcp", ... */
function portKeys(spec: string): string[] {
  const [range = '', proto = 'tcp'] = spec.split('/', 2);
  const m = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!m) throw new InvalidParameter(`invalid containerPort: ${range}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo || hi > 65535) throw new InvalidParameter(`invalid port range: ${range}`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto.toLowerCase()}`);
}

function onBuildTrigger(text: string): string {
  const first = (/^\S+/.exec(text)?.[0] ?? '').toUpperCase();
  if (!first) throw new InvalidParameter('ONBUILD requires at least one argument');
  if (first === 'ONBUILD') throw new InvalidParameter('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (first === 'FROM' || first === 'MAINTAINER') throw new InvalidParameter(`${first} isn't allowed as an ONBUILD trigger`);
  return text;
}

type HealthNumber = 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval' | 'Retries';
const HEALTH_FLAGS: Record<string, HealthNumber> = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval', retries: 'Retries' };

/** HEALTHCHECK [--interval=D ...] CMD command | HEALTHCHECK NONE */
function healthcheck(text: string): HealthConfig {
  let rest = text;
  const hc: HealthConfig = {};
  for (let m = /^--([a-z-]+)=(\S*)\s*/.exec(rest); m; m = /^--([a-z-]+)=(\S*)\s*/.exec(rest)) {
    const field = HEALTH_FLAGS[m[1]!];
    if (!field) throw new InvalidParameter(`Unknown flag: ${m[1]}`);
    if (field === 'Retries') hc.Retries = Number.parseInt(m[2]!, 10);
    else hc[field] = Number(parseDurationNanos(m[2]!));
    rest = rest.slice(m[0].length);
  }
  const [word = '', ...more] = rest.split(/\s+/);
  if (word.toUpperCase() === 'NONE') {
    if (more.length || Object.keys(hc).length) throw new InvalidParameter('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (word.toUpperCase() !== 'CMD') throw new InvalidParameter(`Unknown type "${word}" in HEALTHCHECK (try CMD)`);
  const cmd = rest.slice(word.length).trim();
  const exec = jsonArray(cmd);
  // Fields in the order of Go's HealthConfig, so the JSON reads as dockerd writes it.
  const out: HealthConfig = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd] };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (hc[k] !== undefined) out[k] = hc[k];
  return out;
}
