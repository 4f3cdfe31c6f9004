// Docker's stdout/stderr multiplexing ("stdcopy"): an 8-byte header per frame —
// stream (0 stdin, 1 stdout, 2 stderr, 3 system error), three zero bytes, big-endian payload length.
import { Transform } from 'node:stream';

export function frame(stream: 1 | 2 | 3, payload: Buffer | string): Buffer {
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
  let pending = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(4)) {
        const len = pending.readUInt32BE(4);
        out.push(pending.subarray(8, 8 + len));
        pending = pending.subarray(8 + len);
      }
      done(null, Buffer.concat(out));
    },
  });
}
