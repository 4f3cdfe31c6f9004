// `include`: other compose files loaded as projects of their own (their own directory for relative
// paths, their own .env or env_file for interpolation) whose services, networks, volumes, secrets and
// configs are added to the including file; a resource the including file also defines is merged, the
// including file's definition on top. An include cycle is refused with its chain.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ComposeError } from '../types.js';
import { defaultEnvFiles, mergeMissing, readEnvFiles } from './environment.js';
import { applyResets, mergeYaml } from './merge.js';
import { loadModel, type LoadContext } from './model.js';
import { goString, isDict, type Dict } from './tree.js';

interface IncludeConfig {
  path: string[];
  projectDirectory?: string;
  envFile: string[];
}

export async function applyInclude(ctx: LoadContext, doc: Dict, included: string[], resets: string[][]): Promise<void> {
  if (doc.include === undefined || doc.include === null) {
    delete doc.include;
    return;
  }
  for (const config of includeConfigs(doc.include)) {
    const paths = config.path.map((p) => path.resolve(ctx.loaderDir, p));
    const main = paths[0];
    if (main === undefined) throw new ComposeError('include: path is required');
    let projectDir: string;
    if (config.projectDirectory === undefined || config.projectDirectory === '') projectDir = path.dirname(main);
    else projectDir = path.resolve(ctx.workingDir, config.projectDirectory);
    if (included.includes(main)) {
      const chain = [...included, main];
      throw new ComposeError(`include cycle detected:\n${chain[0]}\n include ${chain.slice(1).join('\n include ')}`);
    }
    const envFiles = config.envFile.length ? await explicitEnvFiles(config.envFile, ctx.workingDir) : await defaultEnvFiles(projectDir, {});
    const env = mergeMissing({ ...ctx.env }, await readEnvFiles(envFiles, ctx.env, ctx.workingDir));
    const imported = await loadModel(
      { ...ctx, env, workingDir: projectDir, loaderDir: projectDir },
      paths,
      { resolvePaths: true },
      included,
    );
    importResources(imported, doc, resets);
  }
  delete doc.include;
}

function includeConfigs(value: unknown): IncludeConfig[] {
  if (!Array.isArray(value)) throw new ComposeError(`\`include\` must be a list, got ${goString(value)}`);
  return value.map((entry): IncludeConfig => {
    if (typeof entry === 'string') return { path: [entry], envFile: [] };
    if (!isDict(entry)) throw new ComposeError(`include entries must be a string or a mapping, got ${goString(entry)}`);
    const list = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
    return {
      path: list(entry.path),
      projectDirectory: entry.project_directory === undefined ? undefined : String(entry.project_directory),
      envFile: list(entry.env_file),
    };
  });
}

async function explicitEnvFiles(files: string[], workingDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    if (f === '/dev/null') continue;
    const file = path.resolve(workingDir, f);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st) throw new ComposeError(`stat ${file}: no such file or directory`);
    if (st.isDirectory()) throw new ComposeError(`${file} is not a file`);
    out.push(file);
  }
  return out;
}

function importResources(source: Dict, target: Dict, resets: string[][]): void {
  for (const key of ['services', 'volumes', 'networks', 'secrets', 'configs', 'models']) {
    const from = source[key];
    if (!isDict(from)) continue;
    const to = isDict(target[key]) ? target[key] : {};
    for (const [name, def] of Object.entries(from)) {
      if (!Object.hasOwn(to, name)) {
        to[name] = def;
        continue;
      }
      applyResets({ [key]: { [name]: def } }, resets);
      to[name] = mergeYaml(def, to[name], [key, name]);
    }
    target[key] = to;
  }
}
