// The checks of a compose file that its schema cannot express, on a document the schema accepted:
// sizes ("512m"), port specifications and their ranges, host IP addresses, and keys that exclude each
// other (a config's file|environment|content, external with anything but a name, a device request's
// count and device_ids). The messages start with the key path, as compose-go's validation package
// words them (`volumes.data: conflicting parameters "external" and "driver" specified`).
import net from 'node:net';
import { parsePort } from '../loader/ports.js';
import { toBytes } from '../loader/units.js';

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);
const entries = (v: unknown): [string, unknown][] => (isDict(v) ? Object.entries(v) : []);
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The first problem found, as "key.path: what is wrong", or undefined. */
export function checkValues(doc: Dict): string | undefined {
  try {
    for (const [name, svc] of entries(doc.services)) if (isDict(svc)) checkService(`services.${name}`, svc);
    for (const [name, vol] of entries(doc.volumes)) if (isDict(vol)) checkExternal(`volumes.${name}`, vol);
    for (const [name, cfg] of entries(doc.configs)) if (isDict(cfg)) checkFileObject(`configs.${name}`, cfg, ['file', 'environment', 'content']);
    for (const [name, sec] of entries(doc.secrets)) if (isDict(sec)) checkFileObject(`secrets.${name}`, sec, ['file', 'environment']);
  } catch (err) {
    if (err instanceof ValueError) return err.message;
    throw err;
  }
  return undefined;
}

class ValueError extends Error {}

function fail(path: string, message: string): never {
  throw new ValueError(`${path}: ${message}`);
}

const SERVICE_SIZES = ['shm_size', 'mem_limit', 'memswap_limit', 'mem_reservation'];

/** A value left with `${VAR}` in it (config --no-interpolate) is checked once interpolated, not now. */
const uninterpolated = (v: unknown): boolean => typeof v === 'string' && v.includes('$');

function checkService(path: string, svc: Dict): void {
  for (const key of SERVICE_SIZES) checkSize(`${path}.${key}`, svc[key]);
  if (isDict(svc.build)) checkSize(`${path}.build.shm_size`, svc.build.shm_size);
  const resources = isDict(svc.deploy) ? svc.deploy.resources : undefined;
  for (const [kind, res] of entries(resources)) {
    if (!isDict(res)) continue;
    checkSize(`${path}.deploy.resources.${kind}.memory`, res.memory);
    items(res.devices).forEach((d, i) => checkDeviceRequest(`${path}.deploy.resources.${kind}.devices[${i}]`, d));
  }
  items(svc.gpus).forEach((d, i) => checkDeviceRequest(`${path}.gpus[${i}]`, d));
  items(svc.ports).forEach((p, i) => checkPort(`${path}.ports[${i}]`, p));
  items(svc.volumes).forEach((v, i) => {
    if (isDict(v) && isDict(v.tmpfs)) checkSize(`${path}.volumes[${i}].tmpfs.size`, v.tmpfs.size);
  });
  const watch = isDict(svc.develop) ? items(svc.develop.watch) : [];
  watch.forEach((w, i) => {
    if (isDict(w) && w.path === '') fail(`${path}.develop.watch[${i}].path`, "value can't be blank");
  });
}

/** A byte size: a number, or a string such as "512m", "1.5g", "1024". */
function checkSize(path: string, value: unknown): void {
  if (typeof value !== 'string' || uninterpolated(value)) return;
  try {
    toBytes(value);
  } catch (err) {
    fail(path, (err as Error).message);
  }
}

/** A port: host_ip of the long syntax must be an address; the short syntax is [ip:][host:]container[/proto]. */
function checkPort(path: string, port: unknown): void {
  if (uninterpolated(port)) return;
  if (isDict(port)) {
    if (Object.values(port).some(uninterpolated)) return;
    if (typeof port.host_ip === 'string' && !net.isIP(port.host_ip)) fail(`${path}.host_ip`, `invalid ip address: ${port.host_ip}`);
    // target, published ("8080" or a range), then both as the short syntax would write them
    const published = port.published === undefined || port.published === '' ? undefined : String(port.published);
    if (port.target !== undefined) checkPortSpec(`${path}.target`, String(port.target));
    if (published !== undefined) checkPortSpec(`${path}.published`, `${published}:0`);
    if (published !== undefined && port.target !== undefined) checkPortSpec(path, `${published}:${String(port.target)}`);
    return;
  }
  if (typeof port === 'number' || typeof port === 'string') checkPortSpec(path, String(port));
}

/** The short syntax, read by the loader's parser (Docker's nat.ParsePortSpecs); its message gets the key path. */
function checkPortSpec(path: string, spec: string): void {
  try {
    parsePort(spec);
  } catch (err) {
    fail(path, (err as Error).message);
  }
}

function checkDeviceRequest(path: string, req: unknown): void {
  if (isDict(req) && 'count' in req && 'device_ids' in req) fail(path, '"count" and "device_ids" attributes are exclusive');
}

function checkExternal(path: string, obj: Dict): void {
  if (obj.external !== true) return;
  for (const key of Object.keys(obj)) {
    if (key === 'name' || key === 'external' || key.startsWith('x-')) continue;
    fail(path, `conflicting parameters "external" and ${JSON.stringify(key)} specified`);
  }
}

function checkFileObject(path: string, obj: Dict, sources: string[]): void {
  const set = sources.filter((k) => k in obj).length;
  if (set > 1) fail(path, `${sources.join('|')} attributes are mutually exclusive`);
  if (set === 0 && !('driver' in obj) && !('external' in obj)) fail(path, `one of ${sources.join('|')} must be set`);
}
