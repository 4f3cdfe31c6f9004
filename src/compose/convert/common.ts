// What every part of the converter shares: the service being converted, the options `up`/`run` give,
// the refusal of keys berth cannot honour, and the compose file's units (durations) → the Engine API's.
import { compareVersions } from '../../api/version.js';
import { parseDurationNanos } from '../../lib/units.js';
import { ComposeError, type Duration, type Project, type ServiceConfig } from '../types.js';

export interface ContainerOptions {
  /** Container number (1-based), Compose's `container-number` label. */
  number: number;
  /** The service's config hash (hash.ts). */
  configHash: string;
  /** A `compose run` container. */
  oneoff?: boolean;
  /** Override of the image reference (an image ID resolved by up). */
  image?: string;
  /**
   * The ID of the image the container will run (`sha256:…`), written in `com.docker.compose.image`
   * as Compose writes the image digest: a different ID there means the image changed (recreate.ts).
   */
  imageId?: string;
  /**
   * The container another service's container is reached by (`network_mode`/`ipc`/`pid: service:x`,
   * `volumes_from: x`, `links`): an ID or a name. Default: the name of x's first container.
   */
  serviceContainer?: (service: string) => string;
  /** The containers of a linked service (`links`). Default: its first container's name. */
  serviceContainers?: (service: string) => string[];
  /** false: no network aliases but the container name (`compose run` without --use-aliases). */
  useNetworkAliases?: boolean;
  /**
   * The negotiated Engine API version. From 1.44 every network goes in the create request; before,
   * only the primary one and the others are connected after create (networkConnects).
   */
  apiVersion?: string;
  /** Extra labels (`run --label`, `com.docker.compose.replace`, `com.docker.compose.slug`). */
  labels?: Record<string, string>;
}

/** The service being converted and where it belongs. */
export interface ServiceRef {
  project: Project;
  name: string;
  service: ServiceConfig;
}

/** The refusal of a key berth cannot honour, in the words issue 11 asks for. */
export function unsupported(name: string, key: string, why?: string): ComposeError {
  return new ComposeError(`service "${name}": ${key} is not supported by berth compose${why ? ` (${why})` : ''}`);
}

export function invalid(name: string, key: string, message: string): ComposeError {
  return new ComposeError(`service "${name}": ${key}: ${message}`);
}

/** A compose duration ("1m30s") in nanoseconds, as the Engine API takes health-check durations. */
export function nanoseconds(name: string, key: string, d: Duration | undefined): number | undefined {
  if (d === undefined) return undefined;
  try {
    return Number(parseDurationNanos(String(d)));
  } catch (err) {
    throw invalid(name, key, (err as Error).message);
  }
}

/** cpu_rt_*: microseconds as written, or a duration converted to them. */
export function microseconds(name: string, key: string, v: number | Duration | undefined): number | undefined {
  if (v === undefined || v === 0 || v === '') return undefined;
  if (typeof v === 'number') return v;
  if (/^\d+$/.test(v)) return Number(v);
  return Math.trunc(nanoseconds(name, key, v)! / 1000);
}

/** Whole seconds (truncated), as Compose's ToSeconds gives stop_grace_period to StopTimeout. */
export function seconds(name: string, key: string, d: Duration | undefined): number | undefined {
  const ns = nanoseconds(name, key, d);
  return ns === undefined ? undefined : Math.trunc(ns / 1e9);
}

/** `<project>-<service>-<n>`, or `container_name`. */
export function containerName(project: Project, serviceName: string, service: ServiceConfig, number: number): string {
  return service.container_name ?? `${project.name}-${serviceName}-${number}`;
}

/** The container standing for service `x` in `service:x` references. */
export function serviceContainerRef(ref: ServiceRef, opts: ContainerOptions, target: string, key: string): string {
  if (opts.serviceContainer) return opts.serviceContainer(target);
  const svc = ref.project.services[target];
  if (!svc) throw invalid(ref.name, key, `service "${target}" is not defined in the project`);
  return containerName(ref.project, target, svc, 1);
}

/** `service:x` → `container:<x's container>`; anything else as it is (network_mode, ipc, pid). */
export function resolveServiceMode(ref: ServiceRef, opts: ContainerOptions, key: string, mode: string | undefined): string | undefined {
  if (!mode?.startsWith('service:')) return mode;
  return `container:${serviceContainerRef(ref, opts, mode.slice('service:'.length), key)}`;
}

/** A copy without undefined fields (the request's JSON, and tests' deepEqual, as the API sees it). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** An empty list or map as undefined, so unset keys stay out of the request. */
export function nonEmpty<T>(v: T[] | undefined): T[] | undefined;
export function nonEmpty<T>(v: Record<string, T> | undefined): Record<string, T> | undefined;
export function nonEmpty<T>(v: T[] | Record<string, T> | undefined): T[] | Record<string, T> | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.length : Object.keys(v).length) ? v : undefined;
}

/** Whether the engine speaks API `version` or later (unknown: berthd's, the newest). */
export function apiAtLeast(opts: ContainerOptions, version: string): boolean {
  return !opts.apiVersion || compareVersions(opts.apiVersion, version) >= 0;
}
