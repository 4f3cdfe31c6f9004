// Rolling updates (beyond Docker Compose; issue 11 item 9): a service with `deploy.update_config` has its
// replicas replaced as Swarm replaces tasks — in batches of `parallelism`, `delay` between batches,
// `order: start-first` (the new container runs and becomes healthy before the old one stops, so a
// service with replicas behind the embedded DNS keeps answering) or `stop-first`, each new container
// watched for `monitor`, and failures handled by `failure_action` (rollback | pause | continue) once
// they exceed `max_failure_ratio`.
//
// How rollback works, and why. Replaced containers are never removed during the update: an old
// container is stopped and renamed out of the way ("retired"), and only once the whole update has
// succeeded are the retired ones removed. Rolling back is then restarting the very containers that
// ran before — same ID, same config, same anonymous volumes, same image even if its tag has moved —
// and removing the new ones, slot by slot with `rollback_config`. Recreating "the previous
// containers" from their inspected config instead would lose what inspect does not round-trip
// (anonymous volumes' data, a re-tagged image, options the converter of that older version set).
// The price is disk held by stopped containers for the length of the update, nothing more.
//
// Names. A new container is created as `<old id[:12]>_<project>-<service>-<n>` (Compose's own name for
// a replacement in progress), the old one becomes `<project>-<service>-<n>-rollback-<old id[:12]>`
// when retired, and the new one then takes the standard name through POST /containers/{id}/rename.
import type { ContainerInspect, ContainerSummary, EndpointSettings } from '../api/types.js';
import { ApiError } from '../client/errors.js';
import { parseDuration } from '../lib/units.js';
import { containerName, containerNumber, type ComposeBackend } from './backend.js';
import type { Progress } from './progress.js';
import { ComposeError, type Project, type UpdateConfig } from './types.js';

/** An update_config / rollback_config with Swarm's defaults applied and its durations in milliseconds. */
export interface UpdatePolicy {
  /** Containers replaced at a time; 0 = all at once. */
  parallelism: number;
  delayMs: number;
  failureAction: 'rollback' | 'pause' | 'continue';
  monitorMs: number;
  maxFailureRatio: number;
  order: 'start-first' | 'stop-first';
}

/** The engine calls a rolling update makes (a subset of ComposeBackend, so tests can fake it). */
export type RollingBackend = Pick<
  ComposeBackend,
  'inspectContainer' | 'startContainer' | 'stopContainer' | 'removeContainer' | 'renameContainer' | 'connectNetwork' | 'disconnectNetwork'
>;

