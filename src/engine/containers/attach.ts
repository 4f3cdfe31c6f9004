// Joining a client's stream (a hijacked HTTP connection) to a container's stdio (Runtime.attach),
// with Docker's detach keys (default ctrl-p,ctrl-q) watched on the way in.
import type { Duplex, Transform } from 'node:stream';
import { InvalidParameter } from '../../lib/errors.js';

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
