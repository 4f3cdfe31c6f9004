// A build's layers committed before their diff IDs are known. BuildKit keys its cache on each step's
// inputs and computes layer digests when it exports; berth's cache keys are inputs too (frontend/ops.ts),
// so the next step need not wait for a layer's tar to be hashed: the step's directory is staged at once
// under a provisional diff ID — the layer store answers for its provisional chain ID (LayerStore.stage),
// so the next steps mount it or read it like any layer — and its tar is hashed meanwhile (on a worker
// thread). `settle` stores each layer under its real chain ID (known once it and the layers below it are
// hashed) and gives a state with real layer refs. The build
// settles every layer it made before it answers (also when it failed: the steps done stay cached), and
// the step records (the cache) that name pending layers are written then.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { traced } from '../../../lib/trace.js';
import { LAYER_TAR } from '../../images/service.js';
import type { LayerRef } from '../../images/store.js';
import { storeLayerDir, type HashedLayer } from '../../snapshots/commit.js';
import { hashLayerDirOffThread } from '../../snapshots/hash-worker.js';
import { knowLayerOpaqueDirs } from '../../snapshots/diff.js';
import { chainId } from '../../snapshots/layers.js';
import type { BuilderDeps, State } from '../types.js';

const PROVISIONAL = 'pending:';

interface Pending {
  /** The provisional diff ID its refs carry until it is settled. */
  diffId: string;
  /** The provisional chain ID the layer store answers for until the build ends. */
  chain: string;
  /** The chain ID it lies over: a real one, or another pending layer's provisional one. */
  parent: string | undefined;
  /** The folder holding its diff/ until it is stored. */
  staging: string;
  hashed: Promise<HashedLayer>;
  chainKnown?: Promise<string>;
  settled?: Promise<{ ref: LayerRef; chain: string }>;
}

export class PendingLayers {
  /** By provisional diff ID, in the order made (a layer after the one it lies over). */
  private readonly pending = new Map<string, Pending>();
  private readonly records: { state: State; write: (s: State) => Promise<void> }[] = [];

  constructor(private readonly d: BuilderDeps) {}

  /** `dir` (a step's changes) staged as the layer over the chain `parent`, hashed in the background. */
  async commit(dir: string, parent: string | undefined, opts: { overlay?: boolean } = {}): Promise<LayerRef> {
    const id = randomBytes(32).toString('hex');
    const diffId = PROVISIONAL + id;
    // Named as the layer store's temporary folders are: its init removes one a crash left.
    const staging = path.join(this.d.layers.dir, `${id.slice(0, 16)}.staged.tmp-${process.pid}`);
    await fs.mkdir(staging);
    const diff = path.join(staging, 'diff');
    await fs.rename(dir, diff).catch(async (e: unknown) => {
      await fs.rm(staging, { recursive: true, force: true });
      throw e;
    });
    // The next steps' merged views need its opaque directories: the hashing's plan reads them first.
    let planned!: (opaque: Set<string>) => void;
    const opaque = new Promise<Set<string>>((resolve) => (planned = resolve));
    const hashed = traced('build: layer hash', hashLayerDirOffThread(diff, opts, planned));
    // A failed hashing fails the build when it settles; meanwhile no step waits on the opaque list forever.
    hashed.catch(() => planned(new Set()));
    knowLayerOpaqueDirs(diff, opts.overlay === false ? new Set() : opaque);
    const chain = chainId(parent, diffId);
    this.d.layers.stage({ chainId: chain, diffId, size: 0, tarSize: 0, ...(parent ? { parent } : {}) }, staging);
    this.pending.set(diffId, { diffId, chain, parent, staging, hashed });
    return { diffId, digest: diffId, mediaType: LAYER_TAR, size: 0 };
  }

  /** Whether a state names a layer by its provisional ID. */
  holds(state: State): boolean {
    return state.layers.some((l) => this.pending.has(l.diffId));
  }

  /** A record of `state` written once its layers are settled (at once when none is pending). */
  async record(state: State, write: (s: State) => Promise<void>): Promise<void> {
    if (this.holds(state)) this.records.push({ state, write });
    else await write(state);
  }

  /** The state with every layer stored under its real chain ID and named by its real refs. */
  async settle(state: State): Promise<State> {
    if (!this.holds(state)) return state;
    const layers = await Promise.all(state.layers.map(async (l) => (this.pending.has(l.diffId) ? (await this.settleLayer(l.diffId)).ref : l)));
    return { ...state, layers };
  }

  /** Every layer settled and the records waiting for them written; then the provisional names go. A
   *  layer that could not be settled is removed, and the first error thrown. Called once all steps are done. */
  async settleAll(): Promise<void> {
    const results = await traced('build: settle layers', Promise.allSettled([...this.pending.keys()].map((id) => this.settleLayer(id))));
    // A record naming a layer that could not be settled is not written (its settle throws).
    const written = await Promise.allSettled(this.records.map(async (r) => r.write(await this.settle(r.state))));
    // Emptied by the move into the store, or still full when the store had the layer already.
    await Promise.all([...this.pending.values()].map((p) => (this.d.layers.unstage(p.chain), fs.rm(p.staging, { recursive: true, force: true }))));
    const failed = [...results, ...written].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** One layer stored (once) under its real chain ID, which needs its parent's real chain ID — known
   *  once the layers below are hashed, not stored: the layers of a chain are stored side by side. */
  private settleLayer(diffId: string): Promise<{ ref: LayerRef; chain: string }> {
    const p = this.pending.get(diffId)!;
    p.settled ??= (async () => {
      const below = this.below(p);
      const parent = below ? await this.realChain(below) : p.parent;
      const hashed = await p.hashed;
      const info = await this.d.images.unrecorded(async () => {
        const stored = await storeLayerDir(this.d.layers, path.join(p.staging, 'diff'), parent, hashed);
        await this.d.images.content.putLazy(stored.diffId, { size: stored.tarSize, chainId: stored.chainId });
        return stored;
      });
      // Mounts and records may name the provisional chain until the build ends: it names the stored
      // folder now, and its parent is still the provisional one (stored or not yet, the store answers).
      this.d.layers.stage({ ...info, chainId: p.chain, ...(p.parent ? { parent: p.parent } : {}) }, this.d.layers.layerDir(info.chainId));
      return { ref: { diffId: info.diffId, digest: info.diffId, mediaType: LAYER_TAR, size: info.tarSize }, chain: info.chainId };
    })();
    return p.settled;
  }

  /** A layer's real chain ID, once it and the pending layers below it are hashed. */
  private realChain(p: Pending): Promise<string> {
    p.chainKnown ??= (async () => {
      const below = this.below(p);
      return chainId(below ? await this.realChain(below) : p.parent, (await p.hashed).diffId);
    })();
    return p.chainKnown;
  }

  /** The pending layer `p` lies over, if its parent is one. */
  private below(p: Pending): Pending | undefined {
    return p.parent === undefined ? undefined : [...this.pending.values()].find((q) => q.chain === p.parent);
  }
}
