// The COPY/ADD executor: the sources (copy-sources.ts) copied into the step's snapshot — or, with --link,
// into a layer of their own — owned by --chown's user, moded by --chmod; ADD also extracts archives and
// downloads URLs (add.ts). From a kept context, files are hard-linked rather than copied.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../../lib/errors.js';
import { secureJoin } from '../../../lib/securejoin.js';
import { expandString, type Env } from '../../../lib/shell-words.js';
import { resolveUser } from '../../runtime/user.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { sha } from '../frontend/ops.js';
import type { State } from '../types.js';
import { addArchive, addUrl, isUrl } from './add.js';
import type { Worker } from './context.js';
import type { CopySources } from './copy-sources.js';
import type { DigestCache } from './digests.js';
import { copyFiles, type CopyOwner, type HardLinks } from './files.js';
import { directLayer, directParents, layerFiles, lowerOf, passwdRoot, type CopyTargets } from './copy-direct.js';
import { withHistory } from './metadata.js';
import type { PendingLayers } from './pending.js';
import { linkedLayer, mountState, withSnapshot } from './snapshot.js';

type Sources = Pick<CopySources, 'root' | 'sources' | 'dest' | 'destIsDir'>;

export interface CopyOptions {
  escape: string;
  contextDir: string;
  contextDigests?: DigestCache;
  pending: PendingLayers;
}

export async function copyStep(w: Worker, state: State, inst: Instruction, env: Env, src: CopySources, o: CopyOptions): Promise<State> {
  const cfg = state.config.config ?? {};
  const dest = path.posix.isAbsolute(src.dest) ? src.dest : path.posix.join(cfg.WorkingDir || '/', src.dest);
  const chown = inst.flags.chown?.[0] ? expandString(inst.flags.chown[0], env, o.escape) : undefined;
  const chmod = inst.flags.chmod?.[0];
  if (chmod && !/^[0-7]{3,4}$/.test(chmod)) throw new InvalidParameter(`invalid chmod parameter: ${chmod} (use octal, e.g. 755)`);
  const link = inst.flags.link?.[0];
  if (link !== undefined && link !== 'false') {
    await src.prepare?.();
    return copyLinked(w, state, inst, { ...src, dest }, chown, o);
  }
  // Only new entries: written straight into the layer, without a mount (copy-direct.ts).
  const direct = inst.name === 'COPY' ? await copyDirect(w, state, inst, { ...src, dest }, chown, o) : undefined;
  if (direct) return direct;
  await src.prepare?.();
  // From a kept context, files are hard-linked into the step's upper dir after the unmount (files.ts).
  let links: HardLinks | undefined;
  return await withSnapshot(
    w.d,
    state,
    async (rootfs, _id, _tmp, upperDir) => {
      const upperOf = (p: string) => path.join(upperDir, path.relative(rootfs, p));
      if (linkable(src.root, o)) links = { upperOf, pending: [] };
      else if (src.layerDirs) links = { upperOf, pending: [], layerFile: layerFileOf(src.root, src.layerDirs) };
      await copyInto(rootfs, inst, { ...src, dest }, chown ? await resolveOwner(rootfs, chown) : undefined, links);
      return withHistory(state, `${inst.name} ${inst.original.slice(inst.name.length + 1)} # buildkit`, false);
    },
    async () => {
      for (const l of links?.pending ?? []) await l();
    },
    { pending: o.pending },
  );
}

/** The copy into an empty layer dir (copy-direct.ts), or undefined when it needs the merged filesystem. */
async function copyDirect(w: Worker, state: State, inst: Instruction, src: CopySources, chown: string | undefined, o: CopyOptions): Promise<State | undefined> {
  const lower = lowerOf(w.d, state.layers);
  const { dest } = src;
  const asDir = src.destIsDir || dest.endsWith('/') || src.sources.length > 1;
  // COPY --from of plain paths not mounted yet: regular files read from the source's layer dirs.
  const fromLayers = src.prepare && src.fromLayers ? await layerFiles(lowerOf(w.d, src.fromLayers), src.sources) : undefined;
  if (src.prepare && !fromLayers) return undefined;
  const reads = fromLayers ?? src.sources.map((s) => ({ src: s, dir: src.root }));
  const destPath = path.posix.normalize(dest).replace(/(.)\/+$/, '$1');
  const targets: CopyTargets = { dirs: [], filled: [], files: [] };
  for (const r of reads) {
    const from = await secureJoin(r.dir, '/' + r.src);
    const st = await fs.stat(from).catch(() => fs.lstat(from));
    if (st.isDirectory()) {
      targets.dirs.push(destPath);
      targets.filled.push(destPath);
    } else if (asDir) {
      targets.dirs.push(destPath);
      targets.files.push(path.posix.join(destPath, path.posix.basename(r.src)));
    } else {
      targets.dirs.push(path.posix.dirname(destPath));
      targets.files.push(destPath);
    }
  }
  const parents = await directParents(lower, targets);
  if (!parents) return undefined;
  let owner: CopyOwner | undefined;
  if (chown) {
    const root = await passwdRoot(lower);
    if (!root) return undefined;
    owner = await resolveOwner(root, chown);
  }
  const mode = inst.flags.chmod?.[0] ? parseInt(inst.flags.chmod[0], 8) : undefined;
  const ref = await directLayer(w.d, state.layers, parents, async (upper) => {
    for (const r of reads) {
      // Files of a kept context, or of a layer, are hard-linked when the copy would be that very file.
      const links: HardLinks | undefined = fromLayers
        ? { upperOf: (p) => p, pending: [], layerFile: async (_s, from, st, who) => (st.uid === (who?.uid ?? 0) && st.gid === (who?.gid ?? 0) ? from : undefined) }
        : linkable(src.root, o)
          ? { upperOf: (p) => p, pending: [] }
          : undefined;
      await copyFiles({ srcRoot: r.dir, sources: [r.src], destRoot: upper, dest, destIsDir: asDir, owner, mode, links });
      for (const l of links?.pending ?? []) await l();
    }
  }, o.pending);
  const next = withHistory(state, `${inst.name} ${inst.original.slice(inst.name.length + 1)} # buildkit`, false);
  return { ...next, layers: [...state.layers, ref] };
}

