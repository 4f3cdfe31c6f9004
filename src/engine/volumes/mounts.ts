// A container's mount points as dockerd parses and checks them (volume/mounts/linux_parser.go,
// daemon/volumes.go registerMountPoints, daemon/create_unix.go): `-v` specs (HostConfig.Binds),
// `--mount` configs (HostConfig.Mounts), `--volumes-from`, the image's and `-v /path` VOLUMEs; with
// dockerd's messages. Pure: what exists on the host and which containers exist are asked through
// the PlanInput callbacks. Also the OCI runtime-spec mounts a container's mount points become.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { HostConfig, Mount, MountPoint } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { tmpfsMountOptions } from '../runtime/validate.js';

/** The label Docker 23+ puts on anonymous volumes (what `volume prune` without --all removes). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
export const DEFAULT_DRIVER = 'local';
export const RESTRICTED_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** One mount point of a container, kept in its record: Docker's MountPoint plus what berth needs
 *  to set it up again at each start. */
export interface MountPointRecord {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** The volume's name (volumes only). */
  Name?: string;
  /** bind: the host path; volume: its mount point ('' for an image VOLUME, as dockerd keeps it); tmpfs: ''. */
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** The user named no volume (`-v /path`, VOLUME, `--mount type=volume` without source): `rm -v` removes it. */
  anonymous?: boolean;
  /** Copy the image's content at Destination into the volume when it is empty (not with nocopy). */
  copyData?: boolean;
  /** `-v /host:/path`: a missing host path is created at start (never for `--mount`). */
  createSource?: boolean;
  nonRecursive?: boolean;
  /** tmpfs mounts (`--mount type=tmpfs`): the mount data, e.g. "size=1m,mode=1777". */
  tmpfsData?: string;
}

/** A volume a container's mounts need: created when missing (or, for --volumes-from, required). */
export interface VolumeRequest {
  name: string;
  driver: string;
  options?: Record<string, string>;
  labels?: Record<string, string>;
  anonymous: boolean;
  /** Inherited through --volumes-from: it must exist, it is never created. */
  mustExist?: boolean;
}

export interface MountPlan {
  mounts: MountPointRecord[];
  volumes: VolumeRequest[];
}

export interface PlanInput {
  hostConfig: HostConfig;
  /** Config.Volumes with the image's VOLUMEs merged in. */
  volumes?: Record<string, object> | null;
  /** The mount points of a container named by --volumes-from; throws when there is none. */
  containerMounts(ref: string): MountPointRecord[];
  /** Whether a host path exists (bind sources of --mount must). */
  exists(hostPath: string): boolean;
  /** Names for anonymous volumes (64 hex digits by default). */
  randomName?: () => string;
  /** A volume's data directory: the Source of volumes named by -v and --mount (an image VOLUME's stays ''). */
  dataPath?: (name: string) => string;
}

// ---------------------------------------------------------------- modes

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
export const PROPAGATION_MODES = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);
const DEFAULT_PROPAGATION = 'rprivate';

