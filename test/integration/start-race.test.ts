// A container whose command exits at once can finish, and be deleted by its shim, before `runc start`
// has removed its exec fifo; runc start then fails with "remove …/exec.fifo: no such file or directory"
// although the command ran. berthd must count that as a start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon } from './harness.js';

/**
 * runc, except that `start` ends the way the race does: it waits until the container has exited and its
 * shim has deleted it, then fails with runc's message. The outcome of the race, made certain.
 */
const LOSING_RUNC = `#!/bin/sh
if [ "$3" = start ]; then
  runc "$@" || exit $?
  root=$2; id=$4
  while runc --root "$root" state "$id" >/dev/null 2>&1; do sleep 0.01; done
  echo "time=\\"2026-01-01T00:00:00Z\\" level=error msg=\\"remove $root/$id/exec.fifo: no such file or directory\\"" >&2
  exit 1
fi
exec runc "$@"
`;

describe('start of a container that exits at once', () => {
  let d: TestDaemon;
  let wrapper: string;
  before(async () => {
    wrapper = path.join(await fs.mkdtemp('/tmp/bt-runc-'), 'runc-losing-start');
    await fs.writeFile(wrapper, LOSING_RUNC, { mode: 0o755 });
    d = await TestDaemon.start(['--runtime', wrapper]);
    await d.importBusybox();
  });
  after(async () => {
    await d.cleanup();
    await fs.rm(path.dirname(wrapper), { recursive: true, force: true });
  });

  it('counts as started when runc start loses the race to the exit', async () => {
    const r = await d.berth(['run', '--name', 'quick', 'busybox', 'sh', '-c', 'echo ran; exit 3']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'ran\n');
    assert.equal(r.code, 3);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'quick'])).stdout, 'exited 3 \n');
    const rm = await d.berth(['run', '--rm', 'busybox', 'true']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await d.berth(['ps', '-aq', '--filter', 'status=exited'])).stdout.split('\n').filter(Boolean).length, 1, 'the --rm one is gone');
  });
});

describe('parallel fast run --rm', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('4 × 50 runs of a command that exits at once all succeed and leave nothing', async () => {
    const failures: string[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = 0; i < 50; i++) {
          const r = await d.berth(['run', '--rm', '--network', 'none', 'busybox', 'echo', `w${w}-${i}`]);
          if (r.code !== 0 || r.stdout !== `w${w}-${i}\n`) failures.push(`w${w}-${i}: exit ${r.code}: ${r.stderr}${r.stdout}`);
        }
      }),
    );
    assert.deepEqual(failures, []);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  });
});