/**
 * COPY --from's files live in image layers, which never change: a regular file the copy would reproduce
 * exactly (owned by the copy's owner, its mode kept) is hard-linked from its layer dir. The layer holding
 * what the mount shows is the topmost that has the path; the inode the mount reports (overlayfs gives a
 * lower file's own) must be that file's, else — a path through a symlink, a whiteout, another file
 * system — the file is copied as before.
 */
function layerFileOf(root: string, layerDirs: string[]): NonNullable<HardLinks['layerFile']> {
  return async (src, from, st, owner) => {
    if (st.uid !== (owner?.uid ?? 0) || st.gid !== (owner?.gid ?? 0) || st.nlink < 1) return undefined;
    if (from !== path.join(root, src)) return undefined; // reached through a symlink
    for (const dir of layerDirs) {
      const candidate = path.join(dir, src);
      const found = await fs.lstat(candidate).catch(() => undefined);
      if (!found) continue;
      return found.isFile() && found.ino === st.ino && found.size === st.size && found.mtimeMs === st.mtimeMs && found.mode === st.mode ? candidate : undefined;
    }
    return undefined;
  };
}

/** Files of a kept context never change in place: they can be hard-linked rather than copied. */
function linkable(root: string, o: CopyOptions): boolean {
  return root === o.contextDir && !!o.contextDigests;
}

/** The copy itself, into `rootfs` at the (absolute) destination. */
async function copyInto(rootfs: string, inst: Instruction, src: Sources, owner: CopyOwner | undefined, links?: HardLinks): Promise<void> {
  const { dest } = src;
  const chmod = inst.flags.chmod?.[0];
  const local = src.sources.filter((s) => !isUrl(s));
  const isDir = src.destIsDir || dest.endsWith('/');
  if (inst.name === 'ADD') {
    for (const s of local) {
      if (await addArchive(src.root, s, rootfs, dest)) continue;
      await copyFiles({ srcRoot: src.root, sources: [s], destRoot: rootfs, dest, destIsDir: isDir || local.length > 1, owner, mode: chmod ? parseInt(chmod, 8) : undefined, links });
    }
    for (const url of src.sources.filter(isUrl)) await addUrl(url, rootfs, dest, isDir, owner);
  } else {
    await copyFiles({ srcRoot: src.root, sources: local, destRoot: rootfs, dest, destIsDir: isDir, owner, mode: chmod ? parseInt(chmod, 8) : undefined, links });
  }
}

/**
 * COPY --link / ADD --link: the files become a layer of their own, copied into an empty directory (over
 * nothing), so its key is the sources, flags and destination only: a changed parent reuses it (the
 * layer is then extracted over the new parent). Missing destination directories are created 0755 (owned
 * by --chown's user, else root), as BuildKit does; --chown names resolve in the parent's /etc/passwd.
 */
async function copyLinked(w: Worker, given: State, inst: Instruction, src: Sources & { hash: string }, chown: string | undefined, o: CopyOptions): Promise<State> {
  // The linked layer lies over the parent's real chain ID (it is looked up, or extracted, by it).
  const state = await o.pending.settle(given);
  let owner: CopyOwner | undefined;
  if (chown && /^\d+(:\d+)?$/.test(chown)) {
    const [u, g] = chown.split(':');
    owner = { uid: Number(u), gid: Number(g ?? u) };
  } else if (chown) {
    const parent = await mountState(w.d, state);
    try {
      owner = await resolveOwner(parent.rootfs, chown);
    } finally {
      await parent.release();
    }
  }
  // Heredocs may expand variables: their content, not their text, keys the layer.
  const heredocs = await Promise.all(inst.heredocs.map((h) => fs.readFile(path.join(src.root, h.name), 'utf8').then(sha)));
  const linkKey = sha(JSON.stringify(['link', inst.name, { ...inst.flags, chown: owner ? [`${owner.uid}:${owner.gid}`] : [] }, src.hash, src.sources, src.dest, src.destIsDir, heredocs]));
  const ref = await linkedLayer(
    w.d,
    state.layers,
    () => w.cache.readLink(linkKey),
    async (upper) => {
      // A plain directory, no overlay: links can be made at once.
      const links: HardLinks | undefined = linkable(src.root, o) ? { upperOf: (p) => p, pending: [] } : undefined;
      await copyInto(upper, inst, src, owner, links);
      for (const l of links?.pending ?? []) await l();
    },
    (made) => w.cache.putLink(linkKey, made),
  );
  const next = withHistory(state, `${inst.name} ${inst.original.slice(inst.name.length + 1)} # buildkit`, false);
  return { ...next, layers: [...state.layers, ref] };
}

/** --chown's user (and group) resolved in a root filesystem: "name", "name:group", "uid:gid". */
async function resolveOwner(rootfs: string, chown: string): Promise<CopyOwner> {
  const u = await resolveUser(rootfs, chown.includes(':') ? chown : `${chown}:${chown}`).catch(() => resolveUser(rootfs, chown));
  return { uid: u.uid, gid: u.gid };
}
