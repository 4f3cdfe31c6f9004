// COPY without an overlay mount. A COPY only adds entries: when what it writes is new in every layer below
// (or goes into a directory that is empty in every layer) and the directories above the destination are
// plain directories in the image, the step's layer is exactly those entries plus the destination's
// existing parents as overlayfs would copy them up (mode, owner and times of the merged view). So the
// files are written straight into an empty layer directory, which is committed as it is: no snapshot to
// prepare, no mount, no unmount (which syncs the upper file system), no whiteout scan. Anything else —
// a symlink or a non-directory on the way, a target that exists below (a file or a whiteout), runc's
// mount points — is left to the overlay path (copy.ts), which resolves it in the merged filesystem.
// COPY --from of plain files is read from the source's layer dirs the same way: no mount of the source.
import { randomBytes } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { traced } from '../../../lib/trace.js';
import type { LayerRef } from '../../images/store.js';
import { LayerView, layerOpaqueDirs } from '../../snapshots/diff.js';
import { chainIds } from '../../snapshots/layers.js';
import type { BuilderDeps } from '../types.js';
import type { PendingLayers } from './pending.js';

/** The layers of a state seen merged, without a mount: its layer dirs (top first) and their view. */
export interface Lower {
  dirs: string[];
  view: LayerView;
}

export function lowerOf(d: BuilderDeps, layers: LayerRef[]): Lower {
  const dirs = chainIds(layers.map((l) => l.diffId))
    .map((c) => path.join(d.layers.layerDir(c), 'diff'))
    .reverse();
  return { dirs, view: new LayerView(dirs, layerOpaqueDirs) };
}

/** What the copy writes at the top: directories it fills (their contents) and paths it creates. */
export interface CopyTargets {
  /** Absolute directories whose parents must exist (the copy's mkdir -p goes from there). */
  dirs: string[];
  /** Absolute directories a directory source's contents go into. */
  filled: string[];
  /** Absolute paths a file source becomes. */
  files: string[];
}

/** runc's mount points and Docker's init layer live here: the overlay path sees them as a container would. */
const INIT_ROOTS = ['/dev', '/proc', '/sys', '/etc'];

const under = (p: string, root: string) => p === root || p.startsWith(root + '/');

/** Whether a path is absent from every layer (not only hidden: a whiteout below needs overlay's opaque dir). */
async function absentEverywhere(lower: Lower, p: string): Promise<boolean> {
  const found = await Promise.all(lower.dirs.map((d) => fs.lstat(path.join(d, p)).then(() => true, () => false)));
  return !found.some(Boolean);
}

/** Whether a directory is empty (or absent) in every layer: no entry, no whiteout anywhere. */
async function emptyEverywhere(lower: Lower, p: string): Promise<boolean> {
  const names = await Promise.all(lower.dirs.map((d) => fs.readdir(path.join(d, p)).catch((): string[] => [])));
  return names.every((n) => !n.length);
}

/**
 * The existing parents (top down, with their merged stat) that the copy would copy up, or undefined when
 * the copy is not one the direct path reproduces exactly.
 */
export async function directParents(lower: Lower, t: CopyTargets): Promise<{ dir: string; st: BigIntStats }[] | undefined> {
  const all = [...t.dirs, ...t.filled, ...t.files];
  if (all.some((p) => INIT_ROOTS.some((r) => under(p, r)))) return undefined;
  const parents = new Map<string, BigIntStats>();
  for (const dir of t.dirs) {
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      if (parents.has(p)) continue;
      const st = await lower.view.lstat(p);
      if (st?.isDirectory()) {
        parents.set(p, st);
        continue;
      }
      // A symlink or a file on the way, or a name some layer still has (a whiteout): the overlay path.
      if (st || !(await absentEverywhere(lower, p))) return undefined;
      break; // the rest is made by the copy
    }
  }
  for (const p of t.files) if (!(await absentEverywhere(lower, p))) return undefined;
  for (const p of t.filled) {
    const st = await lower.view.lstat(p);
    if (st && !st.isDirectory()) return undefined;
    if (!(await emptyEverywhere(lower, p))) return undefined;
  }
  return [...parents].sort(([a], [b]) => a.split('/').length - b.split('/').length).map(([dir, st]) => ({ dir, st }));
}

/** The existing parents made in `upper` as overlayfs copies them up: mode, owner, then times (bottom up,
 *  as making a child changed its parent's). */
async function copyUp(upper: string, parents: { dir: string; st: BigIntStats }[]): Promise<void> {
  for (const { dir, st } of parents) {
    const p = path.join(upper, dir);
    await fs.mkdir(p);
    await fs.lchown(p, Number(st.uid), Number(st.gid));
    await fs.chmod(p, Number(st.mode) & 0o7777);
  }
  for (const { dir, st } of [...parents].reverse()) {
    await fs.utimes(path.join(upper, dir), new Date(Number(st.atimeMs)), new Date(Number(st.mtimeMs)));
  }
}

/** Fill an empty layer dir (its parents copied up first) and commit it over `parentLayers` (staged, and
 *  hashed off the steps' path: pending.ts). */
export async function directLayer(d: BuilderDeps, parentLayers: LayerRef[], parents: { dir: string; st: BigIntStats }[], fill: (upper: string) => Promise<void>, pending: PendingLayers): Promise<LayerRef> {
  const chains = chainIds(parentLayers.map((l) => l.diffId));
  const parent = chains[chains.length - 1];
  const dir = path.join(d.root, 'build', 'tmp', `copy-${randomBytes(8).toString('hex')}`);
  const upper = path.join(dir, 'upper');
  await fs.mkdir(upper, { recursive: true, mode: 0o755 });
  try {
    await copyUp(upper, parents);
    await traced('build: direct fill', fill(upper));
    return await traced('build: direct commit', () => pending.commit(upper, parent, { overlay: false }));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** --chown's names resolved without a mount: the layer dir that holds /etc/passwd as the merged view shows
 *  it, when /etc/group is that layer's too (or absent from the view and from that layer). */
export async function passwdRoot(lower: Lower): Promise<string | undefined> {
  const [passwd, group] = await Promise.all([lower.view.locate('/etc/passwd'), lower.view.locate('/etc/group')]);
  if (!passwd?.st.isFile()) return undefined;
  if (group) return group.dir === passwd.dir && group.st.isFile() ? passwd.dir : undefined;
  return (await fs.lstat(path.join(passwd.dir, 'etc/group')).then(() => false, () => true)) ? passwd.dir : undefined;
}

/** COPY --from's plain-path sources in the source's layers: each a regular file and the layer dir holding
 *  it; undefined when one is anything else (a directory merges layers, a symlink resolves in the mount). */
export async function layerFiles(lower: Lower, sources: string[]): Promise<{ src: string; dir: string }[] | undefined> {
  const out: { src: string; dir: string }[] = [];
  for (const src of sources) {
    const found = await lower.view.locate('/' + src);
    if (!found?.st.isFile()) return undefined;
    out.push({ src, dir: found.dir });
  }
  return out;
}
