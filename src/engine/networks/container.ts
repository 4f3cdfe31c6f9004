// What the networks service knows of a container: the fields of its record it reads (ports, network
// mode, its name) and the ones it keeps (its endpoints and sandbox). The containers service's record
// has these and more; declaring them here keeps networks from importing the service that uses it.
import type { ContainerConfig, EndpointSettings, HostConfig } from '../../api/types.js';
import type { PortMapping } from './firewall.js';

export interface SandboxRecord {
  /** The network namespace's path ('' for --network host). */
  key: string;
  /** Joined another container's sandbox (--network container:…): not ours to remove. */
  shared?: boolean;
  /** Per network name: the interface inside and the host end of its veth pair. */
  interfaces: Record<string, { name: string; hostName: string; requestedMac?: string }>;
  ports: PortMapping[];
}

export interface NetworkedContainer {
  id: string;
  /** "/name" as Docker stores it. */
  name: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: { status: string; manuallyStopped: boolean };
  /** The networks it is connected to, by network name (live fields set while it runs). */
  networks?: Record<string, EndpointSettings>;
  /** Its network sandbox while it runs. */
  sandbox?: SandboxRecord;
}
