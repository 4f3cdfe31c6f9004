// The checks dockerd makes on a container's create body before anything is created
// (daemon/container.go verifyContainerSettings, runconfig, go-connections/nat), with its words.
// Types were checked when the body was decoded (api/schemas.ts); these are the values' rules.
// HostConfig's resource rules live with the runtime (engine/runtime/validate.ts) as update needs them too.
import type { ContainerCreateRequest, HealthConfig, HostConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { parseSignal } from '../../lib/signals.js';
import { isImageIdLike, parseNormalizedNamed } from '../../image-spec/reference.js';

/** nat.ParsePortRangeToInt: "", "80" or "8000-8010", each 0-65535. */
function validPortRange(s: string): boolean {
  if (s === '') return true;
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return false;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start <= 65535 && end <= 65535 && end >= start;
}

/** nat.SplitProtoPort's port part: "80/tcp" → "80". */
function portOf(spec: string): string {
  const slash = spec.indexOf('/');
  return slash < 0 ? spec : spec.slice(0, slash);
}

function validatePorts(req: ContainerCreateRequest, hc: HostConfig): void {
  const check = (spec: string, port: string) => {
    if (!validPortRange(port)) throw new InvalidParameter(`invalid port specification: ${JSON.stringify(spec)}`);
  };
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    // A container port is one port; a host port may be a range to pick from.
    const port = portOf(key);
    if (!/^\d*$/.test(port) || !validPortRange(port)) throw new InvalidParameter(`invalid port specification: ${JSON.stringify(port)}`);
    for (const b of bindings ?? []) check(b.HostPort ?? '', portOf(b.HostPort ?? ''));
  }
  for (const key of Object.keys(req.ExposedPorts ?? {})) {
    const port = portOf(key);
    if (!validPortRange(port)) throw new InvalidParameter(`invalid port specification: ${JSON.stringify(port)}`);
  }
}

const MIN_DURATION_NS = 1_000_000;

function validateHealthcheck(h: HealthConfig | undefined): void {
  if (!h) return;
  for (const field of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[field] ?? 0;
    if (v !== 0 && v < MIN_DURATION_NS) throw new InvalidParameter(`${field} in Healthcheck cannot be less than 1ms`);
  }
  if ((h.Retries ?? 0) < 0) throw new InvalidParameter('Retries in Healthcheck cannot be negative');
}

/** The image a create names: an ID (or its prefix), or a reference that must parse (uppercase is a 400, not a 404). */
function validateImageName(image: string | undefined): void {
  if (!image || isImageIdLike(image)) return;
  parseNormalizedNamed(image);
}

export function validateContainerCreate(req: ContainerCreateRequest): void {
  validateImageName(req.Image);
  for (const env of req.Env ?? []) {
    if (env.split('=', 1)[0] === '') throw new InvalidParameter(`invalid environment variable: ${env}`);
  }
  if (req.WorkingDir && !req.WorkingDir.startsWith('/')) {
    throw new InvalidParameter(`the working directory '${req.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  if (req.StopSignal) parseSignal(req.StopSignal);
  validateHealthcheck(req.Healthcheck);
  validatePorts(req, req.HostConfig ?? {});
}
