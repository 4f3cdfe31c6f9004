// The image exporter: the solved state written as an image (its config blob and record) and tagged; in
// classic mode each step's state is also recorded as an untagged image (dockerd's intermediate images).
import { createHash } from 'node:crypto';
import type { OciImageConfig } from '../../api/image-config.js';
import { familiarString, normalizedString, parseImageReference } from '../../image-spec/reference.js';
import type { Worker } from './executors/context.js';
import type { BuildVertices } from './progress.js';
import type { BuildOptions, State } from './types.js';

/** Write the image (config blob + record) and its tags. */
export async function exportImage(w: Worker, state: State, o: BuildOptions, vertices: BuildVertices): Promise<string> {
  const exporting = vertices.exporting();
  exporting.start();
  // Created is the last step's time: a build served wholly from the cache gives the same image (and ID)
  // again, as docker build does.
  const writing = new Date();
  const digest = await exporting.guard(putConfig(w, imageConfigOf(state, o.labels)));
  const refs = o.tags.map((t) => parseImageReference(t));
  // After a classic build the image is its last step's (or that step's child, with --label).
  const last = vertices.mode === 'classic' ? w.imageOf.get(state) : undefined;
  const parent = last && last !== digest ? { parent: last } : {};
  await exporting.guard(w.d.images.recordImage({ id: digest, configDigest: digest, layers: state.layers, repoDigests: [], ...parent }, refs));
  exporting.status(`writing image ${digest}`, writing);
  for (const r of refs) exporting.status(`naming to ${normalizedString(r)}`, new Date());
  exporting.done();
  o.progress({ aux: { ID: digest } });
  vertices.classic(`Successfully built ${digest.slice(7, 19)}\n`);
  for (const r of refs) vertices.classic(`Successfully tagged ${familiarString(r)}\n`);
  return digest;
}

/** A classic step's image: its state as an untagged image whose Parent is the step before's (the same
 *  image when the step changed nothing, e.g. ARG). Its config is the one `exportImage` would write, so the
 *  last step's image is the image built, and a cached step gives the same ID again. */
export async function stepImage(w: Worker, state: State, parent: string | undefined): Promise<string> {
  const digest = await putConfig(w, imageConfigOf(state, {}));
  if (digest !== parent && !w.d.images.store.get(digest)) {
    await w.d.images.recordImage({ id: digest, configDigest: digest, layers: state.layers, repoDigests: [], ...(parent ? { parent } : {}) }, []);
  }
  w.imageOf.set(state, digest);
  return digest;
}

/** Store an image config blob. The config of an image that exists (a build served from the cache makes
 *  the same image again) is not written, nor synced, a second time: its record keeps it from GC. */
async function putConfig(w: Worker, config: OciImageConfig): Promise<string> {
  const data = JSON.stringify(config);
  const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
  const stored = !!w.d.images.store.get(digest) && (await w.d.images.content.has(digest));
  if (!stored) await w.d.images.content.putBytes(data, digest);
  return digest;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The image config of a state: created is its last step's time (a build wholly from the cache gives the
 *  same image, ID included, as docker build does); maps with sorted keys, as Go writes them (dockerd's JSON). */
function imageConfigOf(state: State, labels: Record<string, string>): OciImageConfig {
  const created = state.config.history?.at(-1)?.created ?? new Date().toISOString();
  const cfg: OciImageConfig = { ...state.config, created, rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) } };
  if (Object.keys(labels).length) cfg.config = { ...cfg.config, Labels: { ...(cfg.config?.Labels ?? {}), ...labels } };
  const c = { ...cfg.config };
  for (const k of ['ExposedPorts', 'Volumes', 'Labels'] as const) if (c[k]) c[k] = sortKeys(c[k] as Record<string, never>);
  cfg.config = c;
  return cfg;
}
