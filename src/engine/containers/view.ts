// Container records shown in Docker's JSON shapes: inspect (GET /containers/{id}/json) and list rows.
import type { ContainerInspect, ContainerSummary } from '../../api/types.js';
import { humanDuration } from '../../lib/units.js';
import type { ContainerRecord } from './record.js';
import type { ContainerFiles } from './files.js';

export interface InspectExtras {
  files: ContainerFiles;
  logPath: string;
  graphDriverData: Record<string, string> | null;
  execIds: string[];
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
    Mounts: [],
    Config: rec.config,
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      Ports: {},
      SandboxKey: '',
      Networks: {},
      IPAddress: '',
      Gateway: '',
      MacAddress: '',
    },
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
    Ports: [],
    Labels: rec.config.Labels ?? {},
    State: rec.state.status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.hostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
  if (sizes) {
    row.SizeRw = sizes.sizeRw;
    row.SizeRootFs = sizes.sizeRootFs;
  }
  return row;
}
