// Hijacked connections for attach and exec: the HTTP request asks to upgrade the connection
// (Connection: Upgrade, Upgrade: tcp); the daemon answers 101 (or a plain 200 and streams raw bytes)
// and from then on the socket carries the container's stdio in both directions.
// Written over a raw net.Socket rather than http.request so a 200 answer is handled like a 101 and the
// socket can be half-closed (stdin EOF) while output keeps flowing.
import net from 'node:net';
import { ApiError } from './errors.js';

export interface HijackedStream {
  socket: net.Socket;
  /** Bytes that arrived right after the response head; already unshifted into `socket` as well. */
  head: Buffer;
  /** Content-Type of the answer: application/vnd.docker.multiplexed-stream or ...raw-stream. */
  contentType: string;
}

interface ResponseHead {
  status: number;
  statusText: string;
  headers: Map<string, string>;
}

export async function hijack(socketPath: string, path: string, body: unknown): Promise<HijackedStream> {
  const socket = net.connect({ path: socketPath, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli\r\n` +
      `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${payload.length}\r\n\r\n`,
  );
  if (payload.length) socket.write(payload);
  const { head, rest } = await readHead(socket);
  if (head.status >= 300) {
    const text = await readErrorBody(socket, head, rest);
    socket.destroy();
    throw new ApiError(head.status, errorMessage(text, head.statusText));
  }
  if (rest.length) socket.unshift(rest);
  return { socket, head: rest, contentType: head.headers.get('content-type') ?? '' };
}

function readHead(socket: net.Socket): Promise<{ head: ResponseHead; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = Buffer.concat([buf, chunk]);
        const idx = buf.indexOf('\r\n\r\n');
        if (idx < 0) continue;
        cleanup();
        resolve({ head: parseHead(buf.subarray(0, idx).toString('latin1')), rest: buf.subarray(idx + 4) });
        return;
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('the daemon closed the connection before answering'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('error', onError);
  });
}

function parseHead(text: string): ResponseHead {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3}) ?(.*)$/.exec(statusLine);
  if (!m) throw new Error(`malformed response from daemon: ${statusLine}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers };
}

/** Read an error body: Content-Length, chunked, or until the daemon closes. */
async function readErrorBody(socket: net.Socket, head: ResponseHead, rest: Buffer): Promise<string> {
  const length = Number(head.headers.get('content-length') ?? NaN);
  const chunks: Buffer[] = [rest];
  let total = rest.length;
  const done = (): boolean => (Number.isFinite(length) ? total >= length : endsChunked(Buffer.concat(chunks)));
  if (!done()) {
    for await (const chunk of socket) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (done()) break;
    }
  }
  const raw = Buffer.concat(chunks);
  const isChunked = /chunked/i.test(head.headers.get('transfer-encoding') ?? '');
  return (isChunked ? dechunk(raw) : raw).toString();
}

function endsChunked(buf: Buffer): boolean {
  return buf.includes('\r\n0\r\n\r\n') || buf.subarray(0, 5).toString() === '0\r\n\r\n';
}

function dechunk(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(pos, eol).toString(), 16);
    if (!size) break;
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** Docker's error body is {"message": "..."}; anything else is shown as text. */
export function errorMessage(text: string, fallback: string): string {
  const trimmed = text.trim();
  if (!trimmed) return fallback;
  try {
    const parsed = JSON.parse(trimmed) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: a proxy or an older daemon; show the text
  }
  return trimmed;
}
