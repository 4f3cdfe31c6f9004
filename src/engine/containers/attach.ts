// Joining a client's stream (a hijacked HTTP connection) to a container's stdio (Runtime.attach),
// with Docker's detach keys (default ctrl-p,ctrl-q) watched on the way in.
import type { Duplex, Transform } from 'node:stream';
import { InvalidParameter } from '../../lib/errors.js';
import type { AttachStreams } from '../runtime/runtime.js';
import { ContainerPart } from './context.js';
import type { ContainerRecord } from './record.js';
import { encodeLogEntry, replayLogs, type LogSource } from './log-stream.js';

export type { AttachStreams } from '../runtime/runtime.js';

/** Parse Docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-@") into bytes. */
export function parseDetachKeys(spec: string | undefined): Buffer {
  const keys = (spec || 'ctrl-p,ctrl-q').split(',');
  return Buffer.from(
    keys.map((k) => {
      if (k.length === 1) return k.charCodeAt(0);
      const m = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
      if (!m) throw new InvalidParameter(`Invalid detach keys (${spec}) provided`);
      const c = m[1]!;
      return c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : c.charCodeAt(0) - 64;
    }),
  );
}

/** Watches a byte stream for the detach sequence; bytes that only looked like its start are released. */
export class DetachWatcher {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to forward and whether the sequence completed. */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      out.push(...this.keys.subarray(0, this.matched));
      this.matched = 0;
      if (b === this.keys[0]) this.matched = 1;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

/** Pipe client ↔ the runtime's stream (`shim`) until either side ends. Resolves when the attachment is over. */
export function joinStreams(
  client: Duplex,
  shim: Duplex,
  opts: { stdin: boolean; detachKeys: Buffer; tty: boolean; beforeEnd?: () => Promise<unknown>; reframe?: Transform },
): Promise<'detached' | 'ended'> {
  return new Promise((resolve) => {
    let result: 'detached' | 'ended' = 'ended';
    const reframe = opts.reframe;
    const finish = () => {
      shim.destroy();
      // What the reframing stream still holds reaches the client before its end.
      const flushed = reframe && !reframe.readableEnded ? new Promise((r) => (reframe.once('end', r), reframe.end())) : Promise.resolve();
      // e.g. exec: its exit code must be known before the client sees the end and asks for it
      const ready = result === 'ended' && opts.beforeEnd ? opts.beforeEnd().catch(() => undefined) : Promise.resolve();
      void Promise.all([flushed, ready]).then(() => {
        client.end();
        resolve(result);
      });
    };
    (reframe ? shim.pipe(reframe) : shim).pipe(client, { end: false });
    shim.once('close', finish);
    shim.on('error', () => shim.destroy());
    client.on('error', () => client.destroy());
    client.once('close', () => shim.destroy());
    if (!opts.stdin) {
      client.resume();
      return;
    }
    // Docker only honours detach keys on a TTY-less stream too; watch both.
    const watcher = new DetachWatcher(opts.detachKeys);
    client.on('data', (chunk: Buffer) => {
      const { forward, detach } = watcher.feed(chunk);
      if (forward.length) shim.write(forward);
      if (detach) {
        result = 'detached';
        shim.destroy();
      }
    });
    client.once('end', () => shim.end());
    // The request parser may have paused the socket; data queued meanwhile is kept.
    client.resume();
  });
}

/** POST /containers/{id}/attach's query, on the service side. */
export interface AttachOptions extends AttachStreams {
  /** Replay the log first (logs=1). */
  logs: boolean;
  /** Then stay attached (stream=1). */
  stream: boolean;
  detachKeys?: string;
}

export interface AttachSession {
  /** A TTY container's stream goes out raw, any other's multiplexed. */
  tty: boolean;
  /** Serve the hijacked client: the log's replay, then the live streams until detach or exit. */
  run(client: Duplex): Promise<void>;
}

/** What an attach session needs from the containers service. */
export interface AttachHost extends LogSource {
  attach(ref: string, client: Duplex, streams: AttachStreams, detachKeysSpec?: string): Promise<'detached' | 'ended'>;
}

/** An attach to the container `ref`; an unknown container fails now, before the connection is taken. */
export function openAttach(host: AttachHost, ref: string, opts: AttachOptions): AttachSession {
  const rec = host.store.get(ref);
  const tty = rec.config.Tty ?? false;
  const streams = { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr };
  return {
    tty,
    run: async (client) => {
      if (opts.logs) for await (const e of replayLogs(host, rec.id, streams)) client.write(encodeLogEntry(e, tty, false));
      if (!opts.stream) {
        client.end();
        return;
      }
      await host.attach(rec.id, client, streams, opts.detachKeys);
    },
  };
}

interface PendingAttach {
  client: Duplex;
  streams: AttachStreams;
  detachKeys: Buffer;
  done: (r: 'detached' | 'ended') => void;
}

/** Attaching to a container's stdio at its shim: at once when it runs, else when it next starts. */
export class AttachPlumbing extends ContainerPart {
  readonly pendingAttach = new Map<string, PendingAttach[]>();

  /** Attach a client stream; before start it waits and is connected as the container starts. */
  attach(ref: string, client: Duplex, streams: AttachStreams, detachKeysSpec?: string): Promise<'detached' | 'ended'> {
    const rec = this.store.get(ref);
    const detachKeys = parseDetachKeys(detachKeysSpec);
    const stdin = streams.stdin && (rec.config.OpenStdin ?? false);
    const wanted = { ...streams, stdin };
    if (rec.state.status === 'running' || rec.state.status === 'paused') {
      return this.runtime.attach(rec.id, wanted).then(
        (shim) => joinStreams(client, shim, { stdin, detachKeys, tty: rec.config.Tty ?? false }),
        () => {
          client.end();
          return 'ended' as const;
        },
      );
    }
    return new Promise((done) => {
      const list = this.pendingAttach.get(rec.id) ?? [];
      list.push({ client, streams: wanted, detachKeys, done });
      this.pendingAttach.set(rec.id, list);
      client.once('close', () => {
        const l = this.pendingAttach.get(rec.id);
        if (l) this.pendingAttach.set(rec.id, l.filter((p) => p.client !== client));
      });
    });
  }

  async connectPendingAttaches(rec: ContainerRecord): Promise<void> {
    const pending = this.pendingAttach.get(rec.id) ?? [];
    this.pendingAttach.delete(rec.id);
    await Promise.all(
      pending.map(async (p) => {
        const shim = await this.runtime.attach(rec.id, p.streams);
        void joinStreams(p.client, shim, { stdin: p.streams.stdin, detachKeys: p.detachKeys, tty: rec.config.Tty ?? false }).then(p.done);
      }),
    );
    if (pending.length) this.emit(rec, 'attach');
  }
}
