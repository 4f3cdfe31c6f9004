// Debian's docker-registry (distribution 2.8), the reference registry for tests and benchmarks: started on
// a free port of 127.0.0.1 with a private root, stopped by its PID, its root removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const DISTRIBUTION = '/usr/bin/docker-registry';

export interface Distribution {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Wait for a registry's /v2/ to answer (the process must stay up meanwhile). */
export async function waitUp(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited early`);
    if (await fetch(`${url}/v2/`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer at ${url}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Start distribution 2.8. `deletes`: allow manifest and blob DELETE; `fast`: no access log, an in-memory
 *  blob descriptor cache (for benchmarks). */
export async function startDistribution(o: { deletes?: boolean; fast?: boolean } = {}): Promise<Distribution> {
  const dir = await fs.mkdtemp('/tmp/bt-reg-');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    ...(o.fast ? ['  accesslog:', '    disabled: true'] : []),
    'storage:',
    ...(o.fast ? ['  cache:', '    blobdescriptor: inmemory'] : []),
    '  filesystem:',
    `    rootdirectory: ${dir}/data`,
    ...(o.deletes ? ['  delete:', '    enabled: true'] : []),
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  await fs.writeFile(path.join(dir, 'config.yml'), config.join('\n') + '\n');
  const child = spawn(DISTRIBUTION, ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUp(url, child, 'docker-registry');
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, url, pid: child.pid!, stop };
}
