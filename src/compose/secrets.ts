// A service's `secrets` and `configs`: files at /run/secrets/<name> (secrets) and /<name> (configs), or
// their `target`, from the top-level `file`, `environment` or `content`. External ones live in a Swarm,
// which Compose does not use: refused as Compose refuses them.
//
// Two ways in, chosen per file so that what the file says is what the container sees:
// - a `file` with no uid, gid or mode is bind-mounted read-only, as Compose v2 does: the container sees
//   the host file (and its later edits), and nothing can write it;
// - everything else is copied into the created container through the archive API before it starts,
//   as Compose v2 does for `environment` and `content`: a tar entry carries the owner and mode, so
//   uid/gid/mode are honoured (default 0444, root). Compose ignores uid/gid/mode on bind-mounted files
//   with a warning; berth copies those files instead, because a bind mount shows the host file's own
//   owner and mode and changing them would change the user's file.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
// tar-stream is imported where a tar is made: loading it costs every compose command start-up time.
import type { Mount } from '../api/types.js';
import type { ComposeBackend } from './backend.js';
import { invalid, unsupported } from './convert/common.js';
import { ComposeError, type FileObjectConfig, type Project, type ServiceConfig, type ServiceFileReference } from './types.js';

type Kind = 'secret' | 'config';

interface FileRef {
  kind: Kind;
  source: string;
  def: FileObjectConfig;
  /** Absolute path in the container. */
  target: string;
  uid?: number;
  gid?: number;
  mode?: number;
  /** Copied through the archive API (else bind-mounted). */
  copied: boolean;
}

const BASE: Record<Kind, string> = { secret: '/run/secrets/', config: '/' };

function fileRefs(project: Project, serviceName: string, service: ServiceConfig): FileRef[] {
  const refs = (kind: Kind, list: ServiceFileReference[] | undefined) =>
    (list ?? []).map((r) => fileRef(project, serviceName, kind, r));
  return [...refs('secret', service.secrets), ...refs('config', service.configs)];
}

function fileRef(project: Project, serviceName: string, kind: Kind, r: ServiceFileReference): FileRef {
  const def = (kind === 'secret' ? project.secrets : project.configs)[r.source];
  if (!def) throw new ComposeError(`service "${serviceName}" refers to undefined ${kind} ${r.source}`);
  if (def.external) throw unsupported(serviceName, `external ${kind} "${r.source}"`, 'it needs Swarm');
  const target = r.target?.startsWith('/') ? r.target : BASE[kind] + (r.target || r.source);
  const id = (v: string | undefined, which: string) => {
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw invalid(serviceName, `${kind}s.${r.source}.${which}`, `${JSON.stringify(v)} must be a numeric ID`);
    return Number(v);
  };
  const uid = id(r.uid, 'uid');
  const gid = id(r.gid, 'gid');
  const copied = def.file === undefined || uid !== undefined || gid !== undefined || r.mode !== undefined;
  return { kind, source: r.source, def, target, uid, gid, mode: r.mode, copied };
}

/** The file's content source, checked now so that a missing one fails before anything is created. */
function checkSource(project: Project, serviceName: string, f: FileRef): void {
  if (f.def.file !== undefined) {
    const file = path.resolve(project.workingDir, f.def.file);
    if (!existsSync(file)) throw new ComposeError(`service "${serviceName}": ${f.kind} "${f.source}": file ${file} does not exist`);
  } else if (f.def.environment !== undefined) {
    if (project.environment[f.def.environment] === undefined) {
      throw new ComposeError(`environment variable "${f.def.environment}" required by file "${f.def.name}" is not set`);
    }
  } else if (f.def.content === undefined) {
    throw new ComposeError(`${f.kind} "${f.source}" has neither file, environment nor content`);
  }
}

/**
 * The read-only bind mounts of the service's file secrets and configs (for the create request), after
 * checking every secret and config of the service: missing files or variables, external ones, and
 * copies a read-only root filesystem would refuse.
 */
export function secretMounts(project: Project, serviceName: string, service: ServiceConfig): Mount[] {
  const refs = fileRefs(project, serviceName, service);
  for (const f of refs) {
    checkSource(project, serviceName, f);
    if (f.copied && service.read_only) {
      throw unsupported(serviceName, `${f.kind} "${f.source}" with read_only`, 'it is copied into the container (environment, content, uid, gid or mode) and the root filesystem is read-only; use a file without uid, gid and mode');
    }
  }
  return refs
    .filter((f) => !f.copied)
    .map((f) => ({ Type: 'bind', Source: path.resolve(project.workingDir, f.def.file!), Target: f.target, ReadOnly: true }));
}

async function content(project: Project, f: FileRef): Promise<Buffer> {
  if (f.def.file !== undefined) return fs.readFile(path.resolve(project.workingDir, f.def.file));
  if (f.def.environment !== undefined) return Buffer.from(project.environment[f.def.environment] ?? '');
  return Buffer.from(f.def.content ?? '');
}

/** One tar of every copied file, each entry with its owner and mode. */
async function secretsTar(project: Project, refs: FileRef[]): Promise<Buffer> {
  const tar = (await import('tar-stream')).pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const f of refs) {
    const body = await content(project, f);
    tar.entry({ name: f.target.replace(/^\/+/, ''), type: 'file', size: body.length, mode: f.mode ?? 0o444, uid: f.uid ?? 0, gid: f.gid ?? 0, mtime: new Date() }, body);
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Before the container's first start: copy the secrets and configs that are not bind-mounted into the
 * created container (PUT /containers/{id}/archive at /). `service` is the service's name in the project.
 */
export async function injectSecrets(backend: ComposeBackend, containerId: string, project: Project, service: string): Promise<void> {
  const config = project.services[service];
  if (!config) throw new ComposeError(`no such service: ${service}`);
  const refs = fileRefs(project, service, config).filter((f) => f.copied);
  if (!refs.length) return;
  for (const f of refs) checkSource(project, service, f);
  await backend.copyToContainer(containerId, '/', await secretsTar(project, refs));
}
