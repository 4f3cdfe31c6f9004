// Loading compose files into one merged document (still plain YAML values, in canonical syntax), the
// way compose-go's loader does for each file in turn: interpolate, resolve `include`, drop what
// `!reset`/`!override` name, resolve `extends`, merge onto the files before, validate against the
// schema, rewrite short syntax; then, once all files are in, defaults, absolute paths and variables
// taken from the environment.
import { readFileSync } from 'node:fs';
import { ComposeError } from '../types.js';
import { validateSchema } from '../validate/schema.js';
import { canonical, omitEmpty, setDefaults } from './canonical.js';
import { envLookup, type Environment } from './environment.js';
import { applyExtends, ExtendsTracker } from './extends.js';
import { applyInclude } from './include.js';
import { interpolate } from './interpolate.js';
import { applyResets, enforceUnicity, mergeDocuments } from './merge.js';
import { resolveRelativePaths } from './paths.js';
import { isDict, type Dict } from './tree.js';
import { parseYaml, type YamlDocument } from './yaml.js';

export interface LoadContext {
  /** Variables for interpolation (the project's, or an included project's). */
  env: Environment;
  /** The project directory relative paths are resolved against. */
  workingDir: string;
  /** Where relative `include` and `extends.file` paths are read from. */
  loaderDir: string;
  /** false: --no-interpolate (short syntax that does not parse is then kept as written). */
  interpolate: boolean;
  home: string;
  warn: (message: string) => void;
  /** Files already parsed (the main files, read once for the project name too). */
  parsed: Map<string, YamlDocument[]>;
  /** Files whose obsolete `version` was reported. */
  versionWarned: Set<string>;
}

export interface FileOptions {
  skipInclude?: boolean;
  skipExtends?: boolean;
  skipValidation?: boolean;
  skipDefaults?: boolean;
  resolvePaths?: boolean;
}

/** All files merged in order: compose-go's loadYamlModel. */
export async function loadModel(ctx: LoadContext, files: string[], opts: FileOptions, included: string[]): Promise<Dict> {
  let dict: Dict = {};
  const tracker = new ExtendsTracker();
  for (const file of files) dict = (await loadFile(ctx, file, opts, dict, included, tracker)).dict;
  if (!opts.skipDefaults) setDefaults(dict);
  if (opts.resolvePaths) resolveRelativePaths(dict, ctx.workingDir, ctx.home);
  resolveEnvironment(dict, ctx.env);
  return dict;
}

/** One file (each of its YAML documents) merged onto `dict`; the resets of its last document. */
export async function loadFile(
  ctx: LoadContext,
  file: string,
  opts: FileOptions,
  dict: Dict,
  included: string[],
  tracker: ExtendsTracker,
): Promise<{ dict: Dict; resets: string[][] }> {
  const docs = ctx.parsed.get(file) ?? parseYaml(readFile(file), file);
  let resets: string[][] = [];
  for (const doc of docs) {
    resets = doc.resets;
    if (!isDict(doc.value)) throw new ComposeError('top-level object must be a mapping');
    let cfg = ctx.interpolate ? interpolate(doc.value, envLookup(ctx.env), { onUnset: (name) => warnUnset(ctx, name), warn: ctx.warn }) : structuredClone(doc.value);
    if (!opts.skipInclude) await applyInclude(ctx, cfg, [...included, file], resets);
    applyResets(dict, resets);
    if (!opts.skipExtends) await applyExtends(ctx, cfg, file, tracker, resets);
    cfg = mergeDocuments(dict, cfg);
    dict = enforceUnicity(cfg) as Dict;
    if (!opts.skipValidation) {
      validateSchema(dict, file);
      if ('version' in dict) {
        if (!ctx.versionWarned.has(file)) ctx.warn(`${file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
        ctx.versionWarned.add(file);
        delete dict.version;
      }
    }
    dict = canonical(dict, !ctx.interpolate);
    omitEmpty(dict);
    enforceUnicity(dict);
  }
  return { dict, resets };
}

const warnedUnset = new WeakMap<LoadContext['versionWarned'], Set<string>>();
function warnUnset(ctx: LoadContext, name: string): void {
  // Compose warns at each use; once per variable and load is enough to be read.
  let seen = warnedUnset.get(ctx.versionWarned);
  if (!seen) warnedUnset.set(ctx.versionWarned, (seen = new Set()));
  if (seen.has(name)) return;
  seen.add(name);
  ctx.warn(`The ${JSON.stringify(name)} variable is not set. Defaulting to a blank string.`);
}

/** A compose file's text (read synchronously: small files, read once per command). */
export function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ComposeError(`open ${file}: no such file or directory`);
    if (e.code === 'EISDIR') throw new ComposeError(`read ${file}: is a directory`);
    if (e.code === 'EACCES') throw new ComposeError(`open ${file}: permission denied`);
    throw err;
  }
}

/**
 * `environment: [NAME]` (no "=") takes NAME's value from the environment when it is set; secrets and
 * configs `environment:` get their content from it.
 */
function resolveEnvironment(dict: Dict, env: Environment): void {
  if (isDict(dict.services)) {
    for (const svc of Object.values(dict.services)) {
      if (!isDict(svc) || !Array.isArray(svc.environment)) continue;
      svc.environment = svc.environment.map((e) => (typeof e === 'string' && !e.includes('=') && Object.hasOwn(env, e) ? `${e}=${env[e]}` : e));
    }
  }
  for (const key of ['secrets', 'configs']) {
    const objects = dict[key];
    if (!isDict(objects)) continue;
    for (const obj of Object.values(objects)) {
      if (isDict(obj) && typeof obj.environment === 'string' && Object.hasOwn(env, obj.environment)) obj.content = env[obj.environment];
    }
  }
}
