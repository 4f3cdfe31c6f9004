// Which compose files a command reads and where the project lives, as Docker Compose v2 decides:
// -f files in order ("-" = standard input), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR, ":" by
// default), else compose.yaml / compose.yml / docker-compose.yml / docker-compose.yaml searched in the
// working directory and then its parents, with an override file (compose.override.yml ...) beside it.
import { statSync } from 'node:fs';
import path from 'node:path';
import { ComposeError } from '../types.js';
import type { Environment } from './environment.js';

export const DEFAULT_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const DEFAULT_OVERRIDE_FILE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

/** The project directory: --project-directory, else the first (non stdin) file's directory, else cwd. */
export function workingDirFor(files: string[], cwd: string, projectDirectory?: string): string {
  if (projectDirectory) return path.resolve(cwd, projectDirectory);
  const first = files.find((f) => f !== '-');
  return first ? path.dirname(path.resolve(cwd, first)) : cwd;
}

/** -f files made absolute (stdin stays "-"). */
export function absoluteFiles(files: string[], cwd: string): string[] {
  return files.map((f) => (f === '-' ? f : path.resolve(cwd, f)));
}

/** COMPOSE_FILE's files (absolute; each must exist), or [] when it is not set. */
export async function filesFromEnv(env: Environment, cwd: string): Promise<string[]> {
  const value = env.COMPOSE_FILE;
  if (value === undefined) return [];
  const sep = env.COMPOSE_PATH_SEPARATOR || path.delimiter;
  const files = absoluteFiles(value.split(sep), cwd);
  for (const f of files) {
    if (f !== '-' && !exists(f)) throw new ComposeError(`stat ${f}: no such file or directory`);
  }
  return files;
}

/** The default files found from `dir` upwards (the file and its override), or [] when none. */
export async function findDefaultFiles(dir: string, warn: (m: string) => void): Promise<string[]> {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidates = existing(DEFAULT_FILE_NAMES, d);
    if (candidates.length) {
      if (candidates.length > 1) {
        warn(`Found multiple config files with supported names: ${candidates.join(', ')}`);
        warn(`Using ${candidates[0]}`);
      }
      const overrides = existing(DEFAULT_OVERRIDE_FILE_NAMES, d);
      if (overrides.length > 1) {
        warn(`Found multiple override files with supported names: ${overrides.join(', ')}`);
        warn(`Using ${overrides[0]}`);
      }
      return overrides.length ? [candidates[0]!, overrides[0]!] : [candidates[0]!];
    }
    if (path.dirname(d) === d) return [];
  }
}

// Synchronous stats: a handful per command, cheaper than a trip through the thread pool each.
function existing(names: string[], dir: string): string[] {
  return names.map((n) => path.join(dir, n)).filter(exists);
}

function exists(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false }) !== undefined;
}
