// Docker's stdcopy framing: a non-TTY attach/logs/exec stream is a sequence of frames, each with an
// 8-byte header [stream, 0, 0, 0, size (uint32 big-endian)] followed by `size` bytes of payload.
// Stream 0 is stdin, 1 stdout, 2 stderr, 3 a system error from the daemon.
import type { Readable, Writable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSERR = 3;

export type FrameHandler = (stream: number, payload: Buffer) => void;

/** Incremental demultiplexer: feed it chunks as they arrive; it calls `onFrame` per complete frame. */
export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = this.pending[0] ?? STDOUT;
      this.onFrame(stream, this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
  }

  /** Bytes of an incomplete frame left over at the end of the stream. */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Encode one frame (used by tests and by anyone who needs to produce the format). */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Demultiplex `src` into `stdout` and `stderr`, honouring backpressure. Rejects on a system-error frame. */
export async function demuxStream(src: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  const frames: [number, Buffer][] = [];
  const demuxer = new Demuxer((stream, payload) => frames.push([stream, payload]));
  for await (const chunk of src) {
    demuxer.push(chunk as Buffer);
    for (const [stream, payload] of frames.splice(0)) {
      if (stream === SYSERR) throw new Error(payload.toString());
      const out = stream === STDERR ? stderr : stdout;
      if (!out.write(payload)) await new Promise<void>((resolve) => out.once('drain', resolve));
    }
  }
}

/** Copy a raw (TTY) stream to `out` with backpressure. */
export async function copyStream(src: Readable, out: Writable): Promise<void> {
  for await (const chunk of src) {
    if (!out.write(chunk as Buffer)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
}
