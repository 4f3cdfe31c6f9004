// RUN --mount: type=cache (a directory kept across builds, by id; sharing shared|private|locked),
// type=secret (a file from `--secret id=…`, read-only, never in a layer or the history), type=bind (a
// path of the context or of a stage, read-only unless rw), type=tmpfs. Mount points the RUN needed but
// the image did not have are removed from the step's layer afterwards, as BuildKit does.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../../lib/errors.js';
import { run } from '../../../lib/exec.js';
import { readJsonIfExists, writeJsonAtomic } from '../../../lib/fsutil.js';
import type { OciMount } from '../../runtime/spec.js';
import { secureJoin } from '../../../lib/securejoin.js';

export interface RunMount {
  type: 'cache' | 'secret' | 'bind' | 'tmpfs';
  target: string;
  id?: string;
  source?: string;
  from?: string;
  sharing: 'shared' | 'private' | 'locked';
  readonly: boolean;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: string;
}

/** One --mount value: CSV key=value pairs with BuildKit's names and defaults. */
export function parseRunMount(spec: string): RunMount {
  const m: Partial<RunMount> & Record<string, unknown> = { type: 'bind', sharing: 'shared', readonly: false, required: false };
  let rwGiven = false;
  for (const part of spec.split(',')) {
    const [k, v] = part.split(/=(.*)/s, 2) as [string, string | undefined];
    const key = k.trim().toLowerCase();
    switch (key) {
      case 'type':
        if (!['cache', 'secret', 'bind', 'tmpfs'].includes(v ?? '')) throw new InvalidParameter(`unsupported mount type "${v}" in RUN --mount (use cache, secret, bind or tmpfs)`);
        m.type = v as RunMount['type'];
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'id':
      case 'from':
        m[key] = v;
        break;
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(v ?? '')) throw new InvalidParameter(`invalid sharing mode "${v}" in RUN --mount (shared, private or locked)`);
        m.sharing = v as RunMount['sharing'];
        break;
      case 'readonly':
      case 'ro':
        m.readonly = v === undefined || v === 'true';
        rwGiven = true;
        break;
      case 'rw':
      case 'readwrite':
        m.readonly = !(v === undefined || v === 'true');
        rwGiven = true;
        break;
      case 'required':
        m.required = v === undefined || v === 'true';
        break;
      case 'mode':
        m.mode = parseInt(v ?? '', 8);
        break;
      case 'uid':
      case 'gid':
        m[key] = Number(v);
        break;
      case 'size':
        m.size = v;
        break;
      default:
        throw new InvalidParameter(`unexpected key '${key}' in RUN --mount=${spec}`);
    }
  }
  if (m.type === 'bind' && !rwGiven) m.readonly = true;
  if (m.type === 'secret') {
    m.id ??= m.target ? path.posix.basename(m.target) : undefined;
    if (!m.id) throw new InvalidParameter(`RUN --mount=type=secret needs an id or a target`);
    m.target ??= `/run/secrets/${m.id}`;
  }
  if (!m.target) throw new InvalidParameter(`RUN --mount=${spec}: a target is required`);
  return m as RunMount;
}

const locks = new Map<string, Promise<void>>();

/** Cache mount directories a RUN is using now (`system df` shows them in use; `builder prune` spares them). */
const mountsInUse = new Map<string, number>();

export function cacheMountsInUse(): Set<string> {
  return new Set(mountsInUse.keys());
}

