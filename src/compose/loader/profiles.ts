// Profiles: a service that lists profiles is enabled only when one of them is active (--profile,
// COMPOSE_PROFILES, "*" for all); a service with none is always enabled. Naming a disabled service on
// the command line enables it, with its profiles, as Compose does.
import { ComposeError, type Project, type ServiceConfig } from '../types.js';

export function hasProfile(service: ServiceConfig, profiles: readonly string[]): boolean {
  const own = service.profiles ?? [];
  if (own.length === 0) return true;
  return profiles.some((p) => p === '*' || own.includes(p));
}

/** Splits all services of `project` into enabled and disabled ones for `profiles`. */
export function withProfiles(project: Project, profiles: string[]): Project {
  const all = { ...project.services, ...project.disabledServices };
  const services: Record<string, ServiceConfig> = {};
  const disabledServices: Record<string, ServiceConfig> = {};
  for (const name of Object.keys(all).sort()) {
    const svc = all[name]!;
    if (hasProfile(svc, profiles)) services[name] = svc;
    else disabledServices[name] = svc;
  }
  return { ...project, profiles, services, disabledServices };
}

/**
 * Enables the named services (and so the profiles they list). A name that is no service is refused
 * as Compose refuses it: "no such service: x".
 */
export function withServicesEnabled(project: Project, names: readonly string[]): Project {
  const profiles = [...project.profiles];
  for (const name of names) {
    if (Object.hasOwn(project.services, name)) continue;
    const disabled = Object.hasOwn(project.disabledServices, name) ? project.disabledServices[name] : undefined;
    if (!disabled) throw new ComposeError(`no such service: ${name}`);
    for (const p of disabled.profiles ?? []) if (!profiles.includes(p)) profiles.push(p);
  }
  return profiles.length === project.profiles.length ? project : withProfiles(project, profiles);
}

/** --profile values, else COMPOSE_PROFILES (comma-separated). */
export function activeProfiles(flags: string[], env: Record<string, string>): string[] {
  const list = flags.length ? flags : (env.COMPOSE_PROFILES ?? '').split(',');
  return list.map((p) => p.trim()).filter((p) => p !== '');
}
