// Container records shown in Docker's JSON shapes: inspect (GET /containers/{id}/json) and list rows.
import { createHash } from 'node:crypto';
import type { ContainerInspect, ContainerSummary, PortBinding } from '../../api/types.js';
import { humanDuration } from '../../lib/units.js';
import type { ContainerRecord } from './record.js';
import type { ContainerFiles } from './files.js';
import { mountPointView } from '../volumes/mounts.js';

export interface InspectExtras {
  files: ContainerFiles;
  logPath: string;
  graphDriverData: Record<string, string> | null;
  execIds: string[];
  /** A volume's data directory (inspect shows it as the mount's Source). */
  volumePath?: (name: string) => string;
  sizeRw?: number;
  sizeRootFs?: number;
}

function healthView(rec: ContainerRecord): ContainerInspect['State']['Health'] | undefined {
  return rec.state.health;
}

export function inspectView(rec: ContainerRecord, x: InspectExtras): ContainerInspect {
  const s = rec.state;
  const view: ContainerInspect = {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: s.status,
      Running: s.status === 'running' || s.status === 'paused',
      Paused: s.status === 'paused',
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
    },
    Image: rec.image,
    ResolvConfPath: x.files.resolvConfPath,
    HostnamePath: x.files.hostnamePath,
    HostsPath: x.files.hostsPath,
    LogPath: x.logPath,
    Name: rec.name,
    RestartCount: s.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: x.execIds.length ? x.execIds : null,
    HostConfig: rec.hostConfig,
    GraphDriver: { Name: 'overlay2', Data: x.graphDriverData },
    Mounts: (rec.mounts ?? []).map((m) => mountPointView(m, m.Type === 'volume' && m.Name && x.volumePath ? x.volumePath(m.Name) : m.Source)),
    Config: rec.config,
    NetworkSettings: networkSettings(rec),
  };
  const health = healthView(rec);
  if (health) view.State.Health = health;
  if (x.sizeRw !== undefined) view.SizeRw = x.sizeRw;
  if (x.sizeRootFs !== undefined) view.SizeRootFs = x.sizeRootFs;
  return view;
}

/** The STATUS column: "Up 5 minutes", "Exited (0) 2 seconds ago", "Created", "Up 1 second (Paused)". */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.state;
  const since = (t: string) => humanDuration(Math.max(0, now - Date.parse(t)));
  switch (s.status) {
    case 'running':
    case 'paused': {
      const health = healthView(rec);
      const suffix = s.status === 'paused' ? ' (Paused)' : health && health.Status !== 'none' ? ` (${health.Status === 'starting' ? 'health: starting' : health.Status})` : '';
      return `Up ${since(s.startedAt)}${suffix}`;
    }
    case 'restarting':
      return `Restarting (${s.exitCode}) ${since(s.finishedAt)} ago`;
    case 'exited':
      return s.finishedAt.startsWith('0001') ? `Exited (${s.exitCode})` : `Exited (${s.exitCode}) ${since(s.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

/** dockerd shows the command shell-quoted: sh -c 'echo hi'. */
function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_/.:=@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function summaryView(rec: ContainerRecord, sizes?: { sizeRw: number; sizeRootFs: number }): ContainerSummary {
  const cmd = [rec.path, ...rec.args].map(shellQuote).join(' ');
  const row: ContainerSummary = {
    Id: rec.id,
    Names: [rec.name],
    Image: rec.imageRef,
    ImageID: rec.image,
    Command: cmd,
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: summaryPorts(rec),
    Labels: rec.config.Labels ?? {},
    State: rec.state.status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.hostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: rec.networks ?? {} },
    Mounts: (rec.mounts ?? []).map((m) => mountPointView(m)),
  };
  if (sizes) {
    row.SizeRw = sizes.sizeRw;
    row.SizeRootFs = sizes.sizeRootFs;
  }
  return row;
}

/**
 * NetworkSettings as dockerd shows it: every network's endpoint, the published ports (exposed but
 * unpublished ones as null), and the legacy top-level fields filled from the default bridge only.
 */
function networkSettings(rec: ContainerRecord): ContainerInspect['NetworkSettings'] {
  const networks = rec.networks ?? {};
  const bridge = networks.bridge;
  const live = rec.sandbox !== undefined;
  const ports: Record<string, PortBinding[] | null> = {};
  if (live) {
    for (const key of Object.keys(rec.config.ExposedPorts ?? {})) ports[key] = null;
    for (const m of rec.sandbox!.ports) (ports[`${m.containerPort}/${m.proto}`] ??= []).push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
  }
  return {
    Bridge: '',
    SandboxID: live && rec.sandbox!.key ? createHash('sha256').update(rec.sandbox!.key).digest('hex') : '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: ports,
    SandboxKey: live ? rec.sandbox!.key : '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: networks,
  };
}

/** `ps`'s Ports: published ports with their host side, exposed ones alone. */
function summaryPorts(rec: ContainerRecord): ContainerSummary['Ports'] {
  const out: ContainerSummary['Ports'] = [];
  const published = new Set<string>();
  for (const m of rec.sandbox?.ports ?? []) {
    out.push({ IP: m.hostIp || '0.0.0.0', PrivatePort: m.containerPort, PublicPort: m.hostPort, Type: m.proto });
    published.add(`${m.containerPort}/${m.proto}`);
  }
  for (const key of Object.keys(rec.config.ExposedPorts ?? {})) {
    if (published.has(key)) continue;
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}
