// Linux capabilities as Docker computes them (moby oci/caps): the default set, --cap-add/--cap-drop
// normalisation and "ALL", and the full set for privileged containers.
import { readFileSync } from 'node:fs';
import { InvalidParameter } from '../../lib/errors.js';

/** Every capability the kernel may know, indexed by its number (linux/capability.h). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default capability set, in Docker's order (it shows in config.json). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

let allCache: string[] | undefined;

/** All capabilities up to the kernel's cap_last_cap that this process may pass on: runc fails
 *  ("unable to apply caps") when asked for one outside its own bounding set, which is what
 *  Docker does on hosts like this sandbox (no CAP_SYS_RESOURCE), so we leave those out. */
export function allCapabilities(): string[] {
  if (allCache) return allCache;
  let last = KNOWN_CAPABILITIES.length - 1;
  try {
    last = Math.min(last, Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim(), 10));
  } catch {
    // not Linux /proc: assume the names we know
  }
  const bounding = ownBoundingSet();
  allCache = KNOWN_CAPABILITIES.slice(0, last + 1).filter((_c, i) => bounding === undefined || (bounding >> BigInt(i)) & 1n);
  return allCache;
}

function ownBoundingSet(): bigint | undefined {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt('0x' + m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** "chown", "CAP_CHOWN", "cap_chown" → "CAP_CHOWN"; "all" → "ALL"; unknown → InvalidParameter. */
export function normalizeCapabilities(caps: readonly string[] | null | undefined): string[] {
  const out: string[] = [];
  for (const raw of caps ?? []) {
    let c = raw.toUpperCase();
    if (c !== 'ALL') {
      if (!c.startsWith('CAP_')) c = 'CAP_' + c;
      if (!KNOWN_CAPABILITIES.includes(c)) throw new InvalidParameter(`unknown capability: ${JSON.stringify(c)}`);
    }
    out.push(c);
  }
  return out;
}

/** The container's capability list (moby caps.TweakCapabilities). */
export function tweakCapabilities(adds: readonly string[] | null | undefined, drops: readonly string[] | null | undefined, privileged: boolean): string[] {
  if (privileged) return [...allCapabilities()];
  const capAdd = normalizeCapabilities(adds);
  const capDrop = normalizeCapabilities(drops);
  let caps: string[];
  if (capAdd.includes('ALL')) caps = allCapabilities().filter((c) => !capDrop.includes(c));
  else if (capDrop.includes('ALL')) caps = capAdd;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !capDrop.includes(c)), ...capAdd];
  return [...new Set(caps)];
}

/** The capability bit mask, as /proc/PID/status prints CapEff (for tests and inspect). */
export function capabilityMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const i = KNOWN_CAPABILITIES.indexOf(c);
    if (i >= 0) mask |= 1n << BigInt(i);
  }
  return mask.toString(16).padStart(16, '0');
}
