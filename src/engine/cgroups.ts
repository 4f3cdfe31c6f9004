// Which cgroup layout the host has, detected once at start: v2 (unified), v1, or hybrid
// (v1 controllers with a v2 mount beside them — this project's CI machine). runc handles both;
// berth reads the layout for stats, OOM detection and `info`.
import { promises as fs } from 'node:fs';

export type CgroupLayout = 'v1' | 'v2';

let cached: CgroupLayout | undefined;

export async function cgroupLayout(): Promise<CgroupLayout> {
  if (cached) return cached;
  try {
    await fs.access('/sys/fs/cgroup/cgroup.controllers');
    cached = 'v2';
  } catch {
    cached = 'v1';
  }
  return cached;
}
