// Launching a container: its rootfs mounted and its network set up (side by side), links and volumes,
// /etc files and the OCI bundle written, its berth-shim spawned, which creates and starts it (one
// `runc run --detach` where it can) — and undoing all of it when a start fails.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { HostConfig } from '../../api/types.js';
import { Conflict, SystemError, messageOf } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { traced, traceStart } from '../../lib/trace.js';
import { secureJoin } from '../../lib/securejoin.js';
import { cgroupLayout } from '../cgroups.js';
import type { LogSettings } from '../runtime/runtime.js';
import { buildSpec, loadSeccompProfile, type OciSpec } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { AttachPlumbing } from './attach.js';
import { ContainerPart, type ContainerContext } from './context.js';
import { containerFiles, writeContainerFiles } from './files.js';
import { probeCommand } from './health.js';
import { linkEnv, linkHost, linkedChild, parseLinks } from './links.js';
import { logDriver, logFile, resolveLogOptions } from './log-config.js';
import { ZERO_TIME, type ContainerRecord } from './record.js';

export class Launcher extends ContainerPart {
  constructor(
    ctx: ContainerContext,
    private readonly attaches: AttachPlumbing,
  ) {
    super(ctx);
  }

  /** Attaches made before the start, connected as it starts (attach.ts). */
  private get pendingAttach(): AttachPlumbing['pendingAttach'] {
    return this.attaches.pendingAttach;
  }
  private connectPendingAttaches(rec: ContainerRecord): Promise<void> {
    return this.attaches.connectPendingAttaches(rec);
  }

  /** Legacy links on the default bridge: their /etc/hosts lines and variables (each target must be running). */
  private resolveLinks(rec: ContainerRecord): { hosts: string[]; env: string[] } {
    const out = { hosts: [] as string[], env: [] as string[] };
    if (!rec.networks?.bridge) return out;
    for (const link of parseLinks(rec.hostConfig.Links)) {
      const { child, ip } = linkedChild(rec, link, (ref) => this.store.get(ref));
      out.hosts.push(linkHost(link, child, ip));
      out.env.push(...linkEnv(rec.name, link, child, ip));
    }
    return out;
  }

  /** Mount the rootfs, write the bundle, start the shim and runc; returns the container's pid. */
  async launch(rec: ContainerRecord): Promise<number> {
    const namespacePaths = this.sharedNamespaces(rec.hostConfig);
    const stateDir = this.stateDir(rec.id);
    await traced('launch: clear state dir', fs.rm(stateDir, { recursive: true, force: true }));
    const links = this.resolveLinks(rec);
    const probe = probeCommand(rec.config.Healthcheck);
    // Without a terminal or a probe, the runtime's monitor is started now, beside the mount and the
    // sandbox, and starts the container once the bundle is written (`bundle` settles).
    let bundle: { resolve(spec: OciSpec): void; reject(e: unknown): void } | undefined;
    const early = !rec.config.Tty && !probe ? this.createEarly(rec, stateDir, (b) => (bundle = b)) : undefined;
    try {
      return await this.launchWith(rec, { links, namespacePaths }, early && { pid: early, bundle: bundle! });
    } catch (e) {
      bundle?.reject(e);
      await early?.catch(() => undefined);
      throw e;
    }
  }

  /** The runtime's create with the bundle still to come: `bind` receives how to complete or cancel it. */
  private createEarly(rec: ContainerRecord, stateDir: string, bind: (b: { resolve(spec: OciSpec): void; reject(e: unknown): void }) => void): Promise<number> {
    const spec = new Promise<OciSpec>((resolve, reject) => bind({ resolve, reject }));
    const pid = (async () => {
      const endCreate = traceStart('launch: shim + runc create/run');
      const p = await this.runtime.create(rec.id, {
        bundle: stateDir,
        spec,
        cgroupsPath: cgroupsPathOf(rec.id),
        tty: false,
        stdin: rec.config.OpenStdin ?? false,
        stdinOnce: rec.config.StdinOnce ?? false,
        log: await this.logSettings(rec),
        startNow: { beforeStart: () => traced('launch: connect attaches', this.connectPendingAttaches(rec)) },
      });
      endCreate();
      return p;
    })();
    pid.catch(() => undefined); // awaited by launch
    return pid;
  }

