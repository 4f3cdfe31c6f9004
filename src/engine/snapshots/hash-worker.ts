// Layer dirs hashed on a worker thread. A build hashes a step's layer while its next steps run
// (builder/executors/pending.ts); on the daemon's main thread the tar's ~500 chunks per 32 MB (stream
// hand-offs and sha256) would hold up those steps' own work by tens of ms. One worker (lib/job-worker.ts)
// takes any number of layers at once; the tar itself runs in its own process either way. This file is both
// the worker's code and its client.
import { isMainThread, parentPort } from 'node:worker_threads';
import { JobWorker } from '../../lib/job-worker.js';
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

const hasher = new JobWorker<Request, Reply>(new URL(import.meta.url), 'layer hashing');

/** hashLayerDir on the worker thread: the same answer, off the main thread. */
export function hashLayerDirOffThread(dir: string, opts: { overlay?: boolean } = {}, planned?: (opaque: Set<string>) => void): Promise<HashedLayer> {
  return new Promise<HashedLayer>((resolve, reject) => {
    const id = hasher.open({
      reply: (m) => {
        if ('opaque' in m) {
          planned?.(new Set(m.opaque));
          return false;
        }
        if ('error' in m) reject(new Error(m.error));
        else resolve({ ...m.done, opaque: new Set(m.done.opaque) });
        return true;
      },
      fail: reject,
    });
    hasher.post({ id, dir, overlay: opts.overlay });
  });
}
