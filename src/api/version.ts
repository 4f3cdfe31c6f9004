// API versions berth serves. Like dockerd: the newest is the default, requests down to the minimum are accepted.
export const API_VERSION = '1.44';
export const MIN_API_VERSION = '1.24';
export const ENGINE_VERSION = '0.1.0';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
