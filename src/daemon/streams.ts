// Docker's stdout/stderr multiplexing ("stdcopy"): an 8-byte header per frame —
// stream (0 stdin, 1 stdout, 2 stderr, 3 system error), three zero bytes, big-endian payload length.
export function frame(stream: 1 | 2 | 3, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
