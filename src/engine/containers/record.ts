// The container record: what berthd keeps on disk for each container, one JSON file written atomically.
import type { ContainerConfig, EndpointSettings, HostConfig } from '../../api/types.js';
import type { SandboxRecord } from '../networks/container.js';
import type { HealthState } from './health.js';
import type { MountPointRecord } from '../volumes/mounts.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerStateRecord {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  /** Set by a user's stop/kill; restart policies and `unless-stopped` honour it across restarts. */
  manuallyStopped: boolean;
  restartCount: number;
  /** Present when the container has a health check. */
  health?: HealthState;
}

export interface ContainerRecord {
  id: string;
  /** "/name" as Docker stores it. */
  name: string;
  created: string;
  path: string;
  args: string[];
  /** Image ID ("sha256:...") and the reference the user gave. */
  image: string;
  imageRef: string;
  /** Top chain ID of the image, the parent of the container's snapshot. */
  parentChainId?: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerStateRecord;
  /** The networks it is connected to, by network name, in Docker's EndpointSettings (live fields set while it runs). */
  networks?: Record<string, EndpointSettings>;
  /** Its network sandbox while it runs. */
  sandbox?: SandboxRecord;
  /** Volumes, bind mounts and tmpfs mounts (-v, --mount, --volumes-from, the image's VOLUMEs), resolved at create. */
  mounts?: MountPointRecord[];
}

/** Kept by the networks service, which declares it (networks/container.ts). */
export type { SandboxRecord };

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function newState(): ContainerStateRecord {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    error: '',
    startedAt: ZERO_TIME,
    finishedAt: ZERO_TIME,
    oomKilled: false,
    manuallyStopped: false,
    restartCount: 0,
  };
}
