// A COPY/ADD's inputs: where it reads from (the context, a mount of a stage or image, or heredoc files),
// the sources its patterns name, and the digest of that content for the vertex digest. A stage's or
// image's key already names its whole content, so plain paths from one need no mount to be keyed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../../lib/errors.js';
import { expandString, expandWords, substituteVars, type Env } from '../../../lib/shell-words.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { sha } from '../frontend/ops.js';
import type { BuilderDeps, State } from '../types.js';
import { isUrl } from './add.js';
import { hashSources, type DigestCache } from './digests.js';
import { expandSource } from './files.js';
import { mountState } from './snapshot.js';
import { chainIds } from '../../snapshots/layers.js';
import type { LayerRef } from '../../images/store.js';

/** Where a COPY/ADD reads from, what it copies, and the hash of that content for the cache key. */
export interface CopySources {
  root: string;
  sources: string[];
  dest: string;
  destIsDir: boolean;
  hash: string;
  /** A stage's or image's layer dirs, top first, when the sources are read from one: their files never
   *  change (layers are immutable), so a file the copy would make identical is hard-linked from there. */
  layerDirs?: string[];
  /** Mount the stage to copy from, when the key did not need it (called before a copy that reads the mount). */
  prepare?: () => Promise<void>;
  /** The layers of the stage or image that `prepare` would mount: plain files are read from them directly. */
  fromLayers?: LayerRef[];
  release: () => Promise<void>;
}

export interface CopySourceOptions {
  escape: string;
  contextDir: string;
  contextReady?: Promise<void>;
  contextDigests?: DigestCache;
  resolveFrom: (ref: string) => Promise<State>;
}

export async function copySources(d: BuilderDeps, inst: Instruction, env: Env, o: CopySourceOptions): Promise<CopySources> {
  const words = inst.json ?? expandWords(inst.args, env, o.escape);
  const dest = words[words.length - 1]!;
  if (inst.heredocs.length) {
    const dir = await fs.mkdtemp(path.join(d.root, 'build', 'heredoc-'));
    for (const h of inst.heredocs) await fs.writeFile(path.join(dir, h.name), h.expand ? substituteVars(h.body, env, o.escape) : h.body);
    return { root: dir, sources: inst.heredocs.map((h) => h.name), dest, destIsDir: namesDirectory(dest), hash: sha(JSON.stringify(inst.heredocs)), release: () => fs.rm(dir, { recursive: true, force: true }) };
  }
  const patterns = words.slice(0, -1);
  const from = inst.flags.from?.[0];
  if (!from) await o.contextReady;
  const fromState = from ? await o.resolveFrom(expandString(from, env, o.escape)) : undefined;
  const fromKey = fromState?.key ?? '';
  const out: CopySources = { root: o.contextDir, sources: [], dest, destIsDir: namesDirectory(dest), hash: '', release: async () => undefined };
  const expand = async (): Promise<void> => {
    out.sources = [];
    for (const p of patterns) {
      if (isUrl(p)) {
        if (inst.name !== 'ADD') throw new InvalidParameter(`source can't be a URL for COPY`);
        out.sources.push(p);
        continue;
      }
      if (!from && path.posix.normalize(p).startsWith('..')) {
        throw new InvalidParameter(`Forbidden path outside the build context: ${p} (${inst.original})`);
      }
      const found = await expandSource(out.root, p);
      if (!found.length) throw new InvalidParameter(`failed to compute cache key: "${p}" not found: not found in ${from ? `stage/image ${from}` : 'the build context'}`);
      out.sources.push(...found);
    }
  };
  const mount = async (): Promise<void> => {
    const mounted = await mountState(d, fromState!);
    out.root = mounted.rootfs;
    out.layerDirs = chainIds(fromState!.layers.map((l) => l.diffId)).map((c) => path.join(d.layers.layerDir(c), 'diff')).reverse();
    out.release = mounted.release;
    await expand().catch(async (e: unknown) => {
      await mounted.release();
      out.release = async () => undefined;
      throw e;
    });
  };
  const urls = () => out.sources.filter(isUrl).join(' ');
  if (fromState && !patterns.some((p) => /[*?[]/.test(p))) {
    // Plain paths from a stage or image: the key needs no mount; the copy mounts it only when the step runs.
    out.sources = patterns.map((p) => (isUrl(p) ? p : path.posix.normalize('/' + p).slice(1) || '.'));
    out.hash = sha(fromKey + JSON.stringify(out.sources.filter((s) => !isUrl(s)))) + urls();
    out.prepare = mount;
    out.fromLayers = fromState.layers;
    return out;
  }
  if (fromState) await mount();
  else await expand();
  const local = out.sources.filter((s) => !isUrl(s));
  out.hash = (fromKey ? sha(fromKey + JSON.stringify(local)) : await hashSources(out.root, local, o.contextDigests)) + urls();
  return out;
}

/** A COPY/ADD destination that names a directory: "." (the WORKDIR), or ending in "/" or "/." (BuildKit's rule). */
function namesDirectory(dest: string): boolean {
  return dest === '.' || dest.endsWith('/') || dest.endsWith('/.');
}
