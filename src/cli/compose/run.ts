// `berth compose run [OPTIONS] SERVICE [COMMAND] [ARGS...]`: a one-off container of a service
// (src/compose/run.ts), its dependencies started first unless --no-deps; attached before it starts so
// no output is lost, and its exit code is ours. A TTY and stdin by default, as Compose does, unless our
// input is not a terminal (a script) or -T says otherwise.
import { readFileSync } from 'node:fs';
import type { ContainerCreateRequest, EndpointSettings } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/engine.js';
import type { ComposeBackend } from '../../compose/backend.js';
import type { Progress } from '../../compose/progress.js';
import { dependencies } from '../../compose/graph.js';
import { ensureImages, type PullFlag } from '../../compose/images.js';
import { ensureNetworks, ensureVolumes } from '../../compose/create.js';
import { newSlug, oneOffCreateRequest, startDependencies, type OneOffOptions } from '../../compose/run.js';
import { injectSecrets } from '../../compose/secrets.js';
import { ComposeError, type Project } from '../../compose/types.js';
import { SERVICE } from '../../compose/labels.js';
import { StatusError, writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { attachAndStart } from '../attach.js';
import { OptionError, parsePublish } from '../run-options.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { buildRenderer, progressFor, warner } from './options.js';

/** shellwords.Parse for --entrypoint: words split on blanks, single and double quotes, backslashes. */
export function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ComposeError(`invalid command line string: unterminated quote in --entrypoint "${s}"`);
  if (inWord) words.push(cur);
  return words;
}

