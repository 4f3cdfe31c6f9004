// The project name, chosen as Docker Compose v2 does: -p, else COMPOSE_PROJECT_NAME (from the shell or
// the project's .env), else the top-level `name:` of the files (the last one set, interpolated), else
// the project directory's name. A name from a file or the directory is normalised (lower case, only
// [a-z0-9_-], no leading "-" or "_"); one given with -p or COMPOSE_PROJECT_NAME must already be valid.
import path from 'node:path';
import { ComposeError } from '../types.js';
import { interpolate } from './interpolate.js';
import type { Lookup } from './template.js';
import { isDict } from './tree.js';
import type { YamlDocument } from './yaml.js';

export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

export function invalidProjectName(name: string): ComposeError {
  return new ComposeError(
    `invalid project name ${JSON.stringify(name)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
  );
}

/** -p or COMPOSE_PROJECT_NAME, checked; undefined when neither is set. */
export function explicitProjectName(flag: string | undefined, env: Record<string, string>): string | undefined {
  const name = flag || (Object.hasOwn(env, 'COMPOSE_PROJECT_NAME') ? env.COMPOSE_PROJECT_NAME : undefined) || undefined;
  if (name !== undefined && normalizeProjectName(name) !== name) throw invalidProjectName(name);
  return name;
}

export function projectName(opts: {
  flag?: string;
  env: Record<string, string>;
  docs: YamlDocument[];
  workingDir: string;
  interpolate: boolean;
  lookup: Lookup;
}): string {
  const explicit = explicitProjectName(opts.flag, opts.env);
  if (explicit) return explicit;
  let fromFiles = '';
  for (const doc of opts.docs) {
    if (isDict(doc.value) && typeof doc.value.name === 'string' && doc.value.name !== '') fromFiles = doc.value.name;
  }
  if (fromFiles && opts.interpolate) fromFiles = String(interpolate({ name: fromFiles }, opts.lookup).name);
  fromFiles = normalizeProjectName(fromFiles);
  const name = fromFiles || normalizeProjectName(path.basename(opts.workingDir));
  if (!name) throw new ComposeError('project name must not be empty');
  return name;
}
