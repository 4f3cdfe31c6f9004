// Foreground `up`: the attached containers' output with Compose's "web-1  | " prefixes (one colour per
// service), "web-1 exited with code 0" when one ends; attached before the start so no first line is
// lost. One call (`attachContainers`) so the shared log printer (src/compose/logs.ts) can take over.
import type { Writable } from 'node:stream';
import type { ContainerSummary } from '../../api/types.js';
import { Demuxer } from '../../client/stdcopy.js';
import type { ComposeBackend } from '../../compose/backend.js';
import { containerName } from '../../compose/backend.js';
import { PROJECT } from '../../compose/labels.js';

export interface AttachOptions {
  color: boolean;
  prefix: boolean;
  timestamps: boolean;
}

export interface Attached {
  /** Resolves with each container's exit, in the order they end. */
  onExit(fn: (c: ContainerSummary, code: number) => void): void;
  /** Resolves once every attached stream has ended. */
  ended: Promise<void>;
  close(): void;
}

// Compose's rotation of colours for service prefixes.
const COLORS = ['36', '33', '32', '35', '34', '96', '93', '92', '95', '94'];

/** "web-1": the container name without the "<project>-" prefix, as Compose labels log lines. */
export function logName(c: ContainerSummary): string {
  const name = containerName(c);
  const project = c.Labels[PROJECT] ?? '';
  return name.startsWith(`${project}-`) ? name.slice(project.length + 1) : name;
}

export async function attachContainers(backend: ComposeBackend, containers: ContainerSummary[], out: Writable, opts: AttachOptions): Promise<Attached> {
  const names = containers.map(logName);
  const width = Math.max(0, ...names.map((n) => n.length));
  const exitFns: ((c: ContainerSummary, code: number) => void)[] = [];
  const sockets: { destroy(): void }[] = [];
  const services = [...new Set(containers.map((c) => c.Labels['com.docker.compose.service'] ?? ''))].sort();
  // Every attach is in place before this returns: the caller starts the containers next.
  const conns = await Promise.all(
    containers.map((c) => backend.client.hijack(`/containers/${encodeURIComponent(c.Id)}/attach`, { stream: true, stdout: true, stderr: true, logs: false }, undefined)),
  );
  const streams = containers.map(async (c, i) => {
    const conn = conns[i]!;
    sockets.push(conn.socket);
    const color = COLORS[services.indexOf(c.Labels['com.docker.compose.service'] ?? '') % COLORS.length]!;
    const label = opts.color ? `\x1b[${color}m${names[i]!.padEnd(width)}  |\x1b[0m ` : `${names[i]!.padEnd(width)}  | `;
    const line = (text: string): void => {
      const ts = opts.timestamps ? `${new Date().toISOString()} ` : '';
      out.write(`${opts.prefix ? label : ''}${ts}${text}\n`);
    };
    let pending = '';
    const feed = (b: Buffer): void => {
      pending += b.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        line(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
    };
    const tty = conn.contentType.includes('raw-stream');
    const demux = new Demuxer((_s, payload) => feed(payload));
    conn.socket.on('data', (d: Buffer) => (tty ? feed(d) : demux.push(d)));
    await new Promise<void>((resolve) => {
      conn.socket.once('close', () => resolve());
      conn.socket.once('end', () => resolve());
      conn.socket.once('error', () => resolve());
    });
    if (pending) line(pending);
    return c;
  });
  const ended = Promise.all(
    streams.map(async (p) => {
      const c = await p;
      const res = await backend.client
        .json<{ StatusCode: number }>({ method: 'POST', path: `/containers/${encodeURIComponent(c.Id)}/wait`, query: { condition: 'not-running' } })
        .catch(() => ({ StatusCode: -1 }));
      if (res.StatusCode >= 0) {
        for (const fn of exitFns) fn(c, res.StatusCode);
      }
    }),
  ).then(() => undefined);
  return {
    onExit: (fn) => exitFns.push(fn),
    ended,
    close: () => sockets.forEach((s) => s.destroy()),
  };
}
