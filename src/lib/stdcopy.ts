// Docker's stdout/stderr multiplexing ("stdcopy"), both directions, for the daemon and the clients: a
// non-TTY attach/logs/exec stream is a sequence of frames, each with an 8-byte header [stream, 0, 0, 0,
// size (uint32 big-endian)] followed by `size` bytes of payload. Stream 0 is stdin, 1 stdout, 2 stderr,
// 3 a system error from the daemon.
import { Transform, type Readable, type Writable } from 'node:stream';

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

/** Encode one frame. */
export function frame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A TTY's raw bytes as stdout frames: what dockerd sends a client that asked for a multiplexed stream. */
export function toFrames(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, frame(1, chunk));
    },
  });
}

/** Frames back to their payloads (stdout and stderr interleaved): a raw stream for a client that asked for one. */
export function fromFrames(): Transform {
  const out: Buffer[] = [];
  const demuxer = new Demuxer((_stream, payload) => out.push(payload));
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      demuxer.push(chunk);
      done(null, Buffer.concat(out.splice(0)));
    },
  });
}