  /** launch's work after the state dir is cleared; `early`: the runtime's create already under way. */
  private async launchWith(
    rec: ContainerRecord,
    { links, namespacePaths }: { links: { hosts: string[]; env: string[] }; namespacePaths: { pid?: string; ipc?: string } },
    early?: { pid: Promise<number>; bundle: { resolve(spec: OciSpec): void } },
  ): Promise<number> {
    const rootfs = this.rootfs(rec.id);
    const stateDir = this.stateDir(rec.id);
    // The rootfs and the network sandbox side by side (neither needs the other); both are undone by
    // cleanupFailedStart, so a failure waits for the other to settle first.
    const [mounted, attached] = await Promise.allSettled([
      traced('launch: mount rootfs', async () => {
        await fs.mkdir(rootfs, { recursive: true });
        await this.o.rootfs.mount(rec.id, rootfs);
      }),
      traced('launch: network attach', this.o.networks().attach(rec)),
    ]);
    if (mounted.status === 'rejected') throw mounted.reason;
    if (attached.status === 'rejected') throw attached.reason;
    const netnsPath = attached.value;
    const volumeMounts = rec.mounts?.length ? await this.o.volumes?.().setup(rec, rootfs) : undefined;
    const files = containerFiles(this.store.dir(rec.id));
    const hc = rec.hostConfig;
    const endFiles = traceStart('launch: /etc files');
    await writeContainerFiles(files, {
      hostname: rec.config.Hostname!,
      extraHosts: [...links.hosts, ...(hc.ExtraHosts ?? []).map((h) => h.replace(/:host-gateway$/, () => ':' + this.o.networks().hostGatewayIp()))],
      dns: hc.Dns ?? [],
      dnsSearch: hc.DnsSearch ?? [],
      dnsOptions: hc.DnsOptions ?? [],
      embeddedDns: this.o.networks().embeddedDns(rec),
      hostNetwork: hc.NetworkMode === 'host',
      ip: Object.values(rec.networks ?? {}).find((ep) => ep.IPAddress)?.IPAddress,
    });
    endFiles();
    const user = await traced('launch: resolve user', resolveUser(rootfs, rec.config.User, hc.GroupAdd ?? undefined));
    const endSpec = traceStart('launch: build spec');
    const seccompOpt = (hc.SecurityOpt ?? []).find((o) => o.startsWith('seccomp=') || o.startsWith('seccomp:'));
    const seccompValue = seccompOpt?.slice('seccomp='.length);
    const spec = buildSpec({
      id: rec.id,
      rootfs,
      args: [rec.path, ...rec.args],
      // The container's own variables win over its links' (dockerd's ReplaceOrAppendEnvValues).
      env: [...new Map([...links.env, ...(rec.config.Env ?? [])].map((v) => [v.split('=')[0], v])).values()],
      cwd: rec.config.WorkingDir || '/',
      user,
      tty: rec.config.Tty ?? false,
      hostname: rec.config.Hostname!,
      domainname: rec.config.Domainname,
      hostConfig: hc,
      files,
      cgroupsPath: cgroupsPathOf(rec.id),
      cgroupns: (await cgroupLayout()) === 'v2',
      netnsPath,
      namespacePaths,
      initPath: hc.Init ? this.o.initBinary : undefined,
      extraMounts: volumeMounts?.mounts,
      rootfsPropagation: volumeMounts?.rootfsPropagation,
      // The default profile and `unconfined` are handled by buildSpec; only a custom one is loaded here.
      seccompProfile: seccompValue && seccompValue !== 'unconfined' ? await loadSeccompProfile(seccompValue) : undefined,
    });
    endSpec();
    const endBundle = traceStart('launch: write bundle');
    await fs.mkdir(stateDir, { recursive: true });
    // Resolved in the root (SetupWorkingDirectory): an image's symlink must not lead the mkdir onto the host.
    if (rec.config.WorkingDir) await fs.mkdir(await secureJoin(rootfs, rec.config.WorkingDir), { recursive: true }).catch(() => undefined);
    // Written again at every start (and under EXEC-ROOT, tmpfs where it is /run): no fsync.
    await writeFileAtomic(path.join(stateDir, 'config.json'), JSON.stringify(spec), 0o644, { durable: false });
    endBundle();
    if (early) {
      early.bundle.resolve(spec);
      return early.pid;
    }
    const probe = probeCommand(rec.config.Healthcheck);
    const endCreate = traceStart('launch: shim + runc create/run');
    const pid = await this.runtime.create(rec.id, {
      bundle: stateDir,
      spec,
      tty: rec.config.Tty ?? false,
      stdin: rec.config.OpenStdin ?? false,
      stdinOnce: rec.config.StdinOnce ?? false,
      log: await this.logSettings(rec),
      probe: probe && { args: probe, home: user.home },
      // Created and started in one go; the attaches made before the start are connected first.
      startNow: {
        beforeStart: async () => {
          await traced('launch: connect attaches', this.connectPendingAttaches(rec));
          const size = hc.ConsoleSize;
          if (rec.config.Tty && size && size[0] > 0 && size[1] > 0) await this.runtime.resize(rec.id, size[0], size[1]).catch(() => undefined);
        },
      },
    });
    endCreate();
    return pid;
  }

