// Foreground `up`: the attached containers' output through the project's log printer (compose/logs.ts:
// "web-1  | " prefixes, one colour per container, "web-1 exited with code 0"), attached before the
// start as Compose does, so no first line is lost and a kept container shows only new output.
import type { ContainerSummary } from '../../api/types.js';
import { Demuxer, STDERR } from '../../lib/stdcopy.js';
import type { ComposeBackend } from '../../compose/backend.js';
import { LineSplitter, type LogConsumer } from '../../compose/logs.js';
import { nameWithoutProject } from '../../compose/ps.js';

export interface Attached {
  /** Called as each container exits, with its exit code. */
  onExit(fn: (c: ContainerSummary, code: number) => void): void;
  /** Resolves once every attached container has exited (or its stream ended). */
  ended: Promise<void>;
  close(): void;
}

export { nameWithoutProject as logName };

export async function attachContainers(backend: ComposeBackend, containers: ContainerSummary[], out: LogConsumer): Promise<Attached> {
  for (const c of containers) out.register(nameWithoutProject(c));
  const exitFns: ((c: ContainerSummary, code: number) => void)[] = [];
  // Every attach is in place before this returns: the caller starts the containers next.
  const conns = await Promise.all(
    containers.map((c) => backend.client.hijack(`/containers/${encodeURIComponent(c.Id)}/attach`, { stream: true, stdout: true, stderr: true, logs: false }, undefined)),
  );
  const streams = containers.map(async (c, i) => {
    const conn = conns[i]!;
    const name = nameWithoutProject(c);
    const stdout = new LineSplitter((l) => out.log(name, l.replace(/\r$/, '')));
    const stderr = new LineSplitter((l) => out.err(name, l.replace(/\r$/, '')));
    const tty = conn.contentType.includes('raw-stream');
    const demux = new Demuxer((stream, payload) => (stream === STDERR ? stderr : stdout).push(payload));
    conn.socket.on('data', (d: Buffer) => (tty ? stdout.push(d) : demux.push(d)));
    await new Promise<void>((resolve) => {
      conn.socket.once('close', () => resolve());
      conn.socket.once('end', () => resolve());
      conn.socket.once('error', () => resolve());
    });
    stdout.end();
    stderr.end();
    const code = await backend.waitContainer(c.Id, 'not-running').catch(() => undefined);
    if (code !== undefined) {
      out.status(name, `exited with code ${code}`);
      for (const fn of exitFns) fn(c, code);
    }
  });
  return {
    onExit: (fn) => exitFns.push(fn),
    ended: Promise.all(streams).then(() => undefined),
    close: () => conns.forEach((c) => c.socket.destroy()),
  };
}
