// The health probe as berth-shim runs it itself ("probe" on its attach socket): what `runc exec` would
// set up for the probe's process, computed once at create from the container's spec and written to the
// state dir, so a probe costs the shim a fork and setns instead of a runc run.
import { promises as fs } from 'node:fs';
import { KNOWN_CAPABILITIES } from './capabilities.js';
import type { OciProcess, OciSpec } from './spec.js';

/** The file in the shim's state dir describing the probe process (berth-shim.c, load_probe_spec). */
export const PROBE_SPEC = 'probe.spec';

const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];
const U64_MAX = 18446744073709551615n;

function capMask(caps: readonly string[] | undefined): string {
  let m = 0n;
  for (const c of caps ?? []) {
    const i = KNOWN_CAPABILITIES.indexOf(c);
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m.toString(16);
}

/** What the shim needs to run `cmd` as `runc exec` would run it in this container — the container's
 *  process (user, groups, env plus HOME, cwd, capabilities, rlimits, no_new_privs, oom_score_adj) —
 *  as NUL-separated key/value pairs; undefined when the shim must leave probes to runc (a user
 *  namespace, an AppArmor profile, no probe). */
export function probeSpecFile(spec: OciSpec, cmd: string[] | undefined, home: string | undefined): Buffer | undefined {
  const p: OciProcess = spec.process;
  if (!cmd?.length || p.apparmorProfile || spec.linux.namespaces.some((n) => n.type === 'user')) return undefined;
  const kv: [string, string][] = [];
  for (const a of cmd) kv.push(['arg', a]);
  const env = [...p.env];
  if (home && !env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${home}`);
  for (const e of env) kv.push(['env', e]);
  kv.push(['cwd', p.cwd || '/'], ['uid', String(p.user.uid)], ['gid', String(p.user.gid)]);
  for (const g of p.user.additionalGids ?? []) kv.push(['group', String(g)]);
  const caps = p.capabilities ?? {};
  kv.push(['cap.bounding', capMask(caps.bounding)], ['cap.effective', capMask(caps.effective)], ['cap.permitted', capMask(caps.permitted)]);
  kv.push(['cap.inheritable', capMask(caps.inheritable)], ['cap.ambient', capMask(caps.ambient)]);
  const limit = (n: number) => (n < 0 ? U64_MAX : BigInt(n)).toString();
  for (const r of p.rlimits ?? []) {
    const res = RLIMITS.indexOf(r.type.replace(/^RLIMIT_/, ''));
    if (res < 0) return undefined;
    kv.push(['rlimit', `${res} ${limit(r.soft)} ${limit(r.hard)}`]);
  }
  if (p.noNewPrivileges) kv.push(['nnp', '1']);
  kv.push(['seccomp', spec.linux.seccomp ? '1' : '0']);
  if (p.oomScoreAdj !== undefined) kv.push(['oom', String(p.oomScoreAdj)]);
  if (kv.some(([, v]) => v.includes('\0'))) return undefined;
  return Buffer.from(kv.map(([k, v]) => `${k}\0${v}\0`).join(''));
}

/** The command a probe.spec runs (its "arg" entries); undefined without a readable one. */
export async function readProbeArgs(file: string): Promise<string[] | undefined> {
  const text = await fs.readFile(file, 'latin1').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.split('\0');
  const args: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'arg') args.push(Buffer.from(fields[i + 1]!, 'latin1').toString());
  return args;
}
