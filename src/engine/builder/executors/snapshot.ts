// The executors' seam to the snapshotter and the content store: a state's filesystem mounted for a step
// (its changes committed as the next layer), a state mounted read-only-in-spirit to read from, and the
// layer checks and extractions the cache needs. Every snapshotter call of the builder is here.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LayerRef } from '../../images/store.js';
import { chainId, chainIds } from '../../snapshots/layers.js';
import { mountAll, unmount, upperDirOf } from '../../snapshots/mount.js';
import type { BuilderDeps, State } from '../types.js';
import { traced } from '../../../lib/trace.js';
import { commitUpper } from './layerdiff.js';
import type { PendingLayers } from './pending.js';

/** Run `work` with the state's filesystem mounted (a fresh snapshot); its changes become the next layer. */
export async function withSnapshot(
  d: BuilderDeps,
  state: State,
  work: (rootfs: string, id: string, tmp: string, upperDir: string) => Promise<State>,
  afterUnmount: ((upperDir: string) => Promise<void>) | undefined,
  /** ifEmpty: the state to answer when the work changed nothing (no layer then, as BuildKit drops empty
   *  ones); init: false when no container runs (the init layer holds only runc's mount points);
   *  cleanups: the snapshot's removal goes there rather than holding up the next step (the build awaits it);
   *  pending: where the step's layer is staged and hashed off the step's path (pending.ts). */
  opts: { pending: PendingLayers; ifEmpty?: State; init?: boolean; cleanups?: Promise<unknown>[] },
): Promise<State> {
  const id = randomBytes(32).toString('hex');
  const key = `build-${id.slice(0, 16)}`;
  const tmp = path.join(d.root, 'build', 'tmp', id.slice(0, 16));
  const rootfs = path.join(tmp, 'rootfs');
  const chains = chainIds(state.layers.map((l) => l.diffId));
  await fs.mkdir(rootfs, { recursive: true });
  // The init layer (runc's mount points, /etc/mtab) keeps those out of the step's layer, as in Docker.
  // Volatile: the unmount would otherwise write back all the step wrote (the layer is not synced after).
  const mounts = await traced('build: snapshot prepare', d.snapshotter.prepare(key, chains[chains.length - 1], { init: opts.init ?? true, volatile: true }));
  try {
    const upperDir = upperDirOf(mounts);
    if (!upperDir) throw new Error(`snapshot ${key} has no upper dir to commit`);
    await traced('build: mount', mountAll(mounts, rootfs));
    let next: State;
    try {
      next = await traced('build: step work', () => work(rootfs, id, tmp, upperDir));
    } finally {
      await traced('build: unmount', unmount(rootfs));
    }
    if (afterUnmount) await traced('build: after unmount', afterUnmount(upperDir));
    if (opts.ifEmpty && !(await fs.readdir(upperDir)).length) return opts.ifEmpty;
    const parent = chains[chains.length - 1];
    const ref = await traced('build: commit', () => opts.pending.commit(upperDir, parent));
    return { ...next, layers: [...state.layers, ref] };
  } finally {
    const removed = traced('build: snapshot remove', async () => {
      await d.snapshotter.remove(key);
      await fs.rm(tmp, { recursive: true, force: true });
    });
    if (opts.cleanups) {
      removed.catch(() => undefined);
      opts.cleanups.push(removed);
    } else await removed;
  }
}

/** A state's filesystem mounted to read from (COPY --from, RUN --mount from=, --chown's passwd). */
export async function mountState(d: BuilderDeps, state: State): Promise<{ rootfs: string; release: () => Promise<void> }> {
  const key = `build-src-${randomBytes(8).toString('hex')}`;
  const rootfs = path.join(d.root, 'build', 'tmp', key);
  const chains = chainIds(state.layers.map((l) => l.diffId));
  await mountAll(await d.snapshotter.prepare(key, chains[chains.length - 1], { volatile: true }), rootfs);
  return {
    rootfs,
    release: async () => {
      await unmount(rootfs);
      await d.snapshotter.remove(key);
      await fs.rm(rootfs, { recursive: true, force: true });
    },
  };
}

/** Whether every layer a cached state names is still there (its blob and its unpacked snapshot). A
 *  build passes its own `seen` map: the steps of a chain share their lower layers, each checked once per
 *  build (a build's layers are GC roots while it runs, so an answer holds until it ends). */
export async function layersPresent(d: BuilderDeps, layers: LayerRef[], seen?: Map<string, Promise<boolean>>): Promise<boolean> {
  const chains = chainIds(layers.map((l) => l.diffId));
  const check = (i: number): Promise<boolean> => {
    const memo = `${chains[i]} ${layers[i]!.digest}`;
    let p = seen?.get(memo);
    if (!p) {
      p = (async () => (await d.images.content.has(layers[i]!.digest)) && !!(await d.layers.info(chains[i]!)))();
      seen?.set(memo, p);
    }
    return p;
  };
  // Checked together: one stat and one small read per layer, in parallel.
  return (await Promise.all(layers.map((_, i) => check(i)))).every(Boolean);
}

/**
 * A layer of its own (COPY --link): `fill` writes its files into an empty directory, committed over the
 * parent chain; a layer made before (`known`) is extracted over this parent instead when missing there.
 */
export async function linkedLayer(d: BuilderDeps, parentLayers: LayerRef[], known: () => Promise<LayerRef | undefined>, fill: (dir: string) => Promise<void>, made: (ref: LayerRef) => Promise<void>): Promise<LayerRef> {
  const chains = chainIds(parentLayers.map((l) => l.diffId));
  const parentChain = chains[chains.length - 1];
  const layers = d.layers;
  return d.images.unrecorded(async () => {
    const before = await known();
    if (before) {
      if (!(await layers.info(chainId(parentChain, before.diffId)))) await layers.extract(d.images.content.reader(before.digest), parentChain, before.diffId);
      return before;
    }
    const dir = path.join(d.root, 'build', 'tmp', `link-${randomBytes(8).toString('hex')}`);
    const upper = path.join(dir, 'upper');
    await fs.mkdir(upper, { recursive: true, mode: 0o755 });
    try {
      await fill(upper);
      const ref = (await commitUpper(d.images.content, layers, upper, parentChain)).ref;
      await made(ref);
      return ref;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
}
