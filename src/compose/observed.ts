// The project as the engine shows it: rebuilt from the labels on its containers, networks and volumes,
// for commands run with only `-p NAME` and no compose file (down, stop, start, restart, kill, rm,
// pause). As Compose v2 does, each service gets the image its containers run and the dependencies its
// `com.docker.compose.depends_on` label records, so the order of work is the same as with the file.
import type { ContainerSummary } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { DEPENDS_ON, NETWORK, ONEOFF, SERVICE, VOLUME } from './labels.js';
import type { DependencyCondition, NetworkConfig, Project, ServiceConfig, ServiceDependency, VolumeConfig } from './types.js';

/** The project named `name` from what the engine holds (`containers`: its containers, stopped ones too). */
export async function observedProject(backend: ComposeBackend, name: string, containers: ContainerSummary[]): Promise<Project> {
  const [networks, volumes] = await Promise.all([backend.networks(name), backend.volumes(name)]);
  return {
    name,
    workingDir: '',
    composeFiles: [],
    environment: {},
    profiles: [],
    services: servicesOf(containers),
    disabledServices: {},
    networks: Object.fromEntries(networks.map((n): [string, NetworkConfig] => [n.Labels?.[NETWORK] ?? n.Name, { name: n.Name, labels: n.Labels }])),
    volumes: Object.fromEntries(volumes.map((v): [string, VolumeConfig] => [v.Labels?.[VOLUME] ?? v.Name, { name: v.Name, labels: v.Labels ?? undefined }])),
    secrets: {},
    configs: {},
  };
}

function servicesOf(containers: ContainerSummary[]): Record<string, ServiceConfig> {
  const services: Record<string, ServiceConfig> = {};
  for (const c of containers) {
    if (c.Labels[ONEOFF] === 'True') continue;
    const name = c.Labels[SERVICE];
    if (!name || services[name]) continue;
    services[name] = { image: c.Image, depends_on: dependsOn(c.Labels[DEPENDS_ON] ?? '') };
  }
  return services;
}

const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

/**
 * `db:service_healthy:false,cache:service_started:true` → depends_on. Older labels carry only names
 * (then, as in Compose, the dependency is restarted with the service).
 */
export function dependsOn(label: string): Record<string, ServiceDependency> {
  const deps: Record<string, ServiceDependency> = {};
  for (const item of label.split(',').filter(Boolean)) {
    const [name = '', condition = '', restart = 'true'] = item.split(':');
    deps[name] = { condition: CONDITIONS.has(condition) ? (condition as DependencyCondition) : 'service_started', required: true, restart: restart === 'true' };
  }
  return deps;
}
