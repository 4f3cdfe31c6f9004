// Limits a host's cgroups cannot apply: dropped with dockerd's warnings, --cpus refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discardUnsupportedLimits, type LimitFields } from '../../src/engine/cgroups.js';

test('with every controller nothing changes', () => {
  const hc: LimitFields = { Memory: 64 << 20, PidsLimit: 20, CpuShares: 512, NanoCpus: 5e8, CpusetCpus: '0' };
  assert.deepEqual(discardUnsupportedLimits(hc, new Set(['memory', 'pids', 'cpu', 'cpuset'])), { warnings: [] });
  assert.deepEqual(hc, { Memory: 64 << 20, PidsLimit: 20, CpuShares: 512, NanoCpus: 5e8, CpusetCpus: '0' });
});

test('without the controllers the limits are dropped with dockerd’s warnings', () => {
  const hc: LimitFields = { Memory: 64 << 20, MemorySwap: -1, PidsLimit: 20, CpuShares: 512, CpuQuota: 50000, CpusetCpus: '0' };
  const r = discardUnsupportedLimits(hc, new Set(['hugetlb']));
  assert.equal(r.error, undefined);
  assert.deepEqual(r.warnings, [
    'Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
    'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
    'Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.',
    'Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.',
    'Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.',
  ]);
  assert.deepEqual(hc, { Memory: 0, MemorySwap: 0, PidsLimit: 0, CpuShares: 0, CpuQuota: 0, CpusetCpus: '', CpusetMems: '' });
  assert.equal(discardUnsupportedLimits({ NanoCpus: 5e8 }, new Set()).error, 'NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
});

test('CPU real-time period and runtime: refused without the real-time scheduler (cgroup v2, or v1 without CONFIG_RT_GROUP_SCHED), runtime above period refused', () => {
  const v2 = new Set(['memory', 'pids', 'cpu', 'cpuset']);
  const rt = new Set([...v2, 'cpu.rt']);
  const unsupported = 'Your kernel does not support CPU real-time scheduler';
  assert.equal(discardUnsupportedLimits({ CpuRealtimeRuntime: 500 }, v2).error, unsupported);
  assert.equal(discardUnsupportedLimits({ CpuRealtimePeriod: 1000 }, v2).error, unsupported);
  // dockerd checks support first, whatever the values.
  assert.equal(discardUnsupportedLimits({ CpuRealtimePeriod: 500, CpuRealtimeRuntime: 1000 }, v2).error, unsupported);
  assert.equal(discardUnsupportedLimits({ CpuRealtimePeriod: 500, CpuRealtimeRuntime: 1000 }, rt).error, 'cpu real-time runtime cannot be higher than cpu real-time period');
  assert.deepEqual(discardUnsupportedLimits({ CpuRealtimePeriod: 1000, CpuRealtimeRuntime: 500 }, rt), { warnings: [] });
  assert.deepEqual(discardUnsupportedLimits({ CpuRealtimeRuntime: 500 }, rt), { warnings: [] });
  assert.deepEqual(discardUnsupportedLimits({ CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0 }, v2), { warnings: [] });
});
