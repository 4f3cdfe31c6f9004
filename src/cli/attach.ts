// Attaching to a container, as `run`, `start -a`, `attach` and `compose run` do it: the hijacked
// /attach connection and the /wait are both made BEFORE the start, so neither the first output nor a
// quick exit is missed; the streams are pumped from then on (attach-io.ts). Once the container runs,
// its terminal size follows ours, SIGINT/SIGTERM may be proxied to it, and the session ends with the
// container's exit status — or with a detach (the daemon saw the detach keys).
import type { ContainerInspect } from '../api/types.js';
import type { EngineClient } from '../client/engine.js';
import type { Context } from './command.js';
import { monitorTtySize, streamHijacked } from './attach-io.js';

/** The /wait answer. */
export interface WaitStatus {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys?: string;
  /** The /wait condition ('removed' for --rm, 'next-exit'); `berth attach` sends none. */
  condition?: string;
}

export interface FollowOptions {
  /** Forward SIGINT/SIGTERM to the container (non-TTY with --sig-proxy). */
  proxySignals: boolean;
  /** The end of the streams may be a detach (stdin was attached); `start -a` does not ask. */
  detachable?: boolean;
}

export interface AttachSession {
  /** The container's exit, registered before the start. */
  readonly exit: Promise<WaitStatus>;
  /** The start failed: drop the connection. */
  close(): void;
  /** After the start: until the streams end; the exit status, or undefined when the user detached. */
  follow(o: FollowOptions): Promise<WaitStatus | undefined>;
}

/** Hijack the attach (when any stream is wanted), register the wait and start pumping the streams. */
export async function openAttach(ctx: Context, client: EngineClient, id: string, o: AttachOptions): Promise<AttachSession> {
  const wanted = o.stdin || o.stdout || o.stderr;
  const conn = wanted
    ? await client.hijack(
        `/containers/${id}/attach`,
        { stream: true, stdin: o.stdin, stdout: o.stdout, stderr: o.stderr, detachKeys: o.detachKeys },
        undefined,
      )
    : undefined;
  const exit = (
    await client.deferred<WaitStatus>({ method: 'POST', path: `/containers/${id}/wait`, query: o.condition ? { condition: o.condition } : undefined })
  ).result;
  const streaming = conn ? streamHijacked(ctx, conn, { tty: o.tty, stdin: o.stdin }) : undefined;
  // Awaited in follow(); until then (or if the start fails) a broken stream is not an unhandled rejection.
  streaming?.catch(() => undefined);
  return {
    exit,
    close: () => conn?.socket.destroy(),
    follow: async (f) => {
      const stopResize = o.tty ? monitorTtySize(ctx, (h, w) => resizeContainer(client, id, h, w)) : undefined;
      const stopProxy = f.proxySignals ? proxySignals(client, id) : undefined;
      try {
        await streaming;
        if ((f.detachable ?? o.stdin) && (await detached(client, id, exit))) return undefined;
        return await exit;
      } finally {
        stopResize?.();
        stopProxy?.();
      }
    },
  };
}

export async function resizeContainer(client: EngineClient, id: string, h: number, w: number): Promise<void> {
  await client.call({ method: 'POST', path: `/containers/${id}/resize`, query: { h, w } });
}

/** Forward SIGINT/SIGTERM to the container (non-TTY runs with --sig-proxy). */
export function proxySignals(client: EngineClient, id: string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const h = (): void => {
      client.call({ method: 'POST', path: `/containers/${id}/kill`, query: { signal: sig } }).catch(() => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => handlers.forEach(([sig, h]) => process.off(sig, h));
}

/** The stream ends at the container's exit or when the daemon saw the detach keys. An exit shows in
 *  the wait result within moments; a container still running after that was detached from. */
export async function detached(client: EngineClient, id: string, exit: Promise<unknown>): Promise<boolean> {
  const settled = await Promise.race([exit.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 300))]);
  if (settled) return false;
  const now = await client.json<ContainerInspect>({ path: `/containers/${id}/json` }).catch(() => undefined);
  return !!now?.State.Running;
}
