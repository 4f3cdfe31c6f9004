// The volumes service: `volume create/ls/inspect/rm/prune` with dockerd's rules and messages, the
// `local` driver (a directory, or with -o type/device/o a mount(8) made on first use and undone when
// the last container using it stops), `system df`'s usage, volume events (create, mount, unmount,
// destroy, prune), and what the containers service needs: a container's mount points planned and
// their volumes created at create, the image's content copied into empty volumes, the OCI mounts at
// start, anonymous volumes removed with `rm -v`.
//
// References are the container records: a volume named by any container's mount points (running or
// not) is in use, as in dockerd. Containers being created hold theirs in memory until their record is
// written.
import { promises as fs, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HostConfig, Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from '../../api/types.js';
import { Conflict, InvalidParameter, NotFound, SystemError, messageOf } from '../../lib/errors.js';
import { CommandError, run } from '../../lib/exec.js';
import { labelsMatch, matchLabel } from '../../lib/filters.js';
import type { EventsService } from '../events.js';
import { dirSize } from '../../lib/fsutil.js';
import { secureJoin } from '../../lib/securejoin.js';
import {
  ANONYMOUS_LABEL,
  cleanPath,
  DEFAULT_DRIVER,
  parseBind,
  ociMounts,
  planMounts,
  randomVolumeName,
  validateMountConfig,
  volumeNameError,
  type MountPlan,
  type MountPointRecord,
  type OciMountLike,
  type PlanInput,
  type VolumeRequest,
} from './mounts.js';
import { isMountPoint, VolumeStore, type VolumeRecord } from './store.js';

/** What the volumes service knows of a container: its mount points, the host config they came from
 *  and whether it runs. The containers service's record has these; declaring them here keeps volumes
 *  from importing the service that uses it. */
export interface MountedContainer {
  id: string;
  hostConfig: HostConfig;
  state: { status: string };
  mounts?: MountPointRecord[];
}

export interface VolumesOptions {
  root: string;
  events: EventsService;
  /** Every container record (a volume they name is in use). */
  containers: () => readonly MountedContainer[];
}

/** A mount as the files service (cp, export) needs it: host path, container path. */
export interface HostMount {
  destination: string;
  source: string;
  readOnly: boolean;
}

const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];
const VALID_OPTS = ['type', 'o', 'device', 'size'];
/** An option that needs others (the local driver's mandatoryOpts, checked in this order). */
const MANDATORY_OPTS: [string, string[]][] = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

