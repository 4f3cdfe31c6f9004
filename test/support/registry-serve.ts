// `berth registry serve` as a peer for tests of push, pull and registry lookups: started from the compiled
// CLI on 127.0.0.1 with a port the kernel picks, stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../integration/harness.js';
import { waitFor } from '../integration/waits.js';

export interface RegistryServe {
  /** host:port, as an image reference's domain. */
  host: string;
  url: string;
  stop(): Promise<void>;
}

export async function startRegistryServe(root: string): Promise<RegistryServe> {
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const url = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`registry serve exited: ${out}`);
    return /listening on (http:\/\/[^ \n]+)/.exec(out)?.[1];
  }, 'berth registry serve to listen').catch((e: Error) => {
    child.kill('SIGKILL');
    throw e;
  });
  return {
    url,
    host: url.replace(/^http:\/\//, ''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
