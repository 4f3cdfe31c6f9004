// Stream helpers: one source feeding several consumers, with backpressure from the slowest.
import { PassThrough, type Readable } from 'node:stream';

/** Split a source into n readables; the source pauses while any branch is full. */
export function tee(src: AsyncIterable<Buffer> | Readable, n: number): PassThrough[] {
  const branches = Array.from({ length: n }, () => new PassThrough({ highWaterMark: 1 << 20 }));
  void (async () => {
    try {
      for await (const chunk of src as AsyncIterable<Buffer>) {
        await Promise.all(
          branches.map((b) => (b.destroyed || b.write(chunk) ? undefined : drained(b))),
        );
      }
      branches.forEach((b) => b.end());
    } catch (e) {
      branches.forEach((b) => b.destroy(e as Error));
    }
  })();
  return branches;
}

/** Resolves once `b` drained or closed (both listeners go again: a long stream waits many times). */
function drained(b: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => (b.off('drain', done), b.off('close', done), resolve());
    b.on('drain', done);
    b.on('close', done);
  });
}
