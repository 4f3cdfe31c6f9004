// Docker-format seccomp profiles (moby profiles/seccomp) and their conversion to the OCI runtime spec:
// arch selection for the host, and rules kept only when their includes/excludes match.
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import { InvalidParameter } from '../../lib/errors.js';

export const DEFAULT_SECCOMP_PROFILE_PATH = '/usr/share/containers/seccomp.json';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  name?: string;
  names?: string[];
  action: string;
  args?: SeccompArg[] | null;
  errnoRet?: number;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  flags?: string[];
  syscalls?: DockerSeccompSyscall[] | null;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSeccompSyscall[];
}

/** Node's process.arch → Go's GOARCH (the names profiles use in includes.arches). */
const GOARCH: Record<string, string> = {
  x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', s390: 's390',
  mips: 'mips', mipsel: 'mipsle', riscv64: 'riscv64',
};

/** GOARCH → libseccomp's native arch name (moby's nativeToSeccomp). */
const NATIVE_TO_SECCOMP: Record<string, string> = {
  '386': 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32', mipsle: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

export function hostGoArch(): string {
  return GOARCH[process.arch] ?? process.arch;
}

let defaultCache: DockerSeccompProfile | undefined;

function parseProfile(json: string, where: string): DockerSeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(json);
  } catch (e) {
    throw new InvalidParameter(`Decoding seccomp profile failed: ${(e as Error).message} (${where})`);
  }
  if (typeof p !== 'object' || p === null || typeof (p as DockerSeccompProfile).defaultAction !== 'string') {
    throw new InvalidParameter(`Decoding seccomp profile failed: no defaultAction (${where})`);
  }
  return p as DockerSeccompProfile;
}

function missing(file: string, e: unknown): never {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new InvalidParameter(`opening seccomp profile (${file}) failed: no such file or directory`);
  }
  throw new InvalidParameter(`opening seccomp profile (${file}) failed: ${(e as Error).message}`);
}

/** A profile's JSON text (what the docker CLI sends for --security-opt seccomp=FILE) or a path to one;
 *  nothing → Docker's default, read once and kept in memory (every container start needs it). */
export async function loadSeccompProfile(pathOrJson?: string): Promise<DockerSeccompProfile> {
  if (pathOrJson === undefined || pathOrJson === DEFAULT_SECCOMP_PROFILE_PATH) {
    if (!defaultCache) {
      let text: string;
      try {
        text = await fs.readFile(DEFAULT_SECCOMP_PROFILE_PATH, 'utf8');
      } catch (e) {
        missing(DEFAULT_SECCOMP_PROFILE_PATH, e);
      }
      defaultCache = parseProfile(text, DEFAULT_SECCOMP_PROFILE_PATH);
    }
    return defaultCache;
  }
  if (pathOrJson.trimStart().startsWith('{')) return parseProfile(pathOrJson, 'inline');
  let text: string;
  try {
    text = await fs.readFile(pathOrJson, 'utf8');
  } catch (e) {
    missing(pathOrJson, e);
  }
  return parseProfile(text, pathOrJson);
}

/** The synchronous twin of loadSeccompProfile for buildSpec (which is synchronous); shares the cache. */
export function loadSeccompProfileSync(pathOrJson?: string): DockerSeccompProfile {
  if (pathOrJson === undefined || pathOrJson === DEFAULT_SECCOMP_PROFILE_PATH) {
    if (!defaultCache) {
      try {
        defaultCache = parseProfile(readFileSync(DEFAULT_SECCOMP_PROFILE_PATH, 'utf8'), DEFAULT_SECCOMP_PROFILE_PATH);
      } catch (e) {
        if (e instanceof InvalidParameter) throw e;
        missing(DEFAULT_SECCOMP_PROFILE_PATH, e);
      }
    }
    return defaultCache;
  }
  if (pathOrJson.trimStart().startsWith('{')) return parseProfile(pathOrJson, 'inline');
  try {
    return parseProfile(readFileSync(pathOrJson, 'utf8'), pathOrJson);
  } catch (e) {
    if (e instanceof InvalidParameter) throw e;
    missing(pathOrJson, e);
  }
}

/** "5.10.0-21-amd64" → [5, 10]; compared as major.minor like moby's kernelGreaterEqualThan. */
function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function kernelAtLeast(min: string, release: string): boolean {
  const [kMaj, kMin] = kernelVersion(release);
  const [mMaj, mMin] = kernelVersion(min);
  if (mMaj === 0 && mMin === 0) throw new InvalidParameter(`seccomp: invalid minKernel "${min}"`);
  return kMaj > mMaj || (kMaj === mMaj && kMin >= mMin);
}

export interface SeccompContext {
  /** The container's bounding capabilities ("CAP_..."). */
  capabilities: readonly string[];
  /** Go-style architecture name; default: the host's. */
  goArch?: string;
  /** Kernel release; default: the host's. */
  kernelRelease?: string;
}

function architectures(profile: DockerSeccompProfile, goArch: string): string[] | undefined {
  const archMap = profile.archMap ?? [];
  if ((profile.architectures ?? []).length > 0 && archMap.length > 0) {
    throw new InvalidParameter("seccomp: 'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  if (archMap.length === 0) return profile.architectures && profile.architectures.length > 0 ? [...profile.architectures] : undefined;
  const native = NATIVE_TO_SECCOMP[goArch];
  const out: string[] = [];
  for (const a of archMap) {
    if (a.architecture === native) out.push(a.architecture, ...(a.subArchitectures ?? []));
  }
  return out;
}

function ruleApplies(call: DockerSeccompSyscall, ctx: Required<SeccompContext>): boolean {
  const ex = call.excludes;
  if (ex) {
    if (ex.arches?.includes(ctx.goArch)) return false;
    if (ex.caps?.some((c) => ctx.capabilities.includes(c))) return false;
    if (ex.minKernel && kernelAtLeast(ex.minKernel, ctx.kernelRelease)) return false;
  }
  const inc = call.includes;
  if (inc) {
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(ctx.goArch)) return false;
    if (inc.caps?.some((c) => !ctx.capabilities.includes(c))) return false;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel, ctx.kernelRelease)) return false;
  }
  return true;
}

function convertRule(call: DockerSeccompSyscall): OciSeccompSyscall {
  if (call.name && call.names && call.names.length > 0) throw new InvalidParameter("seccomp: use 'name' or 'names', but not both");
  const rule: OciSeccompSyscall = { names: call.name ? [call.name] : [...(call.names ?? [])], action: call.action };
  if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
  if (call.args && call.args.length > 0) {
    rule.args = call.args.map((a) => (a.valueTwo ? { index: a.index, value: a.value, valueTwo: a.valueTwo, op: a.op } : { index: a.index, value: a.value, op: a.op }));
  }
  return rule;
}

/** Docker profile → runtime-spec seccomp for a container with the given capabilities (moby setupSeccomp). */
export function convertSeccompProfile(profile: DockerSeccompProfile, context: SeccompContext): OciSeccomp {
  const ctx: Required<SeccompContext> = {
    capabilities: context.capabilities,
    goArch: context.goArch ?? hostGoArch(),
    kernelRelease: context.kernelRelease ?? os.release(),
  };
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const arches = architectures(profile, ctx.goArch);
  if (arches) out.architectures = arches;
  if (profile.flags && profile.flags.length > 0) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  out.syscalls = (profile.syscalls ?? []).filter((c) => ruleApplies(c, ctx)).map(convertRule);
  return out;
}
