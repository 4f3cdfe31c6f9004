// Starting the embedded daemon when the default socket has nobody listening: berthd runs detached in
// the background, its output appended to /run/berth/berthd.log, and the client polls /_ping until it
// answers.
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProcess } from '../lib/exec.js';
import { ConnectionError } from './errors.js';

export const DAEMON_LOG = '/run/berth/berthd.log';
const POLL_MS = 20;
const GIVE_UP_MS = 10_000;

/** dist/src/client/autostart.js → dist/src/daemon/main.js */
export function daemonEntry(): string {
  return fileURLToPath(new URL('../daemon/main.js', import.meta.url));
}

/** Spawn berthd detached; the returned flag turns true if it exits (so we stop waiting for it). */
export function spawnDaemon(): { exited: boolean } {
  mkdirSync('/run/berth', { recursive: true });
  const state = { exited: false };
  const log = openSync(DAEMON_LOG, 'a');
  try {
    const child = startProcess(process.execPath, [daemonEntry()], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.once('exit', () => (state.exited = true));
    child.once('error', () => (state.exited = true));
    child.unref();
  } finally {
    closeSync(log);
  }
  return state;
}

/** Start berthd and wait until `ping` succeeds; throws Docker-style "Cannot connect" after 10 s. */
export async function startDaemon(hostUrl: string, ping: () => Promise<boolean>): Promise<void> {
  const daemon = spawnDaemon();
  const deadline = Date.now() + GIVE_UP_MS;
  while (Date.now() < deadline && !daemon.exited) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (await ping()) return;
  }
  throw new ConnectionError(`Cannot connect to the berth daemon at ${hostUrl}. See ${DAEMON_LOG}`, 'ESTART');
}
