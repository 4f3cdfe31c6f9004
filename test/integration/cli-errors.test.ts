// Bad input through the berth CLI: each refused with a clear message and Docker's exit code 125
// (the docker CLI's for a failed `run`), and nothing created — no container, no record, no mount.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TestDaemon, mountsUnder } from './harness.js';

/** The host's hard limit for open files, plus one: what berthd cannot grant. */
async function aboveHardNofile(): Promise<number> {
  const limits = await fs.readFile('/proc/self/limits', 'utf8');
  const hard = /^Max open files\s+\d+\s+(\d+)/m.exec(limits)?.[1];
  assert.ok(hard, 'a numeric hard limit for open files');
  return Number(hard) + 1;
}

describe('CLI bad input', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  async function assertNothingCreated(what: string): Promise<void> {
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '', `${what}: ps -a is empty`);
    const records = await fs.readdir(path.join(d.root, 'containers')).catch((): string[] => []);
    assert.deepEqual(records, [], `${what}: no container folder`);
    const snapshots = await fs.readdir(path.join(d.root, 'snapshots')).catch((): string[] => []);
    assert.deepEqual(snapshots, [], `${what}: no snapshot`);
    assert.deepEqual(mountsUnder(d.root), [], `${what}: nothing mounted`);
  }

  const cases: [name: string, flags: () => Promise<string[]>, message: RegExp][] = [
    ['--memory 4m (below 6 MB)', async () => ['--memory', '4m'], /^berth: Error response from daemon: Minimum memory limit allowed is 6MB\.$/m],
    ['--cap-add NOPE', async () => ['--cap-add', 'NOPE'], /^berth: Error response from daemon: unknown capability: "CAP_NOPE"\.$/m],
    ['--security-opt seccomp=/no/such.json', async () => ['--security-opt', 'seccomp=/no/such.json'], /^berth: opening seccomp profile \(\/no\/such\.json\) failed: open \/no\/such\.json: no such file or directory\.$/m],
    ['--health-interval 5x', async () => ['--health-interval', '5x'], /^invalid argument "5x" for "--health-interval" flag: time: unknown unit "x" in duration "5x"$/m],
    ['--memory 12q', async () => ['--memory', '12q'], /^invalid argument "12q" for "-m, --memory" flag: invalid size: '12q'$/m],
    ['--restart always:3', async () => ['--restart', 'always:3'], /^berth: Error response from daemon: maximum retry count cannot be used with restart policy 'always'\.$/m],
    ['--ulimit nofile above the hard limit', async () => ['--ulimit', `nofile=${await aboveHardNofile()}`], /^berth: Error response from daemon: ulimit nofile: hard limit \d+ is above the host's hard limit \d+ \(the daemon cannot raise it\)\.$/m],
    ['--log-opt max-file=0', async () => ['--log-opt', 'max-file=0'], /^berth: Error response from daemon: max-file cannot be less than 1\.$/m],
    ['--log-driver bogus', async () => ['--log-driver', 'bogus'], /^berth: Error response from daemon: logger: no log driver named 'bogus' is registered\.$/m],
  ];

  for (const [name, flags, message] of cases) {
    it(`refuses ${name}: exit 125, a clear message, nothing created`, async () => {
      const f = await flags();
      for (const verb of [['run', '-d'], ['create']]) {
        const r = await d.berth([...verb, ...f, 'busybox', 'true']);
        assert.equal(r.code, 125, `${verb.join(' ')} ${f.join(' ')}: exit ${r.code}, ${r.stderr}`);
        assert.match(r.stderr, message, `${verb.join(' ')} ${f.join(' ')}`);
        assert.equal(r.stdout, '', 'no container ID printed');
        await assertNothingCreated(`${verb.join(' ')} ${f.join(' ')}`);
      }
    });
  }
});
