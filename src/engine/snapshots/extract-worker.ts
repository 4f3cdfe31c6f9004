// Layer extraction (extract.ts's untar) on a worker thread. A pull's main thread also reads the download,
// writes and hashes the blob and answers the API; untar's own work — inflating, hashing the tar for the
// diff ID, reading every header, feeding the tar processes — is the larger part, and on its own thread it
// runs beside the rest instead of after it (on a busy machine a second thread also gets its own share of
// the CPUs). One worker (lib/job-worker.ts) takes any number of layers at once. This file is both the
// worker's code and its client.
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { isMainThread, parentPort } from 'node:worker_threads';
import { InvalidParameter, SystemError } from '../../lib/errors.js';
import { CommandError } from '../../lib/exec.js';
import { JobWorker } from '../../lib/job-worker.js';
import { untar, type Untarred } from './extract.js';

type Request = { id: number; dest: string } | { id: number; chunk: Uint8Array } | { id: number; end: true } | { id: number; abort: string };

/** An error as it crosses the thread boundary: its class by name, and what rebuilds it. */
type WireError = { kind: 'invalid'; message: string } | { kind: 'command'; argv: string[]; exitCode: number | null; stderr: string } | { kind: 'system'; message: string };

type Reply = { id: number; taken: number } | { id: number; done: Untarred } | { id: number; error: WireError };

/** Bytes sent to the worker and not yet taken by its extraction: the download waits beyond this. */
const IN_FLIGHT = 8 << 20;

if (!isMainThread && parentPort) {
  const port = parentPort;
  /** Each extraction's source, and the bytes written to it that wait for its 'drain' to be reported taken. */
  const sources = new Map<number, { src: PassThrough; owed: number }>();
  port.on('message', (r: Request) => {
    if ('dest' in r) {
      const src = new PassThrough({ highWaterMark: 1 << 20 });
      sources.set(r.id, { src, owed: 0 });
      untar(src, r.dest).then(
        (done) => port.postMessage({ id: r.id, done } satisfies Reply),
        (e: unknown) => port.postMessage({ id: r.id, error: toWire(e) } satisfies Reply),
      ).finally(() => sources.delete(r.id));
      return;
    }
    const s = sources.get(r.id);
    if (!s) return;
    if ('chunk' in r) {
      const n = r.chunk.byteLength;
      const waiting = s.owed > 0;
      if (s.src.write(Buffer.from(r.chunk.buffer, r.chunk.byteOffset, n)) && !waiting) return port.postMessage({ id: r.id, taken: n } satisfies Reply);
      s.owed += n;
      if (!waiting) {
        s.src.once('drain', () => {
          port.postMessage({ id: r.id, taken: s.owed } satisfies Reply);
          s.owed = 0;
        });
      }
    } else if ('end' in r) s.src.end();
    else s.src.destroy(new Error(r.abort));
  });
}

function toWire(e: unknown): WireError {
  if (e instanceof CommandError) return { kind: 'command', argv: e.argv, exitCode: e.exitCode, stderr: e.stderr };
  if (e instanceof InvalidParameter) return { kind: 'invalid', message: e.message };
  return { kind: 'system', message: e instanceof Error ? e.message : String(e) };
}

function fromWire(w: WireError): Error {
  if (w.kind === 'command') return new CommandError(w.argv, w.exitCode, w.stderr);
  return w.kind === 'invalid' ? new InvalidParameter(w.message) : new SystemError(w.message);
}

const extractor = new JobWorker<Request, Reply>(new URL(import.meta.url), 'layer extraction');

/** untar(src, dest) on the worker thread: the same result and the same errors. The source's bytes are
 *  copied over as they come; a failing source fails the extraction as it would on this thread. */
export function untarOffThread(src: Readable, dest: string): Promise<Untarred> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let id = -1;
  const result = new Promise<Untarred>((resolve, reject) => {
    id = extractor.open({
      reply: (m) => {
        if ('taken' in m) {
          inFlight -= m.taken;
          if (inFlight <= IN_FLIGHT) wake?.();
          return false;
        }
        if ('error' in m) reject(fromWire(m.error));
        else resolve(m.done);
        return true;
      },
      fail: (e) => reject(new SystemError(e.message)),
    });
  });
  // Once the worker answered (the end, or a refused layer, a failed tar) nothing more is sent, and a
  // source not read to its end is let go, as untar itself lets it go when it fails.
  let settled = false;
  const stop = () => {
    settled = true;
    wake?.();
    if (!src.readableEnded) src.destroy();
  };
  result.then(stop, stop);
  extractor.post({ id, dest });
  void (async () => {
    try {
      for await (const c of src as AsyncIterable<Buffer>) {
        if (settled) break;
        const chunk = new Uint8Array(c); // a copy the worker owns (the source's buffers may be pooled)
        inFlight += chunk.byteLength;
        extractor.post({ id, chunk }, [chunk.buffer]);
        while (inFlight > IN_FLIGHT && !settled) await new Promise<void>((r) => (wake = r));
      }
      if (!settled) extractor.post({ id, end: true });
    } catch (e) {
      if (!settled) extractor.post({ id, abort: (e as Error).message });
    }
  })();
  return result;
}
