// The cgroup limits a container sees, read from the files of whichever layout the host has (v1
// controllers or the unified v2 tree), and one stats sample from the Engine API: the tests that check
// limits and stats run unchanged under both layouts.
import http from 'node:http';
import type { StatsJSON } from '../../src/engine/containers/stats.js';

/**
 * A shell script for busybox sh inside a container: prints "memory=<bytes> cpu=<quota>/<period> pids=<max>"
 * from its own cgroup (v2: memory.max, cpu.max, pids.max; v1: memory.limit_in_bytes, cpu.cfs_quota_us and
 * cpu.cfs_period_us, pids.max). Unlimited reads "max" on v2 and -1 (or a huge number for memory) on v1.
 */
export const CGROUP_LIMITS = [
  'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then',
  '  m=$(cat /sys/fs/cgroup/memory.max); set -- $(cat /sys/fs/cgroup/cpu.max); q=$1; p=$2; n=$(cat /sys/fs/cgroup/pids.max)',
  'else',
  '  m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); p=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); n=$(cat /sys/fs/cgroup/pids/pids.max)',
  'fi',
  'echo "memory=$m cpu=$q/$p pids=$n"',
].join('\n');

/** One stats sample of a container (GET /containers/{id}/stats?stream=false) from a berthd. */
export function statsOnce(d: { socket: string }, container: string): Promise<StatsJSON> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: d.socket, path: `/containers/${encodeURIComponent(container)}/stats?stream=false` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`stats of ${container}: ${res.statusCode} ${body}`));
          else resolve(JSON.parse(body) as StatsJSON);
        });
      })
      .on('error', reject);
  });
}
