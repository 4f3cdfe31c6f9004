// The system service: what `version` and `info` report about this engine and host.
import os from 'node:os';
import { promises as fs } from 'node:fs';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../api/version.js';
import { run } from '../lib/exec.js';
import type { ContainersService } from './containers/service.js';
import type { ImagesService } from './images/service.js';
import { cgroupLayout } from './cgroups.js';

export class SystemService {
  private runtimeVersion?: string;

  constructor(
    private readonly o: { root: string; runtime: string; containers: ContainersService; images: ImagesService; startedAt: Date; insecureRegistries?: string[] },
  ) {}

  private async runcVersion(): Promise<string> {
    if (!this.runtimeVersion) {
      const out = await run([this.o.runtime, '--version'], { allowFailure: true });
      this.runtimeVersion = /runc version (\S+)/.exec(out.stdout)?.[1] ?? 'unknown';
    }
    return this.runtimeVersion;
  }

  async version(): Promise<Record<string, unknown>> {
    const runc = await this.runcVersion();
    return {
      Platform: { Name: 'berth' },
      Components: [
        { Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: os.release() } },
        { Name: 'runc', Version: runc, Details: { GitCommit: '' } },
      ],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      BuildTime: this.o.startedAt.toISOString(),
    };
  }

  async info(): Promise<Record<string, unknown>> {
    const all = this.o.containers.store.all();
    const count = (s: string[]) => all.filter((c) => s.includes(c.state.status)).length;
    const images = await this.o.images.list({ all: true });
    const layout = await cgroupLayout();
    return {
      ID: 'berth',
      Containers: all.length,
      ContainersRunning: count(['running', 'restarting']),
      ContainersPaused: count(['paused']),
      ContainersStopped: count(['created', 'exited', 'dead']),
      Images: images.length,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Log: ['json-file', 'local', 'none'] },
      MemoryLimit: true,
      SwapLimit: layout === 'v1',
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: false,
      NFd: await countFds(),
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: layout === 'v2' ? '2' : '1',
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: await osName(),
      OSType: 'linux',
      Architecture: os.machine(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      // dockerd's shape: loopback is always insecure; named registries appear as index configs.
      RegistryConfig: {
        IndexConfigs: Object.fromEntries((this.o.insecureRegistries ?? []).map((r) => [r, { Name: r, Mirrors: [], Secure: false, Official: false }])),
        InsecureRegistryCIDRs: ['127.0.0.0/8'],
        Mirrors: [],
      },
      DockerRootDir: this.o.root,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { runc: { path: this.o.runtime } },
      DefaultRuntime: 'runc',
      Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: '', Expected: '' },
      RuncCommit: { ID: await this.runcVersion(), Expected: '' },
      InitCommit: { ID: '', Expected: '' },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      Warnings: [],
    };
  }
}

export function goArch(): string {
  const a = os.arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

async function countFds(): Promise<number> {
  try {
    return (await fs.readdir('/proc/self/fd')).length;
  } catch {
    return 0;
  }
}

async function osName(): Promise<string> {
  try {
    const txt = await fs.readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(txt)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}
