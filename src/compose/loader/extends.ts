// `extends`: a service starts from another service's definition, in the same file or another one
// (`file:`), and overrides it with the merge rules. The base is taken as its file defines it after its
// own `extends` (nested), with its relative paths resolved against its own file's directory; a cycle
// is refused with the chain, as compose-go does.
import path from 'node:path';
import { ComposeError } from '../types.js';
import { applyResets, mergeYaml } from './merge.js';
import { loadFile, type LoadContext } from './model.js';
import { resolveRelativePaths } from './paths.js';
import { deepClone, isDict, type Dict } from './tree.js';

/** The chain of (file, service) being extended, to detect cycles. */
export class ExtendsTracker {
  constructor(private readonly chain: readonly { file: string; service: string }[] = []) {}

  add(file: string, service: string): ExtendsTracker {
    if (this.chain.some((r) => r.file === file && r.service === service)) {
      const [first, ...rest] = [...this.chain, { file, service }];
      const lines = ['Circular reference:', `  ${first!.service} in ${first!.file}`, ...rest.map((r) => `  extends ${r.service} in ${r.file}`)];
      throw new ComposeError(lines.join('\n'));
    }
    return new ExtendsTracker([...this.chain, { file, service }]);
  }
}

export async function applyExtends(ctx: LoadContext, doc: Dict, file: string, tracker: ExtendsTracker, resets: string[][]): Promise<void> {
  if (!('services' in doc)) return;
  const services = doc.services;
  if (services === null) return;
  if (!isDict(services)) throw new ComposeError('services must be a mapping');
  for (const name of Object.keys(services)) services[name] = await extendService(ctx, name, services, file, tracker, resets);
}

async function extendService(ctx: LoadContext, name: string, services: Dict, file: string, tracker: ExtendsTracker, resets: string[][]): Promise<unknown> {
  const service = services[name];
  if (service === null || service === undefined) return null;
  if (!isDict(service)) throw new ComposeError(`services.${name} must be a mapping`);
  const ext = service.extends;
  if (ext === undefined) return service;
  let ref: string;
  let refFile: unknown;
  if (isDict(ext)) {
    if (typeof ext.service !== 'string') throw new ComposeError(`extends.${name}.service is required`);
    ref = ext.service;
    refFile = ext.file;
  } else if (typeof ext === 'string') ref = ext;
  else throw new ComposeError(`services.${name}.extends must be a string or a mapping`);

  let baseServices = services;
  let baseResets = resets;
  let baseFile = file;
  let baseCtx = ctx;
  if (refFile !== undefined && refFile !== null) {
    const local = path.resolve(ctx.loaderDir, String(refFile));
    const loaded = await baseFromFile(ctx, name, ref, file, String(refFile), local, tracker);
    baseServices = loaded.services;
    baseResets = loaded.resets;
    baseFile = local;
    baseCtx = { ...ctx, loaderDir: path.dirname(local) };
  } else if (!Object.hasOwn(services, ref)) {
    throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${file}: service ${JSON.stringify(ref)} not found`);
  }
  const next = tracker.add(baseFile, name);
  const base = await extendService(baseCtx, ref, baseServices, baseFile, next, baseResets);
  if (base === null) return service;
  const source = deepClone(base) as Dict;
  applyResets({ services: { [name]: source } }, resets);
  const merged = mergeYaml(source, service, ['services', 'x']) as Dict;
  delete merged.extends;
  services[name] = merged;
  return merged;
}

async function baseFromFile(
  ctx: LoadContext,
  name: string,
  ref: string,
  file: string,
  refPath: string,
  local: string,
  tracker: ExtendsTracker,
): Promise<{ services: Dict; resets: string[][] }> {
  const dir = path.dirname(local);
  const { dict, resets } = await loadFile(
    { ...ctx, loaderDir: dir },
    local,
    { skipInclude: true, skipExtends: true, skipValidation: true, skipDefaults: true, resolvePaths: false },
    {},
    [],
    tracker,
  );
  const services = dict.services;
  if (services === undefined) throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${local}: no services section`);
  if (!isDict(services)) throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${local}: services must be a mapping`);
  if (!Object.hasOwn(services, ref)) {
    throw new ComposeError(`cannot extend service ${JSON.stringify(name)} in ${file}: service ${JSON.stringify(ref)} not found in ${refPath}`);
  }
  resolveRelativePaths(dict, dir, ctx.home);
  return { services, resets };
}
