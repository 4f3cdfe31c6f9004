// The long-lived worker thread that layer hashing and extraction run on (lib/job-worker.ts): replies reach
// the job they name, a job ends with the reply its handler says is the last, and a worker that dies fails
// the jobs it had while the next job gets a new worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobWorker } from '../../src/lib/job-worker.js';

type Req = { id: number; n: number } | { id: number; die: true };
type Rep = { id: number; step: number } | { id: number; done: number };

// Counts to n (one reply per step, then done), after n ms; "die" ends the thread.
const SCRIPT = `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.die) process.exit(3);
  setTimeout(() => {
    for (let i = 1; i <= m.n; i++) parentPort.postMessage({ id: m.id, step: i });
    parentPort.postMessage({ id: m.id, done: m.n * 10 });
  }, m.n);
});
`;

describe('JobWorker', () => {
  let dir: string;
  let worker: JobWorker<Req, Rep>;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'job-worker-'));
    await fs.writeFile(path.join(dir, 'w.mjs'), SCRIPT);
    worker = new JobWorker<Req, Rep>(pathToFileURL(path.join(dir, 'w.mjs')), 'counting');
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const count = (n: number): Promise<{ steps: number[]; done: number }> =>
    new Promise((resolve, reject) => {
      const steps: number[] = [];
      const id = worker.open({
        reply: (m) => {
          if ('step' in m) {
            steps.push(m.step);
            return false;
          }
          resolve({ steps, done: m.done });
          return true;
        },
        fail: reject,
      });
      worker.post({ id, n });
    });

  it('routes each reply to its job, side by side', async () => {
    const [a, b] = await Promise.all([count(3), count(1)]);
    assert.deepEqual(a, { steps: [1, 2, 3], done: 30 });
    assert.deepEqual(b, { steps: [1], done: 10 });
  });

  it('fails the jobs of a worker that died, and starts another for the next', async () => {
    const pending = count(50);
    const id = worker.open({ reply: () => true, fail: () => undefined });
    worker.post({ id, die: true });
    await assert.rejects(pending, /counting: the worker exited \(3\)/);
    assert.deepEqual(await count(2), { steps: [1, 2], done: 20 });
  });
});