export interface RollingOptions {
  /** Seconds given to an old container to stop (`-t`); its own stop_grace_period when absent. */
  stopTimeout?: number;
  /** How often a new container's state is looked at while it is being monitored. */
  pollMs?: number;
  /** Waits (delay, polling); replaced in unit tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** Creates (not starts) the container numbered `number` of the service under `name`; returns its ID. */
export type CreateReplica = (number: number, name: string) => Promise<string>;

/** Does the service ask for rolling updates? (The reconciler calls rollingUpdate for these when they need recreating.) */
export function hasRollingUpdate(project: Project, serviceName: string): boolean {
  return project.services[serviceName]?.deploy?.update_config !== undefined;
}

/** Resolve update_config (kind "update") or rollback_config (kind "rollback") with Swarm's defaults. */
export function updatePolicy(cfg: UpdateConfig | undefined, kind: 'update' | 'rollback', serviceName: string): UpdatePolicy {
  const key = `services.${serviceName}.deploy.${kind}_config`;
  const c = cfg ?? {};
  const parallelism = c.parallelism === undefined ? 1 : Number(c.parallelism);
  if (!Number.isInteger(parallelism) || parallelism < 0) throw new ComposeError(`${key}.parallelism must be a whole number, 0 or more (0 = all at once)`);
  const ratio = c.max_failure_ratio === undefined ? 0 : Number(c.max_failure_ratio);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new ComposeError(`${key}.max_failure_ratio must be a number from 0 to 1`);
  const actions = kind === 'update' ? ['rollback', 'pause', 'continue'] : ['pause', 'continue'];
  const failureAction = c.failure_action ?? 'pause';
  if (!actions.includes(failureAction)) throw new ComposeError(`${key}.failure_action must be one of ${actions.join(', ')}, not "${failureAction}"`);
  const order = c.order ?? 'stop-first';
  if (order !== 'start-first' && order !== 'stop-first') throw new ComposeError(`${key}.order must be start-first or stop-first, not "${String(order)}"`);
  return {
    parallelism,
    delayMs: duration(c.delay, `${key}.delay`),
    failureAction,
    monitorMs: duration(c.monitor, `${key}.monitor`),
    maxFailureRatio: ratio,
    order,
  };
}

function duration(v: string | undefined, key: string): number {
  if (v === undefined || v === '') return 0;
  try {
    const ms = parseDuration(String(v));
    if (ms < 0) throw new Error('negative');
    return ms;
  } catch {
    throw new ComposeError(`${key} must be a duration such as "10s" or "1m30s", not "${v}"`);
  }
}

/** Items in groups of `size` (0 = one group of all). */
export function batches<T>(items: T[], size: number): T[][] {
  if (size <= 0 || size >= items.length) return items.length ? [items] : [];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Swarm's rule: the failure action applies once failures/total exceeds max_failure_ratio. */
export function failureTriggersAction(failures: number, total: number, maxFailureRatio: number): boolean {
  return failures > 0 && (total === 0 || failures / total > maxFailureRatio);
}

/** A network endpoint whose aliases are held back, with its configuration to restore. */
interface HeldEndpoint {
  network: string;
  config: EndpointSettings;
}

/** One replica being replaced. */
interface Slot {
  number: number;
  /** The standard name, `<project>-<service>-<n>` (or container_name). */
  name: string;
  oldId: string;
  /** The old container was running when the update began (a stopped one is not restarted by a rollback). */
  oldRunning: boolean;
  /** The old container has been stopped and renamed out of the way. */
  retired: boolean;
  newId?: string;
  /** The new container's current name. */
  newName?: string;
  /** Its endpoints whose aliases are held back until it is ready. */
  held?: HeldEndpoint[];
  /** Why the new container failed. */
  failure?: string;
}

const retiredName = (s: Slot): string => `${s.name}-rollback-${s.oldId.slice(0, 12)}`;
const isRetired = (c: ContainerSummary): boolean => /-rollback-[0-9a-f]{12}$/.test(containerName(c)) && c.State !== 'running';
const interimName = (s: Slot): string => `${s.oldId.slice(0, 12)}_${s.name}`;

/**
 * Replace `oldContainers` (the service's replicas) with new ones made by `create`, following the
 * service's update_config. Resolves when every replica runs the new config; throws a ComposeError
 * (exit 1) when the update failed — after rolling back, or pausing, as failure_action says.
 */
export async function rollingUpdate(
  backend: RollingBackend,
  project: Project,
  serviceName: string,
  oldContainers: ContainerSummary[],
  create: CreateReplica,
  progress: Progress,
  opts: RollingOptions = {},
): Promise<void> {
  const service = project.services[serviceName];
  if (!service) throw new ComposeError(`no such service: ${serviceName}`);
  const update = updatePolicy(service.deploy?.update_config, 'update', serviceName);
  const rollback = updatePolicy(service.deploy?.rollback_config, 'rollback', serviceName);
  if (update.order === 'start-first' || rollback.order === 'start-first') refuseFixedHostPorts(project, serviceName);
  const run = new RollingRun(backend, create, progress, { pollMs: opts.pollMs ?? 100, sleep: opts.sleep ?? defaultSleep, stopTimeout: opts.stopTimeout });
  // An update interrupted earlier (up killed) left its retired containers: they are not replicas.
  for (const c of oldContainers.filter(isRetired)) await backend.removeContainer(c.Id, { force: true }).catch(ignoreNotFound);
  const slots: Slot[] = oldContainers
    .filter((c) => !isRetired(c))
    .sort((a, b) => containerNumber(a) - containerNumber(b))
    .map((c) => ({ number: containerNumber(c), name: containerName(c), oldId: c.Id, oldRunning: c.State === 'running', retired: false }));
  progress.info(`${serviceName}: rolling update of ${slots.length} container(s), ${update.order}, ${update.parallelism || 'all'} at a time`);
  const done: Slot[] = [];
  let failures = 0;
  for (const [i, batch] of batches(slots, update.parallelism).entries()) {
    if (i > 0 && update.delayMs > 0) await run.sleep(update.delayMs);
    await Promise.all(batch.map((s) => run.replace(s, update)));
    const failed = batch.filter((s) => s.failure !== undefined);
    failures += failed.length;
    if (failed.length && failureTriggersAction(failures, slots.length, update.maxFailureRatio) && update.failureAction !== 'continue') {
      const why = failed.map((s) => `${s.name}: ${s.failure}`).join('; ');
      if (update.failureAction === 'rollback') {
        const trouble = await run.rollBack([...done, ...batch], rollback);
        throw new ComposeError(
          `service "${serviceName}" update failed (${why}); ` +
            (trouble.length ? `rollback incomplete: ${trouble.join('; ')}` : 'rolled back to the previous containers'),
        );
      }
      // pause: the failed replicas get their old containers back; those already updated stay updated.
      const trouble = await run.rollBack(failed, rollback);
      await run.finish(done.concat(batch.filter((s) => s.failure === undefined)));
      throw new ComposeError(
        `service "${serviceName}" update paused (${why}): ${done.length + batch.length - failed.length} of ${slots.length} container(s) updated` +
          (trouble.length ? `; restoring the failed ones: ${trouble.join('; ')}` : '; run up again to resume'),
      );
    }
    // Tolerated failures (under max_failure_ratio, or failure_action: continue): the new container stays.
    for (const s of failed) {
      progress.event({ id: `Container ${s.name}`, status: 'Updated', state: 'warning', text: s.failure });
      await run.commit(s);
    }
    done.push(...batch);
  }
  await run.finish(done);
}

/** start-first runs two containers of one replica side by side: a fixed host port or address cannot be taken twice. */
function refuseFixedHostPorts(project: Project, serviceName: string): void {
  const service = project.services[serviceName];
  const address = Object.entries(service?.networks ?? {}).find(([, n]) => n?.ipv4_address || n?.ipv6_address);
  if (address) {
    throw new ComposeError(
      `service "${serviceName}" has a fixed address on network ${address[0]}: order: start-first runs the old and new containers side by side, ` +
        'and an address can be given to one container only; use order: stop-first',
    );
  }
  const fixed = (service?.ports ?? []).find((p) => p.published && p.published !== '0');
  if (fixed) {
    throw new ComposeError(
      `service "${serviceName}" publishes host port ${fixed.published}: order: start-first runs the old and new containers side by side, ` +
        'and a host port can be published only once; use order: stop-first, or let the engine choose the host port',
    );
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class RollingRun {
  constructor(
    private readonly backend: RollingBackend,
    private readonly create: CreateReplica,
    private readonly progress: Progress,
    private readonly timing: { pollMs: number; sleep: (ms: number) => Promise<void>; stopTimeout?: number },
  ) {}

  sleep(ms: number): Promise<void> {
    return this.timing.sleep(ms);
  }

  private event(s: Slot, status: string, state: 'working' | 'done' | 'warning' | 'error' = 'working', text?: string): void {
    this.progress.event({ id: `Container ${s.name}`, status, state, text });
  }

  /** Replace one replica; a failure of the new container is recorded in the slot, not thrown. */
  async replace(s: Slot, policy: UpdatePolicy): Promise<void> {
    try {
      if (policy.order === 'stop-first') {
        await this.retire(s);
        s.newName = s.name;
      } else {
        s.newName = interimName(s);
      }
      this.event(s, 'Creating');
      s.newId = await this.create(s.number, s.newName);
      s.held = await this.holdAliases(s.newId);
      this.event(s, 'Starting');
      await this.backend.startContainer(s.newId);
      this.event(s, 'Waiting');
      const failure = await this.waitReady(s.newId, policy.monitorMs);
      if (failure) {
        // It stays out of the service's name: whether it stays at all (failure_action) is decided later.
        s.failure = failure;
        this.event(s, 'Error', 'error', failure);
        return;
      }
      await this.releaseAliases(s);
      if (policy.order === 'start-first') await this.commit(s);
      this.event(s, 'Updated', 'done');
    } catch (err) {
      s.failure = messageOf(err);
      this.event(s, 'Error', 'error', s.failure);
    }
  }

  /**
   * A new container answers to the service's name (its network aliases) only once it is ready: the
   * embedded DNS names a container from the moment it starts, and clients sent to a server that is not
   * listening yet fail. So it is created with its aliases, then — before it starts, which costs nothing
   * — reconnected without them; releaseAliases gives them back once it is healthy. Engine-independent
   * (network connect/disconnect), unlike a DNS that knew of health checks.
   */
  private async holdAliases(id: string): Promise<HeldEndpoint[]> {
    const c = await this.backend.inspectContainer(id);
    const held: HeldEndpoint[] = [];
    for (const [network, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
      if (!ep.Aliases?.length) continue;
      const config: EndpointSettings = { IPAMConfig: ep.IPAMConfig, Links: ep.Links, Aliases: ep.Aliases, DriverOpts: ep.DriverOpts, ...(ep.MacAddress ? { MacAddress: ep.MacAddress } : {}) };
      await this.backend.disconnectNetwork(network, id, true);
      await this.backend.connectNetwork(network, id, { ...config, Aliases: [] });
      held.push({ network, config });
    }
    return held;
  }

  private async releaseAliases(s: Slot): Promise<void> {
    for (const { network, config } of s.held ?? []) {
      await this.backend.disconnectNetwork(network, s.newId!, true);
      await this.backend.connectNetwork(network, s.newId!, config);
    }
    s.held = undefined;
  }

  /** The new container takes the replica's place: the old one is retired, the new one renamed. */
  async commit(s: Slot): Promise<void> {
    await this.releaseAliases(s);
    if (!s.retired) await this.retire(s);
    if (s.newId && s.newName !== s.name) {
      await this.backend.renameContainer(s.newId, s.name);
      s.newName = s.name;
    }
  }

  /** Stop the old container (its stop_grace_period applies) and move it out of the standard name. */
  private async retire(s: Slot): Promise<void> {
    if (s.oldRunning) {
      this.event(s, 'Stopping');
      await this.backend.stopContainer(s.oldId, this.timing.stopTimeout).catch(ignoreNotModified);
    }
    await this.backend.renameContainer(s.oldId, retiredName(s));
    s.retired = true;
  }

  /**
   * Wait until a started container is ready — healthy when it has a health check, else running — and
   * has kept running for `monitorMs` since it started. Returns why it failed, or undefined.
   */
  async waitReady(id: string, monitorMs: number): Promise<string | undefined> {
    const since = Date.now();
    let restarts: number | undefined;
    for (;;) {
      const c = await this.backend.inspectContainer(id);
      const failure = containerFailure(c);
      if (failure) return failure;
      // A restart policy can bring a crashing container back between two looks: count its restarts.
      restarts ??= c.RestartCount ?? 0;
      if ((c.RestartCount ?? 0) > restarts) return `container restarted (exited with code ${c.State.ExitCode})`;
      const ready = c.State.Running && (!c.State.Health || c.State.Health.Status === 'healthy');
      if (ready && Date.now() - since >= monitorMs) return undefined;
      await this.timing.sleep(this.timing.pollMs);
    }
  }

  /**
   * Give the slots their old containers back (rollback_config's batches, order, delay and monitor);
   * returns what could not be restored.
   */
  async rollBack(slots: Slot[], policy: UpdatePolicy): Promise<string[]> {
    const trouble: string[] = [];
    const order = [...slots].reverse(); // Swarm rolls back the most recently updated first
    for (const [i, batch] of batches(order, policy.parallelism).entries()) {
      if (i > 0 && policy.delayMs > 0) await this.sleep(policy.delayMs);
      const failed = (await Promise.all(batch.map((s) => this.restore(s, policy)))).filter((t): t is string => t !== undefined);
      trouble.push(...failed);
      if (failed.length && policy.failureAction === 'pause') break;
    }
    return trouble;
  }

  private async restore(s: Slot, policy: UpdatePolicy): Promise<string | undefined> {
    try {
      this.event(s, 'Rolling back');
      if (!s.retired) {
        // The old container never stopped (start-first, the new one failed): only the new one goes.
        await this.removeNew(s);
      } else if (policy.order === 'start-first') {
        await this.revive(s, policy);
        await this.removeNew(s);
        await this.backend.renameContainer(s.oldId, s.name);
      } else {
        await this.removeNew(s);
        await this.backend.renameContainer(s.oldId, s.name);
        await this.revive(s, policy);
      }
      s.retired = false;
      this.event(s, 'Rolled back', 'done');
      return undefined;
    } catch (err) {
      const why = `${s.name}: ${messageOf(err)}`;
      this.event(s, 'Error', 'error', why);
      return why;
    }
  }

  /** Start a retired container again (if it was running before the update) and wait until it is ready. */
  private async revive(s: Slot, policy: UpdatePolicy): Promise<void> {
    if (!s.oldRunning) return;
    await this.backend.startContainer(s.oldId);
    const failure = await this.waitReady(s.oldId, policy.monitorMs);
    if (failure) throw new Error(`the previous container did not come back: ${failure}`);
  }

  private async removeNew(s: Slot): Promise<void> {
    if (!s.newId) return;
    await this.backend.removeContainer(s.newId, { force: true }).catch(ignoreNotFound);
    s.newId = undefined;
  }

  /** The update of these slots is final: their retired containers go. */
  async finish(slots: Slot[]): Promise<void> {
    for (const s of slots) {
      if (!s.retired) continue;
      await this.backend.removeContainer(s.oldId, { force: true }).catch(ignoreNotFound);
      s.retired = false;
    }
  }
}

/** Why a container that should be running is not fit to serve, or undefined. */
export function containerFailure(c: ContainerInspect): string | undefined {
  const st = c.State;
  if (st.Health?.Status === 'unhealthy') {
    const last = st.Health.Log?.at(-1)?.Output?.trim();
    return `container is unhealthy${last ? ` (${last.split('\n')[0]})` : ''}`;
  }
  if (st.Restarting) return `container is restarting (exited with code ${st.ExitCode})`;
  if (!st.Running && st.Status !== 'created') return `container exited with code ${st.ExitCode}${st.Error ? `: ${st.Error}` : ''}`;
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof ApiError && err.status === 404)) throw err;
}

function ignoreNotModified(err: unknown): void {
  if (!(err instanceof ApiError && err.status === 304)) throw err;
}
