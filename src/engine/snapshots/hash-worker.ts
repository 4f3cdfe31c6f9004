// Layer dirs hashed on a worker thread. A build hashes a step's layer while its next steps run
// (builder/executors/pending.ts); on the daemon's main thread the tar's ~500 chunks per 32 MB (stream
// hand-offs and sha256) would hold up those steps' own work by tens of ms. One worker, started on first
// use and kept (it keeps the process alive only while it has work), takes any number of layers at once; the tar itself
// runs in its own process either way. This file is both the worker's code and its client.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { hashLayerDir, type HashedLayer } from './commit.js';

interface Request {
  id: number;
  dir: string;
  overlay?: boolean;
}

type Reply = { id: number; opaque: string[] } | { id: number; done: Omit<HashedLayer, 'opaque'> & { opaque: string[] } } | { id: number; error: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (r: Request) => {
    hashLayerDir(r.dir, { overlay: r.overlay }, (opaque) => port.postMessage({ id: r.id, opaque: [...opaque] } satisfies Reply)).then(
      (h) => port.postMessage({ id: r.id, done: { ...h, opaque: [...h.opaque] } } satisfies Reply),
      (e: unknown) => port.postMessage({ id: r.id, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
}

interface Asked {
  planned?: (opaque: Set<string>) => void;
  resolve: (h: HashedLayer) => void;
  reject: (e: Error) => void;
}

let worker: Worker | undefined;
let next = 0;
const asked = new Map<number, Asked>();

function started(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL(import.meta.url));
  w.on('message', (m: Reply) => {
    const a = asked.get(m.id);
    if (!a) return;
    if ('opaque' in m) return a.planned?.(new Set(m.opaque));
    asked.delete(m.id);
    if (!asked.size) w.unref();
    if ('error' in m) a.reject(new Error(m.error));
    else a.resolve({ ...m.done, opaque: new Set(m.done.opaque) });
  });
  // A worker that died fails what it was asked; the next request starts another.
  const gone = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const a of asked.values()) a.reject(e);
    asked.clear();
  };
  w.on('error', gone);
  w.on('exit', (code) => gone(new Error(`the layer hashing worker exited (${code})`)));
  worker = w;
  return w;
}

/** hashLayerDir on the worker thread: the same answer, off the main thread. */
export function hashLayerDirOffThread(dir: string, opts: { overlay?: boolean } = {}, planned?: (opaque: Set<string>) => void): Promise<HashedLayer> {
  const id = next++;
  return new Promise<HashedLayer>((resolve, reject) => {
    asked.set(id, { planned, resolve, reject });
    const w = started();
    w.ref();
    w.postMessage({ id, dir, overlay: opts.overlay } satisfies Request);
  });
}
