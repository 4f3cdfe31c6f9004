// The variables a project is interpolated with: the shell's environment, then the project's env files
// (--env-file, else <project dir>/.env). A variable set in the shell is never overridden by a file; a
// later env file overrides an earlier one. Values in the files may use the variables above them.
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { ComposeError } from '../types.js';
import { DotenvError, parseDotenv } from './dotenv.js';

export type Environment = Record<string, string>;

/** A variable's value, own keys only (an environment is a plain object). */
export function envLookup(env: Environment): (name: string) => string | undefined {
  return (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
}

/** The shell's environment without its unset entries. */
export function fromProcessEnv(env: NodeJS.ProcessEnv): Environment {
  const out: Environment = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Reads env files in order into one mapping; `current` (the shell) resolves variables first. */
export async function readEnvFiles(files: string[], current: Environment, cwd: string): Promise<Environment> {
  const out: Environment = {};
  for (const f of files) {
    const file = path.resolve(cwd, f);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st) throw new ComposeError(`couldn't find env file: ${file}`);
    if (st.isDirectory()) throw new ComposeError(`${file} is a directory`);
    const text = await fs.readFile(file, 'utf8');
    try {
      parseDotenv(text, out, (k) => envLookup(current)(k) ?? envLookup(out)(k));
    } catch (err) {
      if (err instanceof DotenvError) throw new ComposeError(`failed to read ${file}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** Adds the entries of `extra` that `env` does not already set (compose-go's Mapping.Merge). */
export function mergeMissing(env: Environment, extra: Environment): Environment {
  for (const [k, v] of Object.entries(extra)) if (!Object.hasOwn(env, k)) env[k] = v;
  return env;
}

/** `<dir>/.env` when it exists and is a file, unless COMPOSE_DISABLE_ENV_FILE says not to. */
export async function defaultEnvFiles(dir: string, env: Environment): Promise<string[]> {
  const disable = env.COMPOSE_DISABLE_ENV_FILE;
  if (disable !== undefined && parseBool(disable, 'COMPOSE_DISABLE_ENV_FILE')) return [];
  const file = path.join(dir, '.env');
  const st = statSync(file, { throwIfNoEntry: false });
  return st && !st.isDirectory() ? [file] : [];
}

/** Go's strconv.ParseBool. */
export function parseBool(v: string, what: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new ComposeError(`invalid value ${JSON.stringify(v)} for ${what}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** A service's env_file entries read in order, as compose-go resolves them into its environment. */
export async function readServiceEnvFile(
  file: { path: string; required: boolean; format?: string },
  into: Environment,
  lookup: (k: string) => string | undefined,
): Promise<void> {
  const text = await fs.readFile(file.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new ComposeError(`failed to read ${file.path}: ${err.message}`);
  });
  if (text === undefined) {
    if (file.required) throw new ComposeError(`env file ${file.path} not found: stat ${file.path}: no such file or directory`);
    return;
  }
  if (file.format && file.format !== '.env') throw new ComposeError(`unsupported env_file format ${JSON.stringify(file.format)}`);
  try {
    parseDotenv(text, into, lookup);
  } catch (err) {
    if (err instanceof DotenvError) throw new ComposeError(`failed to read ${file.path}: ${err.message}`);
    throw err;
  }
}
