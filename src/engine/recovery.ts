// Start-up recovery: what a crash (SIGKILL, power loss) left behind that no running container accounts
// for — runtime containers (a build's RUN step, a start cut short), shims whose container record is gone,
// and mounts under the root and exec root (snapshots, build steps, network namespaces). It runs after the
// services have reconciled their records, so what is left is garbage. Each leftover is cleaned on its own:
// one that resists is logged and the rest still go, because berthd must start.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../lib/errors.js';
import { run } from '../lib/exec.js';
import { mountsUnder } from '../lib/mountinfo.js';
import type { ContainerRecord } from './containers/record.js';
import type { Runc } from './runtime/runc.js';
import { liveShimPid } from './runtime/shim.js';

export interface EngineLog {
  info(msg: string): void;
  error(msg: string): void;
}

export interface RecoveryOptions {
  root: string;
  execRoot: string;
  /** The runtime under EXEC-ROOT/runc: containers' and build steps' (named build-…). */
  runc: Runc;
  /** Every container record, after reconcile. */
  containers: ContainerRecord[];
  /** A container's shim state dir (EXEC-ROOT/c/<id prefix>). */
  stateDir(id: string): string;
  /** A named volume's directory. */
  volumeDir(name: string): string;
  log: EngineLog;
}

export async function recoverLeftovers(o: RecoveryOptions): Promise<void> {
  const running = o.containers.filter((r) => r.state.status === 'running' || r.state.status === 'paused');
  await removeStrayRuntimeContainers(o, new Set(running.map((r) => r.id)));
  await endStrayShims(o);
  await unmountStrayMounts(o, running);
}

/** runc containers that no running container owns: a build step's, or one whose start a crash cut short. */
async function removeStrayRuntimeContainers(o: RecoveryOptions, running: Set<string>): Promise<void> {
  for (const c of await o.runc.list()) {
    if (running.has(c.id)) continue;
    await attempt(o.log, `removed leftover runtime container ${c.id} (${c.status})`, () => o.runc.delete(c.id));
  }
}

/** Shim state dirs whose container record is gone (a crash during rm): end the shim, drop the dir. */
async function endStrayShims(o: RecoveryOptions): Promise<void> {
  const dir = path.join(o.execRoot, 'c');
  const known = new Set(o.containers.map((r) => path.basename(o.stateDir(r.id))));
  for (const name of await fs.readdir(dir).catch((): string[] => [])) {
    if (known.has(name)) continue;
    const stateDir = path.join(dir, name);
    const pid = await liveShimPid(stateDir);
    await attempt(o.log, `removed the state of a shim without a container (${name}${pid ? `, pid ${pid} ended` : ''})`, async () => {
      if (pid) process.kill(pid, 'SIGKILL');
      await fs.rm(stateDir, { recursive: true, force: true });
    });
  }
}

/**
 * Unmount, deepest first, every mount under the exec root and below the root's top-level folders that no
 * running container owns. A mount right on the root or a top-level folder (a disk for /var/lib/berth/volumes)
 * is the administrator's, never ours to remove.
 */
async function unmountStrayMounts(o: RecoveryOptions, running: ContainerRecord[]): Promise<void> {
  const owned = running.flatMap((r) => [
    path.join(o.root, 'containers', r.id),
    o.stateDir(r.id),
    ...(r.sandbox?.key ? [r.sandbox.key] : []),
    ...(r.mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => o.volumeDir(m.Name!)),
  ]);
  const isOwned = (mp: string) => owned.some((p) => mp === p || mp.startsWith(p + '/'));
  const deepEnough = (mp: string) => path.relative(o.root, mp).split('/').length >= 2;
  const stray = [...mountsUnder(o.execRoot).filter((mp) => mp !== o.execRoot), ...mountsUnder(o.root).filter(deepEnough)]
    .filter((mp) => !isOwned(mp))
    .sort((a, b) => b.length - a.length);
  for (const mp of new Set(stray)) {
    await attempt(o.log, `unmounted leftover ${mp}`, async () => {
      // Mounts may be stacked on one point; a busy one (a process of a dead build step) is detached
      // now and freed by the kernel once unused.
      for (let i = 0; i < 8 && mountsUnder(mp).includes(mp); i++) {
        const r = await run(['umount', mp], { allowFailure: true });
        if (r.exitCode !== 0) await run(['umount', '-l', mp]);
      }
    });
  }
}

async function attempt(log: EngineLog, done: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    log.info(`recovery: ${done}`);
  } catch (e) {
    log.error(`recovery: could not finish "${done}": ${messageOf(e)}`);
  }
}
