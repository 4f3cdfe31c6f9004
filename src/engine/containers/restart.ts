// Restart supervision: the monitor of each container's exit (from its shim, or exit.json when the
// shim is gone), what an exit releases, and Docker's restart policies with their back-off — including
// the policies' starts when berthd itself starts again.
import type { ExitStatus } from '../runtime/runtime.js';
import { traced } from '../../lib/trace.js';
import { ContainerPart } from './context.js';
import type { ContainerRecord } from './record.js';

const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 60_000;
const RESTART_RESET_MS = 10_000;

/** Docker's restart rules: never after a manual stop; on-failure only for non-zero exits, up to its count. */
export function shouldRestart(rec: ContainerRecord): boolean {
  const p = rec.hostConfig.RestartPolicy;
  if (rec.state.manuallyStopped || !p?.Name || p.Name === 'no') return false;
  if (p.Name === 'on-failure') return rec.state.exitCode !== 0 && (!p.MaximumRetryCount || rec.state.restartCount < p.MaximumRetryCount);
  return p.Name === 'always' || p.Name === 'unless-stopped';
}

/** A --rm container without a restart policy: removed after its exit, however it exits. */
function goesAtExit(rec: ContainerRecord): boolean {
  const policy = rec.hostConfig.RestartPolicy?.Name;
  return !!rec.hostConfig.AutoRemove && (!policy || policy === 'no');
}

export class RestartSupervisor extends ContainerPart {
  /** Exited containers whose restart policy brings them back at daemon start (set by init). */
  exitedBefore = new Set<string>();

  /** After start-up recovery: the restart policies' starts, in the background. */
  resumeRestarts(): void {
    const exitedBefore = this.exitedBefore;
    // Exits seen by reconcile already went through the policy; the rest are started here.
    void (async () => {
      for (const id of exitedBefore) {
        const rec = this.store.tryGet(id);
        // `always` comes back at daemon start even after a manual stop; `unless-stopped` does not.
        if (rec && (rec.hostConfig.RestartPolicy?.Name === 'always' || shouldRestart(rec))) {
          rec.state.status = 'exited';
          await this.start(id).catch(() => undefined);
        }
      }
    })();
  }

  /** Learn of the container's exit from its shim (or from exit.json if the shim is already gone). What
   *  the container held besides its runtime container is given back as soon as the exit is known, while
   *  the shim still deletes the runtime's container; the exit itself is handled once `started` (the
   *  start on disk and announced) says the start went through. */
  monitor(id: string, started: Promise<boolean> = Promise.resolve(true)): void {
    let released: Promise<void> | undefined;
    const onExit = (): void => {
      this.health.stop(id);
      released = this.release(id);
    };
    void this.runtime.wait(id, { onExit }).then(async (status) => {
      // a start that failed after all (its record could not be saved) is undone by its own clean-up
      if (!(await started)) return;
      await traced('exit: after the shim released the container', () =>
        this.onExit(id, status ?? { exitCode: 255, signal: null, finishedAt: new Date().toISOString() }, !status, released),
      );
    });
  }

  /** Network, rootfs mount and volumes of a container that has stopped, given back side by side. */
  private async release(id: string): Promise<void> {
    const rec = this.store.tryGet(id);
    if (!rec) return;
    await Promise.all([
      traced('exit: network detach', this.o.networks().detach(rec).catch(() => undefined)),
      traced('exit: unmount rootfs', async () => {
        await this.o.rootfs.unmount(this.rootfs(id)).catch(() => undefined);
        await this.o.volumes?.().release(rec).catch(() => undefined);
        // --rm with no restart policy: the container goes whatever its exit, so its writable layer goes
        // now, while the shim still deletes the runtime's container (the removal finds it gone).
        if (goesAtExit(rec)) await traced('exit: snapshot (--rm)', this.o.rootfs.remove(id)).catch(() => undefined);
      }),
    ]);
  }

  /** `released`: the release already under way (monitor's early start). */
  async onExit(id: string, status: ExitStatus, lost = false, released?: Promise<void>): Promise<void> {
    const rec = this.store.tryGet(id);
    this.health.stop(id);
    if (!rec) return;
    const oomKilled = status.oomKilled ?? false;
    // A live shim deletes the runc container itself; only a lost one leaves that to us.
    if (lost) await this.runtime.delete(id, { force: true }).catch(() => undefined);
    await (released ?? this.release(id));
    rec.state = {
      ...rec.state,
      status: 'exited',
      pid: 0,
      exitCode: status.exitCode,
      finishedAt: status.finishedAt,
      error: lost ? 'container monitor exited without recording an exit status' : rec.state.error,
      oomKilled,
    };
    const restart = shouldRestart(rec);
    const autoRemove = !restart && !!rec.hostConfig.AutoRemove;
    // --rm: the removal's own save ('removing') is the next state on disk; a crash before it leaves a
    // record still running, whose exit.json brings it here again.
    if (!autoRemove) await traced('exit: save record', this.store.save(rec));
    this.emit(rec, 'die', { exitCode: String(status.exitCode) });
    this.bus.emit(`exit:${id}`, status.exitCode);
    if (restart) await this.scheduleRestart(rec);
    else if (autoRemove) await traced('exit: auto-remove', this.remove(id, { force: true, volumes: true, afterExit: true }).catch(() => undefined));
  }

  /** Per-container back-off, Docker's: 100 ms doubling, reset after 10 s of uptime. */
  private readonly backoff = new Map<string, number>();

  private async scheduleRestart(rec: ContainerRecord): Promise<void> {
    const uptime = Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt);
    const prev = this.backoff.get(rec.id);
    const delay = prev === undefined || uptime >= RESTART_RESET_MS ? RESTART_BASE_MS : Math.min(prev * 2, RESTART_MAX_MS);
    this.backoff.set(rec.id, delay);
    rec.state.status = 'restarting';
    await this.store.save(rec);
    setTimeout(() => void this.restartAfterBackoff(rec.id), delay).unref();
  }

  private async restartAfterBackoff(id: string): Promise<void> {
    const rec = this.store.tryGet(id);
    if (!rec || rec.state.status !== 'restarting' || rec.state.manuallyStopped) return;
    rec.state.restartCount++;
    rec.state.status = 'exited';
    await this.serialize(id, () => this.startLocked(id)).catch(() => undefined);
  }
}
