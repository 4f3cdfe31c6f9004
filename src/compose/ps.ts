// What `compose ps` knows of a project's containers: the engine's list entry plus what only an inspect
// tells (health, exit code), in Compose v2's ContainerSummary shape (pkg/api), so `--format json`
// prints the same fields. The state is read from the engine by label, never from a file.
import type { ContainerSummary } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { CONTAINER_NUMBER, ONEOFF, PROJECT, SERVICE } from './labels.js';
import { ComposeError } from './types.js';

export interface PortPublisher {
  URL: string;
  TargetPort: number;
  PublishedPort: number;
  Protocol: string;
}

export interface ServiceContainer {
  ID: string;
  /** The canonical name, without the leading slash. */
  Name: string;
  Names: string[];
  Image: string;
  Command: string;
  Project: string;
  Service: string;
  /** Unix seconds. */
  Created: number;
  State: string;
  Status: string;
  /** "healthy", "unhealthy", "starting" for a running container with a health check; else "". */
  Health: string;
  /** The exit code of an exited (or dead) container; else 0. */
  ExitCode: number;
  Labels: Record<string, string>;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: string[];
  LocalVolumes: number;
  Networks: string[];
  Publishers: PortPublisher[];
}

/** The states `ps --status` and `--filter status=` accept (the engine's container states). */
export const CONTAINER_STATES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

export interface PsOptions {
  /** Stopped containers and `run` one-offs too. */
  all?: boolean;
  services?: string[];
  /** Only containers in these states (implies all). */
  status?: string[];
}

/** The project's containers, sorted by name as Compose prints them. */
export async function psContainers(backend: ComposeBackend, project: string, opts: PsOptions = {}): Promise<ServiceContainer[]> {
  const all = !!opts.all || !!opts.status?.length;
  const list = await backend.containers(project, { all, services: opts.services, oneoff: all ? undefined : false });
  const summaries = await Promise.all(list.map((c) => summarise(backend, c)));
  return summaries
    .filter((c): c is ServiceContainer => c !== undefined)
    .filter((c) => !opts.status?.length || opts.status.includes(c.State))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** undefined when the container went away between the list and the inspect. */
async function summarise(backend: ComposeBackend, c: ContainerSummary): Promise<ServiceContainer | undefined> {
  const inspect = await backend.inspectContainer(c.Id).catch(() => undefined);
  if (!inspect) return undefined;
  const state = inspect.State;
  const running = state.Status === 'running';
  const exited = state.Status === 'exited' || state.Status === 'dead';
  const mounts = c.Mounts ?? [];
  return {
    ID: c.Id,
    Name: canonicalName(c),
    Names: c.Names ?? [],
    Image: c.Image,
    Command: c.Command,
    Project: c.Labels?.[PROJECT] ?? '',
    Service: c.Labels?.[SERVICE] ?? '',
    Created: c.Created,
    State: c.State,
    Status: c.Status,
    Health: running ? (state.Health?.Status ?? '') : '',
    ExitCode: exited ? state.ExitCode : 0,
    Labels: c.Labels ?? {},
    SizeRw: c.SizeRw,
    SizeRootFs: c.SizeRootFs,
    Mounts: mounts.map((m) => m.Name || m.Source || ''),
    LocalVolumes: mounts.filter((m) => m.Driver === 'local').length,
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    Publishers: publishers(c),
  };
}

function publishers(c: ContainerSummary): PortPublisher[] {
  return [...(c.Ports ?? [])]
    .sort((a, b) => a.PrivatePort - b.PrivatePort)
    .map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type }));
}

/** The name without its slash; a link alias (/other/name) is never the canonical one. */
export function canonicalName(c: Pick<ContainerSummary, 'Names' | 'Id'>): string {
  const names = c.Names ?? [];
  if (!names.length) return c.Id.slice(0, 12);
  const own = names.find((n) => n.lastIndexOf('/') === 0);
  return (own ?? names[0]!).replace(/^\//, '');
}

/** "web-1" for app-web-1; a custom container_name is kept whole (Compose's log prefixes and top). */
export function nameWithoutProject(c: Pick<ContainerSummary, 'Names' | 'Id' | 'Labels'>): string {
  const labels = c.Labels ?? {};
  const project = labels[PROJECT] ?? '';
  const name = canonicalName(c);
  const defaultName = `${project}-${labels[SERVICE] ?? ''}-${labels[CONTAINER_NUMBER] ?? ''}`;
  if (name !== defaultName) return name;
  return name.slice(project.length + 1);
}

/**
 * The container of a service that exec, port, cp and logs --index act on: the one numbered `index`,
 * else the lowest number, one-offs last. Compose's errors when there is none.
 */
export async function serviceContainer(
  backend: ComposeBackend,
  project: string,
  service: string,
  opts: { index?: number; all?: boolean; oneoff?: boolean },
): Promise<ContainerSummary> {
  const list = (await backend.containers(project, { all: opts.all, services: [service], oneoff: opts.oneoff }))
    .filter((c) => !opts.index || c.Labels?.[CONTAINER_NUMBER] === String(opts.index))
    .sort((a, b) => {
      const oa = a.Labels?.[ONEOFF] === 'True';
      const ob = b.Labels?.[ONEOFF] === 'True';
      if (oa !== ob) return oa ? 1 : -1;
      return Number(a.Labels?.[CONTAINER_NUMBER] ?? 0) - Number(b.Labels?.[CONTAINER_NUMBER] ?? 0);
    });
  const first = list[0];
  if (!first) {
    throw new ComposeError(opts.index ? `service "${service}" is not running container #${opts.index}` : `service "${service}" is not running`);
  }
  return first;
}
