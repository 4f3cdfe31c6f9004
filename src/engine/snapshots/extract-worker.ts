// Layer extraction (extract.ts's untar) on a worker thread. A pull's main thread also reads the download,
// writes and hashes the blob and answers the API; untar's own work — inflating, hashing the tar for the
// diff ID, reading every header, feeding the tar processes — is the larger part, and on its own thread it
// runs beside the rest instead of after it (on a busy machine a second thread also gets its own share of
// the CPUs). One worker, started on first use and kept (it keeps the process alive only while it has
// work), takes any number of layers at once. This file is both the worker's code and its client.
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { InvalidParameter, SystemError } from '../../lib/errors.js';
import { CommandError } from '../../lib/exec.js';
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

interface Job {
  taken: (n: number) => void;
  resolve: (u: Untarred) => void;
  reject: (e: Error) => void;
}

let worker: Worker | undefined;
let next = 0;
const jobs = new Map<number, Job>();

function started(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL(import.meta.url));
  w.on('message', (m: Reply) => {
    const job = jobs.get(m.id);
    if (!job) return;
    if ('taken' in m) return job.taken(m.taken);
    jobs.delete(m.id);
    if (!jobs.size) w.unref();
    if ('error' in m) job.reject(fromWire(m.error));
    else job.resolve(m.done);
  });
  // A worker that died fails what it was extracting; the next layer starts another.
  const gone = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const job of jobs.values()) job.reject(new SystemError(`layer extraction: ${e.message}`));
    jobs.clear();
  };
  w.on('error', gone);
  w.on('exit', (code) => gone(new Error(`the extraction worker exited (${code})`)));
  worker = w;
  return w;
}

/** untar(src, dest) on the worker thread: the same result and the same errors. The source's bytes are
 *  copied over as they come; a failing source fails the extraction as it would on this thread. */
export function untarOffThread(src: Readable, dest: string): Promise<Untarred> {
  const id = next++;
  const w = started();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const result = new Promise<Untarred>((resolve, reject) => {
    jobs.set(id, {
      taken: (n) => {
        inFlight -= n;
        if (inFlight <= IN_FLIGHT) wake?.();
      },
      resolve,
      reject,
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
  w.ref();
  w.postMessage({ id, dest } satisfies Request);
  void (async () => {
    try {
      for await (const c of src as AsyncIterable<Buffer>) {
        if (settled) break;
        const chunk = new Uint8Array(c); // a copy the worker owns (the source's buffers may be pooled)
        inFlight += chunk.byteLength;
        w.postMessage({ id, chunk } satisfies Request, [chunk.buffer]);
        while (inFlight > IN_FLIGHT && !settled) await new Promise<void>((r) => (wake = r));
      }
      if (!settled) w.postMessage({ id, end: true } satisfies Request);
    } catch (e) {
      if (!settled) w.postMessage({ id, abort: (e as Error).message } satisfies Request);
    }
  })();
  return result;
}