  private async logSettings(rec: ContainerRecord): Promise<LogSettings | undefined> {
    const lc = rec.hostConfig.LogConfig;
    const type = logDriver(lc);
    const own = lc?.Config ?? {};
    const r = resolveLogOptions(type, type === 'json-file' ? { ...this.o.logOpts, ...own } : own);
    if (!r) return undefined;
    const file = logFile(this.store.dir(rec.id), rec.id, lc);
    await fs.mkdir(path.dirname(file), { recursive: true });
    return { path: file, ...r };
  }

  async cleanupFailedStart(rec: ContainerRecord, err: unknown): Promise<void> {
    await this.runtime.delete(rec.id, { force: true }).catch(() => undefined);
    await this.o.networks().detach(rec).catch(() => undefined);
    await this.o.volumes?.().release(rec).catch(() => undefined);
    await this.o.rootfs.unmount(this.rootfs(rec.id)).catch(() => undefined);
    const msg = messageOf(err);
    rec.state = { ...rec.state, status: rec.state.startedAt === ZERO_TIME ? 'created' : 'exited', pid: 0, error: msg, exitCode: exitCodeForStartError(msg) };
    await this.store.save(rec);
    for (const p of this.pendingAttach.get(rec.id) ?? []) {
      p.client.end();
      p.done('ended');
    }
    this.pendingAttach.delete(rec.id);
    this.bus.emit(`exit:${rec.id}`, rec.state.exitCode, msg);
    if (rec.hostConfig.AutoRemove) await this.remove(rec.id, { force: true, volumes: true }).catch(() => undefined);
  }

  /** --pid/--ipc container:<name>: the running donor's namespaces, refused as dockerd refuses them. */
  private sharedNamespaces(hc: HostConfig): { pid?: string; ipc?: string } {
    const donor = (mode: string | undefined, what: string) => {
      if (!mode?.startsWith('container:')) return undefined;
      const c = this.store.get(mode.slice('container:'.length));
      if (c.state.status !== 'running' && c.state.status !== 'paused') throw new Conflict(`cannot join ${what} of a non running container: ${c.id}`);
      return c;
    };
    const pid = donor(hc.PidMode, 'PID');
    const ipc = donor(hc.IpcMode, 'IPC');
    if (ipc && ipc.hostConfig.IpcMode !== 'shareable') throw new Conflict(`container ${ipc.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    return { ...(pid ? { pid: `/proc/${pid.state.pid}/ns/pid` } : {}), ...(ipc ? { ipc: `/proc/${ipc.state.pid}/ns/ipc` } : {}) };
  }
}

/** The container's cgroup, under berth's own. */
function cgroupsPathOf(id: string): string {
  return `/berth/${id}`;
}

/** Docker's exit codes for a container that could not start: 127 not found (or a mount of the wrong
 *  kind), 126 not executable. */
function exitCodeForStartError(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied/.test(msg)) return 126;
  if (msg.includes(MOUNT_KIND_HINT)) return 127;
  return 128;
}

const MOUNT_KIND_HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

/** dockerd's translateContainerdStartErr: a runtime's ENOTDIR is most often a file bound onto a
 *  directory or back, so say so. */
export function withStartHint(e: unknown): unknown {
  if (!(e instanceof SystemError) || !e.message.includes('not a directory') || e.message.includes(MOUNT_KIND_HINT)) return e;
  return new SystemError(`${e.message}: ${MOUNT_KIND_HINT}`);
}