/** -e entries, then --env-from-file lines for keys not already given. */
function environment(f: ParsedFlags): string[] {
  const env = [...f.list('env')];
  const given = new Set(env.map((e) => e.split('=')[0]));
  for (const file of f.list('env-from-file')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ComposeError(`could not read --env-from-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim().replace(/^export\s+/, '');
      if (!line || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const key = eq < 0 ? line : line.slice(0, eq);
      if (given.has(key)) continue;
      given.add(key);
      env.push(eq < 0 ? key : `${key}=${line.slice(eq + 1).replace(/^(['"])(.*)\1$/, '$2')}`);
    }
  }
  return env;
}

function labels(f: ParsedFlags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of f.list('label')) {
    const eq = l.indexOf('=');
    if (eq < 0) throw new ComposeError('label must be set as KEY=VALUE');
    out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/** Compose's TTY rule: -t/-T when given; otherwise a TTY when our output is a terminal and our input too. */
function ttyMode(ctx: ComposeContext, f: ParsedFlags): boolean {
  if (f.has('tty') && f.has('no-tty')) throw new ComposeError("--tty and --no-tty can't be used together");
  if (f.has('tty')) return f.bool('tty');
  if (f.has('no-tty')) return !f.bool('no-tty');
  if (!f.has('interactive') && !ctx.stdin.isTTY) return false;
  return !!ctx.stdout.isTTY;
}

function runOptions(ctx: ComposeContext, f: ParsedFlags, command: string[]): OneOffOptions {
  if (f.list('publish').length && f.bool('service-ports')) throw new ComposeError('--service-ports and --publish are incompatible');
  let publish: OneOffOptions['publish'];
  try {
    publish = f.list('publish').length ? parsePublish(f.list('publish')) : undefined;
  } catch (err) {
    if (err instanceof OptionError) throw new ComposeError(err.message);
    throw err;
  }
  return {
    command,
    entrypoint: f.has('entrypoint') ? shellWords(f.str('entrypoint')) : undefined,
    environment: environment(f),
    labels: labels(f),
    user: f.str('user') || undefined,
    workdir: f.str('workdir') || undefined,
    name: f.str('name') || undefined,
    tty: ttyMode(ctx, f),
    interactive: f.bool('interactive'),
    autoRemove: f.bool('rm'),
    servicePorts: f.bool('service-ports'),
    publish,
    volumes: f.list('volume'),
    useAliases: f.bool('use-aliases'),
    capAdd: f.list('cap-add'),
    capDrop: f.list('cap-drop'),
  };
}

/** --pull: always, missing, never; "policy" (the default) leaves it to the service's pull_policy. */
function pullPolicy(f: ParsedFlags): PullFlag {
  const p = f.str('pull') || 'policy';
  if (p === 'always' || p === 'never' || p === 'missing' || p === 'build') return p;
  if (p === 'policy') return undefined;
  throw new ComposeError(`invalid --pull value "${p}": use always, missing, never or policy`);
}

/** --remove-orphans when no dependency brings `up` in: containers of services the file no longer declares. */
async function removeOrphans(backend: ComposeBackend, project: Project, progress: Progress): Promise<void> {
  const known = new Set([...Object.keys(project.services), ...Object.keys(project.disabledServices)]);
  for (const c of await backend.containers(project.name, { all: true, oneoff: false })) {
    if (known.has(c.Labels?.[SERVICE] ?? '')) continue;
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    progress.event({ id: `Container ${name}`, status: 'Removing', state: 'working' });
    await backend.removeContainer(c.Id, { force: true });
    progress.event({ id: `Container ${name}`, status: 'Removed', state: 'done' });
  }
}

async function run(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const [serviceName = '', ...command] = f.args;
  const opts = runOptions(ctx, f, command);
  const pull = pullPolicy(f);
  const project = await ctx.project();
  const service = project.services[serviceName];
  if (!service) {
    if (project.disabledServices[serviceName]) throw new ComposeError(`service "${serviceName}" is not enabled by the active profiles`);
    throw new ComposeError(`no such service: ${serviceName}`);
  }
  if (opts.interactive && opts.tty && !ctx.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  const backend = ctx.backend();
  const progress = progressFor(ctx);
  const warn = warner(ctx, progress);
  const dryRun = ctx.options.dryRun;
  const images = { pull, build: f.bool('build'), quietPull: f.bool('quiet-pull'), env: ctx.env, renderBuild: buildRenderer(ctx, f.bool('quiet-pull')), dryRun };
  const deps = f.bool('no-deps') ? [] : dependencies(service).filter((d) => project.services[d]);
  let id: string;
  let body: ContainerCreateRequest;
  try {
    if (deps.length) {
      const dependencyOptions = { ...images, removeOrphans: f.bool('remove-orphans'), ignoreOrphans: isTrue(ctx.env.COMPOSE_IGNORE_ORPHANS), parallel: ctx.options.parallel };
      if (dryRun) dependencyOptions.removeOrphans = false;
      await startDependencies(backend, project, serviceName, dependencyOptions, progress, warn);
    } else if (f.bool('remove-orphans') && !dryRun) {
      await removeOrphans(backend, project, progress);
    }
    // The networks and volumes of the service itself (its dependencies' came with them).
    await ensureNetworks(backend, project, [serviceName], progress, warn, dryRun);
    await ensureVolumes(backend, project, [serviceName], progress, warn, dryRun);
    await ensureImages(backend, project, [serviceName], images, progress);
    const req = oneOffCreateRequest(project, serviceName, service, opts, newSlug());
    body = req.body;
    if (f.bool('detach')) body.AttachStdin = body.AttachStdout = body.AttachStderr = body.StdinOnce = false;
    const { rows, columns } = ctx.stdout;
    if (body.Tty && rows && columns && body.HostConfig) (body.HostConfig as { ConsoleSize?: [number, number] }).ConsoleSize = [rows, columns];
    if (dryRun) {
      // What would be created and started, and nothing more.
      for (const status of ['Creating', 'Created', 'Starting', 'Started']) {
        progress.event({ id: `Container ${req.name}`, status, state: status.endsWith('ed') ? 'done' : 'working' });
      }
      return 0;
    }
    id = await createOneOff(backend, req.name, body, req.connects, (created) => injectSecrets(backend, created, project, serviceName));
  } finally {
    progress.done();
  }
  const client = ctx.client();
  if (f.bool('detach')) {
    await startOrFail(client, id);
    if (!f.bool('quiet')) await writeOut(ctx.stdout, `${id}\n`);
    return 0;
  }
  return attachAndStartOneOff(ctx, client, id, body);
}

const isTrue = (v: string | undefined): boolean => ['1', 'true', 'TRUE', 'True', 't', 'T'].includes(v ?? '');

/** Create the one-off, connect its other networks and put in its copied secrets and configs (as up does before a start). */
async function createOneOff(backend: ComposeBackend, name: string, body: ContainerCreateRequest, connects: [string, EndpointSettings][], inject: (id: string) => Promise<void>): Promise<string> {
  let id: string | undefined;
  try {
    id = await backend.createContainer(name, body);
    for (const [net, endpoint] of connects) await backend.connectNetwork(net, id, endpoint);
    await inject(id);
    return id;
  } catch (err) {
    // Nothing half-made is left behind.
    if (id) await backend.removeContainer(id, { force: true }).catch(() => undefined);
    if (err instanceof ApiError) throw new ComposeError(`Error response from daemon: ${err.message}`);
    throw err;
  }
}

async function startOrFail(client: EngineClient, id: string): Promise<void> {
  try {
    await client.call({ method: 'POST', path: `/containers/${id}/start` });
  } catch (err) {
    if (err instanceof ApiError) throw new ComposeError(`Error response from daemon: ${err.message}`);
    throw err;
  }
}

/** Attach, register the wait, start, stream until the end; the container's exit code. */
async function attachAndStartOneOff(ctx: ComposeContext, client: EngineClient, id: string, body: ContainerCreateRequest): Promise<number> {
  const tty = !!body.Tty;
  const status = await attachAndStart(ctx, client, id, {
    stdin: !!body.AttachStdin,
    stdout: true,
    stderr: true,
    tty,
    condition: body.HostConfig?.AutoRemove ? 'removed' : 'next-exit',
    start: () => startOrFail(client, id),
    afterFailedStart: async () => {
      // The daemon removes a container that failed to start only when asked: --rm leaves nothing.
      if (body.HostConfig?.AutoRemove) await client.call({ method: 'DELETE', path: `/containers/${id}`, query: { force: true } }).catch(() => undefined);
    },
    // SIGINT/SIGTERM go to the container (Compose forwards signals to a one-off).
    proxySignals: !tty,
  });
  if (!status) return 0;
  if (status.Error?.Message) ctx.stderr.write(`${status.Error.Message}\n`);
  return status.StatusCode;
}

export const commands: Record<string, ComposeCommand> = {
  run: {
    usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    description: 'Run a one-off command on a service',
    flags: [
      { name: 'build', type: 'bool', description: 'Build image before starting container' },
      { name: 'cap-add', type: 'stringArray', valueName: 'list', description: 'Add Linux capabilities' },
      { name: 'cap-drop', type: 'stringArray', valueName: 'list', description: 'Drop Linux capabilities' },
      { name: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
      { name: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
      { name: 'env', short: 'e', type: 'stringArray', valueName: 'stringArray', description: 'Set environment variables' },
      { name: 'env-from-file', type: 'stringArray', valueName: 'stringArray', description: 'Set environment variables from file' },
      { name: 'interactive', short: 'i', type: 'bool', default: true, description: 'Keep STDIN open even if not attached' },
      { name: 'label', short: 'l', type: 'stringArray', valueName: 'stringArray', description: 'Add or override a label' },
      { name: 'name', type: 'string', description: 'Assign a name to the container' },
      { name: 'no-deps', type: 'bool', description: "Don't start linked services" },
      { name: 'no-tty', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation (default: auto-detected)' },
      { name: 'publish', short: 'p', type: 'stringArray', valueName: 'stringArray', description: "Publish a container's port(s) to the host" },
      { name: 'pull', type: 'string', default: 'policy', description: 'Pull image before running ("always"|"missing"|"never")' },
      { name: 'quiet', short: 'q', type: 'bool', description: "Don't print anything to STDOUT" },
      { name: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
      { name: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      { name: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
      { name: 'service-ports', short: 'P', type: 'bool', description: "Run command with all service's ports enabled and mapped to the host" },
      { name: 'tty', short: 't', type: 'bool', default: true, hidden: true, description: 'Allocate a pseudo-TTY' },
      { name: 'use-aliases', type: 'bool', description: "Use the service's network useAliases in the network(s) the container connects to" },
      { name: 'user', short: 'u', type: 'string', description: 'Run as specified username or uid' },
      { name: 'volume', short: 'v', type: 'stringArray', valueName: 'stringArray', description: 'Bind mount a volume' },
      { name: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    ],
    stopAtFirstArg: true,
    args: { min: 1 },
    run,
  },
};
