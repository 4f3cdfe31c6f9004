// Running a test file under cgroup v2 on a host that has v1 (or hybrid) cgroups: the file runs itself again
// in a private mount namespace where /sys/fs/cgroup is a cgroup2 mount, so berthd, runc and the test all
// see a v2 host (as Debian 12 is by default). On a v2 host it just runs. The mount goes with the namespace;
// the cgroups made meanwhile live in the host's one cgroup2 hierarchy and go with their containers.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INNER = 'BERTH_TEST_CGROUP2';

export const isCgroup2 = (): boolean => existsSync('/sys/fs/cgroup/cgroup.controllers');

/** Returns in the process that is to run the tests; the outer process exits with the inner one's status. */
export function runUnderCgroup2(): void {
  if (isCgroup2()) return;
  if (process.env[INNER]) throw new Error('the private mount namespace did not get a cgroup2 /sys/fs/cgroup');
  // The node test runner reads this process's stdout: the inner process writes it instead, unchanged.
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [INNER]: '1' },
  });
  process.exit(r.status ?? 1);
}

/** The controllers the v2 tree offers here (on a hybrid host they stay with v1: often none). */
export function v2Controllers(): string[] {
  return spawnSync('cat', ['/sys/fs/cgroup/cgroup.controllers'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
}
