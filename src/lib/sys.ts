// System calls without a program: src/shim/berth-sys.node (Node-API, built with the shim). A container's
// start mounts its rootfs and makes its network sandbox, its exit unmounts both; as mount(8), umount(8),
// unshare(1) + ip(8) each is a fork + exec (a few ms each on the path of every `run`). Without the addon
// (no Node headers at build time, or BERTH_NO_SYS_ADDON=1) `sys` is undefined and callers run the
// programs, as before.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { traced } from './trace.js';

/** The most addresses (and gateways) createSandbox takes (berth-sys.c's MAX_LIST). */
export const SYS_MAX_LIST = 8;

/** A sandbox's first interface, as berth-sys.c's createSandbox takes it. */
export interface SandboxInterface {
  name: string;
  hostName: string;
  bridge: string;
  mac: string;
  owner?: string;
  /** "ip/len", or "ip/len nodad" (IPv6 without duplicate address detection). */
  addresses: string[];
  /** Default routes via these, on this interface. */
  gateways: string[];
}

interface Addon {
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void>;
  umount(target: string, flags: number): Promise<void>;
  /** A new network namespace pinned at `file` (which exists), lo up, and `itf` wired: see berth-sys.c. */
  createSandbox(file: string, itf: SandboxInterface | null): Promise<void>;
  /** nftables' ruleset generation: the same number, the same rules (undefined without nftables). */
  nftGeneration(): number | undefined;
}

export const MS_RDONLY = 1;
/** umount2: detach now, free when no longer busy (umount -l). */
export const MNT_DETACH = 2;

function load(): Addon | undefined {
  if (process.env.BERTH_NO_SYS_ADDON === '1') return undefined;
  const here = path.dirname(fileURLToPath(import.meta.url));
  try {
    return createRequire(import.meta.url)(path.join(here, '../../../src/shim/berth-sys.node')) as Addon;
  } catch {
    return undefined;
  }
}

const addon = load();

/** The system calls, traced as `sys mount` / `sys umount` (the programs are traced as `exec …`). */
export const sys: Addon | undefined = addon && {
  mount: (source, target, fstype, flags, data) => traced('sys mount', addon.mount(source, target, fstype, flags, data)),
  umount: (target, flags) => traced('sys umount', addon.umount(target, flags)),
  createSandbox: (file, itf) => traced('sys createSandbox', addon.createSandbox(file, itf)),
  nftGeneration: () => addon.nftGeneration(),
};
