// The source executor (FROM): scratch, an earlier stage (the solver's), or an image — local, or pulled
// when missing or with --pull. Its key is the source op's digest (ops.ts).
import type { OciImageConfig } from '../../../api/image-config.js';
import type { JSONMessage } from '../../../api/types.js';
import { BerthError, NotFound } from '../../../lib/errors.js';
import type { TrustedKey } from '../../../distribution/cosign.js';
import { hostArch } from '../../images/service.js';
import { imageDigest, scratchDigest } from '../frontend/ops.js';
import type { State } from '../types.js';
import type { Worker } from './context.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EMPTY_CONFIG = (): OciImageConfig => ({ architecture: hostArch(), os: 'linux', config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] });

export interface SourceOptions {
  pull: boolean;
  /** The client's content-trust keys: FROM is verified (and pulled, pinned) rather than taken from local images. */
  trustKeys?: TrustedKey[];
  progress: (m: JSONMessage) => void;
  /** The earlier stage FROM names (by name), solved; undefined when `ref` names none. */
  stage: (ref: string) => Promise<State> | undefined;
}

export async function baseState(w: Worker, ref: string, o: SourceOptions): Promise<State> {
  if (ref === 'scratch') return { config: EMPTY_CONFIG(), layers: [], key: scratchDigest() };
  const stage = o.stage(ref);
  if (stage) return stage;
  const image = await resolveImage(w, ref, o);
  const rec = w.d.images.store.get(image)!;
  const config = await w.d.images.imageConfig(image);
  // dockerd's builder gives an image without PATH the default one.
  const env = config.config?.Env ?? [];
  const withPath = env.some((e) => e.startsWith('PATH=')) ? env : [DEFAULT_PATH, ...env];
  const state = { config: { ...config, config: { ...config.config, Env: withPath }, history: config.history ?? [] }, layers: rec.layers, key: imageDigest(image) };
  w.imageOf.set(state, image);
  return state;
}

async function resolveImage(w: Worker, ref: string, o: SourceOptions): Promise<string> {
  // With a trust rule for it, FROM resolves through the registry: verified, then pinned to that digest.
  const verify = w.d.distribution.trustApplies(ref, o.trustKeys);
  if (!o.pull && !verify) {
    const local = await w.d.images.resolve(ref).catch(() => undefined);
    if (local) return local.id;
  }
  try {
    const [id] = await w.d.distribution.pull(ref, { auth: {}, trustKeys: o.trustKeys, progress: (m) => m.status && o.progress({ stream: `${m.id ? m.id + ': ' : ''}${m.status}\n` }) });
    return id!;
  } catch (e) {
    if (e instanceof BerthError && e.status === 403) throw e; // refused by the trust policy: say so, not "pull access denied"
    throw new NotFound(`pull access denied for ${ref}, repository does not exist or may require 'docker login': ${(e as Error).message}`);
  }
}
