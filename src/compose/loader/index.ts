// Loading a project as Docker Compose v2 does: find the files and the project directory (discover),
// the variables (environment: the shell, then .env / --env-file), the project name (name), each file
// read, interpolated, included, extended and merged (model), normalised (normalize), typed into the
// Project model (project), profiles applied (profiles), env_file read into each enabled service's
// environment, then checked (validate/project). Nothing heavy happens at import time.
import os from 'node:os';
import path from 'node:path';
import { ComposeError, type Project } from '../types.js';
import { setCanonicalWarn } from './canonical.js';
import { absoluteFiles, filesFromEnv, findDefaultFiles, workingDirFor } from './discover.js';
import { defaultEnvFiles, envLookup, fromProcessEnv, mergeMissing, readEnvFiles, readServiceEnvFile, type Environment } from './environment.js';
import type { LoadContext } from './model.js';
import { projectName } from './name.js';
import { normalize } from './normalize.js';
import { activeProfiles, withProfiles, withServicesEnabled } from './profiles.js';
import { toProject } from './project.js';
import type { YamlDocument } from './yaml.js';

export { withServicesEnabled, withProfiles } from './profiles.js';
export { explicitProjectName, normalizeProjectName } from './name.js';

export interface LoadOptions {
  /** -f files in order ("-" = standard input); empty = COMPOSE_FILE or the default names. */
  files: string[];
  /** -p */
  projectName?: string;
  /** --project-directory */
  projectDirectory?: string;
  /** --env-file (empty = <project dir>/.env when it exists) */
  envFiles: string[];
  /** --profile (empty = COMPOSE_PROFILES) */
  profiles: string[];
  /** The shell's environment (also where COMPOSE_* variables are read). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** false: --no-interpolate */
  interpolate?: boolean;
  /** false: relative paths kept as written (`config --no-path-resolution`). */
  resolvePaths?: boolean;
  /** false: the implicit default network, build defaults and resource names are not added (`config --no-normalize`). */
  normalize?: boolean;
  /** false: the project is not checked for consistency (`config --no-consistency`). */
  consistency?: boolean;
  /** false: env_file entries are not read into the services' environment (`config --no-env-resolution`). */
  resolveEnvironment?: boolean;
  /** Reads standard input for "-f -". */
  readStdin?: () => Promise<string>;
  /** Deprecation notes and other warnings ("the attribute `version` is obsolete"). */
  warn?: (message: string) => void;
  /**
   * Services named on the command line: enabled even when their profiles are not active (as Compose
   * enables them); a name that is no service fails with "no such service: NAME".
   */
  services?: string[];
}

/** The project's files, directory and variables, before any file is parsed. */
export interface ProjectSources {
  files: string[];
  workingDir: string;
  env: Environment;
}

export async function resolveSources(opts: LoadOptions): Promise<ProjectSources> {
  const warn = opts.warn ?? (() => {});
  const env = fromProcessEnv(opts.env);
  let files = absoluteFiles(opts.files, opts.cwd);
  let workingDir = workingDirFor(files, opts.cwd, opts.projectDirectory);
  const explicitEnvFiles = opts.envFiles.map((f) => path.resolve(opts.cwd, f));
  mergeMissing(env, await readEnvFiles(explicitEnvFiles.length ? explicitEnvFiles : await defaultEnvFiles(workingDir, env), env, opts.cwd));
  if (!files.length) files = await filesFromEnv(env, opts.cwd);
  if (!files.length) files = await findDefaultFiles(workingDir, warn);
  if (!files.length) throw new ComposeError('no configuration file provided: not found');
  const dir = workingDirFor(files, opts.cwd, opts.projectDirectory);
  if (dir !== workingDir) {
    // The files were found elsewhere (COMPOSE_FILE, a parent directory): that directory's .env too.
    workingDir = dir;
    if (!explicitEnvFiles.length) mergeMissing(env, await readEnvFiles(await defaultEnvFiles(workingDir, env), env, opts.cwd));
  }
  return { files, workingDir, env };
}

export async function loadProject(opts: LoadOptions): Promise<Project> {
  const warn = opts.warn ?? (() => {});
  const interpolateOn = opts.interpolate !== false;
  const { files, workingDir, env } = await resolveSources(opts);
  // The YAML parser and the validators are imported on first use: commands that only need a project
  // name (-p) do not pay for them.
  const [{ loadModel, readFile }, { parseYaml }, { checkProject }] = await Promise.all([import('./model.js'), import('./yaml.js'), import('../validate/project.js')]);

  const parsed = new Map<string, YamlDocument[]>();
  let stdin: string | undefined;
  for (const file of files) {
    if (parsed.has(file)) continue;
    let text: string;
    if (file === '-') {
      if (!opts.readStdin) throw new ComposeError('cannot read a compose file from standard input here');
      text = stdin ??= await opts.readStdin();
    } else text = readFile(file);
    parsed.set(file, parseYaml(text, file));
  }

  const name = projectName({
    flag: opts.projectName,
    env,
    docs: files.flatMap((f) => parsed.get(f) ?? []),
    workingDir,
    interpolate: interpolateOn,
    lookup: envLookup(env),
  });
  // ${COMPOSE_PROJECT_NAME} in the files is the project's name, whatever set it.
  env.COMPOSE_PROJECT_NAME = name;

  setCanonicalWarn(warn);
  const ctx: LoadContext = {
    env,
    workingDir,
    loaderDir: workingDir,
    interpolate: interpolateOn,
    home: env.HOME || os.homedir(),
    warn,
    parsed,
    versionWarned: new Set(),
  };
  const dict = await loadModel(ctx, files, { resolvePaths: opts.resolvePaths !== false }, []);
  if (Object.keys(dict).length === 0) throw new ComposeError('empty compose file');
  dict.name = name;
  if (opts.normalize !== false) normalize(dict, env);

  let project = toProject(dict, { name, workingDir, composeFiles: files, environment: env });
  project = withProfiles(project, activeProfiles(opts.profiles, env));
  if (opts.services?.length) project = withServicesEnabled(project, opts.services);
  if (opts.consistency !== false) checkProject(project);
  if (opts.resolveEnvironment !== false) await resolveServicesEnvironment(project);
  return project;
}

/**
 * A service's env_file entries read into its environment (in order, later files winning), the
 * service's own `environment` on top; variables in the files resolve from the project's variables,
 * then the service's environment. Only enabled services: a disabled one's files need not exist.
 */
async function resolveServicesEnvironment(project: Project): Promise<void> {
  const projectEnv = envLookup(project.environment);
  for (const svc of Object.values(project.services)) {
    const own = svc.environment ?? {};
    const environment: Environment = {};
    for (const [k, v] of Object.entries(own)) if (v !== null) environment[k] = v;
    for (const file of svc.env_file ?? []) {
      await readServiceEnvFile(file, environment, (k) => projectEnv(k) ?? (Object.hasOwn(own, k) ? (own[k] ?? undefined) : undefined));
    }
    svc.environment = { ...environment, ...own };
  }
}
