// `docker commit`: a container's changes become a new image on top of its image, as dockerd's
// CreateImageFromContainer: the container's upper dir as one layer (overlay whiteouts turned back into
// `.wh.` entries by snapshots/diff.ts), the container's config with the `-c` changes applied, a history
// entry (author, comment, the container's command as created_by), the image as parent. A running
// container is paused (freezer) while its files are read, unless told not to. Bad input is refused
// before anything is paused or written.
import type { OciImageConfig } from '../../api/image-config.js';
import type { ContainerConfig, ImageRuntimeConfig } from '../../api/types.js';
import { ENGINE_VERSION } from '../../api/version.js';
import { Conflict, InvalidParameter } from '../../lib/errors.js';
import { tee } from '../../lib/streams.js';
import type { EventsService } from '../events.js';
import { applyChanges } from '../images/changes.js';
import { familiarString, parseImageReference, type Reference } from '../../image-spec/reference.js';
import { LAYER_TAR, type ImagesService } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import { chainIds } from '../snapshots/layers.js';
import { layerTar } from '../snapshots/diff.js';
import { upperDirOf } from '../snapshots/mount.js';
import type { RootfsMounts } from '../snapshots/rootfs.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { ContainersService } from './service.js';
import { mergeHealthcheck } from './config.js';

export interface CommitOptions {
  /** "repo" or "repo:tag" (the API's repo), with `tag` apart as the API sends it. */
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause a running container while committing (the default, as in Docker). */
  pause?: boolean;
  /** Dockerfile instructions applied to the config (CMD, ENV, LABEL, ...). */
  changes?: string[];
  /** A config to start from instead of the container's (the API's request body). */
  config?: ContainerConfig;
}

export interface CommitDeps {
  containers: ContainersService;
  images: ImagesService;
  snapshotter: Snapshotter;
  rootfs: RootfsMounts;
  events: EventsService;
}

/** dockerd's RepoTagReference: no repo, no tag; a digest is refused. */
export function commitReference(repo: string | undefined, tag: string | undefined): Reference | undefined {
  if (!repo) return undefined;
  const ref = parseImageReference(tag ? `${repo}:${tag}` : repo);
  if (ref.digest) throw new InvalidParameter('cannot commit to digest reference');
  return ref;
}

/** moby's commit merge: what the given config leaves unset comes from the container's. */
function mergeConfig(user: ImageRuntimeConfig & ContainerConfig, base: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...user };
  out.User ||= base.User;
  out.ExposedPorts = { ...(base.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  const env = [...(user.Env ?? [])];
  for (const e of base.Env ?? []) if (!env.some((u) => u.split('=')[0] === e.split('=')[0])) env.push(e);
  out.Env = env;
  out.Labels = { ...(base.Labels ?? {}), ...(user.Labels ?? {}) };
  if (!user.Entrypoint?.length) {
    if (!user.Cmd?.length) out.Cmd = base.Cmd;
    if (user.Entrypoint == null) out.Entrypoint = base.Entrypoint;
  }
  const health = mergeHealthcheck(user.Healthcheck, base.Healthcheck);
  if (health) out.Healthcheck = health;
  else delete out.Healthcheck;
  out.WorkingDir ||= base.WorkingDir;
  out.Volumes = user.Volumes && Object.keys(user.Volumes).length ? { ...(base.Volumes ?? {}), ...user.Volumes } : base.Volumes;
  out.StopSignal ||= base.StopSignal;
  return out;
}

/** Commit a container; returns the new image ID. */
export async function commitContainer(d: CommitDeps, ref: string, o: CommitOptions = {}): Promise<string> {
  const rec = d.containers.store.get(ref);
  if (rec.state.status === 'dead') throw new Conflict(`You cannot commit container ${rec.id} which is Dead`);
  if (rec.state.status === 'removing') throw new Conflict(`You cannot commit container ${rec.id} which is being removed`);
  const target = commitReference(o.repo, o.tag);
  // The changes are checked (and applied) before anything happens to the container.
  const given = o.config && Object.keys(o.config).length ? o.config : undefined;
  const config: ContainerConfig = given ? mergeConfig(applyChanges(given, o.changes ?? []), rec.config) : applyChanges(rec.config, o.changes ?? []);
  const parent = await d.images.imageConfig(rec.image);
  const parentRec = d.images.store.get(rec.image);
  if (!parentRec) throw new Conflict(`the image of container ${rec.id} is missing`);

  let paused = false;
  if (o.pause !== false && rec.state.status === 'running') {
    paused = await d.containers.pause(rec.id).then(
      () => true,
      () => false,
    );
  }
  const release = d.rootfs.hold(rec.id);
  let id: string;
  try {
    id = await d.images.unrecorded(async () => {
      const tar = await layerTar(upperDirOf(await d.snapshotter.mounts(rec.id)) ?? '');
      const parentChains = chainIds(parentRec.layers.map((l) => l.diffId));
      let layer: LayerRef | undefined;
      if (tar.empty) tar.stream.resume();
      else {
        const [toBlob, toLayer] = tee(tar.stream, 2);
        const [blob, info, produced] = await Promise.allSettled([d.images.content.put(toBlob!), d.images.layers.extract(toLayer!, parentChains[parentChains.length - 1]), tar.done]);
        for (const r of [produced, blob, info]) if (r.status === 'rejected') throw r.reason;
        const b = (blob as PromiseFulfilledResult<{ digest: string; size: number }>).value;
        const l = (info as PromiseFulfilledResult<{ diffId: string }>).value;
        layer = { diffId: l.diffId, digest: b.digest, mediaType: LAYER_TAR, size: b.size };
      }
      const now = new Date().toISOString();
      // dockerd's NewChildImage: the container's command joined as created_by, no layer when nothing changed.
      const history = {
        created: now,
        ...(o.author ? { author: o.author } : {}),
        created_by: (rec.config.Cmd ?? []).join(' '),
        ...(o.comment ? { comment: o.comment } : {}),
        ...(layer ? {} : { empty_layer: true }),
      };
      const cfg: OciImageConfig = {
        architecture: parent.architecture,
        ...(parent.variant ? { variant: parent.variant } : {}),
        os: parent.os,
        ...(o.author ? { author: o.author } : {}),
        config,
        container: rec.id,
        container_config: rec.config,
        created: now,
        docker_version: ENGINE_VERSION,
        ...(o.comment ? { comment: o.comment } : {}),
        history: [...(parent.history ?? []), history],
        rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])] },
      };
      const { digest } = await d.images.content.putBytes(JSON.stringify(cfg));
      await d.images.recordImage({ id: digest, configDigest: digest, layers: [...parentRec.layers, ...(layer ? [layer] : [])], repoDigests: [], parent: rec.image }, []);
      return digest;
    });
  } catch (e) {
    // Whatever the failed commit stored (a blob, an extracted layer) is named by no image: sweep it.
    await d.images.collectGarbage().catch(() => undefined);
    throw e;
  } finally {
    release();
    if (paused) await d.containers.unpause(rec.id).catch(() => undefined);
  }
  if (target) await d.images.tag(id, familiarString(target));
  d.events.emit('container', 'commit', rec.id, {
    ...(rec.config.Labels ?? {}),
    comment: o.comment ?? '',
    image: rec.imageRef,
    imageID: id,
    imageRef: target ? familiarString(target) : '',
    name: rec.name.slice(1),
  });
  return id;
}
