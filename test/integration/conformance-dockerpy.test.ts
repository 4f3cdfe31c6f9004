// A peer's suite as the bar: docker-py 7.1.0's own integration tests (kept outside the project, in
// ../shared/conformance/docker-py, and run by its run.sh) against a private dockerd 20.10 and a private
// berthd. Every test that passes on dockerd must pass on berthd, except the allow-list below.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PrivateDockerd, REPO, TestDaemon, runCmd } from './harness.js';

/** The suite and its runner; BERTH_CONFORMANCE_DIR points elsewhere (a worktree whose ../shared is not the shared folder). */
const SUITE = process.env.BERTH_CONFORMANCE_DIR ?? path.resolve(REPO, '../shared/conformance/docker-py');
const RUN_SH = path.join(SUITE, 'run.sh');
/** One engine's run: a few minutes on two cores (berthd ~2, dockerd ~4); bounded so a hang fails the file. */
const RUN_TIMEOUT_MS = 15 * 60_000;

/**
 * Tests that pass on dockerd and may fail on berthd, each with its reason. Only what berth does not claim
 * on purpose belongs here: these three initialise a swarm (run.sh already leaves out the swarm,
 * service, secret, config and node suites; these live in the network suite).
 */
const ALLOWED: Record<string, string> = {
  'tests.integration.api_network_test.TestNetworks::test_create_network_attachable': 'needs swarm mode (swarm init), which berth does not offer',
  'tests.integration.api_network_test.TestNetworks::test_create_network_ingress': 'needs swarm mode (an ingress network), which berth does not offer',
  'tests.integration.api_network_test.TestNetworks::test_create_inspect_network_with_scope': 'needs swarm mode (an overlay network), which berth does not offer',
};

/** summary.txt: "outcome node-id" per test case (a test may appear twice: its call and a teardown error). */
async function outcomes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await fs.readFile(path.join(dir, 'summary.txt'), 'utf8')).split('\n')) {
    const [outcome, id] = line.split(' ');
    if (!outcome || !id) continue;
    if (out.get(id) !== 'failed') out.set(id, outcome);
  }
  return out;
}

async function runSuite(host: string, out: string, wrap: (argv: string[]) => string[] = (a) => a): Promise<Map<string, string>> {
  // The suite's own temporary files (docker-py's build tests make some) go under the run's folder, removed with it.
  const tmp = path.join(out, 'tmp');
  await fs.mkdir(tmp, { recursive: true });
  const r = await runCmd(wrap([RUN_SH, host, out]), { timeoutMs: RUN_TIMEOUT_MS, env: { TMPDIR: tmp } });
  // pytest exits 1 when some tests fail; anything else (2 usage, 3 internal, 4 args, 5 none collected, a kill) is the runner failing.
  assert.ok(r.code === 0 || r.code === 1, `run.sh ${host} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return outcomes(out);
}

function get(socket: string, p: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: p }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a suite run may leave in dockerd: containers and networks (each network's bridge goes with it). */
async function emptyDockerd(socket: string): Promise<void> {
  const containers = JSON.parse((await get(socket, '/v1.41/containers/json?all=1')).body) as { Id: string }[];
  for (const c of containers) await get(socket, `/v1.41/containers/${c.Id}?force=1&v=1`, 'DELETE');
  const networks = JSON.parse((await get(socket, '/v1.41/networks')).body) as { Id: string; Name: string }[];
  for (const n of networks) if (!['bridge', 'host', 'none'].includes(n.Name)) await get(socket, `/v1.41/networks/${n.Id}`, 'DELETE');
}

describe('docker-py conformance', () => {
  let out: string;
  let keep = false;
  before(async () => {
    out = await fs.mkdtemp('/tmp/bt-dpy-');
  });
  // The two runs' pytest.log, junit.xml and summary.txt stay for reading when the comparison failed.
  after(async () => (keep ? process.stderr.write(`docker-py runs kept in ${out}\n`) : fs.rm(out, { recursive: true, force: true })));

  it('passes on berthd every docker-py test that passes on dockerd', { timeout: 2 * RUN_TIMEOUT_MS + 120_000 }, async () => {
    keep = true;
    assert.ok(existsSync(RUN_SH), `docker-py's suite is missing: ${RUN_SH} (the shared folder next to the repository holds it; set BERTH_CONFORMANCE_DIR to its conformance/docker-py)`);
    // Both engines at once, to keep the suite's time: dockerd (and the suite run against it) in a network
    // namespace of its own, so the suite's fixed subnets and host ports (4567…) never meet berthd's.
    const t0 = Date.now();
    let t1 = t0;
    let t2 = t0;
    // allSettled: a failing run must not end the test while the other is still writing into `out`.
    const runs = await Promise.allSettled([
      (async () => {
        const dockerd = await PrivateDockerd.start([], { netns: true });
        try {
          return await runSuite(`unix://${dockerd.socket}`, path.join(out, 'dockerd'), (argv) => dockerd.inNetns(argv));
        } finally {
          await emptyDockerd(dockerd.socket).catch(() => undefined);
          await dockerd.stop();
          t1 = Date.now();
        }
      })(),
      (async () => {
        const d = await TestDaemon.start();
        try {
          return await runSuite(d.host, path.join(out, 'berthd'));
        } finally {
          await d.cleanup();
          t2 = Date.now();
        }
      })(),
    ]);
    for (const r of runs) if (r.status === 'rejected') throw r.reason;
    const [reference, ours] = runs.map((r) => (r as PromiseFulfilledResult<Map<string, string>>).value) as [Map<string, string>, Map<string, string>];
    const passedOn = (m: Map<string, string>) => [...m].filter(([, o]) => o === 'passed').map(([id]) => id);
    const missing = passedOn(reference).filter((id) => ours.get(id) !== 'passed' && !ALLOWED[id]);
    process.stdout.write(
      `docker-py suite, both engines at once: dockerd ${passedOn(reference).length} passed (${Math.round((t1 - t0) / 1000)} s), ` +
        `berthd ${passedOn(ours).length} passed (${Math.round((t2 - t0) / 1000)} s)\n`,
    );
    // A reference that passes little would make the comparison empty: dockerd 20.10 passes ~240 of them.
    assert.ok(passedOn(reference).length >= 200, `dockerd passed only ${passedOn(reference).length} docker-py tests: the reference run is broken (see ${out}/dockerd/pytest.log)`);
    if (missing.length) {
      const log = await fs.readFile(path.join(out, 'berthd', 'pytest.log'), 'utf8');
      const why = (id: string) => {
        const name = id.split('::').pop()!;
        const at = log.indexOf(`.${name} _`) >= 0 ? log.indexOf(`.${name} _`) : log.indexOf(name);
        const e = log.slice(at).split('\n').find((l) => l.startsWith('E   '));
        return `  ${id}\n      ${e ?? '(see pytest.log)'}`;
      };
      assert.fail(`${missing.length} docker-py tests pass on dockerd and fail on berthd:\n${missing.map(why).join('\n')}`);
    }
    keep = false;
  });
});
