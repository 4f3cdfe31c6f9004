// Legacy links (HostConfig.Links, `--link name:alias`) on the default bridge, as dockerd makes them: the
// linked container's address under the alias in /etc/hosts and its ports, name and environment as
// ALIAS_* variables (daemon/links/links.go), fixed when the linking container starts.
import { Conflict, InvalidParameter } from '../../lib/errors.js';
import type { ContainerRecord } from './record.js';

export interface Link {
  /** The linked container's name or ID, as given (no leading slash). */
  target: string;
  alias: string;
}

/** "name:alias", "/name:/parent/alias" (how dockerd stores them) or "name" (the alias is the name). */
export function parseLink(spec: string): Link {
  const [rawTarget = '', rawAlias] = spec.split(':');
  const target = rawTarget.replace(/^\//, '');
  const alias = (rawAlias ?? target).split('/').pop()!;
  if (!target || !alias || spec.split(':').length > 2) throw new InvalidParameter(`invalid link ${JSON.stringify(spec)}: it must be name or name:alias`);
  return { target, alias };
}

export function parseLinks(links: string[] | null | undefined): Link[] {
  return (links ?? []).map(parseLink);
}

/** ALIAS_PORT…, ALIAS_NAME and ALIAS_ENV_… for one link (HOME and PATH of the target left out, as dockerd). */
export function linkEnv(parentName: string, link: Link, child: ContainerRecord, childIp: string): string[] {
  const alias = link.alias.toUpperCase().replace(/-/g, '_');
  const ports = Object.keys(child.config.ExposedPorts ?? {})
    .map((k) => {
      const [port = '', proto = 'tcp'] = k.split('/');
      return { port: Number(port), proto };
    })
    .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  const env: string[] = [];
  if (ports[0]) env.push(`${alias}_PORT=${ports[0].proto}://${childIp}:${ports[0].port}`);
  for (const { port, proto } of ports) {
    const p = `${alias}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${p}=${proto}://${childIp}:${port}`, `${p}_ADDR=${childIp}`, `${p}_PORT=${port}`, `${p}_PROTO=${proto}`);
  }
  env.push(`${alias}_NAME=${parentName}/${link.alias}`);
  for (const v of child.config.Env ?? []) {
    const i = v.indexOf('=');
    if (i < 0 || ['HOME', 'PATH'].includes(v.slice(0, i))) continue;
    env.push(`${alias}_ENV_${v.slice(0, i)}=${v.slice(i + 1)}`);
  }
  return env;
}

/** The /etc/hosts line of a link: "alias hostname [name]:ip" (host:address, as ExtraHosts). */
export function linkHost(link: Link, child: ContainerRecord, childIp: string): string {
  const names = [link.alias, child.config.Hostname ?? ''];
  if (link.alias !== child.name.slice(1)) names.push(child.name.slice(1));
  return `${names.filter(Boolean).join(' ')}:${childIp}`;
}

/** The running target of a link and its default-bridge address; dockerd's error otherwise. */
export function linkedChild(parent: ContainerRecord, link: Link, get: (ref: string) => ContainerRecord): { child: ContainerRecord; ip: string } {
  const child = get(link.target);
  if (child.state.status !== 'running') throw new Conflict(`Cannot link to a non running container: ${child.name} AS ${parent.name}/${link.alias}`);
  const ip = child.networks?.bridge?.IPAddress;
  if (!ip) throw new Conflict(`Cannot link to ${child.name}, as it does not belong to the default network`);
  return { child, ip };
}