/** A cache mount's accounting, in <dir>.json beside it. */
export interface CacheMountMeta {
  description: string;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

async function noteCacheMountUse(dir: string, description: string): Promise<void> {
  const file = dir + '.json';
  const now = new Date().toISOString();
  const prev = await readJsonIfExists<CacheMountMeta>(file).catch(() => undefined);
  await writeJsonAtomic(file, { description, createdAt: prev?.createdAt ?? now, lastUsedAt: now, usageCount: (prev?.usageCount ?? 0) + 1 });
}

/** What a RUN's mounts need while it runs: OCI mounts, then `release` removes what they left behind. */
export async function prepareRunMounts(
  mounts: RunMount[],
  o: { root: string; rootfs: string; contextDir: string; secrets: Record<string, Buffer>; stageRoot: (from: string) => Promise<{ rootfs: string; release: () => Promise<void> }>; /** The RUN's command, for the cache mount's description. */ exec?: string },
): Promise<{ oci: OciMount[]; release: () => Promise<void>; created: string[] }> {
  const oci: OciMount[] = [];
  const undo: (() => Promise<void>)[] = [];
  const created: string[] = [];
  try {
    for (const m of mounts) {
      const target = path.posix.normalize('/' + m.target);
      // Record mount points the image lacks: they are created for the mount and removed afterwards.
      for (let p = target; p !== '/'; p = path.posix.dirname(p)) {
        if (!(await fs.lstat(await secureJoin(o.rootfs, p)).catch(() => undefined))) created.push(p);
      }
      if (m.type === 'cache') {
        const id = m.id ?? target;
        let dir = path.join(o.root, 'build', 'cache-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32));
        if (m.sharing === 'private') dir += '-' + randomBytes(4).toString('hex');
        await fs.mkdir(dir, { recursive: true, mode: m.mode ?? 0o755 });
        if (m.uid !== undefined || m.gid !== undefined) await fs.chown(dir, m.uid ?? 0, m.gid ?? 0);
        if (m.sharing === 'locked') undo.push(await lock(dir));
        if (m.sharing === 'private') undo.push(() => fs.rm(dir, { recursive: true, force: true }));
        else await noteCacheMountUse(dir, `cached mount ${target}${o.exec ? ` from exec ${o.exec}` : ''}${m.id ? ` with id ${JSON.stringify(m.id)}` : ''}`);
        mountsInUse.set(dir, (mountsInUse.get(dir) ?? 0) + 1);
        undo.push(async () => {
          const n = (mountsInUse.get(dir) ?? 1) - 1;
          if (n > 0) mountsInUse.set(dir, n);
          else mountsInUse.delete(dir);
        });
        oci.push({ destination: target, type: 'bind', source: dir, options: ['rbind', 'rw'] });
      } else if (m.type === 'secret') {
        const data = o.secrets[m.id!];
        if (!data) {
          if (m.required) throw new InvalidParameter(`secret ${m.id} not found: pass it with --secret id=${m.id},src=<file>`);
          continue;
        }
        const dir = path.join(o.root, 'build', 'secrets', randomBytes(8).toString('hex'));
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        const file = path.join(dir, 'secret');
        await fs.writeFile(file, data, { mode: m.mode ?? 0o400 });
        await fs.chown(file, m.uid ?? 0, m.gid ?? 0);
        undo.push(() => fs.rm(dir, { recursive: true, force: true }));
        oci.push({ destination: target, type: 'bind', source: file, options: ['rbind', 'ro'] });
      } else if (m.type === 'bind') {
        let base = o.contextDir;
        if (m.from) {
          const src = await o.stageRoot(m.from);
          undo.push(src.release);
          base = src.rootfs;
        }
        let source = await secureJoin(base, '/' + (m.source ?? '/'));
        if (!(await fs.lstat(source).catch(() => undefined))) throw new InvalidParameter(`RUN --mount=type=bind: source ${m.source ?? '/'} not found`);
        if (!m.readonly && !m.from) {
          // Writes to an rw bind are discarded (BuildKit): they go to a copy, never to the kept context,
          // whose files the image's layers may share (hard links, see copy.ts).
          const dir = path.join(o.root, 'build', 'tmp', 'bind-' + randomBytes(8).toString('hex'));
          await fs.mkdir(dir, { recursive: true });
          undo.push(() => fs.rm(dir, { recursive: true, force: true }));
          await run(['cp', '-a', '--', source, path.join(dir, 'src')]);
          source = path.join(dir, 'src');
        }
        oci.push({ destination: target, type: 'bind', source, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
      } else {
        oci.push({ destination: target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] });
      }
    }
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw e;
  }
  return {
    oci,
    release: async () => {
      for (const u of undo.reverse()) await u().catch(() => undefined);
    },
    // Mount points the image lacked: the caller removes them from the upper dir before the commit.
    created,
  };
}

/** A per-directory mutex for sharing=locked (waits for the previous holder). */
async function lock(key: string): Promise<() => Promise<void>> {
  const prev = locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => mine);
  locks.set(key, chained);
  await prev;
  return async () => {
    release();
    if (locks.get(key) === chained) locks.delete(key);
  };
}

/** Remove mount points created for the RUN from the step's upper dir (deepest first). */
export async function removeMountPoints(upperDir: string, created: string[]): Promise<void> {
  for (const p of [...new Set(created)].sort((a, b) => b.length - a.length)) {
    const full = path.join(upperDir, p);
    const st = await fs.lstat(full).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await fs.rmdir(full).catch(() => undefined);
    else if (st.size === 0) await fs.rm(full, { force: true });
  }
}