/** linuxValidMountMode: a comma list with at most one of each kind of mode. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    if (RW_MODES.has(o)) counts[0]!++;
    else if (LABEL_MODES.has(o)) counts[1]!++;
    else if (PROPAGATION_MODES.has(o)) counts[2]!++;
    else if (o === 'nocopy') counts[3]!++;
    else if (CONSISTENCY_MODES.has(o)) counts[4]!++;
    else return false;
  }
  return counts.every((c) => c <= 1);
}

function readWrite(mode: string): boolean {
  return validMountMode(mode) && !mode.split(',').includes('ro');
}

function propagationOf(mode: string): string | undefined {
  return mode.split(',').find((o) => PROPAGATION_MODES.has(o));
}

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;

/** Go's path.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

// ---------------------------------------------------------------- names

/** The local driver's name rule, with dockerd's messages (wrapped as "create NAME: …" by the caller). */
export function volumeNameError(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!VOLUME_NAME.test(name)) {
    return `"${name}" includes invalid characters for a local volume name, only "${RESTRICTED_NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

export function randomVolumeName(): string {
  return randomBytes(32).toString('hex');
}

// ---------------------------------------------------------------- validation (ValidateMountConfig)

/** linuxParser.validateMountConfigImpl, with dockerd's messages. `exists` checks bind sources
 *  (--mount); without it a missing source is allowed (-v creates it). */
export function validateMountConfig(m: Mount, exists?: (p: string) => boolean): void {
  const fail = (msg: string): never => {
    throw new InvalidParameter(`invalid mount config for type "${m.Type ?? ''}": ${msg}`);
  };
  const target = m.Target ?? '';
  if (target === '') fail('field Target must not be empty');
  if (cleanPath(target) === '/') fail("invalid specification: destination can't be '/'");
  if (!target.startsWith('/')) fail(`invalid mount path: '${target}' mount path must be absolute`);
  switch (m.Type) {
    case 'bind': {
      const source = m.Source ?? '';
      if (source === '') fail('field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATION_MODES.has(prop)) fail(`invalid propagation mode: ${prop}`);
      if (m.VolumeOptions) fail('field VolumeOptions must not be specified');
      if (!source.startsWith('/')) fail(`invalid mount path: '${source}' mount path must be absolute`);
      if (exists && !m.BindOptions?.CreateMountpoint && !exists(source)) fail(`bind source path does not exist: ${source}`);
      break;
    }
    case 'volume':
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (!m.Source && m.ReadOnly) fail('must not set ReadOnly mode when using anonymous volumes');
      break;
    case 'tmpfs':
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (m.Source) fail('field Source must not be specified');
      if (m.TmpfsOptions?.SizeBytes !== undefined && m.TmpfsOptions.SizeBytes < 0) fail(`invalid tmpfs size: ${m.TmpfsOptions.SizeBytes}`);
      try {
        tmpfsMountOptions(tmpfsData(m.TmpfsOptions, !!m.ReadOnly));
      } catch (e) {
        fail((e as Error).message);
      }
      break;
    default:
      fail('mount type unknown');
  }
}

/** linuxParser.ConvertTmpfsOptions: "ro", mode in octal, size with the largest exact unit. */
export function tmpfsData(opts: Mount['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opts?.Mode) raw.push(`mode=${opts.Mode.toString(8)}`);
  if (opts?.SizeBytes) {
    let size = opts.SizeBytes;
    let suffix = '';
    for (const [s, d] of [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const) {
      if (size % d === 0) {
        size /= d;
        suffix = s;
        break;
      }
    }
    raw.push(`size=${size}${suffix}`);
  }
  return raw.join(',');
}

/** linuxParser.parseMountSpec: a validated Mount as a mount point. */
function mountPointOf(m: Mount, randomName: () => string): MountPointRecord {
  const mp: MountPointRecord = {
    Type: m.Type as MountPointRecord['Type'],
    Source: '',
    Destination: cleanPath(m.Target!),
    Mode: '',
    RW: !m.ReadOnly,
    Propagation: '',
  };
  switch (m.Type) {
    case 'volume':
      mp.Name = m.Source || randomName();
      mp.anonymous = !m.Source;
      mp.Driver = m.VolumeOptions?.DriverConfig?.Name || DEFAULT_DRIVER;
      mp.copyData = !m.VolumeOptions?.NoCopy;
      break;
    case 'bind':
      mp.Source = cleanPath(m.Source!);
      mp.Propagation = m.BindOptions?.Propagation || DEFAULT_PROPAGATION;
      if (m.BindOptions?.NonRecursive) mp.nonRecursive = true;
      // API 1.42's CreateMountpoint: a missing source is made at start, as -v does.
      if (m.BindOptions?.CreateMountpoint) mp.createSource = true;
      break;
    case 'tmpfs':
      mp.tmpfsData = tmpfsData(m.TmpfsOptions, !!m.ReadOnly);
      break;
  }
  return mp;
}

// ---------------------------------------------------------------- -v (ParseMountRaw)

/** A `-v`/Binds entry as dockerd reads it: [source:]target[:mode]; a source that is an absolute path
 *  is a bind mount, anything else names a volume. Errors carry dockerd's "invalid volume
 *  specification" wrapping. */
export function parseBind(raw: string, volumeDriver = '', randomName: () => string = randomVolumeName): MountPointRecord {
  const arr = splitN(raw, ':', 4);
  if (arr[0] === '') throw new InvalidParameter(invalidSpec(raw));
  const spec: Mount = {};
  let mode = '';
  switch (arr.length) {
    case 1:
      spec.Target = arr[0];
      break;
    case 2:
      // A destination and a mode is not a volume: /foo:rw
      if (validMountMode(arr[1]!)) throw new InvalidParameter(invalidSpec(raw));
      spec.Source = arr[0];
      spec.Target = arr[1];
      break;
    case 3:
      spec.Source = arr[0];
      spec.Target = arr[1];
      mode = arr[2]!;
      break;
    default:
      throw new InvalidParameter(invalidSpec(raw));
  }
  if (!validMountMode(mode)) throw new InvalidParameter(`invalid mode: ${mode}`);
  spec.Type = spec.Source?.startsWith('/') ? 'bind' : 'volume';
  spec.ReadOnly = !readWrite(mode);
  if (volumeDriver && spec.Type === 'volume') spec.VolumeOptions = { DriverConfig: { Name: volumeDriver } };
  if (mode.split(',').includes('nocopy')) spec.VolumeOptions = { ...spec.VolumeOptions, NoCopy: true };
  const prop = propagationOf(mode);
  if (prop) spec.BindOptions = { Propagation: prop };
  try {
    validateMountConfig(spec);
  } catch (e) {
    throw new InvalidParameter(`${invalidSpec(raw)}: ${(e as Error).message}`);
  }
  const mp = mountPointOf(spec, randomName);
  mp.Mode = mode;
  if (mp.Type === 'bind') mp.createSource = true;
  return mp;
}

/** Go's strings.SplitN. */
function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** ParseVolumesFrom: "container[:ro|rw]" (no propagation, no nocopy). */
export function parseVolumesFrom(spec: string): { container: string; mode: string } {
  if (spec === '') throw new InvalidParameter('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const container = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { container, mode: 'rw' };
  if (!validMountMode(mode) || propagationOf(mode) || mode.split(',').includes('nocopy')) throw new InvalidParameter(`invalid mode: ${mode}`);
  return { container, mode };
}

// ---------------------------------------------------------------- a container's mounts

const duplicate = (dest: string) => new InvalidParameter(`Duplicate mount point: ${dest}`);

/**
 * registerMountPoints + the image's volumes: --volumes-from first, then -v (Binds), then --mount, then
 * VOLUMEs for destinations nothing else took. Throws dockerd's errors; creates nothing.
 */
export function planMounts(input: PlanInput): MountPlan {
  const hc = input.hostConfig;
  const randomName = input.randomName ?? randomVolumeName;
  const points = new Map<string, MountPointRecord>();
  const binds = new Set<string>();
  const tmpfs = new Set(Object.keys(hc.Tmpfs ?? {}).map(cleanPath));
  const inherited = new Set<MountPointRecord>();

  for (const spec of hc.VolumesFrom ?? []) {
    const { container, mode } = parseVolumesFrom(spec);
    for (const m of input.containerMounts(container)) {
      // Docker copies the mount point without its Mode; the volume is not copied into again.
      const cp: MountPointRecord = { ...m, Mode: '', RW: m.RW && readWrite(mode), copyData: false };
      inherited.add(cp);
      points.set(cp.Destination, cp);
    }
  }
  for (const raw of hc.Binds ?? []) {
    const mp = parseBind(raw, hc.VolumeDriver ?? '', randomName);
    if (binds.has(mp.Destination) || tmpfs.has(mp.Destination)) throw duplicate(mp.Destination);
    if (mp.Type === 'volume' && mp.Driver === DEFAULT_DRIVER && mp.Mode === '') mp.Mode = 'z';
    if (mp.Type === 'volume') mp.Source = input.dataPath?.(mp.Name!) ?? '';
    binds.add(mp.Destination);
    points.set(mp.Destination, mp);
  }
  for (const cfg of hc.Mounts ?? []) {
    validateMountConfig(cfg, input.exists);
    const mp = mountPointOf(cfg, randomName);
    if (binds.has(mp.Destination) || tmpfs.has(mp.Destination)) throw duplicate(cfg.Target ?? '');
    if (mp.Type === 'volume' && mp.Driver === DEFAULT_DRIVER) mp.Mode = 'z';
    if (mp.Type === 'volume') mp.Source = input.dataPath?.(mp.Name!) ?? '';
    binds.add(mp.Destination);
    points.set(mp.Destination, mp);
  }
  const volumeOptions = new Map<string, Mount['VolumeOptions']>();
  for (const cfg of hc.Mounts ?? []) if (cfg.Type === 'volume') volumeOptions.set(cleanPath(cfg.Target!), cfg.VolumeOptions);

  for (const spec of Object.keys(input.volumes ?? {})) {
    const destination = cleanPath(spec);
    if (points.has(destination)) continue;
    points.set(destination, {
      Type: 'volume',
      Name: randomName(),
      Source: '',
      Destination: destination,
      Driver: hc.VolumeDriver || DEFAULT_DRIVER,
      Mode: '',
      RW: true,
      Propagation: '',
      anonymous: true,
      copyData: true,
    });
  }

  const volumes = new Map<string, VolumeRequest>();
  for (const m of points.values()) {
    if (m.Type !== 'volume' || !m.Name) continue;
    const prev = volumes.get(m.Name);
    const req: VolumeRequest = prev ?? { name: m.Name, driver: m.Driver ?? DEFAULT_DRIVER, anonymous: !!m.anonymous };
    if (inherited.has(m)) {
      if (!prev) req.mustExist = true;
    } else delete req.mustExist;
    const opts = volumeOptions.get(m.Destination);
    if (opts?.DriverConfig?.Options && Object.keys(opts.DriverConfig.Options).length) req.options = { ...opts.DriverConfig.Options };
    if (opts?.Labels && Object.keys(opts.Labels).length) req.labels = { ...req.labels, ...opts.Labels };
    if (m.anonymous) req.labels = { ...req.labels, [ANONYMOUS_LABEL]: '' };
    volumes.set(m.Name, req);
  }
  return { mounts: [...points.values()], volumes: [...volumes.values()] };
}

// ---------------------------------------------------------------- views and the OCI spec

/** Docker's MountPoint for inspect (`path`: where the data is) and the list (Source as recorded). */
export function mountPointView(m: MountPointRecord, source = m.Source): MountPoint {
  const v: MountPoint = { Type: m.Type, Source: source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation };
  if (m.Name) v.Name = m.Name;
  if (m.Driver) v.Driver = m.Driver;
  // Key order as dockerd writes it.
  return { Type: v.Type, ...(v.Name ? { Name: v.Name } : {}), Source: v.Source, Destination: v.Destination, ...(v.Driver ? { Driver: v.Driver } : {}), Mode: v.Mode, RW: v.RW, Propagation: v.Propagation };
}

export interface OciMountLike {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** The runtime-spec mounts of a container's mount points (daemon/oci_linux.go WithMounts): binds and
 *  volumes as rbind mounts with their propagation, tmpfs with Docker's default flags. `hostPath`
 *  gives a volume's data directory. */
export function ociMounts(points: readonly MountPointRecord[], hostPath: (m: MountPointRecord) => string): { mounts: OciMountLike[]; rootfsPropagation?: string } {
  const mounts: OciMountLike[] = [];
  let rootfsPropagation: string | undefined;
  for (const m of points) {
    // An image VOLUME may be written without its leading slash; runc wants absolute destinations.
    const destination = m.Destination.startsWith('/') ? m.Destination : '/' + m.Destination;
    if (m.Type === 'tmpfs') {
      mounts.push({ destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsMountOptions(m.tmpfsData ?? '') });
      continue;
    }
    const prop = m.Propagation || DEFAULT_PROPAGATION;
    if (prop === 'shared' || prop === 'rshared') rootfsPropagation = 'shared';
    else if ((prop === 'slave' || prop === 'rslave') && rootfsPropagation !== 'shared') rootfsPropagation = 'rslave';
    const options = [m.nonRecursive ? 'bind' : 'rbind'];
    if (!m.RW) options.push('ro');
    options.push(prop);
    mounts.push({ destination, type: 'bind', source: hostPath(m), options });
  }
  return { mounts, rootfsPropagation };
}