class InvalidFilter extends InvalidParameter {
  constructor(key: string, values?: string[]) {
    super(`invalid filter '${key}${values ? `=[${values.join(' ')}]` : ''}'`);
  }
}

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nonEmpty(m: Record<string, string> | null | undefined): Record<string, string> | null {
  return m && Object.keys(m).length ? { ...m } : null;
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

export class VolumesService {
  readonly store: VolumeStore;
  /** Per-volume operations (create, remove, mount, unmount) one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Running containers using each volume (the local driver's active count). */
  private readonly active = new Map<string, number>();
  /** Volume names each running container holds. */
  private readonly held = new Map<string, string[]>();
  /** References of containers being created (their records are not written yet). */
  private readonly pending = new Map<string, Set<string>>();
  private pruning = false;

  constructor(private readonly o: VolumesOptions) {
    this.store = new VolumeStore(path.join(o.root, 'volumes'));
  }

  /** Load the records and count the running containers' mounts (after the container records are
   *  loaded, before they are reconciled: an exit found then releases its volumes). A volume mounted
   *  for containers that are gone is unmounted. */
  async init(): Promise<void> {
    await this.store.load();
    for (const rec of this.o.containers()) {
      if (rec.state.status !== 'running' && rec.state.status !== 'paused') continue;
      const names = volumeNames(rec);
      this.held.set(rec.id, names);
      for (const n of names) this.active.set(n, (this.active.get(n) ?? 0) + 1);
    }
    for (const v of this.store.all()) {
      if (needsMount(v) && !this.active.get(v.name) && isMountPoint(this.store.dataPath(v.name))) {
        await run(['umount', this.store.dataPath(v.name)], { allowFailure: true });
      }
    }
  }

  private serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(name, next);
    void next.catch(() => undefined).then(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    });
    return next;
  }

  // ---------------------------------------------------------------- views

  private view(v: VolumeRecord): Volume {
    return {
      CreatedAt: v.createdAt,
      Driver: v.driver,
      Labels: v.labels,
      Mountpoint: this.store.dataPath(v.name),
      Name: v.name,
      Options: v.options,
      Scope: 'local',
    };
  }

  /** IDs of the containers that use a volume (records and creations in flight). */
  refs(name: string): string[] {
    const ids = this.o.containers().filter((c) => (c.mounts ?? []).some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.id);
    for (const id of this.pending.get(name) ?? []) if (!ids.includes(id)) ids.push(id);
    return ids;
  }

  // ---------------------------------------------------------------- create

  /** The local driver's checks, with dockerd's "create NAME: …" wrapping. */
  private validateCreate(name: string, driver: string, opts: Record<string, string>): void {
    if (driver !== DEFAULT_DRIVER) throw new NotFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const bad = volumeNameError(name);
    if (bad) throw new InvalidParameter(`create ${name}: ${bad}`);
    for (const k of Object.keys(opts)) if (!VALID_OPTS.includes(k)) throw new InvalidParameter(`create ${name}: invalid option: "${k}"`);
    if (opts.size !== undefined) throw new InvalidParameter(`create ${name}: quota size requested but no quota support`);
    for (const [opt, required] of MANDATORY_OPTS) {
      if (!(opt in opts)) continue;
      for (const r of required) if (!(r in opts)) throw new InvalidParameter(`create ${name}: missing required option: "${r}"`);
    }
  }

  /** `POST /volumes/create`: an existing volume of that name is returned as it is (dockerd's rule). */
  async create(req: VolumeCreateRequest): Promise<Volume> {
    const named = !!req.Name;
    const name = req.Name || randomVolumeName();
    const labels = { ...(req.Labels ?? {}), ...(named ? {} : { [ANONYMOUS_LABEL]: '' }) };
    const { record } = await this.ensure({ name, driver: req.Driver || DEFAULT_DRIVER, options: req.DriverOpts ?? undefined, labels, anonymous: !named });
    return this.view(record);
  }

  /** The volume, created when missing. */
  private async ensure(r: VolumeRequest): Promise<{ record: VolumeRecord; created: boolean }> {
    this.validateCreate(r.name, r.driver, r.options ?? {});
    return this.serialize(r.name, async () => {
      const existing = this.store.tryGet(r.name);
      if (existing) return { record: existing, created: false };
      const record: VolumeRecord = { name: r.name, driver: r.driver, createdAt: nowRfc3339(), labels: nonEmpty(r.labels), options: nonEmpty(r.options) };
      await this.store.create(record);
      this.o.events.emit('volume', 'create', r.name, { driver: r.driver });
      return { record, created: true };
    });
  }

  // ---------------------------------------------------------------- inspect, list

  inspect(name: string): Volume {
    return this.view(this.store.get(name));
  }

  /** `GET /volumes` with dockerd's filters: dangling, driver, label, name (a regular expression). */
  list(filters: Record<string, string[]> = {}): VolumeListResponse {
    for (const k of Object.keys(filters)) if (!LIST_FILTERS.includes(k)) throw new InvalidFilter(k);
    let dangling: boolean | undefined;
    if (filters.dangling?.length) {
      const d = filters.dangling[0]!.toLowerCase();
      if (!['true', 'false', '1', '0'].includes(d) || filters.dangling.length > 1) throw new InvalidFilter('dangling', filters.dangling);
      dangling = d === 'true' || d === '1';
    }
    const nameMatches = (n: string) =>
      !filters.name?.length ||
      filters.name.some((pat) => {
        try {
          return new RegExp(pat).test(n);
        } catch {
          return n.includes(pat);
        }
      });
    const out = this.store
      .all()
      .filter((v) => nameMatches(v.name))
      .filter((v) => !filters.driver?.length || filters.driver.includes(v.driver))
      .filter((v) => (filters.label ?? []).every((l) => matchLabel(v.labels ?? {}, l)))
      .filter((v) => dangling === undefined || (this.refs(v.name).length === 0) === dangling)
      .map((v) => this.view(v));
    return { Volumes: out, Warnings: null };
  }

  // ---------------------------------------------------------------- remove, prune

  /** `DELETE /volumes/{name}`: refused while a container uses it; `force` ignores a missing one. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.serialize(name, async () => {
      const v = this.store.tryGet(name);
      if (!v) {
        if (opts.force) return;
        throw new NotFound(`get ${name}: no such volume`);
      }
      const refs = this.refs(name);
      if (refs.length) throw new Conflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
      await this.store.remove(name);
      this.active.delete(name);
      this.o.events.emit('volume', 'destroy', name, { driver: v.driver });
    });
  }

  /** `POST /volumes/prune`: unused volumes — only anonymous ones unless `all=true` (API 1.42+; the
   *  route adds all=true for older clients, which pruned every unused volume). */
  async prune(filters: Record<string, string[]> = {}): Promise<VolumePruneReport> {
    for (const k of Object.keys(filters)) if (!PRUNE_FILTERS.includes(k)) throw new InvalidFilter(k);
    const allValues = filters.all ?? [];
    if (allValues.length > 1) throw new InvalidFilter('all', allValues);
    const all = allValues.length === 1 ? parseBool(allValues[0]!) : false;
    if (all === undefined) throw new InvalidFilter('all', allValues);
    const f = { ...filters, label: [...(filters.label ?? []), ...(all ? [] : [ANONYMOUS_LABEL])] };
    if (this.pruning) throw new Conflict('a prune operation is already running');
    this.pruning = true;
    try {
      const report: VolumePruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
      for (const v of this.store.all()) {
        if (!labelsMatch(v.labels ?? {}, f) || this.refs(v.name).length) continue;
        const size = await dirSize(this.store.dataPath(v.name));
        try {
          await this.remove(v.name);
        } catch {
          continue; // taken into use meanwhile
        }
        report.VolumesDeleted.push(v.name);
        report.SpaceReclaimed += size;
      }
      this.o.events.emit('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    } finally {
      this.pruning = false;
    }
  }

  /** Every volume with its UsageData (size of its data, containers using it): `system df`. */
  async diskUsage(): Promise<(Volume & { UsageData: { Size: number; RefCount: number } })[]> {
    return Promise.all(
      this.store.all().map(async (v) => ({
        ...this.view(v),
        UsageData: { Size: await dirSize(this.store.dataPath(v.name)).catch(() => -1), RefCount: this.refs(v.name).length },
      })),
    );
  }

  /** The same as diskUsage (for `system df`). */
  df(): ReturnType<VolumesService['diskUsage']> {
    return this.diskUsage();
  }

  // ---------------------------------------------------------------- containers: create

  /**
   * A container's mount points and the volumes they need, every rule checked (names, driver options,
   * duplicates, bind sources) before anything exists. `mounts` is a container's mount points, for
   * --volumes-from (throws when there is no such container).
   */
  plan(input: Omit<PlanInput, 'exists' | 'dataPath'>): MountPlan {
    const plan = planMounts({ ...input, exists: pathExists, dataPath: (n) => this.store.dataPath(n) });
    for (const r of plan.volumes) {
      if (r.mustExist) this.store.get(r.name);
      else if (!this.store.tryGet(r.name)) this.validateCreate(r.name, r.driver, r.options ?? {});
      else if (r.driver !== DEFAULT_DRIVER) this.validateCreate(r.name, r.driver, {});
    }
    return plan;
  }

  /** Create the plan's missing volumes, held for `containerId` until settle(); on failure nothing
   *  created stays. Returns the names created. */
  async acquire(containerId: string, plan: MountPlan): Promise<string[]> {
    for (const r of plan.volumes) {
      const set = this.pending.get(r.name) ?? new Set<string>();
      set.add(containerId);
      this.pending.set(r.name, set);
    }
    const created: string[] = [];
    try {
      for (const r of plan.volumes) {
        if (r.mustExist) {
          this.store.get(r.name);
          continue;
        }
        if ((await this.ensure(r)).created) created.push(r.name);
      }
    } catch (e) {
      this.settle(containerId);
      await this.rollback(created);
      throw e;
    }
    return created;
  }

  /** The container's record is written (or its creation failed): drop the in-memory references. */
  settle(containerId: string): void {
    for (const [name, ids] of this.pending) {
      ids.delete(containerId);
      if (!ids.size) this.pending.delete(name);
    }
  }

  /** Remove volumes a failed creation made. */
  async rollback(names: string[]): Promise<void> {
    for (const n of names) await this.remove(n).catch(() => undefined);
  }

  private needsCopy(m: MountPointRecord): boolean {
    if (m.Type !== 'volume' || !m.copyData || !m.Name) return false;
    const v = this.store.tryGet(m.Name);
    return !!v && !needsMount(v);
  }

  /** Whether create must look into the image (a volume that may take the image's content). */
  async wantsImageContent(mounts: readonly MountPointRecord[]): Promise<boolean> {
    for (const m of mounts) if (this.needsCopy(m) && (await isEmptyDir(this.store.dataPath(m.Name!)))) return true;
    return false;
  }

  /** Docker's copy-up at create: the image's content at each volume's destination copied into the
   *  volume when the volume is empty (modes, owners, times, links and xattrs kept); not with nocopy.
   *  Volumes mounted by their driver options get theirs when mounted (setup). */
  async copyImageContent(mounts: readonly MountPointRecord[], rootfs: string): Promise<void> {
    for (const m of mounts) if (this.needsCopy(m)) await copyUp(rootfs, m.Destination, this.store.dataPath(m.Name!));
  }

  // ---------------------------------------------------------------- containers: start and stop

  /** dockerd checks the host config again at start (verifyContainerSettings): a `--mount` bind source
   *  removed since create is refused with create's 400, before anything is mounted. */
  verifyStart(rec: MountedContainer): void {
    for (const m of rec.hostConfig.Mounts ?? []) validateMountConfig(m, pathExists);
  }

  /**
   * At start: the host side of each mount made ready (missing -v sources created, driver mounts made,
   * propagation checked), mount events, and the OCI mounts. Released by release().
   */
  async setup(rec: MountedContainer, rootfs: string): Promise<{ mounts: OciMountLike[]; rootfsPropagation?: string }> {
    const mounts = rec.mounts ?? [];
    const held: string[] = [];
    this.held.set(rec.id, held);
    try {
      for (const m of mounts) {
        if (m.Type === 'bind') {
          if (m.createSource) await createBindSource(m.Source);
          if (m.Propagation && !['private', 'rprivate'].includes(m.Propagation)) checkPropagation(m.Source, m.Propagation);
          continue;
        }
        if (m.Type !== 'volume' || !m.Name) continue;
        const v = this.store.get(m.Name);
        const mounted = await this.mountVolume(v);
        held.push(v.name);
        if (mounted && m.copyData) await copyUp(rootfs, m.Destination, this.store.dataPath(v.name));
        this.o.events.emit('volume', 'mount', v.name, {
          container: rec.id,
          destination: m.Destination,
          driver: v.driver,
          propagation: m.Propagation,
          'read/write': String(m.RW),
        });
      }
    } catch (e) {
      await this.release(rec, false);
      throw e;
    }
    return ociMounts(mounts, (m) => (m.Type === 'volume' ? this.store.dataPath(m.Name!) : m.Source));
  }

  /** At stop: the container lets go of its volumes (the last user of a driver-mounted one unmounts it). */
  async release(rec: MountedContainer, events = true): Promise<void> {
    const names = this.held.get(rec.id);
    if (!names) return;
    this.held.delete(rec.id);
    for (const name of names) {
      const v = this.store.tryGet(name);
      await this.unmountVolume(name).catch(() => undefined);
      if (events) this.o.events.emit('volume', 'unmount', name, { container: rec.id, driver: v?.driver ?? DEFAULT_DRIVER });
    }
  }

  /** Count a user; the first one mounts a volume with driver options. True when this call mounted it. */
  private mountVolume(v: VolumeRecord): Promise<boolean> {
    return this.serialize(v.name, async () => {
      const n = this.active.get(v.name) ?? 0;
      let mounted = false;
      if (n === 0 && needsMount(v) && !isMountPoint(this.store.dataPath(v.name))) {
        await this.driverMount(v);
        mounted = true;
      }
      this.active.set(v.name, n + 1);
      return mounted;
    });
  }

  private unmountVolume(name: string): Promise<void> {
    return this.serialize(name, async () => {
      const n = (this.active.get(name) ?? 1) - 1;
      if (n > 0) return void this.active.set(name, n);
      this.active.delete(name);
      const v = this.store.tryGet(name);
      const data = this.store.dataPath(name);
      if (v && needsMount(v) && isMountPoint(data)) await run(['umount', data]);
    });
  }

  /** The local driver's mount: mount -t TYPE -o O DEVICE _data. */
  private async driverMount(v: VolumeRecord): Promise<void> {
    const o = v.options ?? {};
    const data = this.store.dataPath(v.name);
    if (!o.device) throw new SystemError(`error while mounting volume '${data}': missing device in volume options`);
    try {
      await run(['mount', ...(o.type ? ['-t', o.type] : []), ...(o.o ? ['-o', o.o] : []), o.device, data]);
    } catch (e) {
      const why = e instanceof CommandError ? (e.stderr.trim().split('\n')[0] ?? '').replace(/^mount: /, '') : messageOf(e);
      throw new SystemError(`error while mounting volume '${data}': failed to mount local volume: ${why}`);
    }
  }

  // ---------------------------------------------------------------- containers: remove

  /** `rm -v` (and --rm): the container's anonymous volumes go, unless another container uses them. */
  async removeAnonymous(rec: MountedContainer): Promise<void> {
    for (const m of rec.mounts ?? []) {
      if (m.Type !== 'volume' || !m.anonymous || !m.Name) continue;
      await this.remove(m.Name).catch((e: unknown) => {
        if (!(e instanceof Conflict) && !(e instanceof NotFound)) throw e;
      });
    }
  }

  /** A container's volumes (and the binds it inherited through --volumes-from) as host paths, for cp
   *  and export; its own -v/--mount binds the files service reads from the host config. */
  hostMounts(rec: MountedContainer): HostMount[] {
    const own = new Set<string>();
    for (const b of rec.hostConfig.Binds ?? []) {
      try {
        own.add(parseBind(b).Destination);
      } catch {
        // refused at create: not a mount
      }
    }
    for (const m of rec.hostConfig.Mounts ?? []) if (m.Target) own.add(cleanPath(m.Target));
    return (rec.mounts ?? [])
      .filter((m) => (m.Type === 'volume' && m.Name) || (m.Type === 'bind' && !own.has(m.Destination)))
      .map((m) => ({ destination: m.Destination, source: m.Type === 'volume' ? this.store.dataPath(m.Name!) : m.Source, readOnly: !m.RW }));
  }

  /** Where a volume's data is (inspect shows it as the mount's Source). */
  dataPath(name: string): string {
    return this.store.dataPath(name);
  }
}

