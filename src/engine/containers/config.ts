// Merging the image's config into a container's create request, with dockerd's precedence rules
// (daemon/create.go + runconfig merge): the request wins, the image fills the gaps.
import type { ContainerConfig, ContainerCreateRequest, HealthConfig, ImageRuntimeConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';

function mergeEnv(image: string[] = [], container: string[] = []): string[] {
  const out = new Map<string, string>();
  for (const e of [...image, ...container]) {
    const key = e.split('=', 1)[0]!;
    out.delete(key); // keep Docker's order: later definitions move to the end
    out.set(key, e);
  }
  return [...out.values()];
}

function mergeVolumes(image: Record<string, object> | null | undefined, req: Record<string, object> | null | undefined): Record<string, object> | null {
  const out = { ...(req ?? {}), ...(image ?? {}) };
  return Object.keys(out).length ? out : null;
}

const HEALTH_FIELDS = ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;

/**
 * moby's merge of a health check (daemon/commit.go merge, for create and commit): what the user gave
 * overrides the image's, the test and every field left zero come from the image; `--no-healthcheck`'s
 * ["NONE"] is a test like any other. Zero fields are left out, as dockerd's JSON omits them.
 */
export function mergeHealthcheck(user: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!user) return image ?? undefined;
  const out: HealthConfig = {};
  const test = user.Test?.length ? user.Test : image?.Test;
  if (test?.length) out.Test = test;
  for (const k of HEALTH_FIELDS) {
    const v = user[k] || image?.[k];
    if (v) out[k] = v;
  }
  return out;
}

export function mergeConfig(req: ContainerCreateRequest, image: ImageRuntimeConfig, shortId: string): ContainerConfig {
  const cfg: ContainerConfig = {
    Hostname: req.Hostname || shortId,
    Domainname: req.Domainname ?? '',
    User: req.User || image.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) },
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: mergeEnv(image.Env, req.Env ?? []),
    Cmd: req.Cmd ?? null,
    Image: req.Image ?? '',
    // dockerd merges the image's VOLUMEs into the request's (-v /path); none at all is null.
    Volumes: mergeVolumes(image.Volumes, req.Volumes),
    WorkingDir: req.WorkingDir || image.WorkingDir || '',
    Entrypoint: req.Entrypoint ?? null,
    OnBuild: image.OnBuild ?? null,
    Labels: { ...(image.Labels ?? {}), ...(req.Labels ?? {}) },
  };
  // [""] is how `--entrypoint ""` reaches dockerd: no entrypoint at all (not the image's).
  if (req.Entrypoint?.length === 1 && req.Entrypoint[0] === '') cfg.Entrypoint = [];
  // An entrypoint given on create discards the image's Cmd (docker run --entrypoint).
  if (!cfg.Entrypoint || cfg.Entrypoint.length === 0) {
    if (req.Entrypoint === null || req.Entrypoint === undefined) cfg.Entrypoint = image.Entrypoint ?? null;
    if (!cfg.Cmd || cfg.Cmd.length === 0) cfg.Cmd = image.Cmd ?? null;
  }
  if (Object.keys(cfg.ExposedPorts!).length === 0) delete cfg.ExposedPorts;
  const stopSignal = req.StopSignal || image.StopSignal;
  if (stopSignal) cfg.StopSignal = stopSignal;
  if (req.StopTimeout !== undefined && req.StopTimeout !== null) cfg.StopTimeout = req.StopTimeout;
  const health = mergeHealthcheck(req.Healthcheck, image.Healthcheck);
  if (health) cfg.Healthcheck = health;
  if (image.Shell) cfg.Shell = image.Shell;
  if (!commandLine(cfg).length) throw new InvalidParameter('No command specified');
  return cfg;
}

/** Entrypoint + Cmd: what the container runs. */
export function commandLine(cfg: ContainerConfig): string[] {
  return [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
}
