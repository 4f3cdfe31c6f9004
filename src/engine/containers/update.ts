// `docker update`: a container's new limits and restart policy, checked as at create and applied to
// a running container at once.
import type { HostConfig } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { cgroupControllers, discardUnsupportedLimits } from '../cgroups.js';
import { buildResources } from '../runtime/spec.js';
import { validateHostConfig } from '../runtime/validate.js';
import { ContainerPart } from './context.js';

export class ContainerUpdater extends ContainerPart {
  /** `docker update`: new limits (and restart policy) for a container, applied at once when it runs. */
  async update(ref: string, changes: HostConfig): Promise<{ Warnings: string[] }> {
    const rec = this.store.get(ref);
    const allowed: (keyof HostConfig)[] = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'PidsLimit', 'BlkioWeight', 'RestartPolicy'];
    const next: HostConfig = { ...rec.hostConfig };
    for (const k of allowed) {
      const v = changes[k];
      if (v !== undefined && v !== null && !(typeof v === 'number' && v === 0 && k !== 'PidsLimit') && !(k === 'CpusetCpus' && v === '')) (next as Record<string, unknown>)[k] = v;
    }
    if (changes.NanoCpus) {
      next.CpuPeriod = 0;
      next.CpuQuota = 0;
    }
    if (changes.Memory && !changes.MemorySwap && (rec.hostConfig.MemorySwap ?? 0) > 0 && rec.hostConfig.MemorySwap! < changes.Memory) next.MemorySwap = changes.Memory * 2;
    validateHostConfig(next);
    const limits = discardUnsupportedLimits(next, await cgroupControllers());
    if (limits.error) throw new InvalidParameter(limits.error);
    if (rec.state.status === 'running' || rec.state.status === 'paused') await this.runtime.update(rec.id, buildResources(next));
    rec.hostConfig = next;
    await this.store.save(rec);
    this.emit(rec, 'update');
    return { Warnings: limits.warnings };
  }
}
