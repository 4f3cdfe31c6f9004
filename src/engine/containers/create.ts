// Creating a container (Docker's rules, its image's config merged, volumes and snapshot made before
// the record) and the names containers go by: generated, reserved while a create runs, renamed.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { ContainerCreateRequest, HostConfig } from '../../api/types.js';
import { Conflict, InvalidParameter, NotFound } from '../../lib/errors.js';
import { traced, traceStart } from '../../lib/trace.js';
import { cgroupControllers, discardUnsupportedLimits } from '../cgroups.js';
import { adaptHostConfig, validateHostConfig } from '../runtime/validate.js';
import { commandLine, mergeConfig } from './config.js';
import { ContainerPart, type ContainerVolumes } from './context.js';
import { normalizeLogConfig } from './log-config.js';
import { parseLinks } from './links.js';
import { generateName, normalizeName } from './names.js';
import { newState, type ContainerRecord } from './record.js';

export class ContainerCreator extends ContainerPart {
  private readonly reservedNames = new Set<string>();

  async create(req: ContainerCreateRequest, name?: string, opts: { platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    if (!req.Image) throw new InvalidParameter('Config cannot be empty in order to create a container');
    const hostConfig: HostConfig = req.HostConfig ?? {};
    validateHostConfig(hostConfig);
    const limits = discardUnsupportedLimits(hostConfig, await cgroupControllers());
    if (limits.error) throw new InvalidParameter(limits.error);
    // Each link names an existing container (dockerd's registerLinks, before anything is created).
    for (const link of parseLinks(hostConfig.Links)) this.store.get(link.target);
    hostConfig.LogConfig = normalizeLogConfig(hostConfig.LogConfig, this.o.logOpts);
    const networks = this.o.networks().endpointsForCreate(hostConfig, req.NetworkingConfig?.EndpointsConfig ?? undefined, req.MacAddress || undefined);
    const endImage = traceStart('create: resolve image');
    const image = await this.o.images.resolve(req.Image);
    const imageConfig = await this.o.images.imageConfig(image.id);
    endImage();
    if (opts.platform) assertPlatform(req.Image, opts.platform, imageConfig);
    const id = randomBytes(32).toString('hex');
    const config = mergeConfig(req, imageConfig.config ?? {}, id.slice(0, 12));
    const fullName = name ? normalizeName(name) : generateName((n) => this.nameInUse(n));
    this.assertNameFree(fullName);
    const volumes = this.o.volumes?.();
    const plan = volumes?.plan({ hostConfig, volumes: config.Volumes, containerMounts: (ref) => this.store.get(ref).mounts ?? [] });
    this.reservedNames.add(fullName);
    try {
      const chain = await this.o.images.chainIds(image.id);
      const [entry, ...args] = commandLine(config);
      const rec: ContainerRecord = {
        id,
        name: fullName,
        created: new Date().toISOString(),
        path: entry!,
        args,
        image: image.id,
        imageRef: req.Image,
        parentChainId: chain[chain.length - 1],
        config,
        hostConfig: withHostDefaults(adaptHostConfig(hostConfig)),
        state: newState(),
        networks,
      };
      if (plan?.mounts.length) rec.mounts = plan.mounts;
      // Volumes and snapshot first, record last: a crash in between leaves an orphan snapshot that
      // init() sweeps (and volumes nothing uses). A failure here leaves nothing it created.
      const created = volumes && plan ? await volumes.acquire(id, plan) : [];
      try {
        // --rm: the writable layer goes with the container, so it is never synced (volatile: no sync at
        // the unmount, which otherwise writes back the whole upper file system, 5-45 ms on every exit here).
        await traced('create: snapshot prepare', this.o.snapshotter.prepare(id, rec.parentChainId, { init: true, volatile: !!rec.hostConfig.AutoRemove }));
        if (volumes && plan && (await volumes.wantsImageContent(plan.mounts))) await this.copyImageContent(rec, volumes);
        await traced('create: save record', this.store.save(rec));
      } catch (e) {
        volumes?.settle(id);
        await this.o.rootfs.remove(id).catch(() => undefined);
        await volumes?.rollback(created);
        throw e;
      } finally {
        volumes?.settle(id);
      }
      this.emit(rec, 'create');
      return { Id: id, Warnings: limits.warnings };
    } finally {
      this.reservedNames.delete(fullName);
    }
  }

  /** Docker's copy-up at create: the image's content into the container's empty volumes. */
  private async copyImageContent(rec: ContainerRecord, volumes: ContainerVolumes): Promise<void> {
    const rootfs = this.rootfs(rec.id);
    await fs.mkdir(rootfs, { recursive: true });
    await this.o.rootfs.mount(rec.id, rootfs);
    try {
      await volumes.copyImageContent(rec.mounts ?? [], rootfs);
    } finally {
      await this.o.rootfs.unmount(rootfs);
    }
  }

  private nameInUse(name: string): boolean {
    return this.store.nameTaken(name) || this.reservedNames.has(name);
  }

  private assertNameFree(name: string): void {
    this.store.assertNameFree(name);
    if (this.reservedNames.has(name)) throw new Conflict(`Conflict. The container name "${name}" is already in use.`);
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.store.get(ref);
    const name = normalizeName(newName);
    if (name === rec.name) throw new InvalidParameter(`Renaming a container with the same name as its current name`);
    this.assertNameFree(name);
    const old = rec.name;
    rec.name = name;
    // The embedded DNS answers to the new name at once (Docker's behaviour on user-defined networks).
    for (const ep of Object.values(rec.networks ?? {})) {
      if (ep.DNSNames) ep.DNSNames = ep.DNSNames.map((n) => (n === old.slice(1) ? name.slice(1) : n));
    }
    await this.store.save(rec);
    this.emit(rec, 'rename', { oldName: old });
  }
}

function withHostDefaults(hc: HostConfig): HostConfig {
  return {
    NetworkMode: 'default',
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    LogConfig: { Type: 'json-file', Config: {} },
    ...hc,
  };
}

/** create?platform=os/arch[/variant]: a local image of another platform is "not found", as dockerd 20.10 says. */
function assertPlatform(ref: string, wanted: string, cfg: { os?: string; architecture?: string; variant?: string }): void {
  const [os, arch, variant] = wanted.toLowerCase().split('/');
  const actual = [cfg.os ?? 'linux', cfg.architecture ?? 'amd64', ...(cfg.variant ? [cfg.variant] : [])].join('/');
  const matches = (!os || os === (cfg.os ?? 'linux')) && (!arch || arch === (cfg.architecture ?? 'amd64')) && (!variant || variant === cfg.variant);
  if (!matches) throw new NotFound(`image with reference ${ref} was found but does not match the specified platform: wanted ${wanted}, actual: ${actual}`);
}