function needsMount(v: VolumeRecord): boolean {
  return !!(v.options && (v.options.type || v.options.device));
}

function volumeNames(rec: MountedContainer): string[] {
  return (rec.mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!);
}

/** Setup's MkdirAllAndChownNew for a `-v` source: a missing path becomes a directory; one that exists
 *  (a file, a socket, a directory) is bound as it is, and runc makes a mount point of its kind. */
async function createBindSource(source: string): Promise<void> {
  try {
    await fs.mkdir(source, { recursive: true, mode: 0o755 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Go's MkdirAll fails with ENOTDIR on a file, which dockerd ignores: the mount says what is wrong.
    if (code === 'ENOTDIR' || (code === 'EEXIST' && pathExists(source))) return;
    throw new SystemError(`error while creating mount source path '${source}': ${messageOf(e)}`);
  }
}

/** Synchronous on purpose: planning is one step with its inputs at hand. */
function pathExists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await fs.readdir(dir).catch(() => ['?'])).length === 0;
}

/** The image's directory at `dest` copied into an empty volume directory (GNU cp -a: modes, owners,
 *  times, symlinks, hard links, xattrs; the directory's own mode and owner too). */
async function copyUp(rootfs: string, dest: string, data: string): Promise<void> {
  if (!(await isEmptyDir(data))) return;
  const src = await secureJoin(rootfs, dest);
  const st = await fs.stat(src).catch(() => undefined);
  if (!st) return;
  // A volume cannot go over the image's file: dockerd refuses it here, at create (fs.CopyDir's words).
  if (!st.isDirectory()) throw new SystemError(`source ${src} is not directory`);
  await run(['cp', '-a', '--preserve=all', `${src}/.`, `${data}/`]);
  // The directory's own mode too (a tmpfs root's sticky bit would survive cp).
  await fs.chmod(data, st.mode & 0o7777);
}

/** ensureShared / ensureSharedOrSlave: a shared (or slave) bind needs its source on such a mount. */
function checkPropagation(source: string, propagation: string): void {
  let real: string;
  try {
    real = realpathSync(source);
  } catch {
    return;
  }
  let best: { mountPoint: string; optional: string } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const mp = f[4];
    if (!mp) continue;
    if (!(real === mp || real.startsWith(mp === '/' ? '/' : mp + '/'))) continue;
    if (best && best.mountPoint.length > mp.length) continue;
    const sep = f.indexOf('-');
    best = { mountPoint: mp, optional: f.slice(6, sep < 0 ? undefined : sep).join(' ') };
  }
  if (!best) return;
  const shared = /\bshared:/.test(best.optional);
  const slave = /\bmaster:/.test(best.optional);
  if ((propagation === 'shared' || propagation === 'rshared') && !shared) {
    throw new InvalidParameter(`path ${source} is mounted on ${best.mountPoint} but it is not a shared mount`);
  }
  if ((propagation === 'slave' || propagation === 'rslave') && !shared && !slave) {
    throw new InvalidParameter(`path ${source} is mounted on ${best.mountPoint} but it is not a shared or slave mount`);
  }
}
